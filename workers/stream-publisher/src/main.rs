//! Wiring only: the relay is in the library.

use lambda_runtime::{service_fn, LambdaEvent};
use stream_publisher::{relay, EventBridgeBus, OutboxDlq, StreamEvent, DEFAULT_RETRY_WINDOW};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infra::lambda::init_telemetry();
    let bus_name = infra::config::required("EVENT_BUS_NAME")?;
    let dlq_url = infra::config::required("OUTBOX_DLQ_URL")?;
    let window =
        infra::config::optional_seconds("RETRY_WINDOW_SECONDS")?.unwrap_or(DEFAULT_RETRY_WINDOW);
    let aws = infra::lambda::aws_config().await;
    let bus = EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&aws), bus_name);
    let letters = OutboxDlq::new(aws_sdk_sqs::Client::new(&aws), dlq_url);
    let serve = lambda_runtime::run(service_fn(|event: LambdaEvent<StreamEvent>| {
        let (bus, letters) = (&bus, &letters);
        async move {
            // Records that cannot be dead-lettered fail the invocation: Lambda splits the batch and retries.
            let response = relay(bus, letters, &event.payload, window).await;
            infra::metrics::flush();
            response.map_err(lambda_runtime::Error::from)
        }
    }));
    // Boxed: the runtime's future is too deep for the compiler's layout of `main`'s own.
    Box::pin(serve).await
}
