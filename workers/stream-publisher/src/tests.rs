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
}

impl FakeBus {
    fn refusing(id: &Envelope, times: usize) -> Self {
        let bus = Self::default();
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
                        Some("InternalFailure: try again".to_owned())
                    }
                    None => None,
                }
            })
            .collect())
    }
}

fn zeros() -> impl Iterator<Item = Duration> + Clone {
    std::iter::repeat_n(Duration::ZERO, MAX_TRIES - 1)
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
    let found = pending(&event);
    let ids: Vec<_> = found.iter().map(|p| p.envelope.id).collect();
    assert_eq!(ids, envelopes.iter().map(|e| e.id).collect::<Vec<_>>());
    assert_eq!(found[1].sequence, format!("{:021}", 3));
    assert_eq!(found[0].detail, envelopes[0].to_json_string());
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
    let response = relay_with(&bus, &event, zeros()).await;
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
    let response = relay_with(&bus, &event, zeros()).await;
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
    let response = relay_with(&bus, &event, zeros()).await;
    // THEN the answer names that event's record, so Lambda resumes there: nothing after it is skipped
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, vec![Some(format!("{:021}", 2 * 11 + 1))]);
    // and it was tried MAX_TRIES times in all
    let tries = bus
        .calls()
        .iter()
        .filter(|c| c.contains(&envelopes[11].id.to_string()))
        .count();
    assert_eq!(tries, MAX_TRIES);
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
    let response = relay_with(&Down, &event, zeros()).await;
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        Some(format!("{:021}", 1))
    );
}
