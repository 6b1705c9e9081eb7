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

/// What Lambda sends a stream mapping's on-failure destination (the outbox DLQ) for a batch it gave up on:
/// where the records are (their shard and sequence range), not the records, which stay in the stream for 24 h
/// (<https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html>).
pub mod stream {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct FailureRecord {
        pub request_context: RequestContext,
        pub timestamp: String,
        #[serde(rename = "DDBStreamBatchInfo")]
        pub batch: BatchInfo,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RequestContext {
        pub function_arn: String,
        /// `RetryAttemptsExhausted` or `RecordAgeExceeded`.
        pub condition: String,
        #[serde(default)]
        pub approximate_invoke_count: u32,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct BatchInfo {
        pub shard_id: String,
        pub start_sequence_number: String,
        pub end_sequence_number: String,
        pub batch_size: u32,
        pub stream_arn: String,
    }

    impl FailureRecord {
        /// The record a body holds, if it is one.
        pub fn parse(body: &str) -> Option<Self> {
            serde_json::from_str(body).ok()
        }

        /// One line: what was given up on, and where it is.
        pub fn describe(&self) -> String {
            let b = &self.batch;
            format!(
                "{}: {} stream record(s) {}..{} of {} after {} invocation(s) (read them within 24 h: ecobid-ops outbox list)",
                self.request_context.condition,
                b.batch_size,
                b.start_sequence_number,
                b.end_sequence_number,
                b.shard_id,
                self.request_context.approximate_invoke_count,
            )
        }
    }
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
    fn lambdas_failure_record_reads_back_with_where_the_records_are() {
        // The shape of the invocation record in Lambda's documentation (services-dynamodb-errors).
        let body = r#"{"requestContext":{"requestId":"316aa6d0-8154-xmpl-9af7-85d5f4a6bc81","functionArn":"arn:aws:lambda:us-east-2:123456789012:function:myfunction","condition":"RetryAttemptsExhausted","approximateInvokeCount":1},"responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},"version":"1.0","timestamp":"2019-11-14T00:38:06.021Z","DDBStreamBatchInfo":{"shardId":"shardId-00000001573689847184-864758bb","startSequenceNumber":"800000000003126276362","endSequenceNumber":"800000000003126276362","approximateArrivalOfFirstRecord":"2019-11-14T00:38:04Z","approximateArrivalOfLastRecord":"2019-11-14T00:38:05Z","batchSize":1,"streamArn":"arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:06.388"}}"#;
        let r = stream::FailureRecord::parse(body).expect("a failure record");
        assert_eq!(r.batch.start_sequence_number, "800000000003126276362");
        assert_eq!(r.batch.batch_size, 1);
        assert!(r.describe().starts_with("RetryAttemptsExhausted: 1 stream record(s) 800000000003126276362..800000000003126276362 of shardId-00000001573689847184-864758bb"), "{}", r.describe());
        assert_eq!(
            stream::FailureRecord::parse(r#"{"type":"ItemCreated"}"#),
            None
        );
    }

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
