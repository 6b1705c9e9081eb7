//! The use-cases, of the API and of the workers alike: read, decide with the aggregate's rules, write the
//! decision and its events as one conditional [`Change`]. A write refused because the state moved on is
//! retried from a fresh read (optimistic concurrency), so the decision is always made again on the state it is
//! written over; a rule that now says no answers with its reason. One file per aggregate; this one holds what
//! they share (the context, settings, the retry, steps that come due). A use-case orchestrates: it decides
//! nothing itself.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use backon::{ExponentialBuilder, Retryable};
use chrono::{DateTime, Duration, Utc};

use crate::auction::{self, Auction};
use crate::error::{Conflict, DomainError};
use crate::event::{CorrelationId, DomainEvent, Envelope, EventId};
use crate::ids::{self, Ids, RandomIds};
use crate::item::Item;
use crate::reservation::{self, Reservation};
use crate::schedule::{Decision, Due, Scheduled, Schedules};
use crate::store::*;

mod accounts;
mod activity;
mod auctions;
mod items;
mod moderation;
mod reservations;
mod users;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ServiceError {
    fn is_condition_failed(&self) -> bool {
        matches!(self, ServiceError::Store(StoreError::ConditionFailed))
    }
}

type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Who asks, on behalf of which request, when.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub caller: String,
    pub correlation: CorrelationId,
    pub now: DateTime<Utc>,
}

/// What a deployment sets (short durations for the end-to-end tests).
#[derive(Debug, Clone)]
pub struct Settings {
    pub reservation_ttl: Duration,
    pub min_auction: Duration,
    /// A bid this close to endsAt extends the auction by as much (anti-sniping; 2 minutes by default).
    pub sniping_window: Duration,
    /// Key prefix of photo uploads (`uploads/`).
    pub uploads_prefix: String,
    /// How often a write raced by others is decided again before answering 409 contention.
    pub max_attempts: usize,
    /// How long before a confirmed pickup both parties are reminded.
    pub pickup_reminder_lead: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            reservation_ttl: reservation::RESERVATION_TTL,
            min_auction: auction::MIN_AUCTION,
            sniping_window: auction::SNIPING_WINDOW,
            uploads_prefix: "uploads/".into(),
            max_attempts: 30,
            pickup_reminder_lead: reservation::PICKUP_REMINDER_LEAD,
        }
    }
}

#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    settings: Settings,
    ids: Arc<dyn Ids>,
}

impl Service {
    /// The use-cases over `store`, with random ids.
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        Self {
            store,
            settings,
            ids: Arc::new(RandomIds),
        }
    }

    /// The same, taking new ids from `ids` (tests that want to know them).
    pub fn with_ids(mut self, ids: Arc<dyn Ids>) -> Self {
        self.ids = ids;
        self
    }

    /// A new entity id.
    fn new_id(&self) -> String {
        self.ids.new_id()
    }

    /// `event` in its envelope: a new id, the context's correlation id and time.
    fn envelope(&self, ctx: &Ctx, event: impl Into<DomainEvent>) -> Envelope {
        Envelope::new(event.into(), ctx.correlation, ctx.now).with_id(EventId::new(self.ids.next()))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Runs `attempt` again while its write is refused because the state changed under it.
    async fn optimistic<T, F, Fut>(&self, attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(StdDuration::from_millis(2))
            .with_max_delay(StdDuration::from_millis(50))
            .with_max_times(self.settings.max_attempts)
            .with_jitter();
        match attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(ServiceError::is_condition_failed)
            .await
        {
            Err(e) if e.is_condition_failed() => Err(DomainError::conflict(
                Conflict::Contention,
                "too many concurrent changes; retry the request",
            )
            .into()),
            other => other,
        }
    }

    async fn item(&self, id: &str) -> Result<Versioned<Item>> {
        if !ids::is_id(id) {
            return Err(DomainError::NotFound("item").into());
        }
        Ok(self
            .store
            .item(id)
            .await?
            .ok_or(DomainError::NotFound("item"))?)
    }

    async fn reservation(&self, id: &str) -> Result<Versioned<Reservation>> {
        let item_id = ids::reservation_item(id).ok_or(DomainError::NotFound("reservation"))?;
        Ok(self
            .store
            .reservation(item_id, id)
            .await?
            .ok_or(DomainError::NotFound("reservation"))?)
    }

    async fn auction(&self, id: &str) -> Result<Versioned<Auction>> {
        if !ids::is_id(id) {
            return Err(DomainError::NotFound("auction").into());
        }
        Ok(self
            .store
            .auction(id)
            .await?
            .ok_or(DomainError::NotFound("auction"))?)
    }

    /// Arms the one-time schedule of `due` at `at`, carrying the context's correlation id; a time already
    /// past runs the step now.
    pub async fn arm(
        &self,
        ctx: &Ctx,
        schedules: &dyn Schedules,
        due: Due,
        at: DateTime<Utc>,
    ) -> Result<Step> {
        let step = Scheduled {
            due,
            correlation_id: Some(ctx.correlation.to_string()),
        };
        if at <= ctx.now {
            return self.run_due(ctx, schedules, &step).await;
        }
        schedules
            .schedule(&step.due.schedule_name(), &step, at)
            .await?;
        Ok(Step::NotDue(at))
    }

    /// Cancels the pending schedule of `due` (the deal completed or was cancelled).
    pub async fn disarm(&self, schedules: &dyn Schedules, due: &Due) -> Result<()> {
        Ok(schedules.cancel(&due.schedule_name()).await?)
    }

    /// Runs a step whose schedule fired; one not due yet (endsAt moved) is re-armed for its time.
    pub async fn run_due(
        &self,
        ctx: &Ctx,
        schedules: &dyn Schedules,
        step: &Scheduled,
    ) -> Result<Step> {
        let outcome = match &step.due {
            Due::ReservationExpiry { reservation_id } => {
                self.expire_reservation(ctx, reservation_id).await?
            }
            Due::AuctionClose { auction_id } => self.close_auction(ctx, auction_id).await?,
            Due::PickupReminder { reservation_id } => {
                self.remind_pickup(ctx, reservation_id).await?
            }
            Due::StaleListings => {
                for _ in 0..SWEEP_ROUNDS {
                    let stale = self.stale_listings(ctx.now, SWEEP_PAGE).await?;
                    for id in &stale {
                        self.expire_listing(ctx, id).await?;
                    }
                    if stale.len() < SWEEP_PAGE {
                        break;
                    }
                }
                Step::Done
            }
        };
        if let Step::NotDue(at) = outcome {
            schedules
                .schedule(&step.due.rearm_name(at), step, at)
                .await?;
        }
        Ok(outcome)
    }
}

/// What a worker's step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The change and its events are stored.
    Done,
    /// Nothing to do (already done, or overtaken): why.
    Settled(&'static str),
    /// Not yet: the step is due at this time.
    NotDue(DateTime<Utc>),
}

/// The step of a decision that does not act.
fn idle<T>(d: &Decision<T>) -> Step {
    match d {
        Decision::Act(_) => Step::Done,
        Decision::NotDue(at) => Step::NotDue(*at),
        Decision::Settled(why) => Step::Settled(why),
    }
}

/// Listings the daily sweep expires per round, and its rounds per run (the rest waits for the next day).
const SWEEP_PAGE: usize = 100;
const SWEEP_ROUNDS: usize = 20;

#[cfg(test)]
mod tests;
