//! The notifications worker: for each domain event of its queue, the recipients DOMAIN.md names
//! (`domain::notify`), one notice each on push and email, at most once per (event, recipient, channel), and a
//! NotificationSent for each one delivered.
//!
//! At most once: a delivery is claimed in the table before it is published. A publish that failed gives the
//! claim back (the retry sends it); a claim left by a delivery that died mid-way is never sent again (it may
//! have gone out). NotificationSent ids derive from (event, recipient, channel), so a retry that records them
//! again records nothing new.

use std::sync::Arc;

use chrono::Utc;
use domain::event::{Envelope, NotificationSent};
use domain::notify::{self, Audience, Directory};
use futures::future::join_all;
use infra::error::ProcessError;
use infra::notify::{ClaimState, Claims, Delivery, Publish, EMAIL, PUSH};
use infra::runtime::EventSink;
use infra::runtime::Message;
use tracing::{info, warn};

/// What the handler works with, built once per cold start.
#[derive(Clone)]
pub struct Deps {
    pub directory: Arc<dyn Directory>,
    pub publisher: Arc<dyn Publish>,
    pub claims: Arc<dyn Claims>,
    pub events: Arc<dyn EventSink>,
}

fn transient(e: impl std::fmt::Display) -> ProcessError {
    ProcessError::Transient(e.to_string().into())
}

/// Handles one event of the notifications queue.
pub async fn handle(deps: &Deps, message: Message<Envelope>) -> Result<(), ProcessError> {
    let envelope = message.body;
    let event_id = envelope.id.to_string();
    let Some(audience) = notify::audience(&envelope.event) else {
        info!(event_type = %envelope.event_type(), "nobody is notified of this event");
        return Ok(());
    };
    let recipients = match audience {
        Audience::Users(users) => users,
        Audience::Near { cells, except } => deps
            .directory
            .users_near(&cells)
            .await
            .map_err(transient)?
            .into_iter()
            .filter(|u| *u != except)
            .collect(),
    };
    let now = Utc::now();
    let wanted: Vec<(String, &'static str)> = recipients
        .iter()
        .flat_map(|r| [(r.clone(), PUSH), (r.clone(), EMAIL)])
        .collect();
    let claims = join_all(
        wanted
            .iter()
            .map(|(r, channel)| deps.claims.claim(&event_id, r, channel, now)),
    )
    .await;

    let mut deliveries = vec![];
    let mut recorded_before = vec![];
    for ((recipient, channel), claim) in wanted.into_iter().zip(claims) {
        match claim? {
            ClaimState::Claimed => {
                let endpoints = if channel == PUSH {
                    deps.directory
                        .endpoints(&recipient)
                        .await
                        .map_err(transient)?
                } else {
                    vec![]
                };
                deliveries.push(Delivery {
                    notice: notify::render(&envelope.event, &recipient),
                    channel,
                    endpoints,
                    event_id: event_id.clone(),
                    correlation_id: envelope.correlation_id.to_string(),
                });
            }
            ClaimState::Sent => recorded_before.push((recipient, channel)),
            ClaimState::Sending => {
                info!(recipient_id = %recipient, channel, "claimed by an earlier delivery; not sent again")
            }
        }
    }

    let results = deps.publisher.publish(&deliveries).await;
    let mut failure = None;
    let mut sent = vec![];
    for (d, result) in deliveries.iter().zip(results) {
        match result {
            Ok(()) => {
                deps.claims
                    .mark_sent(&event_id, &d.notice.recipient_id, d.channel)
                    .await?;
                sent.push((d.notice.recipient_id.clone(), d.channel));
            }
            Err(e) => {
                warn!(recipient_id = %d.notice.recipient_id, channel = d.channel, error.message = %e, "notification not delivered; retried");
                deps.claims
                    .release(&event_id, &d.notice.recipient_id, d.channel)
                    .await?;
                failure = Some(e);
            }
        }
    }
    info!(
        recipients = recipients.len(),
        delivered = sent.len(),
        "notifications published"
    );
    // Recorded for what was delivered now and what an earlier delivery sent (its record may be missing).
    for (recipient, channel) in sent.into_iter().chain(recorded_before) {
        let record = Envelope::new(
            NotificationSent {
                about_event_id: event_id.clone(),
                recipient_id: recipient.clone(),
                channel: channel.to_owned(),
            }
            .into(),
            envelope.correlation_id,
            now,
        )
        .with_id(notify::sent_event_id(&envelope.id, &recipient, channel));
        deps.events.record(&record).await?;
    }
    match failure {
        Some(e) => Err(transient(format!("some notifications failed: {e}"))),
        None => Ok(()),
    }
}
