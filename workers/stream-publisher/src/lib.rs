//! The stream publisher: the relay of the transactional outbox (DOMAIN.md). Every state change writes its
//! events into the table as `EVENT#<id>` items ([`infra::outbox`]); this worker reads the table's stream and
//! puts each new outbox item's envelope on the bus, in stream order, in `PutEvents` calls of up to 10 entries.
//!
//! Two kinds of failure, two answers (the mapping has `ReportBatchItemFailures`, `BisectBatchOnFunctionError`,
//! a bounded `MaximumRetryAttempts` and the outbox DLQ as its on-failure destination: see `terraform/main.tf`):
//! - **The bus is unwell** (throttling, `InternalFailure`, 5xx, timeouts): the refused entries are retried with
//!   backoff for up to the retry window, then the answer names the first record not published, so Lambda
//!   retries the stream from there. Each retry counts against the mapping's retry bound, so the stream
//!   outlasts `(retry attempts + 1) x retry window` of outage before Lambda gives the batch up to the outbox
//!   DLQ (its record of where the records are; `ecobid-ops outbox replay` puts them on the bus).
//! - **A record can never be published** ([`Poisoned`]: an envelope that does not parse, an entry over
//!   EventBridge's 256 KiB, an entry the bus refuses for good): it is sent to the outbox DLQ at once with why
//!   ([`DeadLetters`]), and everything around it is published: one bad record holds up nothing. Should the DLQ
//!   refuse it too, the invocation fails, and Lambda splits the batch, retries, and gives it up to the same
//!   DLQ: nothing is lost either way.
//!
//! Records may be published more than once (a retried or split batch): consumers de-duplicate on the event id.

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
pub use bus::{EventBridgeBus, OutboxDlq};

pub type StreamEvent = Event;

/// Entries per `PutEvents` call (EventBridge's limit).
pub const MAX_ENTRIES: usize = 10;
/// Bytes per `PutEvents` call: EventBridge's limit is 256 KiB, counted over time, source, detail-type and detail
/// (<https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html>).
pub const MAX_BATCH_BYTES: usize = 256 * 1024;
/// What EventBridge counts for an entry's `Time`, which the relay always sets.
const TIME_BYTES: usize = 14;
/// The per-entry error codes worth another try (the PutEvents reference's retryable ones); any other code
/// refuses the entry for good.
pub const RETRYABLE_ENTRY_CODES: [&str; 2] = ["ThrottlingException", "InternalFailure"];
/// How long an invocation keeps retrying refused entries when `RETRY_WINDOW_SECONDS` is not set.
pub const DEFAULT_RETRY_WINDOW: Duration = Duration::from_secs(10);

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
        entry_size(&self.envelope, &self.detail)
    }
}

/// A record of the stream that can never be put on the bus, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Poisoned {
    pub sequence: String,
    /// The outbox item's partition key (`EVENT#<id>`).
    pub item: String,
    /// The event, when its envelope could be read.
    pub event: Option<Envelope>,
    pub reason: String,
}

impl Poisoned {
    /// The dead letter's body: what it is and where (the envelope itself may be what SQS cannot carry).
    pub fn letter_body(&self) -> String {
        serde_json::json!({
            "type": self.event.as_ref().map_or("(unreadable outbox item)", |e| e.event_type().as_str()),
            "id": self.event.as_ref().map(|e| e.id.to_string()),
            "correlationId": self.event.as_ref().map(|e| e.correlation_id.to_string()),
            "outboxItem": self.item,
            "sequence": self.sequence,
        })
        .to_string()
    }
}

/// Where the relay sends the records that can never be published: the outbox DLQ, with the dead-letter
/// contract's error attributes (`ecobid-ops dlq peek outbox-dlq`, `ecobid-ops outbox list`).
pub trait DeadLetters: Sync {
    fn dead_letter(
        &self,
        poisoned: &Poisoned,
    ) -> impl Future<Output = Result<(), ProcessError>> + Send;
}

/// The invocation's failure when records that can never be published could not be dead-lettered either:
/// Lambda splits the batch and retries.
#[derive(Debug, thiserror::Error)]
#[error("{} record(s) of the batch can never be published, and the outbox DLQ refused them: {}", .0.len(), describe(.0))]
pub struct PoisonedBatch(pub Vec<Poisoned>);

fn describe(poisoned: &[Poisoned]) -> String {
    poisoned
        .iter()
        .map(|p| format!("{}: {}", p.sequence, p.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The bus, as the relay sees it.
pub trait Bus: Sync {
    /// Puts the entries; per entry, `None` when it was accepted or the error EventBridge gave
    /// (`<code>: <message>`).
    fn put(
        &self,
        entries: &[Pending],
    ) -> impl Future<Output = Result<Vec<Option<String>>, ProcessError>> + Send;
}

/// The outbox events of a stream batch, in stream order, and the outbox records that can never be events.
/// Records that are not new outbox items (state changes, TTL deletions) are not events.
pub fn read(event: &Event) -> (Vec<Pending>, Vec<Poisoned>) {
    let mut events = Vec::new();
    let mut poisoned = Vec::new();
    for record in &event.records {
        match outbox_event(record) {
            None => {}
            Some(Ok(p)) => events.push(p),
            Some(Err(p)) => poisoned.push(p),
        }
    }
    (events, poisoned)
}

/// The outbox events of a stream batch (what [`read`] finds publishable).
pub fn pending(event: &Event) -> Vec<Pending> {
    read(event).0
}

fn outbox_event(record: &EventRecord) -> Option<Result<Pending, Poisoned>> {
    let keys = serde_json::to_value(&record.change.keys).ok()?;
    let image = serde_json::to_value(&record.change.new_image).unwrap_or_default();
    outbox_item(
        &record.event_name,
        keys["PK"]["S"].as_str()?,
        record.change.sequence_number.clone().unwrap_or_default(),
        image[ENVELOPE_ATTRIBUTE]["S"].as_str(),
    )
}

/// A stream record, by its event name, partition key, sequence number and envelope attribute: not an outbox
/// event (`None`), an event to publish, or an outbox record that can never be one. Also what
/// `ecobid-ops outbox` makes of the records it reads back from the stream.
pub fn outbox_item(
    event_name: &str,
    pk: &str,
    sequence: String,
    envelope: Option<&str>,
) -> Option<Result<Pending, Poisoned>> {
    if event_name != "INSERT" || !pk.starts_with(EVENT_PREFIX) {
        return None;
    }
    let Some(detail) = envelope else {
        return Some(Err(Poisoned {
            reason: format!("outbox item {pk} has no {ENVELOPE_ATTRIBUTE} attribute"),
            sequence,
            item: pk.to_owned(),
            event: None,
        }));
    };
    Some(match Envelope::parse(detail) {
        Ok(envelope) if too_big(&envelope, detail) => Err(Poisoned {
            reason: format!(
                "event {} is {} bytes as a PutEvents entry, over EventBridge's {MAX_BATCH_BYTES}",
                envelope.id,
                entry_size(&envelope, detail)
            ),
            sequence,
            item: pk.to_owned(),
            event: Some(envelope),
        }),
        Ok(envelope) => Ok(Pending {
            sequence,
            envelope,
            detail: detail.to_owned(),
        }),
        Err(e) => Err(Poisoned {
            reason: format!("outbox item {pk}'s envelope does not parse: {e}"),
            sequence,
            item: pk.to_owned(),
            event: None,
        }),
    })
}

fn entry_size(envelope: &Envelope, detail: &str) -> usize {
    TIME_BYTES
        + envelope.source().as_str().len()
        + envelope.event_type().as_str().len()
        + detail.len()
}

fn too_big(envelope: &Envelope, detail: &str) -> bool {
    entry_size(envelope, detail) > MAX_BATCH_BYTES
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

/// The delays between tries of refused entries within one invocation: exponential with jitter, 100 ms to 2 s,
/// for at most `window` in all.
pub fn retry_delays(window: Duration) -> impl Iterator<Item = Duration> + Clone {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(2))
        .with_jitter()
        .without_max_times()
        .with_total_delay(Some(window))
        .build()
        .collect::<Vec<_>>()
        .into_iter()
}

/// Publishes the batch's outbox events and dead-letters the records that can never be published (so they
/// hold nothing up). `Ok`: which record the stream must resume from, if any (the bus was unwell for the whole
/// retry window). `Err`: poisoned records could not be dead-lettered either; the invocation fails, and Lambda
/// splits the batch, retries, and in the end sends it to the on-failure destination: nothing is lost.
pub async fn relay<B: Bus, D: DeadLetters>(
    bus: &B,
    letters: &D,
    event: &Event,
    window: Duration,
) -> Result<DynamoDbEventResponse, PoisonedBatch> {
    relay_with(bus, letters, event, retry_delays(window)).await
}

/// Sequence numbers are decimal strings of up to 40 digits: ordered as numbers.
fn before(a: &str, b: &str) -> bool {
    (a.len(), a) < (b.len(), b)
}

/// [`relay`] with the delays between tries given (tests pass zeros).
pub async fn relay_with<B: Bus, D: DeadLetters>(
    bus: &B,
    letters: &D,
    event: &Event,
    delays: impl Iterator<Item = Duration> + Clone,
) -> Result<DynamoDbEventResponse, PoisonedBatch> {
    let (events, mut poisoned) = read(event);
    let published = publish_all(bus, &events, delays).await;
    poisoned.extend(published.refused_for_good);
    let mut response = DynamoDbEventResponse::default();
    if let Some(first_failed) = published.unpublished_from {
        // Records from there on come again on the retry: dead-lettering them now would do it twice.
        poisoned.retain(|p| before(&p.sequence, &first_failed));
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(first_failed);
        response.batch_item_failures.push(failure);
    }
    let mut undelivered = Vec::new();
    for p in poisoned {
        match letters.dead_letter(&p).await {
            Ok(()) => {
                error!(sequence = %p.sequence, item = %p.item, event_id = p.event.as_ref().map(|e| e.id.to_string()), error.message = %p.reason, "record can never be published; sent to the outbox DLQ");
                metrics::counter!(worker::DEAD_LETTERED).increment(1);
            }
            Err(e) => {
                error!(sequence = %p.sequence, error.message = %p.reason, dead_letter.error = %e, "record can never be published and the outbox DLQ refused it; the invocation fails so Lambda splits and retries the batch");
                undelivered.push(p);
            }
        }
    }
    if !undelivered.is_empty() {
        metrics::counter!(worker::FAILED_PERMANENT).increment(undelivered.len() as u64);
        return Err(PoisonedBatch(undelivered));
    }
    Ok(response)
}

/// What [`publish_all`] did.
#[derive(Debug, Default)]
pub struct Published {
    /// Entries the bus refused for good (the rest of their calls was accepted).
    pub refused_for_good: Vec<Poisoned>,
    /// The first event still refused after the retry window: nothing from it on was put.
    pub unpublished_from: Option<String>,
}

/// Puts the events on the bus in order, in as few calls as the limits allow; stops at the first call still
/// refused after the retries.
pub async fn publish_all<B: Bus>(
    bus: &B,
    events: &[Pending],
    delays: impl Iterator<Item = Duration> + Clone,
) -> Published {
    let mut out = Published::default();
    for batch in batches(events) {
        let (for_good, unpublished) = publish(bus, batch, delays.clone()).await;
        out.refused_for_good.extend(for_good);
        if unpublished.is_some() {
            out.unpublished_from = unpublished;
            break;
        }
    }
    out
}

fn retryable(error: &str) -> bool {
    RETRYABLE_ENTRY_CODES
        .iter()
        .any(|code| error.starts_with(&format!("{code}:")))
}

/// Puts one batch, retrying what the bus refuses for now: the entries it refused for good, and the first
/// entry still refused after the retries, if any.
async fn publish<B: Bus>(
    bus: &B,
    batch: &[Pending],
    mut delays: impl Iterator<Item = Duration>,
) -> (Vec<Poisoned>, Option<String>) {
    let mut todo: Vec<Pending> = batch.to_vec();
    let mut for_good: Vec<Poisoned> = Vec::new();
    loop {
        let failed: Vec<(Pending, String, bool)> = match bus.put(&todo).await {
            Ok(results) => todo
                .iter()
                .zip(results.into_iter().chain(std::iter::repeat(Some(
                    "InternalFailure: no result for entry".to_owned(),
                ))))
                .filter_map(|(p, r)| r.map(|e| (p.clone(), e.clone(), retryable(&e))))
                .collect(),
            Err(e) => {
                let again = e.is_retryable();
                todo.iter()
                    .map(|p| (p.clone(), e.to_string(), again))
                    .collect()
            }
        };
        for p in todo
            .iter()
            .filter(|p| !failed.iter().any(|(f, _, _)| f.sequence == p.sequence))
        {
            info!(event_id = %p.envelope.id, correlation_id = %p.envelope.correlation_id, event_type = %p.envelope.event_type(), sequence = %p.sequence, "event published");
        }
        // The worker metrics, per event: published, or refused (retried, and the stream batch after that).
        metrics::counter!(worker::PROCESSED).increment((todo.len() - failed.len()) as u64);
        let (again, refused): (Vec<_>, Vec<_>) = failed.into_iter().partition(|(_, _, a)| *a);
        for_good.extend(refused.into_iter().map(|(p, e, _)| Poisoned {
            reason: format!("the bus refuses event {} for good: {e}", p.envelope.id),
            sequence: p.sequence,
            item: format!("{EVENT_PREFIX}{}", p.envelope.id),
            event: Some(p.envelope),
        }));
        metrics::counter!(worker::FAILED_TRANSIENT).increment(again.len() as u64);
        let Some((first, _, _)) = again.first() else {
            return (for_good, None);
        };
        let first = first.sequence.clone();
        match delays.next() {
            Some(delay) => {
                for (p, e, _) in &again {
                    warn!(event_id = %p.envelope.id, error.message = %e, "event refused by the bus; retrying");
                }
                tokio::time::sleep(delay).await;
                todo = again.into_iter().map(|(p, _, _)| p).collect();
            }
            None => {
                for (p, e, _) in &again {
                    error!(event_id = %p.envelope.id, error.message = %e, sequence = %p.sequence, "event still refused by the bus after the retry window; the stream batch is retried from here");
                }
                return (for_good, Some(first));
            }
        }
    }
}

#[cfg(test)]
mod tests;
