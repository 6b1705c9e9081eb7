//! `dlq purge`: every letter of a DLQ deleted, after confirmation, audit-logged first.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use chrono::Utc;

use crate::audit::{Audit, Record};
use crate::cli::PurgeArgs;
use crate::error::OpsError;
use crate::sqs::{depth, Sqs, Workspace};

pub(super) async fn run(
    sqs: &Sqs,
    ws: &Workspace,
    args: &PurgeArgs,
    audit: impl Fn() -> Result<Audit, OpsError>,
) -> Result<ExitCode, OpsError> {
    let dlq = ws.dlq(&args.queue)?;
    if !args.yes {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Err(OpsError::Usage(format!(
                "refusing to purge {} without confirmation: pass --yes (stdin is not a terminal)",
                dlq.queue.name
            )));
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
            return Err(OpsError::Usage(format!(
                "not confirmed ({:?} is not {}): nothing purged",
                typed.trim(),
                dlq.queue.name
            )));
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
    sqs.purge(&dlq.queue.url).await.map_err(OpsError::Aws)?;
    println!(
        "purged {} (about {} letters); audit: {}",
        dlq.queue.name,
        depth(&dlq.queue),
        audit.path().display()
    );
    Ok(ExitCode::SUCCESS)
}
