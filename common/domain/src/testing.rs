//! Fixtures of the crate's unit tests: a time, items, auctions, and the rules with fresh ids given.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::auction::{self, Auction, NewAuction, PlacedBid, MIN_AUCTION, SNIPING_WINDOW};
use crate::error::{Conflict, DomainError};
use crate::geo::Point;
use crate::ids::{self, Ids, RandomIds};
use crate::item::{new_item, Category, Item, ItemMode, NewItem};
use crate::reservation::{self, Reservation};

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap()
}

pub fn new_id() -> String {
    RandomIds.new_id()
}

pub fn input(mode: ItemMode) -> NewItem {
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

/// A new item of "seller".
pub fn item(mode: ItemMode) -> Item {
    new_item(input(mode), "seller", new_id(), now()).unwrap()
}

pub fn reserve(
    item: &Item,
    buyer_id: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<(Item, Reservation), DomainError> {
    let id = ids::reservation_id(&item.id, &new_id());
    reservation::reserve(item, buyer_id, id, now, ttl)
}

pub fn create_auction(
    item: &Item,
    caller: &str,
    input: &NewAuction,
    min_duration: Duration,
    now: DateTime<Utc>,
) -> Result<(Item, Auction), DomainError> {
    auction::create_auction(item, caller, input, new_id(), min_duration, now)
}

/// An hour-long auction of `item` (of "seller"), from 10.00 by 1.00.
pub fn auction(item: &Item) -> Auction {
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

pub fn place_bid(
    a: &Auction,
    bidder_id: &str,
    amount: i64,
    now: DateTime<Utc>,
) -> Result<PlacedBid, DomainError> {
    place_bid_within(a, bidder_id, amount, now, SNIPING_WINDOW)
}

pub fn place_bid_within(
    a: &Auction,
    bidder_id: &str,
    amount: i64,
    now: DateTime<Utc>,
    window: Duration,
) -> Result<PlacedBid, DomainError> {
    auction::place_bid(a, bidder_id, amount, new_id(), now, window)
}

pub fn conflict(e: DomainError) -> Conflict {
    match e {
        DomainError::Conflict(c, _) => c,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

/// A PENDING reservation of a new free item by "buyer".
pub fn reserved() -> (Reservation, Item) {
    let (item, r) = reserve(&item(ItemMode::Free), "buyer", now(), Duration::hours(24)).unwrap();
    (r, item)
}

/// An OPEN hour-long auction of a new auction item, and the item IN_AUCTION.
pub fn open_auction() -> (Auction, Item) {
    let (item, a) = create_auction(
        &item(ItemMode::Auction),
        "seller",
        &NewAuction {
            item_id: String::new(),
            starting_price: 1000,
            min_increment: 100,
            duration_seconds: 3600,
        },
        MIN_AUCTION,
        now(),
    )
    .unwrap();
    (a, item)
}
