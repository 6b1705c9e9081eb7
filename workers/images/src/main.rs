//! Wiring only: the handler is in the library.

use std::sync::Arc;

use images::aws::{Rekognition, S3Objects};
use images::budget::MemoryBudget;
use images::{handle, Deps, MAX_UPLOAD_BYTES};
use infra::config::{required, WorkerConfig};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infra::lambda::init_telemetry();
    let config = WorkerConfig::from_env()?;
    let thumbnails = required("THUMBNAILS_BUCKET")?;
    let uploads_prefix = std::env::var("UPLOADS_PREFIX").unwrap_or_else(|_| "uploads/".into());
    // Every message of a batch may hold its upload at once.
    let in_flight = config
        .policy
        .batch_size()
        .min(infra::runtime::DEFAULT_CONCURRENCY as u32);
    let budget = MemoryBudget::from_lookup(|n| std::env::var(n).ok(), in_flight, MAX_UPLOAD_BYTES)?;
    let aws = infra::lambda::aws_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&aws)
            // The local emulator serves buckets by path; AWS by either.
            .force_path_style(std::env::var_os("AWS_ENDPOINT_URL").is_some())
            .build(),
    );
    let deps = Deps {
        service: infra::lambda::service(&aws, &config)?,
        objects: Arc::new(S3Objects::new(s3, thumbnails)),
        vision: Arc::new(Rekognition::new(aws_sdk_rekognition::Client::new(&aws))),
        uploads_prefix,
        budget,
    };
    let runtime = infra::lambda::sqs_runtime(&aws, &config);
    Box::pin(infra::lambda::run_sqs(runtime, move |m| {
        let deps = deps.clone();
        async move { handle(&deps, m).await }
    }))
    .await
}
