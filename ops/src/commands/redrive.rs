//! `dlq redrive`: letters back to the queue that failed them (or `--to` another), a dry run unless `--yes`,
//! in the order that cannot lose one; SQS's own move task where it applies.

use std::num::NonZeroU32;
use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};

use super::{sample_note, DRY_RUN_HOLD};
use crate::audit::{Audit, Record};
use crate::cli::{Mode, RedriveArgs};
use crate::dlq::{move_letters, peek, Move, Pace, Progress, Route};
use crate::error::OpsError;
use crate::letter::{Filter, Letter};
use crate::sqs::{depth, Dlq, Native, Sqs, Workspace};

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
) -> Result<(Target, String, Option<String>), OpsError> {
    if let Some(to) = to {
        let q = ws.queue(to)?;
        if q.arn == dlq.queue.arn {
            return Err(OpsError::Usage(format!("--to {to} is the DLQ itself")));
        }
        return Ok((
            Target::Queue { url: q.url.clone() },
            q.name.clone(),
            Some(q.arn.clone()),
        ));
    }
    match dlq.sources.as_slice() {
        // The destination is named even when it is the only source: SQS's move task, left without one,
        // sends each message back to the queue SQS itself moved it from, which letters the runtime sent to
        // the DLQ (permanent failures, last receives) do not have.
        [one] => Ok((
            Target::Queue {
                url: one.url.clone(),
            },
            one.name.clone(),
            Some(one.arn.clone()),
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
        several => Err(OpsError::Usage(format!(
            "{} is fed by several queues ({}): choose one with --to",
            dlq.queue.name,
            several
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

pub(super) async fn run(
    sqs: &Sqs,
    ws: &Workspace,
    args: &RedriveArgs,
    audit: impl Fn() -> Result<Audit, OpsError>,
) -> Result<ExitCode, OpsError> {
    let dlq = ws.dlq(&args.selection.queue)?;
    let filter = Filter(args.selection.filters.clone());
    let (target, target_name, to_arn) = target_of(ws, &dlq, args.to.as_deref())?;
    // SQS's move task takes only DLQs whose sources are SQS queues (not the bus's), and is always given its
    // destination.
    let native_possible =
        filter.is_empty() && args.limit.is_none() && !dlq.sources.is_empty() && to_arn.is_some();
    if args.mode == Mode::Native && !native_possible {
        return Err(OpsError::Usage(format!(
            "--mode native needs no --filter, no --limit and an SQS-fed DLQ ({} is fed by {})",
            dlq.queue.name,
            dlq.fed_by()
        )));
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
    if let (true, false, Some(to_arn)) = (native_possible, args.mode == Mode::PerMessage, &to_arn) {
        match sqs
            .start_move_task(&dlq.queue.arn, to_arn, args.rate)
            .await
            .map_err(OpsError::Aws)?
        {
            Native::Started { task_handle } => {
                return native_move(sqs, &dlq, &target_name, &task_handle, &mut audit).await;
            }
            Native::Unavailable(answer) if args.mode == Mode::Native => {
                return Err(OpsError::Usage(format!("SQS's move task is not available on this endpoint ({answer}): nothing moved; use --mode per-message")))
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
    let progress = progress.map_err(|e| OpsError::Stopped {
        cause: e,
        dlq: dlq.queue.name.clone(),
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
    Err(OpsError::NotMoved(progress.failed.len()))
}

async fn dry_run(
    sqs: &Sqs,
    dlq: &Dlq,
    filter: &Filter,
    args: &RedriveArgs,
    target: &Target,
    target_name: &str,
    native_possible: bool,
) -> Result<ExitCode, OpsError> {
    let now = Utc::now();
    let scan = peek(sqs, &dlq.queue.url, usize::MAX, DRY_RUN_HOLD)
        .await
        .map_err(OpsError::Aws)?;
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
) -> Result<ExitCode, OpsError> {
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
            .map_err(OpsError::Aws)?;
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
                return Err(OpsError::Aws(
                    format!(
                        "SQS's move task {status} after {moved} letters: {}",
                        reason.unwrap_or_default()
                    )
                    .into(),
                ));
            }
            _ => tokio::time::sleep(Duration::from_secs(2)).await,
        }
    }
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
