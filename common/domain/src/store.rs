//! The port the use-cases store state through. Its writes are conditional: a [`Change`] names, for every record
//! it replaces, the version it was decided from (or that the record must be new), and is written atomically
//! with the events it causes (the outbox) or not at all. DynamoDB implements it with `TransactWriteItems` and
//! condition expressions (`infra::store`), tests and benchmarks with an in-memory map ([`memory`]).

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::auction::{Auction, Bid};
use crate::event::Envelope;
use crate::item::{Category, Item};
use crate::profile::{Device, HomeLocation, Preferences, Stats, UserProfile};
use crate::rating::Rating;
use crate::reservation::Reservation;

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
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at.timestamp_millis(), self.id)
    }

    pub fn parse(text: &str) -> Option<Cursor> {
        let (millis, id) = text.split_once('.')?;
        let at = Utc.timestamp_millis_opt(millis.parse().ok()?).single()?;
        crate::ids::is_id(id).then(|| Cursor {
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

/// A page of listed items, newest first, cursor `<ms>.<id>` (both stores: the cursor format is one contract).
pub fn items_page(rows: Vec<Item>, limit: usize) -> Page<Item> {
    page_of(
        rows,
        |i: &Item| Cursor {
            at: i.created_at,
            id: i.id.clone(),
        },
        Cursor::encode,
        limit,
    )
}

/// A page of an auction's bids, highest (= latest accepted) first, cursor the amount.
pub fn bids_page(rows: Vec<Bid>, limit: usize) -> Page<Bid> {
    page_of(rows, |b| b.amount, i64::to_string, limit)
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
    /// Whether a stored item belongs in the result (listed, in the circle, of the category).
    pub fn matches(&self, item: &Item) -> bool {
        item.status.is_listed()
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
