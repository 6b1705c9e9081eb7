//! The worker runtime's overhead per message, in process: a batch of 10 no-op messages through
//! `Runtime::process` (parse, span, outcome, batch response) against the named baseline "direct": the same
//! 10 bodies parsed and handed to the same no-op handler in a plain loop. Printed with and without a JSON
//! tracing subscriber (Lambda's, writing to a sink here). Run: `cargo bench -p infra --bench runtime`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use chrono::Utc;
use domain::event::{CorrelationId, DomainEvent, Envelope, ErrorOccurred};
use domain::queue::QueuePolicy;
use infra::error::ProcessError;
use infra::runtime::{DeadLetter, Message, QueueOps, Runtime};

struct NoQueue;

#[async_trait::async_trait]
impl QueueOps for NoQueue {
    async fn change_visibility(&self, _: &str, _: Duration) -> Result<(), ProcessError> {
        Ok(())
    }
    async fn dead_letter(&self, _: DeadLetter<'_>) -> Result<(), ProcessError> {
        Ok(())
    }
}

fn batch() -> SqsEvent {
    let mut event = SqsEvent::default();
    for i in 0..10 {
        let envelope = Envelope::new(
            DomainEvent::from(ErrorOccurred {
                queue: "ecobid-dev-notifications".into(),
                message_id: format!("m{i}"),
                error_kind: "transient".into(),
                error_message: "a typical error message of some length".into(),
                event_id: Some(uuid_like(i)),
            }),
            CorrelationId::random(),
            Utc::now(),
        );
        let mut m = SqsMessage::default();
        m.message_id = Some(format!("message-{i}"));
        m.receipt_handle = Some(format!("receipt-{i}"));
        m.body = Some(envelope.to_json_string());
        m.attributes
            .insert("ApproximateReceiveCount".into(), "1".into());
        event.records.push(m);
    }
    event
}

fn uuid_like(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// Median time of one call of `f` over `samples` samples of `per_sample` calls.
fn median(samples: usize, per_sample: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let total: Duration = (0..per_sample).map(|_| f()).sum();
            total / per_sample as u32
        })
        .collect();
    times.sort();
    times[samples / 2]
}

fn measure(rt: &tokio::runtime::Runtime, label: &str) {
    let runtime = Runtime::new(
        NoQueue,
        QueuePolicy::new(5, Duration::from_secs(2), Duration::from_secs(300), 10, 2)
            .expect("policy"),
    );
    let event = batch();
    let handler = |m: Message<Envelope>| async move {
        black_box(&m.body);
        Ok::<(), ProcessError>(())
    };
    let (samples, per_sample) = (21, 2000);
    // Warm up both paths.
    for _ in 0..2000 {
        rt.block_on(runtime.process(event.clone(), handler));
    }
    let direct = median(samples, per_sample, || {
        let e = event.clone();
        let start = Instant::now();
        rt.block_on(async {
            for m in &e.records {
                let body = Envelope::parse(m.body.as_deref().unwrap_or_default()).expect("parses");
                let message = Message {
                    message_id: m.message_id.clone().unwrap_or_default(),
                    receive_count: 1,
                    correlation_id: Some(body.correlation_id.to_string()),
                    body,
                };
                handler(message).await.expect("ok");
            }
        });
        start.elapsed()
    });
    let through_runtime = median(samples, per_sample, || {
        let e = event.clone();
        let start = Instant::now();
        let response = rt.block_on(runtime.process(e, handler));
        let elapsed = start.elapsed();
        assert!(response.batch_item_failures.is_empty());
        elapsed
    });
    let per_message = through_runtime.saturating_sub(direct) / 10;
    println!(
        "{label:<28} direct (baseline): {:>7.1} µs/batch   runtime: {:>7.1} µs/batch   overhead: {:>5.2} µs/message   ratio runtime/direct: {:.2}",
        direct.as_secs_f64() * 1e6,
        through_runtime.as_secs_f64() * 1e6,
        per_message.as_secs_f64() * 1e6,
        through_runtime.as_secs_f64() / direct.as_secs_f64()
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    println!("batch of 10 no-op messages, median of 21 samples x 2000 batches");
    measure(&rt, "no tracing subscriber");
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::sink)
        .finish();
    tracing::subscriber::with_default(subscriber, || measure(&rt, "JSON subscriber (Lambda's)"));
}
