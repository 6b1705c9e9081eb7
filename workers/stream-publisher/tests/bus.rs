//! The EventBridge adapter against the SDK's mock client: what it sends and how it reads refusals.

use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_sdk_eventbridge::Client;
use aws_smithy_mocks::{mock, mock_client};
use chrono::{TimeZone, Utc};
use domain::event::{CorrelationId, DomainEvent, Envelope, ErrorOccurred};
use stream_publisher::{Bus, EventBridgeBus, Pending};

fn pending(n: usize) -> Pending {
    let envelope = Envelope::new(
        DomainEvent::from(ErrorOccurred {
            queue: "q".into(),
            message_id: format!("m{n}"),
            error_kind: "invalid_message".into(),
            error_message: "bad".into(),
            event_id: None,
        }),
        CorrelationId::random(),
        Utc.timestamp_opt(1_795_000_000, 0).single().expect("time"),
    );
    Pending {
        sequence: n.to_string(),
        detail: envelope.to_json_string(),
        envelope,
    }
}

#[tokio::test]
async fn puts_source_type_and_envelope_on_the_bus_and_reads_refused_entries() {
    let put = mock!(Client::put_events)
        .match_requests(|r| {
            let e = &r.entries()[0];
            r.entries().len() == 2
                && e.event_bus_name() == Some("ecobid-dev-bus")
                && e.source() == Some("ecobid.system")
                && e.detail_type() == Some("ErrorOccurred")
                && e.detail().is_some_and(|d| d.contains("\"version\":\"1\""))
        })
        .then_output(|| {
            PutEventsOutput::builder()
                .failed_entry_count(1)
                .entries(PutEventsResultEntry::builder().event_id("1").build())
                .entries(
                    PutEventsResultEntry::builder()
                        .error_code("ThrottlingException")
                        .error_message("slow down")
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_eventbridge, [&put]);
    let bus = EventBridgeBus::new(client, "ecobid-dev-bus");
    let results = bus.put(&[pending(1), pending(2)]).await.expect("call");
    assert_eq!(
        results,
        vec![None, Some("ThrottlingException: slow down".to_owned())]
    );
    assert_eq!(put.num_calls(), 1);
}
