//! The runtime against a recording fake queue: exact batch responses for mixed outcomes, backoff on
//! transient failures, dead letters for permanent ones, panics isolated, bounded concurrency.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use aws_lambda_events::event::sqs::SqsMessageAttribute;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use domain::event::{CorrelationId, DomainEvent, ErrorOccurred, ItemExpired};

use super::*;

#[derive(Debug, Clone, PartialEq)]
enum Call {
    Visibility {
        receipt_handle: String,
        seconds: u64,
    },
    DeadLetter {
        message_id: String,
        kind: &'static str,
        error: String,
    },
}

#[derive(Default)]
struct FakeQueue {
    calls: Mutex<Vec<Call>>,
    dead_letters_fail: bool,
}

impl FakeQueue {
    fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("lock").clone()
    }
}

#[async_trait]
impl QueueOps for FakeQueue {
    async fn change_visibility(
        &self,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<(), ProcessError> {
        self.calls.lock().expect("lock").push(Call::Visibility {
            receipt_handle: receipt_handle.into(),
            seconds: timeout.as_secs(),
        });
        Ok(())
    }

    async fn dead_letter(&self, letter: DeadLetter<'_>) -> Result<(), ProcessError> {
        if self.dead_letters_fail {
            return Err(ProcessError::Transient("DLQ unavailable".into()));
        }
        self.calls.lock().expect("lock").push(Call::DeadLetter {
            message_id: letter.message.message_id.clone().unwrap_or_default(),
            kind: letter.error_kind.as_str(),
            error: letter.error_message,
        });
        Ok(())
    }
}

fn policy() -> QueuePolicy {
    QueuePolicy::new(5, Duration::from_secs(2), Duration::from_secs(300), 10, 2).expect("policy")
}

/// An envelope whose item id tells the test handler what to do.
fn envelope_body(action: &str) -> String {
    let event: DomainEvent = ItemExpired {
        item_id: action.into(),
        seller_id: "u1".into(),
    }
    .into();
    Envelope::new(event, CorrelationId::random(), Utc::now()).to_json_string()
}

fn message(id: &str, body: &str, receive_count: u32) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.receipt_handle = Some(format!("rh-{id}"));
    m.body = Some(body.into());
    m.attributes = HashMap::from([(
        "ApproximateReceiveCount".to_owned(),
        receive_count.to_string(),
    )]);
    m
}

fn batch(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = messages;
    e
}

async fn act(m: Message<Envelope>) -> Result<(), ProcessError> {
    let DomainEvent::ItemExpired(e) = m.body.event else {
        return Err(ProcessError::Invalid("unexpected event".into()));
    };
    match e.item_id.as_str() {
        "ok" => Ok(()),
        "transient" => Err(ProcessError::Transient("table throttled".into())),
        "reject" => Err(ProcessError::Rejected("item already sold".into())),
        "panic" => panic!("handler bug"),
        other => Err(ProcessError::Invalid(format!("unknown action {other}"))),
    }
}

fn failed_ids(response: &SqsBatchResponse) -> Vec<String> {
    let mut ids: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn mixed_batch_reports_exactly_the_messages_that_must_come_back() {
    // GIVEN a batch with every kind of outcome
    let runtime = Runtime::new(FakeQueue::default(), policy());
    let event = batch(vec![
        message("m1-ok", &envelope_body("ok"), 1),
        message("m2-garbage", "garbage{", 1),
        message("m3-transient", &envelope_body("transient"), 3),
        message("m4-reject", &envelope_body("reject"), 1),
        message("m5-panic", &envelope_body("panic"), 1),
        message("m6-ok", &envelope_body("ok"), 2),
        message(
            "m7-version",
            &envelope_body("ok").replace("\"version\":\"1\"", "\"version\":\"9\""),
            1,
        ),
    ]);
    // WHEN processed
    let response = runtime.process(event, act).await;
    // THEN only the transient failure and the panic come back
    assert_eq!(failed_ids(&response), ["m3-transient", "m5-panic"]);
    let calls = runtime.queue().calls();
    // AND each of those is hidden for its backoff step (receive 3: [8, 16] s; receive 1: [2, 4] s)
    let visibility: HashMap<String, u64> = calls
        .iter()
        .filter_map(|c| match c {
            Call::Visibility {
                receipt_handle,
                seconds,
            } => Some((receipt_handle.clone(), *seconds)),
            Call::DeadLetter { .. } => None,
        })
        .collect();
    assert_eq!(visibility.len(), 2, "{calls:?}");
    assert!(
        (8..=16).contains(&visibility["rh-m3-transient"]),
        "{visibility:?}"
    );
    assert!(
        (2..=4).contains(&visibility["rh-m5-panic"]),
        "{visibility:?}"
    );
    // AND the permanent ones went to the DLQ with their kind and reason, and are acknowledged
    let mut dead: Vec<(String, &str, String)> = calls
        .into_iter()
        .filter_map(|c| match c {
            Call::DeadLetter {
                message_id,
                kind,
                error,
            } => Some((message_id, kind, error)),
            Call::Visibility { .. } => None,
        })
        .collect();
    dead.sort();
    assert_eq!(dead.len(), 3, "{dead:?}");
    assert_eq!(
        (dead[0].0.as_str(), dead[0].1),
        ("m2-garbage", "invalid_message")
    );
    assert!(
        dead[0].2.starts_with("invalid message: not JSON"),
        "{}",
        dead[0].2
    );
    assert_eq!(
        (dead[1].0.as_str(), dead[1].1, dead[1].2.as_str()),
        ("m4-reject", "rejected", "rejected: item already sold")
    );
    assert_eq!(
        (dead[2].0.as_str(), dead[2].1),
        ("m7-version", "invalid_message")
    );
    assert!(
        dead[2].2.contains("unknown envelope version \"9\""),
        "{}",
        dead[2].2
    );
}

#[tokio::test]
async fn a_batch_that_all_succeeds_reports_nothing_and_touches_nothing() {
    let runtime = Runtime::new(FakeQueue::default(), policy());
    let event = batch(
        (0..10)
            .map(|i| message(&format!("m{i}"), &envelope_body("ok"), 1))
            .collect(),
    );
    let response = runtime.process(event, act).await;
    assert!(response.batch_item_failures.is_empty());
    assert!(runtime.queue().calls().is_empty());
}

#[tokio::test]
async fn a_permanent_failure_whose_dead_letter_cannot_be_sent_is_kept() {
    // Nothing is acknowledged before its effect is durable: no DLQ copy, no ack.
    let runtime = Runtime::new(
        FakeQueue {
            dead_letters_fail: true,
            ..FakeQueue::default()
        },
        policy(),
    );
    let response = runtime
        .process(
            batch(vec![
                message("m1", "garbage{", 1),
                message("m2", &envelope_body("ok"), 1),
            ]),
            act,
        )
        .await;
    assert_eq!(failed_ids(&response), ["m1"]);
}

/// Records the events it is given.
#[derive(Default)]
struct FakeSink {
    events: Mutex<Vec<Envelope>>,
    fail: bool,
}

#[async_trait]
impl EventSink for FakeSink {
    async fn record(&self, envelope: &Envelope) -> Result<(), ProcessError> {
        if self.fail {
            return Err(ProcessError::Transient("table throttled".into()));
        }
        self.events.lock().expect("lock").push(envelope.clone());
        Ok(())
    }
}

#[tokio::test]
async fn each_dead_letter_records_an_error_occurred_event_with_the_message_correlation() {
    // GIVEN a batch with a rejected envelope, garbage and a success
    let sink = std::sync::Arc::new(FakeSink::default());
    let runtime = Runtime::new(FakeQueue::default(), policy())
        .with_error_events(sink.clone(), "ecobid-dev-expiries");
    let rejected = envelope_body("reject");
    let rejected_envelope = Envelope::parse(&rejected).expect("envelope");
    let response = runtime
        .process(
            batch(vec![
                message("m1", &rejected, 1),
                message("m2", "garbage{", 1),
                message("m3", &envelope_body("ok"), 1),
                message("m4", &envelope_body("transient"), 1),
            ]),
            act,
        )
        .await;
    // THEN only the transient one comes back, and each dead letter has its ErrorOccurred
    assert_eq!(failed_ids(&response), ["m4"]);
    let mut events: Vec<ErrorOccurred> = sink
        .events
        .lock()
        .expect("lock")
        .iter()
        .map(|e| match &e.event {
            DomainEvent::ErrorOccurred(x) => {
                if x.message_id == "m1" {
                    assert_eq!(e.correlation_id, rejected_envelope.correlation_id);
                }
                x.clone()
            }
            other => panic!("not ErrorOccurred: {other:?}"),
        })
        .collect();
    events.sort_by(|a, b| a.message_id.cmp(&b.message_id));
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].queue, "ecobid-dev-expiries");
    assert_eq!(events[0].error_kind, "rejected");
    assert_eq!(events[0].event_id, Some(rejected_envelope.id.to_string()));
    assert_eq!(events[1].message_id, "m2");
    assert_eq!(events[1].error_kind, "invalid_message");
    assert_eq!(events[1].event_id, None);
}

#[tokio::test]
async fn a_failed_error_event_does_not_bring_the_dead_letter_back() {
    // The message is safe in the DLQ: recording the event failing must not redeliver it (a second dead letter).
    let sink = std::sync::Arc::new(FakeSink {
        fail: true,
        ..FakeSink::default()
    });
    let runtime = Runtime::new(FakeQueue::default(), policy()).with_error_events(sink, "q");
    let response = runtime
        .process(batch(vec![message("m1", "garbage{", 1)]), act)
        .await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(runtime.queue().calls().len(), 1, "one dead letter");
}

#[tokio::test]
async fn messages_run_concurrently_up_to_the_bound() {
    let in_flight = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    let runtime = Runtime::new(FakeQueue::default(), policy()).with_concurrency(3);
    let event = batch(
        (0..10)
            .map(|i| message(&format!("m{i}"), &envelope_body("ok"), 1))
            .collect(),
    );
    let response = runtime
        .process(event, |_m: Message<Envelope>| async {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(())
        })
        .await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        peak.load(Ordering::SeqCst),
        3,
        "at most 3 at once, and 3 were reached"
    );
}

/// A body without ids of its own (e.g. an S3 notification): the correlation id comes from the attribute.
struct Plain(String);

impl Body for Plain {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(Plain(text.to_owned()))
    }
}

#[tokio::test]
async fn the_correlation_id_comes_from_the_body_or_else_the_message_attribute() {
    let runtime = Runtime::new(FakeQueue::default(), policy());
    let mut with_attribute = message("m1", "hello", 1);
    let mut attribute = SqsMessageAttribute::default();
    attribute.string_value = Some("c-123".into());
    attribute.data_type = Some("String".into());
    with_attribute
        .message_attributes
        .insert(CORRELATION_ATTRIBUTE.into(), attribute);
    let seen = Mutex::new(Vec::new());
    runtime
        .process(
            batch(vec![with_attribute, message("m2", "bye", 1)]),
            |m: Message<Plain>| {
                seen.lock()
                    .expect("lock")
                    .push((m.body.0, m.correlation_id));
                async { Ok(()) }
            },
        )
        .await;
    let mut seen = seen.into_inner().expect("lock");
    seen.sort();
    assert_eq!(
        seen,
        [
            ("bye".to_owned(), None),
            ("hello".to_owned(), Some("c-123".to_owned()))
        ]
    );

    let correlation = CorrelationId::random();
    let body = Envelope::new(
        ItemExpired {
            item_id: "ok".into(),
            seller_id: "u".into(),
        }
        .into(),
        correlation,
        Utc::now(),
    );
    let got = Mutex::new(None);
    runtime
        .process(
            batch(vec![message("m3", &body.to_json_string(), 1)]),
            |m: Message<Envelope>| {
                *got.lock().expect("lock") = m.correlation_id;
                async { Ok(()) }
            },
        )
        .await;
    assert_eq!(
        got.into_inner().expect("lock"),
        Some(correlation.to_string())
    );
}

#[test]
fn sdk_errors_become_transient_or_permanent() {
    use aws_sdk_sqs::operation::send_message::SendMessageError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    let service = |code: &str| {
        let err = SendMessageError::generic(ErrorMetadata::builder().code(code).build());
        let raw = HttpResponse::new(StatusCode::try_from(400).expect("status"), SdkBody::empty());
        ProcessError::from(SdkError::service_error(err, raw))
    };
    assert!(service("ThrottlingException").is_retryable());
    let permanent = service("InvalidParameterValue");
    assert!(!permanent.is_retryable());
    assert_eq!(permanent.kind().as_str(), "permanent");
}

#[test]
fn a_dead_letter_s_message_names_the_cause_not_just_the_kind() {
    // GIVEN an SDK error, whose own text is only "service error"
    let err = aws_sdk_sqs::operation::send_message::SendMessageError::generic(
        aws_smithy_types::error::ErrorMetadata::builder()
            .code("NoSuchBucket")
            .message("The specified bucket does not exist")
            .build(),
    );
    let raw = HttpResponse::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(404).expect("status"),
        aws_smithy_types::body::SdkBody::empty(),
    );
    let e = ProcessError::from(SdkError::service_error(err, raw));
    // THEN the description carries the code and message of its cause
    let text = e.describe();
    assert!(text.starts_with("permanent: service error"), "{text}");
    assert!(text.contains("NoSuchBucket"), "{text}");
    assert!(text.contains("does not exist"), "{text}");
    assert_eq!(
        ProcessError::Rejected("no".into()).describe(),
        "rejected: no"
    );
}

/// Processes `event` with a recorder of its own (the test's runtime is single-threaded): counter name ->
/// total, and how many durations were recorded.
async fn recorded(runtime: &Runtime<FakeQueue>, event: SqsEvent) -> (HashMap<String, u64>, usize) {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _guard = metrics::set_default_local_recorder(&recorder);
    runtime.process(event, act).await;
    let mut counters = HashMap::new();
    let mut durations = 0;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        match value {
            DebugValue::Counter(n) => {
                *counters.entry(key.key().name().to_owned()).or_insert(0) += n;
            }
            DebugValue::Histogram(values)
                if key.key().name() == crate::metrics::worker::DURATION =>
            {
                durations += values.len();
            }
            other => panic!("unexpected metric {key:?}: {other:?}"),
        }
    }
    (counters, durations)
}

#[tokio::test]
async fn every_message_is_counted_by_outcome_and_timed() {
    use crate::metrics::worker;
    // GIVEN a batch with two messages of each outcome
    let runtime = Runtime::new(FakeQueue::default(), policy());
    let event = batch(vec![
        message("m1", &envelope_body("ok"), 1),
        message("m2", &envelope_body("ok"), 1),
        message("m3", &envelope_body("transient"), 1),
        message("m4", &envelope_body("panic"), 1),
        message("m5", &envelope_body("reject"), 1),
        message("m6", "garbage{", 1),
    ]);
    // WHEN processed
    let (counters, durations) = recorded(&runtime, event).await;
    // THEN each outcome is counted once per message, and each message is timed
    assert_eq!(counters.get(worker::PROCESSED), Some(&2), "{counters:?}");
    assert_eq!(
        counters.get(worker::FAILED_TRANSIENT),
        Some(&2),
        "{counters:?}"
    );
    assert_eq!(
        counters.get(worker::FAILED_PERMANENT),
        Some(&2),
        "{counters:?}"
    );
    assert_eq!(
        counters.get(worker::DEAD_LETTERED),
        Some(&2),
        "{counters:?}"
    );
    assert_eq!(durations, 6);
}

#[tokio::test]
async fn a_permanent_failure_kept_for_want_of_a_dlq_is_not_counted_as_dead_lettered() {
    use crate::metrics::worker;
    let runtime = Runtime::new(
        FakeQueue {
            dead_letters_fail: true,
            ..FakeQueue::default()
        },
        policy(),
    );
    let (counters, _) = recorded(&runtime, batch(vec![message("m1", "garbage{", 1)])).await;
    assert_eq!(
        counters.get(worker::FAILED_PERMANENT),
        Some(&1),
        "{counters:?}"
    );
    assert_eq!(counters.get(worker::DEAD_LETTERED), None, "{counters:?}");
}

#[tokio::test]
async fn a_failure_that_knows_when_to_retry_waits_at_least_that_long_within_sqs_s_maximum() {
    let runtime = Runtime::new(FakeQueue::default(), policy());
    for (i, after) in [(0, 100), (1, 100_000)] {
        let event = batch(vec![message(&format!("m{i}"), &envelope_body("ok"), 1)]);
        let response = runtime
            .process(event, |_: Message<Envelope>| async move {
                Err(ProcessError::Later {
                    after: Duration::from_secs(after),
                    reason: "held".into(),
                })
            })
            .await;
        assert_eq!(failed_ids(&response), [format!("m{i}")]);
    }
    let seconds: Vec<u64> = runtime
        .queue()
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            Call::Visibility { seconds, .. } => Some(seconds),
            _ => None,
        })
        .collect();
    // The first receive's own backoff is a few seconds: the wait asked for wins, capped at 12 h.
    assert_eq!(seconds, [100, 43_200]);
}

#[tokio::test]
async fn a_transient_failure_on_the_last_receive_is_dead_lettered_with_its_error_and_reported() {
    // GIVEN a queue allowing 5 receives, a message failing transiently on its 4th and another on its 5th
    let sink = std::sync::Arc::new(FakeSink::default());
    let runtime = Runtime::new(FakeQueue::default(), policy())
        .with_error_events(sink.clone(), "ecobid-prod-notifications");
    let last = envelope_body("transient");
    let response = runtime
        .process(
            batch(vec![
                message("m4", &envelope_body("transient"), 4),
                message("m5", &last, 5),
            ]),
            act,
        )
        .await;
    // THEN the 4th receive is hidden for its backoff and comes back; the 5th goes to the DLQ now, naming the
    // receives and the last error, is acknowledged, and records ErrorOccurred with the same text
    assert_eq!(failed_ids(&response), ["m4"]);
    let calls = runtime.queue().calls();
    assert!(
        matches!(&calls[..], [Call::Visibility { receipt_handle, .. }, Call::DeadLetter { .. }] | [Call::DeadLetter { .. }, Call::Visibility { receipt_handle, .. }] if receipt_handle == "rh-m4"),
        "{calls:?}"
    );
    let letter = calls
        .iter()
        .find_map(|c| match c {
            Call::DeadLetter {
                message_id,
                kind,
                error,
            } => Some((message_id.clone(), *kind, error.clone())),
            Call::Visibility { .. } => None,
        })
        .expect("a dead letter");
    assert_eq!((letter.0.as_str(), letter.1), ("m5", "transient"));
    assert_eq!(
        letter.2,
        "failed on all 5 receives, the last with: transient: table throttled"
    );
    let events = sink.events.lock().expect("lock").clone();
    assert_eq!(events.len(), 1);
    let DomainEvent::ErrorOccurred(e) = &events[0].event else {
        panic!("not ErrorOccurred: {:?}", events[0].event)
    };
    assert_eq!(
        (
            e.message_id.as_str(),
            e.error_kind.as_str(),
            &e.error_message
        ),
        ("m5", "transient", &letter.2)
    );
    assert_eq!(
        events[0].correlation_id,
        Envelope::parse(&last).expect("envelope").correlation_id
    );
}
