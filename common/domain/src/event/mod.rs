//! Domain events and the one versioned envelope every event travels in (DOMAIN.md, "Events"):
//!
//! ```json
//! { "version": "1", "id": "<uuid>", "correlationId": "<uuid>", "source": "ecobid.items",
//!   "type": "ItemCreated", "time": "2026-11-21T10:00:00Z", "data": { ... } }
//! ```
//!
//! On EventBridge the envelope is the event's `detail`, its `source` and `type` the event's `source` and
//! `detail-type`; rules deliver the envelope itself to the queues. [`Envelope::parse`] refuses an unknown
//! version, a malformed envelope or a payload that does not fit its type, with an error naming the problem:
//! the worker runtime treats those as permanent failures.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

mod catalog;

pub use catalog::*;

/// The envelope version this code writes and reads.
pub const ENVELOPE_VERSION: &str = "1";

/// Identifies one event; consumers de-duplicate on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(Uuid);

/// Ties together everything one user action caused: the API request, every event and message after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CorrelationId(Uuid);

macro_rules! uuid_newtype {
    ($name:ident) => {
        impl $name {
            pub fn new(id: Uuid) -> Self {
                Self(id)
            }

            /// A fresh random id (v4).
            pub fn random() -> Self {
                Self(Uuid::new_v4())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_newtype!(EventId);
uuid_newtype!(CorrelationId);

/// EventBridge sources: which part of the domain an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    Items,
    Reservations,
    Auctions,
    Users,
    Images,
    Notifications,
    System,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Items => "ecobid.items",
            Source::Reservations => "ecobid.reservations",
            Source::Auctions => "ecobid.auctions",
            Source::Users => "ecobid.users",
            Source::Images => "ecobid.images",
            Source::Notifications => "ecobid.notifications",
            Source::System => "ecobid.system",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event wrapped for the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub id: EventId,
    pub correlation_id: CorrelationId,
    pub time: DateTime<Utc>,
    pub event: DomainEvent,
}

/// Why a message is not an envelope this code can handle. Each names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not an envelope: expected a JSON object")]
    NotAnObject,
    #[error("envelope field {0:?} is missing")]
    MissingField(&'static str),
    #[error("unknown envelope version {found}: this code reads version {ENVELOPE_VERSION}")]
    UnknownVersion { found: String },
    #[error("envelope field {field:?} is invalid: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error("event type {event_type} comes from source {expected}, not {found:?}")]
    SourceMismatch {
        event_type: EventType,
        expected: Source,
        found: String,
    },
    #[error("data of {event_type} does not fit its schema: {reason}")]
    InvalidData {
        event_type: EventType,
        reason: String,
    },
}

impl Envelope {
    /// Wraps `event` with a fresh id, the correlation id it carries on, and the time it happened.
    pub fn new(event: DomainEvent, correlation_id: CorrelationId, time: DateTime<Utc>) -> Self {
        Self {
            id: EventId::random(),
            correlation_id,
            time,
            event,
        }
    }

    /// The same envelope under a given id (one derived from what it records, so writing it twice is once).
    pub fn with_id(mut self, id: EventId) -> Self {
        self.id = id;
        self
    }

    pub fn event_type(&self) -> EventType {
        self.event.event_type()
    }

    pub fn source(&self) -> Source {
        self.event_type().source()
    }

    /// The envelope as JSON (the shape pinned in the tests).
    pub fn to_json(&self) -> Value {
        let (event_type, data) = self.event.type_and_data();
        let mut map = Map::new();
        map.insert("version".into(), ENVELOPE_VERSION.into());
        map.insert("id".into(), self.id.to_string().into());
        map.insert(
            "correlationId".into(),
            self.correlation_id.to_string().into(),
        );
        map.insert("source".into(), self.source().as_str().into());
        map.insert("type".into(), event_type.as_str().into());
        map.insert(
            "time".into(),
            self.time
                .to_rfc3339_opts(SecondsFormat::Millis, true)
                .into(),
        );
        map.insert("data".into(), data);
        Value::Object(map)
    }

    pub fn to_json_string(&self) -> String {
        self.to_json().to_string()
    }

    /// Reads an envelope, refusing what this code cannot handle with an error naming the problem.
    pub fn parse(text: &str) -> Result<Self, EnvelopeError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
        Self::from_value(value)
    }

    pub fn from_value(value: Value) -> Result<Self, EnvelopeError> {
        let Value::Object(mut map) = value else {
            return Err(EnvelopeError::NotAnObject);
        };
        let mut take =
            |field: &'static str| map.remove(field).ok_or(EnvelopeError::MissingField(field));
        let version = take("version")?;
        if version.as_str() != Some(ENVELOPE_VERSION) {
            return Err(EnvelopeError::UnknownVersion {
                found: version.to_string(),
            });
        }
        let text = |field: &'static str, v: Value| match v {
            Value::String(s) => Ok(s),
            other => Err(EnvelopeError::InvalidField {
                field,
                reason: format!("expected a string, found {other}"),
            }),
        };
        let id = text("id", take("id")?)?.parse::<EventId>().map_err(|e| {
            EnvelopeError::InvalidField {
                field: "id",
                reason: e.to_string(),
            }
        })?;
        let correlation_id = text("correlationId", take("correlationId")?)?
            .parse::<CorrelationId>()
            .map_err(|e| EnvelopeError::InvalidField {
                field: "correlationId",
                reason: e.to_string(),
            })?;
        let time = DateTime::parse_from_rfc3339(&text("time", take("time")?)?)
            .map_err(|e| EnvelopeError::InvalidField {
                field: "time",
                reason: format!("not RFC 3339: {e}"),
            })?
            .with_timezone(&Utc);
        let type_name = text("type", take("type")?)?;
        let event_type = type_name
            .parse::<EventType>()
            .map_err(|_| EnvelopeError::UnknownType(type_name))?;
        let source = text("source", take("source")?)?;
        if source != event_type.source().as_str() {
            return Err(EnvelopeError::SourceMismatch {
                event_type,
                expected: event_type.source(),
                found: source,
            });
        }
        let data = take("data")?;
        let event = DomainEvent::from_type_and_data(event_type, data).map_err(|e| {
            EnvelopeError::InvalidData {
                event_type,
                reason: e.to_string(),
            }
        })?;
        Ok(Self {
            id,
            correlation_id,
            time,
            event,
        })
    }
}

impl Serialize for Envelope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Envelope::from_value(Value::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
