//! A DynamoDB stream event-source mapping: one poller per shard reads records in order, invokes the function
//! with the `DynamoDBEvent` Lambda builds and moves on when the batch succeeded or was given up on, as Lambda
//! does (<https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html>):
//! - `batchItemFailures` naming a record: the batch is retried from the lowest one named;
//! - an invocation error or timeout: with `BisectBatchOnFunctionError`, the batch is split in two and each half
//!   retried in turn (a split is not a retry); otherwise it is retried whole;
//! - after `MaximumRetryAttempts` retries (-1: forever), the batch is given up on: Lambda's invocation record
//!   (shard and sequence range, not the records) goes to the on-failure SQS destination, and the shard moves on.
//!
//! Retries wait 0.5 s doubling up to 30 s. The last sequence number done is kept in the work dir, so a
//! restarted runner resumes where it stopped.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use base64::Engine;
use serde_json::{json, Map, Value};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::discover::StreamMapping;
use crate::function::Function;

/// Where a mapping's pollers send what they give up on.
#[derive(Clone)]
pub struct Destinations {
    pub sqs: aws_sdk_sqs::Client,
    pub region: String,
}

pub fn play(
    mapping: StreamMapping,
    function: Function,
    streams: Client,
    checkpoints: PathBuf,
    destinations: Destinations,
    tasks: &mut JoinSet<()>,
) {
    tasks.spawn(async move {
        // Held here, so the shards' pollers stop with this task.
        let mut pollers = JoinSet::new();
        let mut playing: HashSet<String> = HashSet::new();
        loop {
            // New shards appear as the stream rolls over: look for them now and then.
            match shards(&streams, &mapping.stream_arn).await {
                Ok(found) => {
                    for shard in found {
                        if playing.insert(shard.clone()) {
                            let (m, f, s, c, r) = (
                                mapping.clone(),
                                function.clone(),
                                streams.clone(),
                                checkpoints.clone(),
                                destinations.clone(),
                            );
                            pollers.spawn(async move { poll_shard(m, f, s, shard, c, r).await });
                        }
                    }
                }
                Err(e) => warn!(stream = %mapping.stream_arn, error.message = %e, "describing the stream failed"),
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
    });
}

async fn shards(
    streams: &Client,
    arn: &str,
) -> Result<Vec<String>, aws_sdk_dynamodbstreams::Error> {
    let described = streams.describe_stream().stream_arn(arn).send().await?;
    Ok(described
        .stream_description()
        .map(|d| {
            d.shards()
                .iter()
                .filter_map(|s| s.shard_id().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

async fn iterator(
    streams: &Client,
    mapping: &StreamMapping,
    shard: &str,
    after: Option<&str>,
) -> Result<Option<String>, aws_sdk_dynamodbstreams::Error> {
    let request = streams
        .get_shard_iterator()
        .stream_arn(&mapping.stream_arn)
        .shard_id(shard);
    let request = match after {
        Some(seq) => request
            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
            .sequence_number(seq),
        None => {
            request.shard_iterator_type(ShardIteratorType::from(mapping.starting_position.as_str()))
        }
    };
    Ok(request.send().await?.shard_iterator().map(str::to_owned))
}

async fn poll_shard(
    mapping: StreamMapping,
    function: Function,
    streams: Client,
    shard: String,
    checkpoints: PathBuf,
    destinations: Destinations,
) {
    let checkpoint = checkpoints.join(&shard);
    let mut done = tokio::fs::read_to_string(&checkpoint)
        .await
        .ok()
        .map(|s| s.trim().to_owned());
    let mut next: Option<String> = None;
    loop {
        let it = match &next {
            Some(it) => it.clone(),
            None => match iterator(&streams, &mapping, &shard, done.as_deref()).await {
                Ok(Some(it)) => it,
                Ok(None) => return, // a closed shard, read to its end
                Err(e) => {
                    warn!(shard, error.message = %e, "getting a shard iterator failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        let page = match streams
            .get_records()
            .shard_iterator(&it)
            .limit(mapping.batch_size.min(1000) as i32)
            .send()
            .await
        {
            Ok(page) => page,
            Err(e) => {
                warn!(shard, error.message = %e, "reading the stream failed; retrying");
                next = None;
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        next = page.next_shard_iterator().map(str::to_owned);
        let records = page.records().to_vec();
        if records.is_empty() {
            if next.is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        deliver(&mapping, &function, &records, &shard, &destinations).await;
        done = records
            .last()
            .and_then(|r| r.dynamodb())
            .and_then(|d| d.sequence_number())
            .map(str::to_owned);
        if let Some(seq) = &done {
            let _ = tokio::fs::create_dir_all(&checkpoints).await;
            if let Err(e) = tokio::fs::write(&checkpoint, seq).await {
                warn!(error.message = %e, "could not keep the stream position");
            }
        }
    }
}

/// A batch of the shard as Lambda retries it: its records and how often it was retried.
#[derive(Debug, Clone)]
struct Batch {
    records: Vec<Record>,
    retries: u32,
}

/// What an invocation's outcome makes of its batch.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Next {
    Done,
    /// Retry from this record on (a retry).
    RetryFrom(usize),
    /// Retry the two halves, the first first (not a retry).
    Split(usize),
}

/// Lambda's handling of an invocation's outcome: `failed_from` is the first failed record (a partial
/// failure), `errored` an invocation error or timeout.
fn next(mapping: &StreamMapping, len: usize, errored: bool, failed_from: Option<usize>) -> Next {
    match (errored, failed_from) {
        (true, _) if mapping.bisect && len > 1 => Next::Split(len.div_ceil(2)),
        (true, _) => Next::RetryFrom(0),
        (false, Some(i)) => Next::RetryFrom(i),
        (false, None) => Next::Done,
    }
}

/// Whether a batch retried this often is given up on.
fn exhausted(mapping: &StreamMapping, retries: u32) -> bool {
    mapping.max_retries.is_some_and(|max| retries > max)
}

/// Invokes the function on the records until each is done or given up on, as Lambda does.
async fn deliver(
    mapping: &StreamMapping,
    function: &Function,
    records: &[Record],
    shard: &str,
    destinations: &Destinations,
) {
    let mut todo = VecDeque::from([Batch {
        records: records.to_vec(),
        retries: 0,
    }]);
    while let Some(mut batch) = todo.pop_front() {
        let mut delay = Duration::from_millis(500);
        loop {
            let event = json!({
                "Records": batch.records.iter().map(|r| record(r, &mapping.stream_arn, &destinations.region)).collect::<Vec<_>>()
            });
            let started = Instant::now();
            let outcome = function.invoke(&event).await;
            let duration_ms = started.elapsed().as_millis() as u64;
            let answer: Result<Option<usize>, String> = match &outcome {
                Err(e) => Err(e.to_string()),
                Ok(answer) if mapping.report_failures => {
                    first_failed(answer, &batch.records).map_err(|e| e.to_owned())
                }
                Ok(_) => Ok(None),
            };
            let step = match &answer {
                Ok(failed_from) => next(mapping, batch.records.len(), false, *failed_from),
                Err(_) => next(mapping, batch.records.len(), true, None),
            };
            info!(
                function = function.name(),
                source = %mapping.stream_arn,
                batch_size = batch.records.len(),
                duration_ms,
                retries = batch.retries,
                next = ?step,
                error = answer.as_ref().err().map(String::as_str).unwrap_or(""),
                "invoked"
            );
            match step {
                Next::Done => break,
                Next::Split(at) => {
                    let second = batch.records.split_off(at);
                    todo.push_front(Batch {
                        records: second,
                        retries: batch.retries,
                    });
                    todo.push_front(batch);
                    break;
                }
                Next::RetryFrom(i) => {
                    batch.records.drain(..i);
                    batch.retries += 1;
                    if exhausted(mapping, batch.retries) {
                        give_up(mapping, function, &batch, shard, answer.err(), destinations).await;
                        break;
                    }
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }
}

/// Sends Lambda's record of a batch given up on to the mapping's on-failure destination, until SQS takes it.
async fn give_up(
    mapping: &StreamMapping,
    function: &Function,
    batch: &Batch,
    shard: &str,
    error: Option<String>,
    destinations: &Destinations,
) {
    let body = failure_record(mapping, batch, shard, error.is_some(), chrono::Utc::now());
    let Some(arn) = mapping.on_failure.as_deref() else {
        warn!(
            function = function.name(),
            shard,
            records = batch.records.len(),
            "retries exhausted and no on-failure destination: the records are skipped"
        );
        return;
    };
    let Some((account, name)) = sqs_queue(arn) else {
        warn!(
            function = function.name(),
            destination = arn,
            "the runner plays SQS on-failure destinations only: the records are skipped"
        );
        return;
    };
    let mut delay = Duration::from_millis(500);
    loop {
        let sent = async {
            let url = destinations
                .sqs
                .get_queue_url()
                .queue_name(name)
                .queue_owner_aws_account_id(account)
                .send()
                .await?
                .queue_url
                .unwrap_or_default();
            destinations
                .sqs
                .send_message()
                .queue_url(url)
                .message_body(body.to_string())
                .send()
                .await?;
            Ok::<_, aws_sdk_sqs::Error>(())
        }
        .await;
        match sent {
            Ok(()) => {
                warn!(
                    function = function.name(),
                    shard,
                    records = batch.records.len(),
                    destination = arn,
                    error = error.as_deref().unwrap_or(""),
                    "retries exhausted: the batch went to the on-failure destination"
                );
                return;
            }
            Err(e) => {
                warn!(destination = arn, error.message = %e, "sending to the on-failure destination failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// `arn:aws:sqs:<region>:<account>:<name>`: the account and name.
fn sqs_queue(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, service, _, account, name) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    (service == "sqs").then_some((account, name))
}

/// The invocation record Lambda sends an on-failure destination for a stream batch it gave up on.
fn failure_record(
    mapping: &StreamMapping,
    batch: &Batch,
    shard: &str,
    errored: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Value {
    let sequence = |r: Option<&Record>| {
        r.and_then(|r| r.dynamodb())
            .and_then(|d| d.sequence_number())
            .map(str::to_owned)
    };
    let arrival = |r: Option<&Record>| {
        r.and_then(|r| r.dynamodb())
            .and_then(|d| d.approximate_creation_date_time())
            .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), 0))
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    };
    let mut response = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
    if errored {
        response["functionError"] = json!("Unhandled");
    }
    json!({
        "requestContext": {
            "requestId": uuid::Uuid::new_v4().to_string(),
            "functionArn": mapping.function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": batch.retries,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": sequence(batch.records.first()),
            "endSequenceNumber": sequence(batch.records.last()),
            "approximateArrivalOfFirstRecord": arrival(batch.records.first()),
            "approximateArrivalOfLastRecord": arrival(batch.records.last()),
            "batchSize": batch.records.len(),
            "streamArn": mapping.stream_arn,
        }
    })
}

/// The index of the record the stream must be retried from, per the answer's `batchItemFailures` (the
/// sequence numbers of failed records: Lambda retries from the lowest).
fn first_failed(answer: &Value, records: &[Record]) -> Result<Option<usize>, &'static str> {
    let Some(items) = answer.get("batchItemFailures").and_then(Value::as_array) else {
        return Ok(None);
    };
    let mut first: Option<usize> = None;
    for item in items {
        let Some(seq) = item["itemIdentifier"].as_str() else {
            return Err("a batchItemFailures entry has no itemIdentifier");
        };
        let Some(i) = records
            .iter()
            .position(|r| r.dynamodb().and_then(|d| d.sequence_number()) == Some(seq))
        else {
            return Err("batchItemFailures names a record not in the batch");
        };
        first = Some(first.map_or(i, |f| f.min(i)));
    }
    Ok(first)
}

/// One record of the `DynamoDBEvent`, as Lambda builds it.
pub fn record(r: &Record, stream_arn: &str, region: &str) -> Value {
    let d = r.dynamodb();
    let image = |m: Option<&std::collections::HashMap<String, AttributeValue>>| -> Value {
        Value::Object(
            m.map(|m| m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect())
                .unwrap_or_default(),
        )
    };
    let mut change = Map::new();
    if let Some(t) = d.and_then(|d| d.approximate_creation_date_time()) {
        change.insert("ApproximateCreationDateTime".into(), json!(t.secs() as f64));
    }
    change.insert("Keys".into(), image(d.and_then(|d| d.keys())));
    if let Some(new) = d.and_then(|d| d.new_image()) {
        change.insert("NewImage".into(), image(Some(new)));
    }
    if let Some(old) = d.and_then(|d| d.old_image()) {
        change.insert("OldImage".into(), image(Some(old)));
    }
    change.insert(
        "SequenceNumber".into(),
        json!(d.and_then(|d| d.sequence_number())),
    );
    change.insert(
        "SizeBytes".into(),
        json!(d.and_then(|d| d.size_bytes()).unwrap_or(0)),
    );
    change.insert(
        "StreamViewType".into(),
        json!(d.and_then(|d| d.stream_view_type()).map(|v| v.as_str())),
    );
    json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|n| n.as_str()),
        "eventVersion": r.event_version().unwrap_or("1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": r.aws_region().unwrap_or(region),
        "dynamodb": change,
        "eventSourceARN": stream_arn,
    })
}

/// An attribute value in DynamoDB's JSON (`{"S": "…"}`, `{"N": "1"}`, …).
pub fn attribute(v: &AttributeValue) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD;
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64.encode(b.as_ref()) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(n) => json!({ "NULL": n }),
        AttributeValue::Ss(s) => json!({ "SS": s }),
        AttributeValue::Ns(n) => json!({ "NS": n }),
        AttributeValue::Bs(bs) => {
            json!({ "BS": bs.iter().map(|b| b64.encode(b.as_ref())).collect::<Vec<_>>() })
        }
        AttributeValue::L(l) => json!({ "L": l.iter().map(attribute).collect::<Vec<_>>() }),
        AttributeValue::M(m) => {
            json!({ "M": m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect::<Map<_, _>>() })
        }
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodbstreams::types::{OperationType, StreamRecord};

    use super::*;

    fn rec(seq: &str) -> Record {
        Record::builder()
            .event_id(format!("e{seq}"))
            .event_name(OperationType::Insert)
            .dynamodb(
                StreamRecord::builder()
                    .keys("PK", AttributeValue::S("EVENT#1".into()))
                    .new_image("PK", AttributeValue::S("EVENT#1".into()))
                    .new_image(
                        "n",
                        AttributeValue::M(
                            [(
                                "l".to_owned(),
                                AttributeValue::L(vec![AttributeValue::N("1".into())]),
                            )]
                            .into(),
                        ),
                    )
                    .sequence_number(seq)
                    .build(),
            )
            .build()
    }

    #[test]
    fn records_are_what_the_rust_runtime_reads() {
        let r = record(
            &rec("100"),
            "arn:aws:dynamodb:eu-west-1:1:table/t/stream/s",
            "eu-west-1",
        );
        assert_eq!(
            r["dynamodb"]["NewImage"]["n"],
            json!({"M": {"l": {"L": [{"N": "1"}]}}})
        );
        let event: aws_lambda_events::event::dynamodb::Event =
            serde_json::from_value(json!({ "Records": [r] })).expect("a DynamoDB event");
        assert_eq!(event.records[0].event_name, "INSERT");
        assert_eq!(
            event.records[0].change.sequence_number.as_deref(),
            Some("100")
        );
    }

    fn mapping(bisect: bool, max_retries: Option<u32>) -> StreamMapping {
        StreamMapping {
            uuid: "u".into(),
            function_arn: "arn:aws:lambda:eu-west-1:1:function:f".into(),
            stream_arn: "arn:aws:dynamodb:eu-west-1:1:table/t/stream/s".into(),
            batch_size: 100,
            window: Duration::ZERO,
            starting_position: "TRIM_HORIZON".into(),
            report_failures: true,
            bisect,
            max_retries,
            on_failure: Some("arn:aws:sqs:eu-west-1:1:outbox-dlq".into()),
        }
    }

    #[test]
    fn an_invocation_error_splits_the_batch_when_bisect_is_on_and_a_partial_failure_never_does() {
        let on = mapping(true, Some(2));
        assert_eq!(next(&on, 7, true, None), Next::Split(4));
        assert_eq!(next(&on, 2, true, None), Next::Split(1));
        // One record cannot be split: retried.
        assert_eq!(next(&on, 1, true, None), Next::RetryFrom(0));
        // A partial failure retries from the record named; success is done.
        assert_eq!(next(&on, 7, false, Some(3)), Next::RetryFrom(3));
        assert_eq!(next(&on, 7, false, None), Next::Done);
        // Without bisect an error retries the whole batch.
        assert_eq!(
            next(&mapping(false, None), 7, true, None),
            Next::RetryFrom(0)
        );
    }

    #[test]
    fn a_batch_is_given_up_on_after_maximum_retry_attempts_retries_and_never_without_a_bound() {
        let bounded = mapping(true, Some(2));
        assert!(!exhausted(&bounded, 1));
        assert!(!exhausted(&bounded, 2));
        assert!(exhausted(&bounded, 3));
        assert!(!exhausted(&mapping(true, None), 10_000));
        assert!(exhausted(&mapping(true, Some(0)), 1));
    }

    #[test]
    fn the_failure_record_names_the_shard_and_sequence_range_as_lambda_does() {
        let batch = Batch {
            records: vec![rec("7"), rec("8"), rec("9")],
            retries: 3,
        };
        let now = chrono::DateTime::from_timestamp(1_795_000_000, 0).expect("time");
        let r = failure_record(&mapping(true, Some(2)), &batch, "shardId-1", true, now);
        assert_eq!(r["requestContext"]["condition"], "RetryAttemptsExhausted");
        assert_eq!(r["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(r["responseContext"]["functionError"], "Unhandled");
        let info = &r["DDBStreamBatchInfo"];
        assert_eq!(info["shardId"], "shardId-1");
        assert_eq!(info["startSequenceNumber"], "7");
        assert_eq!(info["endSequenceNumber"], "9");
        assert_eq!(info["batchSize"], 3);
        assert_eq!(
            info["streamArn"],
            "arn:aws:dynamodb:eu-west-1:1:table/t/stream/s"
        );
        assert_eq!(
            sqs_queue("arn:aws:sqs:eu-west-1:123:q-dlq"),
            Some(("123", "q-dlq"))
        );
        assert_eq!(sqs_queue("arn:aws:sns:eu-west-1:123:t"), None);
    }

    #[test]
    fn a_partial_failure_retries_from_the_lowest_failed_record() {
        let records = [rec("1"), rec("2"), rec("3")];
        let answer =
            json!({"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]});
        assert_eq!(first_failed(&answer, &records), Ok(Some(1)));
        assert_eq!(
            first_failed(&json!({"batchItemFailures": []}), &records),
            Ok(None)
        );
        assert_eq!(first_failed(&Value::Null, &records), Ok(None));
        assert!(first_failed(
            &json!({"batchItemFailures": [{"itemIdentifier": "9"}]}),
            &records
        )
        .is_err());
    }
}
