//! The entities of DOMAIN.md as stored and as the API shows them. Field names are camelCase on the wire; ids
//! are opaque strings; money is integer cents.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::events::{ItemMode, Location};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(ToSchema))]
        pub enum $name { $(#[serde(rename = $text)] $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let all: Vec<_> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    format!("{s:?} is not one of {}", all.join(", "))
                })
            }
        }
    };
}

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
    /// Free items: AVAILABLE → RESERVED → PICKED_UP (back to AVAILABLE on cancel/expiry). Auction items:
    /// AVAILABLE → IN_AUCTION → SOLD | UNSOLD. Any listing past expiresAt and not taken → EXPIRED.
    ItemStatus {
        Available => "AVAILABLE",
        Reserved => "RESERVED",
        PickedUp => "PICKED_UP",
        InAuction => "IN_AUCTION",
        Sold => "SOLD",
        Unsold => "UNSOLD",
        Expired => "EXPIRED",
    }
);

string_enum!(
    PhotoStatus {
        Pending => "PENDING",
        Ready => "READY",
        Rejected => "REJECTED",
    }
);

string_enum!(
    /// PENDING → CONFIRMED → COMPLETED; PENDING | CONFIRMED → CANCELLED | EXPIRED.
    ReservationStatus {
        Pending => "PENDING",
        Confirmed => "CONFIRMED",
        Completed => "COMPLETED",
        Cancelled => "CANCELLED",
        Expired => "EXPIRED",
    }
);

string_enum!(
    AuctionStatus {
        Open => "OPEN",
        Closed => "CLOSED",
    }
);

string_enum!(
    /// The push service a device token belongs to.
    Platform {
        Ios => "ios",
        Android => "android",
    }
);

impl ItemStatus {
    /// Listed and open to takers: shown when browsing.
    pub fn is_listed(self) -> bool {
        matches!(self, ItemStatus::Available | ItemStatus::InAuction)
    }
}

impl ReservationStatus {
    pub fn is_active(self) -> bool {
        matches!(
            self,
            ReservationStatus::Pending | ReservationStatus::Confirmed
        )
    }
}

/// One photo of an item: uploaded through a presigned POST, then thumbnailed and labelled by the images worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Photo {
    pub id: String,
    /// The upload's object key (`uploads/<userId>/<itemId>/<photoId>`).
    pub key: String,
    pub status: PhotoStatus,
    /// Thumbnail keys by long-side size ("128", "512", "1024"), once READY.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub thumbnails: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Why it was rejected (shown to the seller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
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
    #[cfg_attr(feature = "openapi", schema(value_type = LocationSchema))]
    pub location: Location,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "free"))]
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
}

/// The wire shape of [`Location`] for the OpenAPI document.
#[cfg(feature = "openapi")]
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LocationSchema {
    #[schema(minimum = -90.0, maximum = 90.0)]
    lat: f64,
    #[schema(minimum = -180.0, maximum = 180.0)]
    lon: f64,
    /// Geohash of precision 6.
    geohash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    /// Opaque; carries the item it belongs to.
    pub id: String,
    pub item_id: String,
    pub buyer_id: String,
    pub seller_id: String,
    pub status: ReservationStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Auction {
    pub id: String,
    pub item_id: String,
    pub seller_id: String,
    pub status: AuctionStatus,
    pub created_at: DateTime<Utc>,
    /// Moves on with late bids (anti-sniping).
    pub ends_at: DateTime<Utc>,
    /// Cents.
    pub starting_price: i64,
    /// Cents.
    pub min_increment: i64,
    /// Cents; none before the first bid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_bid: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_id: Option<String>,
    pub bid_count: u32,
    /// How often a late bid moved endsAt (at most 10).
    pub extensions: u32,
    /// The least amount the next bid may offer: max(startingPrice, currentBid + minIncrement).
    pub min_next_bid: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Bid {
    pub auction_id: String,
    pub bid_id: String,
    pub bidder_id: String,
    /// Cents.
    pub amount: i64,
    pub placed_at: DateTime<Utc>,
}

/// A user's counters, each moved once per completed deal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    #[serde(default)]
    pub items_given: u32,
    #[serde(default)]
    pub items_received: u32,
    #[serde(default)]
    pub auctions_won: u32,
    #[serde(default)]
    pub auctions_sold: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HomeLocation {
    #[cfg_attr(feature = "openapi", schema(minimum = -90.0, maximum = 90.0))]
    pub lat: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = -180.0, maximum = 180.0))]
    pub lon: f64,
    /// Geohash of precision 5 ("new items near you").
    pub geohash: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserProfile {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<HomeLocation>,
    /// Sum of the stars received.
    #[serde(default)]
    pub rating_sum: u32,
    #[serde(default)]
    pub rating_count: u32,
    #[serde(default)]
    pub stats: Stats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub platform: Platform,
    /// SHA-256 of the push token (the token itself is not stored in the clear beyond its endpoint).
    pub token_hash: String,
    /// The SNS platform endpoint, when a platform application is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_arn: Option<String>,
    pub registered_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Rating {
    pub rater_id: String,
    pub ratee_id: String,
    /// The reservation or auction the rating is about.
    pub about: String,
    pub stars: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// One page of a listing and where the next one starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
