//! The event backbone on the local stack: the outbox relayed from the table's stream to the bus and the right
//! queue, and the worker runtime's retry control, driven through a probe Lambda the local runner has never seen.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::MessageSystemAttributeName;
use domain::event::{CorrelationId, DomainEvent, Envelope, ItemCreated, ItemMode, Location};
use serde_json::{json, Value};

use crate::support::emulator::{eventually, Emulator};
use crate::support::probe::{Policy, Probe};

const FAST: Policy = Policy {
    max_receive_count: 5,
    backoff_base_seconds: 1,
    backoff_max_seconds: 30,
};

fn probe(key: &str, fail_times: u32, panic_times: u32) -> String {
    json!({"key": key, "failTimes": fail_times, "panicTimes": panic_times, "correlationId": CorrelationId::random().to_string()})
        .to_string()
}

fn attribute<'a>(m: &'a aws_sdk_sqs::types::Message, name: &str) -> Option<&'a str> {
    m.message_attributes()?.get(name)?.string_value()
}

/// Log lines of the probe with this message, whose `fields.message` is `what`.
fn logged(p: &Probe, what: &str, field: &str, value: &str) -> Vec<Value> {
    p.log_lines()
        .into_iter()
        .filter(|l| l["fields"]["message"] == what)
        .filter(|l| l.to_string().contains(&format!("\"{field}\":\"{value}\"")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_goes_to_the_dlq_after_one_receive_and_the_rest_of_its_batch_succeeds() {
    // GIVEN a batch of four messages, the first of them garbage
    let p = Probe::deploy("garbage", FAST).await;
    let bodies = vec![
        "{this is not json".to_owned(),
        probe("g1", 0, 0),
        probe("g2", 0, 0),
        probe("g3", 0, 0),
    ];
    let ids = p.send(&bodies).await;

    // THEN the three good ones take effect, once each, on their first receive
    eventually(
        Duration::from_secs(30),
        "the good messages take effect",
        || async {
            for k in ["g1", "g2", "g3"] {
                if p.effects(k).await != 1 {
                    return None;
                }
            }
            Some(())
        },
    )
    .await;
    for k in ["g1", "g2", "g3"] {
        assert_eq!(p.receives(k).await.len(), 1, "{k} received once");
    }
    // AND the garbage is in the DLQ with the three error attributes, its body untouched
    let dead = eventually(
        Duration::from_secs(30),
        "the garbage reaches the DLQ",
        || async {
            let d = p.dead_letters().await;
            (!d.is_empty()).then_some(d)
        },
    )
    .await;
    assert_eq!(dead.len(), 1, "exactly one dead letter");
    let letter = &dead[0];
    assert_eq!(letter.body(), Some(bodies[0].as_str()));
    assert_eq!(attribute(letter, "error.kind"), Some("invalid_message"));
    let message = attribute(letter, "error.message").expect("error.message");
    assert!(message.contains("not a probe message"), "{message}");
    let failed_at = attribute(letter, "failed.at").expect("failed.at");
    chrono::DateTime::parse_from_rfc3339(failed_at).expect("failed.at is RFC 3339");
    // AND it was given up on at its first and only receive: no retry burned
    let gave_up = logged(
        &p,
        "message failed permanently; sent to the DLQ",
        "message_id",
        &ids[0],
    );
    assert_eq!(
        gave_up.len(),
        1,
        "one permanent failure logged: {gave_up:?}"
    );
    assert!(
        gave_up[0].to_string().contains("\"receive_count\":1"),
        "given up on its first receive: {}",
        gave_up[0]
    );
    eventually(
        Duration::from_secs(10),
        "the source queue is empty",
        || async { (p.depth(&p.queue_url).await == 0).then_some(()) },
    )
    .await;
    // AND an ErrorOccurred event naming it is in the outbox
    let events = p.items_with_prefix("EVENT#").await;
    assert_eq!(events.len(), 1, "one ErrorOccurred");
    let envelope =
        Envelope::parse(events[0]["envelope"].as_s().expect("envelope")).expect("parses");
    let DomainEvent::ErrorOccurred(e) = envelope.event else {
        panic!("not ErrorOccurred: {envelope:?}")
    };
    assert_eq!(e.message_id, ids[0]);
    assert_eq!(e.error_kind, "invalid_message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_is_retried_after_growing_delays_then_processed_once() {
    let p = Probe::deploy("transient", FAST).await;
    p.send(&[probe("t1", 3, 0)]).await;

    eventually(Duration::from_secs(60), "t1 takes effect", || async {
        (p.effects("t1").await == 1).then_some(())
    })
    .await;
    let receives = p.receives("t1").await;
    let counts: Vec<u32> = receives.iter().map(|r| r.1).collect();
    assert_eq!(
        counts,
        vec![1, 2, 3, 4],
        "three failed receives, then the one that worked"
    );
    let gaps: Vec<i64> = receives.windows(2).map(|w| w[1].0 - w[0].0).collect();
    let backoffs: Vec<i64> = logged(
        &p,
        "message failed transiently; retried after backoff",
        "event_id",
        "t1",
    )
    .iter()
    .map(|l| {
        l["fields"]["backoff_seconds"]
            .as_i64()
            .expect("backoff_seconds")
    })
    .collect();
    eprintln!("t1: redelivery gaps {gaps:?} ms after logged backoffs {backoffs:?} s");
    assert_eq!(backoffs.len(), 3, "each transient failure logs its backoff");
    assert!(
        backoffs.windows(2).all(|w| w[0] < w[1]),
        "backoffs grow: {backoffs:?}"
    );
    assert!(
        gaps.windows(2).all(|w| w[0] < w[1]),
        "redeliveries come after growing delays: {gaps:?}"
    );
    for (gap, backoff) in gaps.iter().zip(&backoffs) {
        assert!(
            *gap >= backoff * 1000 - 250,
            "a redelivery came {gap} ms after a {backoff} s backoff"
        );
    }
    assert_eq!(p.effects("t1").await, 1);
    assert!(p.dead_letters().await.is_empty(), "nothing in the DLQ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_failing_forever_reaches_the_dlq_on_its_last_receive_with_its_last_error() {
    let policy = Policy {
        max_receive_count: 3,
        ..FAST
    };
    let p = Probe::deploy("forever", policy).await;
    let body = probe("f1", u32::MAX, 0);
    p.send(std::slice::from_ref(&body)).await;

    let dead = eventually(Duration::from_secs(60), "f1 reaches the DLQ", || async {
        let d = p.dead_letters().await;
        (!d.is_empty()).then_some(d)
    })
    .await;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        dead[0].body(),
        Some(body.as_str()),
        "the message itself, nothing lost"
    );
    // Dead-lettered by the runtime on the last receive, with the last error (SQS's redrive would move it on
    // the next receive without one).
    assert_eq!(attribute(&dead[0], "error.kind"), Some("transient"));
    let why = attribute(&dead[0], "error.message").unwrap_or_default();
    assert!(why.starts_with("failed on all 3 receives"), "{why}");
    let counts: Vec<u32> = p.receives("f1").await.iter().map(|r| r.1).collect();
    assert_eq!(counts, vec![1, 2, 3], "received maxReceiveCount times");
    assert_eq!(p.effects("f1").await, 0);
    assert_eq!(p.depth(&p.queue_url).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_delivered_twice_takes_effect_once() {
    let p = Probe::deploy("duplicates", FAST).await;
    let keys: Vec<String> = (0..5).map(|i| format!("d{i}")).collect();
    let bodies: Vec<String> = keys
        .iter()
        .flat_map(|k| [probe(k, 0, 0), probe(k, 0, 0)])
        .collect();
    p.send(&bodies).await;

    eventually(
        Duration::from_secs(60),
        "both copies of every message are done",
        || async {
            if p.depth(&p.queue_url).await != 0 {
                return None;
            }
            for k in &keys {
                if p.receives(k).await.len() < 2 {
                    return None;
                }
            }
            Some(())
        },
    )
    .await;
    for k in &keys {
        assert_eq!(p.effects(k).await, 1, "{k}: one effect for two deliveries");
    }
    assert!(p.dead_letters().await.is_empty(), "nothing in the DLQ");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_message_is_redelivered_and_the_rest_of_its_batch_is_deleted() {
    let p = Probe::deploy("panic", FAST).await;
    let mut bodies: Vec<String> = (0..4).map(|i| probe(&format!("p{i}"), 0, 0)).collect();
    bodies.push(probe("boom", 0, 1));
    p.send(&bodies).await;

    eventually(Duration::from_secs(60), "all five take effect", || async {
        for k in ["p0", "p1", "p2", "p3", "boom"] {
            if p.effects(k).await != 1 {
                return None;
            }
        }
        Some(())
    })
    .await;
    for k in ["p0", "p1", "p2", "p3"] {
        assert_eq!(
            p.receives(k).await.len(),
            1,
            "{k} was deleted after its batch, not redelivered"
        );
    }
    let counts: Vec<u32> = p.receives("boom").await.iter().map(|r| r.1).collect();
    assert_eq!(counts, vec![1, 2], "the panicking message came back once");
    let panicked = logged(
        &p,
        "message failed transiently; retried after backoff",
        "event_id",
        "boom",
    );
    assert!(
        panicked[0].to_string().contains("handler panicked"),
        "{}",
        panicked[0]
    );
    assert_eq!(p.depth(&p.queue_url).await, 0);
    assert!(p.dead_letters().await.is_empty(), "nothing in the DLQ");
}

/// The tests that play workspace A's stream publisher, one at a time (two publishers would race).
static PUBLISHER_OF_A: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn item_created(title: &str) -> Envelope {
    Envelope::new(
        DomainEvent::from(ItemCreated {
            item_id: format!("item-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            seller_id: "user-1".into(),
            title: title.into(),
            category: "furniture".into(),
            mode: ItemMode::Free,
            location: Location {
                lat: 48.85,
                lon: 2.35,
                geohash: "u09tvw".into(),
            },
            expires_at: chrono::Utc::now() + chrono::Duration::days(7),
        }),
        CorrelationId::random(),
        chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 3),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_outbox_record_goes_to_the_outbox_dlq_and_holds_up_nothing() {
    let p = PublisherOfA::start().await;
    let stack = crate::support::stack::TestStack::from_env();
    let outputs = stack.outputs(&p.ws);
    let (ws, table, dlq, emulator) = (&p.ws, &p.table, &p.outbox_dlq, &p.emulator);
    let (ddb, sqs) = (aws_sdk_dynamodb::Client::new(&emulator.aws), p.sqs());

    // GIVEN five events written together, the third an envelope EventBridge refuses every time: 300 KB, over
    // its 256 KiB per PutEvents entry (the item itself is under DynamoDB's 400 KB)
    let good: Vec<Envelope> = (0..4)
        .map(|i| item_created(&format!("Chair {i}")))
        .collect();
    let poisoned = item_created(&"x".repeat(300_000));
    let mut all = good.clone();
    all.insert(2, poisoned.clone());
    let writes: Vec<_> = all
        .iter()
        .map(|e| {
            aws_sdk_dynamodb::types::WriteRequest::builder()
                .put_request(
                    aws_sdk_dynamodb::types::PutRequest::builder()
                        .set_item(Some(infra::outbox::item(e, chrono::Utc::now())))
                        .build()
                        .expect("put"),
                )
                .build()
        })
        .collect();
    let written_at = Instant::now();
    ddb.batch_write_item()
        .request_items(table, writes)
        .send()
        .await
        .expect("batch write");

    // THEN the four others reach their queue within seconds
    p.delivered(&good, Duration::from_secs(10)).await;
    eprintln!(
        "the batch's four good events published in {} ms",
        written_at.elapsed().as_millis()
    );

    // AND the poisoned one is in the outbox DLQ, saying which event it is and why
    let letter = eventually(
        Duration::from_secs(30),
        "the poisoned record in the outbox DLQ",
        || async {
            let got = sqs
                .receive_message()
                .queue_url(dlq)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .message_attribute_names("All")
                .send()
                .await
                .expect("receive");
            got.messages()
                .iter()
                .find(|m| {
                    m.body()
                        .is_some_and(|b| b.contains(&poisoned.id.to_string()))
                })
                .cloned()
        },
    )
    .await;
    let attribute = |name: &str| {
        letter
            .message_attributes()
            .and_then(|a| a.get(name))
            .and_then(|v| v.string_value())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(attribute("error.kind"), "permanent");
    assert!(
        attribute("error.message").contains("over EventBridge's 262144"),
        "{}",
        attribute("error.message")
    );

    // AND its alarm would fire: the DLQ holds a letter, and its alarm pages on-call above zero letters
    // (CloudWatch's query API, as the emulator answers it from what Terraform created: no SDK crate for one call)
    let dlq_name = format!("ecobid-{ws}-outbox-dlq");
    let alarm = reqwest::Client::new()
        .post(&emulator.endpoint)
        .header(
            "Authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20261202/{}/monitoring/aws4_request, SignedHeaders=host, Signature=0",
                crate::support::emulator::REGION
            ),
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        // (the name is letters, digits and dashes: nothing to encode)
        .body(format!(
            "Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1={dlq_name}-not-empty"
        ))
        .send()
        .await
        .expect("DescribeAlarms")
        .text()
        .await
        .expect("body");
    let admin = outputs["topics"]["admin"].as_str().expect("admin topic");
    for part in [
        "<MetricName>ApproximateNumberOfMessagesVisible</MetricName>".to_owned(),
        format!("<Value>{dlq_name}</Value>"),
        "<Threshold>0.0</Threshold>".to_owned(),
        "<ComparisonOperator>GreaterThanThreshold</ComparisonOperator>".to_owned(),
        format!("<member>{admin}</member>"),
    ] {
        assert!(
            alarm.contains(&part),
            "the outbox DLQ's alarm lacks {part}: {alarm}"
        );
    }
    let depth: u64 = sqs
        .get_queue_attributes()
        .queue_url(dlq)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .expect("attributes")
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(depth >= 1, "the alarm's metric is above its threshold");

    // AND ecobid-ops shows it, and a replay keeps it (it cannot be published as it is)
    let ops = crate::support::ops::Ops::of(ws, &emulator.endpoint);
    let listed = ops.ok(&["outbox", "list"]);
    assert!(
        listed.contains(&poisoned.id.to_string()) && listed.contains("NEVER PUBLISHABLE"),
        "{listed}"
    );
    ops.fails(&["outbox", "replay", "--yes"], "could not be moved");
    // (and it leaves the DLQ empty for the suites after this one)
    ops.ok(&["dlq", "purge", "outbox-dlq", "--yes"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_of_an_outbox_item_reaches_the_right_queue_within_two_seconds() {
    let _alone = PUBLISHER_OF_A.lock().await;
    let stack = crate::support::stack::TestStack::from_env();
    let ws = &stack.workspace_a;
    let outputs = stack.outputs(ws);
    let table = outputs["table_name"]
        .as_str()
        .expect("table_name")
        .to_owned();
    let notifications = outputs["queues"]["notifications"]["queue_url"]
        .as_str()
        .expect("queue")
        .to_owned();
    let images = outputs["queues"]["images"]["queue_url"]
        .as_str()
        .expect("queue")
        .to_owned();
    let emulator = Emulator::from_env().await;
    let (ddb, sqs) = (
        aws_sdk_dynamodb::Client::new(&emulator.aws),
        aws_sdk_sqs::Client::new(&emulator.aws),
    );

    // GIVEN the local runner playing only the workspace's stream publisher (the queues' workers are not run,
    // so the message stays in its queue to be seen)
    let root = e2e::repo_root();
    let _runner = emulator
        .runner(
            &format!("ecobid-{ws}-stream-publisher"),
            vec![root.join("dist/lambda")],
        )
        .await;
    assert_eq!(
        _runner.summary.stream_mappings.len(),
        1,
        "{:?}",
        _runner.summary
    );

    // WHEN a state change writes its ItemCreated event into the table
    let correlation = CorrelationId::random();
    let envelope = Envelope::new(
        DomainEvent::from(ItemCreated {
            item_id: "item-1".into(),
            seller_id: "user-1".into(),
            title: "Oak chair".into(),
            category: "furniture".into(),
            mode: ItemMode::Free,
            location: Location {
                lat: 48.85,
                lon: 2.35,
                geohash: "u09tvw".into(),
            },
            expires_at: chrono::Utc::now() + chrono::Duration::days(7),
        }),
        correlation,
        // The envelope carries its time to the millisecond.
        chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 3),
    );
    let put_at = Instant::now();
    ddb.put_item()
        .table_name(&table)
        .set_item(Some(infra::outbox::item(&envelope, chrono::Utc::now())))
        .send()
        .await
        .expect("put");

    // THEN the event is on the bus and its envelope in the notifications queue, same id and correlation id
    let id = envelope.id.to_string();
    let message = eventually(
        Duration::from_secs(10),
        "ItemCreated reaches the notifications queue",
        || async {
            let got = sqs
                .receive_message()
                .queue_url(&notifications)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .expect("receive");
            got.messages()
                .iter()
                .find(|m| m.body().is_some_and(|b| b.contains(&id)))
                .cloned()
        },
    )
    .await;
    let latency = put_at.elapsed();
    eprintln!(
        "table put -> stream -> publisher -> bus -> notifications queue: {} ms",
        latency.as_millis()
    );
    let received = Envelope::parse(message.body().expect("body")).expect("an envelope");
    assert_eq!(received.id, envelope.id);
    assert_eq!(received.correlation_id, correlation);
    assert_eq!(received, envelope);
    assert!(latency < Duration::from_secs(2), "took {latency:?}");
    // AND not in a queue that does not take ItemCreated (images also holds S3's test event: look for ours)
    let in_images = sqs
        .receive_message()
        .queue_url(&images)
        .max_number_of_messages(10)
        .visibility_timeout(0)
        .send()
        .await
        .expect("receive")
        .messages()
        .iter()
        .filter(|m| m.body().is_some_and(|b| b.contains(&id)))
        .count();
    assert_eq!(in_images, 0, "ItemCreated is not routed to images");
}

/// Workspace A's stream publisher played alone by a runner of the test's, and what its tests use.
struct PublisherOfA {
    _alone: tokio::sync::MutexGuard<'static, ()>,
    _runner: runner::Runner,
    ws: String,
    emulator: Emulator,
    table: String,
    notifications: String,
    outbox_dlq: String,
}

impl PublisherOfA {
    async fn start() -> Self {
        let alone = PUBLISHER_OF_A.lock().await;
        let stack = crate::support::stack::TestStack::from_env();
        let ws = stack.workspace_a.clone();
        let outputs = stack.outputs(&ws);
        let text = |p: &str| {
            outputs
                .pointer(p)
                .and_then(Value::as_str)
                .expect(p)
                .to_owned()
        };
        let emulator = Emulator::from_env().await;
        let runner = emulator
            .runner(
                &format!("ecobid-{ws}-stream-publisher"),
                vec![e2e::repo_root().join("dist/lambda")],
            )
            .await;
        Self {
            _alone: alone,
            _runner: runner,
            table: text("/table_name"),
            notifications: text("/queues/notifications/queue_url"),
            outbox_dlq: text("/outbox_dlq_url"),
            ws,
            emulator,
        }
    }

    fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.emulator.aws)
    }

    /// Writes the events into the outbox.
    async fn write(&self, events: &[Envelope]) {
        let ddb = aws_sdk_dynamodb::Client::new(&self.emulator.aws);
        for e in events {
            ddb.put_item()
                .table_name(&self.table)
                .set_item(Some(infra::outbox::item(e, chrono::Utc::now())))
                .send()
                .await
                .expect("put");
        }
    }

    /// Waits until each event is in the notifications queue (consuming what it reads); the ids seen.
    async fn delivered(&self, events: &[Envelope], within: Duration) {
        let want: std::collections::HashSet<String> =
            events.iter().map(|e| e.id.to_string()).collect();
        let seen = std::sync::Mutex::new(std::collections::HashSet::new());
        let sqs = self.sqs();
        eventually(within, "the events in the notifications queue", || async {
            let got = sqs
                .receive_message()
                .queue_url(&self.notifications)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive");
            let mut seen = seen.lock().expect("lock");
            for m in got.messages() {
                if let Ok(e) = Envelope::parse(m.body().unwrap_or_default()) {
                    seen.insert(e.id.to_string());
                }
            }
            want.is_subset(&seen).then_some(())
        })
        .await;
    }

    /// Lambda's records of batches given up on, in the outbox DLQ.
    async fn batches_given_up_on(&self) -> usize {
        self.outbox_letters()
            .await
            .iter()
            .filter(|b| domain::dead_letter::stream::FailureRecord::parse(b).is_some())
            .count()
    }

    async fn outbox_letters(&self) -> Vec<String> {
        let got = self
            .sqs()
            .receive_message()
            .queue_url(&self.outbox_dlq)
            .max_number_of_messages(10)
            .visibility_timeout(0)
            .send()
            .await
            .expect("receive");
        got.messages()
            .iter()
            .filter_map(|m| m.body().map(str::to_owned))
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_down_within_the_streams_budget_loses_nothing_and_beyond_it_a_replay_delivers_the_rest(
) {
    let p = PublisherOfA::start().await;
    let faults = e2e::faults::Faults::new(&p.emulator.endpoint);
    let bus = format!("ecobid-{}", p.ws);

    // GIVEN the bus throttles every PutEvents for 8 s (several of the publisher's backoff steps, within the
    // local stream budget of 6 x 2 s plus the pauses between retries)
    let fault = faults
        .inject(
            e2e::faults::Fault::new("events", "PutEvents", "ThrottlingException", 400)
                .matching(&bus)
                .lasting(Duration::from_secs(8)),
        )
        .await;
    let first: Vec<Envelope> = (0..3).map(|i| item_created(&format!("Lamp {i}"))).collect();
    p.write(&first).await;
    // THEN once it recovers every event is delivered, and nothing went to the outbox DLQ
    p.delivered(&first, Duration::from_secs(40)).await;
    assert!(fault.hits().await > 0, "the outage was seen");
    fault.remove().await;
    assert_eq!(p.batches_given_up_on().await, 0, "nothing given up on");

    // GIVEN now the bus fails with 5xx for longer than the stream's budget
    let fault = faults
        .inject(
            e2e::faults::Fault::new("events", "PutEvents", "InternalException", 500)
                .matching(&bus)
                // Long enough for each part of the batch to use up its retries (each ~30 s here, one after the
                // other on the shard); removed as soon as all are given up on.
                .lasting(Duration::from_secs(240)),
        )
        .await;
    let second: Vec<Envelope> = (0..3).map(|i| item_created(&format!("Desk {i}"))).collect();
    p.write(&second).await;
    // THEN the mapping gives the batch up to the outbox DLQ (Lambda's record: where the records are; one per
    // part of the batch when it was split) and the shard moves on
    let ops = crate::support::ops::Ops::of(&p.ws, &p.emulator.endpoint);
    // AND ecobid-ops lists every record of it, read back from the stream
    let listed = eventually(
        Duration::from_secs(200),
        "every record given up on",
        || async {
            let listed = ops.ok(&["outbox", "list"]);
            second
                .iter()
                .all(|e| listed.contains(&e.id.to_string()))
                .then_some(listed)
        },
    )
    .await;
    let letters: Vec<_> = p
        .outbox_letters()
        .await
        .into_iter()
        .filter_map(|b| domain::dead_letter::stream::FailureRecord::parse(&b))
        .collect();
    assert!(!letters.is_empty(), "Lambda's failure records");
    for letter in &letters {
        assert_eq!(letter.request_context.condition, "RetryAttemptsExhausted");
        assert_eq!(
            letter.request_context.approximate_invoke_count, 6,
            "the first try and 5 retries (a split uses none)"
        );
    }
    fault.remove().await;

    assert!(listed.contains("publishable"), "{listed}");
    // (a letter some other run left that cannot be replayed as it is would make the command fail: only ours
    // matters here)
    let out = ops.run(&["outbox", "replay", "--yes"]);
    let replayed = String::from_utf8_lossy(&out.stdout);
    assert!(replayed.contains("replayed: "), "{replayed}");
    p.delivered(&second, Duration::from_secs(20)).await;
    assert_eq!(
        p.batches_given_up_on().await,
        0,
        "the letter is gone once its events are on the bus"
    );
    assert!(
        ops.audit_lines()
            .iter()
            .any(|l| l["action"] == "outbox-replay"),
        "the replay is audit-logged"
    );
}
