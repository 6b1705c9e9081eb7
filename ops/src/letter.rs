//! Dead letters as ops people see them (pure: no SDK types). A [`Letter`] is decoded leniently from what SQS
//! hands out, because a dead letter is often exactly the message that could not be read: an envelope gives
//! its type, id and correlation id; an S3 notification or a scheduled step says what it is; anything else is
//! shown as it is. The failure comes from the attributes the worker runtime sets (`error.kind`,
//! `error.message`, `failed.at`); a letter without them was moved by SQS's redrive policy after
//! `maxReceiveCount` receives, i.e. its transient retries ran out.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

// The dead-letter contract is the domain's: the attributes the worker runtime sets, the one `redrive` counts
// in, EventBridge's, and the error kinds.
pub use domain::dead_letter::eventbridge::{
    ERROR_CODE as EVENTBRIDGE_ERROR_CODE, ERROR_MESSAGE as EVENTBRIDGE_ERROR_MESSAGE,
    TARGET_ARN as EVENTBRIDGE_TARGET_ARN,
};
use domain::dead_letter::eventbridge::{EXHAUSTED_RETRY_CONDITION, RULE_ARN};
pub use domain::dead_letter::{
    ErrorKind, CORRELATION, ERROR_KIND, ERROR_MESSAGE, FAILED_AT, MAX_ATTRIBUTES, REDRIVE_COUNT,
};

/// A message attribute's value, as SQS carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    pub data_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<Vec<u8>>,
}

impl Attribute {
    pub fn string(value: impl Into<String>) -> Self {
        Self {
            data_type: "String".into(),
            string_value: Some(value.into()),
            binary_value: None,
        }
    }

    pub fn number(value: u64) -> Self {
        Self {
            data_type: "Number".into(),
            string_value: Some(value.to_string()),
            binary_value: None,
        }
    }
}

/// One message of a DLQ as received (the SDK's message, reduced to what matters here).
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub attributes: BTreeMap<String, Attribute>,
    /// `ApproximateReceiveCount` (including this receive).
    pub receive_count: u32,
    /// `SentTimestamp`: when it entered the DLQ.
    pub sent_at: Option<DateTime<Utc>>,
}

/// A dead letter, decoded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Letter {
    pub message_id: String,
    /// The event type (`ItemCreated`), or what the body is (`s3:ObjectCreated`, `due:auction-close`,
    /// `(not JSON)`, `(unknown)`).
    #[serde(rename = "type")]
    pub kind_of_body: String,
    pub event_id: Option<String>,
    pub correlation_id: Option<String>,
    pub error_kind: String,
    pub error_message: Option<String>,
    /// When it failed: `failed.at`, else when it entered the DLQ.
    pub failed_at: Option<DateTime<Utc>>,
    pub receive_count: u32,
    pub redrive_count: u32,
    /// The queue EventBridge could not deliver it to (a letter of the event bus's DLQ).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_arn: Option<String>,
    pub body: String,
}

impl Letter {
    pub fn decode(m: &Received) -> Self {
        let text = |name: &str| m.attributes.get(name).and_then(|a| a.string_value.clone());
        let (kind_of_body, event_id, mut correlation_id) = describe_body(&m.body);
        if correlation_id.is_none() {
            correlation_id = text(CORRELATION);
        }
        let failed_at = text(FAILED_AT)
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc))
            .or(m.sent_at);
        Self {
            message_id: m.message_id.clone(),
            kind_of_body,
            event_id,
            correlation_id,
            error_kind: text(ERROR_KIND)
                .or_else(|| text(EVENTBRIDGE_ERROR_CODE))
                .unwrap_or_else(|| ErrorKind::RetriesExhausted.as_str().into()),
            error_message: text(ERROR_MESSAGE)
                .or_else(|| text(EVENTBRIDGE_ERROR_MESSAGE))
                .or_else(|| crate::outbox::FailureRecord::parse(&m.body).map(|f| f.describe())),
            failed_at,
            receive_count: m.receive_count,
            redrive_count: text(REDRIVE_COUNT)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0),
            target_arn: text(EVENTBRIDGE_TARGET_ARN),
            body: m.body.clone(),
        }
    }

    /// How long ago it failed, at `now` (zero when unknown or in the future).
    pub fn age(&self, now: DateTime<Utc>) -> Duration {
        self.failed_at
            .and_then(|t| (now - t).to_std().ok())
            .unwrap_or_default()
    }
}

/// (type, event id, correlation id) of a body.
fn describe_body(body: &str) -> (String, Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return ("(not JSON)".into(), None, None);
    };
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    if let Some(t) = text(&value, "type") {
        return (t, text(&value, "id"), text(&value, "correlationId"));
    }
    if let Some(failure) = crate::outbox::FailureRecord::parse(body) {
        return (
            format!("stream:{}", failure.request_context.condition),
            None,
            None,
        );
    }
    if let Some(due) = text(&value, "due") {
        return (format!("due:{due}"), None, text(&value, "correlationId"));
    }
    if let Some(name) = value
        .pointer("/Records/0/eventName")
        .and_then(Value::as_str)
    {
        let kind = name.split(':').next().unwrap_or(name);
        return (format!("s3:{kind}"), None, None);
    }
    // EventBridge's own event (what its DLQ gets when a target has no input path).
    if let Some(t) = text(&value, "detail-type") {
        let detail = value.get("detail").cloned().unwrap_or_default();
        return (t, text(&detail, "id"), text(&detail, "correlationId"));
    }
    ("(unknown)".into(), None, None)
}

/// One condition of `--filter KEY=VALUE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `type=ItemCreated`: the event type (or body kind), exactly.
    Type(String),
    /// `kind=rejected`: the error kind, exactly.
    Kind(String),
    /// `older-than=1h`: failed at least this long ago.
    OlderThan(Duration),
    /// `newer-than=10m`: failed less than this long ago.
    NewerThan(Duration),
    /// `body=text`: the body contains the text.
    Body(String),
}

/// The help of `--filter`, naming the error kinds of the dead-letter contract.
pub fn filter_help() -> String {
    let kinds: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
    format!(
        "KEY=VALUE, one of: type=<event type, e.g. ItemCreated>, kind=<error kind: {}, or an EventBridge \
         error code>, older-than=<age, e.g. 90s, 15m, 2h, 1d>, newer-than=<age>, body=<text the body \
         contains>. Repeat --filter to narrow: conditions on different keys must all hold, several on the \
         same key are alternatives (type=A --filter type=B is A or B)",
        kinds.join("|")
    )
}

impl FromStr for Condition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))?;
        if value.is_empty() {
            return Err(format!("{key}= needs a value"));
        }
        let age = |v: &str| {
            humantime::parse_duration(v)
                .map_err(|e| format!("{key}={v}: not an age such as 90s, 15m, 2h or 1d ({e})"))
        };
        Ok(match key {
            "type" => Self::Type(value.into()),
            "kind" => Self::Kind(value.into()),
            "older-than" => Self::OlderThan(age(value)?),
            "newer-than" => Self::NewerThan(age(value)?),
            "body" => Self::Body(value.into()),
            other => {
                return Err(format!(
                    "unknown filter key {other:?}: use type, kind, older-than, newer-than or body"
                ))
            }
        })
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Type(t) => write!(f, "type={t}"),
            Self::Kind(k) => write!(f, "kind={k}"),
            Self::OlderThan(d) => write!(f, "older-than={}", humantime::format_duration(*d)),
            Self::NewerThan(d) => write!(f, "newer-than={}", humantime::format_duration(*d)),
            Self::Body(b) => write!(f, "body={b}"),
        }
    }
}

impl Condition {
    fn key(&self) -> &'static str {
        match self {
            Self::Type(_) => "type",
            Self::Kind(_) => "kind",
            Self::OlderThan(_) => "older-than",
            Self::NewerThan(_) => "newer-than",
            Self::Body(_) => "body",
        }
    }

    fn holds(&self, letter: &Letter, now: DateTime<Utc>) -> bool {
        match self {
            Self::Type(t) => &letter.kind_of_body == t,
            Self::Kind(k) => &letter.error_kind == k,
            Self::OlderThan(d) => letter.age(now) >= *d,
            Self::NewerThan(d) => letter.age(now) < *d,
            Self::Body(b) => letter.body.contains(b.as_str()),
        }
    }
}

/// All the `--filter`s of a command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter(pub Vec<Condition>);

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every key's conditions: at least one holds.
    pub fn matches(&self, letter: &Letter, now: DateTime<Utc>) -> bool {
        let mut by_key: BTreeMap<&str, bool> = BTreeMap::new();
        for c in &self.0 {
            *by_key.entry(c.key()).or_default() |= c.holds(letter, now);
        }
        by_key.values().all(|held| *held)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(none)");
        }
        let parts: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(" "))
    }
}

/// What a DLQ holds, for `dlq list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub scanned: usize,
    pub oldest_failed_at: Option<DateTime<Utc>>,
    /// Error kinds by count, most frequent first (ties by name).
    pub error_kinds: Vec<(String, usize)>,
}

impl Summary {
    pub fn of(letters: &[Letter]) -> Self {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for l in letters {
            *kinds.entry(&l.error_kind).or_default() += 1;
        }
        let mut error_kinds: Vec<(String, usize)> =
            kinds.into_iter().map(|(k, n)| (k.to_owned(), n)).collect();
        error_kinds.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Self {
            scanned: letters.len(),
            oldest_failed_at: letters.iter().filter_map(|l| l.failed_at).min(),
            error_kinds,
        }
    }
}

/// The attributes that describe a failure (the runtime's and EventBridge's), not the message.
const FAILURE_ATTRIBUTES: [&str; 9] = [
    ERROR_KIND,
    ERROR_MESSAGE,
    FAILED_AT,
    REDRIVE_COUNT,
    EVENTBRIDGE_ERROR_CODE,
    EVENTBRIDGE_ERROR_MESSAGE,
    RULE_ARN,
    EVENTBRIDGE_TARGET_ARN,
    EXHAUSTED_RETRY_CONDITION,
];

/// The attributes a redriven message is sent with: the original ones without the failure's (it is being
/// retried; the failure is kept in the audit log), plus `redrive.count` incremented.
pub fn redriven_attributes(
    attributes: &BTreeMap<String, Attribute>,
) -> BTreeMap<String, Attribute> {
    let count: u64 = attributes
        .get(REDRIVE_COUNT)
        .and_then(|a| a.string_value.as_deref())
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut out: BTreeMap<String, Attribute> = attributes
        .iter()
        .filter(|(name, _)| !FAILURE_ATTRIBUTES.contains(&name.as_str()))
        .take(MAX_ATTRIBUTES - 1)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    out.insert(REDRIVE_COUNT.into(), Attribute::number(count + 1));
    out
}

#[cfg(test)]
mod tests;
