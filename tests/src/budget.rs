//! The retry budget of each event queue, read from a plan: how long a message survives a dependency that
//! fails it on every receive before it is dead-lettered, from the `queues` variable as planned (the one typed
//! config, shown in the output `queues.<queue>.policy` with its defaults filled in, that Terraform turns into
//! the redrive policy and the worker's `MAX_RECEIVE_COUNT`, `BACKOFF_*_SECONDS`,
//! `BATCH_SIZE`, `MAX_CONCURRENCY`; where the plan knows those, they must agree) through the same
//! [`QueuePolicy`] the worker runs with.
//!
//! Two figures per queue:
//! - **failing**: the handler answers and fails transiently each time (a dependency throttling or down):
//!   [`QueuePolicy::retry_budget`], the sum of the backoff steps before the last receive.
//! - **unanswered**: the invocation never answers (a crash, a timeout): SQS hides the message for the
//!   queue's visibility timeout after each receive, `maxReceiveCount` times.

use std::fmt::Write as _;
use std::time::Duration;

use domain::queue::{EventQueue, QueuePolicy};
use serde_json::Value;

use crate::plan::Plan;

/// One queue's budget in one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryBudget {
    pub queue: EventQueue,
    pub policy: QueuePolicy,
    pub visibility: Duration,
}

impl RetryBudget {
    /// The outage of a dependency the queue's messages survive (failing on every receive).
    pub fn failing(&self) -> Duration {
        self.policy.retry_budget()
    }

    /// How long the messages survive invocations that never answer.
    pub fn unanswered(&self) -> Duration {
        self.visibility * self.policy.max_receive_count()
    }
}

/// Each event queue's budget in a plan whose resources are named `<prefix>-<queue>` (the queue) and
/// `<prefix>-<queue>-worker` (its function); or what is missing or inconsistent.
pub fn retry_budgets(plan: &Plan, prefix: &str) -> Result<Vec<RetryBudget>, Vec<String>> {
    let mut budgets = Vec::new();
    let mut wrong = Vec::new();
    for queue in EventQueue::ALL {
        match budget(plan, prefix, queue) {
            Ok(b) => budgets.push(b),
            Err(e) => wrong.push(format!("{queue}: {e}")),
        }
    }
    if wrong.is_empty() {
        Ok(budgets)
    } else {
        Err(wrong)
    }
}

/// The policy of `queue` as the `queues` output gives it (`queues.<queue>.policy`, defaults filled in), in
/// a plan or in what `terraform output -json` shows of an applied workspace.
pub fn queue_policy(queues: &Value, queue: EventQueue) -> Result<QueuePolicy, String> {
    let config = queues
        .pointer(&format!("/{}/policy", queue.key()))
        .ok_or_else(|| format!("no queues[{:?}].policy among the outputs", queue.key()))?;
    let setting = |key: &str| -> Result<u64, String> {
        config
            .get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("queues[{:?}].{key} is not a whole number", queue.key()))
    };
    let small = |key: &str| -> Result<u32, String> {
        u32::try_from(setting(key)?)
            .map_err(|_| format!("queues[{:?}].{key} is too big", queue.key()))
    };
    QueuePolicy::new(
        small("max_receive_count")?,
        Duration::from_secs(setting("backoff_base_seconds")?),
        Duration::from_secs(setting("backoff_max_seconds")?),
        small("batch_size")?,
        small("maximum_concurrency")?,
    )
    .map_err(|e| format!("queues[{:?}]: {e}", queue.key()))
}

fn budget(plan: &Plan, prefix: &str, queue: EventQueue) -> Result<RetryBudget, String> {
    let policy = queue_policy(plan.output("queues").unwrap_or(&Value::Null), queue)?;
    let queue_name = format!("{prefix}-{queue}");
    let sqs = plan
        .find("aws_sqs_queue", "name", &queue_name)
        .ok_or_else(|| format!("no queue {queue_name}"))?;
    let function_name = format!("{queue_name}-worker");
    let function = plan
        .find("aws_lambda_function", "function_name", &function_name)
        .ok_or_else(|| format!("no function {function_name}"))?;
    // What the queue and the worker are given must be what the variable says, wherever the plan knows it
    // (a fresh plan knows neither the redrive policy nor the environment: both hold ARNs to come).
    let env = function
        .block("environment")
        .and_then(|e| e.get("variables"))
        .cloned()
        .unwrap_or(Value::Null);
    for (variable, wanted) in [
        ("MAX_RECEIVE_COUNT", u64::from(policy.max_receive_count())),
        ("BACKOFF_BASE_SECONDS", policy.backoff_base().as_secs()),
        ("BACKOFF_MAX_SECONDS", policy.backoff_max().as_secs()),
        ("BATCH_SIZE", u64::from(policy.batch_size())),
        ("MAX_CONCURRENCY", u64::from(policy.max_concurrency())),
    ] {
        if let Some(given) = env.get(variable).and_then(Value::as_str) {
            if given != wanted.to_string() {
                return Err(format!(
                    "{function_name}: {variable}={given} but the queues variable of {:?} says {wanted}",
                    queue.key()
                ));
            }
        }
    }
    let max_receive_count = policy.max_receive_count();
    if let Some(redrive) = sqs
        .str("redrive_policy")
        .and_then(|p| serde_json::from_str::<Value>(p).ok())
    {
        let applied = redrive.get("maxReceiveCount").and_then(Value::as_u64);
        if applied != Some(u64::from(max_receive_count)) {
            return Err(format!(
                "{queue_name}: the redrive policy's maxReceiveCount {applied:?} differs from max_receive_count {max_receive_count}"
            ));
        }
    }
    let visibility = sqs
        .num("visibility_timeout_seconds")
        .ok_or_else(|| format!("{queue_name}: no visibility_timeout_seconds"))?;
    Ok(RetryBudget {
        queue,
        policy,
        visibility: Duration::from_secs_f64(visibility),
    })
}

/// The budgets shorter than `floor`, each naming the queue, its figure and the numbers it comes from.
pub fn shorter_than(budgets: &[RetryBudget], floor: Duration) -> Vec<String> {
    budgets
        .iter()
        .filter(|b| b.failing() < floor)
        .map(|b| {
            format!(
                "{}: survives {} of a failing dependency, below {} ({} receives, backoff {} s doubling to {} s)",
                b.queue,
                human(b.failing()),
                human(floor),
                b.policy.max_receive_count(),
                b.policy.backoff_base().as_secs(),
                b.policy.backoff_max().as_secs()
            )
        })
        .collect()
}

/// A table of every environment's budgets, one row per (environment, queue).
pub fn table(environments: &[(&str, &[RetryBudget])]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<8} {:<15} {:>8} {:>9} {:>8} {:>11} {:>10} {:>11}",
        "env", "queue", "receives", "backoff", "cap", "visibility", "failing", "unanswered"
    );
    for (env, budgets) in environments {
        for b in *budgets {
            let _ = writeln!(
                out,
                "{:<8} {:<15} {:>8} {:>8}s {:>7}s {:>10}s {:>10} {:>11}",
                env,
                b.queue.key(),
                b.policy.max_receive_count(),
                b.policy.backoff_base().as_secs(),
                b.policy.backoff_max().as_secs(),
                b.visibility.as_secs(),
                human(b.failing()),
                human(b.unanswered())
            );
        }
    }
    out
}

/// `1h 02m 05s`, `36m 15s`, `30s`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m {sec:02}s"),
        (h, min, sec) => format!("{h}h {min:02}m {sec:02}s"),
    }
}

#[cfg(test)]
mod tests;

/// The stream publisher's budget in a plan: the outage of the bus the stream survives before Lambda gives a
/// batch up to the outbox DLQ, `(retry_attempts + 1) x retry_window_seconds` (each invocation retries for the
/// window, then Lambda retries the batch), from the `stream_publisher` output, cross-checked against the
/// stream mapping's `maximum_retry_attempts`. A lower bound: Lambda's pauses between retries come on top.
pub fn stream_budget(plan: &Plan) -> Result<Duration, String> {
    let config = plan
        .output("stream_publisher")
        .ok_or("no stream_publisher among the plan's outputs")?;
    let setting = |key: &str| {
        config
            .get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("stream_publisher.{key} is not a whole number"))
    };
    let (attempts, window) = (setting("retry_attempts")?, setting("retry_window_seconds")?);
    let mapping = plan
        .of_kind("aws_lambda_event_source_mapping")
        .find(|m| m.address.starts_with("module.stream_publisher."))
        .ok_or("no stream mapping of the stream publisher")?;
    let applied = mapping.num("maximum_retry_attempts");
    if applied != Some(attempts as f64) {
        return Err(format!(
            "the stream mapping's maximum_retry_attempts {applied:?} differs from stream_publisher.retry_attempts {attempts}"
        ));
    }
    if mapping.values.get("bisect_batch_on_function_error") != Some(&Value::Bool(true)) {
        return Err("the stream mapping does not split failing batches".into());
    }
    Ok(Duration::from_secs((attempts + 1) * window))
}
