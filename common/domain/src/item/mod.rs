//! The item aggregate: a listing, free or for auction, with its photos. Its rules (post, withdraw, the
//! listing's expiry) are here; its photos' in [`photo`].

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use crate::error::{Conflict, DomainError, Validator};
use crate::geo::{self, Point};
use crate::schedule::Decision;

pub mod categories;
pub mod photo;
pub mod screening;

pub use photo::{Photo, PhotoOutcome, PhotoRef, PhotoStatus};

/// A listing expires 30 days after it was posted if nobody took it.
pub const LISTING_TTL: Duration = Duration::days(30);

string_enum!(
    /// What an item is: the category browse and labels use these.
    Category {
        Furniture => "furniture",
        Electronics => "electronics",
        Clothing => "clothing",
        Books => "books",
        Kids => "kids",
        Garden => "garden",
        Sports => "sports",
        Other => "other",
    }
);

string_enum!(
    /// Free items: `available` → `reserved` → `picked_up` (back to `available` on cancel/expiry). Auction items:
    /// `available` → `in_auction` → `sold` | `unsold`. Any listing past expiresAt and not taken → `expired`.
    ItemStatus {
        Available => "available",
        Reserved => "reserved",
        PickedUp => "picked_up",
        InAuction => "in_auction",
        Sold => "sold",
        Unsold => "unsold",
        Expired => "expired",
    }
);

string_enum!(
    /// How an item changes hands: reserved and picked up for free, or sold by auction.
    ItemMode {
        Free => "free",
        Auction => "auction",
    }
);

impl ItemStatus {
    /// Listed and open to takers (browse and search show it unless moderation hid it: [`Item::is_shown`]).
    pub fn is_listed(self) -> bool {
        matches!(self, ItemStatus::Available | ItemStatus::InAuction)
    }
}

string_enum!(
    /// Why a listing is hidden: `flagged` by the text screening (its title or description read as toxic:
    /// the seller's next edit is screened again and lifts it when clean), `taken_down` by a moderator (`POST
    /// /admin/items/{id}/takedown`: for good).
    ModerationAction {
        Flagged => "flagged",
        TakenDown => "taken_down",
    }
);

/// A listing hidden from browse, search and its public page, and why: shown to its seller (their own
/// listings), who was also told. Who did it is in the event (`ItemTakenDown.moderatorId`), not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Moderation {
    pub action: ModerationAction,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// Where an item is: coordinates and their geohash (precision 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[cfg_attr(feature = "openapi", schema(minimum = -90.0, maximum = 90.0))]
    pub lat: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = -180.0, maximum = 180.0))]
    pub lon: f64,
    /// Geohash of precision 6.
    pub geohash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub id: String,
    pub seller_id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub category: Category,
    pub location: Location,
    pub mode: ItemMode,
    pub status: ItemStatus,
    /// Photos by id.
    #[serde(default)]
    pub photos: BTreeMap<String, Photo>,
    pub created_at: DateTime<Utc>,
    /// When the listing expires if not taken.
    pub expires_at: DateTime<Utc>,
    /// The active reservation, while RESERVED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<String>,
    /// The item's auction, once one was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auction_id: Option<String>,
    /// Set when moderation hid the listing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moderation: Option<Moderation>,
    /// What the first photo to be READY shows, as a category ([`categories::suggest`] on its labels): the app
    /// offers it, the seller accepts it with an edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggested_category: Option<Category>,
}

impl Item {
    /// Whether browse, search and the public item page show it: listed, and not hidden by moderation. The one
    /// test of visibility (the stored browse keys, the search index and `GET /items/{id}` all ask it).
    pub fn is_shown(&self) -> bool {
        self.status.is_listed() && self.moderation.is_none()
    }

    /// Whether anyone may see the listing's page: everything but a listing a moderator took down (its seller
    /// sees that one, with why, in their own listings). A flagged one stays reachable by its link, so its
    /// seller can read it (and its `ETag`) to edit it; browse and search do not show it.
    pub fn is_public(&self) -> bool {
        self.moderation
            .as_ref()
            .is_none_or(|m| m.action != ModerationAction::TakenDown)
    }
}

/// Post an item (`POST /items`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    pub title: String,
    pub description: String,
    pub category: Category,
    pub location: Point,
    pub mode: ItemMode,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn check_title(v: &mut Validator, raw: &str) -> String {
    crate::error::short_text(v, raw, 120, "title")
}

fn check_description(v: &mut Validator, description: &str) {
    v.check(
        chars(description) <= 2000,
        "description",
        "must be at most 2000 characters",
    );
}

/// A new listing, AVAILABLE for [`LISTING_TTL`].
pub fn new_item(
    input: NewItem,
    seller_id: &str,
    id: String,
    now: DateTime<Utc>,
) -> Result<Item, DomainError> {
    let mut v = Validator::default();
    let title = check_title(&mut v, &input.title);
    check_description(&mut v, &input.description);
    v.check(
        (-90.0..=90.0).contains(&input.location.lat),
        "location.lat",
        "must be between -90 and 90",
    )
    .check(
        (-180.0..=180.0).contains(&input.location.lon),
        "location.lon",
        "must be between -180 and 180",
    );
    v.finish()?;
    let Point { lat, lon } = input.location.stored();
    Ok(Item {
        id,
        seller_id: seller_id.to_owned(),
        title,
        description: input.description,
        category: input.category,
        location: Location {
            lat,
            lon,
            geohash: geo::encode(lat, lon, geo::ITEM_PRECISION),
        },
        mode: input.mode,
        status: ItemStatus::Available,
        photos: Default::default(),
        created_at: now,
        expires_at: now + LISTING_TTL,
        reservation_id: None,
        auction_id: None,
        moderation: None,
        suggested_category: None,
    })
}

/// Only the item's seller may do this.
pub(crate) fn own_item(item: &Item, caller: &str) -> Result<(), DomainError> {
    if item.seller_id == caller {
        Ok(())
    } else {
        Err(DomainError::Forbidden(
            "only the item's seller may do this".into(),
        ))
    }
}

/// The seller withdraws a listing nobody has taken.
pub fn delete_item(item: &Item, caller: &str) -> Result<(), DomainError> {
    own_item(item, caller)?;
    if item.status != ItemStatus::Available {
        return Err(DomainError::conflict(
            Conflict::ItemNotAvailable,
            format!(
                "the item is {}: only an available item can be deleted",
                item.status
            ),
        ));
    }
    Ok(())
}

/// Edit a listing (`PATCH /items/{id}`): each field given replaces the stored one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<Category>,
}

/// The seller edits a listing nobody has taken or bid on yet: AVAILABLE, or IN_AUCTION with no bid (`bids`:
/// its auction's count). The edited item, or `None` when the edit changes nothing (no write, no event).
pub fn edit_item(
    item: &Item,
    caller: &str,
    edit: &ItemEdit,
    bids: u32,
) -> Result<Option<Item>, DomainError> {
    let mut v = Validator::default();
    // An edit of nothing is valid and changes nothing, like one that repeats what is there.
    let title = edit.title.as_deref().map(|t| check_title(&mut v, t));
    if let Some(description) = &edit.description {
        check_description(&mut v, description);
    }
    v.finish()?;
    own_item(item, caller)?;
    if let Some(m) = item
        .moderation
        .as_ref()
        .filter(|m| m.action == ModerationAction::TakenDown)
    {
        return Err(DomainError::conflict(
            Conflict::ItemNotEditable,
            format!(
                "the item cannot be edited: it was taken down ({})",
                m.reason
            ),
        ));
    }
    let open = match item.status {
        ItemStatus::Available => true,
        ItemStatus::InAuction => bids == 0,
        _ => false,
    };
    if !open {
        let why = if item.status == ItemStatus::InAuction {
            "its auction has bids".to_owned()
        } else {
            format!("it is {}", item.status)
        };
        return Err(DomainError::conflict(
            Conflict::ItemNotEditable,
            format!(
                "the item cannot be edited: {why}; only a listing nobody reserved or bid on can"
            ),
        ));
    }
    let mut next = item.clone();
    if let Some(title) = title {
        next.title = title.to_owned();
    }
    if let Some(description) = &edit.description {
        next.description.clone_from(description);
    }
    if let Some(category) = edit.category {
        next.category = category;
    }
    Ok((next != *item).then_some(next))
}

/// A moderator takes a listing down: hidden from browse, search and its public page, closed to new
/// reservations, bids and edits, whatever its status (a reservation under way stays the parties' to finish or
/// cancel; an auction under way ends at once, with no winner: [`crate::auction::take_down`]). `reason` is
/// what the seller is told. `None` when it is down already (no write, no event).
pub fn take_down(
    item: &Item,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<Item>, DomainError> {
    let mut v = Validator::default();
    let reason = crate::error::short_text(&mut v, reason, 500, "reason");
    v.finish()?;
    if item
        .moderation
        .as_ref()
        .is_some_and(|m| m.action == ModerationAction::TakenDown)
    {
        return Ok(None);
    }
    let mut next = item.clone();
    next.moderation = Some(Moderation {
        action: ModerationAction::TakenDown,
        reason,
        at: now,
    });
    Ok(Some(next))
}

/// The item is open to takers now: AVAILABLE, shown, and not past its listing's expiry.
pub(crate) fn expect_available(item: &Item, now: DateTime<Utc>) -> Result<(), DomainError> {
    if let Some(m) = &item.moderation {
        let why = match m.action {
            ModerationAction::TakenDown => "taken down by a moderator",
            ModerationAction::Flagged => "hidden while its text is flagged",
        };
        return Err(DomainError::conflict(
            Conflict::ItemNotAvailable,
            format!("the item was {why}"),
        ));
    }
    if item.status != ItemStatus::Available || now >= item.expires_at {
        let status = if item.status == ItemStatus::Available {
            ItemStatus::Expired
        } else {
            item.status
        };
        return Err(DomainError::conflict(
            Conflict::ItemNotAvailable,
            format!("the item is {status}, not available"),
        ));
    }
    Ok(())
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

#[cfg(test)]
mod tests;
