//! `events replay`: EventBridge's own replay of the workspace's archive onto its bus. A replay re-sends the
//! archived events of a time window to the bus's rules; with `--type`, only to the rules of those types (the
//! workspace has one rule per event type, `ecobid-<workspace>-<Type>`), so only those types are delivered.

use std::time::Duration;

use aws_sdk_eventbridge::types::{ReplayDestination, ReplayState};
use aws_sdk_eventbridge::Client;
use chrono::{DateTime, Utc};

use crate::error::{BoxError as Error, ReplayError};

/// What to replay.
#[derive(Debug, Clone)]
pub struct Replay {
    pub workspace: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub types: Vec<String>,
}

/// How a replay ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub name: String,
    pub state: String,
    pub reason: Option<String>,
    pub rules: Vec<String>,
}

impl Replay {
    pub fn bus(&self) -> String {
        format!("ecobid-{}", self.workspace)
    }

    pub fn archive(&self) -> String {
        format!("ecobid-{}-events", self.workspace)
    }

    /// Starts the replay and waits for it to end, calling `tick` with its state while it runs.
    pub async fn run(&self, client: &Client, mut tick: impl FnMut(&str)) -> Result<Done, Error> {
        if self.from >= self.to {
            return Err(ReplayError::Window(self.from, self.to).into());
        }
        let bus = client.describe_event_bus().name(self.bus()).send().await?;
        let bus_arn = bus.arn().unwrap_or_default().to_owned();
        let archive = client
            .describe_archive()
            .archive_name(self.archive())
            .send()
            .await?;
        let archive_arn = archive.archive_arn().unwrap_or_default().to_owned();
        let mut rules = vec![];
        if !self.types.is_empty() {
            let prefix = format!("{}-", self.bus());
            let mut known: Vec<(String, String)> = vec![];
            let mut token = None;
            loop {
                let page = client
                    .list_rules()
                    .event_bus_name(self.bus())
                    .name_prefix(&prefix)
                    .set_next_token(token)
                    .send()
                    .await?;
                for r in page.rules() {
                    let (Some(name), Some(arn)) = (r.name(), r.arn()) else {
                        continue;
                    };
                    if let Some(t) = name.strip_prefix(&prefix) {
                        known.push((t.to_owned(), arn.to_owned()));
                    }
                }
                token = page.next_token().map(str::to_owned);
                if token.is_none() {
                    break;
                }
            }
            for t in &self.types {
                let Some((_, arn)) = known.iter().find(|(k, _)| k == t) else {
                    let types: Vec<&str> = known.iter().map(|(k, _)| k.as_str()).collect();
                    return Err(
                        ReplayError::UnknownType(t.clone(), self.bus(), types.join(", ")).into(),
                    );
                };
                rules.push(arn.clone());
            }
        }
        let name = format!("ecobid-ops-{}", Utc::now().format("%Y%m%dT%H%M%S%3f"));
        let started = client
            .start_replay()
            .replay_name(&name)
            .description(format!("ecobid-ops events replay: types {:?}", self.types))
            .event_source_arn(&archive_arn)
            .event_start_time(aws_smithy_types::DateTime::from_millis(
                self.from.timestamp_millis(),
            ))
            .event_end_time(aws_smithy_types::DateTime::from_millis(
                self.to.timestamp_millis(),
            ))
            .destination(
                ReplayDestination::builder()
                    .arn(&bus_arn)
                    .set_filter_arns((!rules.is_empty()).then(|| rules.clone()))
                    .build()?,
            )
            .send()
            .await;
        if let Err(e) = &started {
            if let Some(s) = e.as_service_error() {
                use aws_sdk_eventbridge::error::ProvideErrorMetadata;
                let message = s.message().unwrap_or_default().to_ascii_lowercase();
                if message.contains("not implemented")
                    || matches!(
                        s.code(),
                        Some("UnknownOperationException" | "InvalidAction")
                    )
                {
                    return Err(ReplayError::Unavailable(format!(
                        "{}: {}",
                        s.code().unwrap_or("error"),
                        s.message().unwrap_or_default()
                    ))
                    .into());
                }
            }
        }
        started?;
        loop {
            let d = client.describe_replay().replay_name(&name).send().await?;
            let state = d.state().cloned().unwrap_or(ReplayState::Starting);
            tick(state.as_str());
            if matches!(
                state,
                ReplayState::Completed | ReplayState::Failed | ReplayState::Cancelled
            ) {
                return Ok(Done {
                    name,
                    state: state.as_str().to_owned(),
                    reason: d.state_reason().map(str::to_owned),
                    rules,
                });
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}
