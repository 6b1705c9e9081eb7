//! The transactional outbox (DOMAIN.md): a state change and the event it causes are written to the table in
//! one request, the event as an `EVENT#<id>` item holding its envelope. The stream publisher relays those
//! items to the bus; nothing writes the table and the bus separately.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use domain::event::Envelope;
use tracing::instrument;

use crate::error::ProcessError;
use crate::runtime::EventSink;

/// Partition key prefix of outbox items.
pub const EVENT_PREFIX: &str = "EVENT#";
/// Sort key of outbox items.
pub const EVENT_SK: &str = "EVENT";
/// Attribute holding the envelope's JSON text.
pub const ENVELOPE_ATTRIBUTE: &str = "envelope";
/// How long an outbox item stays in the table after it was written (the stream keeps records 24 h).
pub const KEEP_FOR: Duration = Duration::from_secs(2 * 24 * 3600);

/// The outbox item of one event: `PK = EVENT#<id>`, `SK = EVENT`, the envelope, its type and a TTL.
pub fn item(envelope: &Envelope, now: DateTime<Utc>) -> HashMap<String, AttributeValue> {
    let ttl = now.timestamp() + KEEP_FOR.as_secs() as i64;
    HashMap::from([
        (
            "PK".to_owned(),
            AttributeValue::S(format!("{EVENT_PREFIX}{}", envelope.id)),
        ),
        ("SK".to_owned(), AttributeValue::S(EVENT_SK.to_owned())),
        (
            ENVELOPE_ATTRIBUTE.to_owned(),
            AttributeValue::S(envelope.to_json_string()),
        ),
        (
            "type".to_owned(),
            AttributeValue::S(envelope.event_type().as_str().to_owned()),
        ),
        ("ttl".to_owned(), AttributeValue::N(ttl.to_string())),
    ])
}

/// The outbox item as one write of a `TransactWriteItems` beside the state change it records. Conditional
/// on the event being new, so a retried transaction cannot emit the event twice.
pub fn transact_put(
    table: &str,
    envelope: &Envelope,
    now: DateTime<Utc>,
) -> Result<TransactWriteItem, ProcessError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item(envelope, now)))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .map_err(|e| ProcessError::Permanent(Box::new(e)))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The outbox of one table.
#[derive(Debug, Clone)]
pub struct Outbox {
    client: Client,
    table: String,
}

impl Outbox {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Writes one event on its own (for events that change no state). Writing it twice is harmless: the
    /// second write is refused by its condition and counts as done.
    #[instrument(skip_all, fields(event_id = %envelope.id, event_type = %envelope.event_type()), err)]
    pub async fn put(&self, envelope: &Envelope) -> Result<(), ProcessError> {
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(envelope, Utc::now())))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl EventSink for Outbox {
    async fn record(&self, envelope: &Envelope) -> Result<(), ProcessError> {
        self.put(envelope).await
    }
}

#[cfg(test)]
mod tests;
