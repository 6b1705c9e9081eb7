use chrono::{Duration, TimeZone};

use super::*;
use crate::rules::{self, Mode, NewAuction, NewItem, Point};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap()
}

fn item(mode: Mode) -> Item {
    let input = NewItem {
        title: "Oak table".into(),
        description: String::new(),
        category: Category::Furniture,
        location: Point {
            lat: 48.8584,
            lon: 2.2945,
        },
        mode,
    };
    rules::new_item(input, "seller", rules::new_id(), now()).unwrap()
}

fn reserved() -> (Reservation, Item) {
    let (item, r) = rules::reserve(&item(Mode::Free), "buyer", now(), Duration::hours(24)).unwrap();
    (r, item)
}

fn auction() -> (Auction, Item) {
    let (item, a) = rules::create_auction(
        &item(Mode::Auction),
        "seller",
        &NewAuction {
            item_id: String::new(),
            starting_price: 1000,
            min_increment: 100,
            duration_seconds: 3600,
        },
        rules::MIN_AUCTION,
        now(),
    )
    .unwrap();
    (a, item)
}

#[test]
fn a_reservation_expires_at_its_time_and_frees_the_item() {
    // GIVEN a pending reservation
    let (r, item) = reserved();
    assert_eq!(item.status, ItemStatus::Reserved);
    // WHEN its schedule fires early THEN it is not due yet
    assert_eq!(
        expire_reservation(&r, &item, r.expires_at - Duration::seconds(1)),
        Decision::NotDue(r.expires_at)
    );
    // WHEN it fires at expiresAt THEN the reservation is EXPIRED and the item AVAILABLE again
    let Decision::Act((next, next_item)) = expire_reservation(&r, &item, r.expires_at) else {
        panic!("expected to expire")
    };
    assert_eq!(next.status, ReservationStatus::Expired);
    assert_eq!(next_item.status, ItemStatus::Available);
    assert_eq!(next_item.reservation_id, None);
    // AND a second delivery finds nothing to do
    assert!(matches!(
        expire_reservation(&next, &next_item, r.expires_at),
        Decision::Settled(_)
    ));
}

#[test]
fn a_completed_or_cancelled_reservation_does_not_expire() {
    let (r, item) = reserved();
    for status in [ReservationStatus::Completed, ReservationStatus::Cancelled] {
        let mut done = r.clone();
        done.status = status;
        assert!(matches!(
            expire_reservation(&done, &item, r.expires_at + Duration::hours(1)),
            Decision::Settled(_)
        ));
    }
    // A confirmed one still expires.
    let mut confirmed = r.clone();
    confirmed.status = ReservationStatus::Confirmed;
    assert!(matches!(
        expire_reservation(&confirmed, &item, r.expires_at),
        Decision::Act(_)
    ));
}

#[test]
fn an_item_reserved_again_is_not_freed_by_an_old_reservation() {
    // GIVEN an item whose active reservation is another one
    let (r, mut item) = reserved();
    item.reservation_id = Some("other".into());
    let Decision::Act((_, next_item)) = expire_reservation(&r, &item, r.expires_at) else {
        panic!("expected to expire")
    };
    assert_eq!(next_item.status, ItemStatus::Reserved);
}

#[test]
fn only_available_listings_expire() {
    let free = item(Mode::Free);
    assert_eq!(
        expire_listing(&free, free.expires_at - Duration::seconds(1)),
        Decision::NotDue(free.expires_at)
    );
    let Decision::Act(next) = expire_listing(&free, free.expires_at) else {
        panic!("expected to expire")
    };
    assert_eq!(next.status, ItemStatus::Expired);
    let (_, reserved) = reserved();
    assert!(matches!(
        expire_listing(&reserved, reserved.expires_at),
        Decision::Settled(_)
    ));
    let (_, in_auction) = auction();
    assert!(matches!(
        expire_listing(&in_auction, in_auction.expires_at),
        Decision::Settled(_)
    ));
}

#[test]
fn an_auction_closes_once_at_its_end_with_the_leader_as_winner() {
    // GIVEN an auction with two bids
    let (a, item) = auction();
    let a = rules::place_bid(&a, "ann", 1000, now()).unwrap().auction;
    let a = rules::place_bid(&a, "bob", 1100, now()).unwrap().auction;
    // WHEN the close fires before endsAt (it moved) THEN come back at endsAt
    assert_eq!(
        close_auction(&a, &item, a.ends_at - Duration::seconds(1)),
        Decision::NotDue(a.ends_at)
    );
    // WHEN it fires at endsAt THEN CLOSED, SOLD, bob wins with 1100
    let Decision::Act(closing) = close_auction(&a, &item, a.ends_at) else {
        panic!("expected to close")
    };
    assert_eq!(closing.auction.status, AuctionStatus::Closed);
    assert_eq!(closing.item.status, ItemStatus::Sold);
    assert_eq!(closing.winner, Some(("bob".to_owned(), 1100)));
    // AND again: nothing to do
    assert!(matches!(
        close_auction(&closing.auction, &closing.item, a.ends_at),
        Decision::Settled(_)
    ));
}

#[test]
fn an_auction_without_bids_leaves_the_item_unsold() {
    let (a, item) = auction();
    let Decision::Act(closing) = close_auction(&a, &item, a.ends_at) else {
        panic!("expected to close")
    };
    assert_eq!(closing.item.status, ItemStatus::Unsold);
    assert_eq!(closing.winner, None);
}

#[test]
fn losers_are_each_bidder_but_the_winner_once() {
    let bidders = ["bob", "ann", "bob", "cy", "ann"];
    assert_eq!(losers(bidders, Some("bob")), vec!["ann", "cy"]);
    assert_eq!(losers(bidders, None), vec!["bob", "ann", "cy"]);
}

#[test]
fn upload_keys_name_user_item_and_photo() {
    assert_eq!(
        photo_ref("uploads/u1/i1/p1", "uploads/"),
        Some(PhotoRef {
            user_id: "u1".into(),
            item_id: "i1".into(),
            photo_id: "p1".into()
        })
    );
    for bad in [
        "thumbnails/u1/i1/p1",
        "uploads/u1/i1",
        "uploads/u1/i1/p1/x",
        "uploads/u1//p1",
    ] {
        assert_eq!(photo_ref(bad, "uploads/"), None, "{bad}");
    }
}

#[test]
fn a_pending_photo_settles_once() {
    // GIVEN an item with a pending photo
    let item = item(Mode::Free);
    let item =
        rules::add_photo(&item, "seller", "p1", "uploads/seller/i/p1".into(), now()).unwrap();
    let ready = PhotoOutcome::Ready {
        thumbnails: BTreeMap::from([("128".into(), "t/128.jpg".into())]),
        labels: vec!["Table".into()],
    };
    // WHEN it is READY THEN its thumbnails and labels are on the item
    let Ok(Decision::Act(next)) = settle_photo(&item, "p1", &ready) else {
        panic!("expected to settle")
    };
    assert_eq!(next.photos["p1"].status, PhotoStatus::Ready);
    assert_eq!(next.photos["p1"].thumbnails["128"], "t/128.jpg");
    assert_eq!(next.photos["p1"].labels, vec!["Table"]);
    // AND a second outcome for it changes nothing
    let rejected = PhotoOutcome::Rejected {
        reason: "no".into(),
    };
    assert!(matches!(
        settle_photo(&next, "p1", &rejected),
        Ok(Decision::Settled(_))
    ));
    // A rejection carries its reason; an unknown photo is an error.
    let Ok(Decision::Act(rej)) = settle_photo(&item, "p1", &rejected) else {
        panic!("expected to settle")
    };
    assert_eq!(rej.photos["p1"].reason.as_deref(), Some("no"));
    assert!(settle_photo(&item, "p2", &ready).is_err());
}

#[test]
fn labels_suggest_a_category() {
    assert_eq!(
        suggest_category(["Wood", "Chair"]),
        Some(Category::Furniture)
    );
    assert_eq!(suggest_category(["Bicycle"]), Some(Category::Sports));
    assert_eq!(suggest_category(["Sky", "Cloud"]), None);
}

#[test]
fn due_steps_read_and_name_their_schedules() {
    let step: Scheduled =
        serde_json::from_str(r#"{"due":"auction-close","auctionId":"a1","correlationId":"c1"}"#)
            .unwrap();
    assert_eq!(
        step.due,
        Due::AuctionClose {
            auction_id: "a1".into()
        }
    );
    assert_eq!(step.correlation_id.as_deref(), Some("c1"));
    let sweep: Scheduled = serde_json::from_str(r#"{"due":"stale-listings"}"#).unwrap();
    assert_eq!(sweep.due, Due::StaleListings);
    // A reservation id is 73 characters: its schedule name stays within Scheduler's 64.
    let long = Due::ReservationExpiry {
        reservation_id: format!("{}_{}", rules::new_id(), rules::new_id()),
    };
    let name = long.schedule_name();
    assert!(name.len() <= 64, "{name}");
    assert!(name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
    assert_eq!(name, long.schedule_name());
}
