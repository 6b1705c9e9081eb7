//! The ops CLI (`ecobid-ops`, the real binary built next to the test binaries), on one workspace's queues, with
//! an audit log of its own.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// The CLI binary (scripts/test builds it next to the test binaries: target/<profile>/ecobid-ops).
fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let bin = dir.join("ecobid-ops");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p ecobid-ops` (scripts/test does)",
        bin.display()
    );
    bin
}

/// The CLI on one workspace's queues, with an audit log of its own.
pub(crate) struct Ops {
    pub(crate) workspace: String,
    endpoint: String,
    audit: PathBuf,
}

impl Ops {
    /// A workspace of its own (queues the test makes).
    pub(crate) fn new(endpoint: &str) -> Self {
        Self::of(
            &format!("o{}", &uuid::Uuid::new_v4().simple().to_string()[..10]),
            endpoint,
        )
    }

    pub(crate) fn of(workspace: &str, endpoint: &str) -> Self {
        let audit = std::env::temp_dir().join(format!(
            "ecobid-ops-audit-{workspace}-{}.jsonl",
            uuid::Uuid::new_v4().simple()
        ));
        Self {
            workspace: workspace.to_owned(),
            endpoint: endpoint.to_owned(),
            audit,
        }
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(binary());
        c.args(["--workspace", &self.workspace])
            .args(args)
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", super::emulator::REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("ECOBID_OPS_AUDIT_LOG", &self.audit)
            .stdin(std::process::Stdio::null());
        c
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("ecobid-ops runs")
    }

    /// Runs it and expects success; its stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ecobid-ops {args:?}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs it and expects a failure whose one-line message says `says`.
    pub(crate) fn fails(&self, args: &[&str], says: &str) {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "ecobid-ops {args:?} should fail");
        assert!(
            stderr.contains(says),
            "ecobid-ops {args:?}: stderr lacks {says:?}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    }

    pub(crate) fn audit_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("an audit line is JSON"))
            .collect()
    }

    pub(crate) fn name(&self, short: &str) -> String {
        format!("ecobid-{}-{short}", self.workspace)
    }
}
