//! In-memory fakes of the ports the worker runtime and the workers call, for handler tests (feature `fakes`,
//! enabled in dev-dependencies only): a queue that records backoffs and dead letters, an event sink, Scheduler
//! schedules, and the SQS event Lambda would deliver.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use chrono::{DateTime, Utc};
use domain::event::Envelope;
use domain::queue::QueuePolicy;
use domain::schedule::{Scheduled, Schedules};
use domain::store::StoreError;

use crate::error::ProcessError;
use crate::runtime::{DeadLetter, EventSink, QueueOps};

/// What the fake queue was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueCall {
    /// A message hidden for a backoff step.
    Backoff {
        receipt_handle: String,
        seconds: u64,
    },
    /// A message sent to the DLQ with its error.
    DeadLetter {
        message_id: String,
        kind: String,
        error: String,
    },
}

/// A queue that records what the runtime asks of it.
#[derive(Debug, Default)]
pub struct FakeQueue {
    calls: Mutex<Vec<QueueCall>>,
}

impl FakeQueue {
    pub fn calls(&self) -> Vec<QueueCall> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The ids of the messages sent to the DLQ, with their error kinds.
    pub fn dead_letters(&self) -> Vec<(String, String)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                QueueCall::DeadLetter {
                    message_id, kind, ..
                } => Some((message_id, kind)),
                QueueCall::Backoff { .. } => None,
            })
            .collect()
    }
}

#[async_trait]
impl QueueOps for FakeQueue {
    async fn change_visibility(
        &self,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<(), ProcessError> {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(QueueCall::Backoff {
                receipt_handle: receipt_handle.into(),
                seconds: timeout.as_secs(),
            });
        Ok(())
    }

    async fn dead_letter(&self, letter: DeadLetter<'_>) -> Result<(), ProcessError> {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(QueueCall::DeadLetter {
                message_id: letter.message.message_id.clone().unwrap_or_default(),
                kind: letter.error_kind.as_str().into(),
                error: letter.error_message,
            });
        Ok(())
    }
}

/// An event sink that keeps what it is given.
#[derive(Debug, Default)]
pub struct FakeSink {
    events: Mutex<Vec<Envelope>>,
}

impl FakeSink {
    pub fn events(&self) -> Vec<Envelope> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[async_trait]
impl EventSink for FakeSink {
    async fn record(&self, envelope: &Envelope) -> Result<(), ProcessError> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(envelope.clone());
        Ok(())
    }
}

/// Scheduler schedules in memory: name → (step, due time).
#[derive(Debug, Default)]
pub struct FakeSchedules {
    schedules: Mutex<Vec<(String, Scheduled, DateTime<Utc>)>>,
}

impl FakeSchedules {
    /// The pending schedules, in the order they were made.
    pub fn pending(&self) -> Vec<(String, Scheduled, DateTime<Utc>)> {
        self.schedules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[async_trait]
impl Schedules for FakeSchedules {
    async fn schedule(
        &self,
        name: &str,
        step: &Scheduled,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut schedules = self.schedules.lock().unwrap_or_else(|e| e.into_inner());
        schedules.retain(|(n, _, _)| n != name);
        schedules.push((name.to_owned(), step.clone(), at));
        Ok(())
    }

    async fn cancel(&self, name: &str) -> Result<(), StoreError> {
        self.schedules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(n, _, _)| n != name);
        Ok(())
    }
}

/// A policy as Terraform's defaults give it (5 receives, backoff 2 s to 5 min, batches of 10).
pub fn policy() -> QueuePolicy {
    QueuePolicy::new(5, Duration::from_secs(2), Duration::from_secs(300), 10, 2)
        .unwrap_or_else(|e| panic!("the default policy is valid: {e}"))
}

/// The SQS event Lambda delivers for these (message id, body) pairs: first receives, each with a receipt
/// handle `rh-<id>` and, when given, the correlation id as the `correlationId` message attribute.
pub fn sqs_event(messages: &[(&str, &str)], correlation_id: Option<&str>) -> SqsEvent {
    let mut event = SqsEvent::default();
    for (id, body) in messages {
        let mut m = SqsMessage::default();
        m.message_id = Some((*id).to_owned());
        m.receipt_handle = Some(format!("rh-{id}"));
        m.body = Some((*body).to_owned());
        m.attributes
            .insert("ApproximateReceiveCount".into(), "1".into());
        if let Some(c) = correlation_id {
            let mut a = SqsMessageAttribute::default();
            a.data_type = Some("String".into());
            a.string_value = Some(c.to_owned());
            m.message_attributes
                .insert(domain::dead_letter::CORRELATION.into(), a);
        }
        event.records.push(m);
    }
    event
}

/// The ids of the messages a batch answer says must come back.
pub fn failed_ids(response: &SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

/// Publishes into memory: every delivery, and the recipients whose deliveries fail (`failing`).
#[derive(Debug, Default)]
pub struct FakePublisher {
    delivered: Mutex<Vec<crate::notify::Delivery>>,
    failing: Mutex<Vec<String>>,
}

impl FakePublisher {
    /// Deliveries to `recipient` fail from now on.
    pub fn fail_for(&self, recipient: &str) {
        self.failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(recipient.to_owned());
    }

    /// Deliveries to `recipient` succeed again.
    pub fn recover(&self) {
        self.failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// What was delivered: (recipient, channel), in order.
    pub fn delivered(&self) -> Vec<(String, String)> {
        self.delivered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|d| (d.notice.recipient_id.clone(), d.channel.to_owned()))
            .collect()
    }
}

#[async_trait]
impl crate::notify::Publish for FakePublisher {
    async fn publish(&self, deliveries: &[crate::notify::Delivery]) -> Vec<Result<(), String>> {
        let failing = self
            .failing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut delivered = self.delivered.lock().unwrap_or_else(|e| e.into_inner());
        deliveries
            .iter()
            .map(|d| {
                if failing.contains(&d.notice.recipient_id) {
                    Err(format!("{} is unreachable", d.notice.recipient_id))
                } else {
                    delivered.push(d.clone());
                    Ok(())
                }
            })
            .collect()
    }
}

/// Claims of (event, recipient, channel) in memory, as the table keeps them.
#[derive(Debug, Default)]
pub struct FakeClaims {
    claims: Mutex<std::collections::BTreeMap<(String, String, String), crate::notify::ClaimState>>,
}

#[async_trait]
impl crate::notify::Claims for FakeClaims {
    async fn claim(
        &self,
        event_id: &str,
        recipient: &str,
        channel: &str,
        _now: DateTime<Utc>,
    ) -> Result<crate::notify::ClaimState, ProcessError> {
        use crate::notify::ClaimState;
        let mut claims = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        let key = (
            event_id.to_owned(),
            recipient.to_owned(),
            channel.to_owned(),
        );
        Ok(match claims.get(&key) {
            None => {
                claims.insert(key, ClaimState::Sending);
                ClaimState::Claimed
            }
            Some(state) => *state,
        })
    }

    async fn mark_sent(
        &self,
        event_id: &str,
        recipient: &str,
        channel: &str,
    ) -> Result<(), ProcessError> {
        self.claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                (
                    event_id.to_owned(),
                    recipient.to_owned(),
                    channel.to_owned(),
                ),
                crate::notify::ClaimState::Sent,
            );
        Ok(())
    }

    async fn release(
        &self,
        event_id: &str,
        recipient: &str,
        channel: &str,
    ) -> Result<(), ProcessError> {
        self.claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(
                event_id.to_owned(),
                recipient.to_owned(),
                channel.to_owned(),
            ));
        Ok(())
    }
}
