use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::types::error::{
    ConditionalCheckFailedException, ProvisionedThroughputExceededException,
};
use aws_smithy_mocks::{mock, mock_client};
use chrono::TimeZone;
use domain::event::{CorrelationId, DomainEvent, ErrorOccurred};

use super::*;

fn envelope() -> Envelope {
    let at = Utc.timestamp_opt(1_795_000_000, 0).single().expect("time");
    Envelope::new(
        DomainEvent::from(ErrorOccurred {
            queue: "ecobid-dev-images".into(),
            message_id: "m1".into(),
            error_kind: "invalid_message".into(),
            error_message: "not JSON".into(),
            event_id: None,
        }),
        CorrelationId::random(),
        at,
    )
}

#[test]
fn the_item_holds_the_envelope_under_its_event_key_with_a_ttl() {
    // GIVEN an event WHEN its outbox item is built
    let e = envelope();
    let now = e.time;
    let item = item(&e, now);
    // THEN the keys name the event, the envelope round-trips and the TTL is two days on
    assert_eq!(item["PK"].as_s().ok(), Some(&format!("EVENT#{}", e.id)));
    assert_eq!(item["SK"].as_s().ok().map(String::as_str), Some("EVENT"));
    assert_eq!(
        item["type"].as_s().ok().map(String::as_str),
        Some("ErrorOccurred")
    );
    let text = item[ENVELOPE_ATTRIBUTE].as_s().expect("envelope text");
    assert_eq!(Envelope::parse(text).expect("parses"), e);
    let ttl: i64 = item["ttl"].as_n().expect("ttl").parse().expect("number");
    assert_eq!(ttl, now.timestamp() + 2 * 24 * 3600);
}

#[test]
fn the_transaction_write_is_conditional_on_a_new_event() {
    let e = envelope();
    let write = transact_put("table", &e, e.time).expect("builds");
    let put = write.put().expect("a put");
    assert_eq!(put.table_name(), "table");
    assert_eq!(put.condition_expression(), Some("attribute_not_exists(PK)"));
}

#[tokio::test]
async fn writing_an_event_twice_counts_as_done() {
    let refused = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder().build(),
        )
    });
    let client = mock_client!(aws_sdk_dynamodb, [&refused]);
    Outbox::new(client, "t")
        .put(&envelope())
        .await
        .expect("already written is fine");
    assert_eq!(refused.num_calls(), 1);
}

#[tokio::test]
async fn a_throttled_write_is_transient_and_a_success_is_done() {
    let throttled = mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        PutItemError::ProvisionedThroughputExceededException(
            ProvisionedThroughputExceededException::builder()
                .meta(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("ProvisionedThroughputExceededException")
                        .build(),
                )
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_dynamodb, [&throttled]);
    let err = Outbox::new(client, "t")
        .put(&envelope())
        .await
        .expect_err("throttled");
    assert!(err.is_retryable(), "{err}");

    let ok = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| r.condition_expression() == Some("attribute_not_exists(PK)"))
        .then_output(|| PutItemOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, [&ok]);
    Outbox::new(client, "t")
        .put(&envelope())
        .await
        .expect("written");
    assert_eq!(ok.num_calls(), 1);
}
