//! The function's logging and metrics, set up once at cold start ([`init`]):
//! - JSON (or text) logs at the level Lambda's advanced logging controls set (`AWS_LAMBDA_LOG_FORMAT`,
//!   `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`), as `lambda_runtime`'s default subscriber does;
//! - the EMF metrics recorder ([`crate::metrics`]);
//! - opt-in (`LOG_AWS_REQUESTS=true`, Terraform's `log_aws_requests`): one JSON line per AWS request the
//!   function makes, `{"awsRequest": {"service", "operation"}, "correlationId", "unit", "function"}`, from
//!   the span every SDK operation opens (`rpc.system = "aws-api"`). The correlation id is the nearest
//!   enclosing span's `correlation_id`, the unit its `request_id` (the API request) or `message_id` (the
//!   worker message). `scripts/cost-model` counts these lines from an end-to-end run.

use std::io::Write;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Level, Subscriber};
use tracing_subscriber::filter::{filter_fn, EnvFilter, LevelFilter};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, Layer};

/// The environment variable that turns the AWS request lines on.
pub const LOG_AWS_REQUESTS_VARIABLE: &str = "LOG_AWS_REQUESTS";

/// Logging (and the AWS request lines when asked for) and the EMF metrics recorder; once per process.
pub fn init() {
    let log_level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let filter = EnvFilter::builder()
        .with_default_directive(log_level.into())
        .from_env_lossy();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = fmt::layer().with_target(false).without_time();
    let logs = if json {
        logs.json().with_filter(filter).boxed()
    } else {
        logs.with_filter(filter).boxed()
    };
    let requests = std::env::var(LOG_AWS_REQUESTS_VARIABLE)
        .is_ok_and(|v| v.eq_ignore_ascii_case("true"))
        .then(|| {
            let function =
                std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into());
            AwsRequestLog::new(function, |line: &str| {
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            })
            .with_filter(AwsRequestLog::filter())
        });
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(requests)
        .try_init();
    if let Err(e) = crate::metrics::init() {
        tracing::warn!(error.message = %e, "metrics are off");
    }
}

type LineWriter = Box<dyn Fn(&str) + Send + Sync>;

/// A layer handing one line per AWS SDK operation to its writer (see the module docs).
pub struct AwsRequestLog {
    function: String,
    writer: LineWriter,
}

impl AwsRequestLog {
    pub fn new(function: String, writer: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self {
            function,
            writer: Box::new(writer),
        }
    }

    /// The spans the layer needs: the SDK's operation spans (at debug) and ours (info and above).
    pub fn filter<S>() -> impl tracing_subscriber::layer::Filter<S> {
        filter_fn(|m| {
            m.is_span() && (m.target().starts_with("aws_sdk_") || *m.level() <= Level::INFO)
        })
    }
}

/// A span's correlation id, kept for the SDK spans opened inside it.
struct Correlation(String);

/// A span's unit of work (an API request's id, a worker message's id).
struct Unit(String);

#[derive(Default)]
struct Fields {
    correlation_id: Option<String>,
    unit: Option<String>,
    rpc_system: Option<String>,
    rpc_service: Option<String>,
    rpc_method: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let slot = match field.name() {
            "correlation_id" => &mut self.correlation_id,
            "rpc.system" => &mut self.rpc_system,
            "rpc.service" => &mut self.rpc_service,
            "rpc.method" => &mut self.rpc_method,
            "request_id" | "message_id" => &mut self.unit,
            _ => return,
        };
        *slot = Some(value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // `%id` fields arrive here as Display wrapped in Debug.
        match field.name() {
            "correlation_id" => self.correlation_id = Some(format!("{value:?}")),
            "request_id" | "message_id" => self.unit = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

/// The line written for one AWS request.
pub fn request_line(
    service: &str,
    operation: &str,
    correlation_id: Option<&str>,
    unit: Option<&str>,
    function: &str,
) -> String {
    let mut line = serde_json::json!({
        "awsRequest": { "service": service, "operation": operation },
        "correlationId": correlation_id,
        "unit": unit,
        "function": function,
    })
    .to_string();
    line.push('\n');
    line
}

impl<S> Layer<S> for AwsRequestLog
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let Some(span) = ctx.span(id) else { return };
        if fields.correlation_id.is_some() || fields.unit.is_some() {
            let mut extensions = span.extensions_mut();
            if let Some(c) = fields.correlation_id {
                extensions.insert(Correlation(c));
            }
            if let Some(u) = fields.unit {
                extensions.insert(Unit(u));
            }
            return;
        }
        let (Some(system), Some(service), Some(method)) =
            (fields.rpc_system, fields.rpc_service, fields.rpc_method)
        else {
            return;
        };
        if system != "aws-api" {
            return;
        }
        let correlation = span
            .scope()
            .skip(1)
            .find_map(|s| s.extensions().get::<Correlation>().map(|c| c.0.clone()));
        let unit = span
            .scope()
            .skip(1)
            .find_map(|s| s.extensions().get::<Unit>().map(|u| u.0.clone()));
        (self.writer)(&request_line(
            &service,
            &method,
            correlation.as_deref(),
            unit.as_deref(),
            &self.function,
        ));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        let Some(span) = ctx.span(id) else { return };
        if let Some(c) = fields.correlation_id {
            span.extensions_mut().replace(Correlation(c));
        }
        if let Some(u) = fields.unit {
            span.extensions_mut().replace(Unit(u));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_smithy_mocks::{mock, mock_client};
    use tracing::Instrument;

    use super::*;

    #[tokio::test]
    async fn every_sdk_operation_is_one_line_under_the_enclosing_correlation_id() {
        // GIVEN the layer on a subscriber of this test's thread, writing into a buffer
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&lines);
        let layer = AwsRequestLog::new("ecobid-test-api".into(), move |line: &str| {
            sink.lock().expect("lock").push(line.to_owned());
        });
        let subscriber =
            tracing_subscriber::registry().with(layer.with_filter(AwsRequestLog::filter()));
        let _guard = tracing::subscriber::set_default(subscriber);
        let get = mock!(aws_sdk_dynamodb::Client::get_item)
            .sequence()
            .output(|| GetItemOutput::builder().build())
            .repeatedly()
            .build();
        let client = mock_client!(aws_sdk_dynamodb, [&get]);
        // WHEN two requests are made inside a message span whose correlation id is recorded late (as the
        // runtime does), and one outside any
        let span = tracing::info_span!(
            "message",
            message_id = "m-7",
            correlation_id = tracing::field::Empty
        );
        span.record("correlation_id", "c-42");
        let get = || async {
            client
                .get_item()
                .table_name("t")
                .send()
                .await
                .expect("mocked")
        };
        async {
            get().await;
            get().await;
        }
        .instrument(span)
        .await;
        get().await;
        // THEN there is one line per request, each naming the operation and its correlation id (or none)
        let lines: Vec<serde_json::Value> = lines
            .lock()
            .expect("lock")
            .iter()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        for line in &lines {
            assert_eq!(line["awsRequest"]["service"], "DynamoDB");
            assert_eq!(line["awsRequest"]["operation"], "GetItem");
            assert_eq!(line["function"], "ecobid-test-api");
        }
        assert_eq!(lines[0]["correlationId"], "c-42");
        assert_eq!(lines[1]["correlationId"], "c-42");
        assert_eq!(lines[1]["unit"], "m-7");
        assert!(lines[2]["correlationId"].is_null(), "{lines:?}");
        assert!(lines[2]["unit"].is_null(), "{lines:?}");
    }

    #[test]
    fn a_request_line_names_the_operation_and_its_correlation() {
        let line = request_line(
            "DynamoDB",
            "PutItem",
            Some("c-1"),
            Some("r-1"),
            "ecobid-dev-api",
        );
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(v["awsRequest"]["service"], "DynamoDB");
        assert_eq!(v["awsRequest"]["operation"], "PutItem");
        assert_eq!(v["correlationId"], "c-1");
        assert_eq!(v["unit"], "r-1");
        assert_eq!(v["function"], "ecobid-dev-api");
        let none = request_line("SQS", "SendMessage", None, None, "f");
        assert!(
            serde_json::from_str::<serde_json::Value>(&none).expect("json")["correlationId"]
                .is_null()
        );
    }
}
