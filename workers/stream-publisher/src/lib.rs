//! The stream publisher: the relay of the transactional outbox (DOMAIN.md). Every state change writes its
//! events into the table as `EVENT#<id>` items ([`infra::outbox`]); this worker reads the table's stream and
//! puts each new outbox item's envelope on the bus, in stream order, in `PutEvents` calls of up to 10 entries.
//!
//! Entries EventBridge refuses (`FailedEntryCount`) are retried with backoff; if they keep failing, the batch
//! answer names the first record not published, so Lambda retries the stream from there: nothing is skipped.
//! Records after it may be published again on that retry; consumers de-duplicate on the event id.

use std::future::Future;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use backon::{BackoffBuilder, ExponentialBuilder};
use domain::event::Envelope;
use infra::error::ProcessError;
use infra::metrics::worker;
use infra::outbox::{ENVELOPE_ATTRIBUTE, EVENT_PREFIX};
use tracing::{error, info, warn};

mod bus;
pub use bus::EventBridgeBus;

pub type StreamEvent = Event;

/// Entries per `PutEvents` call (EventBridge's limit).
pub const MAX_ENTRIES: usize = 10;
/// Bytes per `PutEvents` call (EventBridge's limit is 256 KiB, counted over source, detail-type and detail).
pub const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Tries of one batch's failed entries before the stream batch is reported failed.
pub const MAX_TRIES: usize = 4;

/// One outbox event of the stream, ready for the bus.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The stream record's sequence number: what Lambda resumes from.
    pub sequence: String,
    pub envelope: Envelope,
    /// The envelope as the outbox item holds it: the entry's `detail`.
    pub detail: String,
}

impl Pending {
    /// The size EventBridge counts for the entry.
    pub fn size(&self) -> usize {
        self.envelope.source().as_str().len()
            + self.envelope.event_type().as_str().len()
            + self.detail.len()
    }
}

/// The bus, as the relay sees it.
pub trait Bus: Sync {
    /// Puts the entries; per entry, `None` when it was accepted or the error EventBridge gave.
    fn put(
        &self,
        entries: &[Pending],
    ) -> impl Future<Output = Result<Vec<Option<String>>, ProcessError>> + Send;
}

/// The outbox events of a stream batch, in stream order. Records that are not new outbox items (state
/// changes, TTL deletions) are not events. An outbox item whose envelope does not parse was not written by
/// this code's outbox and is logged, not published.
pub fn pending(event: &Event) -> Vec<Pending> {
    event.records.iter().filter_map(outbox_event).collect()
}

fn outbox_event(record: &EventRecord) -> Option<Pending> {
    if record.event_name != "INSERT" {
        return None;
    }
    let keys = serde_json::to_value(&record.change.keys).ok()?;
    if !keys["PK"]["S"].as_str()?.starts_with(EVENT_PREFIX) {
        return None;
    }
    let sequence = record.change.sequence_number.clone().unwrap_or_default();
    let image = serde_json::to_value(&record.change.new_image).ok()?;
    let Some(detail) = image[ENVELOPE_ATTRIBUTE]["S"].as_str() else {
        error!(sequence, pk = %keys["PK"]["S"], "outbox item without an envelope; not published");
        return None;
    };
    match Envelope::parse(detail) {
        Ok(envelope) => Some(Pending {
            sequence,
            envelope,
            detail: detail.to_owned(),
        }),
        Err(e) => {
            error!(sequence, error.message = %e, "outbox item's envelope does not parse; not published");
            None
        }
    }
}

/// Splits the events into `PutEvents` calls: at most [`MAX_ENTRIES`] and [`MAX_BATCH_BYTES`] each.
pub fn batches(events: &[Pending]) -> Vec<&[Pending]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, e) in events.iter().enumerate() {
        let full = i - start == MAX_ENTRIES || (i > start && bytes + e.size() > MAX_BATCH_BYTES);
        if full {
            out.push(&events[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += e.size();
    }
    if start < events.len() {
        out.push(&events[start..]);
    }
    out
}

/// Publishes the batch's outbox events and answers which record the stream must resume from, if any.
pub async fn relay<B: Bus>(bus: &B, event: &Event) -> DynamoDbEventResponse {
    relay_with(bus, event, retry_delays()).await
}

fn retry_delays() -> impl Iterator<Item = Duration> + Clone {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(2))
        .with_jitter()
        .with_max_times(MAX_TRIES - 1)
        .build()
        .collect::<Vec<_>>()
        .into_iter()
}

/// [`relay`] with the delays between tries given (tests pass zeros).
pub async fn relay_with<B: Bus>(
    bus: &B,
    event: &Event,
    delays: impl Iterator<Item = Duration> + Clone,
) -> DynamoDbEventResponse {
    let events = pending(event);
    let mut response = DynamoDbEventResponse::default();
    for batch in batches(&events) {
        if let Err(first_failed) = publish(bus, batch, delays.clone()).await {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(first_failed);
            response.batch_item_failures.push(failure);
            break;
        }
    }
    response
}

/// Puts one batch, retrying what fails; the sequence number of its first unpublished event if it keeps failing.
async fn publish<B: Bus>(
    bus: &B,
    batch: &[Pending],
    mut delays: impl Iterator<Item = Duration>,
) -> Result<(), String> {
    let mut todo: Vec<Pending> = batch.to_vec();
    loop {
        let failed: Vec<(Pending, String)> = match bus.put(&todo).await {
            Ok(results) => todo
                .iter()
                .zip(
                    results
                        .into_iter()
                        .chain(std::iter::repeat(Some("no result for entry".to_owned()))),
                )
                .filter_map(|(p, r)| r.map(|code| (p.clone(), code)))
                .collect(),
            Err(e) => todo.iter().map(|p| (p.clone(), e.to_string())).collect(),
        };
        for p in todo
            .iter()
            .filter(|p| !failed.iter().any(|(f, _)| f.sequence == p.sequence))
        {
            info!(event_id = %p.envelope.id, correlation_id = %p.envelope.correlation_id, event_type = %p.envelope.event_type(), sequence = %p.sequence, "event published");
        }
        // The worker metrics, per event: published, or refused (retried, and the stream batch after that).
        metrics::counter!(worker::PROCESSED).increment((todo.len() - failed.len()) as u64);
        metrics::counter!(worker::FAILED_TRANSIENT).increment(failed.len() as u64);
        let Some((first, _)) = failed.first() else {
            return Ok(());
        };
        let first = first.sequence.clone();
        match delays.next() {
            Some(delay) => {
                for (p, code) in &failed {
                    warn!(event_id = %p.envelope.id, error.message = %code, "event refused by the bus; retrying");
                }
                tokio::time::sleep(delay).await;
                todo = failed.into_iter().map(|(p, _)| p).collect();
            }
            None => {
                for (p, code) in &failed {
                    error!(event_id = %p.envelope.id, error.message = %code, sequence = %p.sequence, "event still refused by the bus; the stream batch is retried from here");
                }
                return Err(first);
            }
        }
    }
}

#[cfg(test)]
mod tests;
