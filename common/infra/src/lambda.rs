//! The Lambda glue of an SQS worker: what its `main.rs` calls, so that file stays wiring only (STYLE.md §3).
//!
//! ```ignore
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     infra::lambda::init_telemetry();
//!     let config = WorkerConfig::from_env()?;
//!     let aws = infra::lambda::aws_config().await;
//!     let deps = Deps::new(&aws, &config);
//!     let runtime = infra::lambda::sqs_runtime(&aws, &config);
//!     infra::lambda::run_sqs(runtime, move |m| handle(deps.clone(), m)).await
//! }
//! ```

use std::future::Future;
use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{service_fn, LambdaEvent};

use crate::config::{ConfigError, WorkerConfig};
use crate::error::ProcessError;
use crate::outbox::Outbox;
use crate::runtime::{Body, Message, QueueOps, Runtime};
use crate::sqs::SqsQueue;

/// JSON logs when Lambda's log format is JSON (Terraform sets it), level from `AWS_LAMBDA_LOG_LEVEL`; the EMF
/// metrics recorder, flushed after each invocation; the AWS request lines when asked for
/// ([`crate::telemetry`]).
pub fn init_telemetry() {
    crate::telemetry::init();
}

/// The SDK configuration every client of the function is built from, once per cold start.
pub async fn aws_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// The runtime of a worker's queue: its SQS adapter, the queue policy Terraform gave it, and
/// `ErrorOccurred` events recorded in the table's outbox.
pub fn sqs_runtime(aws: &SdkConfig, config: &WorkerConfig) -> Runtime<SqsQueue> {
    let queue = SqsQueue::new(
        aws_sdk_sqs::Client::new(aws),
        &config.queue_url,
        &config.dlq_url,
    );
    let outbox = Outbox::new(aws_sdk_dynamodb::Client::new(aws), &config.table_name);
    Runtime::new(queue, config.policy).with_error_events(Arc::new(outbox), config.queue_name())
}

/// The domain's use-cases on the table, for a worker (`PICKUP_REMINDER_LEAD_SECONDS`, where set, shortens the
/// pickup reminder's lead for tests).
pub fn service(
    aws: &SdkConfig,
    config: &WorkerConfig,
) -> Result<domain::service::Service, crate::config::ConfigError> {
    let store =
        crate::store::DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), &config.table_name);
    let mut settings = domain::service::Settings::default();
    if let Some(lead) = crate::config::optional_seconds("PICKUP_REMINDER_LEAD_SECONDS")? {
        settings.pickup_reminder_lead =
            chrono::Duration::from_std(lead).unwrap_or(settings.pickup_reminder_lead);
    }
    Ok(domain::service::Service::new(Arc::new(store), settings))
}

/// The Scheduler schedules of a worker whose steps are delivered to the queue named by `target_variable`
/// (`SCHEDULE_GROUP` and `SCHEDULER_ROLE_ARN` too, as Terraform sets them).
pub fn schedules(
    aws: &SdkConfig,
    target_variable: &'static str,
) -> Result<Arc<dyn domain::schedule::Schedules>, ConfigError> {
    let config = crate::scheduler::SchedulerConfig::from_env(target_variable)?;
    Ok(Arc::new(crate::scheduler::Scheduler::new(
        aws_sdk_scheduler::Client::new(aws),
        config,
    )))
}

/// A worker's context for one message: the system acting now, under the message's correlation id (a fresh
/// one if it carried none).
pub fn system_ctx(correlation_id: Option<&str>) -> domain::service::Ctx {
    domain::service::Ctx {
        caller: "system".into(),
        correlation: correlation_id
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(domain::event::CorrelationId::random),
        now: chrono::Utc::now(),
    }
}

/// Serves SQS batches until the Lambda environment shuts down: every invocation runs `handler` on each message
/// through `runtime` and answers with the partial batch failures.
pub async fn run_sqs<Q, B, H, Fut>(
    runtime: Runtime<Q>,
    handler: H,
) -> Result<(), lambda_runtime::Error>
where
    Q: QueueOps + 'static,
    B: Body + 'static,
    H: Fn(Message<B>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ProcessError>> + Send,
{
    let runtime = Arc::new(runtime);
    let handler = Arc::new(handler);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let runtime = Arc::clone(&runtime);
        let handler = Arc::clone(&handler);
        async move {
            let response = runtime.process(event.payload, |m| handler(m)).await;
            crate::metrics::flush();
            Ok::<_, lambda_runtime::Error>(response)
        }
    }))
    .await
}
