//! The budgets read from a plan are the policy's figures, and a policy too short for the floor is named.

use serde_json::{json, Value};

use super::*;

const P: &str = "ecobid-t1";

/// A plan of the four queues and their workers, each with `receives` × (`base` doubling to `cap`); the
/// worker's environment says `env_receives` (as an applied plan knows it; a fresh one does not).
fn plan_with(
    receives: u32,
    base: u64,
    cap: u64,
    redrive: Option<u32>,
    env_receives: Option<u32>,
) -> Plan {
    let mut resources: Vec<Value> = Vec::new();
    let mut queues = serde_json::Map::new();
    for q in EventQueue::ALL {
        queues.insert(q.key().to_owned(), json!({ "queue_name": format!("{P}-{q}"), "policy": {
            "max_receive_count": receives, "backoff_base_seconds": base, "backoff_max_seconds": cap,
            "batch_size": 10, "maximum_concurrency": 5, "visibility_timeout_seconds": 180
        }}));
        let env = match env_receives {
            Some(n) => json!([{ "variables": {
                "MAX_RECEIVE_COUNT": n.to_string(),
                "BACKOFF_BASE_SECONDS": base.to_string(),
                "BACKOFF_MAX_SECONDS": cap.to_string(),
                "BATCH_SIZE": "10",
                "MAX_CONCURRENCY": "5"
            }}]),
            None => json!([{}]),
        };
        let mut queue = json!({ "name": format!("{P}-{q}"), "visibility_timeout_seconds": 180 });
        if let Some(n) = redrive {
            queue["redrive_policy"] = json!(format!(
                r#"{{"deadLetterTargetArn":"arn:dlq","maxReceiveCount":{n}}}"#
            ));
        }
        resources.push(
            json!({ "address": format!("aws_sqs_queue.{q}"), "mode": "managed",
            "type": "aws_sqs_queue", "name": q.key(), "values": queue }),
        );
        resources.push(
            json!({ "address": format!("aws_lambda_function.{q}"), "mode": "managed",
            "type": "aws_lambda_function", "name": q.key(), "values": {
                "function_name": format!("{P}-{q}-worker"),
                "environment": env
            }}),
        );
    }
    let json = json!({
        "output_changes": { "queues": { "actions": ["create"], "after": queues } },
        "planned_values": { "root_module": { "resources": resources } }
    });
    Plan::from_json(&json.to_string()).expect("plan")
}

fn plan(receives: u32, base: u64, cap: u64, redrive: Option<u32>) -> Plan {
    plan_with(receives, base, cap, redrive, Some(receives))
}

#[test]
fn each_queue_s_budget_is_its_policy_s() {
    let budgets = retry_budgets(&plan(10, 5, 900, Some(10)), P).expect("budgets");
    assert_eq!(budgets.len(), EventQueue::ALL.len());
    for b in &budgets {
        assert_eq!(b.failing(), Duration::from_secs(2175), "{:?}", b.queue);
        assert_eq!(b.unanswered(), Duration::from_secs(1800));
    }
    assert!(shorter_than(&budgets, Duration::from_secs(30 * 60)).is_empty());
    let printed = table(&[("prod", &budgets)]);
    assert!(
        printed.contains("36m 15s") && printed.contains("30m 00s"),
        "{printed}"
    );
}

#[test]
fn the_old_five_receives_of_two_seconds_fall_short_of_half_an_hour() {
    let budgets = retry_budgets(&plan(5, 2, 300, None), P).expect("budgets");
    let short = shorter_than(&budgets, Duration::from_secs(30 * 60));
    assert_eq!(short.len(), EventQueue::ALL.len(), "{short:#?}");
    assert!(
        short[0].contains("survives 30s") && short[0].contains("5 receives"),
        "{short:#?}"
    );
}

#[test]
fn a_redrive_policy_disagreeing_with_the_worker_is_named() {
    let wrong = retry_budgets(&plan(10, 5, 900, Some(5)), P).expect_err("disagreement");
    assert!(wrong[0].contains("maxReceiveCount Some(5)"), "{wrong:#?}");
}

#[test]
fn a_fresh_plan_is_read_from_the_variable_and_a_worker_told_otherwise_is_named() {
    let fresh = retry_budgets(&plan_with(10, 5, 900, None, None), P).expect("budgets");
    assert_eq!(fresh[0].failing(), Duration::from_secs(2175));
    let told_otherwise =
        retry_budgets(&plan_with(10, 5, 900, None, Some(3)), P).expect_err("differs");
    assert!(
        told_otherwise[0].contains("MAX_RECEIVE_COUNT=3"),
        "{told_otherwise:#?}"
    );
}

#[test]
fn a_missing_worker_or_setting_is_named_not_zero() {
    let wrong = retry_budgets(&plan(10, 5, 900, None), "ecobid-other").expect_err("absent");
    assert!(
        wrong[0].contains("no queue ecobid-other-images"),
        "{wrong:#?}"
    );
    let bad = retry_budgets(&plan(0, 5, 900, None), P).expect_err("refused policy");
    assert!(bad[0].contains("max receive count 0"), "{bad:#?}");
}

#[test]
fn durations_read_as_people_write_them() {
    assert_eq!(human(Duration::from_secs(30)), "30s");
    assert_eq!(human(Duration::from_secs(2175)), "36m 15s");
    assert_eq!(human(Duration::from_secs(3725)), "1h 02m 05s");
}
