//! The DLQ commands' logic over a [`Queues`] port (SQS in `sqs.rs`, a fake in the tests):
//! scanning without consuming, and the message-by-message move whose order makes it crash-safe.
//!
//! The move of one batch: **send** the matching letters to the target (attributes kept, the failure's dropped,
//! `redrive.count` + 1), **audit** each letter the target accepted (one JSONL line, flushed to disk), then
//! **delete** exactly those from the DLQ. A crash before the send leaves the letter in the DLQ (hidden until
//! its hold ends); after the send and before the delete, it is in both queues (a duplicate the idempotent
//! consumers absorb). There is no point at which it is in neither.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::audit::{Audit, Record};
use crate::letter::{redriven_attributes, Attribute, Filter, Letter, Received};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// SQS's batch size (ReceiveMessage, SendMessageBatch, DeleteMessageBatch).
pub const BATCH: usize = 10;

/// One message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Unique within the batch: the DLQ message's id.
    pub id: String,
    pub body: String,
    pub attributes: BTreeMap<String, Attribute>,
}

/// The SQS calls the commands make.
pub trait Queues: Sync {
    /// Up to [`BATCH`] messages, each hidden from other consumers for `hold`.
    fn receive(
        &self,
        url: &str,
        hold: Duration,
    ) -> impl Future<Output = Result<Vec<Received>, Error>> + Send;
    /// Makes the messages visible again at once.
    fn release(
        &self,
        url: &str,
        handles: &[String],
    ) -> impl Future<Output = Result<(), Error>> + Send;
    /// Sends a batch; for each entry id, the new message id or why it was refused.
    fn send(
        &self,
        url: &str,
        batch: &[Outgoing],
    ) -> impl Future<Output = Result<HashMap<String, Result<String, String>>, Error>> + Send;
    /// Deletes a batch; the receipt handles that could not be deleted, with why.
    fn delete(
        &self,
        url: &str,
        handles: &[String],
    ) -> impl Future<Output = Result<Vec<(String, String)>, Error>> + Send;
}

/// Reads up to `limit` letters of the queue without consuming them: each is received (hidden for `hold`),
/// decoded, and all are made visible again before returning. Messages seen twice (a hold ran out) count once.
pub async fn peek<Q: Queues>(
    queues: &Q,
    url: &str,
    limit: usize,
    hold: Duration,
) -> Result<Vec<Letter>, Error> {
    let mut held: Vec<Received> = Vec::new();
    let mut seen = HashSet::new();
    let result = async {
        let mut empty = 0;
        while seen.len() < limit && empty < 2 {
            let got = queues.receive(url, hold).await?;
            // Rounds that bring nothing new (an empty queue, or only letters whose hold ran out) end the read.
            empty += 1;
            for m in got {
                if seen.insert(m.message_id.clone()) {
                    empty = 0;
                    held.push(m);
                } else if let Some(h) = held.iter_mut().find(|h| h.message_id == m.message_id) {
                    *h = m; // the newer receipt handle is the one that releases it
                }
            }
        }
        Ok::<_, Error>(())
    }
    .await;
    let handles: Vec<String> = held.iter().map(|m| m.receipt_handle.clone()).collect();
    release_all(queues, url, &handles).await?;
    result?;
    Ok(held.iter().take(limit).map(Letter::decode).collect())
}

async fn release_all<Q: Queues>(queues: &Q, url: &str, handles: &[String]) -> Result<(), Error> {
    for chunk in handles.chunks(BATCH) {
        queues.release(url, chunk).await?;
    }
    Ok(())
}

/// Where a letter goes: a fixed queue, or (the event bus's DLQ) the target named in the letter.
pub trait Route: Sync {
    fn target(&self, letter: &Letter) -> Result<String, String>;
}

impl Route for String {
    fn target(&self, _: &Letter) -> Result<String, String> {
        Ok(self.clone())
    }
}

/// What a move does and reports.
pub struct Move<'a, R: Route> {
    pub dlq_url: &'a str,
    pub dlq_name: &'a str,
    pub route: &'a R,
    pub filter: &'a Filter,
    pub limit: Option<usize>,
    pub hold: Duration,
    pub audit: &'a mut Audit,
    pub now: fn() -> DateTime<Utc>,
}

/// Counts of a move, as it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub scanned: usize,
    pub moved: usize,
    /// Not matching the filter (left in the DLQ).
    pub kept: usize,
    /// Matching but refused by the target or not deletable (left in the DLQ, or in both queues).
    pub failed: Vec<(String, String)>,
}

/// Paces the sends (the `--rate`).
pub trait Pace: Sync {
    fn wait(&self, n: usize) -> impl Future<Output = ()> + Send;
}

/// Moves the matching letters, batch by batch, in the safe order; calls `report` after each batch.
pub async fn move_letters<Q: Queues, R: Route, P: Pace>(
    queues: &Q,
    pace: &P,
    job: Move<'_, R>,
    mut report: impl FnMut(&Progress),
) -> Result<Progress, Error> {
    let mut progress = Progress::default();
    let mut seen: HashSet<String> = HashSet::new();
    // Letters left in the DLQ stay hidden until the end, so each receive brings new ones.
    let mut kept_handles: HashMap<String, String> = HashMap::new();
    let outcome = async {
        let mut empty = 0;
        while empty < 2 && job.limit.is_none_or(|l| progress.moved < l) {
            let got = queues.receive(job.dlq_url, job.hold).await?;
            // Rounds that bring nothing new (an empty queue, or only letters whose hold ran out) end the move.
            empty += 1;
            let now = (job.now)();
            let mut to_move: Vec<(Received, Letter, String)> = vec![];
            for m in got {
                if !seen.insert(m.message_id.clone()) {
                    // Seen before (its hold ran out): it stays; keep the newer handle to release it.
                    kept_handles.insert(m.message_id.clone(), m.receipt_handle.clone());
                    continue;
                }
                empty = 0;
                progress.scanned += 1;
                let letter = Letter::decode(&m);
                let room = job
                    .limit
                    .map_or(usize::MAX, |l| l - progress.moved - to_move.len());
                if !job.filter.matches(&letter, now) || room == 0 {
                    progress.kept += 1;
                    kept_handles.insert(m.message_id.clone(), m.receipt_handle.clone());
                    continue;
                }
                match job.route.target(&letter) {
                    Ok(target) => to_move.push((m, letter, target)),
                    Err(why) => {
                        progress.failed.push((m.message_id.clone(), why));
                        kept_handles.insert(m.message_id.clone(), m.receipt_handle.clone());
                    }
                }
            }
            // One send per target queue (the event bus's DLQ feeds several).
            let mut by_target: BTreeMap<String, Vec<(Received, Letter)>> = BTreeMap::new();
            for (m, l, t) in to_move {
                by_target.entry(t).or_default().push((m, l));
            }
            for (target, letters) in by_target {
                pace.wait(letters.len()).await;
                let batch: Vec<Outgoing> = letters
                    .iter()
                    .map(|(m, _)| Outgoing {
                        id: m.message_id.clone(),
                        body: m.body.clone(),
                        attributes: redriven_attributes(&m.attributes),
                    })
                    .collect();
                let sent = queues.send(&target, &batch).await?;
                let mut delete = vec![];
                for (m, letter) in &letters {
                    match sent.get(&m.message_id) {
                        Some(Ok(new_id)) => {
                            job.audit.append(&Record::moved(
                                job.dlq_name,
                                queue_name(&target),
                                letter,
                                new_id,
                                (job.now)(),
                            ))?;
                            delete.push(m.receipt_handle.clone());
                        }
                        other => {
                            let why = match other {
                                Some(Err(why)) => why.clone(),
                                _ => "the target did not answer for it".into(),
                            };
                            progress
                                .failed
                                .push((m.message_id.clone(), format!("not sent: {why}")));
                            kept_handles.insert(m.message_id.clone(), m.receipt_handle.clone());
                        }
                    }
                }
                job.audit.sync()?;
                let not_deleted = queues.delete(job.dlq_url, &delete).await?;
                progress.moved += delete.len() - not_deleted.len();
                for (handle, why) in not_deleted {
                    progress.failed.push((
                        handle,
                        format!("sent, but not deleted from the DLQ (it is in both): {why}"),
                    ));
                }
            }
            report(&progress);
        }
        Ok::<_, Error>(())
    }
    .await;
    let handles: Vec<String> = kept_handles.into_values().collect();
    release_all(queues, job.dlq_url, &handles).await?;
    outcome?;
    Ok(progress)
}

/// A queue's name from its URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`).
pub fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

#[cfg(test)]
mod tests;
