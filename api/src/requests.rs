//! The request bodies of the API as they go over the wire (serde, `deny_unknown_fields`, the OpenAPI schema),
//! each mapped to the domain command it stands for. The domain's commands know nothing of HTTP.

use domain::auction;
use domain::geo;
use domain::item::{self, Category, ItemMode};
use domain::profile;
use domain::rating;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An integer field as JSON Schema (and so the OpenAPI document) defines one: any number with a zero
/// fractional part, so `2.0` is the integer 2 (a JSON encoder may well write it so). serde alone takes only
/// `2`. Use with `#[serde(deserialize_with = "whole")]`.
pub fn whole<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::de::Error;
    let number = serde_json::Number::deserialize(deserializer)?;
    let value = number
        .as_i64()
        .or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && (-9.0e15..=9.0e15).contains(f))
                .map(|f| f as i64)
        })
        .ok_or_else(|| D::Error::custom(format!("{number} is not an integer")))?;
    T::try_from(value).map_err(|_| D::Error::custom(format!("{value} is out of range")))
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Point {
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: f64,
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: f64,
}

impl From<Point> for geo::Point {
    fn from(p: Point) -> Self {
        geo::Point {
            lat: p.lat,
            lon: p.lon,
        }
    }
}

/// `POST /items`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewItem {
    /// Not all blank (spaces, tabs, line breaks); kept trimmed of them.
    #[schema(min_length = 1, max_length = 120, pattern = r"[^ \t\n\r]")]
    pub title: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    pub category: Category,
    pub location: Point,
    pub mode: ItemMode,
}

impl From<NewItem> for item::NewItem {
    fn from(r: NewItem) -> Self {
        item::NewItem {
            title: r.title,
            description: r.description,
            category: r.category,
            location: r.location.into(),
            mode: r.mode,
        }
    }
}

/// `POST /auctions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewAuction {
    pub item_id: String,
    /// Cents.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    #[serde(deserialize_with = "whole")]
    pub starting_price: i64,
    /// Cents, at least 1.
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    #[serde(deserialize_with = "whole")]
    pub min_increment: i64,
    /// How long the auction runs (the deployment sets the shortest; at most 7 days).
    #[schema(minimum = 1, maximum = 604_800)]
    #[serde(deserialize_with = "whole")]
    pub duration_seconds: i64,
}

impl From<NewAuction> for auction::NewAuction {
    fn from(r: NewAuction) -> Self {
        auction::NewAuction {
            item_id: r.item_id,
            starting_price: r.starting_price,
            min_increment: r.min_increment,
            duration_seconds: r.duration_seconds,
        }
    }
}

/// `PUT /users/me`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileUpdate {
    /// Not all blank (spaces, tabs, line breaks); kept trimmed of them.
    #[schema(min_length = 1, max_length = 60, pattern = r"[^ \t\n\r]")]
    pub display_name: Option<String>,
    pub home: Option<Point>,
    /// Opt in or out of notices; what is not given stays as it is.
    pub notifications: Option<PreferencesUpdate>,
}

/// Which notices the user wants (`true`) or not (`false`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreferencesUpdate {
    /// Push notifications to the user's devices.
    pub push: Option<bool>,
    /// Email to the verified address.
    pub email: Option<bool>,
    /// "New items near you".
    pub items_near_me: Option<bool>,
}

impl From<ProfileUpdate> for profile::ProfileUpdate {
    fn from(r: ProfileUpdate) -> Self {
        let n = r.notifications.unwrap_or_default();
        profile::ProfileUpdate {
            display_name: r.display_name,
            home: r.home.map(Into::into),
            notifications: profile::PreferencesUpdate {
                push: n.push,
                email: n.email,
                items_near_me: n.items_near_me,
            },
        }
    }
}

/// `POST /users/{id}/ratings`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRating {
    /// The reservation or auction id of the deal.
    pub about: String,
    #[schema(minimum = 1, maximum = 5)]
    #[serde(deserialize_with = "whole")]
    pub stars: u8,
    #[schema(max_length = 500)]
    pub comment: Option<String>,
}

impl From<NewRating> for rating::NewRating {
    fn from(r: NewRating) -> Self {
        rating::NewRating {
            about: r.about,
            stars: r.stars,
            comment: r.comment,
        }
    }
}
