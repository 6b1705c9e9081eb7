//! The transactional commit: a [`Change`] as one `TransactWriteItems`, every replacing write conditional on
//! the version it was decided from, new records on not existing, the events as outbox items beside them.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use chrono::Utc;
use domain::auction::Bidding;
use domain::profile::Account;
use domain::store::{Change, Expect, StoreError, Write};
use tracing::instrument;

use super::keys::*;
use super::records::*;
use super::DynamoStore;
use crate::aws_error::to_store_error;
use crate::outbox;

/// What every write of a profile sets: its id and entity, and when it was first written (the user's
/// "member since").
const PROFILE_SET: &str =
    "id = :id, entity = :entity, memberSince = if_not_exists(memberSince, :now)";

fn profile_values(user_id: &str) -> Attrs {
    HashMap::from([
        (":id".to_owned(), s(user_id)),
        (":entity".to_owned(), s("USER")),
        (
            ":now".to_owned(),
            s(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        ),
    ])
}

fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::permanent(format!("building a request: {e}")))
}

impl DynamoStore {
    fn put(&self, item: Attrs, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned));
        Ok(TransactWriteItem::builder()
            .put(build(put.build())?)
            .build())
    }

    fn versioned_put(&self, item: Attrs, expect: Expect) -> Result<TransactWriteItem, StoreError> {
        match expect {
            Expect::New => self.put(item, Some("attribute_not_exists(PK)")),
            Expect::Version(v) => {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("#v = :v")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":v", n(v));
                Ok(TransactWriteItem::builder()
                    .put(build(put.build())?)
                    .build())
            }
        }
    }

    fn update(
        &self,
        key: Attrs,
        expression: String,
        values: Attrs,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(expression)
            .set_expression_attribute_values(Some(values));
        Ok(TransactWriteItem::builder()
            .update(build(update.build())?)
            .build())
    }

    fn next(expect: Expect) -> u64 {
        match expect {
            Expect::New => 1,
            Expect::Version(v) => v + 1,
        }
    }

    fn write(&self, write: &Write) -> Result<TransactWriteItem, StoreError> {
        match write {
            Write::Item(item, expect) => {
                self.versioned_put(item_record(item, Self::next(*expect))?, *expect)
            }
            Write::DeleteItem { id, version } => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(item_key(id)))
                    .condition_expression("#v = :v")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":v", n(version));
                Ok(TransactWriteItem::builder()
                    .delete(build(delete.build())?)
                    .build())
            }
            Write::Reservation(r, expect) => {
                let mut attrs = record(
                    r,
                    reservation_key(&r.item_id, &r.id),
                    "RESERVATION",
                    Self::next(*expect),
                )?;
                let status = Some(r.status.as_str());
                listed_in(&mut attrs, UserList::Reserved(&r.buyer_id), status, r);
                listed_in(&mut attrs, UserList::ReservedFrom(&r.seller_id), status, r);
                self.versioned_put(attrs, *expect)
            }
            Write::Auction(a, expect) => {
                let mut attrs = record(a, auction_key(&a.id), "AUCTION", Self::next(*expect))?;
                let status = Some(a.status.as_str());
                listed_in(&mut attrs, UserList::Auctions(&a.seller_id), status, a);
                self.versioned_put(attrs, *expect)
            }
            Write::Bid(b) => self.put(
                record(b, bid_key(&b.auction_id, b.amount, &b.bid_id), "BID", 1)?,
                Some("attribute_not_exists(PK)"),
            ),
            Write::Rating(r) => {
                let mut attrs = record(
                    r,
                    rating_key(&r.ratee_id, &r.rater_id, &r.about),
                    "RATING",
                    1,
                )?;
                listed_in(&mut attrs, UserList::Ratings(&r.ratee_id), None, r);
                self.put(attrs, Some("attribute_not_exists(PK)"))
            }
            Write::Device { user_id, device } => {
                let keys = device_key(user_id, &device.token_hash);
                // A device registered again replaces its record (a refreshed endpoint).
                self.put(record(device, keys, "DEVICE", 1)?, None)
            }
            Write::RemoveDevice {
                user_id,
                token_hash,
            } => {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(device_key(user_id, token_hash)));
                Ok(TransactWriteItem::builder()
                    .delete(build(delete.build())?)
                    .build())
            }
            Write::Profile {
                user_id,
                display_name,
                home,
                email,
                notifications,
            } => {
                let mut sets = vec![PROFILE_SET.to_owned()];
                let mut values = profile_values(user_id);
                if let Some(name) = display_name {
                    sets.push("displayName = :name".into());
                    values.insert(":name".into(), s(name.clone()));
                }
                if let Some(home) = home {
                    // GSI1 finds the users living around a new item (notify::Audience::Near).
                    sets.push("home = :home, GSI1PK = :home_pk, GSI1SK = :home_sk".into());
                    values.insert(":home".into(), AttributeValue::M(to_attrs(home)?));
                    values.insert(":home_pk".into(), s(format!("HOME#{}", home.geohash)));
                    values.insert(":home_sk".into(), s(format!("USER#{user_id}")));
                }
                if let Some(email) = email {
                    sets.push("email = :email".into());
                    values.insert(":email".into(), s(email.clone()));
                }
                if let Some(preferences) = notifications {
                    sets.push("notifications = :notifications".into());
                    values.insert(
                        ":notifications".into(),
                        AttributeValue::M(to_attrs(preferences)?),
                    );
                }
                self.update(
                    profile_key(user_id),
                    format!("SET {}", sets.join(", ")),
                    values,
                )
            }
            Write::CloseAccount { user_id } => {
                let mut values = profile_values(user_id);
                values.insert(":deleted".into(), s(Account::Deleted.as_str()));
                // The personal data goes, the home index entry with it; figures and counters stay.
                self.update(
                    profile_key(user_id),
                    format!(
                        "SET {PROFILE_SET}, account = :deleted \
                         REMOVE displayName, home, email, notifications, GSI1PK, GSI1SK"
                    ),
                    values,
                )
            }
            Write::AccountStanding { user_id, from, to } => {
                // A profile without `account` is active (accounts older than the attribute).
                let condition = if *from == Account::Active {
                    "attribute_exists(PK) AND (attribute_not_exists(account) OR account = :from)"
                } else {
                    "attribute_exists(PK) AND account = :from"
                };
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(profile_key(user_id)))
                    .update_expression("SET account = :to")
                    .condition_expression(condition)
                    .expression_attribute_values(":from", s(from.as_str()))
                    .expression_attribute_values(":to", s(to.as_str()));
                Ok(TransactWriteItem::builder()
                    .update(build(update.build())?)
                    .build())
            }
            Write::AddStats { user_id, stats } => {
                let mut values = profile_values(user_id);
                let mut adds = vec![];
                for (name, delta) in [
                    ("itemsGiven", stats.items_given),
                    ("itemsReceived", stats.items_received),
                    ("auctionsWon", stats.auctions_won),
                    ("auctionsSold", stats.auctions_sold),
                ] {
                    if delta > 0 {
                        adds.push(format!("{name} :{name}"));
                        values.insert(format!(":{name}"), n(delta));
                    }
                }
                self.update(
                    profile_key(user_id),
                    format!("SET {PROFILE_SET} ADD {}", adds.join(", ")),
                    values,
                )
            }
            Write::AddRating { user_id, stars } => {
                let mut values = profile_values(user_id);
                values.insert(":stars".to_owned(), n(stars));
                values.insert(":one".to_owned(), n(1));
                self.update(
                    profile_key(user_id),
                    format!("SET {PROFILE_SET} ADD ratingSum :stars, ratingCount :one"),
                    values,
                )
            }
        }
    }

    /// The record a write brings along: a bid moves its bidder's part in the auction (their list of bids).
    fn companion(&self, write: &Write) -> Result<Option<TransactWriteItem>, StoreError> {
        let Write::Bid(bid) = write else {
            return Ok(None);
        };
        let bidding = Bidding::from(bid);
        let mut attrs = record(
            &bidding,
            bidding_key(&bid.bidder_id, &bid.auction_id),
            "BIDDING",
            1,
        )?;
        listed_in(
            &mut attrs,
            UserList::Bidding(&bid.bidder_id),
            None,
            &bidding,
        );
        // Each accepted bid tops the last, so the latest write is the bidder's highest: no condition.
        self.put(attrs, None).map(Some)
    }

    #[instrument(skip_all, fields(writes = change.writes.len(), events = change.events.len()), err)]
    pub(super) async fn commit_change(&self, change: Change) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut items = vec![];
        for write in &change.writes {
            items.push(self.write(write)?);
            items.extend(self.companion(write)?);
        }
        for envelope in &change.events {
            items.push(
                outbox::transact_put(&self.table, envelope, now)
                    .map_err(|e| StoreError::permanent(e.to_string()))?,
            );
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::ConditionFailed),
            Err(e) => Err(to_store_error(e)),
        }
    }
}

pub(super) fn condition_failed(e: &SdkError<TransactWriteItemsError, HttpResponse>) -> bool {
    match e.as_service_error() {
        // A condition failed, or another transaction was writing the same record: either way the state may
        // have moved, so the caller reads it again and decides again.
        Some(TransactWriteItemsError::TransactionCanceledException(t)) => {
            let reasons = t.cancellation_reasons();
            reasons.is_empty()
                || reasons.iter().any(|r| {
                    matches!(
                        r.code(),
                        Some("ConditionalCheckFailed") | Some("TransactionConflict")
                    )
                })
        }
        Some(TransactWriteItemsError::TransactionInProgressException(_)) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests;
