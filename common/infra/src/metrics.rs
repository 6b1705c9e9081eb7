//! CloudWatch metrics in the embedded metric format (EMF): code counts and times through the `metrics`
//! facade; a Lambda installs the EMF recorder once at cold start ([`init`]) and [`flush`]es after each
//! invocation, which writes one JSON document per label set to stdout. CloudWatch Logs turns those lines into
//! metrics: no PutMetricData call, no extra latency. Without [`init`] (unit tests, local tools) every
//! recording is a no-op.
//!
//! Every metric carries one dimension, `FunctionName` (Lambda's own dimension name, so the alarms and the
//! dashboard in `terraform/modules/observability` select a function the way the AWS/Lambda metrics do), in
//! the namespace Terraform sets in `METRICS_NAMESPACE` (`EcoBid/<workspace>`). Each metric name with its
//! dimension is one custom metric ($0.30 a month): the set below is kept small on purpose (the cost model
//! counts it).

use std::sync::OnceLock;

use metrics::Unit;
use metrics_cloudwatch_embedded::{Builder, Collector};

/// The environment variable holding the CloudWatch namespace.
pub const NAMESPACE_VARIABLE: &str = "METRICS_NAMESPACE";
/// The namespace when none is set.
pub const DEFAULT_NAMESPACE: &str = "EcoBid";
/// The one dimension of every metric: the Lambda function's name.
pub const DIMENSION: &str = "FunctionName";

/// What the worker runtime records, per message.
pub mod worker {
    /// Messages handled successfully.
    pub const PROCESSED: &str = "MessagesProcessed";
    /// Messages that failed transiently (they come back after a backoff).
    pub const FAILED_TRANSIENT: &str = "MessagesFailedTransient";
    /// Messages that failed permanently (bad body, refused by a rule, a permanent AWS error).
    pub const FAILED_PERMANENT: &str = "MessagesFailedPermanent";
    /// Messages the runtime sent to the queue's DLQ itself (permanent failures whose send succeeded).
    pub const DEAD_LETTERED: &str = "MessagesDeadLettered";
    /// Time to handle one message, in milliseconds.
    pub const DURATION: &str = "MessageDuration";
}

/// What the notifications worker records, per target.
pub mod notifications {
    /// Notices a service refused for good (an address SES rejects, a payload SNS refuses): settled, not
    /// retried, so counted where an alarm or the dashboard can see them.
    pub const REFUSED: &str = "NotificationsRefused";
    /// Devices forgotten because SNS reported their endpoint disabled or gone.
    pub const DEVICES_FORGOTTEN: &str = "DevicesForgotten";
}

/// What the API records, per request.
pub mod api {
    /// Requests answered.
    pub const REQUESTS: &str = "Requests";
    /// Requests answered with a 2xx, 3xx, 4xx or 5xx status (one counter per class).
    pub const STATUS_2XX: &str = "Status2xx";
    pub const STATUS_3XX: &str = "Status3xx";
    pub const STATUS_4XX: &str = "Status4xx";
    pub const STATUS_5XX: &str = "Status5xx";
    /// Time from request to response, in milliseconds.
    pub const LATENCY: &str = "Latency";

    /// The counter of a status code's class.
    pub fn status_class(status: u16) -> &'static str {
        match status {
            200..=299 => STATUS_2XX,
            300..=399 => STATUS_3XX,
            400..=499 => STATUS_4XX,
            _ => STATUS_5XX,
        }
    }
}

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();

/// Why the EMF recorder could not be installed.
#[derive(Debug, thiserror::Error)]
#[error("cannot install the metrics recorder: {0}")]
pub struct MetricsError(String);

/// Installs the EMF recorder for this function (once per process; a second call keeps the first), with the
/// namespace from `METRICS_NAMESPACE` and the function name from `AWS_LAMBDA_FUNCTION_NAME`.
pub fn init() -> Result<(), MetricsError> {
    let namespace =
        std::env::var(NAMESPACE_VARIABLE).unwrap_or_else(|_| DEFAULT_NAMESPACE.to_owned());
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into());
    init_with(namespace, function)
}

/// [`init`] with the namespace and function name given.
pub fn init_with(namespace: String, function: String) -> Result<(), MetricsError> {
    if COLLECTOR.get().is_some() {
        return Ok(());
    }
    let collector = Builder::new()
        .cloudwatch_namespace(namespace)
        .with_dimension(DIMENSION, function)
        .init()
        .map_err(|e| MetricsError(e.to_string()))?;
    describe();
    let _ = COLLECTOR.set(collector);
    Ok(())
}

/// Units (and so the EMF `Unit` of each metric).
fn describe() {
    for name in [
        worker::PROCESSED,
        worker::FAILED_TRANSIENT,
        worker::FAILED_PERMANENT,
        worker::DEAD_LETTERED,
        api::REQUESTS,
        api::STATUS_2XX,
        api::STATUS_3XX,
        api::STATUS_4XX,
        api::STATUS_5XX,
    ] {
        metrics::describe_counter!(name, Unit::Count, "");
    }
    metrics::describe_histogram!(worker::DURATION, Unit::Milliseconds, "");
    metrics::describe_histogram!(api::LATENCY, Unit::Milliseconds, "");
}

/// Writes what was recorded since the last flush to stdout, as EMF documents (nothing without [`init`]).
pub fn flush() {
    flush_into(std::io::stdout().lock());
}

/// Writes what was recorded since the last flush to `writer` (nothing without [`init`]).
pub fn flush_into(writer: impl std::io::Write) {
    let Some(collector) = COLLECTOR.get() else {
        return;
    };
    if let Err(e) = collector.flush(writer) {
        // Metrics are worth less than the invocation: say so, never fail it.
        tracing::warn!(error.message = %e, "could not write the EMF metrics");
    }
}
