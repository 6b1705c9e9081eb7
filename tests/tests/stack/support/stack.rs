//! What the stack suites share: the stack scripts/test brought up, and its two applied workspaces.

use e2e::plan::Plan;
use e2e::terraform::{required_env, Terraform};

/// The stack under test: terraform against the emulator, and the workspaces scripts/test applied side by side:
/// A (the backbone suite and the infrastructure checks), B (the REST API and the workers, end to end) and C (a
/// throw-away one the isolation check destroys, so no suite loses the workspace it is using).
pub struct TestStack {
    pub tf: Terraform,
    pub workspace_a: String,
    pub workspace_b: String,
    pub workspace_c: String,
}

impl TestStack {
    pub fn from_env() -> Self {
        Self {
            tf: Terraform::from_env(),
            workspace_a: required_env("ECOBID_WORKSPACE_A"),
            workspace_b: required_env("ECOBID_WORKSPACE_B"),
            workspace_c: required_env("ECOBID_WORKSPACE_C"),
        }
    }

    /// Plans `workspace` with the local configuration (+ `extra` arguments): exit code, output and the plan.
    /// The plan is parsed only when terraform produced one.
    pub fn plan(&self, workspace: &str, extra: &[&str]) -> (i32, String, Option<Plan>) {
        let (code, text, file) = self.tf.plan(workspace, &self.tf.local_vars(extra), "check");
        let plan = (code == 0 || code == 2).then(|| {
            let json = self.tf.show_json(workspace, &file);
            Plan::from_json(&json).unwrap_or_else(|e| panic!("{e}"))
        });
        let _ = std::fs::remove_file(&file);
        (code, text, plan)
    }

    /// Asserts that `workspace` plans no change, and returns that plan (every value known).
    pub fn plan_no_change(&self, workspace: &str) -> Plan {
        let (code, text, plan) = self.plan(workspace, &[]);
        assert_eq!(code, 0, "workspace {workspace}: a plan after apply must be empty (-detailed-exitcode 0), got {code}:\n{text}");
        plan.expect("plan")
    }

    /// `terraform output -json` of `workspace`, values only.
    pub fn outputs(&self, workspace: &str) -> serde_json::Value {
        let out = self.tf.run(workspace, &["output", "-json"]);
        assert!(
            out.status.success(),
            "output: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let all: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&out.stdout).expect("outputs JSON");
        all.into_iter()
            .map(|(k, v)| (k, v["value"].clone()))
            .collect()
    }

    /// Resource addresses in `workspace`'s state.
    pub fn state_list(&self, workspace: &str) -> Vec<String> {
        let out = self.tf.run(workspace, &["state", "list"]);
        assert!(
            out.status.success(),
            "state list: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect()
    }
}
