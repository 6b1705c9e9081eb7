//! Records: an entity as stored (its serde form, keys, `entity`, `version`, index keys) and back.

use aws_sdk_dynamodb::types::AttributeValue;
use domain::geo;
use domain::item::Item;
use domain::profile::{HomeLocation, Preferences, Stats, UserProfile};
use domain::store::{Listed, StoreError, Versioned};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::keys::*;

pub(super) fn to_attrs<T: Serialize>(value: &T) -> Result<Attrs, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::permanent(format!("encoding: {e}")))
}

pub(super) fn from_attrs<T: DeserializeOwned>(attrs: Attrs) -> Result<T, StoreError> {
    serde_dynamo::from_item(attrs).map_err(|e| StoreError::permanent(format!("decoding: {e}")))
}

pub(super) fn versioned<T: DeserializeOwned>(attrs: Attrs) -> Result<Versioned<T>, StoreError> {
    let version = match attrs.get("version") {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
        _ => 0,
    };
    Ok(Versioned {
        value: from_attrs(attrs)?,
        version,
    })
}

/// The stored form of an item: its fields, keys, version and index keys (GSI1/GSI2 only while shown, so
/// browsing reads shown items only: [`Item::is_shown`]).
pub(super) fn item_record(item: &Item, version: u64) -> Result<Attrs, StoreError> {
    let mut attrs = to_attrs(item)?;
    attrs.extend(item_key(&item.id));
    attrs.insert("entity".into(), s("ITEM"));
    attrs.insert("version".into(), n(version));
    let at = time_key(item.created_at, &item.id);
    if item.is_shown() {
        let cell: String = item
            .location
            .geohash
            .chars()
            .take(geo::INDEX_PRECISION)
            .collect();
        attrs.insert("GSI1PK".into(), s(format!("GEO#{cell}")));
        attrs.insert("GSI1SK".into(), s(at.clone()));
        attrs.insert("GSI2PK".into(), s(format!("CAT#{}", item.category)));
        attrs.insert("GSI2SK".into(), s(at.clone()));
    }
    listed_in(
        &mut attrs,
        UserList::Items(&item.seller_id),
        Some(item.status.as_str()),
        item,
    );
    Ok(attrs)
}

/// Puts a record in one of its users' lists (the list's index keys).
pub(super) fn listed_in(
    attrs: &mut Attrs,
    list: UserList<'_>,
    status: Option<&str>,
    record: &impl Listed,
) {
    let position = record.position();
    let index = list.index();
    attrs.insert(format!("{index}PK"), s(list.partition()));
    attrs.insert(
        format!("{index}SK"),
        s(listed_key(status, position.at, &position.id)),
    );
}

pub(super) fn record<T: Serialize>(
    value: &T,
    keys: Attrs,
    entity: &str,
    version: u64,
) -> Result<Attrs, StoreError> {
    let mut attrs = to_attrs(value)?;
    attrs.extend(keys);
    attrs.insert("entity".into(), s(entity));
    attrs.insert("version".into(), n(version));
    Ok(attrs)
}

/// A user's profile as stored: counters are top-level attributes so `ADD` can move them.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct ProfileRecord {
    id: String,
    display_name: Option<String>,
    home: Option<HomeLocation>,
    email: Option<String>,
    #[serde(default)]
    notifications: Preferences,
    rating_sum: u32,
    rating_count: u32,
    items_given: u32,
    items_received: u32,
    auctions_won: u32,
    auctions_sold: u32,
    member_since: Option<chrono::DateTime<chrono::Utc>>,
    account: domain::profile::Account,
}

impl From<ProfileRecord> for UserProfile {
    fn from(r: ProfileRecord) -> Self {
        UserProfile {
            id: r.id,
            display_name: r.display_name,
            home: r.home,
            email: r.email,
            notifications: r.notifications,
            rating_sum: r.rating_sum,
            rating_count: r.rating_count,
            stats: Stats {
                items_given: r.items_given,
                items_received: r.items_received,
                auctions_won: r.auctions_won,
                auctions_sold: r.auctions_sold,
            },
            member_since: r.member_since,
            account: r.account,
        }
    }
}
