//! The emulator scripts/test brought up, and what every suite does with it: a runner in this process, names of
//! a test's own, polling with a deadline, a queue's ARN, a test binary as a Lambda zip.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use e2e::terraform::required_env;

pub const REGION: &str = "eu-west-1";

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
            cdn_port: 0,
            // Held to their memory_size as in Lambda, as scripts/up's runner does.
            memory_limits: runner::memory::MemoryLimits::detect(),
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

/// Messages in the queue at `url`, visible or in flight (both counts must be reported).
pub async fn queue_depth(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes");
    let count = |name: QueueAttributeName| {
        attrs
            .attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("{url}: no {name:?} count"))
    };
    count(QueueAttributeName::ApproximateNumberOfMessages)
        + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
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
