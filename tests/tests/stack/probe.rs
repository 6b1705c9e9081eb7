//! A probe worker deployed on the emulator the way Terraform deploys ours (a function from a zip, its queue with
//! a DLQ and redrive policy, a disabled SQS mapping with ReportBatchItemFailures) and run by the local runner,
//! which has never seen it. Each probe has its own queue, DLQ, table and runner.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sdk_lambda::types::{
    Environment, FunctionCode, FunctionResponseType, Runtime, ScalingConfig,
};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use e2e::terraform::required_env;

pub const REGION: &str = "eu-west-1";

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

/// A test binary as a Lambda zip in a directory of its own: stripped of debug info when `strip` is there (a
/// debug build is ~200 MB), as `bootstrap`.
pub fn zip_binary(binary: &str, label: &str) -> PathBuf {
    {
        let dir =
            std::env::temp_dir().join(format!("ecobid-probe-{label}-code-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("code dir");
        let binary = PathBuf::from(binary);
        let stripped = dir.join("bootstrap");
        let ok = std::process::Command::new("strip")
            .arg("-o")
            .arg(&stripped)
            .arg(&binary)
            .status()
            .is_ok_and(|s| s.success());
        let bytes = std::fs::read(if ok { &stripped } else { &binary }).expect("probe binary");
        let zip_path = dir.join("probe.zip");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).expect("zip"));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
            .unix_permissions(0o755);
        zip.start_file("bootstrap", options).expect("entry");
        zip.write_all(&bytes).expect("write");
        zip.finish().expect("finish");
        let _ = std::fs::remove_file(&stripped);
        zip_path
    }
}

/// The emulator scripts/test brought up, and the workspace whose resources the probes borrow (a role).
pub struct Emulator {
    pub endpoint: String,
    pub workspace: String,
    pub aws: aws_config::SdkConfig,
}

impl Emulator {
    pub async fn from_env() -> Self {
        let endpoint = required_env("AWS_ENDPOINT_URL");
        Self {
            aws: runner::sdk_config(&endpoint, REGION).await,
            workspace: required_env("ECOBID_WORKSPACE_A"),
            endpoint,
        }
    }

    /// Where a runner for `prefix` keeps the code it unpacks and the functions' logs.
    pub fn work_dir(prefix: &str) -> PathBuf {
        std::env::temp_dir().join(format!("ecobid-{prefix}-{}", std::process::id()))
    }

    /// A local runner, in this process, for what starts with `prefix`, with the zips of `code_dirs`.
    pub async fn runner(&self, prefix: &str, code_dirs: Vec<PathBuf>) -> runner::Runner {
        runner::start(runner::Options {
            endpoint: self.endpoint.clone(),
            region: REGION.into(),
            prefix: prefix.to_owned(),
            code_dirs,
            work_dir: Self::work_dir(prefix),
            api_port: 0,
        })
        .await
        .expect("runner")
    }
}

/// A name of its own for a test's resources: `probe-<label>-<8 hex>`.
pub fn unique(label: &str) -> String {
    format!(
        "probe-{label}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    )
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
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .expect("attributes");
        let a = attrs.attributes().cloned().unwrap_or_default();
        let n = |k: QueueAttributeName| a.get(&k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        n(QueueAttributeName::ApproximateNumberOfMessages)
            + n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
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

/// A role Terraform made (the emulator wants the role of a new function to exist).
pub async fn applied_role(lambda: &aws_sdk_lambda::Client, workspace: &str) -> String {
    lambda
        .get_function()
        .function_name(format!("ecobid-{workspace}-images-worker"))
        .send()
        .await
        .expect("a function of the applied workspace")
        .configuration()
        .and_then(|c| c.role())
        .expect("its role")
        .to_owned()
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

pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("arn")
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("QueueArn")
}

/// Polls `check` until it gives a value or `within` passes.
pub async fn eventually<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < within, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
