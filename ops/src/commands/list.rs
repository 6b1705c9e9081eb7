//! `dlq list`: every DLQ of the workspace, what feeds it, its depth, its oldest letter and its top error kinds,
//! counted exactly from a read of its letters (or said to be a sample).

use std::process::ExitCode;

use chrono::Utc;

use super::{age, short};
use crate::cli::ListArgs;
use crate::dlq::{peek, Scan};
use crate::error::OpsError;
use crate::letter::Summary;
use crate::sqs::{depth, Sqs, Workspace};

pub(super) async fn run(sqs: &Sqs, ws: &Workspace, args: &ListArgs) -> Result<ExitCode, OpsError> {
    let now = Utc::now();
    let mut rows = vec![];
    for dlq in ws.dlqs() {
        let scan = if depth(&dlq.queue) > 0 {
            peek(sqs, &dlq.queue.url, args.scan, args.hold.hold)
                .await
                .map_err(OpsError::Aws)?
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
            d.feeder().to_owned()
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
