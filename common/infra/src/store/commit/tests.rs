//! The commit's outcomes over a mocked DynamoDB client: one TransactWriteItems per change (its writes with
//! their conditions, its events as outbox items), and each way it can fail answered as the use-cases need.

use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_sdk_dynamodb::types::CancellationReason;
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, mock_client, Rule};
use chrono::{TimeZone, Utc};
use domain::event::{CorrelationId, Envelope, ItemDeleted};
use domain::item::{Category, Item};
use domain::store::{Change, Expect, Store, StoreError, Write};

use super::super::DynamoStore;

/// An error response the way DynamoDB sends one.
fn dynamodb_error(
    status: u16,
    code: &str,
    message: &str,
) -> aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    let body = serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"),
        "message": message,
    });
    let mut response = aws_smithy_runtime_api::client::orchestrator::HttpResponse::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(status).expect("status"),
        aws_smithy_types::body::SdkBody::from(body.to_string()),
    );
    response
        .headers_mut()
        .insert("content-type", "application/x-amz-json-1.0");
    response
}

fn item() -> Item {
    let at = Utc
        .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
        .single()
        .expect("time");
    domain::fixtures::listing(
        "00000000-0000-0000-0000-000000000001",
        "Oak table",
        Category::Furniture,
        at,
    )
}

fn change(expect: Expect) -> Change {
    let event = Envelope::new(
        ItemDeleted {
            item_id: "i".into(),
            seller_id: "seller".into(),
        }
        .into(),
        CorrelationId::random(),
        Utc::now(),
    );
    Change {
        writes: vec![Write::Item(item(), expect)],
        events: vec![event],
    }
}

async fn commit(rule: &Rule, expect: Expect) -> Result<(), StoreError> {
    let client = mock_client!(aws_sdk_dynamodb, [rule]);
    DynamoStore::new(client, "t").commit(change(expect)).await
}

#[tokio::test]
async fn a_change_is_one_transaction_of_its_conditional_writes_and_its_outbox_items() {
    let rule = mock!(Client::transact_write_items)
        .match_requests(|req| {
            let items = req.transact_items();
            let put = |i: usize| items.get(i).and_then(|t| t.put());
            let item = put(0).expect("the item's put");
            let event = put(1).expect("the event's put");
            items.len() == 2
                && item.condition_expression() == Some("#v = :v")
                && item.expression_attribute_values().and_then(|v| v.get(":v"))
                    == Some(&aws_sdk_dynamodb::types::AttributeValue::N("3".into()))
                && item.item().get("version")
                    == Some(&aws_sdk_dynamodb::types::AttributeValue::N("4".into()))
                && item.item().contains_key("GSI1PK")
                && event.condition_expression() == Some("attribute_not_exists(PK)")
                && event.item()["PK"]
                    .as_s()
                    .is_ok_and(|pk| pk.starts_with("EVENT#"))
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    assert_eq!(commit(&rule, Expect::Version(3)).await, Ok(()));
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_failed_condition_is_condition_failed_so_the_use_case_decides_again() {
    for code in ["ConditionalCheckFailed", "TransactionConflict"] {
        let rule = mock!(Client::transact_write_items).then_error(move || {
            TransactWriteItemsError::TransactionCanceledException(
                TransactionCanceledException::builder()
                    .cancellation_reasons(CancellationReason::builder().code(code).build())
                    .cancellation_reasons(CancellationReason::builder().code("None").build())
                    .build(),
            )
        });
        assert_eq!(
            commit(&rule, Expect::New).await,
            Err(StoreError::ConditionFailed),
            "{code}"
        );
    }
}

#[tokio::test]
async fn throttling_is_throttled() {
    // As DynamoDB answers it: a 400 naming the error in `__type`.
    let rule = mock!(Client::transact_write_items).then_http_response(|| {
        dynamodb_error(400, "ProvisionedThroughputExceededException", "slow down")
    });
    assert_eq!(commit(&rule, Expect::New).await, Err(StoreError::Throttled));
}

#[tokio::test]
async fn a_service_failure_is_unavailable_and_transient_with_its_cause() {
    let rule = mock!(Client::transact_write_items)
        .then_http_response(|| dynamodb_error(500, "InternalServerError", "the table is unwell"));
    let err = commit(&rule, Expect::New).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(
        matches!(&err, StoreError::Unavailable { detail, .. } if detail.contains("the table is unwell")),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_transaction_cancelled_for_another_reason_is_not_a_condition() {
    let rule = mock!(Client::transact_write_items).then_error(|| {
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .cancellation_reasons(
                    CancellationReason::builder()
                        .code("ValidationError")
                        .message("item too large")
                        .build(),
                )
                .build(),
        )
    });
    let err = commit(&rule, Expect::New).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
}
