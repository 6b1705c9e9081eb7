//! The profile aggregate: a user (the identity provider's `sub`), their display name, home (for "new items
//! near you"), rating figures, deal counters and push devices.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

use crate::error::{DomainError, Validator};
use crate::geo::{self, Point};

string_enum!(
    /// The push service a device token belongs to.
    Platform {
        Ios => "ios",
        Android => "android",
    }
);

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

/// Set the display name and/or home (`PUT /users/me`).
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    pub home: Option<Point>,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Validates `PUT /users/me`: the fields to set.
pub fn profile_update(
    input: &ProfileUpdate,
) -> Result<(Option<String>, Option<HomeLocation>), DomainError> {
    let mut v = Validator::default();
    let name = input.display_name.as_ref().map(|n| n.trim().to_owned());
    if let Some(name) = &name {
        v.check(
            (1..=60).contains(&chars(name)),
            "displayName",
            "must be 1 to 60 characters",
        );
    }
    if let Some(home) = &input.home {
        v.check(
            geo::valid(home.lat, home.lon),
            "home",
            "lat must be between -90 and 90, lon between -180 and 180",
        );
    }
    v.check(
        name.is_some() || input.home.is_some(),
        "",
        "give displayName, home or both",
    );
    v.finish()?;
    Ok((
        name,
        input.home.as_ref().map(|h| HomeLocation {
            lat: h.lat,
            lon: h.lon,
            geohash: geo::encode(h.lat, h.lon, geo::HOME_PRECISION),
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_update_names_what_it_sets() {
        let (name, home) = profile_update(&ProfileUpdate {
            display_name: Some("  Ann ".into()),
            home: Some(Point {
                lat: 48.8584,
                lon: 2.2945,
            }),
        })
        .expect("valid");
        assert_eq!(name.as_deref(), Some("Ann"));
        assert_eq!(home.map(|h| h.geohash), Some("u09tu".to_owned()));
        let empty = ProfileUpdate {
            display_name: None,
            home: None,
        };
        assert!(matches!(
            profile_update(&empty),
            Err(DomainError::Invalid(_))
        ));
    }
}
