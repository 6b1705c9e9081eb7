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

string_enum!(
    /// Whether a user may act. `active`; `suspended` by a moderator (`POST /admin/users/{id}/suspend`): every
    /// request of theirs is refused (403 `suspended`) until a moderator reinstates them; `deleted` by
    /// themselves (`DELETE /users/me`): their tokens are refused and the record stays as a tombstone without
    /// their personal data, so the ratings they gave stay, attributed to a deleted user.
    #[derive(Default)]
    Account {
        #[default]
        Active => "active",
        Suspended => "suspended",
        Deleted => "deleted",
    }
);

/// A moderator suspends a user: the account it moves to, `None` when it is suspended already (no write, no
/// event). A deleted account is gone (404).
pub fn suspend(account: Account) -> Result<Option<Account>, DomainError> {
    match account {
        Account::Active => Ok(Some(Account::Suspended)),
        Account::Suspended => Ok(None),
        Account::Deleted => Err(DomainError::NotFound("user")),
    }
}

/// A moderator lifts a suspension: the account it moves to, `None` when it is active already.
pub fn reinstate(account: Account) -> Result<Option<Account>, DomainError> {
    match account {
        Account::Suspended => Ok(Some(Account::Active)),
        Account::Active => Ok(None),
        Account::Deleted => Err(DomainError::NotFound("user")),
    }
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

/// What a user wants to be told, and where: every notice is on unless opted out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Preferences {
    /// Push notifications to the user's devices.
    #[serde(default = "on")]
    pub push: bool,
    /// Email to the address the identity provider verified.
    #[serde(default = "on")]
    pub email: bool,
    /// "New items near you" (the other notices concern the user's own deals).
    #[serde(default = "on")]
    pub items_near_me: bool,
}

fn on() -> bool {
    true
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            push: true,
            email: true,
            items_near_me: true,
        }
    }
}

/// Opt-ins and opt-outs to change (`PUT /users/me`); what is not given stays as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PreferencesUpdate {
    pub push: Option<bool>,
    pub email: Option<bool>,
    pub items_near_me: Option<bool>,
}

impl PreferencesUpdate {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Preferences {
    /// These preferences with `update` applied.
    pub fn with(self, update: &PreferencesUpdate) -> Self {
        Self {
            push: update.push.unwrap_or(self.push),
            email: update.email.unwrap_or(self.email),
            items_near_me: update.items_near_me.unwrap_or(self.items_near_me),
        }
    }
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
    /// The email address the identity provider verified (the token's `email` claim with `email_verified`),
    /// where email notices go. Shown to its owner only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub notifications: Preferences,
    /// Sum of the stars received.
    #[serde(default)]
    pub rating_sum: u32,
    #[serde(default)]
    pub rating_count: u32,
    #[serde(default)]
    pub stats: Stats,
    /// When the profile was first written (the user's first signed-in call that keeps something).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_since: Option<DateTime<Utc>>,
    /// Never on the wire: a deleted account's token gets 401 before any profile is shown, so every profile
    /// the API answers would say `active`.
    #[serde(default, skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub account: Account,
}

/// What anyone may see of a user (`GET /users/{id}`): nothing private (no email, no home, no preferences).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PublicProfile {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_since: Option<DateTime<Utc>>,
    /// Mean stars received, to one decimal; absent before the first rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1.0, maximum = 5.0))]
    pub rating_average: Option<f64>,
    pub rating_count: u32,
    /// Deals completed on either side: items given and received, auctions sold and won.
    pub deals_completed: u32,
}

impl From<&UserProfile> for PublicProfile {
    fn from(p: &UserProfile) -> Self {
        let average = (p.rating_count > 0)
            .then(|| (f64::from(p.rating_sum) / f64::from(p.rating_count) * 10.0).round() / 10.0);
        let s = &p.stats;
        PublicProfile {
            id: p.id.clone(),
            display_name: p.display_name.clone(),
            member_since: p.member_since,
            rating_average: average,
            rating_count: p.rating_count,
            deals_completed: s.items_given + s.items_received + s.auctions_won + s.auctions_sold,
        }
    }
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
    pub notifications: PreferencesUpdate,
}

/// Validates `PUT /users/me`: the fields to set.
pub fn profile_update(
    input: &ProfileUpdate,
) -> Result<(Option<String>, Option<HomeLocation>), DomainError> {
    let mut v = Validator::default();
    let name = input
        .display_name
        .as_ref()
        .map(|n| crate::error::short_text(&mut v, n, 60, "displayName"));
    if let Some(home) = &input.home {
        v.check(
            geo::valid(home.lat, home.lon),
            "home",
            "lat must be between -90 and 90, lon between -180 and 180",
        );
    }
    // An update of nothing is valid: the profile as it is (PUT of the same state twice is no error either).
    v.finish()?;
    Ok((
        name,
        input.home.map(geo::Point::stored).map(|h| HomeLocation {
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
    fn moderators_suspend_and_reinstate_an_account_once_and_never_a_deleted_one() {
        assert_eq!(suspend(Account::Active), Ok(Some(Account::Suspended)));
        assert_eq!(suspend(Account::Suspended), Ok(None));
        assert_eq!(reinstate(Account::Suspended), Ok(Some(Account::Active)));
        assert_eq!(reinstate(Account::Active), Ok(None));
        for rule in [suspend, reinstate] {
            assert_eq!(rule(Account::Deleted), Err(DomainError::NotFound("user")));
        }
    }

    #[test]
    fn a_profile_update_names_what_it_sets() {
        let (name, home) = profile_update(&ProfileUpdate {
            display_name: Some("  Ann ".into()),
            home: Some(Point {
                lat: 48.8584,
                lon: 2.2945,
            }),
            notifications: PreferencesUpdate::default(),
        })
        .expect("valid");
        assert_eq!(name.as_deref(), Some("Ann"));
        assert_eq!(home.map(|h| h.geohash), Some("u09tu".to_owned()));
        let empty = ProfileUpdate {
            display_name: None,
            home: None,
            notifications: PreferencesUpdate::default(),
        };
        // An update of nothing is the profile as it is.
        assert_eq!(profile_update(&empty).expect("valid"), (None, None));
        // A name is 1 to 60 characters as given, not all blank, kept trimmed.
        let named = |n: &str| ProfileUpdate {
            display_name: Some(n.to_owned()),
            ..empty.clone()
        };
        assert_eq!(
            profile_update(&named("  Ann "))
                .expect("valid")
                .0
                .as_deref(),
            Some("Ann")
        );
        for bad in [
            " \t\n\r",
            "",
            &"a".repeat(61),
            &format!("a{}", " ".repeat(60)),
        ] {
            assert!(
                matches!(profile_update(&named(bad)), Err(DomainError::Invalid(_))),
                "{bad:?}"
            );
        }
        let opt_out = ProfileUpdate {
            notifications: PreferencesUpdate {
                email: Some(false),
                ..PreferencesUpdate::default()
            },
            ..empty
        };
        assert_eq!(profile_update(&opt_out).expect("valid"), (None, None));
    }

    #[test]
    fn preferences_are_on_until_opted_out_and_an_update_changes_only_what_it_names() {
        let stored: Preferences = serde_json::from_str("{}").expect("old profiles have none");
        assert_eq!(stored, Preferences::default());
        assert!(stored.push && stored.email && stored.items_near_me);
        let update = PreferencesUpdate {
            items_near_me: Some(false),
            ..PreferencesUpdate::default()
        };
        let after = stored.with(&update);
        assert_eq!(
            after,
            Preferences {
                items_near_me: false,
                ..Preferences::default()
            }
        );
        assert_eq!(
            after.with(&PreferencesUpdate {
                push: Some(false),
                ..PreferencesUpdate::default()
            }),
            Preferences {
                push: false,
                email: true,
                items_near_me: false
            }
        );
    }

    #[test]
    fn a_public_profile_shows_the_average_to_one_decimal_the_deals_and_nothing_private() {
        let profile = UserProfile {
            id: "u".into(),
            display_name: Some("Ana".into()),
            home: Some(HomeLocation {
                lat: 48.0,
                lon: 2.0,
                geohash: "u09".into(),
            }),
            email: Some("ana@example.com".into()),
            rating_sum: 14,
            rating_count: 3,
            stats: Stats {
                items_given: 2,
                items_received: 1,
                auctions_won: 0,
                auctions_sold: 1,
            },
            ..UserProfile::default()
        };
        let public = PublicProfile::from(&profile);
        assert_eq!(public.rating_average, Some(4.7));
        assert_eq!((public.rating_count, public.deals_completed), (3, 4));
        let wire = serde_json::to_value(&public).unwrap();
        for private in ["email", "home", "notifications", "ratingSum", "stats"] {
            assert!(wire.get(private).is_none(), "{private} shown: {wire}");
        }
        let unrated = PublicProfile::from(&UserProfile::default());
        assert_eq!(unrated.rating_average, None);
    }
}
