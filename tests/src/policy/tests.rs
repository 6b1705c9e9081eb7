//! Each check passes on a plan that follows the rules and fails, naming the culprit, once one rule is broken.

use serde_json::{json, Value};

use super::*;

const P: &str = "ecobid-t1";

fn resource(kind: &str, name: &str, values: Value) -> Value {
    json!({ "address": format!("{kind}.{name}"), "mode": "managed", "type": kind, "name": name, "values": values })
}

/// A small plan that follows every rule: the four queues with their DLQs, workers, a bucket, the table…
fn good_resources() -> Vec<Value> {
    let admin = format!("arn:aws:sns:eu-west-1:1:{P}-admin-alerts");
    let key = "arn:aws:kms:eu-west-1:1:key/k1";
    let mut rs = vec![
        resource(
            "aws_sqs_queue_policy",
            "images",
            json!({ "policy": json!({ "Statement": [{
                "Effect": "Allow", "Principal": { "Service": "s3.amazonaws.com" }, "Action": "sqs:SendMessage",
                "Resource": format!("arn:aws:sqs:eu-west-1:1:{P}-images"),
                "Condition": { "ArnLike": { "aws:SourceArn": format!("arn:aws:s3:::{P}-uploads") },
                               "StringEquals": { "aws:SourceAccount": "1" } }
            }] }).to_string() }),
        ),
        resource(
            "aws_sns_topic",
            "admin",
            json!({ "name": format!("{P}-admin-alerts"), "arn": admin, "kms_master_key_id": key }),
        ),
        resource(
            "aws_kms_key",
            "alerts",
            json!({ "arn": key, "key_id": "k1", "policy": json!({ "Statement": [
                { "Effect": "Allow", "Principal": { "AWS": "arn:aws:iam::1:root" }, "Action": "kms:*", "Resource": "*" },
                { "Effect": "Allow", "Principal": { "Service": "cloudwatch.amazonaws.com" },
                  "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*" },
            ] }).to_string() }),
        ),
    ];
    for q in EventQueue::ALL {
        let (name, dlq) = (format!("{P}-{}", q.key()), format!("{P}-{}-dlq", q.key()));
        let (arn, dlq_arn) = (
            format!("arn:aws:sqs:eu-west-1:1:{name}"),
            format!("arn:aws:sqs:eu-west-1:1:{dlq}"),
        );
        let fn_arn = format!("arn:aws:lambda:eu-west-1:1:function:{name}-worker");
        rs.extend([
            resource("aws_sqs_queue", &format!("{}_q", q.key()), json!({
                "name": name, "arn": arn, "url": format!("http://q/{name}"), "sqs_managed_sse_enabled": true,
                "visibility_timeout_seconds": 180,
                "redrive_policy": json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5 }).to_string(),
            })),
            resource("aws_sqs_queue", &format!("{}_dlq", q.key()), json!({
                "name": dlq, "arn": dlq_arn, "url": format!("http://q/{dlq}"), "sqs_managed_sse_enabled": true,
            })),
            resource("aws_sqs_queue_redrive_allow_policy", q.key(), json!({
                "queue_url": format!("http://q/{dlq}"),
                "redrive_allow_policy": json!({ "redrivePermission": "byQueue", "sourceQueueArns": [arn] }).to_string(),
            })),
            resource("aws_cloudwatch_metric_alarm", q.key(), json!({
                "alarm_name": format!("{dlq}-not-empty"), "metric_name": "ApproximateNumberOfMessagesVisible",
                "dimensions": { "QueueName": dlq }, "threshold": 0, "comparison_operator": "GreaterThanThreshold",
                "alarm_actions": [admin],
            })),
            resource("aws_lambda_function", q.key(), json!({ "function_name": format!("{name}-worker"), "arn": fn_arn, "timeout": 30 })),
            resource("aws_cloudwatch_metric_alarm", &format!("{}_errors", q.key()), json!({
                "alarm_name": format!("{name}-worker-errors"),
                "namespace": "AWS/Lambda", "metric_name": "Errors", "dimensions": { "FunctionName": format!("{name}-worker") },
                "alarm_actions": [admin],
            })),
            resource("aws_cloudwatch_metric_alarm", &format!("{}_throttles", q.key()), json!({
                "alarm_name": format!("{name}-worker-throttles"),
                "namespace": "AWS/Lambda", "metric_name": "Throttles", "dimensions": { "FunctionName": format!("{name}-worker") },
                "alarm_actions": [admin],
            })),
            resource("aws_lambda_event_source_mapping", q.key(), json!({
                "event_source_arn": arn, "function_name": fn_arn, "function_response_types": ["ReportBatchItemFailures"],
            })),
            resource("aws_iam_role_policy", q.key(), json!({
                "name": format!("{name}-worker-policy"),
                "policy": json!({ "Version": "2012-10-17", "Statement": [
                    { "Sid": "Consume", "Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"], "Resource": arn },
                    { "Sid": "PutTraces", "Effect": "Allow", "Action": ["xray:PutTraceSegments"], "Resource": "*" },
                ]}).to_string(),
            })),
        ]);
    }
    let bucket = format!("{P}-uploads");
    rs.extend([
        resource("aws_s3_bucket", "uploads", json!({ "bucket": bucket, "bucket_regional_domain_name": format!("{bucket}.s3.eu-west-1.amazonaws.com") })),
        resource("aws_s3_bucket_public_access_block", "uploads", json!({
            "bucket": bucket, "block_public_acls": true, "block_public_policy": true, "ignore_public_acls": true, "restrict_public_buckets": true,
        })),
        resource("aws_s3_bucket_server_side_encryption_configuration", "uploads", json!({
            "bucket": bucket, "rule": [{ "apply_server_side_encryption_by_default": [{ "sse_algorithm": "AES256" }] }],
        })),
        resource("aws_s3_bucket_ownership_controls", "uploads", json!({ "bucket": bucket, "rule": [{ "object_ownership": "BucketOwnerEnforced" }] })),
        resource("aws_s3_bucket_policy", "uploads", json!({
            "policy": json!({ "Statement": [{ "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*" }] }).to_string(),
        })),
        resource("aws_s3_bucket_notification", "uploads", json!({ "bucket": bucket })),
    ]);
    rs.extend(thumbnails_behind_the_cdn());
    rs.extend([
        resource("aws_dynamodb_table", "this", json!({
            "name": format!("{P}-table"), "hash_key": "PK", "range_key": "SK",
            "global_secondary_index": [{ "name": "GSI2" }, { "name": "GSI1" }, { "name": "GSI4" }, { "name": "GSI3" }],
            "stream_enabled": true, "stream_view_type": "NEW_AND_OLD_IMAGES",
            "ttl": [{ "enabled": true, "attribute_name": "ttl" }], "point_in_time_recovery": [{ "enabled": true }],
            "server_side_encryption": [{ "enabled": true }],
        })),
        resource("aws_dynamodb_table", "search", json!({
            "name": format!("{P}-search"), "hash_key": "PK", "range_key": "SK",
            "point_in_time_recovery": [{ "enabled": true }], "server_side_encryption": [{ "enabled": true }],
        })),
        resource("aws_cloudwatch_event_target", "t", json!({
            "dead_letter_config": [{ "arn": "arn:aws:sqs:eu-west-1:1:x" }], "retry_policy": [{ "maximum_retry_attempts": 185 }],
        })),
        resource("aws_cloudwatch_log_group", "api", json!({ "name": format!("/aws/lambda/{P}-api") })),
    ]);
    rs
}

const DISTRIBUTION: &str = "arn:aws:cloudfront::1:distribution/E1";

/// The thumbnails bucket, private, read by one distribution through Origin Access Control.
fn thumbnails_behind_the_cdn() -> Vec<Value> {
    let bucket = format!("{P}-thumbnails");
    vec![
        resource(
            "aws_s3_bucket",
            "thumbnails",
            json!({ "bucket": bucket, "bucket_regional_domain_name": format!("{bucket}.s3.eu-west-1.amazonaws.com") }),
        ),
        resource(
            "aws_s3_bucket_public_access_block",
            "thumbnails",
            json!({
                "bucket": bucket, "block_public_acls": true, "block_public_policy": true, "ignore_public_acls": true, "restrict_public_buckets": true,
            }),
        ),
        resource(
            "aws_s3_bucket_server_side_encryption_configuration",
            "thumbnails",
            json!({
                "bucket": bucket, "rule": [{ "apply_server_side_encryption_by_default": [{ "sse_algorithm": "AES256" }] }],
            }),
        ),
        resource(
            "aws_s3_bucket_ownership_controls",
            "thumbnails",
            json!({ "bucket": bucket, "rule": [{ "object_ownership": "BucketOwnerEnforced" }] }),
        ),
        resource(
            "aws_s3_bucket_policy",
            "thumbnails",
            json!({
                "bucket": bucket,
                "policy": json!({ "Statement": [
                    { "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*" },
                    { "Sid": "CloudFront", "Effect": "Allow", "Principal": { "Service": "cloudfront.amazonaws.com" }, "Action": "s3:GetObject",
                      "Resource": format!("arn:aws:s3:::{bucket}/*"), "Condition": { "StringEquals": { "AWS:SourceArn": DISTRIBUTION } } },
                ] }).to_string(),
            }),
        ),
        resource(
            "aws_cloudfront_origin_access_control",
            "this",
            json!({ "name": format!("{P}-thumbnails") }),
        ),
        resource(
            "aws_cloudfront_distribution",
            "this",
            json!({
                "arn": DISTRIBUTION,
                "origin": [{ "origin_id": "thumbnails", "domain_name": format!("{bucket}.s3.eu-west-1.amazonaws.com"), "origin_access_control_id": "OAC1" }],
                "default_cache_behavior": [{ "viewer_protocol_policy": "redirect-to-https" }],
                "ordered_cache_behavior": [],
                "viewer_certificate": [{ "cloudfront_default_certificate": true, "minimum_protocol_version": "TLSv1" }],
            }),
        ),
    ]
}

/// Splits the resources over the root and a child module, as real plans do.
fn plan_of(mut resources: Vec<Value>) -> Plan {
    let child = resources.split_off(resources.len() / 2);
    let json = json!({ "planned_values": { "root_module": {
        "resources": resources,
        "child_modules": [{ "address": "module.m", "resources": child }],
    }}});
    Plan::from_json(&json.to_string()).expect("plan")
}

/// The good plan with `change` applied to the values of the resource at `address`.
fn with(address: &str, change: impl FnOnce(&mut Value)) -> Plan {
    let mut rs = good_resources();
    let r = rs
        .iter_mut()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("no {address} in fixture"));
    change(&mut r["values"]);
    plan_of(rs)
}

fn without(address: &str) -> Plan {
    plan_of(
        good_resources()
            .into_iter()
            .filter(|r| r["address"] != address)
            .collect(),
    )
}

fn assert_flags(violations: Vec<String>, needle: &str) {
    assert!(
        violations.iter().any(|v| v.contains(needle)),
        "expected a violation containing {needle:?}, got {violations:#?}"
    );
}

#[test]
fn a_plan_that_follows_the_rules_passes_every_check() {
    let plan = plan_of(good_resources());
    assert_eq!(all(&plan, "t1"), Vec::<String>::new());
}

#[test]
fn plan_json_without_planned_values_is_refused() {
    let err = Plan::from_json("{}").unwrap_err();
    assert!(err.to_string().contains("planned_values"), "{err}");
}

#[test]
fn a_queue_without_its_dlq_is_flagged() {
    let plan = without("aws_sqs_queue.expiries_dlq");
    assert_flags(
        event_queues_have_dlq_and_alarm(&plan, P),
        "no dead-letter queue ecobid-t1-expiries-dlq",
    );
}

#[test]
fn a_redrive_policy_to_another_queue_is_flagged() {
    let plan = with("aws_sqs_queue.images_q", |v| {
        v["redrive_policy"] = json!({ "deadLetterTargetArn": "arn:aws:sqs:eu-west-1:1:elsewhere", "maxReceiveCount": 5 }).to_string().into();
    });
    assert_flags(
        event_queues_have_dlq_and_alarm(&plan, P),
        "does not target ecobid-t1-images-dlq",
    );
}

#[test]
fn a_missing_redrive_allow_policy_is_flagged() {
    let plan = without("aws_sqs_queue_redrive_allow_policy.notifications");
    assert_flags(
        event_queues_have_dlq_and_alarm(&plan, P),
        "no byQueue redrive-allow policy naming ecobid-t1-notifications",
    );
}

#[test]
fn a_dlq_without_an_alarm_is_flagged() {
    let plan = with("aws_cloudwatch_metric_alarm.auction-closes", |v| {
        v["alarm_actions"] = json!([])
    });
    assert_flags(
        event_queues_have_dlq_and_alarm(&plan, P),
        "ecobid-t1-auction-closes-dlq: no alarm",
    );
}

#[test]
fn an_unencrypted_queue_is_flagged() {
    let plan = with("aws_sqs_queue.images_dlq", |v| {
        v["sqs_managed_sse_enabled"] = json!(false)
    });
    assert_flags(
        event_queues_have_dlq_and_alarm(&plan, P),
        "aws_sqs_queue.images_dlq: not encrypted",
    );
}

#[test]
fn a_mapping_without_partial_batch_failures_is_flagged() {
    let plan = with("aws_lambda_event_source_mapping.images", |v| {
        v["function_response_types"] = json!([])
    });
    assert_flags(
        mappings_report_batch_item_failures(&plan),
        "aws_lambda_event_source_mapping.images",
    );
}

#[test]
fn a_visibility_below_six_timeouts_is_flagged() {
    let plan = with("aws_lambda_function.expiries", |v| v["timeout"] = json!(31));
    assert_flags(
        visibility_covers_function_timeout(&plan),
        "visibility timeout Some(180.0) s < 6 x timeout Some(31.0) s",
    );
}

#[test]
fn wildcard_actions_are_flagged() {
    let plan = with("aws_iam_role_policy.images", |v| {
        v["policy"] = json!({ "Statement": { "Sid": "All", "Effect": "Allow", "Action": "dynamodb:*", "Resource": "arn:aws:dynamodb:eu-west-1:1:table/x" } }).to_string().into();
    });
    assert_flags(iam_least_privilege(&plan), "wildcard action dynamodb:*");
}

#[test]
fn star_resources_are_flagged_where_an_arn_is_known() {
    let plan = with("aws_iam_role_policy.images", |v| {
        v["policy"] = json!({ "Statement": [{ "Sid": "Any", "Effect": "Allow", "Action": ["sqs:SendMessage", "xray:PutTraceSegments"], "Resource": "*" }] }).to_string().into();
    });
    assert_flags(
        iam_least_privilege(&plan),
        "Resource \"*\" for [\"sqs:SendMessage\"]",
    );
}

#[test]
fn allow_to_anyone_is_flagged_but_deny_to_anyone_is_fine() {
    let plan = with("aws_s3_bucket_policy.uploads", |v| {
        v["policy"] = json!({ "Statement": [{ "Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*" }] }).to_string().into();
    });
    assert_flags(iam_least_privilege(&plan), "Allow to any principal");
}

#[test]
fn a_bucket_with_public_access_is_flagged() {
    let plan = with("aws_s3_bucket_public_access_block.uploads", |v| {
        v["restrict_public_buckets"] = json!(false)
    });
    assert_flags(
        buckets_private_and_encrypted(&plan),
        "public access not fully blocked",
    );
}

#[test]
fn an_unencrypted_bucket_is_flagged() {
    let plan = without("aws_s3_bucket_server_side_encryption_configuration.uploads");
    assert_flags(
        buckets_private_and_encrypted(&plan),
        "no default encryption",
    );
}

#[test]
fn a_table_without_its_stream_or_an_index_is_flagged() {
    let plan = with("aws_dynamodb_table.this", |v| {
        v["stream_view_type"] = json!("KEYS_ONLY");
        v["global_secondary_index"] = json!([{ "name": "GSI1" }]);
        v["point_in_time_recovery"] = json!([{ "enabled": false }]);
    });
    let found = table_matches_domain(&plan, P);
    assert_flags(found.clone(), "no NEW_AND_OLD_IMAGES stream");
    assert_flags(found.clone(), "not GSI1-4");
    assert_flags(found, "point-in-time recovery not enabled");
}

#[test]
fn a_search_index_with_a_stream_or_a_third_table_is_flagged() {
    let streamed = with("aws_dynamodb_table.search", |v| {
        v["stream_enabled"] = json!(true);
    });
    assert_flags(
        table_matches_domain(&streamed, P),
        "the search index has a stream",
    );
    let mut rs = good_resources();
    rs.push(resource(
        "aws_dynamodb_table",
        "extra",
        json!({ "name": format!("{P}-extra"), "hash_key": "PK", "range_key": "SK" }),
    ));
    assert_flags(
        table_matches_domain(&plan_of(rs), P),
        "neither the single table",
    );
}

#[test]
fn an_event_target_without_dlq_is_flagged() {
    let plan = with("aws_cloudwatch_event_target.t", |v| {
        v["dead_letter_config"] = json!([])
    });
    assert_flags(
        event_targets_have_dlq_and_retry(&plan),
        "no dead-letter queue",
    );
}

#[test]
fn a_name_without_the_workspace_is_flagged() {
    let plan = with("aws_dynamodb_table.this", |v| {
        v["name"] = json!("ecobid-table")
    });
    assert_flags(
        names_carry_workspace(&plan, P),
        "\"ecobid-table\" does not start with ecobid-t1",
    );
    // A longer workspace name sharing the prefix is another workspace, not this one.
    let plan = with("aws_dynamodb_table.this", |v| {
        v["name"] = json!("ecobid-t10-table")
    });
    assert_flags(names_carry_workspace(&plan, P), "ecobid-t10-table");
}

#[test]
fn a_distribution_that_lets_http_through_is_flagged() {
    let plan = with("aws_cloudfront_distribution.this", |v| {
        v["ordered_cache_behavior"] = json!([{ "viewer_protocol_policy": "allow-all" }]);
    });
    assert_flags(
        media_only_through_the_cdn(&plan),
        "viewer protocol policy Some(\"allow-all\") lets HTTP through",
    );
}

#[test]
fn a_custom_domain_below_tls_1_2_or_no_minimum_is_flagged() {
    let plan = with("aws_cloudfront_distribution.this", |v| {
        v["viewer_certificate"] = json!([{ "acm_certificate_arn": "arn:aws:acm:us-east-1:1:certificate/c", "minimum_protocol_version": "TLSv1.1_2016" }]);
    });
    assert_flags(
        media_only_through_the_cdn(&plan),
        "TLSv1.1_2016 below TLS 1.2",
    );
    let plan = with("aws_cloudfront_distribution.this", |v| {
        v["viewer_certificate"] = json!([{ "cloudfront_default_certificate": true }]);
    });
    assert_flags(media_only_through_the_cdn(&plan), "no minimum TLS version");
}

#[test]
fn the_uploads_bucket_as_an_origin_is_flagged() {
    let plan = with("aws_cloudfront_distribution.this", |v| {
        v["origin"] = json!([{ "domain_name": format!("{P}-uploads.s3.eu-west-1.amazonaws.com"), "origin_access_control_id": "OAC1" }]);
    });
    let found = media_only_through_the_cdn(&plan);
    assert_flags(
        found.clone(),
        "origin ecobid-t1-uploads is the uploads bucket",
    );
    // …and the uploads bucket does not grant the distribution its reads either.
    assert_flags(
        found,
        "bucket ecobid-t1-uploads's policy does not grant the distribution",
    );
}

#[test]
fn an_origin_without_origin_access_control_is_flagged() {
    let plan = with("aws_cloudfront_distribution.this", |v| {
        v["origin"][0]["origin_access_control_id"] = json!("");
    });
    assert_flags(
        media_only_through_the_cdn(&plan),
        "not read through Origin Access Control",
    );
}

#[test]
fn a_cloudfront_grant_without_source_arn_is_flagged() {
    let plan = with("aws_s3_bucket_policy.thumbnails", |v| {
        v["policy"] = json!({ "Statement": [{ "Sid": "AnyDistribution", "Effect": "Allow", "Principal": { "Service": "cloudfront.amazonaws.com" },
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*" }] }).to_string().into();
    });
    let found = media_only_through_the_cdn(&plan);
    assert_flags(
        found.clone(),
        "statement AnyDistribution: Allow not limited by aws:SourceArn",
    );
    assert_flags(found, "policy does not grant the distribution s3:GetObject");
}

#[test]
fn a_grant_to_another_account_s_distribution_is_flagged() {
    let plan = with("aws_s3_bucket_policy.thumbnails", |v| {
        v["policy"] = json!({ "Statement": [{ "Sid": "Theirs", "Effect": "Allow", "Principal": { "Service": "cloudfront.amazonaws.com" },
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
            "Condition": { "StringEquals": { "aws:sourcearn": [DISTRIBUTION, "arn:aws:cloudfront::2:distribution/E9"] } } }] }).to_string().into();
    });
    assert_flags(
        media_only_through_the_cdn(&plan),
        "statement Theirs: Allow not limited",
    );
}

#[test]
fn a_bucket_grant_to_anyone_is_flagged_by_both_rules() {
    let plan = with("aws_s3_bucket_policy.thumbnails", |v| {
        v["policy"] = json!({ "Statement": [{ "Sid": "Public", "Effect": "Allow", "Principal": { "AWS": ["*"] },
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*" }] }).to_string().into();
    });
    assert_flags(
        media_only_through_the_cdn(&plan),
        "statement Public: Allow to someone other than CloudFront",
    );
    assert_flags(
        iam_least_privilege(&plan),
        "statement Public: Allow to any principal",
    );
}

#[test]
fn an_alarm_topic_whose_key_cloudwatch_cannot_use_is_flagged() {
    let managed = with("aws_sns_topic.admin", |v| {
        v["kms_master_key_id"] = json!("alias/aws/sns");
    });
    assert_flags(alarms_can_page(&managed), "not a customer-managed key");
    let closed = with("aws_kms_key.alerts", |v| {
        v["policy"] = json!({ "Statement": [
            { "Effect": "Allow", "Principal": { "Service": "cloudwatch.amazonaws.com" }, "Action": "kms:Decrypt", "Resource": "*" },
        ] })
        .to_string()
        .into();
    });
    assert_flags(
        alarms_can_page(&closed),
        "does not let cloudwatch.amazonaws.com",
    );
    let wildcard = with("aws_kms_key.alerts", |v| {
        v["policy"] = json!({ "Statement": [
            { "Effect": "Allow", "Principal": { "Service": ["sns.amazonaws.com", "cloudwatch.amazonaws.com"] }, "Action": "kms:*", "Resource": "*" },
        ] })
        .to_string()
        .into();
    });
    assert_eq!(alarms_can_page(&wildcard), Vec::<String>::new());
}

#[test]
fn a_function_without_errors_or_throttles_alarms_and_a_stream_without_iterator_age_are_flagged() {
    assert_flags(
        alarms_can_page(&without("aws_cloudwatch_metric_alarm.expiries_throttles")),
        "aws_lambda_function.expiries: no AWS/Lambda Throttles alarm",
    );
    assert_flags(
        alarms_can_page(&without("aws_cloudwatch_metric_alarm.images_errors")),
        "aws_lambda_function.images: no AWS/Lambda Errors alarm",
    );
    let mut rs = good_resources();
    rs.push(resource(
        "aws_lambda_event_source_mapping",
        "stream",
        json!({
            "event_source_arn": "arn:aws:dynamodb:eu-west-1:1:table/t/stream/2026-12-01T00:00:00.000",
            "function_name": "arn:aws:lambda:eu-west-1:1:function:ecobid-t1-images-worker",
            "function_response_types": ["ReportBatchItemFailures"],
        }),
    ));
    assert_flags(
        alarms_can_page(&plan_of(rs.clone())),
        "the stream mapping has no IteratorAge alarm",
    );
    rs.push(resource(
        "aws_cloudwatch_metric_alarm",
        "age",
        json!({ "alarm_name": "ecobid-t1-age", "namespace": "AWS/Lambda", "metric_name": "IteratorAge",
                "dimensions": { "FunctionName": "ecobid-t1-images-worker" } }),
    ));
    assert_eq!(alarms_can_page(&plan_of(rs)), Vec::<String>::new());
}

#[test]
fn a_queue_open_to_s3_without_the_bucket_s_account_is_flagged() {
    let plan = with("aws_sqs_queue_policy.images", |v| {
        let mut doc: Value =
            serde_json::from_str(v["policy"].as_str().expect("policy")).expect("json");
        doc["Statement"][0]["Condition"]
            .as_object_mut()
            .expect("conditions")
            .remove("StringEquals");
        v["policy"] = json!(doc.to_string());
    });
    assert_flags(
        bucket_senders_name_their_account(&plan),
        "aws_sqs_queue_policy.images: lets s3.amazonaws.com send without an aws:SourceAccount condition",
    );
}
