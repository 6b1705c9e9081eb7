//! How handling one message failed, and so what happens to it: the worker outcome every handler answers
//! with. A leaf module: the runtime, the adapters and the handlers all depend on it, it on nothing of theirs.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use domain::dead_letter::ErrorKind;
use domain::service::ServiceError;

use crate::aws_error::classify;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How handling one message failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The message cannot be read: permanent.
    #[error("invalid message: {0}")]
    Invalid(String),
    /// A business rule refused it and always will: permanent.
    #[error("rejected: {0}")]
    Rejected(String),
    /// Worth another try later (throttling, timeouts, a dependency down).
    #[error("transient: {0}")]
    Transient(#[source] BoxError),
    /// Worth another try, not before `after` (something the message needs is held until then, e.g. a
    /// delivery claim whose holder may have died): the backoff is at least that long.
    #[error("not before {}s: {reason}", after.as_secs())]
    Later {
        after: std::time::Duration,
        reason: String,
    },
    /// Will fail the same way every time.
    #[error("permanent: {0}")]
    Permanent(#[source] BoxError),
}

impl ProcessError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient(_) | Self::Later { .. })
    }

    /// The shortest wait before a retry can succeed, where the failure knows one.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::Later { after, .. } => Some(*after),
            _ => None,
        }
    }

    /// The error and its causes on one line (an SDK error's own text is only "service error": its cause
    /// has the code and message), for the dead letter's `error.message` and `ErrorOccurred`.
    pub fn describe(&self) -> String {
        domain::error::chain(self)
    }

    /// The `error.kind` of a dead letter.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_) => ErrorKind::InvalidMessage,
            Self::Rejected(_) => ErrorKind::Rejected,
            Self::Transient(_) | Self::Later { .. } => ErrorKind::Transient,
            Self::Permanent(_) => ErrorKind::Permanent,
        }
    }
}

impl<E> From<SdkError<E, HttpResponse>> for ProcessError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn from(err: SdkError<E, HttpResponse>) -> Self {
        if classify(&err).is_retryable() {
            Self::Transient(Box::new(err))
        } else {
            Self::Permanent(Box::new(err))
        }
    }
}

/// A use-case's refusal is permanent (the rule will say no again); the store's failures are transient: a
/// condition that failed even after the use-case's own retries is contention, and the SDK has already
/// classified and retried what it could (a permanent store error, e.g. a missing permission, goes to the DLQ
/// after `maxReceiveCount` backed-off receives, where its alarm fires).
impl From<ServiceError> for ProcessError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Domain(d) => Self::Rejected(d.to_string()),
            ServiceError::Store(s) => Self::Transient(Box::new(s)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_names_every_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("service error")]
        struct Sdk(#[source] Cause);
        #[derive(Debug, thiserror::Error)]
        #[error("NoSuchBucket: The specified bucket does not exist")]
        struct Cause;
        let e = ProcessError::Permanent(Box::new(Sdk(Cause)));
        assert_eq!(
            e.describe(),
            "permanent: service error: NoSuchBucket: The specified bucket does not exist"
        );
        assert_eq!(e.kind(), ErrorKind::Permanent);
        assert_eq!(
            ProcessError::Invalid("x".into()).kind().as_str(),
            "invalid_message"
        );
    }
}
