//! `outbox list` and `outbox replay`: the stream batches the publisher's mapping gave up on, and their events.

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use stream_publisher::{publish_all, retry_delays, EventBridgeBus};

use super::age;
use crate::audit::{Audit, Record};
use crate::cli::{OutboxListArgs, OutboxReplayArgs};
use crate::dlq::{peek, Held, Queues};
use crate::error::OpsError;
use crate::outbox::{read, FailureRecord, Records, DLQ};
use crate::sqs::{Sqs, Workspace};

/// How long a replay retries the bus refusing an event before it leaves the letter for later.
const BUS_RETRY_WINDOW: Duration = Duration::from_secs(10);

fn describe(records: &Result<Records, String>) -> Vec<String> {
    match records {
        Err(e) => vec![format!("  (records unreadable: {e})")],
        Ok(r) => {
            let mut lines: Vec<String> = r
                .events
                .iter()
                .map(|p| {
                    format!(
                        "  {}  {}  event {}  correlation {}  {} bytes  publishable",
                        p.sequence,
                        p.envelope.event_type(),
                        p.envelope.id,
                        p.envelope.correlation_id,
                        p.size()
                    )
                })
                .collect();
            lines.extend(
                r.poisoned
                    .iter()
                    .map(|p| format!("  {}  NEVER PUBLISHABLE: {}", p.sequence, p.reason)),
            );
            if r.others > 0 {
                lines.push(format!(
                    "  (and {} record(s) that are not outbox events)",
                    r.others
                ));
            }
            lines
        }
    }
}

pub(super) async fn list(
    sqs: &Sqs,
    streams: &aws_sdk_dynamodbstreams::Client,
    ws: &Workspace,
    args: &OutboxListArgs,
) -> Result<ExitCode, OpsError> {
    let dlq = ws.dlq(DLQ)?;
    let scan = peek(sqs, &dlq.queue.url, args.limit, args.hold.hold)
        .await
        .map_err(OpsError::Aws)?;
    let now = Utc::now();
    for letter in &scan.letters {
        let Some(failure) = FailureRecord::parse(&letter.body) else {
            // A record the publisher itself could never publish, with why.
            if args.json {
                println!(
                    "{}",
                    json!({"messageId": letter.message_id, "neverPublishable": [letter]})
                );
            } else {
                println!(
                    "{}  NEVER PUBLISHABLE, {} ago: {} event {}: {}\n  {}",
                    letter.message_id,
                    age(letter.age(now)),
                    letter.kind_of_body,
                    letter.event_id.as_deref().unwrap_or("(unknown id)"),
                    letter.error_message.as_deref().unwrap_or("(no reason)"),
                    letter.body
                );
            }
            continue;
        };
        let records = read(streams, &failure).await.map_err(|e| e.to_string());
        if args.json {
            let events: Vec<_> = records.as_ref().map(|r| r.events.iter().map(|p| json!({"sequence": p.sequence, "eventId": p.envelope.id.to_string(), "type": p.envelope.event_type().as_str(), "correlationId": p.envelope.correlation_id.to_string(), "bytes": p.size()})).collect()).unwrap_or_default();
            let poisoned: Vec<_> = records
                .as_ref()
                .map(|r| {
                    r.poisoned
                        .iter()
                        .map(|p| json!({"sequence": p.sequence, "reason": p.reason}))
                        .collect()
                })
                .unwrap_or_default();
            println!(
                "{}",
                json!({
                    "messageId": letter.message_id,
                    "failure": failure,
                    "events": events,
                    "neverPublishable": poisoned,
                    "unreadable": records.as_ref().err(),
                })
            );
        } else {
            println!(
                "{}  {}, {} ago",
                letter.message_id,
                failure.describe(),
                age(letter.age(now))
            );
            for line in describe(&records) {
                println!("{line}");
            }
        }
    }
    eprintln!(
        "{} letter(s) in {} (none was consumed)",
        scan.letters.len(),
        dlq.queue.name
    );
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn replay(
    sqs: &Sqs,
    streams: &aws_sdk_dynamodbstreams::Client,
    events: &aws_sdk_eventbridge::Client,
    ws: &Workspace,
    args: &OutboxReplayArgs,
    audit: impl FnOnce() -> Result<Audit, OpsError>,
) -> Result<ExitCode, OpsError> {
    let dlq = ws.dlq(DLQ)?;
    // The bus is named like the workspace's prefix (`ecobid-dev`).
    let bus_name = ws.prefix.trim_end_matches('-').to_owned();
    let bus = EventBridgeBus::new(events.clone(), bus_name.clone());
    let mut audit = if args.yes { Some(audit()?) } else { None };
    let mut held = Held::new(&dlq.queue.url, args.hold);
    let (mut replayed, mut kept, mut empty) = (0usize, 0usize, 0);
    let outcome: Result<(), OpsError> = async {
        while empty < 2 {
            let round = held.receive(sqs).await.map_err(OpsError::Aws)?;
            empty = if round.received == 0 { empty + 1 } else { 0 };
            for letter in round.new {
                let id = &letter.message_id;
                let Some(failure) = FailureRecord::parse(&letter.body) else {
                    println!("{id}  kept: a record the publisher can never publish as it is (outbox list says why)");
                    kept += 1;
                    continue;
                };
                let records = match read(streams, &failure).await {
                    Ok(r) if r.poisoned.is_empty() => r,
                    other => {
                        println!("{id}  kept: {}", failure.describe());
                        for line in describe(&other.map_err(|e| e.to_string())) {
                            println!("{line}");
                        }
                        kept += 1;
                        continue;
                    }
                };
                if !args.yes {
                    println!(
                        "{id}  would put {} event(s) on {bus_name}:",
                        records.events.len()
                    );
                    for line in describe(&Ok(records)) {
                        println!("{line}");
                    }
                    replayed += 1;
                    continue;
                }
                let published =
                    publish_all(&bus, &records.events, retry_delays(BUS_RETRY_WINDOW)).await;
                let why = match (&published.unpublished_from, &published.refused_for_good[..]) {
                    (Some(seq), _) => Some(format!("the bus still refuses record {seq}")),
                    (None, [_, ..]) => Some(format!(
                        "the bus refuses {} record(s) for good: {}",
                        published.refused_for_good.len(),
                        published
                            .refused_for_good
                            .iter()
                            .map(|p| p.reason.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    )),
                    (None, []) => None,
                };
                if let Some(why) = why {
                    println!("{id}  kept: {why}");
                    kept += 1;
                    continue;
                }
                // Published: now the letter may go (killed before this, it is replayed again: the events
                // are de-duplicated by their id).
                if let Some(audit) = audit.as_mut() {
                    audit
                        .append(&Record::action(
                            "outbox-replay",
                            &dlq.queue.name,
                            Some(&bus_name),
                            format!("{} event(s): {}", records.events.len(), failure.describe()),
                            Utc::now(),
                        ))
                        .map_err(|source| OpsError::Audit {
                            path: audit.path().to_owned(),
                            source,
                        })?;
                }
                let handle = held.handle(id).unwrap_or_default().to_owned();
                let refused = sqs
                    .delete(&dlq.queue.url, &[handle])
                    .await
                    .map_err(OpsError::Aws)?;
                if let Some((_, why)) = refused.first() {
                    println!("{id}  published, but the letter could not be deleted ({why}): a later replay publishes it again");
                } else {
                    held.forget([id]);
                }
                println!(
                    "{id}  replayed: {} event(s) put on {bus_name}",
                    records.events.len()
                );
                replayed += 1;
            }
        }
        Ok(())
    }
    .await;
    held.release(sqs).await.map_err(OpsError::Aws)?;
    outcome?;
    if kept > 0 {
        // The error says it, on one line; each letter kept was listed with why.
        return Err(OpsError::NotMoved(kept));
    }
    eprintln!(
        "{} letter(s) {}, {kept} kept in {}",
        replayed,
        if args.yes {
            "replayed"
        } else {
            "read (a dry run: --yes to replay)"
        },
        dlq.queue.name
    );
    Ok(ExitCode::SUCCESS)
}
