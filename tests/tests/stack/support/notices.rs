//! The notices the workers publish, as a user's devices and inbox would get them: a queue of the test's own
//! subscribed (raw delivery) to the workspace's push and email topics.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::api::Api;
use super::emulator::{eventually, queue_arn, unique};

/// One notice as the topics carried it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Notice {
    pub(crate) correlation: String,
    pub(crate) event_type: String,
    pub(crate) recipient: String,
    pub(crate) channel: String,
    pub(crate) event_id: String,
}

/// A queue subscribed (raw delivery) to the workspace's push and email topics.
pub(crate) struct Notices {
    pub(crate) url: String,
    pub(crate) seen: tokio::sync::Mutex<Vec<(Notice, Value)>>,
}

pub(crate) async fn notices(api: &Api) -> Notices {
    let sqs = aws_sdk_sqs::Client::new(&api.emulator.aws);
    let sns = aws_sdk_sns::Client::new(&api.emulator.aws);
    let url = sqs
        .create_queue()
        .queue_name(unique("notices"))
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let arn = queue_arn(&sqs, &url).await;
    for topic in ["push", "email"] {
        sns.subscribe()
            .topic_arn(api.outputs["topics"][topic].as_str().expect("topic"))
            .protocol("sqs")
            .endpoint(&arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .expect("subscribe");
    }
    Notices {
        url,
        seen: Default::default(),
    }
}

impl Notices {
    /// Waits until the notices about events of `event_type` of correlation `c` for `recipients` (each on
    /// push and email) have all arrived; returns every such notice seen so far.
    pub(crate) async fn wait(
        &self,
        api: &Api,
        c: &str,
        event_type: &str,
        recipients: &[&str],
    ) -> Vec<Notice> {
        let sqs = aws_sdk_sqs::Client::new(&api.emulator.aws);
        eventually(
            Duration::from_secs(90),
            &format!("{event_type} notices for {recipients:?}"),
            || async {
                self.drain(&sqs).await;
                let seen = self.seen.lock().await;
                let of: Vec<Notice> = seen
                    .iter()
                    .map(|(n, _)| n.clone())
                    .filter(|n| {
                        n.correlation == c
                            && n.event_type == event_type
                            && recipients.contains(&n.recipient.as_str())
                    })
                    .collect();
                let complete = recipients.iter().all(|r| {
                    ["push", "email"]
                        .iter()
                        .all(|c| of.iter().any(|n| n.recipient == *r && n.channel == *c))
                });
                complete.then_some(of)
            },
        )
        .await
    }

    pub(crate) async fn drain(&self, sqs: &aws_sdk_sqs::Client) {
        let out = sqs
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .send()
            .await
            .expect("receive");
        let mut seen = self.seen.lock().await;
        for m in out.messages() {
            let body: Value = serde_json::from_str(m.body().unwrap_or_default()).expect("a notice");
            let text = |k: &str| body[k].as_str().unwrap_or_default().to_owned();
            seen.push((
                Notice {
                    correlation: text("correlationId"),
                    event_type: text("eventType"),
                    recipient: text("recipientId"),
                    channel: text("channel"),
                    event_id: text("eventId"),
                },
                body.clone(),
            ));
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }
}

/// Each (event, recipient, channel) was published once.
pub(crate) fn once_each(notices: &[Notice]) {
    let mut counts: BTreeMap<&Notice, usize> = BTreeMap::new();
    for n in notices {
        *counts.entry(n).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "published more than once: {twice:?}");
}

/// Sends `body` to the workspace's `queue` again: a duplicate delivery.
pub(crate) async fn deliver_again(api: &Api, queue: &str, body: String) {
    let sqs = aws_sdk_sqs::Client::new(&api.emulator.aws);
    sqs.send_message()
        .queue_url(
            api.outputs["queues"][queue]["queue_url"]
                .as_str()
                .expect("url"),
        )
        .message_body(body)
        .send()
        .await
        .expect("send");
}

// ---- flow 1 ---------------------------------------------------------------------------------------------
