//! The cold-start benchmark: each applied function's real `bootstrap` (the zip Terraform deployed) started
//! fresh, behind its own local Lambda Runtime API, `rounds` times. Per start it measures
//! - **init**: exec of `bootstrap` to its first `/next` (Lambda's `Init Duration`: configuration read, SDK
//!   clients built, the runtime client ready), and
//! - **first invocation**: an event handed to the fresh process until its response, an event that reaches no
//!   AWS service (an empty batch; the API's `GET /openapi.json`), so the figure is the function's own first-call
//!   cost, not the emulator's.
//!
//! The baseline, run the same way in the same process, is the smallest Rust Lambda there is (`noop-lambda`:
//! `lambda_runtime` and a handler that returns), so the ratios say what our code adds to the runtime's floor.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::http::{HeaderMap, Method, Uri};
use serde_json::{json, Map, Value};
use tokio::task::JoinSet;

use crate::discover::{Applied, FunctionSpec};
use crate::function::{Environment, Function};

/// The targets of issue 7.
pub const INIT_TARGET: Duration = Duration::from_millis(30);
pub const ZIP_TARGET_BYTES: u64 = 5_000_000;

/// One function's figures over the rounds.
#[derive(Debug, Clone)]
pub struct Figures {
    pub name: String,
    pub zip_bytes: Option<u64>,
    pub inits: Vec<Duration>,
    pub first_invocations: Vec<Duration>,
}

impl Figures {
    pub fn init_median(&self) -> Duration {
        median(&self.inits)
    }

    pub fn first_invocation_median(&self) -> Duration {
        median(&self.first_invocations)
    }
}

/// The median of `values` (zero when empty).
pub fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

/// The event a function's first invocation gets: `GET /openapi.json` for a function behind an HTTP API, an
/// empty batch for the others (SQS and stream mappings alike).
pub fn first_event(applied: &Applied, spec: &FunctionSpec) -> Value {
    for api in &applied.apis {
        let routes: Vec<_> = api
            .routes
            .iter()
            .filter(|r| r.function_arn.as_deref() == Some(spec.arn.as_str()))
            .collect();
        if let Some(route) = routes
            .iter()
            .find(|r| r.key == "GET /openapi.json")
            .or(routes.first())
        {
            return crate::gateway::event(
                &api.id,
                &route.key,
                &Method::GET,
                &Uri::from_static("/openapi.json"),
                &HeaderMap::new(),
                &Default::default(),
                Map::new(),
                Value::Null,
            );
        }
    }
    json!({ "Records": [] })
}

/// Starts the function unpacked in `code_dir` `rounds` times, one process at a time; its figures, with the
/// size of the zip it came from (`None` for a bare binary).
pub async fn measure(
    spec: &FunctionSpec,
    code_dir: &Path,
    zip_bytes: Option<u64>,
    event: &Value,
    rounds: usize,
    env: &Environment,
    log_dir: &Path,
) -> anyhow::Result<Figures> {
    let (mut inits, mut firsts) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut tasks = JoinSet::new();
        let function = Function::start(
            spec.clone(),
            code_dir.to_path_buf(),
            1,
            env.clone(),
            log_dir,
            &mut tasks,
        )?;
        let init = function
            .inits(1, Duration::from_secs(30))
            .await
            .and_then(|d| d.first().copied())
            .with_context(|| {
                format!(
                    "{} did not ask for an invocation within 30 s (round {}; its log: {})",
                    spec.name,
                    round + 1,
                    log_dir.join(format!("{}.log", spec.name)).display()
                )
            })?;
        let started = Instant::now();
        function
            .invoke(event)
            .await
            .with_context(|| format!("{}'s first invocation failed", spec.name))?;
        firsts.push(started.elapsed());
        inits.push(init);
        // Aborting the tasks drops the child process, which kills it (kill_on_drop).
        tasks.shutdown().await;
    }
    Ok(Figures {
        name: spec.name.clone(),
        zip_bytes,
        inits,
        first_invocations: firsts,
    })
}

/// A spec for a bare binary (the baseline): no environment of its own.
pub fn bare_spec(name: &str) -> FunctionSpec {
    FunctionSpec {
        name: name.to_owned(),
        arn: format!("arn:aws:lambda:local:000000000000:function:{name}"),
        code_sha256: String::new(),
        handler: "bootstrap".into(),
        environment: Vec::new(),
        timeout: Duration::from_secs(30),
        memory_mb: 128,
        log_format: Some("JSON".into()),
        log_level: Some("INFO".into()),
    }
}

/// Copies a bare binary into `dir` as its `bootstrap`.
pub fn stage_binary(binary: &Path, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let bootstrap = dir.join("bootstrap");
    std::fs::copy(binary, &bootstrap)
        .with_context(|| format!("copying {} to {}", binary.display(), bootstrap.display()))?;
    Ok(dir.to_path_buf())
}

/// The report: one line per function, its ratio to the baseline's medians, and the targets.
pub fn report(baseline: &Figures, functions: &[Figures], rounds: usize) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let range = |v: &[Duration]| {
        let min = v.iter().min().copied().unwrap_or_default();
        let max = v.iter().max().copied().unwrap_or_default();
        format!("{:.1}-{:.1}", ms(min), ms(max))
    };
    let mut out = format!(
        "cold start, median of {rounds} fresh processes each (init = exec to first /next; first = first invocation)\n\n{:<34} {:>8} {:>9} {:>13} {:>10} {:>9} {:>10}  {}\n",
        "function", "zip MB", "init ms", "init range", "first ms", "init ×", "first ×", "targets (init ≤ 30 ms, zip ≤ 5 MB)"
    );
    let line = |f: &Figures, ratios: bool| {
        let (init, first) = (f.init_median(), f.first_invocation_median());
        let ratio = |a: Duration, b: Duration| {
            if ratios && !b.is_zero() {
                format!("{:.2}", a.as_secs_f64() / b.as_secs_f64())
            } else {
                "-".into()
            }
        };
        let zip = f
            .zip_bytes
            .map_or("-".into(), |b| format!("{:.1}", b as f64 / 1e6));
        let verdict = if !ratios {
            "baseline".to_owned()
        } else {
            let init_ok = init <= INIT_TARGET;
            let zip_ok = f.zip_bytes.is_none_or(|b| b <= ZIP_TARGET_BYTES);
            match (init_ok, zip_ok) {
                (true, true) => "met".into(),
                (false, true) => "init over".into(),
                (true, false) => "zip over".into(),
                (false, false) => "init and zip over".into(),
            }
        };
        format!(
            "{:<34} {:>8} {:>9.1} {:>13} {:>10.1} {:>9} {:>10}  {}\n",
            f.name,
            zip,
            ms(init),
            range(&f.inits),
            ms(first),
            ratio(init, baseline.init_median()),
            ratio(first, baseline.first_invocation_median()),
            verdict
        )
    };
    out.push_str(&line(baseline, false));
    for f in functions {
        out.push_str(&line(f, true));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[d(5), d(1), d(3)]), d(3));
        assert_eq!(
            median(&[d(4), d(1), d(3), d(2)]),
            Duration::from_micros(2500)
        );
        assert_eq!(median(&[]), Duration::ZERO);
    }

    #[test]
    fn report_names_what_misses_a_target_and_the_ratio_to_the_baseline() {
        let baseline = Figures {
            name: "noop-lambda".into(),
            zip_bytes: None,
            inits: vec![d(2)],
            first_invocations: vec![d(1)],
        };
        let fast = Figures {
            name: "fast".into(),
            zip_bytes: Some(3_000_000),
            inits: vec![d(4)],
            first_invocations: vec![d(1)],
        };
        let big = Figures {
            name: "big".into(),
            zip_bytes: Some(6_100_000),
            inits: vec![d(40)],
            first_invocations: vec![d(3)],
        };
        let text = report(&baseline, &[fast, big], 1);
        let line = |name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .unwrap_or_else(|| panic!("no line for {name} in\n{text}"))
                .to_owned()
        };
        assert!(line("fast").ends_with("met"), "{text}");
        assert!(line("fast").contains(" 2.00 "), "{text}");
        assert!(line("big").ends_with("init and zip over"), "{text}");
        assert!(line("big").contains(" 20.00 "), "{text}");
        assert!(line("noop-lambda").ends_with("baseline"), "{text}");
    }
}
