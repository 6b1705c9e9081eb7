//! The worker runtime every SQS worker runs on (STYLE.md §3, §4, §9): it takes the batch Lambda delivers,
//! handles each message on its own and answers with exactly the messages that must come back.
//!
//! - Each body is parsed separately: one bad message never fails the batch.
//! - Messages run with bounded concurrency, each in a span carrying `message_id`, the event `id` and the
//!   `correlation_id` (from the body, or the `correlationId` message attribute).
//! - Transient failure (or a panic in the handler): the message is reported failed **and** hidden for the
//!   next backoff step ([`crate::backoff`]) computed from its receive count. On its last receive
//!   (`maxReceiveCount`) it is dead-lettered like a permanent failure, with the last error and its
//!   `ErrorOccurred`; SQS's redrive policy remains the backstop for a receive the runtime never answered (a
//!   crash or a timeout), which SQS moves without a word (the DLQ's depth alarm still fires).
//! - Permanent failure (bad body, unknown version, a rule that will never pass): the original body and
//!   attributes go to the queue's DLQ with `error.kind`, `error.message` and `failed.at`, then the message is
//!   acknowledged: no retry is burned. If that send fails, the message is reported failed instead, so nothing
//!   is lost.
//! - Every message is counted (processed, failed transiently or permanently, dead-lettered) and timed in the
//!   EMF metrics of [`crate::metrics`].

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use chrono::{DateTime, Utc};
use domain::dead_letter::ErrorKind;
use domain::event::{CorrelationId, DomainEvent, Envelope, ErrorOccurred};
use domain::queue::QueuePolicy;
use futures::{FutureExt, StreamExt};
use tracing::{error, info, warn, Instrument};

use crate::backoff::visibility_after;
use crate::metrics::worker;

use crate::error::ProcessError;
/// The message attribute carrying the correlation id alongside a message (the dead-letter contract's).
pub use domain::dead_letter::CORRELATION as CORRELATION_ATTRIBUTE;
/// Default number of messages of one batch handled at once.
pub const DEFAULT_CONCURRENCY: usize = 10;

/// A message body the runtime can parse before calling the handler.
pub trait Body: Sized + Send {
    /// Parses the body; the error (permanent) names what is wrong.
    fn parse(text: &str) -> Result<Self, String>;

    /// The event id, for the span and the dead letter.
    fn event_id(&self) -> Option<String> {
        None
    }

    /// The correlation id carried in the body, if any.
    fn correlation_id(&self) -> Option<String> {
        None
    }
}

impl Body for Envelope {
    fn parse(text: &str) -> Result<Self, String> {
        Envelope::parse(text).map_err(|e| e.to_string())
    }

    fn event_id(&self) -> Option<String> {
        Some(self.id.to_string())
    }

    fn correlation_id(&self) -> Option<String> {
        Some(self.correlation_id.to_string())
    }
}

/// One parsed message, as a handler sees it.
#[derive(Debug)]
pub struct Message<B> {
    pub message_id: String,
    /// SQS's `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
    pub correlation_id: Option<String>,
    pub body: B,
}

/// A message given up on, for the queue's DLQ.
#[derive(Debug)]
pub struct DeadLetter<'a> {
    pub message: &'a SqsMessage,
    pub error_kind: ErrorKind,
    pub error_message: String,
    pub failed_at: DateTime<Utc>,
}

/// What the runtime asks of the queue (the SQS adapter in AWS, a fake in tests).
#[async_trait]
pub trait QueueOps: Send + Sync {
    /// Hides a received message for `timeout` from now.
    async fn change_visibility(
        &self,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<(), ProcessError>;

    /// Sends the original body and attributes to the DLQ, with the error attributes.
    async fn dead_letter(&self, letter: DeadLetter<'_>) -> Result<(), ProcessError>;
}

/// Where the runtime records the events that change no state (`ErrorOccurred`): the table's outbox in AWS
/// (`infra::outbox::Outbox`), a fake in tests. The runtime's own port: it holds one as a trait object.
#[async_trait]
pub trait EventSink: Send + Sync {
    async fn record(&self, envelope: &Envelope) -> Result<(), ProcessError>;
}

/// The runtime of one worker: its queue, the queue's policy and where `ErrorOccurred` events are recorded.
#[derive(Clone)]
pub struct Runtime<Q> {
    queue: Q,
    policy: QueuePolicy,
    concurrency: usize,
    errors: Option<ErrorReporting>,
}

#[derive(Clone)]
struct ErrorReporting {
    sink: Arc<dyn EventSink>,
    queue_name: String,
}

/// Why a message goes to the DLQ.
#[derive(Clone, Copy)]
enum GiveUp {
    /// It fails the same way every time.
    Permanent,
    /// It failed transiently on every receive the redrive policy allows (this many).
    Exhausted(u32),
}

/// The ids the runtime knows of a message before its handler runs.
struct Ids {
    event_id: Option<String>,
    correlation_id: Option<String>,
}

impl<Q: QueueOps> Runtime<Q> {
    pub fn new(queue: Q, policy: QueuePolicy) -> Self {
        Self {
            queue,
            policy,
            concurrency: DEFAULT_CONCURRENCY,
            errors: None,
        }
    }

    /// Records an `ErrorOccurred` event in `sink` for every message sent to the DLQ of `queue_name`.
    pub fn with_error_events(
        mut self,
        sink: Arc<dyn EventSink>,
        queue_name: impl Into<String>,
    ) -> Self {
        self.errors = Some(ErrorReporting {
            sink,
            queue_name: queue_name.into(),
        });
        self
    }

    /// Messages of one batch handled at once (at least 1).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    pub fn queue(&self) -> &Q {
        &self.queue
    }

    /// Handles every message of the batch and returns the ids of those that must come back.
    pub async fn process<B, H, Fut>(&self, event: SqsEvent, handler: H) -> SqsBatchResponse
    where
        B: Body,
        H: Fn(Message<B>) -> Fut,
        Fut: Future<Output = Result<(), ProcessError>> + Send,
    {
        let handler = &handler;
        let failed: Vec<String> = futures::stream::iter(event.records.iter())
            .map(|message| self.one(message, handler))
            .buffer_unordered(self.concurrency)
            .filter_map(|failed| async move { failed })
            .collect()
            .await;
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = failed
            .into_iter()
            .map(|id| {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                failure
            })
            .collect();
        response
    }

    /// Handles one message; returns its id when it must come back.
    async fn one<B, H, Fut>(&self, message: &SqsMessage, handler: &H) -> Option<String>
    where
        B: Body,
        H: Fn(Message<B>) -> Fut,
        Fut: Future<Output = Result<(), ProcessError>> + Send,
    {
        let message_id = message.message_id.clone().unwrap_or_default();
        let receive_count = message
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(1);
        let attribute_correlation = message
            .message_attributes
            .get(CORRELATION_ATTRIBUTE)
            .and_then(|a| a.string_value.clone());
        let span = tracing::info_span!(
            "message",
            message_id = %message_id,
            receive_count,
            event_id = tracing::field::Empty,
            correlation_id = tracing::field::Empty,
        );
        if let Some(c) = &attribute_correlation {
            span.record("correlation_id", c.as_str());
        }

        let started = Instant::now();
        async {
            let mut ids = Ids {
                event_id: None,
                correlation_id: attribute_correlation,
            };
            let outcome = match B::parse(message.body.as_deref().unwrap_or_default()) {
                Err(reason) => Err(ProcessError::Invalid(reason)),
                Ok(body) => {
                    ids.event_id = body.event_id();
                    if let Some(id) = &ids.event_id {
                        tracing::Span::current().record("event_id", id.as_str());
                    }
                    ids.correlation_id = body.correlation_id().or(ids.correlation_id);
                    if let Some(c) = &ids.correlation_id {
                        tracing::Span::current().record("correlation_id", c.as_str());
                    }
                    let handled = handler(Message {
                        message_id: message_id.clone(),
                        receive_count,
                        correlation_id: ids.correlation_id.clone(),
                        body,
                    });
                    AssertUnwindSafe(handled)
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|panic| {
                            let what = panic
                                .downcast_ref::<&str>()
                                .map(|s| (*s).to_owned())
                                .or_else(|| panic.downcast_ref::<String>().cloned())
                                .unwrap_or_else(|| "unknown panic payload".into());
                            Err(ProcessError::Transient(
                                format!("handler panicked: {what}").into(),
                            ))
                        })
                }
            };
            let failed = match outcome {
                Ok(()) => {
                    info!("message processed");
                    metrics::counter!(worker::PROCESSED).increment(1);
                    None
                }
                Err(e) if e.is_retryable() && receive_count < self.policy.max_receive_count() => {
                    metrics::counter!(worker::FAILED_TRANSIENT).increment(1);
                    self.retry_later(message, &message_id, receive_count, &e)
                        .await
                }
                Err(e) if e.is_retryable() => {
                    // The last receive the redrive policy allows: dead-lettered here, with the last error and
                    // its ErrorOccurred, rather than moved by SQS on the next receive without a word.
                    metrics::counter!(worker::FAILED_TRANSIENT).increment(1);
                    let why = GiveUp::Exhausted(receive_count);
                    self.give_up(message, &message_id, &ids, &e, why).await
                }
                Err(e) => {
                    metrics::counter!(worker::FAILED_PERMANENT).increment(1);
                    self.give_up(message, &message_id, &ids, &e, GiveUp::Permanent)
                        .await
                }
            };
            metrics::histogram!(worker::DURATION).record(started.elapsed().as_secs_f64() * 1e3);
            failed
        }
        .instrument(span)
        .await
    }

    async fn retry_later(
        &self,
        message: &SqsMessage,
        message_id: &str,
        receive_count: u32,
        e: &ProcessError,
    ) -> Option<String> {
        let delay = visibility_after(&self.policy, receive_count);
        // A failure that knows when a retry can succeed waits at least that long (SQS's maximum at most).
        let delay = e.retry_after().map_or(delay, |after| {
            delay.max(after).min(domain::queue::MAX_VISIBILITY)
        });
        warn!(
            error.message = %e,
            error.cause_chain = ?e,
            retryable = true,
            backoff_seconds = delay.as_secs(),
            max_receive_count = self.policy.max_receive_count(),
            "message failed transiently; retried after backoff"
        );
        if let Some(receipt_handle) = &message.receipt_handle {
            if let Err(err) = self.queue.change_visibility(receipt_handle, delay).await {
                // It still comes back, after the queue's own visibility timeout.
                warn!(error.message = %err, "could not set the backoff visibility");
            }
        }
        Some(message_id.to_owned())
    }

    async fn give_up(
        &self,
        message: &SqsMessage,
        message_id: &str,
        ids: &Ids,
        e: &ProcessError,
        why: GiveUp,
    ) -> Option<String> {
        let error_message = match why {
            GiveUp::Permanent => {
                error!(error.message = %e, error.cause_chain = ?e, error.kind = %e.kind(), retryable = false, "message failed permanently; sent to the DLQ");
                e.describe()
            }
            GiveUp::Exhausted(receives) => {
                error!(error.message = %e, error.cause_chain = ?e, error.kind = %e.kind(), retryable = true, receive_count = receives, "message failed on its last receive; sent to the DLQ");
                format!(
                    "failed on all {receives} receives, the last with: {}",
                    e.describe()
                )
            }
        };
        let letter = DeadLetter {
            message,
            error_kind: e.kind(),
            error_message: error_message.clone(),
            failed_at: Utc::now(),
        };
        if let Err(err) = self.queue.dead_letter(letter).await {
            error!(error.message = %err, "could not send to the DLQ; the message stays in its queue");
            return Some(message_id.to_owned());
        }
        metrics::counter!(worker::DEAD_LETTERED).increment(1);
        self.report(message_id, ids, e, error_message).await;
        None
    }

    /// Records `ErrorOccurred` for a dead-lettered message. A failure here is logged, not retried: the
    /// message itself is safe in the DLQ (whose alarm also fires), and retrying would dead-letter it twice.
    async fn report(&self, message_id: &str, ids: &Ids, e: &ProcessError, error_message: String) {
        let Some(errors) = &self.errors else { return };
        let correlation_id = ids
            .correlation_id
            .as_deref()
            .and_then(|c| c.parse::<CorrelationId>().ok())
            .unwrap_or_else(CorrelationId::random);
        let event = ErrorOccurred {
            queue: errors.queue_name.clone(),
            message_id: message_id.to_owned(),
            error_kind: e.kind().as_str().to_owned(),
            error_message,
            event_id: ids.event_id.clone(),
        };
        let envelope = Envelope::new(DomainEvent::from(event), correlation_id, Utc::now());
        match errors.sink.record(&envelope).await {
            Ok(()) => info!(error_event_id = %envelope.id, "ErrorOccurred recorded"),
            Err(err) => {
                error!(error.message = %err, "could not record ErrorOccurred; the message is in the DLQ")
            }
        }
    }
}

#[cfg(test)]
mod tests;
