//! Who hears about what (DOMAIN.md, notifications queue), and what they read. Pure: the notifications worker
//! asks [`audience`] for an event's recipients (looking up users near an item through a [`Directory`]), renders
//! each one's [`Notice`], and records what it sent under ids [`sent_event_id`] derives from (event, recipient,
//! channel), so recording twice is recording once.

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::StoreError;
use crate::event::{DomainEvent, EventId};
use crate::geo;

/// Precision of users' home geohash: "new items near you" means the home cell or one of its 8 neighbours.
pub use crate::geo::HOME_PRECISION;

/// The recipients of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// These users (no duplicates).
    Users(Vec<String>),
    /// Users whose home cell is one of `cells`, except `except` (the seller).
    Near { cells: Vec<String>, except: String },
}

/// Whom `event` notifies; None for events nobody is told about.
pub fn audience(event: &DomainEvent) -> Option<Audience> {
    use DomainEvent as E;
    let users = |ids: Vec<&str>| {
        let mut out: Vec<String> = vec![];
        for id in ids {
            if !out.iter().any(|o| o == id) {
                out.push(id.to_owned());
            }
        }
        Some(Audience::Users(out))
    };
    match event {
        E::ItemCreated(e) => {
            let home: String = e.location.geohash.chars().take(HOME_PRECISION).collect();
            Some(Audience::Near {
                cells: geo::with_neighbours(&home),
                except: e.seller_id.clone(),
            })
        }
        E::ReservationCreated(e) => users(vec![&e.reservation.seller_id]),
        E::ReservationConfirmed(e) => users(vec![&e.reservation.buyer_id]),
        E::ReservationCancelled(e) => {
            users(vec![&e.reservation.buyer_id, &e.reservation.seller_id])
        }
        E::ReservationExpired(e) => users(vec![&e.reservation.buyer_id, &e.reservation.seller_id]),
        E::BidPlaced(e) => match &e.previous_leader_id {
            Some(leader) if *leader != e.bidder_id => users(vec![leader]),
            _ => users(vec![]),
        },
        E::AuctionEnded(e) => {
            let mut ids: Vec<&str> = e.winner_id.iter().map(String::as_str).collect();
            ids.push(&e.seller_id);
            ids.extend(e.loser_ids.iter().map(String::as_str));
            users(ids)
        }
        E::ImageRejected(e) => users(vec![&e.seller_id]),
        E::UserRated(e) => users(vec![&e.ratee_id]),
        _ => None,
    }
}

/// What one recipient reads about one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub recipient_id: String,
    /// The event type, for subscribers' filters.
    pub event_type: &'static str,
    pub subject: String,
    pub text: String,
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

/// The notice `recipient` gets about `event`.
pub fn render(event: &DomainEvent, recipient: &str) -> Notice {
    use DomainEvent as E;
    let (subject, text): (&str, String) = match event {
        E::ItemCreated(e) => (
            "New near you",
            format!("\"{}\" was just listed near you ({}).", e.title, e.category),
        ),
        E::ReservationCreated(_) => (
            "Item reserved",
            "Someone reserved your item. Confirm a pickup time.".into(),
        ),
        E::ReservationConfirmed(e) => (
            "Pickup confirmed",
            match e.pickup_at {
                Some(at) => format!("The seller confirmed your pickup at {}.", at.to_rfc3339()),
                None => "The seller confirmed your pickup.".into(),
            },
        ),
        E::ReservationCancelled(e) => (
            "Reservation cancelled",
            if e.cancelled_by == recipient {
                "You cancelled the reservation.".into()
            } else {
                "The reservation was cancelled by the other party.".into()
            },
        ),
        E::ReservationExpired(_) => (
            "Reservation expired",
            "The reservation expired before pickup; the item is available again.".into(),
        ),
        E::BidPlaced(e) => (
            "You were outbid",
            format!("Someone bid {} on an auction you led.", money(e.amount)),
        ),
        E::AuctionEnded(e) => {
            let amount = e.amount.map(money).unwrap_or_default();
            if e.winner_id.as_deref() == Some(recipient) {
                ("You won", format!("You won the auction with {amount}."))
            } else if e.seller_id == recipient {
                match &e.winner_id {
                    Some(_) => ("Auction sold", format!("Your auction sold for {amount}.")),
                    None => ("Auction ended", "Your auction ended without bids.".into()),
                }
            } else {
                (
                    "Auction ended",
                    format!("The auction ended; the winning bid was {amount}."),
                )
            }
        }
        E::ImageRejected(e) => (
            "Photo rejected",
            format!("A photo of your item was rejected: {}", e.reason),
        ),
        E::UserRated(e) => (
            "New rating",
            format!("You were rated {} of 5 stars.", e.stars),
        ),
        other => ("EcoBid", format!("{}", other.event_type())),
    };
    Notice {
        recipient_id: recipient.to_owned(),
        event_type: event.event_type().as_str(),
        subject: subject.to_owned(),
        text,
    }
}

/// The id of the NotificationSent event for (event, recipient, channel): the same every time, so the outbox's
/// conditional put records it once however often it is written.
pub fn sent_event_id(about: &EventId, recipient: &str, channel: &str) -> EventId {
    let name = format!("{about}/{recipient}/{channel}");
    EventId::new(Uuid::new_v5(&Uuid::NAMESPACE_URL, name.as_bytes()))
}

/// What the notifications worker reads about users.
#[async_trait]
pub trait Directory: Send + Sync {
    /// Users whose home cell (precision 5) is one of `cells`.
    async fn users_near(&self, cells: &[String]) -> Result<Vec<String>, StoreError>;
    /// The push endpoints of a user's registered devices.
    async fn endpoints(&self, user_id: &str) -> Result<Vec<String>, StoreError>;
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::event::*;

    fn ended(winner: Option<&str>, losers: &[&str]) -> DomainEvent {
        AuctionEnded {
            auction_id: "a".into(),
            item_id: "i".into(),
            seller_id: "seller".into(),
            winner_id: winner.map(Into::into),
            amount: winner.map(|_| 1250),
            bid_count: 3,
            loser_ids: losers.iter().map(|l| (*l).to_owned()).collect(),
        }
        .into()
    }

    fn reservation() -> ReservationRef {
        ReservationRef {
            reservation_id: "r".into(),
            item_id: "i".into(),
            buyer_id: "buyer".into(),
            seller_id: "seller".into(),
        }
    }

    fn users(event: DomainEvent) -> Vec<String> {
        match audience(&event) {
            Some(Audience::Users(u)) => u,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_event_reaches_its_parties() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap();
        let r = reservation;
        assert_eq!(
            users(
                ReservationCreated {
                    reservation: r(),
                    expires_at: at
                }
                .into()
            ),
            ["seller"]
        );
        assert_eq!(
            users(
                ReservationConfirmed {
                    reservation: r(),
                    pickup_at: None
                }
                .into()
            ),
            ["buyer"]
        );
        assert_eq!(
            users(
                ReservationCancelled {
                    reservation: r(),
                    cancelled_by: "buyer".into()
                }
                .into()
            ),
            ["buyer", "seller"]
        );
        assert_eq!(
            users(ReservationExpired { reservation: r() }.into()),
            ["buyer", "seller"]
        );
        let bid = |previous: Option<&str>| -> DomainEvent {
            BidPlaced {
                auction_id: "a".into(),
                bid_id: "b".into(),
                bidder_id: "bob".into(),
                amount: 1100,
                bid_count: 2,
                ends_at: at,
                previous_leader_id: previous.map(Into::into),
            }
            .into()
        };
        assert_eq!(users(bid(Some("ann"))), ["ann"]);
        assert!(users(bid(None)).is_empty());
        assert!(users(bid(Some("bob"))).is_empty());
        assert_eq!(
            users(ended(Some("bob"), &["ann", "cy"])),
            ["bob", "seller", "ann", "cy"]
        );
        assert_eq!(users(ended(None, &[])), ["seller"]);
        assert_eq!(
            users(
                ImageRejected {
                    item_id: "i".into(),
                    seller_id: "seller".into(),
                    photo_key: "k".into(),
                    reason: "not a photo".into()
                }
                .into()
            ),
            ["seller"]
        );
        assert_eq!(
            users(
                UserRated {
                    rater_id: "buyer".into(),
                    ratee_id: "seller".into(),
                    about: "r".into(),
                    stars: 5
                }
                .into()
            ),
            ["seller"]
        );
        let completed: DomainEvent = ReservationCompleted { reservation: r() }.into();
        assert_eq!(audience(&completed), None);
    }

    #[test]
    fn a_new_item_reaches_the_home_cells_around_it_but_not_its_seller() {
        let event: DomainEvent = ItemCreated {
            item_id: "i".into(),
            seller_id: "seller".into(),
            title: "Oak table".into(),
            category: "furniture".into(),
            mode: ItemMode::Free,
            location: Location {
                lat: 48.8584,
                lon: 2.2945,
                geohash: "u09tun".into(),
            },
            expires_at: Utc.with_ymd_and_hms(2026, 12, 21, 10, 0, 0).unwrap(),
        }
        .into();
        let Some(Audience::Near { cells, except }) = audience(&event) else {
            panic!("expected users near")
        };
        assert_eq!(except, "seller");
        assert_eq!(cells.len(), 9);
        assert_eq!(cells[0], "u09tu");
        assert_eq!(
            render(&event, "x").text,
            "\"Oak table\" was just listed near you (furniture)."
        );
    }

    #[test]
    fn the_auction_end_reads_differently_for_each_party() {
        let e = ended(Some("bob"), &["ann"]);
        assert_eq!(render(&e, "bob").text, "You won the auction with 12.50.");
        assert_eq!(render(&e, "seller").text, "Your auction sold for 12.50.");
        assert_eq!(
            render(&e, "ann").text,
            "The auction ended; the winning bid was 12.50."
        );
        assert_eq!(render(&e, "ann").event_type, "AuctionEnded");
        assert_eq!(
            render(&ended(None, &[]), "seller").text,
            "Your auction ended without bids."
        );
    }

    #[test]
    fn sent_ids_are_stable_per_event_recipient_and_channel() {
        let about = EventId::random();
        assert_eq!(
            sent_event_id(&about, "ann", "push"),
            sent_event_id(&about, "ann", "push")
        );
        assert_ne!(
            sent_event_id(&about, "ann", "push"),
            sent_event_id(&about, "ann", "email")
        );
        assert_ne!(
            sent_event_id(&about, "ann", "push"),
            sent_event_id(&about, "bob", "push")
        );
    }
}
