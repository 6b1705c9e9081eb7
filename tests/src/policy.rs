//! Rules every workspace's plan must follow. Each check returns the violations it found (empty = pass), with
//! the resource address and what is wrong, so a failing run says exactly what to fix.
//!
//! They read the planned values, so run them on a plan whose values are known: the plan of an applied
//! workspace (scripts/test applies one and plans it again).

use domain::queue::EventQueue;
use serde_json::Value;

use crate::plan::{Plan, Resource};

/// Actions that support no resource-level permissions: `"Resource": "*"` is the only way to grant them.
pub const RESOURCE_STAR_ONLY: &[&str] = &[
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "rekognition:DetectLabels",
    "rekognition:DetectModerationLabels",
    "comprehend:DetectToxicContent",
];

/// Every rule at once: the policy of a workspace whose resources are named `ecobid-<workspace>-…`.
pub fn all(plan: &Plan, workspace: &str) -> Vec<String> {
    let prefix = format!("ecobid-{workspace}");
    [
        event_queues_have_dlq_and_alarm(plan, &prefix),
        mappings_report_batch_item_failures(plan),
        visibility_covers_function_timeout(plan),
        iam_least_privilege(plan),
        buckets_private_and_encrypted(plan),
        table_matches_domain(plan, &prefix),
        event_targets_have_dlq_and_retry(plan),
        media_only_through_the_cdn(plan),
        alarms_can_page(plan),
        bucket_senders_name_their_account(plan),
        names_carry_workspace(plan, &prefix),
    ]
    .concat()
}

/// Each event queue has its DLQ (redrive policy), a redrive-allow policy on the DLQ naming it, SSE, and an
/// alarm on the DLQ's depth that notifies the admin topic.
pub fn event_queues_have_dlq_and_alarm(plan: &Plan, prefix: &str) -> Vec<String> {
    let mut v = Vec::new();
    let admin_topic = plan
        .find("aws_sns_topic", "name", &format!("{prefix}-admin-alerts"))
        .and_then(|t| t.str("arn"));
    if admin_topic.is_none() {
        v.push(format!("no admin alerts topic {prefix}-admin-alerts"));
    }
    for queue in EventQueue::ALL {
        let name = format!("{prefix}-{}", queue.key());
        let dlq_name = format!("{name}-dlq");
        let Some(q) = plan.find("aws_sqs_queue", "name", &name) else {
            v.push(format!("event queue {name} is missing"));
            continue;
        };
        let Some(dlq) = plan.find("aws_sqs_queue", "name", &dlq_name) else {
            v.push(format!("{}: no dead-letter queue {dlq_name}", q.address));
            continue;
        };
        for r in [q, dlq] {
            if r.values.get("sqs_managed_sse_enabled") != Some(&Value::Bool(true))
                && r.str("kms_master_key_id").is_none()
            {
                v.push(format!("{}: not encrypted at rest", r.address));
            }
        }
        let redrive = q
            .str("redrive_policy")
            .and_then(|s| serde_json::from_str::<Value>(s).ok());
        match redrive {
            None => v.push(format!("{}: no redrive policy", q.address)),
            Some(p) => {
                if p.get("deadLetterTargetArn").and_then(Value::as_str) != dlq.str("arn") {
                    v.push(format!(
                        "{}: redrive policy does not target {dlq_name}",
                        q.address
                    ));
                }
                if p.get("maxReceiveCount")
                    .and_then(Value::as_f64)
                    .is_none_or(|n| n < 1.0)
                {
                    v.push(format!(
                        "{}: redrive policy has no maxReceiveCount >= 1",
                        q.address
                    ));
                }
            }
        }
        let allow = plan
            .of_kind("aws_sqs_queue_redrive_allow_policy")
            .find(|r| r.str("queue_url") == dlq.str("url"))
            .and_then(|r| r.str("redrive_allow_policy"))
            .and_then(|s| serde_json::from_str::<Value>(s).ok());
        let names_source = allow.as_ref().is_some_and(|a| {
            a.get("redrivePermission").and_then(Value::as_str) == Some("byQueue")
                && a.get("sourceQueueArns")
                    .and_then(Value::as_array)
                    .is_some_and(|arns| arns.iter().any(|arn| arn.as_str() == q.str("arn")))
        });
        if !names_source {
            v.push(format!(
                "{}: no byQueue redrive-allow policy naming {name}",
                dlq.address
            ));
        }
        let alarmed = plan.of_kind("aws_cloudwatch_metric_alarm").any(|a| {
            a.str("metric_name") == Some("ApproximateNumberOfMessagesVisible")
                && a.values
                    .pointer("/dimensions/QueueName")
                    .and_then(Value::as_str)
                    == Some(dlq_name.as_str())
                && a.num("threshold") == Some(0.0)
                && a.str("comparison_operator") == Some("GreaterThanThreshold")
                && admin_topic
                    .is_some_and(|t| strings(a.values.get("alarm_actions")).contains(&t.to_owned()))
        });
        if !alarmed {
            v.push(format!(
                "{dlq_name}: no alarm on depth > 0 notifying the admin topic"
            ));
        }
    }
    v
}

/// Every event-source mapping reports partial batch failures.
pub fn mappings_report_batch_item_failures(plan: &Plan) -> Vec<String> {
    let mappings: Vec<&Resource> = plan.of_kind("aws_lambda_event_source_mapping").collect();
    if mappings.is_empty() {
        return vec!["no event-source mappings at all".into()];
    }
    mappings
        .into_iter()
        .filter(|m| {
            !strings(m.values.get("function_response_types"))
                .iter()
                .any(|t| t == "ReportBatchItemFailures")
        })
        .map(|m| {
            format!(
                "{}: function_response_types lacks ReportBatchItemFailures",
                m.address
            )
        })
        .collect()
}

/// The visibility timeout of every queue a function consumes is at least 6 × the function's timeout.
pub fn visibility_covers_function_timeout(plan: &Plan) -> Vec<String> {
    let mut v = Vec::new();
    for m in plan.of_kind("aws_lambda_event_source_mapping") {
        let Some(queue) = m
            .str("event_source_arn")
            .and_then(|arn| plan.find("aws_sqs_queue", "arn", arn))
        else {
            continue; // not an SQS source (the table's stream)
        };
        let function = m.str("function_name").and_then(|f| {
            plan.of_kind("aws_lambda_function")
                .find(|l| l.str("arn") == Some(f) || l.str("function_name") == Some(f))
        });
        let Some(function) = function else {
            v.push(format!(
                "{}: function {:?} not found in the plan",
                m.address,
                m.str("function_name")
            ));
            continue;
        };
        match (
            queue.num("visibility_timeout_seconds"),
            function.num("timeout"),
        ) {
            (Some(vis), Some(timeout)) if vis >= 6.0 * timeout => {}
            (vis, timeout) => v.push(format!(
                "{}: visibility timeout {vis:?} s < 6 x timeout {timeout:?} s of {}",
                queue.address, function.address
            )),
        }
    }
    v
}

/// No Allow statement grants a wildcard action, and `"Resource": "*"` only for actions that accept nothing else.
pub fn iam_least_privilege(plan: &Plan) -> Vec<String> {
    const POLICY_ATTRIBUTES: &[(&str, &str)] = &[
        ("aws_iam_role_policy", "policy"),
        ("aws_iam_policy", "policy"),
        ("aws_iam_role", "assume_role_policy"),
        ("aws_sqs_queue_policy", "policy"),
        ("aws_sns_topic_policy", "policy"),
        ("aws_s3_bucket_policy", "policy"),
    ];
    let mut v = Vec::new();
    let mut seen = 0;
    for (kind, attribute) in POLICY_ATTRIBUTES {
        for r in plan.of_kind(kind) {
            let Some(doc) = r
                .str(attribute)
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
            else {
                v.push(format!(
                    "{}: {attribute} is not a known JSON policy",
                    r.address
                ));
                continue;
            };
            seen += 1;
            for s in allows(&doc) {
                let sid = s.get("Sid").and_then(Value::as_str).unwrap_or("(no sid)");
                let at = format!("{} statement {sid}", r.address);
                if s.get("NotAction").is_some() || s.get("NotResource").is_some() {
                    v.push(format!("{at}: Allow with NotAction/NotResource"));
                }
                let actions = strings(s.get("Action"));
                for a in actions.iter().filter(|a| a.contains('*')) {
                    v.push(format!("{at}: wildcard action {a}"));
                }
                let resources = strings(s.get("Resource"));
                if resources.iter().any(|r| r == "*") {
                    let unjustified: Vec<&String> = actions
                        .iter()
                        .filter(|a| !RESOURCE_STAR_ONLY.contains(&a.as_str()))
                        .collect();
                    if !unjustified.is_empty() {
                        v.push(format!(
                            "{at}: Resource \"*\" for {unjustified:?}, which take ARNs"
                        ));
                    }
                }
                if strings(s.pointer("/Principal/AWS"))
                    .iter()
                    .any(|p| p == "*")
                    || s.get("Principal") == Some(&Value::String("*".into()))
                {
                    v.push(format!("{at}: Allow to any principal"));
                }
            }
        }
    }
    if seen == 0 {
        v.push("no IAM policy documents at all".into());
    }
    v
}

/// Every bucket blocks public access, enforces bucket-owner ownership (no ACLs) and is encrypted at rest.
pub fn buckets_private_and_encrypted(plan: &Plan) -> Vec<String> {
    let mut v = Vec::new();
    let buckets: Vec<&Resource> = plan.of_kind("aws_s3_bucket").collect();
    if buckets.is_empty() {
        v.push("no buckets at all".into());
    }
    for b in buckets {
        let Some(name) = b.str("bucket") else {
            v.push(format!("{}: bucket name unknown", b.address));
            continue;
        };
        let pab = plan.find("aws_s3_bucket_public_access_block", "bucket", name);
        let all_blocked = pab.is_some_and(|p| {
            [
                "block_public_acls",
                "block_public_policy",
                "ignore_public_acls",
                "restrict_public_buckets",
            ]
            .iter()
            .all(|k| p.values.get(*k) == Some(&Value::Bool(true)))
        });
        if !all_blocked {
            v.push(format!("{}: public access not fully blocked", b.address));
        }
        let sse = plan
            .find(
                "aws_s3_bucket_server_side_encryption_configuration",
                "bucket",
                name,
            )
            .and_then(|s| {
                s.values
                    .pointer("/rule/0/apply_server_side_encryption_by_default/0/sse_algorithm")
            })
            .and_then(Value::as_str);
        if !matches!(sse, Some("AES256" | "aws:kms" | "aws:kms:dsse")) {
            v.push(format!("{}: no default encryption", b.address));
        }
        let ownership = plan
            .find("aws_s3_bucket_ownership_controls", "bucket", name)
            .and_then(|o| o.values.pointer("/rule/0/object_ownership"))
            .and_then(Value::as_str);
        if ownership != Some("BucketOwnerEnforced") {
            v.push(format!(
                "{}: ACLs not disabled (object ownership {ownership:?})",
                b.address
            ));
        }
    }
    for acl in plan.of_kind("aws_s3_bucket_acl") {
        if acl.str("acl").is_some_and(|a| a.starts_with("public")) {
            v.push(format!("{}: public ACL", acl.address));
        }
    }
    v
}

/// The single table of DOMAIN.md: PK/SK, GSI1-4, a NEW_AND_OLD_IMAGES stream (the outbox), TTL, PITR, SSE.
/// Beside it only the search index (`<prefix>-search`, derived from the listings): PK/SK, SSE, and no
/// stream, since its writes are not events.
pub fn table_matches_domain(plan: &Plan, prefix: &str) -> Vec<String> {
    let main = format!("{prefix}-table");
    let search = format!("{prefix}-search");
    let mut v = Vec::new();
    for t in plan.of_kind("aws_dynamodb_table") {
        let name = t.str("name");
        if name == Some(search.as_str()) {
            v.extend(search_index_table(t));
        } else if name != Some(main.as_str()) {
            v.push(format!(
                "{}: table {name:?} is neither the single table {main} nor its search index {search}",
                t.address
            ));
        }
    }
    let Some(t) = plan.find("aws_dynamodb_table", "name", &main) else {
        v.push(format!("no single table {main}"));
        return v;
    };
    let at = &t.address;
    if (t.str("hash_key"), t.str("range_key")) != (Some("PK"), Some("SK")) {
        v.push(format!("{at}: keys are not PK/SK"));
    }
    let mut indexes: Vec<String> = t
        .values
        .get("global_secondary_index")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    indexes.sort();
    if indexes != ["GSI1", "GSI2", "GSI3", "GSI4"] {
        v.push(format!("{at}: indexes are {indexes:?}, not GSI1-4"));
    }
    if t.values.get("stream_enabled") != Some(&Value::Bool(true))
        || t.str("stream_view_type") != Some("NEW_AND_OLD_IMAGES")
    {
        v.push(format!("{at}: no NEW_AND_OLD_IMAGES stream"));
    }
    for (block, what) in [
        ("ttl", "TTL"),
        ("point_in_time_recovery", "point-in-time recovery"),
        ("server_side_encryption", "encryption"),
    ] {
        if t.block(block).and_then(|b| b.get("enabled")) != Some(&Value::Bool(true)) {
            v.push(format!("{at}: {what} not enabled"));
        }
    }
    v
}

/// The search index: keyed like the single table, encrypted, and without a stream (an index write is no event).
fn search_index_table(t: &Resource) -> Vec<String> {
    let mut v = Vec::new();
    let at = &t.address;
    if (t.str("hash_key"), t.str("range_key")) != (Some("PK"), Some("SK")) {
        v.push(format!("{at}: keys are not PK/SK"));
    }
    if t.values.get("stream_enabled") == Some(&Value::Bool(true)) {
        v.push(format!(
            "{at}: the search index has a stream (its writes are not events)"
        ));
    }
    if t.block("server_side_encryption")
        .and_then(|b| b.get("enabled"))
        != Some(&Value::Bool(true))
    {
        v.push(format!("{at}: encryption not enabled"));
    }
    v
}

/// Every EventBridge target has a dead-letter queue and a retry policy.
pub fn event_targets_have_dlq_and_retry(plan: &Plan) -> Vec<String> {
    let targets: Vec<&Resource> = plan.of_kind("aws_cloudwatch_event_target").collect();
    if targets.is_empty() {
        return vec!["no event targets at all".into()];
    }
    let mut v = Vec::new();
    for t in targets {
        if t.block("dead_letter_config")
            .and_then(|d| d.get("arn"))
            .and_then(Value::as_str)
            .is_none()
        {
            v.push(format!("{}: no dead-letter queue", t.address));
        }
        if t.block("retry_policy").is_none() {
            v.push(format!("{}: no retry policy", t.address));
        }
    }
    v
}

/// Resource kinds whose name is unique in an account and region (or, for buckets, globally), with the
/// attribute holding it: the names two workspaces must never share.
pub const NAMED_KINDS: &[(&str, &str)] = &[
    ("aws_sqs_queue", "name"),
    ("aws_lambda_function", "function_name"),
    ("aws_sns_topic", "name"),
    ("aws_dynamodb_table", "name"),
    ("aws_s3_bucket", "bucket"),
    ("aws_iam_role", "name"),
    ("aws_cloudwatch_event_bus", "name"),
    ("aws_cloudwatch_event_archive", "name"),
    ("aws_cloudwatch_metric_alarm", "alarm_name"),
    ("aws_cloudwatch_log_group", "name"),
    ("aws_cognito_user_pool", "name"),
    ("aws_apigatewayv2_api", "name"),
    ("aws_scheduler_schedule_group", "name"),
    ("aws_cloudfront_origin_access_control", "name"),
];

/// Every resource of [`NAMED_KINDS`] with its name.
pub fn named_resources(plan: &Plan) -> Vec<(&Resource, &str)> {
    NAMED_KINDS
        .iter()
        .flat_map(|(kind, attribute)| {
            plan.of_kind(kind)
                .map(move |r| (r, r.str(attribute).unwrap_or_default()))
        })
        .collect()
}

/// Every named resource carries the project and the workspace (`ecobid-<workspace>…`), so workspaces never
/// collide. Log groups carry it after their service's path.
pub fn names_carry_workspace(plan: &Plan, prefix: &str) -> Vec<String> {
    named_resources(plan)
        .into_iter()
        .filter(|(r, name)| {
            let own = if r.kind == "aws_cloudwatch_log_group" {
                name.rsplit('/').next().unwrap_or_default()
            } else {
                name
            };
            !is_prefixed(own, prefix)
        })
        .map(|(r, name)| format!("{}: name {name:?} does not start with {prefix}", r.address))
        .collect()
}

fn is_prefixed(name: &str, prefix: &str) -> bool {
    name == prefix
        || name
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('-'))
}

/// Photos reach people through the CDN and only through it:
/// - every distribution redirects HTTP to HTTPS (or refuses it) in every cache behaviour and has a minimum
///   TLS version (TLS 1.2 or later with a custom certificate; CloudFront's default certificate has its own);
/// - every origin is a bucket of the plan read through Origin Access Control, never the uploads bucket (the
///   one whose notifications start the images worker: the originals, unmoderated, with their metadata);
/// - every `Allow` of a bucket policy is to `cloudfront.amazonaws.com` with `aws:SourceArn` naming this plan's
///   distributions only, and each origin bucket's policy does grant its distribution `s3:GetObject`.
pub fn media_only_through_the_cdn(plan: &Plan) -> Vec<String> {
    let mut v = Vec::new();
    let distributions: Vec<&Resource> = plan.of_kind("aws_cloudfront_distribution").collect();
    let arns: Vec<&str> = distributions.iter().filter_map(|d| d.str("arn")).collect();
    let uploads: Vec<&str> = plan
        .of_kind("aws_s3_bucket_notification")
        .filter_map(|n| n.str("bucket"))
        .collect();
    let policy_of = |bucket: &str| {
        plan.find("aws_s3_bucket_policy", "bucket", bucket)
            .and_then(|p| p.str("policy"))
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
    };

    for d in &distributions {
        let at = &d.address;
        let behaviours = d
            .values
            .get("default_cache_behavior")
            .into_iter()
            .chain(d.values.get("ordered_cache_behavior"))
            .filter_map(Value::as_array)
            .flatten();
        for b in behaviours {
            let policy = b.get("viewer_protocol_policy").and_then(Value::as_str);
            if !matches!(policy, Some("redirect-to-https" | "https-only")) {
                v.push(format!(
                    "{at}: viewer protocol policy {policy:?} lets HTTP through"
                ));
            }
        }
        let cert = d.block("viewer_certificate");
        let tls = cert
            .and_then(|c| c.get("minimum_protocol_version"))
            .and_then(Value::as_str);
        let custom = cert
            .and_then(|c| c.get("acm_certificate_arn"))
            .and_then(Value::as_str)
            .is_some_and(|a| !a.is_empty());
        match tls {
            None => v.push(format!("{at}: no minimum TLS version")),
            Some(t) if custom && !(t.starts_with("TLSv1.2") || t.starts_with("TLSv1.3")) => v.push(
                format!("{at}: minimum TLS version {t} below TLS 1.2 on a custom domain"),
            ),
            Some(_) => {}
        }
        let arn = d.str("arn").unwrap_or_default();
        for o in d
            .values
            .get("origin")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let domain = o
                .get("domain_name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(bucket) = plan
                .of_kind("aws_s3_bucket")
                .find(|b| b.str("bucket_regional_domain_name") == Some(domain))
                .and_then(|b| b.str("bucket"))
            else {
                v.push(format!(
                    "{at}: origin {domain:?} is not a bucket of this plan"
                ));
                continue;
            };
            if uploads.contains(&bucket) {
                v.push(format!(
                    "{at}: origin {bucket} is the uploads bucket (the originals)"
                ));
            }
            if o.get("origin_access_control_id")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                v.push(format!(
                    "{at}: origin {bucket} is not read through Origin Access Control"
                ));
            }
            let granted = policy_of(bucket).is_some_and(|doc| {
                allows(&doc).any(|s| {
                    strings(s.get("Action")).iter().any(|a| a == "s3:GetObject")
                        && source_arns(s).contains(&arn.to_owned())
                })
            });
            if !granted {
                v.push(format!(
                    "{at}: bucket {bucket}'s policy does not grant the distribution s3:GetObject"
                ));
            }
        }
    }

    for p in plan.of_kind("aws_s3_bucket_policy") {
        let Some(doc) = p
            .str("policy")
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
        else {
            continue; // iam_least_privilege reports policies that are not JSON
        };
        for s in allows(&doc) {
            let sid = s.get("Sid").and_then(Value::as_str).unwrap_or("(no sid)");
            let at = format!("{} statement {sid}", p.address);
            if strings(s.pointer("/Principal/Service")) != ["cloudfront.amazonaws.com"]
                || s.pointer("/Principal/AWS").is_some()
            {
                v.push(format!("{at}: Allow to someone other than CloudFront"));
            }
            let sources = source_arns(s);
            if sources.is_empty() || sources.iter().any(|a| !arns.contains(&a.as_str())) {
                v.push(format!(
                    "{at}: Allow not limited by aws:SourceArn to this plan's distributions (got {sources:?})"
                ));
            }
        }
    }
    v
}

/// KMS actions a service needs to publish to a topic encrypted with a customer-managed key.
const PUBLISH_KMS_ACTIONS: &[&str] = &["kms:Decrypt", "kms:GenerateDataKey*"];

/// Whether an IAM action pattern list grants `action` (exact, `kms:*`, `*`, or a trailing-`*` pattern).
fn grants(patterns: &[String], action: &str) -> bool {
    patterns.iter().any(|p| {
        p == "*"
            || p.eq_ignore_ascii_case(action)
            || p.strip_suffix('*').is_some_and(|prefix| {
                action
                    .to_ascii_lowercase()
                    .starts_with(&prefix.to_ascii_lowercase())
            })
    })
}

/// Alarms reach someone: every alarm's action topic is encrypted with a customer-managed KMS key whose policy
/// lets `cloudwatch.amazonaws.com` use it (the AWS-managed `alias/aws/sns` key does not: an alarm publishing
/// to such a topic fails silently); every function has an `AWS/Lambda` `Errors` and `Throttles` alarm (a crash
/// or timeout writes no EMF line); every DynamoDB stream mapping's function has an `IteratorAge` alarm.
pub fn alarms_can_page(plan: &Plan) -> Vec<String> {
    let mut v = Vec::new();
    let alarms: Vec<&Resource> = plan.of_kind("aws_cloudwatch_metric_alarm").collect();
    let mut topics: Vec<String> = alarms
        .iter()
        .flat_map(|a| strings(a.values.get("alarm_actions")))
        .filter(|arn| arn.starts_with("arn:") && arn.contains(":sns:"))
        .collect();
    topics.sort();
    topics.dedup();
    for arn in &topics {
        let Some(topic) = plan
            .of_kind("aws_sns_topic")
            .find(|t| t.str("arn") == Some(arn))
        else {
            v.push(format!("alarm action {arn}: no such topic in the plan"));
            continue;
        };
        let key_ref = topic.str("kms_master_key_id").unwrap_or_default();
        if key_ref.is_empty() || key_ref.starts_with("alias/aws/") {
            v.push(format!(
                "{}: encrypted with {:?}, not a customer-managed key CloudWatch may use",
                topic.address, key_ref
            ));
            continue;
        }
        let key = plan
            .of_kind("aws_kms_key")
            .find(|k| k.str("arn") == Some(key_ref) || k.str("key_id") == Some(key_ref));
        let Some(key) = key else {
            v.push(format!(
                "{}: its key {key_ref} is not a key of this plan",
                topic.address
            ));
            continue;
        };
        let policy = key
            .str("policy")
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
            .unwrap_or(Value::Null);
        let usable = allows(&policy).any(|s| {
            let services = strings(s.pointer("/Principal/Service"));
            let actions = strings(s.get("Action"));
            services.iter().any(|p| p == "cloudwatch.amazonaws.com")
                && PUBLISH_KMS_ACTIONS.iter().all(|a| grants(&actions, a))
        });
        if !usable {
            v.push(format!(
                "{}: its policy does not let cloudwatch.amazonaws.com {PUBLISH_KMS_ACTIONS:?}",
                key.address
            ));
        }
    }
    let alarmed = |function: &str, metric: &str| {
        alarms.iter().any(|a| {
            a.str("namespace") == Some("AWS/Lambda")
                && a.str("metric_name") == Some(metric)
                && a.values
                    .pointer("/dimensions/FunctionName")
                    .and_then(Value::as_str)
                    == Some(function)
        })
    };
    for f in plan.of_kind("aws_lambda_function") {
        let Some(name) = f.str("function_name") else {
            continue;
        };
        for metric in ["Errors", "Throttles"] {
            if !alarmed(name, metric) {
                v.push(format!("{}: no AWS/Lambda {metric} alarm", f.address));
            }
        }
    }
    for m in plan.of_kind("aws_lambda_event_source_mapping") {
        let source = m.str("event_source_arn").unwrap_or_default();
        if !(source.contains(":dynamodb:") && source.contains("/stream/")) {
            continue;
        }
        let target = m.str("function_name").unwrap_or_default();
        let name = plan
            .of_kind("aws_lambda_function")
            .find(|f| f.str("arn") == Some(target) || f.str("function_name") == Some(target))
            .and_then(|f| f.str("function_name"))
            .unwrap_or(target);
        if !alarmed(name, "IteratorAge") {
            v.push(format!(
                "{}: the stream mapping has no IteratorAge alarm",
                m.address
            ));
        }
    }
    v
}

/// The `Allow` statements of a policy document.
/// A queue policy letting S3 send names the account of the bucket (`aws:SourceAccount`): a bucket's ARN has no
/// account in it, so without it a bucket of the same name in another account could send to the queue.
pub fn bucket_senders_name_their_account(plan: &Plan) -> Vec<String> {
    let mut v = Vec::new();
    for p in plan.of_kind("aws_sqs_queue_policy") {
        let doc = p
            .str("policy")
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
            .unwrap_or(Value::Null);
        for s in allows(&doc) {
            if !strings(s.pointer("/Principal/Service"))
                .iter()
                .any(|svc| svc == "s3.amazonaws.com")
            {
                continue;
            }
            let named = s
                .get("Condition")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(test, _)| test.eq_ignore_ascii_case("StringEquals"))
                .filter_map(|(_, keys)| keys.as_object())
                .flatten()
                .any(|(key, value)| {
                    key.eq_ignore_ascii_case("aws:SourceAccount")
                        && !strings(Some(value)).is_empty()
                });
            if !named {
                v.push(format!(
                    "{}: lets s3.amazonaws.com send without an aws:SourceAccount condition",
                    p.address
                ));
            }
        }
    }
    v
}

fn allows(doc: &Value) -> impl Iterator<Item = &Value> {
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    statements
        .into_iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
}

/// The ARNs an `aws:SourceArn` condition (`StringEquals` or `ArnEquals`; condition keys are case-insensitive)
/// limits a statement to.
fn source_arns(statement: &Value) -> Vec<String> {
    let Some(Value::Object(conditions)) = statement.get("Condition") else {
        return Vec::new();
    };
    conditions
        .iter()
        .filter(|(op, _)| matches!(op.as_str(), "StringEquals" | "ArnEquals"))
        .filter_map(|(_, keys)| keys.as_object())
        .flat_map(|keys| keys.iter())
        .filter(|(k, _)| k.eq_ignore_ascii_case("aws:SourceArn"))
        .flat_map(|(_, arns)| strings(Some(arns)))
        .collect()
}

/// A string or a list of strings, as IAM and Terraform write them.
fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
