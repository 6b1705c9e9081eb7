//! The notifications worker's adapters: the delivery claims on the table's lease ([`DeliveryClaims`]), push
//! through SNS platform endpoints and email through SES v2 ([`AwsSender`]), and the fan-out of big audiences
//! onto the worker's own queue ([`SqsFanout`]).

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sesv2::types::{
    Body, Content, Destination, EmailContent, Message as SesMessage, MessageHeader,
};
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use chrono::{DateTime, Utc};
use serde_json::json;
use tracing::instrument;

use crate::aws_error::classify;
use crate::error::ProcessError;
use crate::lease::{self, Holder, Leases, Taken};

/// What one target reads: the notice as its template words it, and the ids the app routes it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub recipient_id: String,
    pub event_id: String,
    pub event_type: String,
    pub correlation_id: String,
}

/// Why a send did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The push endpoint is disabled or deleted (the app was uninstalled, the token expired): forget the
    /// device; retrying can never deliver.
    #[error("endpoint gone: {0}")]
    Gone(String),
    /// The service refused this message for good (an address SES rejects, a payload SNS refuses): retrying
    /// sends the same refusal.
    #[error("refused: {0}")]
    Refused(String),
    /// Throttling, a 5xx, a timeout: worth another try. `maybe_sent` when no answer came back (a timeout
    /// after the request went out), so the service may have accepted it.
    #[error("failed: {reason}")]
    Failed { reason: String, maybe_sent: bool },
}

impl SendError {
    fn from_sdk<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
        operation: &str,
        err: SdkError<E, HttpResponse>,
    ) -> Self {
        let reason = format!("{operation}: {}", domain::error::chain(&err));
        let maybe_sent = matches!(err, SdkError::TimeoutError(_) | SdkError::ResponseError(_));
        match err.as_service_error().and_then(|e| e.code()) {
            // SNS: the endpoint is disabled (the platform said the token is invalid), or deleted.
            Some("EndpointDisabled" | "NotFound" | "PlatformApplicationDisabled")
                if operation == "Publish" =>
            {
                Self::Gone(reason)
            }
            _ if classify(&err).is_retryable() => Self::Failed { reason, maybe_sent },
            _ => Self::Refused(reason),
        }
    }
}

/// Sends one rendered notice to one target.
#[async_trait]
pub trait Sender: Send + Sync {
    async fn push(&self, endpoint_arn: &str, notice: &Rendered) -> Result<(), SendError>;
    async fn email(&self, address: &str, notice: &Rendered) -> Result<(), SendError>;
}

/// Push through SNS (`Publish` to the device's platform endpoint, one payload per platform) and email through
/// SES v2 (`SendEmail` from the sender identity, in the configuration set whose suppression list keeps
/// bounced and complaining addresses from being mailed again).
#[derive(Debug, Clone)]
pub struct AwsSender {
    sns: aws_sdk_sns::Client,
    ses: aws_sdk_sesv2::Client,
    from: String,
    configuration_set: String,
}

impl AwsSender {
    pub fn new(
        sns: aws_sdk_sns::Client,
        ses: aws_sdk_sesv2::Client,
        from: impl Into<String>,
        configuration_set: impl Into<String>,
    ) -> Self {
        Self {
            sns,
            ses,
            from: from.into(),
            configuration_set: configuration_set.into(),
        }
    }
}

/// The `MessageStructure=json` body of a push: APNs and FCM (HTTP v1) payloads with the notice's ids as data,
/// and the text as the default any other platform shows.
pub fn push_payload(n: &Rendered) -> String {
    let data = json!({
        "eventId": n.event_id,
        "eventType": n.event_type,
        "recipientId": n.recipient_id,
        "correlationId": n.correlation_id,
    });
    let apns = json!({
        "aps": { "alert": { "title": n.subject, "body": n.text }, "sound": "default" },
        "ecobid": data,
    })
    .to_string();
    let fcm = json!({
        "fcmV1Message": { "message": {
            "notification": { "title": n.subject, "body": n.text },
            "data": data,
        } }
    })
    .to_string();
    json!({ "default": n.text, "APNS": apns, "APNS_SANDBOX": apns, "GCM": fcm }).to_string()
}

fn content(text: &str) -> Result<Content, SendError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| SendError::Refused(e.to_string()))
}

#[async_trait]
impl Sender for AwsSender {
    #[instrument(skip_all, fields(endpoint_arn))]
    async fn push(&self, endpoint_arn: &str, n: &Rendered) -> Result<(), SendError> {
        self.sns
            .publish()
            .target_arn(endpoint_arn)
            .message_structure("json")
            .message(push_payload(n))
            .send()
            .await
            .map_err(|e| SendError::from_sdk("Publish", e))?;
        Ok(())
    }

    #[instrument(skip_all)]
    async fn email(&self, address: &str, n: &Rendered) -> Result<(), SendError> {
        let mut message = SesMessage::builder().subject(content(&n.subject)?).body(
            Body::builder()
                .text(content(&n.text)?)
                .html(content(&n.html)?)
                .build(),
        );
        // The ids a support request or a bounce report traces the notice by.
        for (name, value) in [
            ("X-EcoBid-Event-Id", &n.event_id),
            ("X-EcoBid-Event-Type", &n.event_type),
            ("X-EcoBid-Correlation-Id", &n.correlation_id),
            ("X-EcoBid-Recipient-Id", &n.recipient_id),
        ] {
            message = message.headers(
                MessageHeader::builder()
                    .name(name)
                    .value(value)
                    .build()
                    .map_err(|e| SendError::Refused(e.to_string()))?,
            );
        }
        let message = message.build();
        self.ses
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(address).build())
            .content(EmailContent::builder().simple(message).build())
            .configuration_set_name(&self.configuration_set)
            .send()
            .await
            .map_err(|e| SendError::from_sdk("SendEmail", e))?;
        Ok(())
    }
}

/// What claiming a delivery found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Ours for the lease: send it, then mark it done.
    Granted,
    /// Done by an earlier delivery (sent, or settled for good): never again.
    Done,
    /// Another delivery holds it until then (epoch seconds): if it dies, its lease runs out and a later
    /// receive claims it again, so nobody is skipped.
    Held { until: i64 },
}

/// The claims of (event, recipient, target): one lease each on the table ([`crate::lease`]).
#[async_trait]
pub trait Claims: Send + Sync {
    async fn claim(
        &self,
        event_id: &str,
        recipient: &str,
        target: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, ProcessError>;
    /// The delivery happened (or was settled for good: `outcome` says which); later claims find it done.
    async fn done(
        &self,
        event_id: &str,
        recipient: &str,
        target: &str,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ProcessError>;
    /// Gives the claim back after a send that certainly failed, so the retry need not wait for the lease.
    async fn release(
        &self,
        event_id: &str,
        recipient: &str,
        target: &str,
    ) -> Result<(), ProcessError>;
}

/// Claims kept 7 days (TTL): longer than any retry of the event.
const KEEP_CLAIMS: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct DeliveryClaims {
    leases: Leases,
    lease_for: Duration,
}

impl DeliveryClaims {
    /// `lease_for`: how long a claim is held before a later receive may take it again; at least the
    /// function's timeout (twice it, by Terraform), so a live holder is never overtaken.
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        lease_for: Duration,
    ) -> Self {
        Self {
            leases: Leases::new(client, table),
            lease_for,
        }
    }

    fn pk(event_id: &str, recipient: &str, target: &str) -> String {
        format!("NOTIFY#{event_id}#{recipient}#{target}")
    }
}

const SK: &str = "NOTIFY";

fn store_error(e: domain::store::StoreError) -> ProcessError {
    ProcessError::Transient(Box::new(e))
}

#[async_trait]
impl Claims for DeliveryClaims {
    async fn claim(
        &self,
        event_id: &str,
        recipient: &str,
        target: &str,
        now: DateTime<Utc>,
    ) -> Result<Claim, ProcessError> {
        let pk = Self::pk(event_id, recipient, target);
        let taken = self
            .leases
            .take(
                &pk,
                SK,
                Default::default(),
                self.lease_for,
                KEEP_CLAIMS,
                now,
            )
            .await
            .map_err(store_error)?;
        Ok(match taken {
            Taken::Granted => Claim::Granted,
            Taken::Refused(record) => match lease::holder(&record, now.timestamp()) {
                Holder::Completed => Claim::Done,
                Holder::Held { until } => Claim::Held { until },
                // Its lease ran out between the put and the read: the next receive takes it.
                Holder::Free => Claim::Held {
                    until: now.timestamp(),
                },
            },
        })
    }

    async fn done(
        &self,
        event_id: &str,
        recipient: &str,
        target: &str,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ProcessError> {
        let fields = [(
            "outcome".to_owned(),
            aws_sdk_dynamodb::types::AttributeValue::S(outcome.to_owned()),
        )]
        .into();
        self.leases
            .complete(
                &Self::pk(event_id, recipient, target),
                SK,
                fields,
                KEEP_CLAIMS,
                now,
            )
            .await
            .map_err(store_error)
    }

    async fn release(
        &self,
        event_id: &str,
        recipient: &str,
        target: &str,
    ) -> Result<(), ProcessError> {
        self.leases
            .release(&Self::pk(event_id, recipient, target), SK)
            .await
            .map_err(store_error)
    }
}

/// Puts messages on the worker's own queue: the chunks a big audience is split into.
#[async_trait]
pub trait Fanout: Send + Sync {
    async fn enqueue(&self, bodies: &[String]) -> Result<(), ProcessError>;
}

#[derive(Debug, Clone)]
pub struct SqsFanout {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsFanout {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl Fanout for SqsFanout {
    /// `SendMessageBatch`, 10 a request (SQS's limit); any entry refused fails the call, so the caller's
    /// retry sends every chunk again (the delivery claims make a chunk sent twice deliver once).
    async fn enqueue(&self, bodies: &[String]) -> Result<(), ProcessError> {
        for (n, chunk) in bodies.chunks(10).enumerate() {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("{n}-{i}"))
                        .message_body(body)
                        .build()
                        .map_err(|e| ProcessError::Permanent(Box::new(e)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await?;
            if let Some(failed) = out.failed.first() {
                return Err(ProcessError::Transient(
                    format!(
                        "SendMessageBatch refused {} of {}: {} {}",
                        out.failed.len(),
                        chunk.len(),
                        failed.code,
                        failed.message.as_deref().unwrap_or_default()
                    )
                    .into(),
                ));
            }
        }
        Ok(())
    }
}
