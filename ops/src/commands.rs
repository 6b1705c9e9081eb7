//! What each command does, over the SDK clients main builds.

use std::io::{BufRead, IsTerminal, Write};
use std::num::NonZeroU32;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};

use crate::audit::{Audit, Record};
use crate::cli::{
    Cli, Command, DlqCommand, EventsCommand, ListArgs, Mode, PeekArgs, PurgeArgs, RedriveArgs,
};
use crate::dlq::{move_letters, peek, Move, Pace, Progress, Route, Scan};
use crate::letter::{Filter, Letter, Summary};
use crate::replay::Replay;
use crate::sqs::{depth, Dlq, Native, Sqs, Workspace};

/// How long a redrive's dry run holds each letter it reads at a time (renewed while it reads; released when done).
const DRY_RUN_HOLD: Duration = Duration::from_secs(60);

/// The SDK clients and who is acting.
pub struct Clients {
    pub sqs: aws_sdk_sqs::Client,
    pub events: aws_sdk_eventbridge::Client,
    /// Who acts, for the audit log (the caller's ARN and the local user).
    pub who: String,
}

pub async fn run(cli: Cli, clients: Clients) -> Result<ExitCode> {
    let workspace = cli
        .workspace
        .clone()
        .ok_or_else(|| anyhow!("no workspace: pass --workspace <name> or set ECOBID_WORKSPACE"))?;
    let audit_path = cli
        .audit_log
        .clone()
        .unwrap_or_else(crate::audit::default_path);
    let audit = || {
        Audit::open(&audit_path, clients.who.clone())
            .with_context(|| format!("cannot open the audit log {}", audit_path.display()))
    };
    match cli.command {
        Command::Dlq(command) => {
            let sqs = Sqs {
                client: clients.sqs.clone(),
            };
            let ws = Workspace::discover(&sqs.client, &workspace)
                .await
                .map_err(|e| anyhow!(e))?;
            match command {
                DlqCommand::List(args) => list(&sqs, &ws, &args).await,
                DlqCommand::Peek(args) => peek_command(&sqs, &ws, &args).await,
                DlqCommand::Redrive(args) => redrive(&sqs, &ws, &args, audit).await,
                DlqCommand::Purge(args) => purge(&sqs, &ws, &args, audit).await,
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
                .map_err(|e| anyhow!(e))?;
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
                bail!(
                    "replay {} ended {}: {}",
                    done.name,
                    done.state,
                    done.reason.unwrap_or_default()
                )
            }
        }
    }
}

fn short<'a>(ws: &Workspace, name: &'a str) -> &'a str {
    name.strip_prefix(&ws.prefix).unwrap_or(name)
}

fn age(letter_age: Duration) -> String {
    humantime::format_duration(Duration::from_secs(letter_age.as_secs())).to_string()
}

async fn list(sqs: &Sqs, ws: &Workspace, args: &ListArgs) -> Result<ExitCode> {
    let now = Utc::now();
    let mut rows = vec![];
    for dlq in ws.dlqs() {
        let scan = if depth(&dlq.queue) > 0 {
            peek(sqs, &dlq.queue.url, args.scan, args.hold.hold)
                .await
                .map_err(|e| anyhow!(e))?
        } else {
            Scan::empty()
        };
        rows.push((dlq, Summary::of(&scan.letters), scan.complete));
    }
    if args.json {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|(d, s, complete)| {
                serde_json::json!({
                    "dlq": d.queue.name,
                    "url": d.queue.url,
                    "sources": d.sources.iter().map(|s| &s.name).collect::<Vec<_>>(),
                    "depth": depth(&d.queue),
                    "oldestFailedAt": s.oldest_failed_at,
                    "oldestAgeSeconds": s.oldest_failed_at.map(|t| (now - t).num_seconds().max(0)),
                    "errorKinds": s.error_kinds.iter().map(|(k, n)| serde_json::json!({"kind": k, "count": n})).collect::<Vec<_>>(),
                    "scanned": s.scanned,
                    // The counts are of every letter read; a sample when the read could not go through them all.
                    "sample": !complete,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<26} {:<34} {:>6} {:>14} {:>12}  TOP ERROR KINDS",
        "DLQ", "FED BY", "DEPTH", "READ", "OLDEST"
    );
    for (d, s, complete) in &rows {
        let fed_by = if d.sources.is_empty() {
            "EventBridge targets".to_owned()
        } else {
            d.sources
                .iter()
                .map(|s| short(ws, &s.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let oldest = s
            .oldest_failed_at
            .map(|t| age((now - t).to_std().unwrap_or_default()))
            .unwrap_or_else(|| "-".into());
        let kinds: Vec<String> = s
            .error_kinds
            .iter()
            .take(3)
            .map(|(k, n)| format!("{k} ({n})"))
            .collect();
        let read = if *complete {
            s.scanned.to_string()
        } else {
            format!("{} (sample)", s.scanned)
        };
        println!(
            "{:<26} {:<34} {:>6} {:>14} {:>12}  {}",
            short(ws, &d.queue.name),
            fed_by,
            depth(&d.queue),
            read,
            oldest,
            if kinds.is_empty() {
                "-".into()
            } else {
                kinds.join(", ")
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// What the operator must know when a read is not the whole DLQ.
fn sample_note(scan: &Scan, dlq: &Dlq) -> String {
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

fn print_letter(letter: &Letter, json: bool) -> Result<()> {
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

async fn peek_command(sqs: &Sqs, ws: &Workspace, args: &PeekArgs) -> Result<ExitCode> {
    let dlq = ws.dlq(&args.selection.queue)?;
    let filter = Filter(args.selection.filters.clone());
    let now = Utc::now();
    let scan = peek(sqs, &dlq.queue.url, args.limit, args.hold.hold)
        .await
        .map_err(|e| anyhow!(e))?;
    let matching: Vec<&Letter> = scan
        .letters
        .iter()
        .filter(|l| filter.matches(l, now))
        .collect();
    for l in &matching {
        print_letter(l, args.json)?;
    }
    eprintln!(
        "{} of {} letters read from {} match the filter {} (none was consumed){}",
        matching.len(),
        scan.letters.len(),
        dlq.queue.name,
        filter,
        sample_note(&scan, &dlq)
    );
    Ok(ExitCode::SUCCESS)
}

/// Where letters go: one queue, or (the event bus's DLQ) each letter's TARGET_ARN within the workspace.
enum Target {
    Queue { url: String },
    PerLetter(Vec<(String, String)>),
}

impl Route for Target {
    fn target(&self, letter: &Letter) -> Result<String, String> {
        match self {
            Target::Queue { url } => Ok(url.clone()),
            Target::PerLetter(arns) => {
                let arn = letter
                    .target_arn
                    .as_deref()
                    .ok_or("the letter names no target (no TARGET_ARN attribute): use --to")?;
                arns.iter()
                    .find(|(a, _)| a == arn)
                    .map(|(_, url)| url.clone())
                    .ok_or_else(|| {
                        format!("its target {arn} is not a queue of the workspace: use --to")
                    })
            }
        }
    }
}

struct Rate(Option<governor::DefaultDirectRateLimiter>);

impl Pace for Rate {
    async fn wait(&self, n: usize) {
        if let Some(limiter) = &self.0 {
            for _ in 0..n {
                limiter.until_ready().await;
            }
        }
    }
}

fn target_of(
    ws: &Workspace,
    dlq: &Dlq,
    to: Option<&str>,
) -> Result<(Target, String, Option<String>)> {
    if let Some(to) = to {
        let q = ws.queue(to)?;
        if q.arn == dlq.queue.arn {
            bail!("--to {to} is the DLQ itself");
        }
        return Ok((
            Target::Queue { url: q.url.clone() },
            q.name.clone(),
            Some(q.arn.clone()),
        ));
    }
    match dlq.sources.as_slice() {
        [one] => Ok((
            Target::Queue {
                url: one.url.clone(),
            },
            one.name.clone(),
            None,
        )),
        [] => Ok((
            Target::PerLetter(
                ws.queues
                    .iter()
                    .map(|q| (q.arn.clone(), q.url.clone()))
                    .collect(),
            ),
            "the target queue each letter names".into(),
            None,
        )),
        several => bail!(
            "{} is fed by several queues ({}): choose one with --to",
            dlq.queue.name,
            several
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

async fn redrive(
    sqs: &Sqs,
    ws: &Workspace,
    args: &RedriveArgs,
    audit: impl Fn() -> Result<Audit>,
) -> Result<ExitCode> {
    let dlq = ws.dlq(&args.selection.queue)?;
    let filter = Filter(args.selection.filters.clone());
    let (target, target_name, to_arn) = target_of(ws, &dlq, args.to.as_deref())?;
    let native_possible = filter.is_empty() && args.limit.is_none() && !dlq.sources.is_empty();
    if args.mode == Mode::Native && !native_possible {
        bail!(
            "--mode native needs no --filter, no --limit and an SQS-fed DLQ ({} is fed by {})",
            dlq.queue.name,
            dlq.fed_by()
        );
    }
    if !args.yes {
        return dry_run(
            sqs,
            &dlq,
            &filter,
            args,
            &target,
            &target_name,
            native_possible,
        )
        .await;
    }
    let mut audit = audit()?;
    if native_possible && args.mode != Mode::PerMessage {
        match sqs
            .start_move_task(&dlq.queue.arn, to_arn.as_deref(), args.rate)
            .await
            .map_err(|e| anyhow!(e))?
        {
            Native::Started { task_handle } => {
                return native_move(sqs, &dlq, &target_name, &task_handle, &mut audit).await;
            }
            Native::Unavailable(answer) if args.mode == Mode::Native => {
                bail!("SQS's move task is not available on this endpoint ({answer}): nothing moved; use --mode per-message")
            }
            Native::Unavailable(answer) => {
                eprintln!("SQS's move task is not available on this endpoint ({answer}): moving message by message");
            }
        }
    }
    let rate = Rate(args.rate.map(|r| {
        governor::RateLimiter::direct(governor::Quota::per_second(
            NonZeroU32::new(r).unwrap_or(NonZeroU32::MIN),
        ))
    }));
    let bar = ProgressBar::new(depth(&dlq.queue)).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} read · {msg} · {per_sec} · ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let audit_path = audit.path().to_owned();
    let progress = move_letters(
        sqs,
        &rate,
        Move {
            dlq_url: &dlq.queue.url,
            dlq_name: &dlq.queue.name,
            route: &target,
            filter: &filter,
            limit: args.limit,
            hold: args.hold,
            audit: &mut audit,
            now: Utc::now,
        },
        |p: &Progress| {
            bar.set_position(p.scanned as u64);
            bar.set_message(format!(
                "moved {} · left {} · failed {}",
                p.moved,
                p.kept,
                p.failed.len()
            ));
        },
    )
    .await;
    bar.finish_and_clear();
    let progress = progress.map_err(|e| {
        anyhow!(
            "the redrive stopped: {e} (nothing is lost: what was not deleted is still in {})",
            dlq.queue.name
        )
    })?;
    println!(
        "moved {} letters from {} to {} (filter {}); {} left in the DLQ; audit: {}{}",
        progress.moved,
        dlq.queue.name,
        target_name,
        filter,
        progress.kept + progress.failed.len(),
        audit_path.display(),
        if progress.complete || args.limit.is_some() {
            String::new()
        } else {
            format!(
                "; the move stopped before reading every letter ({} read): run it again",
                progress.scanned
            )
        }
    );
    if progress.failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for (id, why) in &progress.failed {
        eprintln!("not moved: {id}: {why}");
    }
    bail!(
        "{} matching letters could not be moved (listed above)",
        progress.failed.len()
    )
}

async fn dry_run(
    sqs: &Sqs,
    dlq: &Dlq,
    filter: &Filter,
    args: &RedriveArgs,
    target: &Target,
    target_name: &str,
    native_possible: bool,
) -> Result<ExitCode> {
    let now = Utc::now();
    let scan = peek(sqs, &dlq.queue.url, usize::MAX, DRY_RUN_HOLD)
        .await
        .map_err(|e| anyhow!(e))?;
    let mut would = 0;
    for l in scan.letters.iter().filter(|l| filter.matches(l, now)) {
        if args.limit.is_some_and(|n| would >= n) {
            break;
        }
        would += 1;
        let to = match target {
            Target::Queue { .. } => target_name.to_owned(),
            Target::PerLetter(_) => target
                .target(l)
                .unwrap_or_else(|e| format!("(cannot move: {e})")),
        };
        println!(
            "would move {}  {}  event {}  {}  -> {}",
            l.message_id,
            l.kind_of_body,
            l.event_id.as_deref().unwrap_or("-"),
            l.error_kind,
            to
        );
    }
    let how = if native_possible && args.mode != Mode::PerMessage {
        "SQS's move task where the endpoint offers it, else message by message"
    } else {
        "message by message"
    };
    println!(
        "dry run: {would} of {} letters in {} match the filter {} and would move to {target_name} ({how}); nothing moved: add --yes to move them{}",
        scan.letters.len(),
        dlq.queue.name,
        filter,
        sample_note(&scan, dlq)
    );
    Ok(ExitCode::SUCCESS)
}

async fn native_move(
    sqs: &Sqs,
    dlq: &Dlq,
    target_name: &str,
    task: &str,
    audit: &mut Audit,
) -> Result<ExitCode> {
    audit.append(&Record::action(
        "move-task",
        &dlq.queue.name,
        Some(target_name),
        format!(
            "StartMessageMoveTask {task}: all {} letters",
            depth(&dlq.queue)
        ),
        Utc::now(),
    ))?;
    audit.sync()?;
    let bar = ProgressBar::new(depth(&dlq.queue));
    loop {
        let (status, moved, to_move, reason) = sqs
            .move_task(&dlq.queue.arn, task)
            .await
            .map_err(|e| anyhow!(e))?;
        if let Some(n) = to_move {
            bar.set_length(n as u64);
        }
        bar.set_position(moved as u64);
        match status.as_str() {
            "COMPLETED" => {
                bar.finish_and_clear();
                println!(
                    "SQS's move task moved {moved} letters from {} to {target_name}",
                    dlq.queue.name
                );
                return Ok(ExitCode::SUCCESS);
            }
            "FAILED" | "CANCELLED" => {
                bar.finish_and_clear();
                bail!(
                    "SQS's move task {status} after {moved} letters: {}",
                    reason.unwrap_or_default()
                )
            }
            _ => tokio::time::sleep(Duration::from_secs(2)).await,
        }
    }
}

async fn purge(
    sqs: &Sqs,
    ws: &Workspace,
    args: &PurgeArgs,
    audit: impl Fn() -> Result<Audit>,
) -> Result<ExitCode> {
    let dlq = ws.dlq(&args.queue)?;
    if !args.yes {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            bail!(
                "refusing to purge {} without confirmation: pass --yes (stdin is not a terminal)",
                dlq.queue.name
            );
        }
        eprint!(
            "This deletes all {} letters of {} for good. Type its name to confirm: ",
            depth(&dlq.queue),
            dlq.queue.name
        );
        std::io::stderr().flush()?;
        let mut typed = String::new();
        stdin.lock().read_line(&mut typed)?;
        if typed.trim() != dlq.queue.name {
            bail!(
                "not confirmed ({:?} is not {}): nothing purged",
                typed.trim(),
                dlq.queue.name
            );
        }
    }
    let mut audit = audit()?;
    // Logged before the act: a purge that fails after this line is retried by running it again.
    audit.append(&Record::action(
        "purge",
        &dlq.queue.name,
        None,
        format!("PurgeQueue: about {} letters", depth(&dlq.queue)),
        Utc::now(),
    ))?;
    audit.sync()?;
    sqs.purge(&dlq.queue.url).await.map_err(|e| anyhow!(e))?;
    println!(
        "purged {} (about {} letters); audit: {}",
        dlq.queue.name,
        depth(&dlq.queue),
        audit.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

impl Clients {
    /// The clients, once credentials are known to exist (a clear error otherwise).
    pub async fn new(aws: &aws_config::SdkConfig) -> Result<Self> {
        use aws_credential_types::provider::ProvideCredentials;
        let provider = aws
            .credentials_provider()
            .ok_or_else(|| anyhow!("no AWS credentials provider is configured"))?;
        provider.provide_credentials().await.map_err(|e| {
            anyhow!("no AWS credentials ({e}): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        })?;
        if aws.region().is_none() {
            bail!("no AWS region: set AWS_REGION (or a region in the profile)");
        }
        let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        let caller = aws_sdk_sts::Client::new(aws)
            .get_caller_identity()
            .send()
            .await;
        let who = match caller {
            Ok(c) => format!("{user} ({})", c.arn().unwrap_or("unknown ARN")),
            Err(e) => bail!(
                "the credentials were refused ({}): nothing done",
                one_line(&anyhow!(e))
            ),
        };
        Ok(Self {
            sqs: aws_sdk_sqs::Client::new(aws),
            events: aws_sdk_eventbridge::Client::new(aws),
            who,
        })
    }
}

/// An error and its causes on one line (the SDK's service errors with their code and message).
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = vec![];
    for cause in e.chain() {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::letter::{Attribute, Received, EVENTBRIDGE_TARGET_ARN};

    fn letter(attributes: &[(&str, &str)]) -> Letter {
        Letter::decode(&Received {
            message_id: "m".into(),
            receipt_handle: "h".into(),
            body: "{}".into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Attribute::string(*v)))
                .collect(),
            receive_count: 1,
            sent_at: None,
        })
    }

    #[test]
    fn the_bus_dlq_s_letters_go_back_to_the_queue_each_names() {
        let route = Target::PerLetter(vec![("arn:q1".into(), "https://sqs/q1".into())]);
        let named = letter(&[(EVENTBRIDGE_TARGET_ARN, "arn:q1")]);
        assert_eq!(named.target_arn.as_deref(), Some("arn:q1"));
        assert_eq!(route.target(&named), Ok("https://sqs/q1".into()));
        let elsewhere = letter(&[(EVENTBRIDGE_TARGET_ARN, "arn:other")]);
        assert!(route
            .target(&elsewhere)
            .unwrap_err()
            .contains("not a queue of the workspace"));
        assert!(route.target(&letter(&[])).unwrap_err().contains("use --to"));
    }
}
