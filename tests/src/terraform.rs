//! Runs terraform on the root module against the stack scripts/test brought up. The script exports where the
//! module, its data dir and the emulator are; every call names its workspace through TF_WORKSPACE, so tests
//! running side by side never switch each other's workspace.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// A variable scripts/test sets for the stack suites; panics naming it when missing (they never skip silently).
pub fn required_env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the stack suites through scripts/test"))
}

/// The root module, initialised against one emulator.
#[derive(Debug, Clone)]
pub struct Terraform {
    pub dir: PathBuf,
    pub endpoint: String,
}

impl Terraform {
    /// From the environment scripts/test sets (ECOBID_TF_DIR, AWS_ENDPOINT_URL, TF_DATA_DIR, TF_CLI_CONFIG_FILE).
    /// Panics with what is missing: these suites never skip silently.
    pub fn from_env() -> Self {
        required_env("TF_DATA_DIR");
        Self {
            dir: PathBuf::from(required_env("ECOBID_TF_DIR")),
            endpoint: required_env("AWS_ENDPOINT_URL"),
        }
    }

    /// `terraform -chdir=<root module> <args>`, unattended.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("terraform");
        command
            .arg(format!("-chdir={}", self.dir.display()))
            .args(args)
            .env("TF_IN_AUTOMATION", "1")
            .env("NO_COLOR", "1");
        command
    }

    /// `terraform <args>` in `workspace`.
    pub fn run(&self, workspace: &str, args: &[&str]) -> Output {
        self.command(args)
            .env("TF_WORKSPACE", workspace)
            .output()
            .expect("terraform runs")
    }

    /// Creates `workspace` in the backend unless it exists.
    pub fn ensure_workspace(&self, workspace: &str) {
        let out = self
            .command(&["workspace", "new", "-no-color", workspace])
            .env_remove("TF_WORKSPACE")
            .output()
            .expect("terraform runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || stderr.contains("already exists"),
            "workspace new {workspace}: {stderr}"
        );
    }

    /// The variables of a local plan or apply (the local configuration pointed at this emulator), plus `extra`.
    pub fn local_vars(&self, extra: &[&str]) -> Vec<String> {
        let mut args = vec![
            "-var-file=env/local.tfvars".to_owned(),
            format!("-var=aws_endpoint_url={}", self.endpoint),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    }

    /// `terraform plan -detailed-exitcode` with `vars`, saved to a file; returns the exit code (0 = no
    /// changes, 2 = changes), the output and the plan file.
    pub fn plan(&self, workspace: &str, vars: &[String], out: &str) -> (i32, String, PathBuf) {
        static PLANS: AtomicU32 = AtomicU32::new(0);
        let n = PLANS.fetch_add(1, Ordering::Relaxed);
        let file = std::env::temp_dir().join(format!(
            "ecobid-{workspace}-{out}-{}-{n}.tfplan",
            std::process::id()
        ));
        let mut args = vec!["plan", "-input=false", "-no-color", "-detailed-exitcode"];
        let out_arg = format!("-out={}", file.display());
        args.push(&out_arg);
        args.extend(vars.iter().map(String::as_str));
        let output = self.run(workspace, &args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code().unwrap_or(-1), text, file)
    }

    /// `terraform show -json <plan file>`.
    pub fn show_json(&self, workspace: &str, plan_file: &std::path::Path) -> String {
        let output = self.run(
            workspace,
            &["show", "-json", &plan_file.display().to_string()],
        );
        assert!(
            output.status.success(),
            "terraform show failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8 JSON")
    }
}
