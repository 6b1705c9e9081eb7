//! The DLQ commands' logic over a [`Queues`] port (SQS in `sqs.rs`, a fake in the tests):
//! scanning without consuming, and the message-by-message move whose order makes it crash-safe.
//!
//! The move of one batch: **send** the matching letters to the target (attributes kept, the failure's dropped,
//! `redrive.count` + 1), **audit** each letter the target accepted (one JSONL line, flushed to disk), then
//! **delete** exactly those from the DLQ. A crash before the send leaves the letter in the DLQ (hidden until
//! its hold ends); after the send and before the delete, it is in both queues (a duplicate the idempotent
//! consumers absorb). There is no point at which it is in neither.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use chrono::{DateTime, Utc};

use crate::audit::{Audit, Record};
use crate::letter::{redriven_attributes, Attribute, Filter, Letter, Received};

pub use crate::error::BoxError as Error;

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
    /// Hides the messages for `timeout` from now (0: visible again at once), up to [`BATCH`] at a time. A
    /// handle whose hold already ran out is skipped: its message comes back by itself.
    fn change_visibility(
        &self,
        url: &str,
        handles: &[String],
        timeout: Duration,
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

/// SQS's longest visibility timeout: no hold is longer.
pub const MAX_HOLD: Duration = Duration::from_secs(43_200);

/// The letters a command holds while it reads a queue: received (so hidden from other consumers), each hold
/// renewed before it runs out (for longer as the read goes on), so a read sees every letter once however long
/// it takes. Should a hold run out
/// anyway (renewing fell behind), the letter seen again counts once and the hold grows from then on (doubled,
/// and at least as long as the read has taken so far), so the read still converges; a hold that runs out at
/// [`MAX_HOLD`] ends the read, reported as incomplete.
pub struct Held {
    url: String,
    hold: Duration,
    /// When the read began (its first receive).
    started: Option<Instant>,
    /// Message id → its latest receipt handle and when its hold ends.
    letters: HashMap<String, (String, Instant)>,
    /// Holds that ran out before the read was done (letters received a second time).
    pub lapsed: usize,
}

/// What one receive brought.
pub struct Round {
    /// Letters not seen before.
    pub new: Vec<Received>,
    /// Messages received in all (new or seen again): 0 means nothing is visible.
    pub received: usize,
    /// A hold ran out even at the longest hold SQS allows: the read cannot be made whole.
    pub hopeless: bool,
}

impl Held {
    pub fn new(url: &str, hold: Duration) -> Self {
        Self {
            url: url.to_owned(),
            hold: hold.clamp(Duration::from_secs(1), MAX_HOLD),
            started: None,
            letters: HashMap::new(),
            lapsed: 0,
        }
    }

    /// The hold given now (it grows when holds run out).
    pub fn hold(&self) -> Duration {
        self.hold
    }

    /// Renews the holds that end within half a hold, then receives the next letters.
    pub async fn receive<Q: Queues>(&mut self, queues: &Q) -> Result<Round, Error> {
        let now = Instant::now();
        let started = *self.started.get_or_insert(now);
        let due: Vec<String> = self
            .letters
            .iter()
            .filter(|(_, (_, until))| until.saturating_duration_since(now) < self.hold / 2)
            .map(|(id, _)| id.clone())
            .collect();
        if !due.is_empty() {
            // A read still going after half a hold will likely go on as long again: renewing for twice what it
            // has taken so far keeps the renewals few (each letter a handful of times, not once per half hold).
            self.hold = self.hold.max(started.elapsed() * 2).min(MAX_HOLD);
        }
        for chunk in due.chunks(BATCH) {
            let handles: Vec<String> = chunk.iter().map(|id| self.letters[id].0.clone()).collect();
            let renewed_at = Instant::now();
            queues
                .change_visibility(&self.url, &handles, self.hold)
                .await?;
            for id in chunk {
                if let Some(letter) = self.letters.get_mut(id) {
                    letter.1 = renewed_at + self.hold;
                }
            }
        }
        let received_at = Instant::now();
        let got = queues.receive(&self.url, self.hold).await?;
        let mut round = Round {
            new: vec![],
            received: got.len(),
            hopeless: false,
        };
        let mut again = 0;
        for m in got {
            let held = (m.receipt_handle.clone(), received_at + self.hold);
            if self.letters.insert(m.message_id.clone(), held).is_none() {
                round.new.push(m);
            } else {
                again += 1;
            }
        }
        if again > 0 {
            self.lapsed += again;
            round.hopeless = self.hold >= MAX_HOLD;
            self.hold = (self.hold * 2).max(started.elapsed()).min(MAX_HOLD);
        }
        Ok(round)
    }

    /// The receipt handle a letter is held by now.
    pub fn handle(&self, message_id: &str) -> Option<&str> {
        self.letters.get(message_id).map(|(h, _)| h.as_str())
    }

    /// Letters no longer held (deleted).
    pub fn forget<'a>(&mut self, message_ids: impl IntoIterator<Item = &'a String>) {
        for id in message_ids {
            self.letters.remove(id);
        }
    }

    /// Makes every held letter visible again.
    pub async fn release<Q: Queues>(self, queues: &Q) -> Result<(), Error> {
        let handles: Vec<String> = self.letters.into_values().map(|(h, _)| h).collect();
        for chunk in handles.chunks(BATCH) {
            queues
                .change_visibility(&self.url, chunk, Duration::ZERO)
                .await?;
        }
        Ok(())
    }
}

/// Receives that come back empty, one after the other, before a read counts the queue as read through
/// (long polling asks every SQS server, so one would do; the second costs a second and guards the emulator).
const EMPTY_ROUNDS: usize = 2;

/// What a read of a queue found.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub letters: Vec<Letter>,
    /// Whether every visible letter was read (not stopped by the limit, nor by a hold that could not be kept).
    pub complete: bool,
    /// Holds that ran out during the read (the letters were counted once all the same).
    pub lapsed: usize,
}

impl Scan {
    /// The read of a queue with nothing in it.
    pub fn empty() -> Self {
        Self {
            letters: vec![],
            complete: true,
            lapsed: 0,
        }
    }
}

/// Reads up to `limit` letters of the queue without consuming them: each is held while the read runs (see
/// [`Held`]), decoded, and all are made visible again before returning.
pub async fn peek<Q: Queues>(
    queues: &Q,
    url: &str,
    limit: usize,
    hold: Duration,
) -> Result<Scan, Error> {
    let mut held = Held::new(url, hold);
    let mut letters: Vec<Received> = Vec::new();
    let result: Result<bool, Error> = async {
        let mut empty = 0;
        loop {
            // Past the limit: more letters than asked for (exactly the limit, then nothing: all of them).
            if letters.len() > limit {
                return Ok(false);
            }
            let round = held.receive(queues).await?;
            if round.hopeless {
                return Ok(false);
            }
            letters.extend(round.new);
            empty = if round.received == 0 { empty + 1 } else { 0 };
            if empty >= EMPTY_ROUNDS {
                return Ok(true);
            }
        }
    }
    .await;
    let lapsed = held.lapsed;
    held.release(queues).await?;
    let complete: bool = result?;
    Ok(Scan {
        complete: complete && letters.len() <= limit,
        letters: letters.iter().take(limit).map(Letter::decode).collect(),
        lapsed,
    })
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
    /// Whether the move went through every letter of the DLQ (not stopped by its limit or a hold it could
    /// not keep).
    pub complete: bool,
    /// Holds that ran out during the move (those letters were looked at once all the same).
    pub lapsed: usize,
}

/// Paces the sends (the `--rate`).
pub trait Pace: Sync {
    fn wait(&self, n: usize) -> impl Future<Output = ()> + Send;
}

/// Moves the matching letters, batch by batch, in the safe order; calls `report` after each batch. Letters it
/// leaves in the DLQ stay held (see [`Held`]) until the end, so each receive brings new ones.
pub async fn move_letters<Q: Queues, R: Route, P: Pace>(
    queues: &Q,
    pace: &P,
    job: Move<'_, R>,
    mut report: impl FnMut(&Progress),
) -> Result<Progress, Error> {
    let mut progress = Progress::default();
    let mut held = Held::new(job.dlq_url, job.hold);
    let outcome = async {
        let mut empty = 0;
        while job.limit.is_none_or(|l| progress.moved < l) {
            let round = held.receive(queues).await?;
            if round.hopeless {
                return Ok(());
            }
            empty = if round.received == 0 { empty + 1 } else { 0 };
            if empty >= EMPTY_ROUNDS {
                progress.complete = true;
                return Ok(());
            }
            let now = (job.now)();
            let mut to_move: Vec<(Received, Letter, String)> = vec![];
            for m in round.new {
                progress.scanned += 1;
                let letter = Letter::decode(&m);
                let room = job
                    .limit
                    .map_or(usize::MAX, |l| l - progress.moved - to_move.len());
                if !job.filter.matches(&letter, now) || room == 0 {
                    progress.kept += 1;
                    continue;
                }
                match job.route.target(&letter) {
                    Ok(target) => to_move.push((m, letter, target)),
                    Err(why) => progress.failed.push((m.message_id.clone(), why)),
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
                let mut delete: Vec<(String, String)> = vec![];
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
                            // The handle it is held by now (a renewal may have come after the receive).
                            let handle = held.handle(&m.message_id).unwrap_or(&m.receipt_handle);
                            delete.push((m.message_id.clone(), handle.to_owned()));
                        }
                        other => {
                            let why = match other {
                                Some(Err(why)) => why.clone(),
                                _ => "the target did not answer for it".into(),
                            };
                            progress
                                .failed
                                .push((m.message_id.clone(), format!("not sent: {why}")));
                        }
                    }
                }
                job.audit.sync()?;
                let handles: Vec<String> = delete.iter().map(|(_, h)| h.clone()).collect();
                let not_deleted = queues.delete(job.dlq_url, &handles).await?;
                progress.moved += delete.len() - not_deleted.len();
                held.forget(
                    delete
                        .iter()
                        .filter(|(_, h)| !not_deleted.iter().any(|(n, _)| n == h))
                        .map(|(id, _)| id),
                );
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
    progress.lapsed = held.lapsed;
    held.release(queues).await?;
    outcome?;
    Ok(progress)
}

/// A queue's name from its URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`).
pub fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

#[cfg(test)]
mod tests;
