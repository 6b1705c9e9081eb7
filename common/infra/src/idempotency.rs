//! Idempotency of handlers (SQS delivers at least once): a handler's effect for one event happens once.
//!
//! [`Idempotency::once`] records (handler, event id) in the table with a conditional put before running the
//! work: `IN_PROGRESS` with an expiry, then `COMPLETED` once the work is done, both with a TTL so records
//! disappear after `keep_for`. A redelivery of a completed event is skipped; one that arrives while another
//! delivery is still working is retried later (transient); a claim whose worker died expires and can be taken
//! again. If the work fails, the claim is released so a retry can run it.
//!
//! This is the first line; handlers also rely on conditional state transitions, which cover the one gap left:
//! work done but the `COMPLETED` mark not stored (the event then runs again once the claim expires).

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use domain::store::StoreError;
use tracing::{info, warn};

use crate::error::ProcessError;
use crate::lease::{self, Holder, Leases, Taken};

pub use crate::lease::{COMPLETED, IN_PROGRESS};

/// Whether the work ran now or had already run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Skipped,
}

/// The idempotency records of one table.
#[derive(Debug, Clone)]
pub struct Idempotency {
    leases: Leases,
    in_progress_for: Duration,
    keep_for: Duration,
}

/// A store failure as a worker outcome: retried when it may pass, dead-lettered when it will not.
fn outcome_of(e: StoreError) -> ProcessError {
    if e.is_transient() {
        ProcessError::Transient(Box::new(e))
    } else {
        ProcessError::Permanent(Box::new(e))
    }
}

impl Idempotency {
    /// Claims last 15 minutes (longer than any worker's timeout), records 7 days.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            leases: Leases::new(client, table),
            in_progress_for: Duration::from_secs(15 * 60),
            keep_for: Duration::from_secs(7 * 24 * 3600),
        }
    }

    pub fn with_windows(mut self, in_progress_for: Duration, keep_for: Duration) -> Self {
        self.in_progress_for = in_progress_for;
        self.keep_for = keep_for;
        self
    }

    fn pk(handler: &str, event_id: &str) -> String {
        format!("IDEMPOTENCY#{handler}#{event_id}")
    }

    /// Runs `work` unless `handler` already did for `event_id`.
    pub async fn once<F, Fut>(
        &self,
        handler: &str,
        event_id: &str,
        now: DateTime<Utc>,
        work: F,
    ) -> Result<Outcome, ProcessError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), ProcessError>>,
    {
        let pk = Self::pk(handler, event_id);
        let fields = [
            ("handler", AttributeValue::S(handler.into())),
            ("eventId", AttributeValue::S(event_id.into())),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let taken = self
            .leases
            .take(
                &pk,
                "IDEMPOTENCY",
                fields,
                self.in_progress_for,
                self.keep_for,
                now,
            )
            .await
            .map_err(outcome_of)?;
        if let Taken::Refused(record) = taken {
            return match lease::holder(&record, now.timestamp()) {
                Holder::Completed => {
                    info!(handler, event_id, "event already handled; skipped");
                    Ok(Outcome::Skipped)
                }
                Holder::Held { until } => {
                    let reason = format!(
                        "event {event_id} is being handled by another delivery until {until}"
                    );
                    Err(ProcessError::Transient(reason.into()))
                }
                // The condition failed on a record that has since gone: try again later.
                Holder::Free => {
                    let reason = format!("claim on event {event_id} lost a race");
                    Err(ProcessError::Transient(reason.into()))
                }
            };
        }

        match work().await {
            Ok(()) => {
                self.leases
                    .complete(&pk, "IDEMPOTENCY", Default::default(), self.keep_for, now)
                    .await
                    .map_err(outcome_of)?;
                Ok(Outcome::Done)
            }
            Err(e) => {
                // Release the claim so the retry can run the work.
                if let Err(release) = self.leases.release(&pk, "IDEMPOTENCY").await {
                    warn!(error.message = %release, "could not release the idempotency claim; it expires by itself");
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_smithy_mocks::{mock, mock_client, Rule};
    use chrono::TimeZone;

    use super::*;

    const NOW: i64 = 1_795_000_000;

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(NOW, 0).single().expect("time")
    }

    fn refused(status: &str, until: i64) -> Rule {
        let (status, until) = (status.to_owned(), until);
        mock!(Client::put_item).then_error(move || {
            PutItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder()
                    .item("status", AttributeValue::S(status.clone()))
                    .item("inProgressUntil", AttributeValue::N(until.to_string()))
                    .build(),
            )
        })
    }

    #[test]
    fn decisions() {
        let record = |status: &str, until: i64| {
            std::collections::HashMap::from([
                ("status".to_owned(), AttributeValue::S(status.into())),
                (
                    "inProgressUntil".to_owned(),
                    AttributeValue::N(until.to_string()),
                ),
            ])
        };
        assert_eq!(lease::holder(&Default::default(), NOW), Holder::Free);
        assert_eq!(lease::holder(&record(COMPLETED, 0), NOW), Holder::Completed);
        assert_eq!(
            lease::holder(&record(IN_PROGRESS, NOW + 60), NOW),
            Holder::Held { until: NOW + 60 }
        );
        // A claim whose worker died (expired) can be taken again.
        assert_eq!(
            lease::holder(&record(IN_PROGRESS, NOW - 1), NOW),
            Holder::Free
        );
    }

    #[tokio::test]
    async fn the_first_delivery_claims_runs_and_completes() {
        let claim = mock!(Client::put_item)
            .match_requests(|req| {
                let item = req.item().cloned().unwrap_or_default();
                let n = |k: &str| item.get(k).and_then(|v| v.as_n().ok()).cloned();
                item.get("PK")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some("IDEMPOTENCY#notify#e1")
                    && item
                        .get("status")
                        .and_then(|v| v.as_s().ok())
                        .map(String::as_str)
                        == Some(IN_PROGRESS)
                    && n("inProgressUntil") == Some((NOW + 900).to_string())
                    && n("ttl") == Some((NOW + 7 * 24 * 3600).to_string())
                    && req
                        .condition_expression()
                        .is_some_and(|c| c.contains("attribute_not_exists(PK)"))
            })
            .then_output(|| PutItemOutput::builder().build());
        let complete = mock!(Client::update_item)
            .match_requests(|req| {
                req.expression_attribute_values()
                    .and_then(|v| v.get(":completed"))
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some(COMPLETED)
            })
            .then_output(|| UpdateItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, [&claim, &complete]);
        let runs = AtomicUsize::new(0);
        let outcome = Idempotency::new(client, "t")
            .once("notify", "e1", now(), || async {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .await
            .expect("ok");
        assert_eq!(
            (
                outcome,
                runs.load(Ordering::SeqCst),
                claim.num_calls(),
                complete.num_calls()
            ),
            (Outcome::Done, 1, 1, 1)
        );
    }

    #[tokio::test]
    async fn a_redelivery_of_a_completed_event_is_skipped() {
        let claim = refused(COMPLETED, NOW - 10);
        let client = mock_client!(aws_sdk_dynamodb, [&claim]);
        let outcome = Idempotency::new(client, "t")
            .once("notify", "e1", now(), || async {
                panic!("must not run twice")
            })
            .await
            .expect("ok");
        assert_eq!(outcome, Outcome::Skipped);
    }

    #[tokio::test]
    async fn a_delivery_while_another_works_comes_back_later() {
        let claim = refused(IN_PROGRESS, NOW + 300);
        let client = mock_client!(aws_sdk_dynamodb, [&claim]);
        let err = Idempotency::new(client, "t")
            .once("notify", "e1", now(), || async {
                panic!("must not run concurrently")
            })
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(
            err.to_string()
                .contains("being handled by another delivery"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn failed_work_releases_the_claim_and_keeps_its_error() {
        let claim = mock!(Client::put_item).then_output(|| PutItemOutput::builder().build());
        let release = mock!(Client::delete_item)
            .match_requests(|req| {
                req.key()
                    .and_then(|k| k.get("PK"))
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some("IDEMPOTENCY#notify#e1")
            })
            .then_output(|| DeleteItemOutput::builder().build());
        let client = mock_client!(aws_sdk_dynamodb, [&claim, &release]);
        let err = Idempotency::new(client, "t")
            .once("notify", "e1", now(), || async {
                Err(ProcessError::Transient("SNS throttled".into()))
            })
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "transient: SNS throttled");
        assert_eq!(release.num_calls(), 1);
    }
}
