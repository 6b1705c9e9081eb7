//! What each command does, over the SDK clients main builds: one module per command, and what they share.

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use indicatif::ProgressBar;

use crate::audit::{Audit, Record};
use crate::cli::{Cli, Command, DlqCommand, EventsCommand, OutboxCommand};
use crate::dlq::Scan;
use crate::error::OpsError;
use crate::letter::Letter;
use crate::replay::Replay;
use crate::sqs::{depth, Dlq, Sqs, Workspace};

/// How long a redrive's dry run holds each letter it reads at a time (renewed while it reads; released when done).
const DRY_RUN_HOLD: Duration = Duration::from_secs(60);

mod list;
mod outbox;
mod peek;
mod purge;
mod redrive;

/// The SDK clients and who is acting.
pub struct Clients {
    pub sqs: aws_sdk_sqs::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    /// Who acts, for the audit log (the caller's ARN and the local user).
    pub who: String,
}

pub async fn run(cli: Cli, clients: Clients) -> Result<ExitCode, OpsError> {
    let workspace = cli.workspace.clone().ok_or(OpsError::NoWorkspace)?;
    let audit_path = cli
        .audit_log
        .clone()
        .unwrap_or_else(crate::audit::default_path);
    let audit = || {
        Audit::open(&audit_path, clients.who.clone()).map_err(|source| OpsError::Audit {
            path: audit_path.clone(),
            source,
        })
    };
    match cli.command {
        Command::Dlq(command) => {
            let (sqs, ws) = queues_of(&clients.sqs, &workspace).await?;
            match command {
                DlqCommand::List(args) => list::run(&sqs, &ws, &args).await,
                DlqCommand::Peek(args) => peek::run(&sqs, &ws, &args).await,
                DlqCommand::Redrive(args) => redrive::run(&sqs, &ws, &args, audit).await,
                DlqCommand::Purge(args) => purge::run(&sqs, &ws, &args, audit).await,
            }
        }
        Command::Outbox(command) => {
            let (sqs, ws) = queues_of(&clients.sqs, &workspace).await?;
            match command {
                OutboxCommand::List(args) => outbox::list(&sqs, &clients.streams, &ws, &args).await,
                OutboxCommand::Replay(args) => {
                    outbox::replay(&sqs, &clients.streams, &clients.events, &ws, &args, audit).await
                }
            }
        }
        Command::Events(EventsCommand::Replay(args)) => {
            let replay = Replay {
                workspace,
                from: args.from,
                to: args.to,
                types: args.types,
            };
            let mut audit = audit()?;
            let spinner = ProgressBar::new_spinner().with_message("replay starting");
            spinner.enable_steady_tick(Duration::from_millis(200));
            let done = replay
                .run(&clients.events, |state| {
                    spinner.set_message(format!("replay {state}"))
                })
                .await
                .map_err(OpsError::Aws)?;
            spinner.finish_and_clear();
            audit.append(&Record::action(
                "replay",
                &replay.archive(),
                Some(&replay.bus()),
                format!(
                    "replay {} of {}..{} types {:?}: {}{}",
                    done.name,
                    args.from,
                    args.to,
                    replay.types,
                    done.state,
                    done.reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                ),
                Utc::now(),
            ))?;
            audit.sync()?;
            println!(
                "replay {} of {} from {} to {}{}: {}",
                done.name,
                replay.archive(),
                args.from,
                args.to,
                if replay.types.is_empty() {
                    String::new()
                } else {
                    format!(" (types {})", replay.types.join(", "))
                },
                done.state
            );
            if done.state == "COMPLETED" {
                Ok(ExitCode::SUCCESS)
            } else {
                Err(OpsError::ReplayEnded {
                    name: done.name,
                    state: done.state,
                    reason: done.reason.unwrap_or_default(),
                })
            }
        }
    }
}

pub(crate) fn short<'a>(ws: &Workspace, name: &'a str) -> &'a str {
    name.strip_prefix(&ws.prefix).unwrap_or(name)
}

pub(crate) fn age(letter_age: Duration) -> String {
    humantime::format_duration(Duration::from_secs(letter_age.as_secs())).to_string()
}

/// What the operator must know when a read is not the whole DLQ.
pub(crate) fn sample_note(scan: &Scan, dlq: &Dlq) -> String {
    if scan.complete {
        return String::new();
    }
    format!(
        "; a SAMPLE: {} of about {} letters were read (the read stopped at its --limit / --scan{})",
        scan.letters.len(),
        depth(&dlq.queue),
        if scan.lapsed > 0 {
            ", or at a hold that could not be kept"
        } else {
            ""
        }
    )
}

pub(crate) fn print_letter(letter: &Letter, json: bool) -> Result<(), OpsError> {
    if json {
        println!("{}", serde_json::to_string(letter)?);
    } else {
        let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
        println!(
            "{}  {}  event {}  correlation {}  {}  failed {}  received {}x  redriven {}x\n    {}",
            letter.message_id,
            letter.kind_of_body,
            dash(&letter.event_id),
            dash(&letter.correlation_id),
            letter.error_kind,
            letter
                .failed_at
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| "-".into()),
            letter.receive_count,
            letter.redrive_count,
            dash(&letter.error_message),
        );
    }
    Ok(())
}

impl Clients {
    /// The clients, once credentials are known to exist (a clear error otherwise).
    pub async fn new(aws: &aws_config::SdkConfig) -> Result<Self, OpsError> {
        use aws_credential_types::provider::ProvideCredentials;
        let provider = aws.credentials_provider().ok_or_else(|| {
            OpsError::NoCredentials("no credentials provider is configured".into())
        })?;
        provider
            .provide_credentials()
            .await
            .map_err(|e| OpsError::NoCredentials(e.to_string()))?;
        if aws.region().is_none() {
            return Err(OpsError::NoRegion);
        }
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        let caller = aws_sdk_sts::Client::new(aws)
            .get_caller_identity()
            .send()
            .await;
        let who = match caller {
            Ok(c) => format!("{user} ({})", c.arn().unwrap_or("unknown ARN")),
            Err(e) => return Err(OpsError::CredentialsRefused(domain::error::chain(&e))),
        };
        Ok(Self {
            sqs: aws_sdk_sqs::Client::new(aws),
            events: aws_sdk_eventbridge::Client::new(aws),
            streams: aws_sdk_dynamodbstreams::Client::new(aws),
            who,
        })
    }
}

/// The workspace's queues, for the commands that work on its DLQs.
async fn queues_of(
    client: &aws_sdk_sqs::Client,
    workspace: &str,
) -> Result<(Sqs, Workspace), OpsError> {
    let sqs = Sqs {
        client: client.clone(),
    };
    let ws = Workspace::discover(&sqs.client, workspace)
        .await
        .map_err(OpsError::Aws)?;
    Ok((sqs, ws))
}
