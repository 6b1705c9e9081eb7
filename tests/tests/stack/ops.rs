//! The ops CLI (`ecobid-ops`, the real binary) against the emulator: peek, redrive with filters, a redrive
//! killed halfway, purge, the errors, and an EventBridge replay. Each test works on queues (and a bus) of its
//! own, named like a workspace's (`ecobid-<name>-...`), so nothing else is consuming them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName, SendMessageBatchRequestEntry};
use serde_json::{json, Value};

use crate::support::emulator::{eventually, Emulator};
use crate::support::ops::Ops;

const LETTERS: usize = 1000;

/// Letter `n`: type and error kind (`None`: SQS moved it after maxReceiveCount).
fn letter_kind(n: usize) -> (&'static str, Option<&'static str>) {
    let t = if n.is_multiple_of(2) {
        "ItemCreated"
    } else {
        "BidPlaced"
    };
    let k = [
        Some("rejected"),
        Some("transient"),
        Some("invalid_message"),
        None,
    ][(n / 2) % 4];
    (t, k)
}

fn string(v: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .expect("attribute")
}

/// A queue and its DLQ (the queue's redrive policy names it), as Terraform makes them; their URLs.
async fn queue_with_dlq(sqs: &aws_sdk_sqs::Client, ops: &Ops, short: &str) -> (String, String) {
    let dlq = sqs
        .create_queue()
        .queue_name(ops.name(&format!("{short}-dlq")))
        .send()
        .await
        .expect("dlq");
    let dlq_url = dlq.queue_url().expect("url").to_owned();
    let arn = attribute(sqs, &dlq_url, QueueAttributeName::QueueArn).await;
    let source = sqs
        .create_queue()
        .queue_name(ops.name(short))
        .attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": arn, "maxReceiveCount": 5}).to_string(),
        )
        .send()
        .await
        .expect("queue");
    (source.queue_url().expect("url").to_owned(), dlq_url)
}

async fn attribute(sqs: &aws_sdk_sqs::Client, url: &str, name: QueueAttributeName) -> String {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .expect("attributes")
        .attributes()
        .and_then(|a| a.get(&name).cloned())
        .unwrap_or_default()
}

async fn visible(sqs: &aws_sdk_sqs::Client, url: &str) -> usize {
    attribute(sqs, url, QueueAttributeName::ApproximateNumberOfMessages)
        .await
        .parse()
        .expect("count")
}

/// Every message of the queue, consumed: the `n` of each body (with repeats).
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<usize> {
    let mut ns = vec![];
    let mut empty = 0;
    while empty < 2 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive");
        if out.messages().is_empty() {
            empty += 1;
            continue;
        }
        empty = 0;
        for m in out.messages() {
            let body: Value = serde_json::from_str(m.body().unwrap_or_default()).expect("json");
            ns.push(body["data"]["n"].as_u64().expect("n") as usize);
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
    ns
}

async fn seed(sqs: &aws_sdk_sqs::Client, dlq_url: &str) {
    for chunk in (0..LETTERS).collect::<Vec<_>>().chunks(10) {
        let entries = chunk
            .iter()
            .map(|&n| {
                let (t, k) = letter_kind(n);
                let body = json!({
                    "version": "1", "id": uuid::Uuid::new_v4().to_string(),
                    "correlationId": uuid::Uuid::new_v4().to_string(), "type": t,
                    "source": "ecobid.test", "time": "2026-11-21T10:00:00Z", "data": {"n": n},
                });
                let mut e = SendMessageBatchRequestEntry::builder()
                    .id(n.to_string())
                    .message_body(body.to_string())
                    .message_attributes(
                        "correlationId",
                        string(body["correlationId"].as_str().expect("c")),
                    );
                if let Some(k) = k {
                    e = e
                        .message_attributes("error.kind", string(k))
                        .message_attributes("error.message", string(&format!("{k} failure of {n}")))
                        .message_attributes("failed.at", string("2026-11-21T10:00:01.000Z"));
                }
                e.build().expect("entry")
            })
            .collect();
        let out = sqs
            .send_message_batch()
            .queue_url(dlq_url)
            .set_entries(Some(entries))
            .send()
            .await
            .expect("seed");
        assert!(out.failed().is_empty(), "{:?}", out.failed());
    }
}

fn matching(pred: impl Fn(usize) -> bool) -> BTreeSet<usize> {
    (0..LETTERS).filter(|&n| pred(n)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_letters_are_peeked_redriven_by_filter_and_survive_a_kill() {
    let emulator = Emulator::from_env().await;
    let sqs = aws_sdk_sqs::Client::new(&emulator.aws);
    let ops = Ops::new(&emulator.endpoint);
    let (source, dlq) = queue_with_dlq(&sqs, &ops, "things").await;
    seed(&sqs, &dlq).await;
    let rejected_items = matching(|n| letter_kind(n) == ("ItemCreated", Some("rejected")));
    let transient = matching(|n| letter_kind(n).1 == Some("transient"));
    assert_eq!((rejected_items.len(), transient.len()), (125, 250));
    let filter = ["--filter", "type=ItemCreated", "--filter", "kind=rejected"];

    // list: the DLQ, what feeds it, its depth and its error kinds, exact although reading 1,000 letters takes
    // far longer than the 1 s each letter is held at a time (the holds are renewed while the read runs).
    let started = std::time::Instant::now();
    let listed: Value =
        serde_json::from_str(&ops.ok(&["dlq", "list", "--json", "--hold", "1s"])).expect("json");
    assert!(
        started.elapsed() > Duration::from_secs(3),
        "the read outlasted the hold: {:?}",
        started.elapsed()
    );
    let row = &listed[0];
    assert_eq!(row["dlq"], ops.name("things-dlq"));
    assert_eq!(row["sources"], json!([ops.name("things")]));
    assert_eq!(row["depth"], LETTERS);
    assert_eq!(row["scanned"], LETTERS, "{row}");
    assert_eq!(row["sample"], false, "{row}");
    assert_eq!(row["errorKinds"][0]["count"], 250, "{row}");
    for kind in row["errorKinds"].as_array().expect("kinds") {
        assert_eq!(kind["count"], 250, "{row}");
    }

    // peek --filter shows exactly the matching letters, and consumes none (again holding each for 1 s at a time).
    let peeked: BTreeSet<usize> = ops
        .ok(&[
            &["dlq", "peek", "things-dlq", "--json", "--hold", "1s"][..],
            &filter,
        ]
        .concat())
        .lines()
        .map(|l| {
            let letter: Value = serde_json::from_str(l).expect("a letter");
            assert_eq!(letter["errorKind"], "rejected");
            let body: Value =
                serde_json::from_str(letter["body"].as_str().expect("body")).expect("json");
            body["data"]["n"].as_u64().expect("n") as usize
        })
        .collect();
    assert_eq!(peeked, rejected_items);
    assert_eq!(visible(&sqs, &dlq).await, LETTERS, "peek consumed nothing");

    // The dry run prints exactly what would move, and moves nothing.
    let dry = ops.ok(&[&["dlq", "redrive", "things-dlq"][..], &filter].concat());
    assert_eq!(
        dry.lines().filter(|l| l.starts_with("would move")).count(),
        125,
        "{dry}"
    );
    assert!(dry.contains("nothing moved"), "{dry}");
    assert_eq!(
        (visible(&sqs, &dlq).await, visible(&sqs, &source).await),
        (LETTERS, 0)
    );

    // redrive --filter --yes moves exactly those, with one audit line each.
    ops.ok(&[&["dlq", "redrive", "things-dlq", "--yes"][..], &filter].concat());
    let moved: Vec<usize> = drain(&sqs, &source).await;
    assert_eq!(moved.len(), 125);
    assert_eq!(
        moved.iter().copied().collect::<BTreeSet<_>>(),
        rejected_items
    );
    assert_eq!(visible(&sqs, &dlq).await, LETTERS - 125);
    let audit = ops.audit_lines();
    assert_eq!(audit.len(), 125);
    let ids: BTreeSet<&str> = audit
        .iter()
        .map(|l| l["messageId"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), 125, "one line per moved message");
    assert!(audit.iter().all(|l| l["action"] == "redrive"
        && l["to"] == ops.name("things")
        && l["who"].is_string()));

    // A redrive killed (SIGKILL) halfway, then run again: every letter ends in the source queue or the DLQ.
    let mut killed = ops
        .command(&[
            "dlq",
            "redrive",
            "things-dlq",
            "--filter",
            "kind=transient",
            "--yes",
            "--rate",
            "25",
            "--hold",
            "30s",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    eventually(
        Duration::from_secs(60),
        "half of the transient letters moved",
        || async { (visible(&sqs, &source).await >= 100).then_some(()) },
    )
    .await;
    assert!(
        killed.try_wait().expect("status").is_none(),
        "the redrive is still running when it is killed"
    );
    killed.kill().expect("SIGKILL");
    killed.wait().expect("reaped");
    let at_kill = visible(&sqs, &source).await;
    assert!(
        at_kill < 250,
        "killed halfway, not after the end ({at_kill} moved)"
    );
    // The letters the killed run held come back when their hold (30 s) ends.
    tokio::time::sleep(Duration::from_secs(31)).await;
    ops.ok(&[
        "dlq",
        "redrive",
        "things-dlq",
        "--filter",
        "kind=transient",
        "--yes",
    ]);
    let moved = drain(&sqs, &source).await;
    assert_eq!(
        moved.iter().copied().collect::<BTreeSet<_>>(),
        transient,
        "every transient letter reached the queue"
    );
    assert!(
        moved.len() - 250 <= 10,
        "at most the batch in flight at the kill is duplicated: {}",
        moved.len() - 250
    );
    let left: BTreeSet<usize> = drain(&sqs, &dlq).await.into_iter().collect();
    let expected_left: BTreeSet<usize> = (0..LETTERS)
        .filter(|n| !transient.contains(n) && !rejected_items.contains(n))
        .collect();
    assert_eq!(
        left, expected_left,
        "the rest is still in the DLQ, none lost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_one_line_errors_and_move_nothing() {
    let emulator = Emulator::from_env().await;
    let sqs = aws_sdk_sqs::Client::new(&emulator.aws);
    let ops = Ops::new(&emulator.endpoint);
    let (source, dlq) = queue_with_dlq(&sqs, &ops, "bad").await;
    sqs.send_message()
        .queue_url(&dlq)
        .message_body("{}")
        .send()
        .await
        .expect("seed");

    ops.fails(&["dlq", "peek", "nope-dlq"], "no queue \"nope-dlq\"");
    ops.fails(
        &["dlq", "redrive", "bad", "--yes"],
        "is not a dead-letter queue",
    );
    ops.fails(
        &["dlq", "redrive", "bad-dlq", "--yes", "--mode", "native"],
        "move task is not available on this endpoint",
    );
    ops.fails(
        &[
            "dlq", "redrive", "bad-dlq", "--yes", "--mode", "native", "--limit", "1",
        ],
        "--mode native needs no --filter, no --limit",
    );
    ops.fails(&["dlq", "purge", "bad-dlq"], "refusing to purge");
    let out = ops.run(&["dlq", "peek", "bad-dlq", "--filter", "colour=red"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown filter key \"colour\""));
    let other = Ops::of("nosuchworkspace", &emulator.endpoint);
    other.fails(&["dlq", "list"], "has no queues");
    let out = ops
        .command(&["dlq", "list"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("no AWS credentials"),
        "{stderr}"
    );
    // Nothing moved by any of them, nothing audited.
    assert_eq!(
        (visible(&sqs, &dlq).await, visible(&sqs, &source).await),
        (1, 0)
    );
    assert!(ops.audit_lines().is_empty());

    // A confirmed purge empties the DLQ, and says so in the audit log.
    ops.ok(&["dlq", "purge", "bad-dlq", "--yes"]);
    assert_eq!(visible(&sqs, &dlq).await, 0);
    let audit = ops.audit_lines();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["action"], "purge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_delivers_the_window_s_events_of_the_asked_types_again() {
    let emulator = Emulator::from_env().await;
    let sqs = aws_sdk_sqs::Client::new(&emulator.aws);
    let events = aws_sdk_eventbridge::Client::new(&emulator.aws);
    let ops = Ops::new(&emulator.endpoint);
    // A workspace's bus, archive and one rule per type, each to its queue with the envelope (the detail).
    let bus = ops.name("").trim_end_matches('-').to_owned();
    let bus_arn = events
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("bus")
        .event_bus_arn()
        .expect("arn")
        .to_owned();
    events
        .create_archive()
        .archive_name(ops.name("events"))
        .event_source_arn(&bus_arn)
        .send()
        .await
        .expect("archive");
    let mut queues = BTreeMap::new();
    for t in ["ItemCreated", "BidPlaced"] {
        let url = sqs
            .create_queue()
            .queue_name(ops.name(&format!("q-{t}")))
            .send()
            .await
            .expect("q")
            .queue_url()
            .expect("url")
            .to_owned();
        let arn = attribute(&sqs, &url, QueueAttributeName::QueueArn).await;
        events
            .put_rule()
            .name(ops.name(t))
            .event_bus_name(&bus)
            .event_pattern(json!({"detail-type": [t]}).to_string())
            .send()
            .await
            .expect("rule");
        events
            .put_targets()
            .rule(ops.name(t))
            .event_bus_name(&bus)
            .targets(
                aws_sdk_eventbridge::types::Target::builder()
                    .id("q")
                    .arn(arn)
                    .input_path("$.detail")
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("target");
        queues.insert(t, url);
    }
    let before = chrono::Utc::now() - chrono::Duration::minutes(1);
    for (t, n) in [("ItemCreated", 1), ("BidPlaced", 2)] {
        events
            .put_events()
            .entries(
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .event_bus_name(&bus)
                    .source("ecobid.test")
                    .detail_type(t)
                    .detail(json!({"type": t, "data": {"n": n}}).to_string())
                    .build(),
            )
            .send()
            .await
            .expect("put");
    }
    assert_eq!(
        drain(&sqs, &queues["ItemCreated"]).await,
        vec![1],
        "delivered live"
    );
    assert_eq!(drain(&sqs, &queues["BidPlaced"]).await, vec![2]);
    let (from, to) = (
        before.to_rfc3339(),
        (chrono::Utc::now() + chrono::Duration::minutes(1)).to_rfc3339(),
    );

    ops.fails(
        &[
            "events", "replay", "--from", &from, "--to", &to, "--type", "Nope",
        ],
        "no rule for event type \"Nope\"",
    );
    ops.fails(
        &["events", "replay", "--from", &to, "--to", &from],
        "must be before",
    );
    let said = ops.ok(&[
        "events",
        "replay",
        "--from",
        &from,
        "--to",
        &to,
        "--type",
        "ItemCreated",
    ]);
    assert!(said.contains("COMPLETED"), "{said}");
    assert_eq!(
        drain(&sqs, &queues["ItemCreated"]).await,
        vec![1],
        "replayed, as its envelope"
    );
    assert!(
        drain(&sqs, &queues["BidPlaced"]).await.is_empty(),
        "another type is not replayed"
    );
    assert_eq!(
        ops.audit_lines().last().expect("audited")["action"],
        "replay"
    );
}
