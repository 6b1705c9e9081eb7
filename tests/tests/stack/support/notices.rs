//! The notices the workers delivered, as users' devices and inboxes would get them: what the emulator's SNS
//! accepted for each platform endpoint and its SES accepted for each address (`/_ecobid/deliveries`,
//! scripts/local/deliveries.py), read back into (event, recipient, channel).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::api::Api;
use super::emulator::eventually;

/// One notice as a device or an inbox got it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Notice {
    pub(crate) correlation: String,
    pub(crate) event_type: String,
    pub(crate) recipient: String,
    pub(crate) channel: String,
    pub(crate) event_id: String,
    /// The device endpoint or the email address it went to.
    pub(crate) address: String,
    /// What the person reads: the push's body, the email's plain text.
    pub(crate) text: String,
}

/// The emulator's record of deliveries.
pub(crate) struct Notices {
    url: String,
    http: reqwest::Client,
}

pub(crate) async fn notices(api: &Api) -> Notices {
    Notices {
        url: format!(
            "{}/_ecobid/deliveries",
            api.emulator.endpoint.trim_end_matches('/')
        ),
        http: reqwest::Client::new(),
    }
}

/// The ids a push carries: APNs payloads under `ecobid`, FCM ones as the message's data.
fn push_ids(payload: &Value) -> Option<&Value> {
    payload
        .get("ecobid")
        .or_else(|| payload.pointer("/fcmV1Message/message/data"))
}

impl Notices {
    /// Every notice delivered so far (every workspace's: filter on correlation).
    pub(crate) async fn all(&self) -> Vec<Notice> {
        let record: Value = self
            .http
            .get(&self.url)
            .send()
            .await
            .expect("the deliveries endpoint answers")
            .json()
            .await
            .expect("JSON");
        let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
        let mut out = vec![];
        for endpoint in record["endpoints"].as_array().into_iter().flatten() {
            for message in endpoint["messages"].as_array().into_iter().flatten() {
                let Some(ids) = push_ids(message) else {
                    continue;
                };
                out.push(Notice {
                    correlation: text(ids, "correlationId"),
                    event_type: text(ids, "eventType"),
                    recipient: text(ids, "recipientId"),
                    channel: "push".into(),
                    event_id: text(ids, "eventId"),
                    address: text(endpoint, "arn"),
                    text: message
                        .pointer("/aps/alert/body")
                        .or_else(|| message.pointer("/fcmV1Message/message/notification/body"))
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                });
            }
        }
        for email in record["emails"].as_array().into_iter().flatten() {
            let headers = &email["headers"];
            for to in email["to"].as_array().into_iter().flatten() {
                out.push(Notice {
                    correlation: text(headers, "X-EcoBid-Correlation-Id"),
                    event_type: text(headers, "X-EcoBid-Event-Type"),
                    recipient: text(headers, "X-EcoBid-Recipient-Id"),
                    channel: "email".into(),
                    event_id: text(headers, "X-EcoBid-Event-Id"),
                    address: to.as_str().unwrap_or_default().to_owned(),
                    text: text(email, "text"),
                });
            }
        }
        out
    }

    /// The notices of correlation `c` so far.
    pub(crate) async fn of(&self, c: &str) -> Vec<Notice> {
        self.all()
            .await
            .into_iter()
            .filter(|n| n.correlation == c)
            .collect()
    }

    /// Waits until the notices about events of `event_type` of correlation `c` for `recipients` (each on
    /// push and email) have all arrived; returns every such notice seen so far.
    pub(crate) async fn wait(
        &self,
        _api: &Api,
        c: &str,
        event_type: &str,
        recipients: &[&str],
    ) -> Vec<Notice> {
        self.wait_on_both_within(c, event_type, recipients, Duration::from_secs(90))
            .await
    }

    /// [`Notices::wait`], for at most `within` (an outage's tests wait for as long as it lasts).
    pub(crate) async fn wait_on_both_within(
        &self,
        c: &str,
        event_type: &str,
        recipients: &[&str],
        within: Duration,
    ) -> Vec<Notice> {
        let expected: Vec<(&str, &str)> = recipients
            .iter()
            .flat_map(|r| [(*r, "push"), (*r, "email")])
            .collect();
        self.wait_within(c, event_type, &expected, within).await
    }

    /// Waits until the notices about events of `event_type` of correlation `c` to each (recipient, channel)
    /// have all arrived; returns every notice of that type and correlation seen so far.
    pub(crate) async fn wait_for(
        &self,
        c: &str,
        event_type: &str,
        expected: &[(&str, &str)],
    ) -> Vec<Notice> {
        self.wait_within(c, event_type, expected, Duration::from_secs(90))
            .await
    }

    /// [`Notices::wait_for`], for at most `within` (an outage's tests wait for as long as it lasts).
    pub(crate) async fn wait_within(
        &self,
        c: &str,
        event_type: &str,
        expected: &[(&str, &str)],
        within: Duration,
    ) -> Vec<Notice> {
        eventually(
            within,
            &format!("{event_type} notices to {expected:?}"),
            || async {
                let of: Vec<Notice> = self
                    .of(c)
                    .await
                    .into_iter()
                    .filter(|n| n.event_type == event_type)
                    .collect();
                let complete = expected
                    .iter()
                    .all(|(r, ch)| of.iter().any(|n| n.recipient == *r && n.channel == *ch));
                complete.then_some(of)
            },
        )
        .await
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
