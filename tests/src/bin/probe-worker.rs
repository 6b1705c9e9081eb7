//! The backbone suite's probe: an SQS worker on the worker runtime ([`infra::runtime`]). Each message says how
//! it behaves: `{"key": "k1", "failTimes": 3, "panicTimes": 0, "correlationId": "…"}` fails transiently on its
//! first 3 receives, panics on its first `panicTimes`, then takes effect. Every receive is appended to
//! `PK=PROBE#<key>, SK=RECEIVES` (time and receive count); the effect (`SK=EFFECT`, `effects + 1`) runs under the
//! idempotency helper, so a duplicate message does not repeat it.

use aws_sdk_dynamodb::types::AttributeValue;
use infra::config::WorkerConfig;
use infra::error::ProcessError;
use infra::idempotency::Idempotency;
use infra::runtime::{Body, Message};

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Probe {
    key: String,
    #[serde(default)]
    fail_times: u32,
    #[serde(default)]
    panic_times: u32,
    correlation_id: Option<String>,
}

impl Body for Probe {
    fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("not a probe message: {e}"))
    }
    fn event_id(&self) -> Option<String> {
        Some(self.key.clone())
    }
    fn correlation_id(&self) -> Option<String> {
        self.correlation_id.clone()
    }
}

#[derive(Clone)]
struct Deps {
    table: String,
    dynamodb: aws_sdk_dynamodb::Client,
    idempotency: std::sync::Arc<Idempotency>,
}

async fn handle(deps: Deps, message: Message<Probe>) -> Result<(), ProcessError> {
    let probe = message.body;
    let pk = AttributeValue::S(format!("PROBE#{}", probe.key));
    let receive = AttributeValue::M(
        [
            (
                "at".to_owned(),
                AttributeValue::N(chrono::Utc::now().timestamp_millis().to_string()),
            ),
            (
                "count".to_owned(),
                AttributeValue::N(message.receive_count.to_string()),
            ),
        ]
        .into(),
    );
    deps.dynamodb
        .update_item()
        .table_name(&deps.table)
        .key("PK", pk.clone())
        .key("SK", AttributeValue::S("RECEIVES".into()))
        .update_expression("SET receives = list_append(if_not_exists(receives, :none), :r)")
        .expression_attribute_values(":none", AttributeValue::L(vec![]))
        .expression_attribute_values(":r", AttributeValue::L(vec![receive]))
        .send()
        .await?;
    if message.receive_count <= probe.panic_times {
        panic!(
            "probe {} panics on receive {}",
            probe.key, message.receive_count
        );
    }
    if message.receive_count <= probe.fail_times {
        return Err(ProcessError::Transient(
            format!(
                "probe {} fails on receive {}",
                probe.key, message.receive_count
            )
            .into(),
        ));
    }
    let effect = || async {
        deps.dynamodb
            .update_item()
            .table_name(&deps.table)
            .key("PK", pk.clone())
            .key("SK", AttributeValue::S("EFFECT".into()))
            .update_expression("ADD effects :one")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await?;
        Ok(())
    };
    deps.idempotency
        .once("probe", &probe.key, chrono::Utc::now(), effect)
        .await
        .map(|_| ())
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    infra::lambda::init_telemetry();
    let config = WorkerConfig::from_env()?;
    let aws = infra::lambda::aws_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let deps = Deps {
        table: config.table_name.clone(),
        idempotency: std::sync::Arc::new(Idempotency::new(dynamodb.clone(), &config.table_name)),
        dynamodb,
    };
    let runtime = infra::lambda::sqs_runtime(&aws, &config);
    Box::pin(infra::lambda::run_sqs(runtime, move |m| {
        handle(deps.clone(), m)
    }))
    .await
}
