//! The notifications worker's adapters: SNS for delivery ([`SnsPublisher`]) and the table for the at-most-once
//! claims of (event, recipient, channel) ([`DynamoClaims`]).
//!
//! Delivery: every notice goes to the email topic (message attributes `recipientId`, `eventType`, `channel`
//! let subscriptions filter) with `PublishBatch`, 10 entries a request; push goes to each of the recipient's
//! device endpoints (`Publish` with `TargetArn`: batches take topics only), or, for a recipient without
//! endpoints, to the push topic in batches like email.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use chrono::{DateTime, Utc};
use domain::notify::Notice;
use serde_json::json;
use tracing::{instrument, warn};

use crate::error::ProcessError;

/// A delivery channel, and the claim and NotificationSent it gets.
pub const PUSH: &str = "push";
pub const EMAIL: &str = "email";

/// One notice to deliver on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub notice: Notice,
    pub channel: &'static str,
    /// The recipient's device endpoints (push only; empty: through the push topic).
    pub endpoints: Vec<String>,
    pub event_id: String,
    pub correlation_id: String,
}

/// Publishes deliveries; answers, for each one in order, whether it was delivered.
#[async_trait]
pub trait Publish: Send + Sync {
    async fn publish(&self, deliveries: &[Delivery]) -> Vec<Result<(), String>>;
}

/// What a claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimState {
    /// Ours now: deliver it.
    Claimed,
    /// Another delivery of the event claimed it and may have sent it: never send again.
    Sending,
    /// Sent and recorded.
    Sent,
}

/// At-most-once claims of (event, recipient, channel).
#[async_trait]
pub trait Claims: Send + Sync {
    async fn claim(
        &self,
        event_id: &str,
        recipient: &str,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<ClaimState, ProcessError>;
    async fn mark_sent(
        &self,
        event_id: &str,
        recipient: &str,
        channel: &str,
    ) -> Result<(), ProcessError>;
    /// Gives a claim back after a delivery that certainly failed, so a retry sends it.
    async fn release(
        &self,
        event_id: &str,
        recipient: &str,
        channel: &str,
    ) -> Result<(), ProcessError>;
}

#[derive(Debug, Clone)]
pub struct SnsPublisher {
    client: aws_sdk_sns::Client,
    push_topic: String,
    email_topic: String,
}

impl SnsPublisher {
    pub fn new(
        client: aws_sdk_sns::Client,
        push_topic: impl Into<String>,
        email_topic: impl Into<String>,
    ) -> Self {
        Self {
            client,
            push_topic: push_topic.into(),
            email_topic: email_topic.into(),
        }
    }

    fn body(d: &Delivery) -> String {
        json!({
            "recipientId": d.notice.recipient_id,
            "eventId": d.event_id,
            "eventType": d.notice.event_type,
            "channel": d.channel,
            "correlationId": d.correlation_id,
            "subject": d.notice.subject,
            "text": d.notice.text,
        })
        .to_string()
    }

    fn attributes(d: &Delivery) -> HashMap<String, MessageAttributeValue> {
        let string = |v: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .ok()
        };
        [
            ("recipientId", d.notice.recipient_id.as_str()),
            ("eventType", d.notice.event_type),
            ("channel", d.channel),
            ("correlationId", d.correlation_id.as_str()),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_owned(), string(v)?)))
        .collect()
    }

    /// Publishes `indexes` of `deliveries` to `topic`, 10 a request; records each one's result.
    async fn batch(
        &self,
        topic: &str,
        deliveries: &[Delivery],
        indexes: &[usize],
        results: &mut [Result<(), String>],
    ) {
        for chunk in indexes.chunks(10) {
            let entries: Result<Vec<_>, _> = chunk
                .iter()
                .map(|&i| {
                    PublishBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message(Self::body(&deliveries[i]))
                        .subject(&deliveries[i].notice.subject)
                        .set_message_attributes(Some(Self::attributes(&deliveries[i])))
                        .build()
                })
                .collect();
            let sent = match entries {
                Ok(entries) => self
                    .client
                    .publish_batch()
                    .topic_arn(topic)
                    .set_publish_batch_request_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "PublishBatch: {}",
                            aws_smithy_types::error::display::DisplayErrorContext(&e)
                        )
                    }),
                Err(e) => Err(e.to_string()),
            };
            match sent {
                Ok(out) => {
                    for ok in out.successful.unwrap_or_default() {
                        if let Some(i) = ok.id.and_then(|id| id.parse::<usize>().ok()) {
                            results[i] = Ok(());
                        }
                    }
                    for failed in out.failed.unwrap_or_default() {
                        if let Ok(i) = failed.id.parse::<usize>() {
                            results[i] = Err(format!(
                                "{}: {}",
                                failed.code,
                                failed.message.unwrap_or_default()
                            ));
                        }
                    }
                }
                Err(e) => {
                    for &i in chunk {
                        results[i] = Err(e.clone());
                    }
                }
            }
        }
    }
}

#[async_trait]
impl Publish for SnsPublisher {
    #[instrument(skip_all, fields(deliveries = deliveries.len()))]
    async fn publish(&self, deliveries: &[Delivery]) -> Vec<Result<(), String>> {
        let mut results: Vec<Result<(), String>> =
            vec![Err("not published".to_owned()); deliveries.len()];
        let (mut email, mut push_topic) = (vec![], vec![]);
        for (i, d) in deliveries.iter().enumerate() {
            if d.channel == EMAIL {
                email.push(i);
            } else if d.endpoints.is_empty() {
                push_topic.push(i);
            } else {
                let mut outcome = Ok(());
                for endpoint in &d.endpoints {
                    if let Err(e) = self
                        .client
                        .publish()
                        .target_arn(endpoint)
                        .message(&d.notice.text)
                        .send()
                        .await
                    {
                        // A disabled or deleted endpoint must not hold back the rest.
                        warn!(error.message = %aws_smithy_types::error::display::DisplayErrorContext(&e), "push to an endpoint failed");
                        outcome = Err(format!("push endpoint: {e}"));
                    }
                }
                results[i] = outcome;
            }
        }
        self.batch(&self.email_topic, deliveries, &email, &mut results)
            .await;
        self.batch(&self.push_topic, deliveries, &push_topic, &mut results)
            .await;
        results
    }
}

/// Claims in the table: `PK = NOTIFY#<eventId>#<recipient>#<channel>`, `SK = NOTIFY`, status SENDING then
/// SENT, kept 7 days (TTL).
#[derive(Debug, Clone)]
pub struct DynamoClaims {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

const KEEP_CLAIMS_SECS: i64 = 7 * 24 * 3600;

impl DynamoClaims {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn key(event_id: &str, recipient: &str, channel: &str) -> HashMap<String, AttributeValue> {
        HashMap::from([
            (
                "PK".to_owned(),
                AttributeValue::S(format!("NOTIFY#{event_id}#{recipient}#{channel}")),
            ),
            ("SK".to_owned(), AttributeValue::S("NOTIFY".to_owned())),
        ])
    }
}

#[async_trait]
impl Claims for DynamoClaims {
    async fn claim(
        &self,
        event_id: &str,
        recipient: &str,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<ClaimState, ProcessError> {
        let mut item = Self::key(event_id, recipient, channel);
        item.insert("status".into(), AttributeValue::S("SENDING".into()));
        item.insert(
            "ttl".into(),
            AttributeValue::N((now.timestamp() + KEEP_CLAIMS_SECS).to_string()),
        );
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match put {
            Ok(_) => Ok(ClaimState::Claimed),
            Err(e) => match e.as_service_error() {
                Some(
                    aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c),
                ) => {
                    let sent = c
                        .item()
                        .and_then(|i| i.get("status"))
                        .and_then(|s| s.as_s().ok())
                        .is_some_and(|s| s == "SENT");
                    Ok(if sent {
                        ClaimState::Sent
                    } else {
                        ClaimState::Sending
                    })
                }
                _ => Err(e.into()),
            },
        }
    }

    async fn mark_sent(
        &self,
        event_id: &str,
        recipient: &str,
        channel: &str,
    ) -> Result<(), ProcessError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(event_id, recipient, channel)))
            .update_expression("SET #s = :sent")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":sent", AttributeValue::S("SENT".into()))
            .send()
            .await?;
        Ok(())
    }

    async fn release(
        &self,
        event_id: &str,
        recipient: &str,
        channel: &str,
    ) -> Result<(), ProcessError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(event_id, recipient, channel)))
            .send()
            .await?;
        Ok(())
    }
}
