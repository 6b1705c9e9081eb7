//! Search (`GET /items?q=`): what a listing is found by and how hits rank, whatever engine keeps the index.
//!
//! Text becomes *terms*: words by the Unicode word boundaries (`unicode-segmentation`), folded to lower case
//! without accents (NFKD by `unicode-normalization`, combining marks dropped), English stop words dropped
//! (the NLTK list of `stop-words`), stemmed by the Snowball English stemmer (`rust-stemmers`, the one tantivy
//! uses): "Solid OAK Tables" → `solid`, `oak`, `tabl`. An indexed listing has one [`Entry`] per term of its
//! title and description (at most [`MAX_ITEM_TERMS`], the title's first); a query looks up its first
//! [`MAX_QUERY_TERMS`] terms and reads at most [`TERM_WINDOW`] entries of each, newest first, so a search
//! reads at most `MAX_QUERY_TERMS × TERM_WINDOW` entries whatever it asks. Hits rank by [`Entry::weight`]
//! summed over the query's terms (a word of the title outweighs one of the description), then by recency.
//!
//! The engine is the port [`SearchIndex`]: the table keeps entries in its own DynamoDB table
//! (`infra::search`), tests in memory ([`memory`]); a managed search service would implement the same
//! port. Which listings are indexed, what their entries are and how an index catches up with a listing
//! ([`plan_sync`]) are rules here, so every engine follows them alike.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

use crate::event::DomainEvent;
use crate::item::{Category, Item};
use crate::store::{Cursor, Page, StoreError, Versioned};

pub mod memory;
#[cfg(test)]
mod tests;

/// The terms of a query that are looked up (the rest are ignored).
pub const MAX_QUERY_TERMS: usize = 5;
/// The entries of one term a search reads at most: its newest listings.
pub const TERM_WINDOW: usize = 200;
/// The most index entries one search reads.
pub const MAX_ENTRIES_READ: usize = MAX_QUERY_TERMS * TERM_WINDOW;
/// The terms a listing is found by at most: its title's, then its description's first. 48 keeps a listing's
/// whole re-index (the entries it drops, those it adds, its manifest) within one DynamoDB transaction (100
/// actions).
pub const MAX_ITEM_TERMS: usize = 48;
/// A word longer than this (in UTF-8) is not a term: nobody types it, and a partition key holds 2 KB.
pub const MAX_TERM_BYTES: usize = 64;
/// What a term of the title weighs in a hit's score, and one of the description.
pub const TITLE_WEIGHT: u8 = 3;
pub const DESCRIPTION_WEIGHT: u8 = 1;

static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));
static STOP_WORDS: LazyLock<HashSet<String>> = LazyLock::new(|| {
    stop_words::get(stop_words::Language::English)
        .iter()
        .map(|w| fold(w))
        .collect()
});

/// Lower case, accents dropped ("Café" → "cafe"), compatibility forms unfolded ("ﬁ" → "fi").
fn fold(word: &str) -> String {
    word.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The distinct terms of a text, in the order they first occur.
pub fn terms(text: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    text.unicode_words()
        .map(fold)
        .filter(|w| !w.is_empty() && w.len() <= MAX_TERM_BYTES && !STOP_WORDS.contains(w))
        .map(|w| STEMMER.stem(&w).into_owned())
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

/// Whether a listing is found by search at all: shown, as browse shows it.
pub fn indexable(item: &Item) -> bool {
    item.is_shown()
}

/// The listing an event may have changed the search index's view of (posted, edited, withdrawn, expired,
/// reserved or back after a reservation ended, auctioned off): the index worker reads it again.
pub fn listing_of(event: &DomainEvent) -> Option<&str> {
    match event {
        DomainEvent::ItemCreated(e) => Some(&e.item_id),
        DomainEvent::ItemUpdated(e) => Some(&e.item_id),
        DomainEvent::ItemDeleted(e) => Some(&e.item_id),
        DomainEvent::ItemTakenDown(e) => Some(&e.item_id),
        DomainEvent::ItemExpired(e) => Some(&e.item_id),
        DomainEvent::ReservationCreated(e) => Some(&e.reservation.item_id),
        DomainEvent::ReservationCancelled(e) => Some(&e.reservation.item_id),
        DomainEvent::ReservationExpired(e) => Some(&e.reservation.item_id),
        DomainEvent::AuctionEnded(e) => Some(&e.item_id),
        _ => None,
    }
}

/// What an index keeps of a listing under one of its terms: enough to filter by place and category and to
/// rank, without reading the listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub item_id: String,
    pub created_at: DateTime<Utc>,
    pub category: Category,
    pub lat: f64,
    pub lon: f64,
    /// [`TITLE_WEIGHT`] for a word of the title, [`DESCRIPTION_WEIGHT`] for one of the description only.
    pub weight: u8,
}

impl Entry {
    /// Where the entry stands in its term's list, newest first.
    pub fn position(&self) -> Cursor {
        Cursor {
            at: self.created_at,
            id: self.item_id.clone(),
        }
    }
}

/// The entries a listing should have, by term: none unless [`indexable`].
pub fn entries(item: &Item) -> BTreeMap<String, Entry> {
    if !indexable(item) {
        return BTreeMap::new();
    }
    let title = terms(&item.title);
    let title_set: HashSet<&String> = title.iter().collect();
    let description = terms(&item.description);
    let described = description.iter().filter(|t| !title_set.contains(t));
    let entry = |weight| Entry {
        item_id: item.id.clone(),
        created_at: item.created_at,
        category: item.category,
        lat: item.location.lat,
        lon: item.location.lon,
        weight,
    };
    title
        .iter()
        .map(|t| (t.clone(), entry(TITLE_WEIGHT)))
        .chain(described.map(|t| (t.clone(), entry(DESCRIPTION_WEIGHT))))
        .take(MAX_ITEM_TERMS)
        .collect()
}

/// What an index recorded of a listing when it last caught up with it: the version it read and the entries
/// it keeps for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub version: u64,
    pub entries: BTreeMap<String, Entry>,
}

/// How an index catches up with a listing: entries to write and terms to drop, and the manifest to keep
/// (`None`: the listing is gone, forget it), written only if the manifest is still the one read.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncPlan {
    pub put: BTreeMap<String, Entry>,
    pub drop: Vec<String>,
    pub manifest: Option<Manifest>,
    /// The version of the manifest the plan was made from (None: there was none).
    pub read: Option<u64>,
}

/// How an index catches up with a listing read at its version (`None`: the listing is gone), from what it
/// recorded last: `None` when it already has that version or a later one (a late or repeated message
/// changes nothing).
pub fn plan_sync(recorded: Option<&Manifest>, item: Option<&Versioned<Item>>) -> Option<SyncPlan> {
    let read = recorded.map(|m| m.version);
    let (wanted, manifest) = match item {
        Some(item) if read.is_some_and(|v| v >= item.version) => return None,
        Some(item) => {
            let wanted = entries(&item.value);
            let manifest = Manifest {
                version: item.version,
                entries: wanted.clone(),
            };
            (wanted, Some(manifest))
        }
        None if recorded.is_none() => return None,
        None => (BTreeMap::new(), None),
    };
    let had = recorded.map(|m| &m.entries);
    let put = wanted
        .iter()
        .filter(|(term, entry)| had.and_then(|h| h.get(*term)) != Some(entry))
        .map(|(t, e)| (t.clone(), e.clone()))
        .collect();
    let drop = had
        .into_iter()
        .flat_map(|h| h.keys())
        .filter(|t| !wanted.contains_key(*t))
        .cloned()
        .collect();
    Some(SyncPlan {
        put,
        drop,
        manifest,
        read,
    })
}

/// What [`SearchIndex::sync`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synced {
    /// Entries were written or dropped.
    Updated { put: usize, dropped: usize },
    /// The index already had this version of the listing (or a later one).
    Current,
}

/// Where a search page continues: the last hit's score and position. Its text is `<score>:<ms>.<id>`; a
/// browse cursor (`<ms>.<id>`, no score) is taken too, as the top score, so one `cursor` parameter serves
/// browse and search alike.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ranked {
    pub score: u8,
    pub position: Cursor,
}

impl Ranked {
    /// The texts [`Ranked::parse`] takes: a browse cursor, with an optional `<score>:` before it.
    pub const PATTERN: &'static str = concat!(
        r"^(?:[0-9]{1,3}:)?[0-9]{1,15}\.",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "(?:_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$"
    );

    pub fn encode(&self) -> String {
        format!("{}:{}", self.score, self.position.encode())
    }

    pub fn parse(text: &str) -> Option<Ranked> {
        let (score, rest) = match text.split_once(':') {
            Some((score, rest)) => {
                let digits =
                    (1..=3).contains(&score.len()) && score.bytes().all(|b| b.is_ascii_digit());
                // 3 digits are up to 999: a score above any hit's is the top.
                let score: u16 = digits.then(|| score.parse().ok()).flatten()?;
                (u8::try_from(score).unwrap_or(u8::MAX), rest)
            }
            None => (u8::MAX, text),
        };
        Some(Ranked {
            score,
            position: Cursor::parse(rest)?,
        })
    }
}

/// `GET /items?q=`: the terms looked up, and browse's filters.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// At most [`MAX_QUERY_TERMS`], distinct.
    pub terms: Vec<String>,
    /// (lat, lon, radius km).
    pub near: Option<(f64, f64, f64)>,
    pub category: Option<Category>,
    pub after: Option<Ranked>,
    pub limit: usize,
}

impl SearchQuery {
    /// A query for `text` (its first [`MAX_QUERY_TERMS`] terms).
    pub fn new(text: &str) -> Self {
        let mut terms = terms(text);
        terms.truncate(MAX_QUERY_TERMS);
        Self {
            terms,
            near: None,
            category: None,
            after: None,
            limit: 20,
        }
    }

    fn admits(&self, entry: &Entry) -> bool {
        self.category.is_none_or(|c| c == entry.category)
            && self.near.is_none_or(|(lat, lon, r)| {
                crate::geo::distance_km((lat, lon), (entry.lat, entry.lon)) <= r
            })
    }
}

/// A listing a search found, and where it ranks.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub item_id: String,
    pub rank: Ranked,
}

/// A page of hits from each query term's entries (as read: at most [`TERM_WINDOW`] each): those in the
/// query's place and category, by score (the weights of the terms a listing has, summed), then newest
/// first, after the cursor.
pub fn rank(query: &SearchQuery, per_term: &[Vec<Entry>]) -> Page<Hit> {
    let mut found: HashMap<&str, (u8, &Entry)> = HashMap::new();
    for entries in per_term.iter().take(MAX_QUERY_TERMS) {
        let mut seen = HashSet::new();
        for entry in entries.iter().take(TERM_WINDOW) {
            if !seen.insert(entry.item_id.as_str()) || !query.admits(entry) {
                continue;
            }
            let hit = found.entry(&entry.item_id).or_insert((0, entry));
            hit.0 = hit.0.saturating_add(entry.weight);
        }
    }
    let hits: Vec<Hit> = found
        .into_values()
        .map(|(score, entry)| Hit {
            item_id: entry.item_id.clone(),
            rank: Ranked {
                score,
                position: entry.position(),
            },
        })
        .filter(|h| query.after.as_ref().is_none_or(|after| h.rank < *after))
        .collect();
    crate::store::page_of(hits, |h| h.rank.clone(), Ranked::encode, query.limit)
}

/// The engine that keeps the index: finds listings, and catches up with one.
#[async_trait]
pub trait SearchIndex: Send + Sync {
    /// A page of hits for the query: reads at most [`TERM_WINDOW`] entries per term.
    async fn search(&self, query: &SearchQuery) -> Result<Page<Hit>, StoreError>;
    /// Makes the index find `item` as read at its version by its [`entries`] (none if it is not listed),
    /// or not at all if it is gone (`None`). Idempotent: a version already caught up with changes nothing.
    async fn sync(
        &self,
        item_id: &str,
        item: Option<&Versioned<Item>>,
    ) -> Result<Synced, StoreError>;
}
