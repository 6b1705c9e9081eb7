//! Wiring only: the handler is in the library.

use std::sync::Arc;

use infra::config::{required, WorkerConfig};
use infra::notify::{DynamoClaims, SnsPublisher};
use infra::outbox::Outbox;
use infra::store::DynamoStore;
use notifications::{handle, Deps};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infra::lambda::init_telemetry();
    let config = WorkerConfig::from_env()?;
    let (push, email) = (required("PUSH_TOPIC_ARN")?, required("EMAIL_TOPIC_ARN")?);
    let aws = infra::lambda::aws_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    let deps = Deps {
        directory: Arc::new(DynamoStore::new(dynamo.clone(), &config.table_name)),
        publisher: Arc::new(SnsPublisher::new(
            aws_sdk_sns::Client::new(&aws),
            push,
            email,
        )),
        claims: Arc::new(DynamoClaims::new(dynamo.clone(), &config.table_name)),
        events: Arc::new(Outbox::new(dynamo, &config.table_name)),
    };
    let runtime = infra::lambda::sqs_runtime(&aws, &config);
    Box::pin(infra::lambda::run_sqs(runtime, move |m| {
        let deps = deps.clone();
        async move { handle(&deps, m).await }
    }))
    .await
}
