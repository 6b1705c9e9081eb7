//! Sample records for the tests of other crates (feature `fixtures`): one place for what a stored listing
//! looks like, so a new field of [`Item`] is filled in here only.

use chrono::{DateTime, Utc};

use crate::item::{Category, Item, ItemMode, ItemStatus, Location, LISTING_TTL};

/// An AVAILABLE free listing of "seller" at the Eiffel Tower (geohash `u09tun`), posted at `created_at`.
pub fn listing(id: &str, title: &str, category: Category, created_at: DateTime<Utc>) -> Item {
    Item {
        id: id.to_owned(),
        seller_id: "seller".into(),
        title: title.to_owned(),
        description: String::new(),
        category,
        location: Location {
            lat: 48.8584,
            lon: 2.2945,
            geohash: "u09tun".into(),
        },
        mode: ItemMode::Free,
        status: ItemStatus::Available,
        photos: Default::default(),
        created_at,
        expires_at: created_at + LISTING_TTL,
        reservation_id: None,
        auction_id: None,
        moderation: None,
        suggested_category: None,
    }
}
