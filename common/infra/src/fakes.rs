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

/// Failures to inject into the notification fakes: each named step (`claim`, `done`, `release`, `push`,
/// `email`, `enqueue`) fails its next N calls.
#[derive(Debug, Default)]
pub struct Flaky {
    left: Mutex<std::collections::BTreeMap<String, u32>>,
}

impl Flaky {
    /// The next `times` calls of `step` fail.
    pub fn fail(&self, step: &str, times: u32) {
        *self
            .left
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(step.to_owned())
            .or_default() += times;
    }

    /// Whether this call of `step` fails (and counts it).
    pub fn trips(&self, step: &str) -> bool {
        let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
        match left.get_mut(step) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }
}

/// One send the fake sender made: (recipient, channel, address).
pub type Sent = (String, String, String);

/// Sends into memory. Endpoints in `gone` answer [`crate::notify::SendError::Gone`]; `flaky` fails sends
/// transiently (`push`, `email`).
#[derive(Debug, Default)]
pub struct FakeSender {
    sent: Mutex<Vec<Sent>>,
    gone: Mutex<Vec<String>>,
    pub flaky: Flaky,
}

impl FakeSender {
    /// Pushes to `endpoint` answer that it is disabled.
    pub fn disable(&self, endpoint: &str) {
        self.gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(endpoint.to_owned());
    }

    /// Every send made, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn send(
        &self,
        channel: &str,
        address: &str,
        n: &crate::notify::Rendered,
    ) -> Result<(), crate::notify::SendError> {
        use crate::notify::SendError;
        if self.flaky.trips(channel) {
            return Err(SendError::Failed {
                reason: format!("{channel} throttled"),
                maybe_sent: false,
            });
        }
        if self
            .gone
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|g| g == address)
        {
            return Err(SendError::Gone(format!("{address} is disabled")));
        }
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).push((
            n.recipient_id.clone(),
            channel.to_owned(),
            address.to_owned(),
        ));
        Ok(())
    }
}

#[async_trait]
impl crate::notify::Sender for FakeSender {
    async fn push(
        &self,
        endpoint_arn: &str,
        n: &crate::notify::Rendered,
    ) -> Result<(), crate::notify::SendError> {
        self.send("push", endpoint_arn, n)
    }

    async fn email(
        &self,
        address: &str,
        n: &crate::notify::Rendered,
    ) -> Result<(), crate::notify::SendError> {
        self.send("email", address, n)
    }
}

/// (event, recipient, target).
type ClaimKey = (String, String, String);
/// (done, held until epoch seconds).
type Lease = (bool, i64);

/// Delivery claims in memory with the table's lease rules: a claim held past its lease can be taken again.
/// `advance` moves the fake's clock (the lease's, not the handler's).
#[derive(Debug)]
pub struct FakeClaims {
    claims: Mutex<std::collections::BTreeMap<ClaimKey, Lease>>,
    lease_secs: i64,
    skew: Mutex<i64>,
    pub flaky: Flaky,
}

impl Default for FakeClaims {
    fn default() -> Self {
        Self::new(Duration::from_secs(60))
    }
}

impl FakeClaims {
    pub fn new(lease: Duration) -> Self {
        Self {
            claims: Mutex::default(),
            lease_secs: i64::try_from(lease.as_secs()).unwrap_or(i64::MAX),
            skew: Mutex::new(0),
            flaky: Flaky::default(),
        }
    }

    /// Time passes for the leases.
    pub fn advance(&self, by: Duration) {
        *self.skew.lock().unwrap_or_else(|e| e.into_inner()) +=
            i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
    }

    fn now(&self, now: DateTime<Utc>) -> i64 {
        now.timestamp() + *self.skew.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn key(event_id: &str, recipient: &str, target: &str) -> (String, String, String) {
        (event_id.to_owned(), recipient.to_owned(), target.to_owned())
    }

    fn throttled(step: &str) -> ProcessError {
        ProcessError::Transient(format!("{step}: ProvisionedThroughputExceededException").into())
    }
}

#[async_trait]
impl crate::notify::Claims for FakeClaims {
    async fn claim(
        &self,
        event_id: &str,
        recipient: &str,
        target: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::notify::Claim, ProcessError> {
        use crate::notify::Claim;
        if self.flaky.trips("claim") {
            return Err(Self::throttled("claim"));
        }
        let now = self.now(now);
        let mut claims = self.claims.lock().unwrap_or_else(|e| e.into_inner());
        let key = Self::key(event_id, recipient, target);
        Ok(match claims.get(&key) {
            Some((true, _)) => Claim::Done,
            Some((false, until)) if *until > now => Claim::Held { until: *until },
            _ => {
                claims.insert(key, (false, now + self.lease_secs));
                Claim::Granted
            }
        })
    }

    async fn done(
        &self,
        event_id: &str,
        recipient: &str,
        target: &str,
        _outcome: &str,
        _now: DateTime<Utc>,
    ) -> Result<(), ProcessError> {
        if self.flaky.trips("done") {
            return Err(Self::throttled("done"));
        }
        self.claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(Self::key(event_id, recipient, target), (true, 0));
        Ok(())
    }

    async fn release(
        &self,
        event_id: &str,
        recipient: &str,
        target: &str,
    ) -> Result<(), ProcessError> {
        if self.flaky.trips("release") {
            return Err(Self::throttled("release"));
        }
        self.claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&Self::key(event_id, recipient, target));
        Ok(())
    }
}

/// The worker's own queue in memory: the chunks fanned out onto it.
#[derive(Debug, Default)]
pub struct FakeFanout {
    bodies: Mutex<Vec<String>>,
    pub flaky: Flaky,
}

impl FakeFanout {
    /// Takes the messages enqueued so far.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.bodies.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait]
impl crate::notify::Fanout for FakeFanout {
    async fn enqueue(&self, bodies: &[String]) -> Result<(), ProcessError> {
        if self.flaky.trips("enqueue") {
            return Err(ProcessError::Transient("SendMessageBatch throttled".into()));
        }
        self.bodies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bodies);
        Ok(())
    }
}
