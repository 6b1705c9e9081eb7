//! Where `Idempotency-Key` requests and their answers are kept: the API's own port ([`Requests`]), on the
//! table through the one lease primitive ([`infra::lease`]) in AWS, in memory in tests.
//!
//! | record | PK | SK | TTL |
//! |---|---|---|---|
//! | request | `REQUEST#<caller>#<key>` | `REQUEST` | 24 h |

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use domain::store::StoreError;
use infra::lease::{Leases, Taken, COMPLETED};

/// How long an `Idempotency-Key` is remembered, and how long a request may hold it while running.
const KEEP_REQUESTS: Duration = Duration::from_secs(24 * 3600);
const REQUEST_IN_PROGRESS: Duration = Duration::from_secs(60);

/// A response kept for an `Idempotency-Key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// What an `Idempotency-Key` claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new (or its earlier request failed): run the request.
    Fresh,
    /// The same request ran before: answer as it did.
    Replay(StoredResponse),
    /// The key was used with another request.
    Mismatch,
    /// The same request is running now.
    InProgress,
}

/// The API's port for `Idempotency-Key` records.
#[async_trait]
pub trait Requests: Send + Sync {
    /// Claims `key` for a request with this `fingerprint`.
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError>;
    /// Keeps the response of the request that claimed `key`.
    async fn finish(
        &self,
        key: &str,
        fingerprint: &str,
        response: StoredResponse,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Lets `key` be used again (its request failed without effect).
    async fn release(&self, key: &str) -> Result<(), StoreError>;
}

/// The requests on the table.
#[derive(Debug, Clone)]
pub struct DynamoRequests {
    leases: Leases,
}

impl DynamoRequests {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            leases: Leases::new(client, table),
        }
    }
}

fn pk(key: &str) -> String {
    format!("REQUEST#{key}")
}

const SK: &str = "REQUEST";

fn text(record: &HashMap<String, AttributeValue>, name: &str) -> String {
    match record.get(name) {
        Some(AttributeValue::S(v)) => v.clone(),
        _ => String::new(),
    }
}

/// What a refused claim's record says about this request.
fn refused(record: &HashMap<String, AttributeValue>, fingerprint: &str) -> Claim {
    if record.is_empty() {
        return Claim::InProgress;
    }
    if text(record, "fingerprint") != fingerprint {
        return Claim::Mismatch;
    }
    if text(record, "status") != COMPLETED {
        return Claim::InProgress;
    }
    let status = match record.get("responseStatus") {
        Some(AttributeValue::N(v)) => v.parse().unwrap_or(200),
        _ => 200,
    };
    let body = match record.get("body") {
        Some(AttributeValue::B(b)) => b.clone().into_inner(),
        _ => vec![],
    };
    Claim::Replay(StoredResponse {
        status,
        content_type: text(record, "contentType"),
        body,
    })
}

#[async_trait]
impl Requests for DynamoRequests {
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let fields = HashMap::from([(
            "fingerprint".to_owned(),
            AttributeValue::S(fingerprint.into()),
        )]);
        let taken = self
            .leases
            .take(
                &pk(key),
                SK,
                fields,
                REQUEST_IN_PROGRESS,
                KEEP_REQUESTS,
                now,
            )
            .await?;
        Ok(match taken {
            Taken::Granted => Claim::Fresh,
            Taken::Refused(record) => refused(&record, fingerprint),
        })
    }

    async fn finish(
        &self,
        key: &str,
        fingerprint: &str,
        response: StoredResponse,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let fields = HashMap::from([
            (
                "fingerprint".to_owned(),
                AttributeValue::S(fingerprint.into()),
            ),
            (
                "responseStatus".to_owned(),
                AttributeValue::N(response.status.to_string()),
            ),
            (
                "contentType".to_owned(),
                AttributeValue::S(response.content_type),
            ),
            (
                "body".to_owned(),
                AttributeValue::B(Blob::new(response.body)),
            ),
        ]);
        self.leases
            .complete(&pk(key), SK, fields, KEEP_REQUESTS, now)
            .await
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.leases.release(&pk(key), SK).await
    }
}

/// The requests in memory (tests, benchmarks): the port's reference semantics.
#[derive(Debug, Default)]
pub struct MemoryRequests {
    requests: Mutex<HashMap<String, (String, Option<StoredResponse>)>>,
}

#[async_trait]
impl Requests for MemoryRequests {
    async fn claim(
        &self,
        key: &str,
        fingerprint: &str,
        _: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        Ok(match requests.get(key) {
            None => {
                requests.insert(key.to_owned(), (fingerprint.to_owned(), None));
                Claim::Fresh
            }
            Some((f, _)) if f != fingerprint => Claim::Mismatch,
            Some((_, Some(response))) => Claim::Replay(response.clone()),
            Some((_, None)) => Claim::InProgress,
        })
    }

    async fn finish(
        &self,
        key: &str,
        fingerprint: &str,
        response: StoredResponse,
        _: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), (fingerprint.to_owned(), Some(response)));
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn a_refused_claim_replays_refuses_or_waits() {
        let s = |v: &str| AttributeValue::S(v.into());
        let done = record(&[
            ("fingerprint", s("f")),
            ("status", s(COMPLETED)),
            ("responseStatus", AttributeValue::N("201".into())),
            ("contentType", s("application/json")),
            ("body", AttributeValue::B(Blob::new(b"{}".to_vec()))),
        ]);
        assert_eq!(
            refused(&done, "f"),
            Claim::Replay(StoredResponse {
                status: 201,
                content_type: "application/json".into(),
                body: b"{}".to_vec()
            })
        );
        assert_eq!(refused(&done, "other"), Claim::Mismatch);
        let running = record(&[("fingerprint", s("f")), ("status", s("IN_PROGRESS"))]);
        assert_eq!(refused(&running, "f"), Claim::InProgress);
        assert_eq!(refused(&HashMap::new(), "f"), Claim::InProgress);
    }
}
