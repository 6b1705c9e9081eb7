//! The one claim primitive: a lease on a key of the table. Taking it is a conditional put that succeeds when
//! no record holds the key, or when the record is a lease whose time ran out (its holder died or gave up: an
//! abandoned claim is taken again, never left "in progress" for good). Completing it marks the record done
//! (with whatever the holder keeps there); releasing it deletes the record so the next taker starts afresh.
//! Every record carries a TTL, so the table forgets them.
//!
//! Serves `infra::idempotency` (a handler's effect once per event) and the API's `Idempotency-Key` records.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use domain::store::StoreError;

use crate::aws_error::to_store_error;

pub type Attrs = HashMap<String, AttributeValue>;

/// The status of a lease being held.
pub const IN_PROGRESS: &str = "IN_PROGRESS";
/// The status of a lease whose holder finished.
pub const COMPLETED: &str = "COMPLETED";
const STATUS: &str = "status";
const UNTIL: &str = "inProgressUntil";
const TTL: &str = "ttl";

/// What taking a lease found.
#[derive(Debug, Clone, PartialEq)]
pub enum Taken {
    /// Ours until the lease ends.
    Granted,
    /// Another holds it, or finished: its record (empty when it vanished in between).
    Refused(Attrs),
}

/// What a refused lease's record says, at `now` (epoch seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// Its holder finished.
    Completed,
    /// Held until then (epoch seconds).
    Held { until: i64 },
    /// Nobody holds it now (its lease ran out, or the record is gone): taking it again may succeed.
    Free,
}

/// Reads a refused lease's record. Pure: the callers decide from it.
pub fn holder(record: &Attrs, now: i64) -> Holder {
    let status = record.get(STATUS).and_then(|v| v.as_s().ok());
    let until = record
        .get(UNTIL)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or(0);
    match status.map(String::as_str) {
        Some(COMPLETED) => Holder::Completed,
        Some(_) if until > now => Holder::Held { until },
        _ => Holder::Free,
    }
}

/// The leases of one table.
#[derive(Debug, Clone)]
pub struct Leases {
    client: Client,
    table: String,
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn key(pk: &str, sk: &str) -> Attrs {
    HashMap::from([
        ("PK".to_owned(), AttributeValue::S(pk.to_owned())),
        ("SK".to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

impl Leases {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Takes the lease of (`pk`, `sk`) for `lease_for` from `now`, storing `fields` with it; the record is
    /// kept `keep_for` (TTL).
    pub async fn take(
        &self,
        pk: &str,
        sk: &str,
        fields: Attrs,
        lease_for: Duration,
        keep_for: Duration,
        now: DateTime<Utc>,
    ) -> Result<Taken, StoreError> {
        let epoch = now.timestamp();
        let mut item = fields;
        item.extend(key(pk, sk));
        item.insert(STATUS.into(), AttributeValue::S(IN_PROGRESS.into()));
        item.insert(
            UNTIL.into(),
            AttributeValue::N((epoch + seconds(lease_for)).to_string()),
        );
        item.insert(
            TTL.into(),
            AttributeValue::N((epoch + seconds(keep_for)).to_string()),
        );
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(
                "attribute_not_exists(PK) OR (#status = :in_progress AND #until < :now)",
            )
            .expression_attribute_names("#status", STATUS)
            .expression_attribute_names("#until", UNTIL)
            .expression_attribute_values(":in_progress", AttributeValue::S(IN_PROGRESS.into()))
            .expression_attribute_values(":now", AttributeValue::N(epoch.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match put {
            Ok(_) => return Ok(Taken::Granted),
            Err(err) => err,
        };
        let refused = match err.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(e)) => e.item().cloned(),
            _ => return Err(to_store_error(err)),
        };
        // An answer without the old record (older DynamoDB answers, the emulator): read it.
        let record = match refused {
            Some(record) => record,
            None => self.read(pk, sk).await?.unwrap_or_default(),
        };
        Ok(Taken::Refused(record))
    }

    /// Marks the lease of (`pk`, `sk`) completed, setting `fields` on its record, kept `keep_for` from `now`.
    pub async fn complete(
        &self,
        pk: &str,
        sk: &str,
        fields: Attrs,
        keep_for: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut sets = vec!["#status = :completed".to_owned(), "#ttl = :ttl".to_owned()];
        let mut names = HashMap::from([
            ("#status".to_owned(), STATUS.to_owned()),
            ("#ttl".to_owned(), TTL.to_owned()),
        ]);
        let mut values = HashMap::from([
            (":completed".to_owned(), AttributeValue::S(COMPLETED.into())),
            (
                ":ttl".to_owned(),
                AttributeValue::N((now.timestamp() + seconds(keep_for)).to_string()),
            ),
        ]);
        for (i, (name, value)) in fields.into_iter().enumerate() {
            sets.push(format!("#f{i} = :f{i}"));
            names.insert(format!("#f{i}"), name);
            values.insert(format!(":f{i}"), value);
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(format!("SET {}", sets.join(", ")))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(to_store_error)?;
        Ok(())
    }

    /// Gives the lease of (`pk`, `sk`) up: the next taker starts afresh.
    pub async fn release(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .send()
            .await
            .map_err(to_store_error)?;
        Ok(())
    }

    async fn read(&self, pk: &str, sk: &str) -> Result<Option<Attrs>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(to_store_error)?;
        Ok(out.item)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{mock, mock_client};
    use chrono::TimeZone;

    use super::*;

    const NOW: i64 = 1_795_000_000;

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(NOW, 0).single().expect("time")
    }

    fn record(status: &str, until: i64) -> Attrs {
        HashMap::from([
            (STATUS.to_owned(), AttributeValue::S(status.into())),
            (UNTIL.to_owned(), AttributeValue::N(until.to_string())),
        ])
    }

    #[test]
    fn a_refused_lease_names_its_holder() {
        assert_eq!(holder(&record(COMPLETED, 0), NOW), Holder::Completed);
        assert_eq!(
            holder(&record(IN_PROGRESS, NOW + 60), NOW),
            Holder::Held { until: NOW + 60 }
        );
        // A lease whose holder died (run out) can be taken again.
        assert_eq!(holder(&record(IN_PROGRESS, NOW - 1), NOW), Holder::Free);
        assert_eq!(holder(&Attrs::new(), NOW), Holder::Free);
    }

    #[tokio::test]
    async fn taking_puts_the_lease_with_its_expiry_and_ttl_conditionally() {
        let put = mock!(Client::put_item)
            .match_requests(|req| {
                let item = req.item().cloned().unwrap_or_default();
                let n = |k: &str| item.get(k).and_then(|v| v.as_n().ok()).cloned();
                item.get("PK")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some("K")
                    && item.contains_key("mine")
                    && n(UNTIL) == Some((NOW + 30).to_string())
                    && n(TTL) == Some((NOW + 600).to_string())
                    && req.condition_expression().is_some_and(|c| {
                        c.contains("attribute_not_exists(PK)") && c.contains("#until < :now")
                    })
            })
            .then_output(|| PutItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, [&put]);
        let fields = HashMap::from([("mine".to_owned(), AttributeValue::Bool(true))]);
        let taken = Leases::new(client, "t")
            .take(
                "K",
                "S",
                fields,
                Duration::from_secs(30),
                Duration::from_secs(600),
                now(),
            )
            .await
            .expect("taken");
        assert_eq!((taken, put.num_calls()), (Taken::Granted, 1));
    }

    #[tokio::test]
    async fn a_refusal_without_the_old_record_reads_it() {
        let put = mock!(Client::put_item).then_error(|| {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        });
        let get = mock!(Client::get_item)
            .match_requests(|req| req.consistent_read() == Some(true))
            .then_output(|| {
                GetItemOutput::builder()
                    .set_item(Some(record(COMPLETED, 0)))
                    .build()
            });
        let client = mock_client!(aws_sdk_dynamodb, [&put, &get]);
        let taken = Leases::new(client, "t")
            .take(
                "K",
                "S",
                Attrs::new(),
                Duration::from_secs(30),
                Duration::from_secs(600),
                now(),
            )
            .await
            .expect("answered");
        let Taken::Refused(old) = taken else {
            panic!("refused")
        };
        assert_eq!(holder(&old, NOW), Holder::Completed);
    }

    #[tokio::test]
    async fn completing_sets_the_status_the_fields_and_a_new_ttl() {
        let update = mock!(Client::update_item)
            .match_requests(|req| {
                let values = req
                    .expression_attribute_values()
                    .cloned()
                    .unwrap_or_default();
                values
                    .get(":completed")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some(COMPLETED)
                    && values.get(":ttl").and_then(|v| v.as_n().ok())
                        == Some(&(NOW + 60).to_string())
                    && values.get(":f0").and_then(|v| v.as_n().ok()) == Some(&"201".to_owned())
                    && req
                        .update_expression()
                        .is_some_and(|e| e.contains("#f0 = :f0"))
            })
            .then_output(|| UpdateItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, [&update]);
        let fields =
            HashMap::from([("responseStatus".to_owned(), AttributeValue::N("201".into()))]);
        Leases::new(client, "t")
            .complete("K", "S", fields, Duration::from_secs(60), now())
            .await
            .expect("completed");
        assert_eq!(update.num_calls(), 1);
    }
}
