//! The EventBridge adapter of the relay.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use aws_smithy_types::DateTime;
use infra::error::ProcessError;
use tracing::instrument;

use crate::{Bus, DeadLetters, Pending, Poisoned};

/// `PutEvents` on one bus.
#[derive(Debug, Clone)]
pub struct EventBridgeBus {
    client: Client,
    bus_name: String,
}

impl EventBridgeBus {
    pub fn new(client: Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }
}

impl Bus for EventBridgeBus {
    #[instrument(skip_all, fields(entries = entries.len()), err)]
    async fn put(&self, entries: &[Pending]) -> Result<Vec<Option<String>>, ProcessError> {
        let request: Vec<PutEventsRequestEntry> = entries
            .iter()
            .map(|p| {
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(p.envelope.source().as_str())
                    .detail_type(p.envelope.event_type().as_str())
                    .detail(&p.detail)
                    .time(DateTime::from_millis(p.envelope.time.timestamp_millis()))
                    .build()
            })
            .collect();
        let output = self
            .client
            .put_events()
            .set_entries(Some(request))
            .send()
            .await?;
        Ok(output
            .entries()
            .iter()
            .map(|e| {
                e.error_code()
                    .map(|code| format!("{code}: {}", e.error_message().unwrap_or_default()))
            })
            .collect())
    }
}

/// The outbox DLQ, through the worker runtime's dead-letter adapter: the letter's body says which record and
/// event it is ([`Poisoned::letter_body`]); its attributes carry `error.kind` (permanent), `error.message` and
/// `failed.at`, as every dead letter of the pipeline does.
#[derive(Debug, Clone)]
pub struct OutboxDlq {
    queue: infra::sqs::SqsQueue,
}

impl OutboxDlq {
    pub fn new(client: aws_sdk_sqs::Client, dlq_url: impl Into<String>) -> Self {
        // Only its dead-letter side is used: the relay receives nothing from SQS.
        Self {
            queue: infra::sqs::SqsQueue::new(client, String::new(), dlq_url),
        }
    }
}

impl DeadLetters for OutboxDlq {
    async fn dead_letter(&self, poisoned: &Poisoned) -> Result<(), ProcessError> {
        use infra::runtime::QueueOps;
        let mut message = aws_lambda_events::event::sqs::SqsMessage::default();
        message.body = Some(poisoned.letter_body());
        self.queue
            .dead_letter(infra::runtime::DeadLetter {
                message: &message,
                error_kind: domain::dead_letter::ErrorKind::Permanent,
                error_message: poisoned.reason.clone(),
                failed_at: chrono::Utc::now(),
            })
            .await
    }
}
