//! The dead-letter contract: what a message given up on carries into its queue's DLQ, and so what the ops CLI
//! reads back. The worker runtime sets the attributes ([`ERROR_KIND`], [`ERROR_MESSAGE`], [`FAILED_AT`]) on the
//! messages it dead-letters itself; a letter without them was moved by SQS's redrive policy after
//! `maxReceiveCount` receives ([`ErrorKind::RetriesExhausted`]); `ecobid-ops dlq redrive` counts redrives in
//! [`REDRIVE_COUNT`]. Every message the pipeline sends itself carries its correlation id in [`CORRELATION`].

/// Why the message failed ([`ErrorKind`]'s text).
pub const ERROR_KIND: &str = "error.kind";
/// The error and its causes, on one line, at most [`MAX_ERROR_MESSAGE_CHARS`].
pub const ERROR_MESSAGE: &str = "error.message";
/// When it failed (RFC 3339, milliseconds, UTC).
pub const FAILED_AT: &str = "failed.at";
/// How many times the letter was redriven (a Number attribute).
pub const REDRIVE_COUNT: &str = "redrive.count";
/// The message attribute carrying the correlation id alongside a message.
pub const CORRELATION: &str = "correlationId";
/// SQS's limit of message attributes per message.
pub const MAX_ATTRIBUTES: usize = 10;
/// Longest `error.message` kept (the message and its attributes share SQS's 256 KiB).
pub const MAX_ERROR_MESSAGE_CHARS: usize = 1024;

/// What EventBridge sets on an event it could not deliver to a target (the event bus's DLQ).
pub mod eventbridge {
    pub const ERROR_CODE: &str = "ERROR_CODE";
    pub const ERROR_MESSAGE: &str = "ERROR_MESSAGE";
    pub const RULE_ARN: &str = "RULE_ARN";
    pub const TARGET_ARN: &str = "TARGET_ARN";
    pub const EXHAUSTED_RETRY_CONDITION: &str = "EXHAUSTED_RETRY_CONDITION";
}

string_enum!(
    /// Why a message was given up on (the `error.kind` attribute).
    ErrorKind {
        /// The body could not be read (not JSON, unknown envelope version, a payload that does not fit).
        InvalidMessage => "invalid_message",
        /// A business rule refused it and always will.
        Rejected => "rejected",
        /// A dependency refused it for good (a 4xx, a missing permission).
        Permanent => "permanent",
        /// A transient failure the runtime still gave up on.
        Transient => "transient",
        /// SQS moved it after `maxReceiveCount` receives: its transient retries ran out.
        RetriesExhausted => "retries_exhausted",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_from_their_text() {
        for kind in ErrorKind::ALL {
            assert_eq!(kind.as_str().parse::<ErrorKind>(), Ok(*kind));
        }
        assert_eq!(ErrorKind::RetriesExhausted.to_string(), "retries_exhausted");
        assert!("nope"
            .parse::<ErrorKind>()
            .unwrap_err()
            .contains("invalid_message"));
    }
}
