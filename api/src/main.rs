//! The API Lambda: wiring only. Configuration is read once, at cold start.

use std::collections::HashMap;
use std::sync::Arc;

use api::accounts::AwsAccounts;
use api::idempotency::DynamoRequests;
use api::presign::Presigner;
use api::push::{Push, SnsPush};
use api::responses::Media;
use api::{app, AppState};
use domain::profile::Platform;
use domain::service::{Service, Settings};
use infra::config::ApiConfig;
use infra::store::{DynamoIndex, DynamoStore};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    infra::lambda::init_telemetry();
    let cfg = ApiConfig::from_env()?;
    let aws = infra::lambda::aws_config().await;
    let duration =
        |d: std::time::Duration| chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX);
    let defaults = Settings::default();
    let settings = Settings {
        reservation_ttl: cfg
            .reservation_ttl
            .map_or(defaults.reservation_ttl, duration),
        min_auction: cfg.min_auction.map_or(defaults.min_auction, duration),
        sniping_window: cfg.sniping_window.map_or(defaults.sniping_window, duration),
        uploads_prefix: cfg.uploads_prefix,
        ..defaults
    };
    let applications: HashMap<Platform, String> = [
        (Platform::Ios, cfg.push_application_ios),
        (Platform::Android, cfg.push_application_android),
    ]
    .into_iter()
    .filter_map(|(platform, arn)| Some((platform, arn?)))
    .collect();
    let push: Arc<dyn Push> = Arc::new(SnsPush::new(aws_sdk_sns::Client::new(&aws), applications));
    let credentials = aws
        .credentials_provider()
        .ok_or("no AWS credentials provider")?;
    let region = aws
        .region()
        .map(ToString::to_string)
        .ok_or("no AWS region")?;
    let presigner = Presigner::new(
        cfg.uploads_bucket.clone(),
        region,
        cfg.s3_endpoint.clone(),
        credentials,
    );
    let media = Media::new(&cfg.media_base_url).map_err(|why| format!("MEDIA_BASE_URL: {why}"))?;
    let dynamo = aws_sdk_dynamodb::Client::new(&aws);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&aws)
            .force_path_style(cfg.s3_endpoint.is_some())
            .build(),
    );
    let accounts = Arc::new(AwsAccounts {
        s3,
        cognito: aws_sdk_cognitoidentityprovider::Client::new(&aws),
        user_pool_id: cfg.user_pool_id,
        uploads_bucket: cfg.uploads_bucket.clone(),
        uploads_prefix: settings.uploads_prefix.clone(),
        thumbnails_bucket: cfg.thumbnails_bucket,
    });
    let state = AppState {
        service: Service::new(
            Arc::new(DynamoStore::new(dynamo.clone(), &cfg.table_name)),
            settings,
        ),
        search: Arc::new(DynamoIndex::new(dynamo.clone(), &cfg.search_table_name)),
        requests: Arc::new(DynamoRequests::new(dynamo, &cfg.table_name)),
        presigner,
        push,
        media,
        accounts,
        moderators: cfg.moderators_group,
    };
    Box::pin(lambda_http::run(app(state))).await
}
