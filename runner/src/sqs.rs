//! An SQS event-source mapping, played as Lambda plays it: pollers (the mapping's maximum concurrency) long-poll
//! the queue for up to the batch size within the batching window, invoke the function with the `SqsEvent`
//! Lambda builds, delete what succeeded and leave the rest to come back after their visibility timeout. With
//! `ReportBatchItemFailures`, the answer's `batchItemFailures` name the failures; an invocation error, a
//! timeout or an answer naming unknown ids fails the whole batch.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message, MessageSystemAttributeName};
use aws_sdk_sqs::Client;
use base64::Engine;
use serde_json::{json, Map, Value};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::discover::SqsMapping;
use crate::function::Function;

pub fn play(mapping: SqsMapping, function: Function, sqs: Client, tasks: &mut JoinSet<()>) {
    for _ in 0..mapping.concurrency {
        let (mapping, function, sqs) = (mapping.clone(), function.clone(), sqs.clone());
        tasks.spawn(async move { poll(mapping, function, sqs).await });
    }
}

/// `arn:aws:sqs:<region>:<account>:<name>` → (region, account, name).
pub fn queue_of_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.split(':').skip(3);
    Some((parts.next()?, parts.next()?, parts.next()?))
}

/// The URL of the queue with this ARN.
pub(crate) async fn queue_url(sqs: &Client, arn: &str) -> Option<String> {
    let (_, account, name) = queue_of_arn(arn)?;
    sqs.get_queue_url()
        .queue_name(name)
        .queue_owner_aws_account_id(account)
        .send()
        .await
        .ok()?
        .queue_url()
        .map(str::to_owned)
}

async fn poll(mapping: SqsMapping, function: Function, sqs: Client) {
    let url = loop {
        match queue_url(&sqs, &mapping.queue_arn).await {
            Some(url) => break url,
            None => {
                warn!(queue = %mapping.queue_arn, "queue of the mapping not found; retrying");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    };
    loop {
        let batch = match receive(&sqs, &url, &mapping).await {
            Ok(batch) => batch,
            Err(e) => {
                warn!(queue = %mapping.queue_arn, error.message = %e, "receive failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if batch.is_empty() {
            continue;
        }
        let event = json!({
            "Records": batch.iter().map(|m| record(m, &mapping.queue_arn)).collect::<Vec<_>>()
        });
        let started = Instant::now();
        let outcome = function.invoke(&event).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let all: Vec<&str> = batch.iter().filter_map(|m| m.message_id()).collect();
        let (failed, error): (HashSet<String>, Option<String>) = match &outcome {
            Err(e) => (
                all.iter().map(|s| (*s).to_owned()).collect(),
                Some(e.to_string()),
            ),
            Ok(answer) if mapping.report_failures => match failures(answer, &all) {
                Ok(f) => (f, None),
                Err(why) => (all.iter().map(|s| (*s).to_owned()).collect(), Some(why)),
            },
            Ok(_) => (HashSet::new(), None),
        };
        info!(
            function = function.name(),
            source = %mapping.queue_arn,
            batch_size = batch.len(),
            duration_ms,
            failures = failed.len(),
            error = error.as_deref().unwrap_or(""),
            "invoked"
        );
        let done: Vec<&Message> = batch
            .iter()
            .filter(|m| !m.message_id().is_some_and(|id| failed.contains(id)))
            .collect();
        delete(&sqs, &url, &done).await;
    }
}

async fn receive(
    sqs: &Client,
    url: &str,
    mapping: &SqsMapping,
) -> Result<Vec<Message>, aws_sdk_sqs::Error> {
    // The window runs from the first message received, not from the (long-polling) first receive.
    let mut window_ends: Option<Instant> = None;
    let mut batch: Vec<Message> = Vec::new();
    loop {
        let want = (mapping.batch_size - batch.len()).min(10) as i32;
        let wait = if batch.is_empty() { 5 } else { 0 };
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(want)
            .wait_time_seconds(wait)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await?;
        let got = received.messages().len();
        batch.extend(received.messages().iter().cloned());
        if batch.is_empty() {
            return Ok(batch);
        }
        let ends = *window_ends.get_or_insert_with(|| Instant::now() + mapping.window);
        if batch.len() >= mapping.batch_size || Instant::now() >= ends {
            return Ok(batch);
        }
        if got == 0 && !batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The ids the answer reports failed; an error when the answer is not a valid batch response.
pub fn failures(answer: &Value, batch: &[&str]) -> Result<HashSet<String>, String> {
    let items = match answer {
        Value::Null => return Ok(HashSet::new()),
        Value::Object(o) => match o.get("batchItemFailures") {
            None | Some(Value::Null) => return Ok(HashSet::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err("batchItemFailures is not a list".into()),
        },
        _ => return Ok(HashSet::new()),
    };
    items
        .iter()
        .map(|item| match item["itemIdentifier"].as_str() {
            Some(id) if batch.contains(&id) => Ok(id.to_owned()),
            Some(id) => Err(format!("batchItemFailures names {id:?}, not in the batch")),
            None => Err("a batchItemFailures entry has no itemIdentifier".into()),
        })
        .collect()
}

async fn delete(sqs: &Client, url: &str, done: &[&Message]) {
    for chunk in done.chunks(10) {
        let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle()?)
                    .build()
                    .ok()
            })
            .collect();
        if entries.is_empty() {
            continue;
        }
        if let Err(e) = sqs
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            warn!(error.message = %e, "deleting processed messages failed; they will be delivered again");
        }
    }
}

/// One record of the `SqsEvent`, as Lambda builds it.
pub fn record(m: &Message, queue_arn: &str) -> Value {
    let region = queue_of_arn(queue_arn).map(|q| q.0).unwrap_or_default();
    let attributes: Map<String, Value> = m
        .attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| (k.as_str().to_owned(), Value::String(v.clone())))
                .collect()
        })
        .unwrap_or_default();
    let b64 = base64::engine::general_purpose::STANDARD;
    let message_attributes: Map<String, Value> = m
        .message_attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| {
                    let mut attr = json!({
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": v.data_type(),
                    });
                    if let Some(s) = v.string_value() {
                        attr["stringValue"] = json!(s);
                    }
                    if let Some(b) = v.binary_value() {
                        attr["binaryValue"] = json!(b64.encode(b.as_ref()));
                    }
                    (k.clone(), attr)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut record = json!({
        "messageId": m.message_id(),
        "receiptHandle": m.receipt_handle(),
        "body": m.body(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": m.md5_of_body(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    });
    if let Some(md5) = m.md5_of_message_attributes() {
        record["md5OfMessageAttributes"] = json!(md5);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_answers_are_read_as_lambda_reads_them() {
        let batch = ["a", "b", "c"];
        assert!(failures(&Value::Null, &batch).expect("ok").is_empty());
        assert!(failures(&json!({"batchItemFailures": []}), &batch)
            .expect("ok")
            .is_empty());
        let f = failures(
            &json!({"batchItemFailures": [{"itemIdentifier": "b"}]}),
            &batch,
        )
        .expect("ok");
        assert_eq!(f, HashSet::from(["b".to_owned()]));
        assert!(failures(
            &json!({"batchItemFailures": [{"itemIdentifier": "z"}]}),
            &batch
        )
        .is_err());
        assert!(failures(&json!({"batchItemFailures": [{}]}), &batch).is_err());
        assert!(failures(&json!({"batchItemFailures": "b"}), &batch).is_err());
    }

    #[test]
    fn records_carry_what_lambda_puts_in_them() {
        let m = Message::builder()
            .message_id("m1")
            .receipt_handle("r1")
            .body("{}")
            .md5_of_body("99914b932bd37a50b983c5e7c90ae93b")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .message_attributes(
                "correlationId",
                aws_sdk_sqs::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("c1")
                    .build()
                    .expect("attr"),
            )
            .build();
        let r = record(&m, "arn:aws:sqs:eu-west-1:123456789012:q");
        assert_eq!(r["attributes"]["ApproximateReceiveCount"], "2");
        assert_eq!(r["messageAttributes"]["correlationId"]["stringValue"], "c1");
        assert_eq!(r["eventSourceARN"], "arn:aws:sqs:eu-west-1:123456789012:q");
        assert_eq!(r["awsRegion"], "eu-west-1");
        // The Rust runtime's own event type reads it.
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_value(json!({ "Records": [r] })).expect("an SqsEvent");
        let m = &event.records[0];
        assert_eq!(m.message_id.as_deref(), Some("m1"));
        assert_eq!(m.receipt_handle.as_deref(), Some("r1"));
        assert_eq!(
            m.message_attributes["correlationId"]
                .string_value
                .as_deref(),
            Some("c1")
        );
    }
}
