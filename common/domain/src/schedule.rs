//! Steps that come due at a time (a reservation's expiry, an auction's close, the daily sweep of stale
//! listings), the port they are scheduled through, and what a step finds when it runs ([`Decision`]): every
//! aggregate's time-driven decision answers with one, so a message delivered twice finds the work done.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::StoreError;

/// A step that comes due at a time: what a one-time schedule (or the daily sweep) delivers to a worker's
/// queue, e.g. `{"due": "auction-close", "auctionId": "…", "correlationId": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "due", rename_all = "kebab-case")]
pub enum Due {
    #[serde(rename_all = "camelCase")]
    ReservationExpiry { reservation_id: String },
    #[serde(rename_all = "camelCase")]
    AuctionClose { auction_id: String },
    /// Both parties are reminded of a confirmed pickup.
    #[serde(rename_all = "camelCase")]
    PickupReminder { reservation_id: String },
    /// The daily sweep of listings past their expiresAt.
    StaleListings,
}

/// A due step and the correlation id of what scheduled it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scheduled {
    #[serde(flatten)]
    pub due: Due,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

impl Due {
    /// The name of its one-time schedule (≤ 64 characters of `[0-9A-Za-z-_.]`), one per subject, so
    /// scheduling again moves it and a duplicate event schedules nothing new.
    pub fn schedule_name(&self) -> String {
        match self {
            Due::ReservationExpiry { reservation_id } => format!(
                "expire-{}",
                Uuid::new_v5(&Uuid::NAMESPACE_URL, reservation_id.as_bytes())
            ),
            Due::AuctionClose { auction_id } => format!(
                "close-{}",
                Uuid::new_v5(&Uuid::NAMESPACE_URL, auction_id.as_bytes())
            ),
            Due::PickupReminder { reservation_id } => format!(
                "remind-{}",
                Uuid::new_v5(&Uuid::NAMESPACE_URL, reservation_id.as_bytes())
            ),
            Due::StaleListings => "stale-listings".into(),
        }
    }

    /// The name of a schedule that re-arms a step found not yet due: its own name per due time, so it never
    /// collides with the schedule that just fired and is being deleted.
    pub fn rearm_name(&self, at: DateTime<Utc>) -> String {
        format!("{}-{}", self.schedule_name(), at.timestamp())
    }
}

/// Where one-time steps are scheduled (EventBridge Scheduler in AWS; the local runner fires them).
#[async_trait]
pub trait Schedules: Send + Sync {
    /// Delivers `step` to the worker's queue at `at` through the schedule `name` (created, or moved).
    async fn schedule(
        &self,
        name: &str,
        step: &Scheduled,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Cancels the schedule `name`, if it is still pending.
    async fn cancel(&self, name: &str) -> Result<(), StoreError>;
}

/// What a scheduled step finds when it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision<T> {
    /// Act: the next state.
    Act(T),
    /// Too early (a schedule fired before its time, or the time moved): come back at this time.
    NotDue(DateTime<Utc>),
    /// Nothing to do: already done, or overtaken by another change (the reason, for the log).
    Settled(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_steps_read_and_name_their_schedules() {
        let step: Scheduled = serde_json::from_str(
            r#"{"due":"auction-close","auctionId":"a1","correlationId":"c1"}"#,
        )
        .unwrap();
        assert_eq!(
            step.due,
            Due::AuctionClose {
                auction_id: "a1".into()
            }
        );
        assert_eq!(step.correlation_id.as_deref(), Some("c1"));
        let sweep: Scheduled = serde_json::from_str(r#"{"due":"stale-listings"}"#).unwrap();
        assert_eq!(sweep.due, Due::StaleListings);
        // A reservation id is 73 characters: its schedule name stays within Scheduler's 64.
        let long = Due::ReservationExpiry {
            reservation_id: format!("{}_{}", Uuid::new_v4(), Uuid::new_v4()),
        };
        let name = long.schedule_name();
        assert!(name.len() <= 64, "{name}");
        assert!(name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        assert_eq!(name, long.schedule_name());
    }
}
