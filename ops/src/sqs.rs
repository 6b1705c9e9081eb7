//! SQS: finding a workspace's queues and DLQs, and the [`Queues`] calls.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use aws_sdk_sqs::Client;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::dlq::{Outgoing, Queues, BATCH};
use crate::error::{BoxError as Error, QueueError};
use crate::letter::{Attribute, Received};

/// One queue of the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Queue {
    pub name: String,
    pub url: String,
    pub arn: String,
    /// ApproximateNumberOfMessages (visible).
    pub visible: u64,
    /// ApproximateNumberOfMessagesNotVisible (in flight).
    pub in_flight: u64,
    /// The DLQ its redrive policy names, if any.
    pub dlq_arn: Option<String>,
    pub max_receive_count: Option<u32>,
}

/// A dead-letter queue and what feeds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dlq {
    pub queue: Queue,
    /// The queues whose redrive policy sends here (SQS-fed); empty for the event bus's DLQ.
    pub sources: Vec<Queue>,
}

impl Dlq {
    /// The outbox DLQ (`<prefix>-outbox-dlq`): what the stream publisher and its mapping gave up on.
    fn is_outbox(&self) -> bool {
        self.queue.name.ends_with("-outbox-dlq")
    }

    /// What feeds a DLQ no queue's redrive policy names, in a word: the outbox DLQ, the outbox stream (the
    /// records the stream publisher and its mapping gave up on); the bus's, EventBridge's targets.
    pub fn feeder(&self) -> &'static str {
        if self.is_outbox() {
            "the outbox stream"
        } else {
            "EventBridge targets"
        }
    }

    /// What feeds it, for people.
    pub fn fed_by(&self) -> String {
        if self.sources.is_empty() {
            let how = if self.is_outbox() {
                "records the publisher gave up on: ecobid-ops outbox list"
            } else {
                "each letter names its target queue"
            };
            format!("{} ({how})", self.feeder())
        } else {
            self.sources
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

/// The queues of one workspace (names starting `ecobid-<workspace>-`).
#[derive(Debug, Clone)]
pub struct Workspace {
    pub name: String,
    pub prefix: String,
    pub queues: Vec<Queue>,
}

impl Workspace {
    pub async fn discover(client: &Client, workspace: &str) -> Result<Self, Error> {
        let prefix = format!("ecobid-{workspace}-");
        let mut urls = vec![];
        let mut pages = client
            .list_queues()
            .queue_name_prefix(&prefix)
            .max_results(1000)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            urls.extend(page?.queue_urls().iter().cloned());
        }
        if urls.is_empty() {
            return Err(QueueError::Empty(workspace.into(), prefix).into());
        }
        let mut queues = vec![];
        for url in urls {
            let attrs = client
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await?;
            let get = |n: QueueAttributeName| attrs.attributes().and_then(|a| a.get(&n)).cloned();
            let number = |n: QueueAttributeName| get(n).and_then(|v| v.parse().ok()).unwrap_or(0);
            let redrive: Option<serde_json::Value> =
                get(QueueAttributeName::RedrivePolicy).and_then(|p| serde_json::from_str(&p).ok());
            let arn = get(QueueAttributeName::QueueArn).unwrap_or_default();
            queues.push(Queue {
                name: arn.rsplit(':').next().unwrap_or_default().to_owned(),
                url,
                arn,
                visible: number(QueueAttributeName::ApproximateNumberOfMessages),
                in_flight: number(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
                dlq_arn: redrive
                    .as_ref()
                    .and_then(|r| r["deadLetterTargetArn"].as_str().map(str::to_owned)),
                max_receive_count: redrive.as_ref().and_then(|r| match &r["maxReceiveCount"] {
                    serde_json::Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                    serde_json::Value::String(s) => s.parse().ok(),
                    _ => None,
                }),
            });
        }
        queues.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Self {
            name: workspace.into(),
            prefix,
            queues,
        })
    }

    /// The DLQs: queues some queue's redrive policy names, and queues named `*-dlq` (the event bus's).
    pub fn dlqs(&self) -> Vec<Dlq> {
        self.queues
            .iter()
            .filter(|q| {
                q.name.ends_with("-dlq")
                    || self
                        .queues
                        .iter()
                        .any(|s| s.dlq_arn.as_deref() == Some(&q.arn))
            })
            .map(|q| Dlq {
                queue: q.clone(),
                sources: self
                    .queues
                    .iter()
                    .filter(|s| s.dlq_arn.as_deref() == Some(&q.arn))
                    .cloned()
                    .collect(),
            })
            .collect()
    }

    /// A queue by full name, name without the workspace prefix, URL or ARN.
    pub fn queue(&self, asked: &str) -> Result<&Queue, QueueError> {
        self.queues
            .iter()
            .find(|q| {
                q.name == asked
                    || q.url == asked
                    || q.arn == asked
                    || q.name.strip_prefix(&self.prefix) == Some(asked)
            })
            .ok_or_else(|| QueueError::Unknown {
                asked: asked.into(),
                workspace: self.name.clone(),
                known: self.dlq_names(),
            })
    }

    /// A DLQ by any of the names [`Workspace::queue`] takes.
    pub fn dlq(&self, asked: &str) -> Result<Dlq, QueueError> {
        let queue = self.queue(asked)?;
        self.dlqs()
            .into_iter()
            .find(|d| d.queue.arn == queue.arn)
            .ok_or_else(|| QueueError::NotADlq {
                name: queue.name.clone(),
                workspace: self.name.clone(),
                known: self.dlq_names(),
            })
    }

    fn dlq_names(&self) -> String {
        let names: Vec<String> = self
            .dlqs()
            .iter()
            .map(|d| {
                d.queue
                    .name
                    .strip_prefix(&self.prefix)
                    .unwrap_or(&d.queue.name)
                    .to_owned()
            })
            .collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    }
}

/// The [`Queues`] calls on SQS.
#[derive(Debug, Clone)]
pub struct Sqs {
    pub client: Client,
}

fn to_sdk(a: &Attribute) -> Result<MessageAttributeValue, Error> {
    Ok(MessageAttributeValue::builder()
        .data_type(&a.data_type)
        .set_string_value(a.string_value.clone())
        .set_binary_value(a.binary_value.clone().map(Blob::new))
        .build()?)
}

fn from_sdk(a: &MessageAttributeValue) -> Attribute {
    Attribute {
        data_type: a.data_type().to_owned(),
        string_value: a.string_value().map(str::to_owned),
        binary_value: a.binary_value().map(|b| b.as_ref().to_vec()),
    }
}

impl Queues for Sqs {
    async fn receive(&self, url: &str, hold: Duration) -> Result<Vec<Received>, Error> {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(BATCH as i32)
            .visibility_timeout(
                i32::try_from(hold.as_secs())
                    .unwrap_or(43_200)
                    .clamp(1, 43_200),
            )
            // A short long-poll: every server is asked, so an empty answer means an empty queue.
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await?;
        Ok(out
            .messages()
            .iter()
            .map(|m| {
                let system = m.attributes();
                let system_attr =
                    |n: MessageSystemAttributeName| system.and_then(|a| a.get(&n)).cloned();
                Received {
                    message_id: m.message_id().unwrap_or_default().to_owned(),
                    receipt_handle: m.receipt_handle().unwrap_or_default().to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    attributes: m
                        .message_attributes()
                        .map(|a| a.iter().map(|(k, v)| (k.clone(), from_sdk(v))).collect())
                        .unwrap_or_default(),
                    receive_count: system_attr(MessageSystemAttributeName::ApproximateReceiveCount)
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(0),
                    sent_at: system_attr(MessageSystemAttributeName::SentTimestamp)
                        .and_then(|t| t.parse::<i64>().ok())
                        .and_then(DateTime::<Utc>::from_timestamp_millis),
                }
            })
            .collect())
    }

    async fn change_visibility(
        &self,
        url: &str,
        handles: &[String],
        timeout: Duration,
    ) -> Result<(), Error> {
        if handles.is_empty() {
            return Ok(());
        }
        let seconds = i32::try_from(timeout.as_secs())
            .unwrap_or(43_200)
            .clamp(0, 43_200);
        let entries = handles
            .iter()
            .enumerate()
            .map(|(i, h)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .visibility_timeout(seconds)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        // An entry refused because its hold already ran out (the message is visible again) needs nothing: the
        // reader sees that message again and counts it once.
        self.client
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await?;
        Ok(())
    }

    async fn send(
        &self,
        url: &str,
        batch: &[Outgoing],
    ) -> Result<HashMap<String, Result<String, String>>, Error> {
        let mut entries = vec![];
        // Entry ids must be short alphanumerics: the position stands for the message id.
        for (i, o) in batch.iter().enumerate() {
            let mut attributes = HashMap::new();
            for (k, v) in &o.attributes {
                attributes.insert(k.clone(), to_sdk(v)?);
            }
            entries.push(
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&o.body)
                    .set_message_attributes(Some(attributes))
                    .build()?,
            );
        }
        let out = self
            .client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await?;
        let id_of = |entry: &str| {
            entry
                .parse::<usize>()
                .ok()
                .and_then(|i| batch.get(i))
                .map(|o| o.id.clone())
        };
        let mut result = HashMap::new();
        for ok in out.successful() {
            if let Some(id) = id_of(ok.id()) {
                result.insert(id, Ok(ok.message_id().to_owned()));
            }
        }
        for failed in out.failed() {
            if let Some(id) = id_of(failed.id()) {
                result.insert(
                    id,
                    Err(format!(
                        "{}: {}",
                        failed.code(),
                        failed.message().unwrap_or_default()
                    )),
                );
            }
        }
        Ok(result)
    }

    async fn delete(&self, url: &str, handles: &[String]) -> Result<Vec<(String, String)>, Error> {
        if handles.is_empty() {
            return Ok(vec![]);
        }
        let entries = handles
            .iter()
            .enumerate()
            .map(|(i, h)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await?;
        Ok(out
            .failed()
            .iter()
            .map(|f| {
                let handle = f
                    .id()
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| handles.get(i))
                    .cloned()
                    .unwrap_or_default();
                (
                    handle,
                    format!("{}: {}", f.code(), f.message().unwrap_or_default()),
                )
            })
            .collect())
    }
}

/// SQS's own move task (`StartMessageMoveTask`), where the service offers it.
pub enum Native {
    Started {
        task_handle: String,
    },
    /// The endpoint does not implement it (the local emulator): the message says what it answered.
    Unavailable(String),
}

impl Sqs {
    /// Starts SQS's move task from `dlq_arn` to `destination_arn`, always named: without one SQS sends each
    /// message back to the queue its own redrive moved it from ("respective original source queues",
    /// StartMessageMoveTask in the SQS API Reference), which a letter the worker runtime sent to the DLQ
    /// itself has not.
    pub async fn start_move_task(
        &self,
        dlq_arn: &str,
        destination_arn: &str,
        rate: Option<u32>,
    ) -> Result<Native, Error> {
        let sent = self
            .client
            .start_message_move_task()
            .source_arn(dlq_arn)
            .destination_arn(destination_arn)
            .set_max_number_of_messages_per_second(rate.map(|r| r as i32))
            .send()
            .await;
        match sent {
            Ok(out) => Ok(Native::Started {
                task_handle: out.task_handle().unwrap_or_default().to_owned(),
            }),
            Err(e) if is_unimplemented(&e) => Ok(Native::Unavailable(match e.raw_response() {
                Some(r) if e.code().is_none() => {
                    format!("HTTP {} with no AWS error", r.status().as_u16())
                }
                _ => describe(&e),
            })),
            Err(e) => Err(e.into()),
        }
    }

    /// The move task's status and counts: (status, moved, to move, failure reason).
    pub async fn move_task(
        &self,
        dlq_arn: &str,
        task_handle: &str,
    ) -> Result<(String, i64, Option<i64>, Option<String>), Error> {
        let out = self
            .client
            .list_message_move_tasks()
            .source_arn(dlq_arn)
            .max_results(10)
            .send()
            .await?;
        let task = out
            .results()
            .iter()
            .find(|t| t.task_handle() == Some(task_handle) || t.task_handle().is_none())
            .ok_or("the move task is not listed")?;
        Ok((
            task.status().unwrap_or("UNKNOWN").to_owned(),
            task.approximate_number_of_messages_moved(),
            task.approximate_number_of_messages_to_move(),
            task.failure_reason().map(str::to_owned),
        ))
    }

    pub async fn purge(&self, url: &str) -> Result<(), Error> {
        self.client.purge_queue().queue_url(url).send().await?;
        Ok(())
    }
}

fn describe<E: ProvideErrorMetadata>(e: &E) -> String {
    format!(
        "{}: {}",
        e.code().unwrap_or("error"),
        e.message().unwrap_or("no message")
    )
}

/// Whether the endpoint does not implement the operation: it says so, or (moto) it answers with an error page
/// that is no AWS error at all (no error code; HTML). AWS itself always answers an operation it has with a
/// coded error.
fn is_unimplemented<E>(
    e: &aws_sdk_sqs::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> bool
where
    E: ProvideErrorMetadata,
{
    let Some(service) = e.as_service_error() else {
        return false;
    };
    let code = service.code().unwrap_or_default();
    let message = service.message().unwrap_or_default().to_ascii_lowercase();
    let html = e
        .raw_response()
        .and_then(|r| r.headers().get("content-type"))
        .is_some_and(|t| t.starts_with("text/html"));
    matches!(
        code,
        "InvalidAction" | "UnsupportedOperation" | "NotImplemented" | "UnknownOperationException"
    ) || message.contains("not yet implemented")
        || message.contains("not implemented")
        || (code.is_empty() && html)
}

/// The queue depth for `dlq list`, counting in-flight letters too.
pub fn depth(q: &Queue) -> u64 {
    q.visible + q.in_flight
}
