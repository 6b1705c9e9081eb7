use std::collections::HashSet;
use std::sync::Mutex;

use chrono::TimeZone;
use tokio::time::Instant;

use super::*;
use crate::letter::{ERROR_KIND, REDRIVE_COUNT};

/// An in-memory SQS on tokio's (paused) clock: per queue, messages hidden until a deadline; every call takes
/// `cost` of that clock, as a round trip to SQS does.
#[derive(Default)]
struct FakeSqs {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    queues: BTreeMap<String, Vec<Stored>>,
    next: usize,
    /// Entry ids the target refuses.
    refuse: HashSet<String>,
    /// The deletes fail (the process "dies" between send and delete).
    die_on_delete: bool,
    /// Holds run out at once, and visibility changes are ignored (another consumer resets them).
    leaky_holds: bool,
    /// How long each call takes.
    cost: Duration,
    calls: Vec<String>,
}

#[derive(Clone)]
struct Stored {
    id: String,
    handle: String,
    body: String,
    attributes: BTreeMap<String, Attribute>,
    hidden_until: Option<Instant>,
}

impl Stored {
    fn hidden(&self) -> bool {
        self.hidden_until.is_some_and(|t| Instant::now() < t)
    }
}

impl FakeSqs {
    fn with(dlq: &str, letters: &[(&str, &str)]) -> Self {
        let sqs = FakeSqs::default();
        {
            let mut s = sqs.state.lock().unwrap();
            let q = s.queues.entry(dlq.into()).or_default();
            for (i, (body, kind)) in letters.iter().enumerate() {
                q.push(Stored {
                    id: format!("m{i}"),
                    handle: String::new(),
                    body: (*body).into(),
                    attributes: [(ERROR_KIND.to_owned(), Attribute::string(*kind))].into(),
                    hidden_until: None,
                });
            }
        }
        sqs
    }

    fn bodies(&self, url: &str) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.queues
            .get(url)
            .map(|q| q.iter().map(|m| m.body.clone()).collect())
            .unwrap_or_default()
    }

    fn visible(&self, url: &str) -> usize {
        let s = self.state.lock().unwrap();
        s.queues
            .get(url)
            .map(|q| q.iter().filter(|m| !m.hidden()).count())
            .unwrap_or(0)
    }

    fn expire_holds(&self) {
        for q in self.state.lock().unwrap().queues.values_mut() {
            q.iter_mut().for_each(|m| m.hidden_until = None);
        }
    }

    fn costing(self, cost: Duration) -> Self {
        self.state.lock().unwrap().cost = cost;
        self
    }

    /// Takes a call's time on the clock.
    async fn call(&self) {
        let cost = self.state.lock().unwrap().cost;
        if !cost.is_zero() {
            tokio::time::sleep(cost).await;
        }
    }
}

impl Queues for FakeSqs {
    async fn receive(&self, url: &str, hold: Duration) -> Result<Vec<Received>, Error> {
        self.call().await;
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!("receive {url}"));
        let leaky = s.leaky_holds;
        let mut next = s.next;
        let q = s.queues.entry(url.into()).or_default();
        let mut out = vec![];
        for m in q.iter_mut().filter(|m| !m.hidden()).take(BATCH) {
            next += 1;
            m.hidden_until = (!leaky).then(|| Instant::now() + hold);
            m.handle = format!("h{next}");
            out.push(Received {
                message_id: m.id.clone(),
                receipt_handle: m.handle.clone(),
                body: m.body.clone(),
                attributes: m.attributes.clone(),
                receive_count: 1,
                sent_at: None,
            });
        }
        s.next = next;
        Ok(out)
    }

    async fn change_visibility(
        &self,
        url: &str,
        handles: &[String],
        timeout: Duration,
    ) -> Result<(), Error> {
        self.call().await;
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!(
            "visibility {url} {} {}s",
            handles.len(),
            timeout.as_secs()
        ));
        if s.leaky_holds {
            return Ok(());
        }
        for m in s.queues.entry(url.into()).or_default() {
            // As SQS: only a message still held by that receipt handle changes.
            if handles.contains(&m.handle) && m.hidden() {
                m.hidden_until = Some(Instant::now() + timeout);
            }
        }
        Ok(())
    }

    async fn send(
        &self,
        url: &str,
        batch: &[Outgoing],
    ) -> Result<HashMap<String, Result<String, String>>, Error> {
        self.call().await;
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!("send {url} {}", batch.len()));
        let mut out = HashMap::new();
        for o in batch {
            if s.refuse.contains(&o.id) {
                out.insert(o.id.clone(), Err("refused".into()));
                continue;
            }
            s.next += 1;
            let id = format!("n{}", s.next);
            s.queues.entry(url.into()).or_default().push(Stored {
                id: id.clone(),
                handle: String::new(),
                body: o.body.clone(),
                attributes: o.attributes.clone(),
                hidden_until: None,
            });
            out.insert(o.id.clone(), Ok(id));
        }
        Ok(out)
    }

    async fn delete(&self, url: &str, handles: &[String]) -> Result<Vec<(String, String)>, Error> {
        self.call().await;
        let mut s = self.state.lock().unwrap();
        s.calls.push(format!("delete {url} {}", handles.len()));
        if s.die_on_delete {
            return Err("killed".into());
        }
        s.queues
            .entry(url.into())
            .or_default()
            .retain(|m| !handles.contains(&m.handle));
        Ok(vec![])
    }
}

struct NoPace;
impl Pace for NoPace {
    async fn wait(&self, _: usize) {}
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0)
        .single()
        .expect("time")
}

fn envelope(i: usize, kind: &str) -> String {
    format!(
        r#"{{"version":"1","id":"e{i}","correlationId":"c","type":"{kind}","source":"s","time":"t","data":{{}}}}"#
    )
}

fn audit() -> (Audit, PathBuf) {
    let dir = std::env::temp_dir().join(format!("ecobid-ops-test-{}", uuid::Uuid::new_v4()));
    let path = dir.join("audit.jsonl");
    (Audit::open(&path, "tester").expect("audit"), path)
}

use std::path::PathBuf;

async fn redrive(
    sqs: &FakeSqs,
    filter: &[&str],
    limit: Option<usize>,
    audit: &mut Audit,
) -> Result<Progress, Error> {
    let filter = Filter(
        filter
            .iter()
            .map(|c| c.parse().expect("condition"))
            .collect(),
    );
    let target = "target".to_owned();
    move_letters(
        sqs,
        &NoPace,
        Move {
            dlq_url: "dlq",
            dlq_name: "dlq",
            route: &target,
            filter: &filter,
            limit,
            hold: Duration::from_secs(60),
            audit,
            now,
        },
        |_| {},
    )
    .await
}

fn mixed(n: usize) -> Vec<(String, &'static str)> {
    (0..n)
        .map(|i| {
            let (t, k) = if i % 3 == 0 {
                ("ItemCreated", "rejected")
            } else {
                ("BidPlaced", "transient")
            };
            (envelope(i, t), k)
        })
        .collect()
}

#[tokio::test]
async fn peek_reads_every_letter_and_leaves_them_all_visible() {
    let letters = mixed(25);
    let refs: Vec<(&str, &str)> = letters.iter().map(|(b, k)| (b.as_str(), *k)).collect();
    let sqs = FakeSqs::with("dlq", &refs);
    let seen = peek(&sqs, "dlq", 1000, Duration::from_secs(30))
        .await
        .expect("peek");
    assert_eq!((seen.letters.len(), seen.complete), (25, true));
    assert_eq!(sqs.visible("dlq"), 25, "peek consumed nothing");
    let limited = peek(&sqs, "dlq", 7, Duration::from_secs(30))
        .await
        .expect("peek");
    assert_eq!((limited.letters.len(), limited.complete), (7, false));
    assert_eq!(sqs.visible("dlq"), 25);
    // A limit of exactly the queue's letters reads them all: the figures are whole, not a sample.
    let exact = peek(&sqs, "dlq", 25, Duration::from_secs(30))
        .await
        .expect("peek");
    assert_eq!((exact.letters.len(), exact.complete), (25, true));
    assert_eq!(sqs.visible("dlq"), 25);
}

fn thousand() -> FakeSqs {
    let letters = mixed(1000);
    let refs: Vec<(&str, &str)> = letters.iter().map(|(b, k)| (b.as_str(), *k)).collect();
    FakeSqs::with("dlq", &refs)
}

#[tokio::test(start_paused = true)]
async fn a_read_longer_than_the_hold_still_counts_every_letter_once() {
    // GIVEN 1,000 letters, 100 ms a call, and a 2 s hold: reading them takes far longer than a hold
    let sqs = thousand().costing(Duration::from_millis(100));
    let started = Instant::now();
    // WHEN peeked
    let scan = peek(&sqs, "dlq", 5000, Duration::from_secs(2))
        .await
        .expect("peek");
    // THEN every letter is read exactly once, the read says it is whole, and all are visible again
    let ids: std::collections::BTreeSet<&str> =
        scan.letters.iter().map(|l| l.message_id.as_str()).collect();
    assert_eq!(
        (scan.letters.len(), ids.len(), scan.complete),
        (1000, 1000, true)
    );
    assert!(
        started.elapsed() > Duration::from_secs(10),
        "the read outlasted the hold"
    );
    let rejected = scan
        .letters
        .iter()
        .filter(|l| l.error_kind == "rejected")
        .count();
    assert_eq!(rejected, 334);
    assert_eq!(sqs.visible("dlq"), 1000);
}

#[tokio::test(start_paused = true)]
async fn holds_are_renewed_before_they_run_out() {
    // GIVEN a hold longer than the bare read (100 receives of 100 ms) but shorter than the read with its
    // renewals: renewing every held letter each half hold is feasible, and needed
    let sqs = thousand().costing(Duration::from_millis(100));
    let started = Instant::now();
    let scan = peek(&sqs, "dlq", 5000, Duration::from_secs(20))
        .await
        .expect("peek");
    // THEN no hold ran out: each was renewed (visibility set to the hold) while the read went on
    assert!(
        started.elapsed() > Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        (scan.letters.len(), scan.lapsed, scan.complete),
        (1000, 0, true)
    );
    let calls = sqs.state.lock().unwrap().calls.clone();
    assert!(
        calls.iter().any(|c| c.starts_with("visibility dlq 10 20s")),
        "renewals: {:?}",
        calls
            .iter()
            .filter(|c| c.starts_with("visibility"))
            .take(3)
            .collect::<Vec<_>>()
    );
}

#[tokio::test(start_paused = true)]
async fn a_move_longer_than_the_hold_looks_at_each_letter_once() {
    let letters = mixed(300);
    let refs: Vec<(&str, &str)> = letters.iter().map(|(b, k)| (b.as_str(), *k)).collect();
    let sqs = FakeSqs::with("dlq", &refs).costing(Duration::from_millis(100));
    let (mut log, _) = audit();
    let filter = Filter(vec!["type=ItemCreated".parse().expect("condition")]);
    let target = "target".to_owned();
    let progress = move_letters(
        &sqs,
        &NoPace,
        Move {
            dlq_url: "dlq",
            dlq_name: "dlq",
            route: &target,
            filter: &filter,
            limit: None,
            hold: Duration::from_secs(2),
            audit: &mut log,
            now,
        },
        |_| {},
    )
    .await
    .expect("moved");
    assert_eq!(
        (
            progress.scanned,
            progress.moved,
            progress.kept,
            progress.complete
        ),
        (300, 100, 200, true)
    );
    assert_eq!(sqs.bodies("target").len(), 100);
    assert_eq!(sqs.visible("dlq"), 200);
}

#[tokio::test]
async fn a_filtered_redrive_moves_exactly_the_matching_letters_and_audits_each() {
    // GIVEN 30 letters, 10 of them ItemCreated/rejected
    let letters = mixed(30);
    let refs: Vec<(&str, &str)> = letters.iter().map(|(b, k)| (b.as_str(), *k)).collect();
    let sqs = FakeSqs::with("dlq", &refs);
    let (mut log, path) = audit();
    // WHEN redriven with a filter
    let progress = redrive(&sqs, &["type=ItemCreated", "kind=rejected"], None, &mut log)
        .await
        .expect("moved");
    // THEN exactly those moved, the rest are in the DLQ and visible again, one audit line per move
    assert_eq!(
        (progress.moved, progress.kept, progress.scanned),
        (10, 20, 30)
    );
    assert!(progress.failed.is_empty());
    let moved = sqs.bodies("target");
    assert_eq!(moved.len(), 10);
    assert!(moved.iter().all(|b| b.contains("ItemCreated")));
    assert_eq!(sqs.bodies("dlq").len(), 20);
    assert_eq!(sqs.visible("dlq"), 20);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&path)
        .expect("log")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 10);
    assert_eq!(lines[0]["who"], "tester");
    assert_eq!(lines[0]["action"], "redrive");
    assert_eq!(lines[0]["from"], "dlq");
    assert_eq!(lines[0]["to"], "target");
    assert_eq!(lines[0]["type"], "ItemCreated");
    // The redriven copy carries the count, not the failure.
    let s = sqs.state.lock().unwrap();
    let copy = &s.queues["target"][0];
    assert_eq!(copy.attributes[REDRIVE_COUNT], Attribute::number(1));
    assert!(!copy.attributes.contains_key(ERROR_KIND));
}

#[tokio::test]
async fn send_comes_before_delete_and_a_refused_letter_stays() {
    let letters = mixed(3);
    let refs: Vec<(&str, &str)> = letters.iter().map(|(b, k)| (b.as_str(), *k)).collect();
    let sqs = FakeSqs::with("dlq", &refs);
    sqs.state.lock().unwrap().refuse.insert("m1".into());
    let (mut log, _) = audit();
    let progress = redrive(&sqs, &[], None, &mut log).await.expect("moved");
    assert_eq!(progress.moved, 2);
    assert_eq!(progress.failed.len(), 1, "{:?}", progress.failed);
    assert_eq!(sqs.bodies("dlq"), vec![letters[1].0.clone()]);
    assert_eq!(sqs.visible("dlq"), 1, "the refused letter is visible again");
    let calls = sqs.state.lock().unwrap().calls.clone();
    let send = calls
        .iter()
        .position(|c| c.starts_with("send"))
        .expect("a send");
    let delete = calls
        .iter()
        .position(|c| c.starts_with("delete"))
        .expect("a delete");
    assert!(send < delete, "{calls:?}");
}

#[tokio::test]
async fn killed_between_send_and_delete_nothing_is_lost_and_a_rerun_finishes() {
    // GIVEN the process dies right after its first send
    let letters = mixed(25);
    let refs: Vec<(&str, &str)> = letters.iter().map(|(b, k)| (b.as_str(), *k)).collect();
    let sqs = FakeSqs::with("dlq", &refs);
    sqs.state.lock().unwrap().die_on_delete = true;
    let (mut log, _) = audit();
    assert!(redrive(&sqs, &[], None, &mut log).await.is_err());
    // THEN every letter is in the DLQ or the target (the first batch in both)
    let in_both: usize = letters
        .iter()
        .filter(|(b, _)| sqs.bodies("dlq").contains(b) && sqs.bodies("target").contains(b))
        .count();
    assert_eq!(in_both, 10);
    for (b, _) in &letters {
        assert!(
            sqs.bodies("dlq").contains(b) || sqs.bodies("target").contains(b),
            "lost {b}"
        );
    }
    // WHEN run again after the holds ran out
    sqs.state.lock().unwrap().die_on_delete = false;
    sqs.expire_holds();
    let progress = redrive(&sqs, &[], None, &mut log).await.expect("moved");
    // THEN the DLQ is empty and every letter reached the target (the first ten twice)
    assert_eq!(progress.moved, 25);
    assert!(sqs.bodies("dlq").is_empty());
    let target = sqs.bodies("target");
    assert_eq!(target.len(), 35);
    for (b, _) in &letters {
        assert!(target.contains(b));
    }
}

#[tokio::test]
async fn the_limit_stops_the_move_and_leaves_the_rest() {
    let letters = mixed(25);
    let refs: Vec<(&str, &str)> = letters.iter().map(|(b, k)| (b.as_str(), *k)).collect();
    let sqs = FakeSqs::with("dlq", &refs);
    let (mut log, _) = audit();
    let progress = redrive(&sqs, &[], Some(13), &mut log).await.expect("moved");
    assert_eq!(progress.moved, 13);
    assert_eq!(sqs.bodies("target").len(), 13);
    assert_eq!(sqs.visible("dlq"), 12);
}

#[tokio::test(start_paused = true)]
async fn holds_that_cannot_be_kept_end_the_read_as_a_sample() {
    // GIVEN holds that run out at once whatever is asked (another consumer resets them), and a filter that
    // matches nothing
    let letters = mixed(30);
    let refs: Vec<(&str, &str)> = letters.iter().map(|(b, k)| (b.as_str(), *k)).collect();
    let sqs = FakeSqs::with("dlq", &refs).costing(Duration::from_millis(10));
    sqs.state.lock().unwrap().leaky_holds = true;
    let (mut log, _) = audit();
    // WHEN moved and peeked, THEN both end (the hold doubles up to SQS's 12 h, then gives up), say they are
    // incomplete, and move or lose nothing
    let progress = redrive(&sqs, &["type=Nothing"], None, &mut log)
        .await
        .expect("ends");
    assert_eq!((progress.moved, progress.complete), (0, false));
    assert!(progress.lapsed > 0);
    assert_eq!(sqs.bodies("dlq").len(), 30);
    let scan = peek(&sqs, "dlq", 1000, Duration::from_secs(1))
        .await
        .expect("ends");
    assert!(!scan.complete);
    assert!(scan.letters.len() <= 30);
}
