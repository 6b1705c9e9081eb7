//! Wiring only: the handler is in the library.

use auction_closes::{handle, Deps};
use infra::config::WorkerConfig;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infra::lambda::init_telemetry();
    let config = WorkerConfig::from_env()?;
    let aws = infra::lambda::aws_config().await;
    let deps = Deps {
        service: infra::lambda::service(&aws, &config)?,
        schedules: infra::lambda::schedules(&aws, "AUCTION_CLOSES_QUEUE_ARN")?,
    };
    let runtime = infra::lambda::sqs_runtime(&aws, &config);
    Box::pin(infra::lambda::run_sqs(runtime, move |m| {
        let deps = deps.clone();
        async move { handle(&deps, m).await }
    }))
    .await
}
