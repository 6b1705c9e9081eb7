//! The SQS adapter of the worker runtime's [`QueueOps`]: backoff through `ChangeMessageVisibility`, dead
//! letters through `SendMessage` to the queue's DLQ with the original body and attributes plus the error's.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsMessageAttribute;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::MessageAttributeValue;
use aws_sdk_sqs::Client;
use chrono::SecondsFormat;
use domain::dead_letter::{
    ERROR_KIND, ERROR_MESSAGE, FAILED_AT, MAX_ATTRIBUTES, MAX_ERROR_MESSAGE_CHARS,
};
use domain::queue::MAX_VISIBILITY;
use tracing::warn;

use crate::error::ProcessError;
use crate::runtime::{DeadLetter, QueueOps};

/// One worker's queue and its DLQ.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    dlq_url: String,
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: impl Into<String>, dlq_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            dlq_url: dlq_url.into(),
        }
    }
}

#[async_trait]
impl QueueOps for SqsQueue {
    async fn change_visibility(
        &self,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<(), ProcessError> {
        let seconds = i32::try_from(timeout.min(MAX_VISIBILITY).as_secs()).unwrap_or(i32::MAX);
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await?;
        Ok(())
    }

    async fn dead_letter(&self, letter: DeadLetter<'_>) -> Result<(), ProcessError> {
        let mut error_message: String = letter
            .error_message
            .chars()
            .take(MAX_ERROR_MESSAGE_CHARS)
            .collect();
        if error_message.is_empty() {
            error_message.push_str("(no message)");
        }
        let error_attributes = [
            (ERROR_KIND, letter.error_kind.as_str().to_owned()),
            (ERROR_MESSAGE, error_message),
            (
                FAILED_AT,
                letter
                    .failed_at
                    .to_rfc3339_opts(SecondsFormat::Millis, true),
            ),
        ];
        // The original attributes, in name order, as many as fit beside the error's three.
        let originals: BTreeMap<&String, &SqsMessageAttribute> = letter
            .message
            .message_attributes
            .iter()
            .filter(|(name, _)| !error_attributes.iter().any(|(e, _)| e == name))
            .collect();
        let room = MAX_ATTRIBUTES - error_attributes.len();
        if originals.len() > room {
            let dropped: Vec<&String> = originals.keys().skip(room).copied().collect();
            warn!(
                ?dropped,
                "dead letter keeps only the first {room} original message attributes"
            );
        }
        let mut attributes = std::collections::HashMap::new();
        for (name, attribute) in originals.into_iter().take(room) {
            attributes.insert(name.clone(), to_sdk_attribute(attribute)?);
        }
        for (name, value) in error_attributes {
            attributes.insert(name.to_owned(), string_attribute(value)?);
        }
        self.client
            .send_message()
            .queue_url(&self.dlq_url)
            .message_body(letter.message.body.clone().unwrap_or_default())
            .set_message_attributes(Some(attributes))
            .send()
            .await?;
        Ok(())
    }
}

fn string_attribute(value: String) -> Result<MessageAttributeValue, ProcessError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| ProcessError::Permanent(Box::new(e)))
}

/// An attribute as Lambda delivered it, back in the shape SendMessage takes.
fn to_sdk_attribute(a: &SqsMessageAttribute) -> Result<MessageAttributeValue, ProcessError> {
    MessageAttributeValue::builder()
        .data_type(a.data_type.clone().unwrap_or_else(|| "String".into()))
        .set_string_value(a.string_value.clone())
        .set_binary_value(a.binary_value.as_ref().map(|b| Blob::new(b.0.clone())))
        .build()
        .map_err(|e| ProcessError::Permanent(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::encodings::Base64Data;
    use aws_lambda_events::event::sqs::SqsMessage;
    use aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityOutput;
    use aws_sdk_sqs::operation::send_message::{SendMessageError, SendMessageOutput};
    use aws_sdk_sqs::types::error::InvalidMessageContents;
    use aws_smithy_mocks::{mock, mock_client};
    use chrono::{TimeZone, Utc};

    use super::*;

    fn attribute(value: &str) -> SqsMessageAttribute {
        let mut a = SqsMessageAttribute::default();
        a.data_type = Some("String".into());
        a.string_value = Some(value.into());
        a
    }

    fn original(attributes: usize) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some("m1".into());
        m.body = Some("{\"version\":\"9\"}".into());
        for i in 0..attributes {
            m.message_attributes
                .insert(format!("a{i}"), attribute(&format!("v{i}")));
        }
        m
    }

    fn letter(message: &SqsMessage) -> DeadLetter<'_> {
        DeadLetter {
            message,
            error_kind: domain::dead_letter::ErrorKind::InvalidMessage,
            error_message: "unknown envelope version \"9\"".into(),
            failed_at: Utc
                .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
                .single()
                .expect("time"),
        }
    }

    #[tokio::test]
    async fn dead_letters_carry_the_original_body_and_attributes_and_the_error() {
        let mut message = original(1);
        let mut binary = SqsMessageAttribute::default();
        binary.data_type = Some("Binary".into());
        // As Lambda delivers it: base64 in the event JSON ("AQID" = [1, 2, 3]).
        binary.binary_value =
            Some(serde_json::from_value::<Base64Data>("AQID".into()).expect("base64"));
        message.message_attributes.insert("bin".into(), binary);
        let rule = mock!(Client::send_message)
            .match_requests(|req| {
                let attrs = req.message_attributes().cloned().unwrap_or_default();
                let s = |k: &str| {
                    attrs
                        .get(k)
                        .and_then(|a| a.string_value().map(str::to_owned))
                };
                req.queue_url() == Some("https://sqs/dlq")
                    && req.message_body() == Some("{\"version\":\"9\"}")
                    && attrs.len() == 5
                    && s("a0").as_deref() == Some("v0")
                    && attrs
                        .get("bin")
                        .and_then(|a| a.binary_value())
                        .map(|b| b.as_ref().to_vec())
                        == Some(vec![1, 2, 3])
                    && s(ERROR_KIND).as_deref() == Some("invalid_message")
                    && s(ERROR_MESSAGE).as_deref() == Some("unknown envelope version \"9\"")
                    && s(FAILED_AT).as_deref() == Some("2026-11-21T10:00:00.000Z")
            })
            .then_output(|| SendMessageOutput::builder().message_id("d1").build());
        let client = mock_client!(aws_sdk_sqs, [&rule]);
        let queue = SqsQueue::new(client, "https://sqs/q", "https://sqs/dlq");
        queue.dead_letter(letter(&message)).await.expect("sent");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn dead_letters_keep_within_the_ten_attribute_limit() {
        let message = original(9);
        let rule = mock!(Client::send_message)
            .match_requests(|req| {
                let attrs = req.message_attributes().cloned().unwrap_or_default();
                let mut names: Vec<&String> = attrs.keys().collect();
                names.sort();
                names
                    == [
                        "a0",
                        "a1",
                        "a2",
                        "a3",
                        "a4",
                        "a5",
                        "a6",
                        ERROR_KIND,
                        ERROR_MESSAGE,
                        FAILED_AT,
                    ]
            })
            .then_output(|| SendMessageOutput::builder().build());
        let client = mock_client!(aws_sdk_sqs, [&rule]);
        SqsQueue::new(client, "https://sqs/q", "https://sqs/dlq")
            .dead_letter(letter(&message))
            .await
            .expect("sent");
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_refused_dead_letter_is_a_permanent_error() {
        let rule = mock!(Client::send_message).then_error(|| {
            SendMessageError::InvalidMessageContents(
                InvalidMessageContents::builder().message("bad").build(),
            )
        });
        let client = mock_client!(aws_sdk_sqs, [&rule]);
        let message = original(0);
        let err = SqsQueue::new(client, "https://sqs/q", "https://sqs/dlq")
            .dead_letter(letter(&message))
            .await
            .unwrap_err();
        assert!(!err.is_retryable(), "{err}");
    }

    #[tokio::test]
    async fn backoff_sets_the_visibility_in_whole_seconds_capped_at_twelve_hours() {
        let rule = mock!(Client::change_message_visibility)
            .match_requests(|req| {
                req.queue_url() == Some("https://sqs/q")
                    && req.receipt_handle() == Some("rh")
                    && req.visibility_timeout() == Some(43_200)
            })
            .then_output(|| ChangeMessageVisibilityOutput::builder().build());
        let client = mock_client!(aws_sdk_sqs, [&rule]);
        let queue = SqsQueue::new(client, "https://sqs/q", "https://sqs/dlq");
        queue
            .change_visibility("rh", Duration::from_secs(100_000))
            .await
            .expect("changed");
        assert_eq!(rule.num_calls(), 1);
    }
}
