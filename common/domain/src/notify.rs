//! Who hears about what (DOMAIN.md, notifications queue), and what they read. Pure: the notifications worker
//! asks [`audience`] for an event's recipients (looking up users near an item through a [`Directory`]), the
//! [`targets`] each one wants it on (their devices, their verified address, their opt-outs), the [`Notice`] a
//! template words, and records what it sent under ids [`sent_event_id`] derives from (event, recipient,
//! channel), so recording twice is recording once.

use async_trait::async_trait;
use uuid::Uuid;

use crate::error::StoreError;
use crate::event::{DomainEvent, EventId};
use crate::geo;
use crate::profile::{Device, Preferences};

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
        E::ItemExpired(e) => users(vec![&e.seller_id]),
        E::PickupReminder(e) => users(vec![&e.reservation.buyer_id, &e.reservation.seller_id]),
        E::ItemTakenDown(e) => users(vec![&e.seller_id]),
        E::ItemFlagged(e) => users(vec![&e.seller_id]),
        E::UserSuspended(e) => users(vec![&e.user_id]),
        E::UserReinstated(e) => users(vec![&e.user_id]),
        _ => None,
    }
}

/// A channel a notice travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Push,
    Email,
}

impl Channel {
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Push => "push",
            Channel::Email => "email",
        }
    }
}

/// What one recipient is told about one event: the template that words it (one per kind of notice, in the
/// notifications worker) and the facts it words.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub recipient_id: String,
    /// The event type, for logs and the app's routing.
    pub event_type: &'static str,
    /// The template's name, e.g. `auction_won`.
    pub template: &'static str,
    /// What the template may say (a JSON object).
    pub facts: serde_json::Value,
}

fn money(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

/// The notice `recipient` gets about `event`.
pub fn notice(event: &DomainEvent, recipient: &str) -> Notice {
    use serde_json::json;
    use DomainEvent as E;
    let (template, facts) = match event {
        E::ItemCreated(e) => (
            "new_near_you",
            json!({ "title": e.title, "category": e.category, "itemId": e.item_id }),
        ),
        E::ItemExpired(e) => ("listing_expired", json!({ "itemId": e.item_id })),
        E::ReservationCreated(e) => (
            "item_reserved",
            json!({ "reservationId": e.reservation.reservation_id, "expiresAt": e.expires_at.to_rfc3339() }),
        ),
        E::ReservationConfirmed(e) => (
            "pickup_confirmed",
            json!({ "reservationId": e.reservation.reservation_id, "pickupAt": e.pickup_at.map(|at| at.to_rfc3339()) }),
        ),
        E::PickupReminder(e) => (
            "pickup_reminder",
            json!({
                "reservationId": e.reservation.reservation_id,
                "pickupAt": e.pickup_at.to_rfc3339(),
                "youCollect": e.reservation.buyer_id == recipient,
            }),
        ),
        E::ReservationCancelled(e) => (
            "reservation_cancelled",
            json!({ "reservationId": e.reservation.reservation_id, "byYou": e.cancelled_by == recipient }),
        ),
        E::ReservationExpired(e) => (
            "reservation_expired",
            json!({ "reservationId": e.reservation.reservation_id }),
        ),
        E::BidPlaced(e) => (
            "outbid",
            json!({ "auctionId": e.auction_id, "amount": money(e.amount) }),
        ),
        E::AuctionEnded(e) => {
            let facts = json!({ "auctionId": e.auction_id, "amount": e.amount.map(money) });
            let template = if e.winner_id.as_deref() == Some(recipient) {
                "auction_won"
            } else if e.seller_id == recipient {
                if e.winner_id.is_some() {
                    "auction_sold"
                } else {
                    "auction_unsold"
                }
            } else {
                "auction_lost"
            };
            (template, facts)
        }
        E::ImageRejected(e) => (
            "photo_rejected",
            json!({ "itemId": e.item_id, "reason": e.reason }),
        ),
        E::UserRated(e) => ("rated", json!({ "stars": e.stars })),
        E::ItemTakenDown(e) => (
            "listing_taken_down",
            json!({ "itemId": e.item_id, "reason": e.reason }),
        ),
        E::ItemFlagged(e) => (
            "listing_flagged",
            json!({ "itemId": e.item_id, "reason": e.reason }),
        ),
        E::UserSuspended(e) => ("account_suspended", json!({ "reason": e.reason })),
        E::UserReinstated(_) => ("account_reinstated", json!({})),
        _ => ("generic", json!({})),
    };
    Notice {
        recipient_id: recipient.to_owned(),
        event_type: event.event_type().as_str(),
        template,
        facts,
    }
}

/// A recipient as the notifications worker finds them: where they can be reached and what they want.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Recipient {
    pub user_id: String,
    /// The verified email address, if the identity provider gave one.
    pub email: Option<String>,
    pub preferences: Preferences,
    pub devices: Vec<Device>,
}

/// One place a notice goes: a device endpoint or the email address. `key` names it in the delivery claims
/// (`push/<token hash>` or `email`), so each device is claimed and sent on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub channel: Channel,
    pub key: String,
    /// The device's push endpoint, or the email address.
    pub address: String,
    /// The device's token hash (push only): what to forget when its endpoint is gone.
    pub device: Option<String>,
}

/// Where `recipient` gets a notice about an event, honouring their opt-outs: `near` says the event is a
/// "new item near you" (its own opt-out). A device without an endpoint (its platform has no application)
/// gets nothing.
pub fn targets(recipient: &Recipient, near: bool) -> Vec<Target> {
    let p = recipient.preferences;
    if near && !p.items_near_me {
        return vec![];
    }
    let mut out = vec![];
    if p.push {
        for d in &recipient.devices {
            if let Some(endpoint) = &d.endpoint_arn {
                out.push(Target {
                    channel: Channel::Push,
                    key: format!("push/{}", d.token_hash),
                    address: endpoint.clone(),
                    device: Some(d.token_hash.clone()),
                });
            }
        }
    }
    if let (true, Some(email)) = (p.email, &recipient.email) {
        out.push(Target {
            channel: Channel::Email,
            key: "email".into(),
            address: email.clone(),
            device: None,
        });
    }
    out
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
    /// A user's address, preferences and devices (a user never seen has none, and default preferences).
    async fn recipient(&self, user_id: &str) -> Result<Recipient, StoreError>;
    /// Forgets a device whose endpoint the push service reports disabled or gone.
    async fn forget_device(&self, user_id: &str, token_hash: &str) -> Result<(), StoreError>;
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
        let n = notice(&event, "x");
        assert_eq!(n.template, "new_near_you");
        assert_eq!(n.facts["title"], "Oak table");
    }

    #[test]
    fn the_auction_end_is_a_different_notice_for_each_party() {
        let e = ended(Some("bob"), &["ann"]);
        assert_eq!(notice(&e, "bob").template, "auction_won");
        assert_eq!(notice(&e, "bob").facts["amount"], "12.50");
        assert_eq!(notice(&e, "seller").template, "auction_sold");
        assert_eq!(notice(&e, "ann").template, "auction_lost");
        assert_eq!(notice(&e, "ann").event_type, "AuctionEnded");
        assert_eq!(
            notice(&ended(None, &[]), "seller").template,
            "auction_unsold"
        );
    }

    fn someone(email: Option<&str>, endpoints: &[Option<&str>]) -> Recipient {
        Recipient {
            user_id: "ann".into(),
            email: email.map(Into::into),
            preferences: Preferences::default(),
            devices: endpoints
                .iter()
                .enumerate()
                .map(|(i, e)| Device {
                    platform: crate::profile::Platform::Ios,
                    token_hash: format!("t{i}"),
                    endpoint_arn: e.map(Into::into),
                    registered_at: Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap(),
                })
                .collect(),
        }
    }

    #[test]
    fn each_device_with_an_endpoint_and_the_verified_address_is_a_target_unless_opted_out() {
        let r = someone(
            Some("ann@example.com"),
            &[Some("arn:1"), None, Some("arn:2")],
        );
        let keys = |ts: Vec<Target>| ts.into_iter().map(|t| t.key).collect::<Vec<_>>();
        assert_eq!(keys(targets(&r, false)), ["push/t0", "push/t2", "email"]);
        let email = targets(&r, false).pop().expect("email");
        assert_eq!(
            (email.channel, email.address.as_str(), email.device),
            (Channel::Email, "ann@example.com", None)
        );
        // No verified address: no email.
        assert_eq!(
            keys(targets(&someone(None, &[Some("arn:1")]), false)),
            ["push/t0"]
        );
        let mut opted = r.clone();
        opted.preferences.push = false;
        assert_eq!(keys(targets(&opted, true)), ["email"]);
        opted.preferences.email = false;
        assert!(targets(&opted, false).is_empty());
        // "Items near me" off: nothing about new items, the user's own deals still.
        let mut far = r.clone();
        far.preferences.items_near_me = false;
        assert!(targets(&far, true).is_empty());
        assert_eq!(targets(&far, false).len(), 3);
    }

    #[test]
    fn a_pickup_reminder_reaches_both_parties_and_says_who_collects() {
        let event: DomainEvent = PickupReminder {
            reservation: reservation(),
            pickup_at: Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap(),
        }
        .into();
        assert_eq!(users(event.clone()), ["buyer", "seller"]);
        assert_eq!(notice(&event, "buyer").facts["youCollect"], true);
        assert_eq!(notice(&event, "seller").facts["youCollect"], false);
        let expired: DomainEvent = ItemExpired {
            item_id: "i".into(),
            seller_id: "seller".into(),
        }
        .into();
        assert_eq!(users(expired.clone()), ["seller"]);
        assert_eq!(notice(&expired, "seller").template, "listing_expired");
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
