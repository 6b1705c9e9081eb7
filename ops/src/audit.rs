//! The append-only audit log: one JSON line per message moved and per purge, saying who did what, when,
//! from where to where. Lines are appended (never rewritten) and synced to disk before the DLQ copy is deleted.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::letter::Letter;

/// One action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub at: String,
    pub action: &'static str,
    pub from: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Record {
    /// A letter moved from `from` to `to`, where it is now `new_message_id`.
    pub fn moved(
        from: &str,
        to: &str,
        letter: &Letter,
        new_message_id: &str,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            at: timestamp(at),
            action: "redrive",
            from: from.into(),
            to: Some(to.into()),
            message_id: Some(letter.message_id.clone()),
            new_message_id: Some(new_message_id.into()),
            event_id: letter.event_id.clone(),
            event_type: Some(letter.kind_of_body.clone()),
            correlation_id: letter.correlation_id.clone(),
            error_kind: Some(letter.error_kind.clone()),
            error_message: letter.error_message.clone(),
            detail: None,
        }
    }

    /// Any other action on a queue (a purge, a native move task, a replay).
    pub fn action(
        action: &'static str,
        from: &str,
        to: Option<&str>,
        detail: String,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            at: timestamp(at),
            action,
            from: from.into(),
            to: to.map(Into::into),
            message_id: None,
            new_message_id: None,
            event_id: None,
            event_type: None,
            correlation_id: None,
            error_kind: None,
            error_message: None,
            detail: Some(detail),
        }
    }
}

#[derive(Serialize)]
struct Line<'a> {
    who: &'a str,
    #[serde(flatten)]
    record: &'a Record,
}

/// The log file, opened for appending.
#[derive(Debug)]
pub struct Audit {
    path: PathBuf,
    file: File,
    who: String,
}

impl Audit {
    /// Opens (creating it and its folder if needed) the log at `path`; `who` goes on every line.
    pub fn open(path: &Path, who: impl Into<String>) -> io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self {
            path: path.to_owned(),
            file,
            who: who.into(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line (one `write` of the whole line, so lines never interleave).
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        let mut line = serde_json::to_vec(&Line {
            who: &self.who,
            record,
        })?;
        line.push(b'\n');
        self.file.write_all(&line)
    }

    /// Makes what was appended durable.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// The default log: `$XDG_STATE_HOME/ecobid/ops-audit.jsonl` (`~/.local/state/...` without it).
pub fn default_path() -> PathBuf {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    state.join("ecobid/ops-audit.jsonl")
}
