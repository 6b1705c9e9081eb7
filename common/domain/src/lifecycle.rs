//! What the workers decide, as pure functions of the stored state and the time: a reservation's expiry, a
//! listing's expiry, an auction's close and a photo's outcome. Like `rules`, each answers with the next state
//! (written by the use-case conditionally on the state it was decided from) or why nothing is to be done, so
//! a message delivered twice finds the work done and changes nothing.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::model::*;
use crate::store::StoreError;

/// A step that comes due at a time: what a one-time schedule (or the daily sweep) delivers to a worker's
/// queue, e.g. `{"due": "auction-close", "auctionId": "…", "correlationId": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "due", rename_all = "kebab-case")]
pub enum Due {
    #[serde(rename_all = "camelCase")]
    ReservationExpiry { reservation_id: String },
    #[serde(rename_all = "camelCase")]
    AuctionClose { auction_id: String },
    /// The daily sweep of listings past their expiresAt.
    StaleListings,
}

/// A due step and the correlation id of what scheduled it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scheduled {
    #[serde(flatten)]
    pub due: Due,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

impl Due {
    /// The name of its one-time schedule (≤ 64 characters of `[0-9A-Za-z-_.]`), one per subject, so
    /// scheduling again moves it and a duplicate event schedules nothing new.
    pub fn schedule_name(&self) -> String {
        match self {
            Due::ReservationExpiry { reservation_id } => format!(
                "expire-{}",
                Uuid::new_v5(&Uuid::NAMESPACE_URL, reservation_id.as_bytes())
            ),
            Due::AuctionClose { auction_id } => format!(
                "close-{}",
                Uuid::new_v5(&Uuid::NAMESPACE_URL, auction_id.as_bytes())
            ),
            Due::StaleListings => "stale-listings".into(),
        }
    }

    /// The name of a schedule that re-arms a step found not yet due: its own name per due time, so it never
    /// collides with the schedule that just fired and is being deleted.
    pub fn rearm_name(&self, at: DateTime<Utc>) -> String {
        format!("{}-{}", self.schedule_name(), at.timestamp())
    }
}

/// Where one-time steps are scheduled (EventBridge Scheduler in AWS; the local runner fires them).
#[async_trait]
pub trait Schedules: Send + Sync {
    /// Delivers `step` to the worker's queue at `at` through the schedule `name` (created, or moved).
    async fn schedule(
        &self,
        name: &str,
        step: &Scheduled,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Cancels the schedule `name`, if it is still pending.
    async fn cancel(&self, name: &str) -> Result<(), StoreError>;
}

/// What a scheduled step finds when it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision<T> {
    /// Act: the next state.
    Act(T),
    /// Too early (a schedule fired before its time, or the time moved): come back at this time.
    NotDue(DateTime<Utc>),
    /// Nothing to do: already done, or overtaken by another change (the reason, for the log).
    Settled(&'static str),
}

/// A reservation still PENDING or CONFIRMED at its expiresAt expires; its item is AVAILABLE again.
pub fn expire_reservation(
    r: &Reservation,
    item: &Item,
    now: DateTime<Utc>,
) -> Decision<(Reservation, Item)> {
    if !r.status.is_active() {
        return Decision::Settled("the reservation is no longer active");
    }
    if now < r.expires_at {
        return Decision::NotDue(r.expires_at);
    }
    let mut next = r.clone();
    next.status = ReservationStatus::Expired;
    next.updated_at = Some(now);
    let mut item = item.clone();
    if item.reservation_id.as_deref() == Some(r.id.as_str()) {
        item.status = ItemStatus::Available;
        item.reservation_id = None;
    }
    Decision::Act((next, item))
}

/// A listing nobody took by its expiresAt expires: AVAILABLE (free, or an auction item never put up) only.
/// Reserved items wait for their reservation, auctions for their close.
pub fn expire_listing(item: &Item, now: DateTime<Utc>) -> Decision<Item> {
    if item.status != ItemStatus::Available {
        return Decision::Settled("the item is not available");
    }
    if now < item.expires_at {
        return Decision::NotDue(item.expires_at);
    }
    let mut next = item.clone();
    next.status = ItemStatus::Expired;
    Decision::Act(next)
}

/// An auction's close: the auction CLOSED, the item SOLD to the leader (or UNSOLD without bids).
#[derive(Debug, Clone, PartialEq)]
pub struct Closing {
    pub auction: Auction,
    pub item: Item,
    /// (winner, amount in cents), when anyone bid.
    pub winner: Option<(String, i64)>,
}

/// Closes an OPEN auction whose endsAt has passed; one whose endsAt moved (a late bid) is not due yet.
pub fn close_auction(auction: &Auction, item: &Item, now: DateTime<Utc>) -> Decision<Closing> {
    if auction.status == AuctionStatus::Closed {
        return Decision::Settled("the auction is already closed");
    }
    if now < auction.ends_at {
        return Decision::NotDue(auction.ends_at);
    }
    let winner = auction.leader_id.clone().zip(auction.current_bid);
    let mut next = auction.clone();
    next.status = AuctionStatus::Closed;
    let mut item = item.clone();
    item.status = if winner.is_some() {
        ItemStatus::Sold
    } else {
        ItemStatus::Unsold
    };
    Decision::Act(Closing {
        auction: next,
        item,
        winner,
    })
}

/// The bidders who did not win, each once, in the order they first appear in `bidders`.
pub fn losers<'a>(bidders: impl IntoIterator<Item = &'a str>, winner: Option<&str>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    bidders
        .into_iter()
        .filter(|b| Some(*b) != winner && seen.insert(*b))
        .map(str::to_owned)
        .collect()
}

/// Where an upload's key says it belongs: `<prefix><userId>/<itemId>/<photoId>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoRef {
    pub user_id: String,
    pub item_id: String,
    pub photo_id: String,
}

/// Reads an upload's (URL-decoded) key; None if it is not one of ours.
pub fn photo_ref(key: &str, uploads_prefix: &str) -> Option<PhotoRef> {
    let rest = key.strip_prefix(uploads_prefix)?;
    let mut parts = rest.split('/');
    let (user_id, item_id, photo_id) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || [user_id, item_id, photo_id].iter().any(|p| p.is_empty()) {
        return None;
    }
    Some(PhotoRef {
        user_id: user_id.to_owned(),
        item_id: item_id.to_owned(),
        photo_id: photo_id.to_owned(),
    })
}

/// What the images worker made of a photo.
#[derive(Debug, Clone, PartialEq)]
pub enum PhotoOutcome {
    /// Thumbnail keys by long-side size ("128", "512", "1024") and the labels seen.
    Ready {
        thumbnails: BTreeMap<String, String>,
        labels: Vec<String>,
    },
    /// Refused; the reason is shown to the seller.
    Rejected { reason: String },
}

/// Records a photo's outcome on its item. Only a PENDING photo changes; an unknown one is `Err` (nothing to
/// record it on: the seller deleted the item, or the key was never handed out).
pub fn settle_photo(
    item: &Item,
    photo_id: &str,
    outcome: &PhotoOutcome,
) -> Result<Decision<Item>, &'static str> {
    let photo = item
        .photos
        .get(photo_id)
        .ok_or("the item has no such photo")?;
    if photo.status != PhotoStatus::Pending {
        return Ok(Decision::Settled("the photo was already processed"));
    }
    let mut next = item.clone();
    let photo = next
        .photos
        .get_mut(photo_id)
        .ok_or("the item has no such photo")?;
    match outcome {
        PhotoOutcome::Ready { thumbnails, labels } => {
            photo.status = PhotoStatus::Ready;
            photo.thumbnails = thumbnails.clone();
            photo.labels = labels.clone();
        }
        PhotoOutcome::Rejected { reason } => {
            photo.status = PhotoStatus::Rejected;
            photo.reason = Some(reason.clone());
        }
    }
    Ok(Decision::Act(next))
}

/// The category a photo's labels suggest (Rekognition's label names), if any matches.
pub fn suggest_category<'a>(labels: impl IntoIterator<Item = &'a str>) -> Option<Category> {
    const MAP: &[(&str, Category)] = &[
        ("furniture", Category::Furniture),
        ("chair", Category::Furniture),
        ("table", Category::Furniture),
        ("couch", Category::Furniture),
        ("shelf", Category::Furniture),
        ("electronics", Category::Electronics),
        ("computer", Category::Electronics),
        ("laptop", Category::Electronics),
        ("phone", Category::Electronics),
        ("mobile phone", Category::Electronics),
        ("monitor", Category::Electronics),
        ("clothing", Category::Clothing),
        ("apparel", Category::Clothing),
        ("shoe", Category::Clothing),
        ("footwear", Category::Clothing),
        ("book", Category::Books),
        ("publication", Category::Books),
        ("toy", Category::Kids),
        ("stroller", Category::Kids),
        ("plant", Category::Garden),
        ("potted plant", Category::Garden),
        ("lawn mower", Category::Garden),
        ("bicycle", Category::Sports),
        ("ball", Category::Sports),
        ("sport", Category::Sports),
    ];
    labels.into_iter().find_map(|label| {
        let label = label.to_ascii_lowercase();
        MAP.iter().find(|(name, _)| *name == label).map(|(_, c)| *c)
    })
}

#[cfg(test)]
mod tests;
