//! The command line (clap). Every command works on one workspace's queues, found by name
//! (`ecobid-<workspace>-*`), with the standard AWS credential chain and region; `AWS_ENDPOINT_URL` points it
//! at the local stack.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::letter::{filter_help, Condition};

#[derive(Debug, Parser)]
#[command(
    name = "ecobid-ops",
    version,
    about = "Inspect, redrive and purge EcoBid's dead-letter queues, and replay archived events, without losing a message.",
    long_about = "Inspect, redrive and purge EcoBid's dead-letter queues, and replay archived events, without losing a message.\n\n\
Works on one workspace's queues (named ecobid-<workspace>-*), in AWS with the standard credential chain \
(AWS_PROFILE, AWS_REGION, ...) or on the local stack (AWS_ENDPOINT_URL=http://127.0.0.1:4566). \
A queue is named in full (ecobid-dev-images-dlq), without the workspace prefix (images-dlq), or by URL or ARN.",
    after_help = "Examples:\n  \
ecobid-ops -w dev dlq list\n  \
ecobid-ops -w dev dlq peek notifications-dlq --filter kind=rejected --filter older-than=1h\n  \
ecobid-ops -w dev dlq redrive images-dlq --filter type=s3:ObjectCreated          (dry run: prints what would move)\n  \
ecobid-ops -w dev dlq redrive images-dlq --filter type=s3:ObjectCreated --yes --rate 20\n  \
ecobid-ops -w dev dlq purge events-dlq\n  \
ecobid-ops -w dev outbox list\n  \
ecobid-ops -w dev outbox replay --yes\n  \
ecobid-ops -w dev events replay --from 2026-11-21T08:00:00Z --to 2026-11-21T09:00:00Z --type ItemCreated"
)]
pub struct Cli {
    /// The Terraform workspace whose queues to work on (dev, staging, prod, ...).
    #[arg(short, long, env = "ECOBID_WORKSPACE", global = true, value_parser = workspace_name)]
    pub workspace: Option<String>,

    /// The append-only JSONL audit log (one line per message moved, per purge, per replay).
    /// Default: $XDG_STATE_HOME/ecobid/ops-audit.jsonl, or ~/.local/state/ecobid/ops-audit.jsonl.
    #[arg(long, env = "ECOBID_OPS_AUDIT_LOG", global = true, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Dead-letter queues: list, peek, redrive, purge.
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Events on the bus: replay from the archive.
    #[command(subcommand)]
    Events(EventsCommand),
    /// The outbox DLQ: the stream batches the publisher gave up on, their events read back from the stream.
    #[command(subcommand)]
    Outbox(OutboxCommand),
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Each letter of the outbox DLQ (a shard and a range of stream records Lambda gave up on) with the
    /// events of those records, read back from the stream (kept 24 h): publishable, or why never.
    ///
    /// Reads the letters without consuming them (each is made visible again at once).
    List(OutboxListArgs),
    /// Puts the events of each letter on the bus again, then deletes the letter: a dry run unless --yes.
    ///
    /// A letter holding a record that can never be published, or whose records the stream no longer has,
    /// stays in the DLQ (and is listed with why). Consumers de-duplicate on the event id.
    Replay(OutboxReplayArgs),
}

#[derive(Debug, Args)]
pub struct OutboxListArgs {
    /// Print JSON lines (one letter each) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Letters read at most.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub limit: usize,
    #[command(flatten)]
    pub hold: HoldArg,
}

#[derive(Debug, Args)]
pub struct OutboxReplayArgs {
    /// Act. Without it, only print what would be put on the bus.
    #[arg(long)]
    pub yes: bool,
    /// How long letters being replayed stay hidden from other consumers (released at the end, or visible
    /// again by themselves after this if the command dies).
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub hold: std::time::Duration,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Every DLQ of the workspace: what feeds it, its depth, its oldest letter's age and its top error kinds.
    ///
    /// The ages and error kinds come from reading the letters without consuming them (each is made visible
    /// again at once), up to --scan letters per DLQ.
    List(ListArgs),
    /// Shows a DLQ's letters, decoded, without consuming them (each is made visible again at once).
    ///
    /// Each letter: its type (event type, s3:ObjectCreated, due:<step>), event id, correlation id, error kind
    /// and message, when it failed, how often it was received and redriven.
    Peek(PeekArgs),
    /// Moves letters back to the queue that failed them (or --to another): a dry run unless --yes.
    ///
    /// Safe order, per batch of 10: send to the target (attributes kept, the failure's dropped, redrive.count
    /// incremented), append one audit line per message sent, then delete those from the DLQ. Killed at any point, a
    /// letter is in the DLQ, in the target, or (at worst) in both: never lost. Without a filter or a limit,
    /// from an SQS-fed DLQ, SQS's own move task is used where the endpoint offers it (--mode).
    Redrive(RedriveArgs),
    /// Deletes every letter of a DLQ, after confirmation (type the queue's name, or --yes). Audit-logged.
    Purge(PurgeArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON (one array) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Letters read per DLQ for ages and error kinds (beyond it, the figures are a sample, and say so).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub scan: usize,
    #[command(flatten)]
    pub hold: HoldArg,
}

#[derive(Debug, Args)]
pub struct HoldArg {
    /// How long each letter read is hidden from other consumers at a time: renewed while the read runs, so
    /// counts stay exact however long it takes; released at the end (if the command dies, letters reappear
    /// after this).
    #[arg(long = "hold", default_value = "60s", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub hold: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct Selection {
    /// The DLQ: full name, name without the workspace prefix (images-dlq), URL or ARN.
    pub queue: String,
    #[arg(long = "filter", value_name = "KEY=VALUE", help = filter_help())]
    pub filters: Vec<Condition>,
}

#[derive(Debug, Args)]
pub struct PeekArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Letters read at most (the filter applies to those).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub limit: usize,
    /// Print JSON lines (one letter each) instead of a table.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub hold: HoldArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// SQS's move task when possible (no filter, no limit, SQS-fed DLQ, offered by the endpoint), else per message.
    Auto,
    /// SQS's move task only: an error if it cannot be used.
    Native,
    /// Message by message, with the audit line per message.
    PerMessage,
}

#[derive(Debug, Args)]
pub struct RedriveArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Where to send them (a queue of the workspace). Default: the queue whose redrive policy feeds the DLQ;
    /// for the event bus's DLQ, the target queue each letter names.
    #[arg(long, value_name = "QUEUE")]
    pub to: Option<String>,
    /// Move at most N letters.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Send at most N letters per second.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=500))]
    pub rate: Option<u32>,
    /// Act. Without it, only print exactly what would move.
    #[arg(long)]
    pub yes: bool,
    /// How to move: SQS's own move task, message by message, or the first that applies.
    #[arg(long, value_enum, default_value_t = Mode::Auto)]
    pub mode: Mode,
    /// How long letters being looked at stay hidden from other consumers (they are released at the end, or
    /// reappear by themselves after this if the command dies).
    #[arg(long, default_value = "5m", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub hold: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// The DLQ: full name, name without the workspace prefix, URL or ARN.
    pub queue: String,
    /// Do not ask for the queue's name to confirm.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Replays the archived events of a time window onto the workspace's bus (EventBridge's replay); with
    /// --type, only to those types' rules, so only those events are delivered again.
    ///
    /// Consumers are idempotent: an event they already handled is recognised by its id.
    Replay(ReplayArgs),
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Start of the window (RFC 3339, e.g. 2026-11-21T08:00:00Z).
    #[arg(long, value_name = "TIME")]
    pub from: DateTime<Utc>,
    /// End of the window (RFC 3339).
    #[arg(long, value_name = "TIME")]
    pub to: DateTime<Utc>,
    /// Only this event type (repeatable), e.g. ItemCreated.
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
}

fn workspace_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 16
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(s.to_owned())
    } else {
        Err("a workspace name is 1-16 lowercase letters or digits, starting with a letter".into())
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent_and_every_command_is_described() {
        Cli::command().debug_assert();
        fn walk(cmd: &clap::Command, path: &str) {
            for sub in cmd.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                assert!(sub.get_about().is_some(), "{path} has no help");
                for arg in sub.get_arguments() {
                    if arg.get_id() != "help" && arg.get_id() != "version" {
                        assert!(
                            arg.get_help().is_some(),
                            "{path} --{} has no help",
                            arg.get_id()
                        );
                    }
                }
                walk(sub, &path);
            }
        }
        walk(&Cli::command(), "ecobid-ops");
    }

    #[test]
    fn filters_and_workspaces_are_checked_when_parsed() {
        let err = Cli::try_parse_from([
            "ecobid-ops",
            "-w",
            "dev",
            "dlq",
            "peek",
            "q",
            "--filter",
            "colour=red",
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown filter key \"colour\""), "{err}");
        let err = Cli::try_parse_from(["ecobid-ops", "-w", "Dev!", "dlq", "list"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("lowercase"), "{err}");
        let ok = Cli::try_parse_from([
            "ecobid-ops",
            "-w",
            "dev",
            "dlq",
            "redrive",
            "images-dlq",
            "--filter",
            "type=ItemCreated",
            "--rate",
            "5",
        ])
        .expect("parses");
        let Command::Dlq(DlqCommand::Redrive(r)) = ok.command else {
            panic!("redrive")
        };
        assert!(!r.yes, "a dry run unless --yes");
        assert_eq!(r.mode, Mode::Auto);
        assert_eq!(
            r.selection.filters,
            vec![Condition::Type("ItemCreated".into())]
        );
    }
}
