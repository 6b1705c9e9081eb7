//! The transactional commit: a [`Change`] as one `TransactWriteItems`, every replacing write conditional on
//! the version it was decided from, new records on not existing, the events as outbox items beside them.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use chrono::Utc;
use domain::store::{Change, Expect, StoreError, Write};
use tracing::instrument;

use super::keys::*;
use super::records::*;
use super::DynamoStore;
use crate::aws_error::to_store_error;
use crate::outbox;

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
            Write::Reservation(r, expect) => self.versioned_put(
                record(
                    r,
                    reservation_key(&r.item_id, &r.id),
                    "RESERVATION",
                    Self::next(*expect),
                )?,
                *expect,
            ),
            Write::Auction(a, expect) => self.versioned_put(
                record(a, auction_key(&a.id), "AUCTION", Self::next(*expect))?,
                *expect,
            ),
            Write::Bid(b) => self.put(
                record(b, bid_key(&b.auction_id, b.amount, &b.bid_id), "BID", 1)?,
                Some("attribute_not_exists(PK)"),
            ),
            Write::Rating(r) => self.put(
                record(
                    r,
                    rating_key(&r.ratee_id, &r.rater_id, &r.about),
                    "RATING",
                    1,
                )?,
                Some("attribute_not_exists(PK)"),
            ),
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
                let mut sets = vec!["id = :id".to_owned(), "entity = :entity".to_owned()];
                let mut values = HashMap::from([
                    (":id".to_owned(), s(user_id.clone())),
                    (":entity".to_owned(), s("USER")),
                ]);
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
            Write::AddStats { user_id, stats } => {
                let mut values = HashMap::from([
                    (":id".to_owned(), s(user_id.clone())),
                    (":entity".to_owned(), s("USER")),
                ]);
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
                    format!("SET id = :id, entity = :entity ADD {}", adds.join(", ")),
                    values,
                )
            }
            Write::AddRating { user_id, stars } => self.update(
                profile_key(user_id),
                "SET id = :id, entity = :entity ADD ratingSum :stars, ratingCount :one".into(),
                HashMap::from([
                    (":id".to_owned(), s(user_id.clone())),
                    (":entity".to_owned(), s("USER")),
                    (":stars".to_owned(), n(stars)),
                    (":one".to_owned(), n(1)),
                ]),
            ),
        }
    }

    #[instrument(skip_all, fields(writes = change.writes.len(), events = change.events.len()), err)]
    pub(super) async fn commit_change(&self, change: Change) -> Result<(), StoreError> {
        let now = Utc::now();
        let mut items = change
            .writes
            .iter()
            .map(|w| self.write(w))
            .collect::<Result<Vec<_>, _>>()?;
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

fn condition_failed(e: &SdkError<TransactWriteItemsError, HttpResponse>) -> bool {
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
