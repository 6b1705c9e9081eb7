//! The infrastructure as applied: policy of the plan, an empty second plan, workspaces that never touch each
//! other, every resource in a `dev` plan, every shipped environment planned with its retry budgets, and bad
//! configurations failing loudly.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use domain::queue::EventQueue;
use e2e::plan::Plan;
use e2e::{budget, policy};
use infra::config::WorkerConfig;
use serde_json::Value;

use crate::support::stack::TestStack;

/// Names of the resources a workspace owns that must be unique (queues, functions, topics, table, buckets…).
fn owned_names(plan: &Plan) -> BTreeSet<String> {
    policy::named_resources(plan)
        .into_iter()
        .map(|(_, name)| name.to_owned())
        .collect()
}

#[test]
fn applied_workspace_plans_no_change_and_follows_the_policy() {
    let stack = TestStack::from_env();
    let plan = applied_plan();
    let violations = policy::all(plan, &stack.workspace_a);
    assert!(
        violations.is_empty(),
        "policy violations in workspace {}:\n{}",
        stack.workspace_a,
        violations.join("\n")
    );
}

#[test]
fn workers_get_the_queue_policy_terraform_applies() {
    // GIVEN the applied workspace WHEN each worker's environment is read as the worker runtime reads it
    // THEN it parses, and its retry policy is the one the queue's redrive policy and mapping were given.
    let stack = TestStack::from_env();
    let plan = applied_plan();
    for queue in EventQueue::ALL {
        let name = format!("ecobid-{}-{}", stack.workspace_a, queue.key());
        let function = plan
            .find(
                "aws_lambda_function",
                "function_name",
                &format!("{name}-worker"),
            )
            .unwrap_or_else(|| panic!("no worker for {name}"));
        let vars: BTreeMap<String, String> = function
            .values
            .pointer("/environment/0/variables")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let cfg = WorkerConfig::from_lookup(|k| vars.get(k).cloned()).unwrap_or_else(|e| {
            panic!(
                "{}: the worker would refuse its environment: {e}",
                function.address
            )
        });

        let queue_res = plan.find("aws_sqs_queue", "name", &name).expect("queue");
        let dlq = plan
            .find("aws_sqs_queue", "name", &format!("{name}-dlq"))
            .expect("dlq");
        let redrive: Value =
            serde_json::from_str(queue_res.str("redrive_policy").expect("redrive")).expect("json");
        assert_eq!(
            Some(f64::from(cfg.policy.max_receive_count())),
            redrive["maxReceiveCount"].as_f64(),
            "{name}"
        );
        assert_eq!(Some(cfg.queue_url.as_str()), queue_res.str("url"), "{name}");
        assert_eq!(Some(cfg.dlq_url.as_str()), dlq.str("url"), "{name}");
        let mapping = plan
            .of_kind("aws_lambda_event_source_mapping")
            .find(|m| m.str("event_source_arn") == queue_res.str("arn"))
            .expect("mapping");
        assert_eq!(
            mapping.num("batch_size"),
            Some(f64::from(cfg.policy.batch_size())),
            "{name}"
        );
        assert_eq!(
            mapping
                .values
                .pointer("/scaling_config/0/maximum_concurrency")
                .and_then(Value::as_f64),
            Some(f64::from(cfg.policy.max_concurrency())),
            "{name}"
        );
        // Locally the mappings stay disabled: the local runner plays them (moto would drop the messages).
        assert_eq!(
            mapping.values.get("enabled"),
            Some(&Value::Bool(false)),
            "{name}"
        );
    }
}

#[test]
fn workspaces_side_by_side_never_touch_each_other() {
    // Workspace C is this test's own: destroying it takes nothing from the suites running in A and B.
    let stack = TestStack::from_env();
    let (a, b, c) = (&stack.workspace_a, &stack.workspace_b, &stack.workspace_c);

    // GIVEN all three applied THEN each plans no change, each follows the policy with its own names
    let plan_a = stack.plan_no_change(a);
    let plan_b = stack.plan_no_change(b);
    let plan_c = stack.plan_no_change(c);
    let violations = policy::all(&plan_c, c);
    assert!(
        violations.is_empty(),
        "policy violations in workspace {c}:\n{}",
        violations.join("\n")
    );

    // AND they share no resource name
    let (names_a, names_b, names_c) = (
        owned_names(&plan_a),
        owned_names(&plan_b),
        owned_names(&plan_c),
    );
    for own in [
        format!("ecobid-{c}-table"),
        format!("ecobid-{c}-images-dlq"),
        format!("ecobid-{c}-uploads"),
    ] {
        assert!(
            names_c.contains(&own),
            "workspace {c} has no {own}: {names_c:?}"
        );
    }
    for (x, names_x, y, names_y) in [
        (a, &names_a, c, &names_c),
        (b, &names_b, c, &names_c),
        (a, &names_a, b, &names_b),
    ] {
        let shared: Vec<&String> = names_x.intersection(names_y).collect();
        assert!(
            shared.is_empty(),
            "workspaces {x} and {y} share resource names: {shared:?}"
        );
    }

    // WHEN c is destroyed
    let out = stack.tf.run(
        c,
        &[
            "destroy",
            "-auto-approve",
            "-input=false",
            "-no-color",
            "-var-file=env/local.tfvars",
            &format!("-var=aws_endpoint_url={}", stack.tf.endpoint),
        ],
    );
    assert!(
        out.status.success(),
        "destroy {c}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stack.state_list(c).is_empty(),
        "workspace {c} still has resources after destroy"
    );

    // THEN a and b are untouched: their plans (which refresh every resource from the emulator) are still empty
    for (x, names_x) in [(a, &names_a), (b, &names_b)] {
        let after = stack.plan_no_change(x);
        assert_eq!(
            &owned_names(&after),
            names_x,
            "workspace {x} changed when {c} was destroyed"
        );
    }
}

/// The environments the project ships (`terraform/env/<name>.tfvars`), besides the local stack's.
const SHIPPED: [&str; 3] = ["dev", "staging", "prod"];

/// A fresh plan of each shipped environment with its own variables, the provider pointed at the emulator
/// (nothing is applied); planned once, side by side, for every test that reads them.
fn shipped_plans() -> &'static BTreeMap<&'static str, Plan> {
    static PLANS: OnceLock<BTreeMap<&'static str, Plan>> = OnceLock::new();
    PLANS.get_or_init(|| {
        let stack = TestStack::from_env();
        for env in SHIPPED {
            stack.tf.ensure_workspace(env);
        }
        std::thread::scope(|scope| {
            let planned: Vec<_> = SHIPPED
                .iter()
                .map(|env| {
                    let stack = &stack;
                    scope.spawn(move || {
                        let vars = [
                            format!("-var-file=env/{env}.tfvars"),
                            format!("-var=aws_endpoint_url={}", stack.tf.endpoint),
                        ];
                        let (code, text, file) = stack.tf.plan(env, &vars, "shipped");
                        assert_eq!(
                            code, 2,
                            "a fresh {env} plan must propose changes (exit 2), got {code}:\n{text}"
                        );
                        let plan = Plan::from_json(&stack.tf.show_json(env, &file)).expect("plan");
                        let _ = std::fs::remove_file(&file);
                        (*env, plan)
                    })
                })
                .collect();
            planned
                .into_iter()
                .map(|p| p.join().expect("a plan of a shipped environment"))
                .collect()
        })
    })
}

/// The applied workspace A's plan (asserted empty), planned once for the tests that read it.
fn applied_plan() -> &'static Plan {
    static PLAN: OnceLock<Plan> = OnceLock::new();
    PLAN.get_or_init(|| {
        let stack = TestStack::from_env();
        stack.plan_no_change(&stack.workspace_a)
    })
}

#[test]
fn every_shipped_environment_outlasts_half_an_hour_of_a_failing_dependency() {
    // GIVEN each environment's queues and workers as Terraform would create them
    let stack = TestStack::from_env();
    let local = budget::retry_budgets(applied_plan(), &format!("ecobid-{}", stack.workspace_a))
        .unwrap_or_else(|wrong| panic!("{}", wrong.join("\n")));
    let shipped: Vec<(&str, Vec<budget::RetryBudget>)> = shipped_plans()
        .iter()
        .map(|(env, plan)| {
            let budgets = budget::retry_budgets(plan, &format!("ecobid-{env}"))
                .unwrap_or_else(|wrong| panic!("{env}: {}", wrong.join("\n")));
            (*env, budgets)
        })
        .collect();
    // THEN the table says what outage each queue survives, and how far the local stack is scaled down
    let mut rows: Vec<(&str, &[budget::RetryBudget])> = vec![("local", &local)];
    rows.extend(shipped.iter().map(|(env, b)| (*env, b.as_slice())));
    eprintln!(
        "retry budgets (a dependency failing on every receive / invocations never answering):\n{}",
        budget::table(&rows)
    );
    let prod = &shipped
        .iter()
        .find(|(env, _)| *env == "prod")
        .expect("prod")
        .1;
    for (l, p) in local.iter().zip(prod.iter()) {
        eprintln!(
            "{}: the local stack's budget is 1/{:.0} of prod's",
            l.queue,
            p.failing().as_secs_f64() / l.failing().as_secs_f64().max(1.0)
        );
    }
    // AND the stream publisher's: how long the bus may refuse events before a batch goes to the outbox DLQ
    let floor = std::time::Duration::from_secs(30 * 60);
    let mut streams = vec![("local", budget::stream_budget(applied_plan()))];
    streams.extend(
        shipped_plans()
            .iter()
            .map(|(env, plan)| (*env, budget::stream_budget(plan))),
    );
    let mut short: Vec<String> = Vec::new();
    for (env, b) in &streams {
        let b = b.as_ref().unwrap_or_else(|e| panic!("{env}: {e}"));
        eprintln!(
            "stream publisher, {env}: the bus may refuse events for {} before a batch goes to the outbox DLQ",
            humantime::format_duration(*b)
        );
        if matches!(*env, "staging" | "prod") && *b < floor {
            short.push(format!(
                "{env}: the stream publisher survives {} of a refusing bus, under {}",
                humantime::format_duration(*b),
                humantime::format_duration(floor)
            ));
        }
    }
    // AND staging and prod survive at least 30 minutes on every queue and on the stream
    short.extend(
        shipped
            .iter()
            .filter(|(env, _)| matches!(*env, "staging" | "prod"))
            .flat_map(|(env, b)| {
                budget::shorter_than(b, floor)
                    .into_iter()
                    .map(move |v| format!("{env}: {v}"))
            }),
    );
    assert!(short.is_empty(), "{}", short.join("\n"));
}

#[test]
fn shipped_environments_sign_in_with_srp_only_and_the_local_stack_also_with_a_password() {
    let flows = |plan: &Plan| -> Vec<String> {
        let client = plan
            .of_kind("aws_cognito_user_pool_client")
            .next()
            .expect("the app client");
        let mut f: Vec<String> = client.values["explicit_auth_flows"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        f.sort();
        f
    };
    for (env, plan) in shipped_plans() {
        assert_eq!(
            flows(plan),
            ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
            "{env}"
        );
    }
    assert!(flows(applied_plan()).contains(&"ALLOW_USER_PASSWORD_AUTH".to_owned()));
}

#[test]
fn dev_plan_shows_every_resource() {
    let plan = &shipped_plans()["dev"];

    let expected: &[(&str, usize)] = &[
        // queue: five event queues + their DLQs + the bus's DLQ + the outbox DLQ, redrive-allow policies
        ("aws_sqs_queue", 12),
        ("aws_sqs_queue_redrive_allow_policy", 5),
        ("aws_sqs_queue_policy", 6),
        // alarms: seven DLQ depths; observability: six worker error rates, the API's 5xx rate, table throttles,
        // each function's AWS/Lambda Errors and Throttles, the stream's IteratorAge, API Gateway's 5xx
        ("aws_cloudwatch_metric_alarm", 31),
        ("aws_cloudwatch_dashboard", 1),
        // worker: five workers + stream publisher + API, each with role, policy, log group
        ("aws_lambda_function", 7),
        ("aws_iam_role_policy", 8),
        ("aws_cloudwatch_log_group", 8),
        ("aws_lambda_event_source_mapping", 6),
        // http_api
        ("aws_apigatewayv2_api", 1),
        ("aws_apigatewayv2_authorizer", 1),
        ("aws_apigatewayv2_integration", 1),
        ("aws_apigatewayv2_route", 32),
        ("aws_apigatewayv2_stage", 1),
        ("aws_cognito_user_pool", 1),
        ("aws_cognito_user_pool_client", 1),
        ("aws_cognito_user_group", 1),
        ("aws_lambda_permission", 1),
        // event_bus: one rule per routed event type
        ("aws_cloudwatch_event_bus", 1),
        ("aws_cloudwatch_event_rule", 20),
        ("aws_cloudwatch_event_target", 31),
        ("aws_cloudwatch_event_archive", 1),
        // storage: the single table and the search index
        ("aws_dynamodb_table", 2),
        ("aws_s3_bucket", 2),
        ("aws_s3_bucket_public_access_block", 2),
        ("aws_s3_bucket_server_side_encryption_configuration", 2),
        ("aws_s3_bucket_lifecycle_configuration", 2),
        ("aws_s3_bucket_notification", 1),
        // both buckets deny plain HTTP; the thumbnails' policy also lets the distribution read
        ("aws_s3_bucket_policy", 2),
        // cdn: the thumbnails' distribution and its Origin Access Control
        ("aws_cloudfront_distribution", 1),
        ("aws_cloudfront_origin_access_control", 1),
        // notifications: the admin topic under its own key; dev's tfvars give no push credentials, so no
        // platform application; the email sender and its configuration set
        ("aws_sns_topic", 1),
        ("aws_sns_topic_policy", 1),
        ("aws_kms_key", 1),
        ("aws_kms_alias", 1),
        ("aws_sns_platform_application", 0),
        ("aws_sesv2_email_identity", 1),
        ("aws_sesv2_configuration_set", 1),
        // scheduler (+ the seven function roles)
        ("aws_scheduler_schedule_group", 1),
        ("aws_iam_role", 8),
    ];
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(kind, n)| plan.count(kind) != *n)
        .map(|(kind, n)| format!("{kind}: expected {n}, planned {}", plan.count(kind)))
        .collect();
    assert!(wrong.is_empty(), "dev plan:\n{}", wrong.join("\n"));
    let misnamed = policy::names_carry_workspace(plan, "ecobid-dev");
    assert!(misnamed.is_empty(), "{}", misnamed.join("\n"));
    assert!(plan
        .find("aws_sqs_queue", "name", "ecobid-dev-auction-closes-dlq")
        .is_some());
}

#[test]
fn a_worker_timeout_above_visibility_over_six_fails_the_plan_naming_both_numbers() {
    let stack = TestStack::from_env();
    let queues = r#"-var=queues={ images = { function_timeout_seconds = 120, visibility_timeout_seconds = 360 }, notifications = {}, expiries = {}, "auction-closes" = {}, index = {} }"#;
    let (code, text, _) = stack.plan(&stack.workspace_a, &[queues]);
    assert_eq!(code, 1, "the plan must fail, got exit {code}:\n{text}");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains(
            "Queue visibility timeout (360 s) must be at least 6 x the timeout of function"
        ) && flat.contains("(120 s, so >= 720 s)"),
        "the error must name both numbers:\n{text}"
    );
}

#[test]
fn bad_variables_are_refused_with_what_is_wrong() {
    let stack = TestStack::from_env();
    let cases: &[(&str, &str)] = &[
        (
            "-var=lambda_architecture=sparc",
            "lambda_architecture must be \"x86_64\" or \"arm64\"",
        ),
        (
            r#"-var=queues={ images = {} }"#,
            "queues must configure exactly: images, notifications, expiries, auction-closes, index",
        ),
        (
            r#"-var=queues={ images = { backoff_base_seconds = 1000 }, notifications = {}, expiries = {}, "auction-closes" = {}, index = {} }"#,
            "1 <= backoff_base_seconds <= backoff_max_seconds",
        ),
    ];
    for (arg, message) in cases {
        let (code, text, _) = stack.plan(&stack.workspace_a, &[arg]);
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            code == 1 && flat.contains(message),
            "{arg}: expected exit 1 and {message:?}, got {code}:\n{text}"
        );
    }
}
