//! The notifications worker: for each domain event of its queue, the recipients DOMAIN.md names
//! (`domain::notify`), each told once on every target they want it on (each device's push endpoint, their
//! verified email address), and a NotificationSent per (recipient, channel) delivered.
//!
//! - **Nobody skipped.** Each (event, recipient, target) is claimed with a lease before it is sent
//!   (`infra::notify::DeliveryClaims` on `infra::lease`). A send that certainly failed gives the claim back; a
//!   claim whose holder died or could not give it back runs out, and a later receive of the message (which
//!   waits for the lease: [`ProcessError::Later`]) claims it again. So a transient failure at any step
//!   (claim, lookup, send, marking it sent) fails the message and loses no recipient.
//! - **Nobody spammed.** A target marked done is never sent again; marking is retried in-process. A duplicate
//!   is possible only when the process dies (or the table refuses every retry) between SNS/SES accepting a
//!   send and the mark being written, or when a send timed out after the service accepted it.
//! - **Big audiences** ("new near you" can be thousands) are split into chunks of at most [`Deps::chunk`]
//!   recipients, each a message on this worker's own queue, so no invocation nears its timeout.
//! - A push endpoint SNS reports disabled or gone is forgotten (the device record removed) and settles its
//!   target: the user's other devices and email are not sent again.

pub mod templates;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use chrono::Utc;
use domain::event::{Envelope, NotificationSent};
use domain::notify::{self, Audience, Channel, Directory, Target};
use futures::stream::{self, StreamExt};
use infra::error::ProcessError;
use infra::notify::{Claim, Claims, Fanout, Rendered, SendError, Sender};
use infra::runtime::{Body, EventSink, Message};
use serde_json::{json, Value};
use tracing::{error, info, warn};

use crate::templates::Templates;

/// Most recipients one message delivers to: a bigger audience is split into chunks on the worker's queue.
pub const CHUNK: usize = 25;
/// Recipients delivered to at once within one message.
pub const CONCURRENCY: usize = 10;

/// What the handler works with, built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub directory: Arc<dyn Directory>,
    pub sender: Arc<dyn Sender>,
    pub claims: Arc<dyn Claims>,
    pub fanout: Arc<dyn Fanout>,
    pub events: Arc<dyn EventSink>,
    pub templates: Arc<Templates>,
    /// Most recipients per message ([`CHUNK`]).
    pub chunk: usize,
}

/// A message of the notifications queue: a domain event (from its rule), or a chunk of a big audience this
/// worker put back on its own queue.
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    Event(Envelope),
    Chunk(Chunk),
}

/// Part of an event's audience: `{"chunkOf": <envelope>, "recipients": [...], "near": bool}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub envelope: Envelope,
    pub recipients: Vec<String>,
    /// The event is a "new item near you" (the recipients' own opt-out applies).
    pub near: bool,
}

impl Chunk {
    pub fn to_json_string(&self) -> String {
        let envelope: Value =
            serde_json::from_str(&self.envelope.to_json_string()).unwrap_or(Value::Null);
        json!({ "chunkOf": envelope, "recipients": self.recipients, "near": self.near }).to_string()
    }
}

impl Body for Job {
    fn parse(text: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let Some(of) = value.get("chunkOf") else {
            return Envelope::parse(text)
                .map(Job::Event)
                .map_err(|e| e.to_string());
        };
        let envelope = Envelope::parse(&of.to_string()).map_err(|e| format!("chunkOf: {e}"))?;
        let recipients = value
            .get("recipients")
            .and_then(Value::as_array)
            .ok_or("a chunk without recipients")?
            .iter()
            .map(|r| {
                r.as_str()
                    .map(str::to_owned)
                    .ok_or("a recipient is not a string")
            })
            .collect::<Result<Vec<_>, _>>()?;
        let near = value.get("near").and_then(Value::as_bool).unwrap_or(false);
        Ok(Job::Chunk(Chunk {
            envelope,
            recipients,
            near,
        }))
    }

    fn event_id(&self) -> Option<String> {
        Some(self.envelope().id.to_string())
    }

    fn correlation_id(&self) -> Option<String> {
        Some(self.envelope().correlation_id.to_string())
    }
}

impl Job {
    pub fn envelope(&self) -> &Envelope {
        match self {
            Job::Event(e) => e,
            Job::Chunk(c) => &c.envelope,
        }
    }
}

fn transient(e: impl std::fmt::Display) -> ProcessError {
    ProcessError::Transient(e.to_string().into())
}

/// Handles one message of the notifications queue.
pub async fn handle(deps: &Deps, message: Message<Job>) -> Result<(), ProcessError> {
    let chunk = match message.body {
        Job::Chunk(chunk) => chunk,
        Job::Event(envelope) => {
            let Some(audience) = notify::audience(&envelope.event) else {
                info!(event_type = %envelope.event_type(), "nobody is notified of this event");
                return Ok(());
            };
            let (recipients, near) = match audience {
                Audience::Users(users) => (users, false),
                Audience::Near { cells, except } => {
                    let near = deps.directory.users_near(&cells).await.map_err(transient)?;
                    (near.into_iter().filter(|u| *u != except).collect(), true)
                }
            };
            let chunk = Chunk {
                envelope,
                recipients,
                near,
            };
            if chunk.recipients.len() > deps.chunk {
                return fan_out(deps, chunk).await;
            }
            chunk
        }
    };
    deliver(deps, &chunk).await
}

/// Splits a big audience into chunks on the worker's own queue. A failure fails the message, whose retry
/// enqueues every chunk again: a recipient in two copies of a chunk is still told once (the claims).
async fn fan_out(deps: &Deps, whole: Chunk) -> Result<(), ProcessError> {
    let bodies: Vec<String> = whole
        .recipients
        .chunks(deps.chunk.max(1))
        .map(|part| {
            Chunk {
                envelope: whole.envelope.clone(),
                recipients: part.to_vec(),
                near: whole.near,
            }
            .to_json_string()
        })
        .collect();
    deps.fanout.enqueue(&bodies).await?;
    info!(
        recipients = whole.recipients.len(),
        chunks = bodies.len(),
        "audience fanned out in chunks"
    );
    Ok(())
}

/// What delivering to one recipient came to.
#[derive(Default)]
struct Outcome {
    /// Channels on which the recipient has been told (now or by an earlier delivery).
    told: BTreeSet<Channel>,
    /// A failure worth retrying.
    failure: Option<ProcessError>,
    /// The latest lease another delivery holds (epoch seconds).
    held_until: Option<i64>,
}

async fn deliver(deps: &Deps, chunk: &Chunk) -> Result<(), ProcessError> {
    let envelope = &chunk.envelope;
    // The futures are built first (an iterator, not a stream's closure) so the handler's future stays Send.
    let deliveries: Vec<_> = chunk
        .recipients
        .iter()
        .map(|r| async move { (r, deliver_to(deps, chunk, r).await) })
        .collect();
    let outcomes: Vec<(&String, Outcome)> = stream::iter(deliveries)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;

    let records: Vec<Envelope> = outcomes
        .iter()
        .flat_map(|(recipient, outcome)| {
            outcome.told.iter().map(|channel| {
                Envelope::new(
                    NotificationSent {
                        about_event_id: envelope.id.to_string(),
                        recipient_id: (*recipient).clone(),
                        channel: channel.as_str().to_owned(),
                    }
                    .into(),
                    envelope.correlation_id,
                    Utc::now(),
                )
                .with_id(notify::sent_event_id(
                    &envelope.id,
                    recipient,
                    channel.as_str(),
                ))
            })
        })
        .collect();
    let told = records.len();
    let recordings: Vec<_> = records.iter().map(|r| deps.events.record(r)).collect();
    let recorded: Vec<Result<(), ProcessError>> = stream::iter(recordings)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut failure = recorded.into_iter().find_map(Result::err);
    let held_until = outcomes.iter().filter_map(|(_, o)| o.held_until).max();
    for (_, outcome) in outcomes {
        if let Some(e) = outcome.failure {
            failure.get_or_insert(e);
        }
    }
    info!(
        recipients = chunk.recipients.len(),
        told, "notifications delivered"
    );
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some(until) = held_until {
        // Claimed by a delivery that has not confirmed: come back when its lease runs out.
        let after = u64::try_from(until - Utc::now().timestamp())
            .unwrap_or(0)
            .max(1);
        return Err(ProcessError::Later {
            after: Duration::from_secs(after),
            reason: "a delivery of this event is claimed by another attempt".into(),
        });
    }
    Ok(())
}

async fn deliver_to(deps: &Deps, chunk: &Chunk, recipient_id: &str) -> Outcome {
    let mut outcome = Outcome::default();
    let envelope = &chunk.envelope;
    let recipient = match deps.directory.recipient(recipient_id).await {
        Ok(r) => r,
        Err(e) => {
            outcome.failure = Some(transient(format!("looking up {recipient_id}: {e}")));
            return outcome;
        }
    };
    let targets = notify::targets(&recipient, chunk.near);
    if targets.is_empty() {
        return outcome;
    }
    let notice = notify::notice(&envelope.event, recipient_id);
    let rendered = match deps.templates.render(
        &notice,
        &envelope.id.to_string(),
        &envelope.correlation_id.to_string(),
    ) {
        Ok(r) => r,
        Err(e) => {
            outcome.failure = Some(ProcessError::Permanent(Box::new(e)));
            return outcome;
        }
    };
    let event_id = envelope.id.to_string();
    for target in &targets {
        match deliver_target(deps, &event_id, recipient_id, target, &rendered).await {
            Ok(Delivered::Told) => {
                outcome.told.insert(target.channel);
            }
            Ok(Delivered::Settled) => {}
            Ok(Delivered::Held(until)) => {
                outcome.held_until = outcome.held_until.max(Some(until));
            }
            Err(e) => {
                warn!(recipient_id, target = %target.key, error.message = %e, "notification not delivered; retried");
                outcome.failure.get_or_insert(e);
            }
        }
    }
    outcome
}

enum Delivered {
    /// Sent now or by an earlier delivery.
    Told,
    /// Settled without a send (the endpoint is gone, the service refused it for good).
    Settled,
    /// Another delivery holds the claim until then.
    Held(i64),
}

async fn deliver_target(
    deps: &Deps,
    event_id: &str,
    recipient_id: &str,
    target: &Target,
    rendered: &Rendered,
) -> Result<Delivered, ProcessError> {
    match deps
        .claims
        .claim(event_id, recipient_id, &target.key, Utc::now())
        .await?
    {
        Claim::Done => return Ok(Delivered::Told),
        Claim::Held { until } => return Ok(Delivered::Held(until)),
        Claim::Granted => {}
    }
    let sent = match target.channel {
        Channel::Push => deps.sender.push(&target.address, rendered).await,
        Channel::Email => deps.sender.email(&target.address, rendered).await,
    };
    let (outcome, result) = match sent {
        Ok(()) => ("sent", Delivered::Told),
        Err(SendError::Gone(why)) => {
            info!(recipient_id, target = %target.key, why, "push endpoint gone; the device is forgotten");
            if let Some(device) = &target.device {
                if let Err(e) = deps.directory.forget_device(recipient_id, device).await {
                    give_back(deps, event_id, recipient_id, target).await;
                    return Err(transient(format!("forgetting a gone device: {e}")));
                }
            }
            metrics::counter!(infra::metrics::notifications::DEVICES_FORGOTTEN).increment(1);
            ("gone", Delivered::Settled)
        }
        Err(SendError::Refused(why)) => {
            error!(recipient_id, target = %target.key, why, "the service refused this notice for good; not retried");
            metrics::counter!(infra::metrics::notifications::REFUSED).increment(1);
            ("refused", Delivered::Settled)
        }
        Err(SendError::Failed { reason, maybe_sent }) => {
            // Certainly not sent: give the claim back for the retry. Maybe sent: keep it; it runs out and a
            // later receive sends again (the one case besides a crash where a notice can arrive twice).
            if !maybe_sent {
                give_back(deps, event_id, recipient_id, target).await;
            }
            return Err(transient(reason));
        }
    };
    mark_done(deps, event_id, recipient_id, &target.key, outcome).await?;
    Ok(result)
}

/// Gives a claim back; if that fails too, its lease runs out instead.
async fn give_back(deps: &Deps, event_id: &str, recipient_id: &str, target: &Target) {
    if let Err(e) = deps
        .claims
        .release(event_id, recipient_id, &target.key)
        .await
    {
        warn!(recipient_id, target = %target.key, error.message = %e, "could not give the claim back; it runs out instead");
    }
}

/// Marks a target done, retrying in-process: what was sent must not be sent again because one write was
/// throttled. If every try fails, the claim runs out and a later receive sends again.
async fn mark_done(
    deps: &Deps,
    event_id: &str,
    recipient_id: &str,
    key: &str,
    outcome: &str,
) -> Result<(), ProcessError> {
    (|| async {
        deps.claims
            .done(event_id, recipient_id, key, outcome, Utc::now())
            .await
    })
    .retry(
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(50))
            .with_max_delay(Duration::from_secs(1))
            .with_max_times(5)
            .with_jitter(),
    )
    .sleep(tokio::time::sleep)
    .when(ProcessError::is_retryable)
    .await
}
