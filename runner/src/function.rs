//! One function: its `bootstrap` run as child processes, each behind its own local Lambda Runtime API
//! (`/2018-06-01/runtime/...`), up to the function's concurrency, restarted when they die, each within the
//! function's `memory_size` ([`crate::memory`]). An invocation is handed to whichever process asks for the
//! next one; it ends with the process's response or error, its timeout (the process is then killed, as Lambda
//! does), or the process's death (for one, going above its memory).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinSet;
use tracing::{error, info, warn};

use crate::discover::FunctionSpec;
use crate::memory::{Confinement, MemoryLimits};

/// How an invocation failed.
#[derive(Debug, Clone)]
pub enum InvokeError {
    /// The function reported an error (`/error`).
    Function { error_type: String, message: String },
    /// It did not answer within its timeout; its process was killed.
    Timeout(Duration),
    /// Its process died (or failed at init) before answering.
    Exited(String),
}

impl std::error::Error for InvokeError {}

impl std::fmt::Display for InvokeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Function {
                error_type,
                message,
            } => write!(f, "function error {error_type}: {message}"),
            Self::Timeout(t) => write!(f, "task timed out after {:.2} seconds", t.as_secs_f64()),
            Self::Exited(why) => write!(f, "runtime exited: {why}"),
        }
    }
}

type Reply = oneshot::Sender<Result<Vec<u8>, InvokeError>>;

struct Invocation {
    payload: Vec<u8>,
    reply: Reply,
}

/// What every function's processes get besides the function's own environment.
#[derive(Debug, Clone)]
pub struct Environment {
    endpoint: String,
    region: String,
    limits: MemoryLimits,
}

impl Environment {
    pub fn new(endpoint: &str, region: &str, limits: MemoryLimits) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            region: region.to_owned(),
            limits,
        }
    }
}

/// What happened to a function's processes so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Processes that ended (crashed, killed after a timeout, or killed for their memory).
    pub exits: u64,
    /// Of those, the ones killed for going above the function's memory_size.
    pub out_of_memory: u64,
    /// The most memory any of its processes used (Lambda's `Max Memory Used`), where it is measured.
    pub max_memory_used_mb: Option<u64>,
}

/// A running function: cheap to clone, invoked from any task.
#[derive(Clone)]
pub struct Function {
    spec: Arc<FunctionSpec>,
    queue: async_channel::Sender<Invocation>,
    inits: Arc<Inits>,
    stats: Arc<Mutex<Stats>>,
}

/// The init durations of a function's processes (Lambda's `Init Duration`): from exec of `bootstrap` to its
/// first `/next`, i.e. everything `main` does before serving (configuration, SDK clients).
#[derive(Default)]
struct Inits {
    durations: Mutex<Vec<Duration>>,
    changed: Notify,
}

impl Function {
    /// Starts `slots` processes of the function unpacked in `code_dir`, logging to `<log_dir>/<name>.log`.
    pub fn start(
        spec: FunctionSpec,
        code_dir: PathBuf,
        slots: usize,
        env: Environment,
        log_dir: &Path,
        tasks: &mut JoinSet<()>,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(log_dir)?;
        let log_path = log_dir.join(format!("{}.log", spec.name));
        let spec = Arc::new(spec);
        let inits = Arc::new(Inits::default());
        let stats = Arc::new(Mutex::new(Stats::default()));
        let (tx, rx) = async_channel::unbounded();
        for slot in 0..slots.max(1) {
            let confinement = env
                .limits
                .confine(&format!("{}-{slot}", spec.name), spec.memory_mb)
                .with_context(|| {
                    format!(
                        "limiting the memory of {} to {} MB",
                        spec.name, spec.memory_mb
                    )
                })?;
            let listener =
                std::net::TcpListener::bind("127.0.0.1:0").context("binding a Runtime API port")?;
            listener.set_nonblocking(true)?;
            let slot = Arc::new(Slot {
                spec: Arc::clone(&spec),
                number: slot,
                incoming: rx.clone(),
                requeue: tx.clone(),
                current: Mutex::new(None),
                kill: Notify::new(),
                generation: AtomicU64::new(0),
                initialized: AtomicBool::new(false),
                spawned_at: Mutex::new(None),
                inits: Arc::clone(&inits),
                stats: Arc::clone(&stats),
                confinement,
                log_path: log_path.clone(),
            });
            let app = Router::new()
                .route("/2018-06-01/runtime/invocation/next", get(next))
                .route(
                    "/2018-06-01/runtime/invocation/{id}/response",
                    post(response),
                )
                .route(
                    "/2018-06-01/runtime/invocation/{id}/error",
                    post(invocation_error),
                )
                .route("/2018-06-01/runtime/init/error", post(init_error))
                .with_state(Arc::clone(&slot));
            let listener = tokio::net::TcpListener::from_std(listener)?;
            let api = listener.local_addr()?;
            tasks.spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    error!(error.message = %e, "Runtime API server stopped");
                }
            });
            let (code_dir, env, log_path) = (code_dir.clone(), env.clone(), log_path.clone());
            tasks.spawn(supervise(slot, code_dir, env, api.to_string(), log_path));
        }
        Ok(Self {
            spec,
            queue: tx,
            inits,
            stats,
        })
    }

    /// What happened to its processes so far.
    pub fn stats(&self) -> Stats {
        *self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `count` processes of the function have finished their init, and returns every init
    /// duration so far; `None` if that takes longer than `within`.
    pub async fn inits(&self, count: usize, within: Duration) -> Option<Vec<Duration>> {
        tokio::time::timeout(within, async {
            loop {
                // Registered before the check, so a process finishing its init in between still wakes us.
                let changed = self.inits.changed.notified();
                tokio::pin!(changed);
                changed.as_mut().enable();
                {
                    let durations = self
                        .inits
                        .durations
                        .lock()
                        .unwrap_or_else(|p| p.into_inner());
                    if durations.len() >= count {
                        return durations.clone();
                    }
                }
                changed.await;
            }
        })
        .await
        .ok()
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// Invokes the function with `payload` and waits for its answer.
    pub async fn invoke(&self, payload: &Value) -> Result<Value, InvokeError> {
        let (reply, answer) = oneshot::channel();
        let payload = serde_json::to_vec(payload).unwrap_or_default();
        if self
            .queue
            .send(Invocation { payload, reply })
            .await
            .is_err()
        {
            return Err(InvokeError::Exited("the function is not running".into()));
        }
        let bytes = answer
            .await
            .unwrap_or_else(|_| Err(InvokeError::Exited("the invocation was dropped".into())))?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        Ok(serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned())))
    }
}

struct Current {
    request_id: String,
    reply: Reply,
    started: Instant,
}

/// One process of a function and its Runtime API.
struct Slot {
    spec: Arc<FunctionSpec>,
    number: usize,
    incoming: async_channel::Receiver<Invocation>,
    requeue: async_channel::Sender<Invocation>,
    current: Mutex<Option<Current>>,
    kill: Notify,
    /// Bumped when the process dies, so a `/next` of a dead process gives its invocation back.
    generation: AtomicU64,
    /// Whether the current process got past init (asked for its first invocation).
    initialized: AtomicBool,
    /// When the current process was started.
    spawned_at: Mutex<Option<Instant>>,
    inits: Arc<Inits>,
    stats: Arc<Mutex<Stats>>,
    /// The memory limit of every process the slot runs.
    confinement: Confinement,
    /// The function's log, where each invocation's report line goes, as Lambda writes one.
    log_path: PathBuf,
}

impl Slot {
    fn finish(&self, request_id: &str, result: Result<Vec<u8>, InvokeError>) -> bool {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        match current.take() {
            Some(c) if c.request_id == request_id => {
                self.report(request_id, c.started.elapsed(), &result);
                let _ = c.reply.send(result);
                true
            }
            other => {
                *current = other;
                false
            }
        }
    }

    /// Appends the invocation's report to the function's log, as Lambda does: the `platform.report` record in
    /// the JSON log format, the `REPORT` line in the text one.
    fn report(&self, request_id: &str, took: Duration, result: &Result<Vec<u8>, InvokeError>) {
        let ms = took.as_secs_f64() * 1e3;
        let status = match result {
            Ok(_) => "success",
            Err(InvokeError::Timeout(_)) => "timeout",
            Err(_) => "error",
        };
        let line = if self.spec.log_format.as_deref() == Some("JSON") {
            serde_json::json!({
                "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "type": "platform.report",
                "record": {
                    "requestId": request_id,
                    "status": status,
                    "metrics": {
                        "durationMs": (ms * 100.0).round() / 100.0,
                        "billedDurationMs": ms.ceil(),
                        "memorySizeMB": self.spec.memory_mb,
                    },
                },
            })
            .to_string()
        } else {
            format!(
                "REPORT RequestId: {request_id}\tDuration: {ms:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB",
                ms.ceil(),
                self.spec.memory_mb
            )
        };
        // One write of a whole line to a file opened for appending: it never splits the process's own lines.
        let written = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.log_path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, format!("{line}\n").as_bytes()));
        if let Err(e) = written {
            warn!(function = %self.spec.name, error.message = %e, "could not write the invocation report");
        }
    }

    fn fail_current(&self, error: InvokeError) {
        let taken = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(c) = taken {
            let result = Err(error);
            self.report(&c.request_id, c.started.elapsed(), &result);
            let _ = c.reply.send(result);
        }
    }
}

async fn next(State(slot): State<Arc<Slot>>) -> Response {
    if !slot.initialized.swap(true, Ordering::SeqCst) {
        let spawned = *slot.spawned_at.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(spawned) = spawned {
            let init = spawned.elapsed();
            info!(function = %slot.spec.name, slot = slot.number, init_ms = init.as_secs_f64() * 1e3, "function initialized");
            slot.inits
                .durations
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(init);
            slot.inits.changed.notify_waiters();
        }
    }
    let generation = slot.generation.load(Ordering::SeqCst);
    let invocation = loop {
        let Ok(invocation) = slot.incoming.recv().await else {
            return StatusCode::GONE.into_response();
        };
        if !invocation.reply.is_closed() {
            break invocation;
        }
    };
    if slot.generation.load(Ordering::SeqCst) != generation {
        // The process that asked is gone: another one takes this invocation.
        let _ = slot.requeue.send(invocation).await;
        return StatusCode::GONE.into_response();
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let timeout = slot.spec.timeout;
    let deadline = chrono::Utc::now() + timeout;
    *slot.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(Current {
        request_id: request_id.clone(),
        reply: invocation.reply,
        started: Instant::now(),
    });
    let watchdog = Arc::clone(&slot);
    let watched = request_id.clone();
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        if watchdog.finish(&watched, Err(InvokeError::Timeout(timeout))) {
            warn!(function = %watchdog.spec.name, request_id = %watched, "invocation timed out; killing its process");
            watchdog.kill.notify_one();
        }
    });
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", request_id);
    set(
        "lambda-runtime-deadline-ms",
        deadline.timestamp_millis().to_string(),
    );
    set("lambda-runtime-invoked-function-arn", slot.spec.arn.clone());
    set(
        "lambda-runtime-trace-id",
        format!(
            "Root=1-{:08x}-{};Parent={};Sampled=0",
            chrono::Utc::now().timestamp(),
            &uuid::Uuid::new_v4().simple().to_string()[..24],
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        ),
    );
    set("content-type", "application/json".into());
    (StatusCode::OK, headers, invocation.payload).into_response()
}

async fn response(
    State(slot): State<Arc<Slot>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    if slot.finish(&id, Ok(body.to_vec())) {
        slot.report_memory();
        (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
    } else {
        unknown_request(&id)
    }
}

async fn invocation_error(
    State(slot): State<Arc<Slot>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error = function_error(&headers, &body);
    if slot.finish(&id, Err(error)) {
        slot.report_memory();
        (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
    } else {
        unknown_request(&id)
    }
}

async fn init_error(State(slot): State<Arc<Slot>>, headers: HeaderMap, body: Bytes) -> Response {
    let error = function_error(&headers, &body);
    error!(function = %slot.spec.name, slot = slot.number, error.message = %error, "function failed at init");
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

fn unknown_request(id: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"errorType": "InvalidRequestID", "errorMessage": format!("no invocation {id} in progress")})),
    )
        .into_response()
}

fn function_error(headers: &HeaderMap, body: &[u8]) -> InvokeError {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error_type = parsed["errorType"]
        .as_str()
        .or_else(|| {
            headers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
        })
        .unwrap_or("Unhandled")
        .to_owned();
    let message = parsed["errorMessage"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    InvokeError::Function {
        error_type,
        message,
    }
}

impl Slot {
    /// After each invocation, as Lambda's `REPORT` line: the most memory the process has used so far.
    fn report_memory(&self) {
        let used = self.confinement.max_memory_used_mb();
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        stats.max_memory_used_mb = stats.max_memory_used_mb.max(used);
    }
}

/// Runs the slot's process for as long as the runner runs, restarting it when it dies.
async fn supervise(
    slot: Arc<Slot>,
    code_dir: PathBuf,
    env: Environment,
    api: String,
    log_path: PathBuf,
) {
    let mut restart_delay = Duration::from_millis(250);
    loop {
        let started = Instant::now();
        *slot.spawned_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(started);
        let oom_before = slot.confinement.oom_kills();
        let exit = match spawn(&slot, &code_dir, &env, &api, &log_path) {
            Err(e) => format!("could not start: {e:#}"),
            Ok(mut child) => {
                tokio::select! {
                    status = child.wait() => match status {
                        Ok(s) => format!("exited with {s}"),
                        Err(e) => format!("lost: {e}"),
                    },
                    () = slot.kill.notified() => {
                        let _ = child.kill().await;
                        "killed after a timeout".to_owned()
                    }
                }
            }
        };
        let out_of_memory = slot.confinement.oom_kills() > oom_before;
        let max_used = slot.confinement.max_memory_used_mb();
        let exit = if out_of_memory {
            format!(
                "signal: killed (out of memory: above the function's memory_size of {} MB)",
                slot.confinement.memory_mb()
            )
        } else {
            exit
        };
        {
            let mut stats = slot.stats.lock().unwrap_or_else(|p| p.into_inner());
            stats.exits += 1;
            stats.out_of_memory += u64::from(out_of_memory);
            stats.max_memory_used_mb = stats.max_memory_used_mb.max(max_used);
        }
        slot.generation.fetch_add(1, Ordering::SeqCst);
        slot.fail_current(InvokeError::Exited(exit.clone()));
        if !slot.initialized.swap(false, Ordering::SeqCst) {
            // It died at init, as Lambda's init failure: the invocation waiting for it fails with it.
            if let Ok(waiting) = slot.incoming.try_recv() {
                let _ = waiting
                    .reply
                    .send(Err(InvokeError::Exited(format!("init failed: {exit}"))));
            }
        }
        if started.elapsed() > Duration::from_secs(10) {
            restart_delay = Duration::from_millis(250);
        }
        warn!(function = %slot.spec.name, slot = slot.number, exit = %exit, max_memory_used_mb = max_used, memory_size_mb = slot.spec.memory_mb, restart_in_ms = restart_delay.as_millis() as u64, "function process ended; restarting");
        tokio::time::sleep(restart_delay).await;
        restart_delay = (restart_delay * 2).min(Duration::from_secs(30));
    }
}

fn spawn(
    slot: &Slot,
    code_dir: &Path,
    env: &Environment,
    api: &str,
    log_path: &Path,
) -> anyhow::Result<tokio::process::Child> {
    let spec = &slot.spec;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let mut command = slot.confinement.command(&code_dir.join("bootstrap"));
    command
        .current_dir(code_dir)
        .env_clear()
        .envs(
            spec.environment
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LANG", "en_US.UTF-8")
        .env("TZ", ":UTC")
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", &spec.name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.memory_mb.to_string(),
        )
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", spec.name),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local-runner")
        .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
        .env("_HANDLER", &spec.handler)
        .env("LAMBDA_TASK_ROOT", code_dir)
        .env("AWS_REGION", &env.region)
        .env("AWS_DEFAULT_REGION", &env.region)
        .env("AWS_ENDPOINT_URL", &env.endpoint)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .kill_on_drop(true);
    // The function's role, in AWS; the emulator's credentials here.
    for (name, default) in [
        ("AWS_ACCESS_KEY_ID", Some("test")),
        ("AWS_SECRET_ACCESS_KEY", Some("test")),
        ("AWS_SESSION_TOKEN", None),
    ] {
        if let Some(value) = std::env::var(name).ok().or(default.map(str::to_owned)) {
            command.env(name, value);
        }
    }
    if let Some(format) = &spec.log_format {
        command.env("AWS_LAMBDA_LOG_FORMAT", format);
    }
    if let Some(level) = &spec.log_level {
        command.env("AWS_LAMBDA_LOG_LEVEL", level);
    }
    command
        .spawn()
        .with_context(|| format!("spawning {}", code_dir.join("bootstrap").display()))
}
