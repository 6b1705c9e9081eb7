//! Wiring only: the handler is in the library.

use std::sync::Arc;
use std::time::Duration;

use infra::config::{optional_seconds, required, WorkerConfig};
use infra::notify::{AwsSender, DeliveryClaims, SqsFanout};
use infra::outbox::Outbox;
use infra::store::DynamoStore;
use notifications::templates::Templates;
use notifications::{handle, Deps, CHUNK};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infra::lambda::init_telemetry();
    let config = WorkerConfig::from_env()?;
    let (from, configuration_set) = (
        required("EMAIL_FROM")?,
        required("EMAIL_CONFIGURATION_SET")?,
    );
    // Terraform sets it to twice the function's timeout: a live holder is never overtaken.
    let lease = optional_seconds("CLAIM_LEASE_SECONDS")?.unwrap_or(Duration::from_secs(120));
    let aws = infra::lambda::aws_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    let deps = Deps {
        directory: Arc::new(DynamoStore::new(dynamo.clone(), &config.table_name)),
        sender: Arc::new(AwsSender::new(
            aws_sdk_sns::Client::new(&aws),
            aws_sdk_sesv2::Client::new(&aws),
            from,
            configuration_set,
        )),
        claims: Arc::new(DeliveryClaims::new(
            dynamo.clone(),
            &config.table_name,
            lease,
        )),
        fanout: Arc::new(SqsFanout::new(
            aws_sdk_sqs::Client::new(&aws),
            &config.queue_url,
        )),
        events: Arc::new(Outbox::new(dynamo, &config.table_name)),
        templates: Arc::new(Templates::new()?),
        chunk: CHUNK,
    };
    let runtime = infra::lambda::sqs_runtime(&aws, &config);
    Box::pin(infra::lambda::run_sqs(runtime, move |m| {
        let deps = deps.clone();
        async move { handle(&deps, m).await }
    }))
    .await
}
