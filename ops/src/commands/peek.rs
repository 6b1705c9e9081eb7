//! `dlq peek`: a DLQ's letters, decoded and filtered, none consumed.

use std::process::ExitCode;

use chrono::Utc;

use super::{print_letter, sample_note};
use crate::cli::PeekArgs;
use crate::dlq::peek;
use crate::error::OpsError;
use crate::letter::{Filter, Letter};
use crate::sqs::{Sqs, Workspace};

pub(super) async fn run(sqs: &Sqs, ws: &Workspace, args: &PeekArgs) -> Result<ExitCode, OpsError> {
    let dlq = ws.dlq(&args.selection.queue)?;
    let filter = Filter(args.selection.filters.clone());
    let now = Utc::now();
    let scan = peek(sqs, &dlq.queue.url, args.limit, args.hold.hold)
        .await
        .map_err(OpsError::Aws)?;
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
