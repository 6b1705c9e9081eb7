//! Workspace B, played once for the whole suite: one local runner for all its functions, mappings and schedules
//! (two runners would run two stream publishers, and every event would be published twice), on a runtime of its
//! own that outlives each test's. Every test on B is a test of its own; the checks that must come after all of
//! them (every DLQ empty, every function's metrics) wait for the tests that are running on B to finish.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::emulator::Emulator;
use super::stack::TestStack;

/// What the tests need to reach workspace B.
pub(crate) struct Shared {
    pub(crate) workspace: String,
    /// The HTTP API's base URL on the runner's gateway.
    pub(crate) base: String,
    pub(crate) outputs: Value,
    /// Where the runner keeps its functions' logs.
    pub(crate) work_dir: PathBuf,
    /// The images worker as the runner runs it (its processes' exits and memory).
    pub(crate) images_worker: Option<runner::function::Function>,
}

static SHARED: OnceLock<Shared> = OnceLock::new();
static STARTED: AtomicUsize = AtomicUsize::new(0);
static FINISHED: AtomicUsize = AtomicUsize::new(0);

/// Workspace B's runner, started by the first test that asks (once for the process).
pub(crate) fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("workspace-b-runner".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a runtime for workspace B's runner");
                rt.block_on(async move {
                    let stack = TestStack::from_env();
                    let workspace = stack.workspace_b.clone();
                    let outputs = stack.outputs(&workspace);
                    let emulator = Emulator::from_env().await;
                    let prefix = format!("ecobid-{workspace}-");
                    let code = vec![e2e::repo_root().join("dist/lambda")];
                    // The whole workspace: API, stream publisher, the four workers and the schedules.
                    let runner = emulator.runner(&prefix, code).await;
                    let api_id = outputs["api_id"].as_str().expect("api_id");
                    let addr = *runner
                        .api_addrs
                        .get(api_id)
                        .expect("the runner serves the API");
                    let _ = tx.send(Shared {
                        workspace,
                        base: format!("http://{addr}"),
                        outputs: outputs.clone(),
                        work_dir: Emulator::work_dir(&prefix),
                        images_worker: runner.function(&format!("{prefix}images-worker")),
                    });
                    // Runs until the test process ends (its processes end with the Runtime API they poll).
                    let _keep = runner;
                    std::future::pending::<()>().await;
                });
            })
            .expect("a thread for workspace B's runner");
        rx.recv()
            .expect("workspace B's runner started (see the panic above if not)")
    })
}

/// A test running on workspace B: counted from [`begin`] until dropped (a test that panics is finished too).
pub(crate) struct Running(());

pub(crate) fn begin() -> Running {
    STARTED.fetch_add(1, Ordering::SeqCst);
    Running(())
}

impl Drop for Running {
    fn drop(&mut self) {
        FINISHED.fetch_add(1, Ordering::SeqCst);
    }
}

/// Waits until every test that started on workspace B has finished (the caller runs last: libtest starts tests
/// in name order, and the after-all checks are named to sort last, so every other test has started by then).
pub(crate) async fn after_all(within: Duration) {
    // A test taken off the queue just before may not have entered its body yet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let start = Instant::now();
    loop {
        let (started, finished) = (
            STARTED.load(Ordering::SeqCst),
            FINISHED.load(Ordering::SeqCst),
        );
        if finished >= started {
            return;
        }
        assert!(
            start.elapsed() < within,
            "{} tests on workspace B still running after {within:?}",
            started - finished
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
