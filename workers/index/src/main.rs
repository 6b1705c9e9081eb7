//! Wiring only: the handler is in the library.

use std::sync::Arc;

use index::aws::Comprehend;
use index::{handle, Deps};
use infra::config::{required, WorkerConfig};
use infra::store::DynamoIndex;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infra::lambda::init_telemetry();
    let config = WorkerConfig::from_env()?;
    let search_table = required("SEARCH_TABLE_NAME")?;
    let aws = infra::lambda::aws_config().await;
    let deps = Deps {
        service: infra::lambda::service(&aws, &config)?,
        index: Arc::new(DynamoIndex::new(
            aws_sdk_dynamodb::Client::new(&aws),
            search_table,
        )),
        screen: Arc::new(Comprehend::new(aws_sdk_comprehend::Client::new(&aws))),
    };
    let runtime = infra::lambda::sqs_runtime(&aws, &config);
    Box::pin(infra::lambda::run_sqs(runtime, move |m| {
        let deps = deps.clone();
        async move { handle(&deps, m).await }
    }))
    .await
}
