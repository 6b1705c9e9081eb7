//! Wiring only: the relay is in the library.

use lambda_runtime::{service_fn, LambdaEvent};
use stream_publisher::{relay, EventBridgeBus, StreamEvent};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infra::lambda::init_telemetry();
    let bus_name = std::env::var("EVENT_BUS_NAME")
        .map_err(|_| "environment variable EVENT_BUS_NAME is not set")?;
    let aws = infra::lambda::aws_config().await;
    let bus = EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&aws), bus_name);
    let serve = lambda_runtime::run(service_fn(|event: LambdaEvent<StreamEvent>| {
        let bus = &bus;
        async move {
            let response = relay(bus, &event.payload).await;
            infra::metrics::flush();
            Ok::<_, lambda_runtime::Error>(response)
        }
    }));
    // Boxed: the runtime's future is too deep for the compiler's layout of `main`'s own.
    Box::pin(serve).await
}
