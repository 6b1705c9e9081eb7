//! The domain's [`Schedules`] on EventBridge Scheduler: one one-time `at()` schedule per subject in the
//! workspace's schedule group, delivering the step to the worker's own queue and deleted once it fired
//! (`ActionAfterCompletion = DELETE`). Scheduling again moves the schedule; cancelling one already gone is done.

use async_trait::async_trait;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target,
};
use aws_sdk_scheduler::Client;
use chrono::{DateTime, Utc};
use domain::event::Envelope;
use domain::schedule::{Scheduled, Schedules};
use domain::store::StoreError;
use tracing::{info, instrument};

use crate::aws_error::to_store_error;
use crate::config::{required, ConfigError};
use crate::runtime::Body;

/// Where a worker's schedules go and what they deliver to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerConfig {
    pub group: String,
    /// The role Scheduler assumes to send to the queue.
    pub role_arn: String,
    /// The queue the steps are delivered to (the worker's own).
    pub target_arn: String,
}

impl SchedulerConfig {
    /// `SCHEDULE_GROUP`, `SCHEDULER_ROLE_ARN` and the target queue's ARN from `target_variable`.
    pub fn from_env(target_variable: &'static str) -> Result<Self, ConfigError> {
        Ok(Self {
            group: required("SCHEDULE_GROUP")?,
            role_arn: required("SCHEDULER_ROLE_ARN")?,
            target_arn: required(target_variable)?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Scheduler {
    client: Client,
    config: SchedulerConfig,
}

impl Scheduler {
    pub fn new(client: Client, config: SchedulerConfig) -> Self {
        Self { client, config }
    }
}

/// Scheduler's `at()` expression (UTC, whole seconds: a step due within a second is delivered at that second).
pub fn at_expression(at: DateTime<Utc>) -> String {
    format!("at({})", at.format("%Y-%m-%dT%H:%M:%S"))
}

#[async_trait]
impl Schedules for Scheduler {
    #[instrument(skip(self, step), err)]
    async fn schedule(
        &self,
        name: &str,
        step: &Scheduled,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let input =
            serde_json::to_string(step).map_err(|e| StoreError::permanent(e.to_string()))?;
        let target = Target::builder()
            .arn(&self.config.target_arn)
            .role_arn(&self.config.role_arn)
            .input(input)
            .build()
            .map_err(|e| StoreError::permanent(e.to_string()))?;
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(|e| StoreError::permanent(e.to_string()))?;
        let created = self
            .client
            .create_schedule()
            .name(name)
            .group_name(&self.config.group)
            .schedule_expression(at_expression(at))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window.clone())
            .target(target.clone())
            .action_after_completion(ActionAfterCompletion::Delete)
            .send()
            .await;
        match created {
            Ok(_) => {
                info!("schedule created");
                Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) =>
            {
                // It exists: move it (a later endsAt, or the same step scheduled again).
                self.client
                    .update_schedule()
                    .name(name)
                    .group_name(&self.config.group)
                    .schedule_expression(at_expression(at))
                    .schedule_expression_timezone("UTC")
                    .flexible_time_window(window)
                    .target(target)
                    .action_after_completion(ActionAfterCompletion::Delete)
                    .send()
                    .await
                    .map_err(to_store_error)?;
                info!("schedule moved");
                Ok(())
            }
            Err(e) => Err(to_store_error(e)),
        }
    }

    #[instrument(skip(self), err)]
    async fn cancel(&self, name: &str) -> Result<(), StoreError> {
        let deleted = self
            .client
            .delete_schedule()
            .name(name)
            .group_name(&self.config.group)
            .send()
            .await;
        match deleted {
            Ok(_) => {
                info!("schedule cancelled");
                Ok(())
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(to_store_error(e)),
        }
    }
}

/// What a scheduling worker's queue carries: domain events (from the bus's rules) and due steps (from its
/// schedules).
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Event(Envelope),
    Due(Scheduled),
}

impl Body for Incoming {
    fn parse(text: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if value.get("due").is_some() {
            serde_json::from_value(value)
                .map(Incoming::Due)
                .map_err(|e| format!("not a due step: {e}"))
        } else {
            Envelope::from_value(value)
                .map(Incoming::Event)
                .map_err(|e| e.to_string())
        }
    }

    fn event_id(&self) -> Option<String> {
        match self {
            Incoming::Event(e) => Some(e.id.to_string()),
            Incoming::Due(_) => None,
        }
    }

    fn correlation_id(&self) -> Option<String> {
        match self {
            Incoming::Event(e) => Some(e.correlation_id.to_string()),
            Incoming::Due(s) => s.correlation_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use domain::schedule::Due;

    use super::*;

    #[test]
    fn at_expressions_are_utc_seconds() {
        let at = Utc.with_ymd_and_hms(2026, 11, 21, 10, 5, 7).unwrap();
        assert_eq!(at_expression(at), "at(2026-11-21T10:05:07)");
    }

    #[test]
    fn a_queue_carries_events_and_due_steps() {
        let due = Incoming::parse(
            r#"{"due":"reservation-expiry","reservationId":"r","correlationId":"c"}"#,
        )
        .expect("due");
        assert_eq!(
            due,
            Incoming::Due(Scheduled {
                due: Due::ReservationExpiry {
                    reservation_id: "r".into()
                },
                correlation_id: Some("c".into())
            })
        );
        assert_eq!(due.correlation_id().as_deref(), Some("c"));
        assert!(Incoming::parse(r#"{"due":"nap"}"#)
            .unwrap_err()
            .starts_with("not a due step"));
        assert!(Incoming::parse(r#"{"version":"9"}"#)
            .unwrap_err()
            .contains("version"));
        assert!(Incoming::parse("nope").unwrap_err().starts_with("not JSON"));
    }
}
