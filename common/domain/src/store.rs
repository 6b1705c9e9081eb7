//! The port the use-cases store state through. Its writes are conditional: a [`Change`] names, for every record
//! it replaces, the version it was decided from (or that the record must be new), and is written atomically
//! with the events it causes (the outbox) or not at all. DynamoDB implements it with `TransactWriteItems` and
//! condition expressions (`infra::store`), tests and benchmarks with an in-memory map ([`memory`]).

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::auction::{Auction, AuctionStatus, Bid, Bidding};
use crate::event::Envelope;
use crate::item::{Category, Item, ItemStatus};
use crate::profile::{Account, Device, HomeLocation, Preferences, Stats, UserProfile};
use crate::rating::Rating;
use crate::reservation::{Reservation, ReservationStatus, Role};

pub use crate::error::StoreError;

/// One page of a listing and where the next one starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A record and the version it was read at (every replacing write bumps it).
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<T> {
    pub value: T,
    pub version: u64,
}

/// What a write expects of the record it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// There is none yet.
    New,
    /// It is still at this version: nothing changed it since it was read.
    Version(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    Item(Item, Expect),
    DeleteItem {
        id: String,
        version: u64,
    },
    Reservation(Reservation, Expect),
    Auction(Auction, Expect),
    /// A new bid record.
    Bid(Bid),
    /// A new rating: refused if the rater already rated the ratee for this deal.
    Rating(Rating),
    /// Sets the given profile fields, creating the profile if needed.
    Profile {
        user_id: String,
        display_name: Option<String>,
        home: Option<HomeLocation>,
        /// The verified email address notices go to.
        email: Option<String>,
        /// The whole set of preferences (the use-case merged the update into the stored ones).
        notifications: Option<Preferences>,
    },
    /// Closes an account: its personal data (display name, home, email, preferences) goes, the profile stays
    /// as a DELETED tombstone with its rating figures and counters.
    CloseAccount {
        user_id: String,
    },
    /// Moves an existing profile's account from `from` to `to` (a moderator's suspension or reinstatement):
    /// refused if the stored account is no longer `from` (a profile without one is `active`).
    AccountStanding {
        user_id: String,
        from: Account,
        to: Account,
    },
    /// Adds to a user's counters.
    AddStats {
        user_id: String,
        stats: Stats,
    },
    /// Adds a rating's stars to the ratee's sum and count.
    AddRating {
        user_id: String,
        stars: u8,
    },
    /// Registers (or refreshes) a push device.
    Device {
        user_id: String,
        device: Device,
    },
    /// Forgets a push device (unregistered, moved to another user, or reported gone by the push service).
    RemoveDevice {
        user_id: String,
        token_hash: String,
    },
}

impl Write {
    /// Makes sure a user has a profile (stamped with when it was first written: their "member since"),
    /// changing nothing on it: written with what a user posts or reserves, so the other party can see who
    /// they deal with.
    pub fn member(user_id: &str) -> Write {
        Write::Profile {
            user_id: user_id.to_owned(),
            display_name: None,
            home: None,
            email: None,
            notifications: None,
        }
    }
}

/// Writes and the events they cause, stored together or not at all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    pub writes: Vec<Write>,
    pub events: Vec<Envelope>,
}

/// Where a listing continues: the last entry's time and id. Opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: String,
}

impl Cursor {
    /// The texts [`Cursor::parse`] takes, for the OpenAPI document: `<millis>.<id>`, the id an entity's or a
    /// reservation's (`<item>_<own>`). A test holds the two together.
    pub const PATTERN: &'static str = concat!(
        r"^[0-9]{1,15}\.",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "(?:_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$"
    );

    pub fn encode(&self) -> String {
        format!("{}.{}", self.at.timestamp_millis(), self.id)
    }

    pub fn parse(text: &str) -> Option<Cursor> {
        let (millis, id) = text.split_once('.')?;
        let digits = (1..=15).contains(&millis.len()) && millis.bytes().all(|b| b.is_ascii_digit());
        let at = Utc
            .timestamp_millis_opt(digits.then(|| millis.parse().ok()).flatten()?)
            .single()?;
        let ours = crate::ids::is_id(id) || crate::ids::reservation_item(id).is_some();
        ours.then(|| Cursor {
            at,
            id: id.to_owned(),
        })
    }
}

/// The first `limit` rows by `key`, highest first, and the cursor of the last one when more follow: how both
/// stores cut a listing into pages.
pub fn page_of<T, K: Ord>(
    mut rows: Vec<T>,
    key: impl Fn(&T) -> K,
    cursor: impl Fn(&K) -> String,
    limit: usize,
) -> Page<T> {
    rows.sort_by_key(|r| std::cmp::Reverse(key(r)));
    let more = rows.len() > limit;
    rows.truncate(limit);
    Page {
        next_cursor: if more {
            rows.last().map(|r| cursor(&key(r)))
        } else {
            None
        },
        items: rows,
    }
}

/// A record of a time-ordered listing (browse, a user's own lists, a user's ratings): where it stands in
/// the listing, newest first.
pub trait Listed {
    fn position(&self) -> Cursor;
}

fn position(at: DateTime<Utc>, id: &str) -> Cursor {
    Cursor {
        at,
        id: id.to_owned(),
    }
}

impl Listed for Item {
    fn position(&self) -> Cursor {
        position(self.created_at, &self.id)
    }
}

impl Listed for Reservation {
    fn position(&self) -> Cursor {
        position(self.created_at, &self.id)
    }
}

impl Listed for Auction {
    fn position(&self) -> Cursor {
        position(self.created_at, &self.id)
    }
}

/// The auctions a user bid on, most recently bid first.
impl Listed for Bidding {
    fn position(&self) -> Cursor {
        position(self.last_bid_at, &self.auction_id)
    }
}

/// A user gets at most one rating per deal, so the deal's id is unique in their ratings.
impl Listed for Rating {
    fn position(&self) -> Cursor {
        position(self.created_at, &self.about)
    }
}

/// A page of a time-ordered listing, newest first, cursor `<ms>.<id>` (both stores: the cursor format is one
/// contract).
pub fn listed_page<T: Listed>(rows: Vec<T>, limit: usize) -> Page<T> {
    page_of(rows, Listed::position, Cursor::encode, limit)
}

/// A page of listed items, newest first.
pub fn items_page(rows: Vec<Item>, limit: usize) -> Page<Item> {
    listed_page(rows, limit)
}

/// Where a page of a user's own list starts and how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub after: Option<Cursor>,
    pub limit: usize,
}

impl Listing {
    /// Whether a record comes after the cursor (strictly older).
    pub fn follows(&self, record: &impl Listed) -> bool {
        self.after.as_ref().is_none_or(|c| record.position() < *c)
    }
}

/// A page of an auction's bids, highest (= latest accepted) first, cursor the amount.
pub fn bids_page(rows: Vec<Bid>, limit: usize) -> Page<Bid> {
    page_of(rows, |b| b.amount, i64::to_string, limit)
}

/// The most index entries one browse reads, whatever its parameters: each partition it reads (a location
/// cell, a category) gets an equal share, at least [`BROWSE_READ_BUDGET`] / [`MAX_BROWSE_PARTITIONS`].
pub const BROWSE_READ_BUDGET: usize = 640;
/// The most partitions one browse reads: a circle that more location cells cover (a wide one near a pole)
/// is browsed through the category partitions instead, by distance.
pub const MAX_BROWSE_PARTITIONS: usize = 64;

/// How many entries a browse reads of each of its `partitions` at most.
pub fn partition_budget(partitions: usize) -> usize {
    BROWSE_READ_BUDGET / partitions.clamp(1, MAX_BROWSE_PARTITIONS)
}

/// What a browse read of one index partition, newest first: the rows that match, and the position of the
/// last entry it read if the partition holds more (it stopped at its share of the budget or at a page).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartitionRead {
    pub matched: Vec<Item>,
    pub stopped_at: Option<Cursor>,
}

/// A browse page from partitions read under a budget. Below the newest place where a partition stopped,
/// that partition may hold matches not read yet, so the page holds only what is above it, and continues
/// from there: a page may be short (even empty) and still have a `nextCursor`, and following cursors shows
/// every match exactly once.
pub fn browse_page(parts: Vec<PartitionRead>, limit: usize) -> Page<Item> {
    let horizon = parts.iter().filter_map(|p| p.stopped_at.clone()).max();
    let rows: Vec<Item> = parts
        .into_iter()
        .flat_map(|p| p.matched)
        .filter(|i| horizon.as_ref().is_none_or(|h| i.position() >= *h))
        .collect();
    let mut page = items_page(rows, limit);
    if page.next_cursor.is_none() {
        page.next_cursor = horizon.map(|h| h.encode());
    }
    page
}

/// `GET /items`: near a point, in a category, or both; newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct BrowseQuery {
    /// (lat, lon, radius km).
    pub near: Option<(f64, f64, f64)>,
    pub category: Option<Category>,
    pub after: Option<Cursor>,
    pub limit: usize,
}

impl BrowseQuery {
    /// Whether a stored item belongs in the result (shown, in the circle, of the category).
    pub fn matches(&self, item: &Item) -> bool {
        item.is_shown()
            && self.category.is_none_or(|c| c == item.category)
            && self.near.is_none_or(|(lat, lon, r)| {
                crate::geo::distance_km((lat, lon), (item.location.lat, item.location.lon)) <= r
            })
            && self
                .after
                .as_ref()
                .is_none_or(|c| (item.created_at, item.id.as_str()) < (c.at, c.id.as_str()))
    }
}

#[async_trait]
pub trait Store: Send + Sync {
    async fn item(&self, id: &str) -> Result<Option<Versioned<Item>>, StoreError>;
    async fn reservation(
        &self,
        item_id: &str,
        id: &str,
    ) -> Result<Option<Versioned<Reservation>>, StoreError>;
    async fn auction(&self, id: &str) -> Result<Option<Versioned<Auction>>, StoreError>;
    async fn profile(&self, user_id: &str) -> Result<Option<UserProfile>, StoreError>;
    /// A user's push devices.
    async fn devices(&self, user_id: &str) -> Result<Vec<Device>, StoreError>;
    /// Bids of an auction, highest first (which is also newest first: each accepted bid tops the last),
    /// from below `below` (cents) on.
    async fn bids(
        &self,
        auction_id: &str,
        below: Option<i64>,
        limit: usize,
    ) -> Result<Page<Bid>, StoreError>;
    async fn browse(&self, query: &BrowseQuery) -> Result<Page<Item>, StoreError>;
    /// The items of these ids that exist, in no particular order (at most 100 ids).
    async fn items(&self, ids: &[String]) -> Result<Vec<Item>, StoreError>;
    /// A seller's items (of one status, or all), newest first.
    async fn items_of(
        &self,
        seller_id: &str,
        status: Option<ItemStatus>,
        page: &Listing,
    ) -> Result<Page<Item>, StoreError>;
    /// The reservations a user made (`Role::Buyer`) or received (`Role::Seller`), newest first.
    async fn reservations_of(
        &self,
        user_id: &str,
        role: Role,
        status: Option<ReservationStatus>,
        page: &Listing,
    ) -> Result<Page<Reservation>, StoreError>;
    /// A seller's auctions, newest first.
    async fn auctions_of(
        &self,
        seller_id: &str,
        status: Option<AuctionStatus>,
        page: &Listing,
    ) -> Result<Page<Auction>, StoreError>;
    /// The auctions a user bid on, one entry each, most recently bid first.
    async fn bidding_of(
        &self,
        bidder_id: &str,
        page: &Listing,
    ) -> Result<Page<Bidding>, StoreError>;
    /// The ratings a user received, newest first.
    async fn ratings_of(&self, ratee_id: &str, page: &Listing) -> Result<Page<Rating>, StoreError>;
    /// Ids of listings still AVAILABLE whose expiresAt is at or before `now` (at most `limit`).
    async fn stale_listings(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<String>, StoreError>;
    /// Writes everything in `change` atomically, or nothing if any expectation fails.
    async fn commit(&self, change: Change) -> Result<(), StoreError>;
}

pub mod memory;

#[cfg(test)]
mod cursor_tests {
    use super::Cursor;

    const ID: &str = "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b";

    /// The cursors the API gives, and texts near them: the pattern matches exactly those the parser takes.
    #[test]
    fn the_cursor_pattern_and_the_parser_agree() {
        let pattern = regex::Regex::new(Cursor::PATTERN).expect("a regex");
        let reservation = format!("{ID}_{ID}");
        let given = Cursor {
            at: chrono::DateTime::from_timestamp_millis(1_795_000_000_123).expect("a time"),
            id: ID.to_owned(),
        };
        let mut texts = vec![given.encode(), format!("1795000000123.{reservation}")];
        for millis in [
            "0",
            "1",
            "999999999999999",
            "9999999999999999",
            "",
            "-1",
            "+1",
            "1e3",
            " 1",
        ] {
            for id in [
                ID.to_owned(),
                reservation.clone(),
                ID.to_uppercase(),
                ID.replace('-', ""),
                format!("{{{ID}}}"),
                format!("urn:uuid:{ID}"),
                format!("{ID}_"),
                format!("{ID}_x"),
                ID[..35].to_owned(),
                String::new(),
            ] {
                texts.push(format!("{millis}.{id}"));
                texts.push(format!("{millis}{id}"));
            }
        }
        for text in &texts {
            assert_eq!(
                pattern.is_match(text),
                Cursor::parse(text).is_some(),
                "{text}"
            );
        }
        assert_eq!(Cursor::parse(&given.encode()), Some(given));
        assert!(texts.iter().filter(|t| Cursor::parse(t).is_some()).count() >= 6);
    }
}
