//! What can go wrong in `ecobid-ops`, each a one-line message naming the problem (main prints the error with
//! its causes, `domain::error::chain`, and exits non-zero). Nothing is moved when a command fails before acting;
//! a move that stops on the way says where its letters are.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

/// An SDK call's error (or any adapter's), boxed: its text and causes are the message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("no workspace: pass --workspace <name> or set ECOBID_WORKSPACE")]
    NoWorkspace,
    #[error(
        "no AWS credentials ({0}): set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    NoCredentials(String),
    #[error("no AWS region: set AWS_REGION (or a region in the profile)")]
    NoRegion,
    #[error("the credentials were refused ({0}): nothing done")]
    CredentialsRefused(String),
    /// An unknown queue, a queue that is not a DLQ, a workspace with no queues.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// A replay's window or types that cannot be.
    #[error(transparent)]
    Replay(#[from] ReplayError),
    /// What was asked cannot be done as asked (the message says what to do instead); nothing was done.
    #[error("{0}")]
    Usage(String),
    #[error("cannot open the audit log {}: {source}", path.display())]
    Audit {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the redrive stopped: {cause} (nothing is lost: what was not deleted is still in {dlq})"
    )]
    Stopped { cause: BoxError, dlq: String },
    #[error("{0} matching letters could not be moved (listed above)")]
    NotMoved(usize),
    #[error("replay {name} ended {state}: {reason}")]
    ReplayEnded {
        name: String,
        state: String,
        reason: String,
    },
    /// A call to AWS (or the emulator) failed.
    #[error("{0}")]
    Aws(#[source] BoxError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// Why a queue cannot be used as asked (a one-line message each).
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("no queue {asked:?} in workspace {workspace:?} (its DLQs: {known})")]
    Unknown {
        asked: String,
        workspace: String,
        known: String,
    },
    #[error("{name} is not a dead-letter queue: no queue of workspace {workspace:?} sends its failures there (its DLQs: {known})")]
    NotADlq {
        name: String,
        workspace: String,
        known: String,
    },
    #[error("workspace {0:?} has no queues (prefix {1}): is it applied, and are the region and endpoint right?")]
    Empty(String, String),
}

/// Why a replay cannot be run as asked.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("--from ({0}) must be before --to ({1})")]
    Window(DateTime<Utc>, DateTime<Utc>),
    #[error("no rule for event type {0:?} on bus {1} (types with a rule: {2})")]
    UnknownType(String, String, String),
    #[error("the endpoint does not implement EventBridge replays ({0}): nothing was replayed")]
    Unavailable(String),
}
