//! A probe worker deployed on the emulator the way Terraform deploys ours (a function from a zip, its queue with
//! a DLQ and redrive policy, a disabled SQS mapping with ReportBatchItemFailures) and run by the local runner,
//! which has never seen it. Each probe has its own queue, DLQ, table and runner.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sdk_lambda::types::{
    Environment, FunctionCode, FunctionResponseType, Runtime, ScalingConfig,
};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use super::emulator::{applied_role, queue_arn, unique, zip_binary, Emulator};

/// The probe's queue policy (what Terraform's queue variables would say).
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_receive_count: u32,
    pub backoff_base_seconds: u32,
    pub backoff_max_seconds: u32,
}

pub struct Probe {
    pub sqs: aws_sdk_sqs::Client,
    pub ddb: aws_sdk_dynamodb::Client,
    pub queue_url: String,
    pub dlq_url: String,
    pub table: String,
    pub log: PathBuf,
    _runner: runner::Runner,
}

/// The probe worker's zip, built once per test run.
pub fn probe_zip() -> &'static Path {
    static ZIP: OnceLock<PathBuf> = OnceLock::new();
    ZIP.get_or_init(|| zip_binary(env!("CARGO_BIN_EXE_probe-worker"), "worker"))
}

impl Probe {
    pub async fn deploy(label: &str, policy: Policy) -> Self {
        let emulator = Emulator::from_env().await;
        let (sqs, ddb, lambda) = (
            aws_sdk_sqs::Client::new(&emulator.aws),
            aws_sdk_dynamodb::Client::new(&emulator.aws),
            aws_sdk_lambda::Client::new(&emulator.aws),
        );
        let name = unique(label);

        let role = applied_role(&lambda, &emulator.workspace).await;

        let table = format!("{name}-table");
        ddb.create_table()
            .table_name(&table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("PK", KeyType::Hash))
            .key_schema(key("SK", KeyType::Range))
            .attribute_definitions(attr("PK"))
            .attribute_definitions(attr("SK"))
            .send()
            .await
            .expect("table");

        let dlq_url = sqs
            .create_queue()
            .queue_name(format!("{name}-dlq"))
            .send()
            .await
            .expect("dlq")
            .queue_url()
            .expect("url")
            .to_owned();
        let dlq_arn = queue_arn(&sqs, &dlq_url).await;
        let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": policy.max_receive_count});
        let queue_url = sqs
            .create_queue()
            .queue_name(&name)
            .attributes(QueueAttributeName::VisibilityTimeout, "60")
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .send()
            .await
            .expect("queue")
            .queue_url()
            .expect("url")
            .to_owned();
        let arn = queue_arn(&sqs, &queue_url).await;

        let zip = std::fs::read(probe_zip()).expect("zip");
        let vars: HashMap<String, String> = [
            ("TABLE_NAME", table.clone()),
            ("QUEUE_URL", queue_url.clone()),
            ("DLQ_URL", dlq_url.clone()),
            ("MAX_RECEIVE_COUNT", policy.max_receive_count.to_string()),
            (
                "BACKOFF_BASE_SECONDS",
                policy.backoff_base_seconds.to_string(),
            ),
            (
                "BACKOFF_MAX_SECONDS",
                policy.backoff_max_seconds.to_string(),
            ),
            ("BATCH_SIZE", "10".into()),
            ("MAX_CONCURRENCY", "2".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        lambda
            .create_function()
            .function_name(&name)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(role)
            .timeout(20)
            .code(FunctionCode::builder().zip_file(zip.into()).build())
            .environment(Environment::builder().set_variables(Some(vars)).build())
            .logging_config(
                aws_sdk_lambda::types::LoggingConfig::builder()
                    .log_format(aws_sdk_lambda::types::LogFormat::Json)
                    .application_log_level(aws_sdk_lambda::types::ApplicationLogLevel::Info)
                    .build(),
            )
            .send()
            .await
            .expect("function");
        lambda
            .create_event_source_mapping()
            .function_name(&name)
            .event_source_arn(&arn)
            .batch_size(10)
            .enabled(false)
            .function_response_types(FunctionResponseType::ReportBatchItemFailures)
            .scaling_config(ScalingConfig::builder().maximum_concurrency(2).build())
            .send()
            .await
            .expect("mapping");

        let code_dir = probe_zip().parent().expect("dir").to_path_buf();
        let runner = emulator.runner(&name, vec![code_dir]).await;
        assert_eq!(
            runner.summary.functions,
            vec![name.clone()],
            "the runner runs the probe"
        );
        assert_eq!(
            runner.summary.sqs_mappings.len(),
            1,
            "and plays its mapping"
        );
        Self {
            log: Emulator::work_dir(&name)
                .join("logs")
                .join(format!("{name}.log")),

            sqs,
            ddb,
            queue_url,
            dlq_url,
            table,
            _runner: runner,
        }
    }

    /// Sends the bodies in one SendMessageBatch (so they can arrive in one batch); returns their message ids.
    pub async fn send(&self, bodies: &[String]) -> Vec<String> {
        let entries = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| {
                aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(b)
                    .build()
                    .expect("entry")
            })
            .collect();
        let sent = self
            .sqs
            .send_message_batch()
            .queue_url(&self.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("send");
        assert!(sent.failed().is_empty(), "{:?}", sent.failed());
        let mut ok = sent.successful().to_vec();
        ok.sort_by_key(|e| e.id().parse::<usize>().unwrap_or(0));
        ok.iter().map(|e| e.message_id().to_owned()).collect()
    }

    /// The receives the probe recorded for `key`: (time in ms, receive count).
    pub async fn receives(&self, key: &str) -> Vec<(i64, u32)> {
        let item = self.item(key, "RECEIVES").await;
        item.get("receives")
            .and_then(|v| v.as_l().ok())
            .map(|l| {
                l.iter()
                    .filter_map(|r| {
                        let m = r.as_m().ok()?;
                        let n = |k: &str| m.get(k)?.as_n().ok()?.parse::<i64>().ok();
                        Some((n("at")?, n("count")? as u32))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// How many times `key`'s effect happened.
    pub async fn effects(&self, key: &str) -> u32 {
        self.item(key, "EFFECT")
            .await
            .get("effects")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    async fn item(&self, key: &str, sk: &str) -> HashMap<String, AttributeValue> {
        self.ddb
            .get_item()
            .table_name(&self.table)
            .key("PK", AttributeValue::S(format!("PROBE#{key}")))
            .key("SK", AttributeValue::S(sk.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("get")
            .item()
            .cloned()
            .unwrap_or_default()
    }

    /// Items of the probe's table whose PK starts with `prefix`.
    pub async fn items_with_prefix(&self, prefix: &str) -> Vec<HashMap<String, AttributeValue>> {
        let scan = self
            .ddb
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .expect("scan");
        scan.items()
            .iter()
            .filter(|i| {
                i.get("PK")
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|pk| pk.starts_with(prefix))
            })
            .cloned()
            .collect()
    }

    /// Messages in `url`, visible or in flight.
    pub async fn depth(&self, url: &str) -> u64 {
        super::emulator::queue_depth(&self.sqs, url).await
    }

    /// The DLQ's messages, read without hiding them (visibility 0).
    pub async fn dead_letters(&self) -> Vec<aws_sdk_sqs::types::Message> {
        let got = self
            .sqs
            .receive_message()
            .queue_url(&self.dlq_url)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive");
        got.messages().to_vec()
    }

    /// Lines of the probe's log (the function's stdout and stderr).
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("key")
}

fn attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attr")
}
