//! The local runner: the one piece that stands in for what the emulator (moto) cannot do. It runs the real
//! Lambda `bootstrap` binaries behind a local Lambda Runtime API and plays what invokes them in AWS: the SQS
//! and DynamoDB stream event-source mappings, API Gateway (HTTP API, payload 2.0, JWT authorizer),
//! CloudFront (a distribution's S3 origin through Origin Access Control, see [`cdn`]) and the Scheduler
//! (one-time and recurring schedules, scheduled rules).
//!
//! Everything is read from the emulator's APIs, as Terraform applied it: the functions (environment,
//! timeout, memory, logging), their mappings, the HTTP APIs, the distributions, the schedules. A function
//! environment value naming a distribution (`https://<its domain or alias>…`) is given the local edge's URL
//! instead, as DNS would lead it to the edge in AWS. It holds no business logic and
//! can run any `provided.al2023` function whose zip it is given: code is matched to a function by the zip's
//! SHA-256, as Lambda reports it (`CodeSha256`).

pub mod cdn;
pub mod code;
pub mod cold_start;
pub mod discover;
pub mod function;
pub mod gateway;
pub mod jwt;
pub mod memory;
pub mod schedules;
pub mod sqs;
pub mod stream;
pub mod token;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use serde::Serialize;
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::function::Function;

/// What the runner serves, and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The emulator's endpoint (given to the functions as `AWS_ENDPOINT_URL`).
    pub endpoint: String,
    pub region: String,
    /// Only functions, schedule groups and rules whose name starts with this are played.
    pub prefix: String,
    /// Directories holding the functions' deployment zips.
    pub code_dirs: Vec<PathBuf>,
    /// Where code is unpacked, logs written and stream positions kept.
    pub work_dir: PathBuf,
    /// Port of the first HTTP API (0: any free port); further APIs get the next ports.
    pub api_port: u16,
    /// Port of the first CloudFront distribution's edge (0: any free port); further ones get the next ports.
    pub cdn_port: u16,
    /// How each function process is held to its memory_size.
    pub memory_limits: memory::MemoryLimits,
}

/// What the runner is playing (also written to `<work_dir>/runner.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub functions: Vec<String>,
    pub sqs_mappings: Vec<String>,
    pub stream_mappings: Vec<String>,
    /// API id → base URL.
    pub apis: HashMap<String, String>,
    /// Distribution id → the local edge's base URL (what `https://<its domain>` stands for here).
    pub distributions: HashMap<String, String>,
    pub schedule_groups: Vec<String>,
    pub scheduled_rules: Vec<String>,
}

/// A running runner: dropping it stops everything it started (functions' processes are killed on drop).
pub struct Runner {
    pub summary: Summary,
    pub api_addrs: HashMap<String, SocketAddr>,
    /// Distribution id → where its edge listens.
    pub cdn_addrs: HashMap<String, SocketAddr>,
    /// The functions run, by name.
    functions: HashMap<String, Function>,
    _tasks: JoinSet<()>,
}

impl Runner {
    /// What happened to the processes of the function named `name` (None: not run here).
    pub fn function_stats(&self, name: &str) -> Option<function::Stats> {
        self.functions.get(name).map(Function::stats)
    }

    /// The function named `name`, if run here (a handle: its stats stay readable while the runner runs).
    pub fn function(&self, name: &str) -> Option<Function> {
        self.functions.get(name).cloned()
    }
}

/// Whether `value` is a URL on `host_url` (`https://d1.cloudfront.net`): itself, or followed by `/…`.
fn edge_url_of(value: &str, host_url: &str) -> bool {
    value
        .strip_prefix(host_url)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The SDK configuration for the emulator.
pub async fn sdk_config(endpoint: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(region.to_owned()))
        .load()
        .await
}

/// Reads what was applied and starts playing it.
pub async fn start(options: Options) -> anyhow::Result<Runner> {
    let aws = sdk_config(&options.endpoint, &options.region).await;
    tokio::fs::create_dir_all(&options.work_dir)
        .await
        .with_context(|| format!("creating work dir {}", options.work_dir.display()))?;
    let code = code::CodeIndex::scan(&options.code_dirs)?;
    let applied = discover::discover(&aws, &options.prefix).await?;
    let mut tasks = JoinSet::new();
    info!(memory_limits = %options.memory_limits.describe(), "function processes are held to their memory_size");

    // The edges first: the functions' environment names them.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&aws)
            .force_path_style(true)
            .build(),
    );
    let mut cdn_addrs = HashMap::new();
    let mut distributions = HashMap::new();
    let mut hosts: Vec<(String, String)> = Vec::new();
    let mut port = options.cdn_port;
    for d in &applied.distributions {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("binding distribution {}'s edge to 127.0.0.1:{port}", d.id))?;
        let addr = listener.local_addr()?;
        if port != 0 {
            port += 1;
        }
        let url = format!("http://{addr}");
        for host in std::iter::once(&d.domain_name).chain(&d.aliases) {
            hosts.push((format!("https://{host}"), url.clone()));
        }
        distributions.insert(d.id.clone(), url);
        cdn_addrs.insert(d.id.clone(), addr);
        cdn::serve(
            listener,
            Arc::new(cdn::Edge::new(d.clone(), s3.clone())),
            &mut tasks,
        );
    }

    let mut functions: HashMap<String, Function> = HashMap::new();
    for spec in &applied.functions {
        let mut spec = spec.clone();
        for (_, value) in &mut spec.environment {
            if let Some((host, url)) = hosts.iter().find(|(h, _)| edge_url_of(value, h)) {
                *value = format!("{url}{}", &value[host.len()..]);
            }
        }
        let spec = &spec;
        let Some(zip) = code.find(&spec.code_sha256) else {
            warn!(function = %spec.name, code_sha256 = %spec.code_sha256, "no zip with this function's code in the code dirs; it is not run");
            continue;
        };
        let dir = code::unpack(zip, &options.work_dir.join("code").join(&spec.name))?;
        let slots = applied.concurrency(&spec.arn);
        let function = Function::start(
            spec.clone(),
            dir,
            slots,
            function::Environment::new(
                &options.endpoint,
                &options.region,
                options.memory_limits.clone(),
            ),
            &options.work_dir.join("logs"),
            &mut tasks,
        )?;
        functions.insert(spec.arn.clone(), function);
    }

    let sqs_client = aws_sdk_sqs::Client::new(&aws);
    let mut summary = Summary {
        functions: functions.values().map(|f| f.name().to_owned()).collect(),
        sqs_mappings: Vec::new(),
        stream_mappings: Vec::new(),
        apis: HashMap::new(),
        distributions,
        schedule_groups: applied.schedule_groups.clone(),
        scheduled_rules: applied.scheduled_rules.clone(),
    };
    summary.functions.sort();
    for mapping in &applied.sqs_mappings {
        let Some(function) = functions.get(&mapping.function_arn) else {
            continue;
        };
        summary
            .sqs_mappings
            .push(format!("{} -> {}", mapping.queue_arn, function.name()));
        sqs::play(
            mapping.clone(),
            function.clone(),
            sqs_client.clone(),
            &mut tasks,
        );
    }
    let streams = aws_sdk_dynamodbstreams::Client::new(&aws);
    for mapping in &applied.stream_mappings {
        let Some(function) = functions.get(&mapping.function_arn) else {
            continue;
        };
        summary.stream_mappings.push(format!(
            "{} -> {} (bisect on error: {}, retries: {}, on failure: {})",
            mapping.stream_arn,
            function.name(),
            mapping.bisect,
            mapping
                .max_retries
                .map_or_else(|| "until the records expire".to_owned(), |n| n.to_string()),
            mapping.on_failure.as_deref().unwrap_or("skipped"),
        ));
        let checkpoints = options.work_dir.join("checkpoints").join(&mapping.uuid);
        stream::play(
            mapping.clone(),
            function.clone(),
            streams.clone(),
            checkpoints,
            stream::Destinations {
                sqs: sqs_client.clone(),
                region: options.region.clone(),
            },
            &mut tasks,
        );
    }
    let mut api_addrs = HashMap::new();
    port = options.api_port;
    for api in &applied.apis {
        let routes = gateway::Routes::new(api, &functions, &options.endpoint);
        if routes.is_empty() {
            continue;
        }
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("binding the HTTP API {} to 127.0.0.1:{port}", api.id))?;
        let addr = listener.local_addr()?;
        if port != 0 {
            port += 1;
        }
        summary
            .apis
            .insert(api.id.clone(), format!("http://{addr}"));
        api_addrs.insert(api.id.clone(), addr);
        gateway::serve(listener, Arc::new(routes), &mut tasks);
    }
    schedules::play(
        applied.schedule_groups.clone(),
        applied.scheduled_rules.clone(),
        &aws,
        &mut tasks,
    );

    let json = serde_json::to_string_pretty(&summary)?;
    tokio::fs::write(options.work_dir.join("runner.json"), json).await?;
    info!(
        functions = summary.functions.len(),
        sqs_mappings = summary.sqs_mappings.len(),
        stream_mappings = summary.stream_mappings.len(),
        apis = summary.apis.len(),
        distributions = summary.distributions.len(),
        schedule_groups = summary.schedule_groups.len(),
        "runner started"
    );
    Ok(Runner {
        summary,
        api_addrs,
        cdn_addrs,
        functions: functions
            .into_values()
            .map(|f| (f.name().to_owned(), f))
            .collect(),
        _tasks: tasks,
    })
}

/// The cold-start benchmark ([`cold_start`]) of every applied function whose name starts with the prefix and
/// whose zip is in the code dirs, beside `baseline`'s; returns the printed report.
pub async fn cold_start(
    options: Options,
    baseline: &std::path::Path,
    rounds: usize,
) -> anyhow::Result<String> {
    let aws = sdk_config(&options.endpoint, &options.region).await;
    let code = code::CodeIndex::scan(&options.code_dirs)?;
    let applied = discover::discover(&aws, &options.prefix).await?;
    anyhow::ensure!(
        !applied.functions.is_empty(),
        "no function named {}* is applied at {}: bring the stack up first (scripts/up)",
        options.prefix,
        options.endpoint
    );
    let env = function::Environment::new(
        &options.endpoint,
        &options.region,
        options.memory_limits.clone(),
    );
    let logs = options.work_dir.join("logs");
    let spec = cold_start::bare_spec("noop-lambda");
    let dir = cold_start::stage_binary(baseline, &options.work_dir.join("code").join(&spec.name))?;
    let baseline = cold_start::measure(
        &spec,
        &dir,
        None,
        &serde_json::json!({}),
        rounds,
        &env,
        &logs,
    )
    .await?;
    let mut figures = Vec::new();
    let mut specs = applied.functions.clone();
    specs.sort_by(|a, b| a.name.cmp(&b.name));
    for spec in &specs {
        let Some(zip) = code.find(&spec.code_sha256) else {
            warn!(function = %spec.name, "no zip with this function's code in the code dirs; not measured");
            continue;
        };
        let dir = code::unpack(zip, &options.work_dir.join("code").join(&spec.name))?;
        let event = cold_start::first_event(&applied, spec);
        let zip_bytes = std::fs::metadata(zip).ok().map(|m| m.len());
        figures
            .push(cold_start::measure(spec, &dir, zip_bytes, &event, rounds, &env, &logs).await?);
    }
    Ok(cold_start::report(&baseline, &figures, rounds))
}
