use std::sync::Mutex;

use chrono::{TimeZone, Utc};
use domain::event::{CorrelationId, DomainEvent, ErrorOccurred};
use serde_json::json;

use super::*;

fn envelope(n: usize) -> Envelope {
    let at = Utc.timestamp_opt(1_795_000_000, 0).single().expect("time");
    Envelope::new(
        DomainEvent::from(ErrorOccurred {
            queue: "q".into(),
            message_id: format!("m{n}"),
            error_kind: "invalid_message".into(),
            error_message: "x".repeat(n % 3),
            event_id: None,
        }),
        CorrelationId::random(),
        at,
    )
}

fn record(name: &str, pk: &str, sequence: usize, envelope: Option<&str>) -> serde_json::Value {
    let mut image = json!({"PK": {"S": pk}, "SK": {"S": "EVENT"}});
    if let Some(e) = envelope {
        image["envelope"] = json!({"S": e});
    }
    json!({
        "eventID": format!("e{sequence}"),
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_795_000_000.0,
            "Keys": {"PK": {"S": pk}, "SK": {"S": "EVENT"}},
            "NewImage": image,
            "SequenceNumber": format!("{sequence:021}"),
            "SizeBytes": 100,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/x"
    })
}

/// A stream batch of `n` outbox events, each preceded by a state change of the same write.
fn stream(n: usize) -> (Event, Vec<Envelope>) {
    let envelopes: Vec<Envelope> = (0..n).map(envelope).collect();
    let mut records = Vec::new();
    for (i, e) in envelopes.iter().enumerate() {
        records.push(record("MODIFY", "ITEM#1", 2 * i, None));
        records.push(record(
            "INSERT",
            &format!("EVENT#{}", e.id),
            2 * i + 1,
            Some(&e.to_json_string()),
        ));
    }
    let event = serde_json::from_value(json!({ "Records": records })).expect("stream event");
    (event, envelopes)
}

/// A bus that refuses the entries whose message ids it is told to, `refusals` times each.
#[derive(Default)]
struct FakeBus {
    calls: Mutex<Vec<Vec<String>>>,
    refuse: Mutex<Vec<(String, usize)>>,
    code: String,
}

impl FakeBus {
    fn refusing(id: &Envelope, times: usize) -> Self {
        Self::refusing_with(id, times, "InternalFailure: try again")
    }

    fn refusing_with(id: &Envelope, times: usize, code: &str) -> Self {
        let bus = Self {
            code: code.into(),
            ..Self::default()
        };
        bus.refuse
            .lock()
            .expect("lock")
            .push((id.id.to_string(), times));
        bus
    }

    fn calls(&self) -> Vec<Vec<String>> {
        self.calls.lock().expect("lock").clone()
    }
}

impl Bus for FakeBus {
    async fn put(&self, entries: &[Pending]) -> Result<Vec<Option<String>>, ProcessError> {
        self.calls
            .lock()
            .expect("lock")
            .push(entries.iter().map(|p| p.envelope.id.to_string()).collect());
        let mut refuse = self.refuse.lock().expect("lock");
        Ok(entries
            .iter()
            .map(|p| {
                let id = p.envelope.id.to_string();
                match refuse.iter_mut().find(|(r, n)| *r == id && *n > 0) {
                    Some((_, n)) => {
                        *n -= 1;
                        Some(self.code.clone())
                    }
                    None => None,
                }
            })
            .collect())
    }
}

/// An outbox DLQ that keeps what it is sent, or refuses it.
#[derive(Default)]
struct FakeDlq {
    sent: Mutex<Vec<Poisoned>>,
    refuse: bool,
}

impl DeadLetters for FakeDlq {
    async fn dead_letter(&self, poisoned: &Poisoned) -> Result<(), ProcessError> {
        if self.refuse {
            return Err(ProcessError::Transient("sqs down".into()));
        }
        self.sent.lock().expect("lock").push(poisoned.clone());
        Ok(())
    }
}

impl FakeDlq {
    fn sequences(&self) -> Vec<String> {
        self.sent
            .lock()
            .expect("lock")
            .iter()
            .map(|p| p.sequence.clone())
            .collect()
    }
}

/// Tries within an invocation in these tests: the first and three more.
const TRIES: usize = 4;

fn zeros() -> impl Iterator<Item = Duration> + Clone {
    std::iter::repeat_n(Duration::ZERO, TRIES - 1)
}

fn seq(n: usize) -> String {
    format!("{n:021}")
}

#[test]
fn only_new_outbox_items_are_events_in_stream_order() {
    // GIVEN state changes, outbox inserts, an outbox item's removal (TTL) and a malformed outbox item
    let (mut event, envelopes) = stream(3);
    let extra: Vec<EventRecord> = [
        record(
            "REMOVE",
            "EVENT#old",
            90,
            Some(&envelopes[0].to_json_string()),
        ),
        record("INSERT", "EVENT#bad", 91, Some("{\"version\": \"9\"}")),
        record("INSERT", "EVENT#none", 92, None),
    ]
    .into_iter()
    .map(|r| serde_json::from_value(r).expect("record"))
    .collect();
    event.records.extend(extra);
    // WHEN the relay reads them THEN it finds exactly the three events, in order, with their sequence numbers
    let (found, poisoned) = read(&event);
    let ids: Vec<_> = found.iter().map(|p| p.envelope.id).collect();
    assert_eq!(ids, envelopes.iter().map(|e| e.id).collect::<Vec<_>>());
    assert_eq!(found[1].sequence, seq(3));
    assert_eq!(found[0].detail, envelopes[0].to_json_string());
    // AND the two outbox items that can never be events are named, not dropped
    let sequences: Vec<_> = poisoned.iter().map(|p| p.sequence.clone()).collect();
    assert_eq!(sequences, vec![seq(91), seq(92)]);
    assert!(
        poisoned[0].reason.contains("does not parse"),
        "{poisoned:?}"
    );
    assert!(
        poisoned[1].reason.contains("no envelope attribute"),
        "{poisoned:?}"
    );
}

#[test]
fn calls_carry_at_most_ten_entries_and_256_kib() {
    let (event, _) = stream(23);
    let events = pending(&event);
    let sizes: Vec<usize> = batches(&events).iter().map(|b| b.len()).collect();
    assert_eq!(sizes, vec![10, 10, 3]);

    // Big entries: 100 KiB each, so two fit in a call and the third starts the next.
    let mut big = events[..5].to_vec();
    for p in &mut big {
        p.detail = "x".repeat(100 * 1024);
    }
    let sizes: Vec<usize> = batches(&big).iter().map(|b| b.len()).collect();
    assert_eq!(sizes, vec![2, 2, 1]);
    assert!(batches(&[]).is_empty());
}

#[tokio::test]
async fn every_event_is_put_in_batches_and_the_stream_batch_succeeds() {
    let (event, envelopes) = stream(12);
    let bus = FakeBus::default();
    let response = relay_with(&bus, &FakeDlq::default(), &event, zeros())
        .await
        .expect("published");
    assert!(response.batch_item_failures.is_empty());
    let calls = bus.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].len(), 10);
    let put: Vec<String> = calls.concat();
    assert_eq!(
        put,
        envelopes
            .iter()
            .map(|e| e.id.to_string())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_refused_entry_is_retried_alone_then_published() {
    // GIVEN the bus refuses the 4th event twice
    let (event, envelopes) = stream(5);
    let bus = FakeBus::refusing(&envelopes[3], 2);
    // WHEN the batch is relayed
    let response = relay_with(&bus, &FakeDlq::default(), &event, zeros())
        .await
        .expect("published");
    // THEN the stream batch succeeds and only that entry was put again, twice
    assert!(response.batch_item_failures.is_empty());
    let calls = bus.calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].len(), 5);
    assert_eq!(calls[1], vec![envelopes[3].id.to_string()]);
    assert_eq!(calls[2], vec![envelopes[3].id.to_string()]);
}

#[tokio::test]
async fn an_entry_that_keeps_failing_fails_the_stream_batch_from_its_record() {
    // GIVEN the bus always refuses the 12th of 15 events (second call)
    let (event, envelopes) = stream(15);
    let bus = FakeBus::refusing(&envelopes[11], usize::MAX);
    // WHEN the batch is relayed
    let response = relay_with(&bus, &FakeDlq::default(), &event, zeros())
        .await
        .expect("not poisoned");
    // THEN the answer names that event's record, so Lambda resumes there: nothing after it is skipped
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, vec![Some(seq(2 * 11 + 1))]);
    // and it was tried as often as the retry window allows
    let tries = bus
        .calls()
        .iter()
        .filter(|c| c.contains(&envelopes[11].id.to_string()))
        .count();
    assert_eq!(tries, TRIES);
}

#[tokio::test]
async fn a_failing_call_fails_the_batch_from_its_first_record() {
    struct Down;
    impl Bus for Down {
        async fn put(&self, _: &[Pending]) -> Result<Vec<Option<String>>, ProcessError> {
            Err(ProcessError::Transient("bus down".into()))
        }
    }
    let (event, _) = stream(3);
    let response = relay_with(&Down, &FakeDlq::default(), &event, zeros())
        .await
        .expect("not poisoned");
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        Some(seq(1))
    );
}

fn big_envelope(like: &Envelope) -> Envelope {
    Envelope::new(
        DomainEvent::from(ErrorOccurred {
            queue: "q".into(),
            message_id: "big".into(),
            error_kind: "invalid_message".into(),
            error_message: "x".repeat(MAX_BATCH_BYTES),
            event_id: None,
        }),
        CorrelationId::random(),
        like.time,
    )
}

#[tokio::test]
async fn a_record_that_can_never_be_published_is_dead_lettered_and_the_rest_of_its_batch_published()
{
    // GIVEN a batch of five events whose third is over EventBridge's 256 KiB entry limit
    let (mut event, envelopes) = stream(5);
    let big = big_envelope(&envelopes[0]);
    event.records[5] = serde_json::from_value(record(
        "INSERT",
        &format!("EVENT#{}", big.id),
        5,
        Some(&big.to_json_string()),
    ))
    .expect("record");
    let (bus, dlq) = (FakeBus::default(), FakeDlq::default());
    // WHEN it is relayed
    let response = relay_with(&bus, &dlq, &event, zeros())
        .await
        .expect("dead-lettered");
    // THEN the stream batch succeeds: the four others were put, in order, in one call
    assert!(response.batch_item_failures.is_empty());
    let put: Vec<String> = bus.calls().concat();
    let others: Vec<String> = [0, 1, 3, 4]
        .iter()
        .map(|i| envelopes[*i].id.to_string())
        .collect();
    assert_eq!(put, others);
    // AND the big one is in the outbox DLQ, saying which event it is and why
    let sent = dlq.sent.lock().expect("lock").clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].sequence, seq(5));
    assert!(
        sent[0].reason.contains("over EventBridge's 262144"),
        "{sent:?}"
    );
    let body: serde_json::Value = serde_json::from_str(&sent[0].letter_body()).expect("json");
    assert_eq!(body["id"], big.id.to_string());
    assert_eq!(body["type"], "ErrorOccurred");
    assert_eq!(body["outboxItem"], format!("EVENT#{}", big.id));
}

#[tokio::test]
async fn when_the_dlq_refuses_a_poisoned_record_too_the_invocation_fails_so_nothing_is_lost() {
    let (mut event, envelopes) = stream(2);
    let big = big_envelope(&envelopes[0]);
    event.records[1] = serde_json::from_value(record(
        "INSERT",
        &format!("EVENT#{}", big.id),
        1,
        Some(&big.to_json_string()),
    ))
    .expect("record");
    let dlq = FakeDlq {
        refuse: true,
        ..FakeDlq::default()
    };
    let failure = relay_with(&FakeBus::default(), &dlq, &event, zeros())
        .await
        .expect_err("the invocation fails");
    assert_eq!(failure.0.len(), 1);
    assert_eq!(failure.0[0].sequence, seq(1));
}

#[tokio::test]
async fn an_entry_the_bus_refuses_for_good_is_dead_lettered_without_retries() {
    // GIVEN the bus refuses the 2nd event with a code that is not retryable
    let (event, envelopes) = stream(3);
    let bus = FakeBus::refusing_with(
        &envelopes[1],
        usize::MAX,
        "MalformedDetail: Detail is malformed.",
    );
    let dlq = FakeDlq::default();
    // WHEN the batch is relayed
    let response = relay_with(&bus, &dlq, &event, zeros())
        .await
        .expect("dead-lettered");
    // THEN it is not retried, the others are published, and the DLQ has it with the bus's reason
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(bus.calls().len(), 1);
    assert_eq!(dlq.sequences(), vec![seq(3)]);
    assert!(dlq.sent.lock().expect("lock")[0]
        .reason
        .contains("MalformedDetail"));
}

#[tokio::test]
async fn poisoned_records_after_the_retry_point_wait_for_the_retry_instead_of_being_dead_lettered_twice(
) {
    // GIVEN the bus keeps refusing the 1st event for now, and the 3rd outbox item does not parse
    let (mut event, envelopes) = stream(3);
    event.records[5] =
        serde_json::from_value(record("INSERT", "EVENT#bad", 5, Some("{}"))).expect("record");
    let bus = FakeBus::refusing(&envelopes[0], usize::MAX);
    let dlq = FakeDlq::default();
    // WHEN relayed
    let response = relay_with(&bus, &dlq, &event, zeros()).await.expect("ok");
    // THEN the stream resumes at the 1st, and the bad one is left for that retry
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        Some(seq(1))
    );
    assert!(dlq.sequences().is_empty());
}

#[test]
fn the_retry_window_bounds_the_delays_of_one_invocation() {
    // The delays add up to the window, short of it by less than one (jittered) step of at most 2 x 2 s.
    for _ in 0..20 {
        let total: Duration = retry_delays(Duration::from_secs(20)).sum();
        assert!(total <= Duration::from_secs(20), "{total:?}");
        assert!(total > Duration::from_secs(16), "{total:?}");
    }
}

#[test]
fn entry_sizes_count_the_time_as_eventbridge_does() {
    // GIVEN two entries whose source, detail-type and detail fill exactly half of the limit each
    let (event, _) = stream(2);
    let mut two = pending(&event);
    for p in &mut two {
        let header = p.envelope.source().as_str().len() + p.envelope.event_type().as_str().len();
        p.detail = "x".repeat(MAX_BATCH_BYTES / 2 - header);
    }
    // THEN with the 14 bytes of their time they no longer fit one call
    let sizes: Vec<usize> = batches(&two).iter().map(|b| b.len()).collect();
    assert_eq!(sizes, vec![1, 1]);
}
