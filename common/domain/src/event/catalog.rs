//! The event catalog of DOMAIN.md: one typed payload per event type, and the source each comes from.
//! Field names are camelCase on the wire; ids are opaque strings; money is integer cents.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Source;
pub use crate::item::{ItemMode, Location};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemCreated {
    pub item_id: String,
    pub seller_id: String,
    pub title: String,
    pub category: String,
    pub mode: ItemMode,
    pub location: Location,
    pub expires_at: DateTime<Utc>,
}

/// The seller edited a listing (`PATCH /items/{id}`): its text and category as they are now, and which
/// fields the edit changed (search and moderation follow it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemUpdated {
    pub item_id: String,
    pub seller_id: String,
    pub title: String,
    pub description: String,
    pub category: String,
    /// `title`, `description`, `category`: those the edit changed.
    pub changed: Vec<String>,
}

/// The seller withdrew a listing nobody had taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemDeleted {
    pub item_id: String,
    pub seller_id: String,
}

/// A moderator took a listing down (`POST /admin/items/{id}/takedown`): hidden from browse and search, its
/// seller told why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemTakenDown {
    pub item_id: String,
    pub seller_id: String,
    /// Who took it down.
    pub moderator_id: String,
    /// What the seller is told.
    pub reason: String,
    /// The auction that ended with it (closed at once, sold to nobody), if one was under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auction_id: Option<String>,
}

/// The text screening read a listing's title or description as toxic: hidden until an edit reads as clean,
/// its seller told why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFlagged {
    pub item_id: String,
    pub seller_id: String,
    /// What the seller is told.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemExpired {
    pub item_id: String,
    pub seller_id: String,
}

/// The parties and subject of a reservation, common to its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservationRef {
    pub reservation_id: String,
    pub item_id: String,
    pub buyer_id: String,
    pub seller_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservationCreated {
    #[serde(flatten)]
    pub reservation: ReservationRef,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservationConfirmed {
    #[serde(flatten)]
    pub reservation: ReservationRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickup_at: Option<DateTime<Utc>>,
}

/// A confirmed pickup is near (the reservation still stood when its reminder came due): both parties hear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PickupReminder {
    #[serde(flatten)]
    pub reservation: ReservationRef,
    pub pickup_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservationCompleted {
    #[serde(flatten)]
    pub reservation: ReservationRef,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservationCancelled {
    #[serde(flatten)]
    pub reservation: ReservationRef,
    /// The party who cancelled (buyer or seller id).
    pub cancelled_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservationExpired {
    #[serde(flatten)]
    pub reservation: ReservationRef,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuctionCreated {
    pub auction_id: String,
    pub item_id: String,
    pub seller_id: String,
    pub ends_at: DateTime<Utc>,
    pub starting_price: i64,
    pub min_increment: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BidPlaced {
    pub auction_id: String,
    pub bid_id: String,
    pub bidder_id: String,
    pub amount: i64,
    pub bid_count: u32,
    pub ends_at: DateTime<Utc>,
    /// The leader this bid outbid, if any (notified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_leader_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuctionExtended {
    pub auction_id: String,
    pub ends_at: DateTime<Utc>,
    pub extensions: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuctionEnded {
    pub auction_id: String,
    pub item_id: String,
    pub seller_id: String,
    /// None when nobody bid (the item is UNSOLD).
    #[serde(default)]
    pub winner_id: Option<String>,
    #[serde(default)]
    pub amount: Option<i64>,
    pub bid_count: u32,
    /// Bidders who did not win, each notified.
    #[serde(default)]
    pub loser_ids: Vec<String>,
}

/// A user deleted their account: their listings were withdrawn, devices and personal data removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserDeleted {
    pub user_id: String,
    /// How many listings were withdrawn with it (each also an ItemDeleted).
    pub listings_withdrawn: u32,
}

/// A moderator suspended a user (`POST /admin/users/{id}/suspend`): every request of theirs is refused (403
/// `suspended`) until they are reinstated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserSuspended {
    pub user_id: String,
    /// Who suspended them.
    pub moderator_id: String,
    /// What the user is told.
    pub reason: String,
}

/// A moderator lifted a user's suspension (`POST /admin/users/{id}/reinstate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserReinstated {
    pub user_id: String,
    /// Who reinstated them.
    pub moderator_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRated {
    pub rater_id: String,
    pub ratee_id: String,
    /// The reservation or auction the rating is about.
    pub about: String,
    pub stars: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageUploaded {
    pub bucket: String,
    pub key: String,
    pub size: u64,
}

/// Keys of the thumbnails of one photo, by long-side size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumbnails {
    #[serde(rename = "128")]
    pub small: String,
    #[serde(rename = "512")]
    pub medium: String,
    #[serde(rename = "1024")]
    pub large: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageProcessed {
    pub item_id: String,
    pub photo_key: String,
    pub thumbnails: Thumbnails,
    #[serde(default)]
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageRejected {
    pub item_id: String,
    pub seller_id: String,
    pub photo_key: String,
    /// Shown to the seller.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationSent {
    /// The event the notification was about.
    pub about_event_id: String,
    pub recipient_id: String,
    pub channel: String,
}

/// A message given up on: sent to its queue's DLQ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorOccurred {
    pub queue: String,
    pub message_id: String,
    pub error_kind: String,
    pub error_message: String,
    /// The event the message carried, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

macro_rules! catalog {
    ($($name:ident => $source:ident),* $(,)?) => {
        /// Every event type (the EventBridge `detail-type`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType { $($name),* }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$name),*];

            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$name => stringify!($name)),* }
            }

            pub fn source(self) -> Source {
                match self { $(EventType::$name => Source::$source),* }
            }
        }

        /// A domain event with its typed payload.
        #[derive(Debug, Clone, PartialEq)]
        pub enum DomainEvent { $($name($name)),* }

        impl DomainEvent {
            pub fn event_type(&self) -> EventType {
                match self { $(DomainEvent::$name(_) => EventType::$name),* }
            }

            /// The payload as JSON (the envelope's `data`).
            pub fn type_and_data(&self) -> (EventType, Value) {
                let data = match self { $(DomainEvent::$name(d) => serde_json::to_value(d)),* };
                // Payloads are plain structs with string keys: serialising them cannot fail.
                (self.event_type(), data.unwrap_or(Value::Null))
            }

            pub fn from_type_and_data(event_type: EventType, data: Value) -> Result<Self, serde_json::Error> {
                match event_type { $(EventType::$name => serde_json::from_value(data).map(DomainEvent::$name)),* }
            }
        }

        $(impl From<$name> for DomainEvent {
            fn from(payload: $name) -> Self { DomainEvent::$name(payload) }
        })*
    };
}

catalog! {
    ItemCreated => Items,
    ItemExpired => Items,
    ItemUpdated => Items,
    ItemDeleted => Items,
    ItemTakenDown => Items,
    ItemFlagged => Items,
    ReservationCreated => Reservations,
    ReservationConfirmed => Reservations,
    PickupReminder => Reservations,
    ReservationCompleted => Reservations,
    ReservationCancelled => Reservations,
    ReservationExpired => Reservations,
    AuctionCreated => Auctions,
    BidPlaced => Auctions,
    AuctionExtended => Auctions,
    AuctionEnded => Auctions,
    UserRated => Users,
    UserDeleted => Users,
    UserSuspended => Users,
    UserReinstated => Users,
    ImageUploaded => Images,
    ImageProcessed => Images,
    ImageRejected => Images,
    NotificationSent => Notifications,
    ErrorOccurred => System,
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventType::ALL
            .iter()
            .copied()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| s.to_owned())
    }
}
