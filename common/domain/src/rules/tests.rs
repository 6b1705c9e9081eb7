use chrono::TimeZone;

use super::*;
use crate::error::{Conflict, DomainError, Unprocessable};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap()
}

fn input(mode: Mode) -> NewItem {
    NewItem {
        title: "  Oak table ".into(),
        description: "Solid, a few scratches".into(),
        category: Category::Furniture,
        location: Point {
            lat: 48.8584,
            lon: 2.2945,
        },
        mode,
    }
}

fn item(mode: Mode) -> Item {
    new_item(input(mode), "seller", new_id(), now()).unwrap()
}

fn auction(item: &Item) -> Auction {
    let (_, a) = create_auction(
        item,
        "seller",
        &NewAuction {
            item_id: item.id.clone(),
            starting_price: 1000,
            min_increment: 100,
            duration_seconds: 3600,
        },
        MIN_AUCTION,
        now(),
    )
    .unwrap();
    a
}

fn conflict(e: DomainError) -> Conflict {
    match e {
        DomainError::Conflict(c, _) => c,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn a_new_item_is_available_with_a_geohash_and_a_30_day_listing() {
    let item = item(Mode::Free);
    assert_eq!(item.title, "Oak table");
    assert_eq!(item.status, ItemStatus::Available);
    assert_eq!(item.location.geohash, "u09tun");
    assert_eq!(item.expires_at - item.created_at, Duration::days(30));
}

#[test]
fn invalid_items_are_refused_field_by_field() {
    let mut bad = input(Mode::Free);
    bad.title = " ".into();
    bad.description = "x".repeat(2001);
    bad.location.lat = 91.0;
    let Err(DomainError::Invalid(fields)) = new_item(bad, "s", new_id(), now()) else {
        panic!("expected invalid");
    };
    let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(names, ["title", "description", "location.lat"]);
    let mut long = input(Mode::Free);
    long.title = "é".repeat(120);
    assert!(
        new_item(long, "s", new_id(), now()).is_ok(),
        "120 characters, not bytes"
    );
}

#[test]
fn reserving_takes_an_available_free_item_of_someone_else() {
    let item = item(Mode::Free);
    let (next, r) = reserve(&item, "buyer", now(), RESERVATION_TTL).unwrap();
    assert_eq!(next.status, ItemStatus::Reserved);
    assert_eq!(next.reservation_id.as_deref(), Some(r.id.as_str()));
    assert_eq!(reservation_item(&r.id), Some(item.id.as_str()));
    assert_eq!(r.expires_at - r.created_at, Duration::hours(24));
    // Again: the item is not available any more.
    let e = reserve(&next, "other", now(), RESERVATION_TTL).unwrap_err();
    assert_eq!(conflict(e), Conflict::ItemNotAvailable);
    // Your own: refused.
    let e = reserve(&item, "seller", now(), RESERVATION_TTL).unwrap_err();
    assert!(matches!(
        e,
        DomainError::Unprocessable(Unprocessable::OwnItem, _)
    ));
    // An auction item or an expired listing: refused.
    assert!(reserve(&self::item(Mode::Auction), "b", now(), RESERVATION_TTL).is_err());
    let e = reserve(&item, "b", item.expires_at, RESERVATION_TTL).unwrap_err();
    assert_eq!(conflict(e), Conflict::ItemNotAvailable);
}

#[test]
fn a_reservation_moves_pending_confirmed_completed_by_its_parties_only() {
    let item = item(Mode::Free);
    let (reserved, r) = reserve(&item, "buyer", now(), RESERVATION_TTL).unwrap();
    // Only the seller confirms; strangers are forbidden.
    assert!(matches!(
        confirm(&r, "buyer", None, now()),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        confirm(&r, "stranger", None, now()),
        Err(DomainError::Forbidden(_))
    ));
    // Completing a PENDING reservation skips a step: refused.
    assert_eq!(
        conflict(complete(&r, &reserved, "buyer", now()).unwrap_err()),
        Conflict::ReservationState
    );
    let confirmed = confirm(&r, "seller", None, now()).unwrap();
    assert_eq!(confirmed.status, ReservationStatus::Confirmed);
    let (done, picked) = complete(&confirmed, &reserved, "buyer", now()).unwrap();
    assert_eq!(done.status, ReservationStatus::Completed);
    assert_eq!(picked.status, ItemStatus::PickedUp);
    // Completed is final.
    assert_eq!(
        conflict(cancel(&done, &picked, "buyer", now()).unwrap_err()),
        Conflict::ReservationState
    );
}

#[test]
fn cancelling_puts_the_item_back() {
    let item = item(Mode::Free);
    let (reserved, r) = reserve(&item, "buyer", now(), RESERVATION_TTL).unwrap();
    let (cancelled, back) = cancel(&r, &reserved, "seller", now()).unwrap();
    assert_eq!(cancelled.status, ReservationStatus::Cancelled);
    assert_eq!(back.status, ItemStatus::Available);
    assert_eq!(back.reservation_id, None);
}

#[test]
fn only_the_seller_deletes_and_only_an_available_item() {
    let item = item(Mode::Free);
    assert!(delete_item(&item, "seller").is_ok());
    assert!(matches!(
        delete_item(&item, "other"),
        Err(DomainError::Forbidden(_))
    ));
    let (reserved, _) = reserve(&item, "buyer", now(), RESERVATION_TTL).unwrap();
    assert_eq!(
        conflict(delete_item(&reserved, "seller").unwrap_err()),
        Conflict::ItemNotAvailable
    );
}

#[test]
fn photos_are_pending_and_bounded() {
    let mut item = item(Mode::Free);
    for i in 0..MAX_PHOTOS {
        item = add_photo(&item, "seller", &i.to_string(), format!("k{i}"), now()).unwrap();
    }
    assert_eq!(item.photos["0"].status, PhotoStatus::Pending);
    assert!(matches!(
        add_photo(&item, "seller", "x", "k".into(), now()),
        Err(DomainError::Unprocessable(Unprocessable::TooManyPhotos, _))
    ));
    assert!(matches!(
        add_photo(&item, "other", "x", "k".into(), now()),
        Err(DomainError::Forbidden(_))
    ));
}

#[test]
fn auctions_need_an_auction_item_of_the_caller_and_sane_numbers() {
    let free = item(Mode::Free);
    let good = NewAuction {
        item_id: free.id.clone(),
        starting_price: 0,
        min_increment: 1,
        duration_seconds: 600,
    };
    assert!(matches!(
        create_auction(&free, "seller", &good, MIN_AUCTION, now()),
        Err(DomainError::Unprocessable(Unprocessable::NotAuctionItem, _))
    ));
    let lot = item(Mode::Auction);
    assert!(matches!(
        create_auction(&lot, "other", &good, MIN_AUCTION, now()),
        Err(DomainError::Forbidden(_))
    ));
    let bad = NewAuction {
        min_increment: 0,
        duration_seconds: 60,
        ..good.clone()
    };
    let Err(DomainError::Invalid(fields)) =
        create_auction(&lot, "seller", &bad, MIN_AUCTION, now())
    else {
        panic!("expected invalid");
    };
    assert_eq!(fields.len(), 2);
    let (next, a) = create_auction(&lot, "seller", &good, MIN_AUCTION, now()).unwrap();
    assert_eq!(next.status, ItemStatus::InAuction);
    assert_eq!(a.ends_at - now(), Duration::seconds(600));
    assert_eq!(a.min_next_bid, 0);
}

#[test]
fn bids_must_beat_the_starting_price_then_the_current_bid_plus_the_increment() {
    let a = auction(&item(Mode::Auction));
    let t = now() + Duration::minutes(1);
    // GIVEN no bid yet: the starting price is the least
    assert_eq!(
        conflict(place_bid(&a, "b1", 999, t).unwrap_err()),
        Conflict::BidTooLow
    );
    let first = place_bid(&a, "b1", 1000, t).unwrap();
    assert_eq!(first.auction.current_bid, Some(1000));
    assert_eq!(first.auction.leader_id.as_deref(), Some("b1"));
    assert_eq!(first.previous_leader, None);
    // THEN the next must add the increment
    assert_eq!(
        conflict(place_bid(&first.auction, "b2", 1099, t).unwrap_err()),
        Conflict::BidTooLow
    );
    let second = place_bid(&first.auction, "b2", 1100, t).unwrap();
    assert_eq!(second.previous_leader.as_deref(), Some("b1"));
    assert_eq!(second.auction.bid_count, 2);
    assert_eq!(second.auction.min_next_bid, 1200);
    assert!(!second.extended);
}

#[test]
fn bids_are_refused_on_own_closed_or_ended_auctions() {
    let a = auction(&item(Mode::Auction));
    assert!(matches!(
        place_bid(&a, "seller", 5000, now()),
        Err(DomainError::Unprocessable(Unprocessable::OwnAuction, _))
    ));
    assert_eq!(
        conflict(place_bid(&a, "b", 5000, a.ends_at).unwrap_err()),
        Conflict::AuctionEnded
    );
    let closed = Auction {
        status: AuctionStatus::Closed,
        ..a.clone()
    };
    assert_eq!(
        conflict(place_bid(&closed, "b", 5000, now()).unwrap_err()),
        Conflict::AuctionClosed
    );
    assert!(matches!(
        place_bid(&a, "b", 0, now()),
        Err(DomainError::Invalid(_))
    ));
}

#[test]
fn late_bids_extend_the_auction_at_most_ten_times() {
    let mut a = auction(&item(Mode::Auction));
    // WHEN a bid comes 30 s before the end, eleven times
    for round in 0..11u32 {
        let t = a.ends_at - Duration::seconds(30);
        let placed = place_bid(&a, &format!("b{}", round % 2), a.min_next_bid, t).unwrap();
        if round < MAX_EXTENSIONS {
            // THEN endsAt moves to 2 minutes after the bid
            assert!(placed.extended);
            assert_eq!(placed.auction.ends_at, t + SNIPING_WINDOW);
        } else {
            assert!(!placed.extended, "the eleventh late bid does not extend");
            assert_eq!(placed.auction.ends_at, a.ends_at);
        }
        a = placed.auction;
    }
    assert_eq!(a.extensions, MAX_EXTENSIONS);
    // A bid well before the window does not extend.
    let early = auction(&item(Mode::Auction));
    assert!(!place_bid(&early, "b", 1000, now()).unwrap().extended);
    // Another window (the local stack's shorter one): 30 s before the end is outside 20 s, 10 s inside.
    let short = Duration::seconds(20);
    let t = early.ends_at - Duration::seconds(30);
    assert!(
        !place_bid_within(&early, "b", 1000, t, short)
            .unwrap()
            .extended
    );
    let t = early.ends_at - Duration::seconds(10);
    let placed = place_bid_within(&early, "b", 1000, t, short).unwrap();
    assert!(placed.extended);
    assert_eq!(placed.auction.ends_at, t + short);
}

#[test]
fn ratings_are_for_parties_of_completed_deals() {
    let item = item(Mode::Free);
    let (reserved, r) = reserve(&item, "buyer", now(), RESERVATION_TTL).unwrap();
    let rating = NewRating {
        about: r.id.clone(),
        stars: 5,
        comment: Some("On time".into()),
    };
    assert_eq!(
        conflict(rate(&Deal::from(&r), "buyer", "seller", &rating, now()).unwrap_err()),
        Conflict::DealNotCompleted
    );
    let confirmed = confirm(&r, "seller", None, now()).unwrap();
    let (done, _) = complete(&confirmed, &reserved, "seller", now()).unwrap();
    let deal = Deal::from(&done);
    let ok = rate(&deal, "buyer", "seller", &rating, now()).unwrap();
    assert_eq!((ok.stars, ok.about.as_str()), (5, r.id.as_str()));
    assert!(matches!(
        rate(&deal, "stranger", "seller", &rating, now()),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        rate(&deal, "buyer", "stranger", &rating, now()),
        Err(DomainError::Forbidden(_))
    ));
    assert!(matches!(
        rate(&deal, "buyer", "buyer", &rating, now()),
        Err(DomainError::Unprocessable(Unprocessable::RateSelf, _))
    ));
    let six = NewRating { stars: 6, ..rating };
    assert!(matches!(
        rate(&deal, "buyer", "seller", &six, now()),
        Err(DomainError::Invalid(_))
    ));
}

#[test]
fn reservation_ids_carry_their_item_and_nothing_else_parses() {
    let item = new_id();
    assert_eq!(
        reservation_item(&reservation_id(&item)),
        Some(item.as_str())
    );
    for bad in ["", "_", "x_y", &format!("{item}_x"), &item] {
        assert_eq!(reservation_item(bad), None, "{bad}");
    }
}
