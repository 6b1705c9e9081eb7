//! A DynamoDB stream event-source mapping: one poller per shard reads records in order, invokes the function
//! with the `DynamoDBEvent` Lambda builds and moves on only when the batch succeeded. A failed batch (an
//! invocation error, a timeout, or `batchItemFailures` naming a record) is retried with backoff from the first
//! failed record: never skipped. The last sequence number done is kept in the work dir, so a restarted runner
//! resumes where it stopped.

use std::collections::HashSet;
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

pub fn play(
    mapping: StreamMapping,
    function: Function,
    streams: Client,
    checkpoints: PathBuf,
    region: &str,
    tasks: &mut JoinSet<()>,
) {
    let region = region.to_owned();
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
                                region.clone(),
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
    region: String,
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
        deliver(&mapping, &function, &records, &region).await;
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

/// Invokes the function until the whole batch succeeded, retrying from the first failed record.
async fn deliver(mapping: &StreamMapping, function: &Function, records: &[Record], region: &str) {
    let mut todo: Vec<Record> = records.to_vec();
    let mut delay = Duration::from_millis(500);
    while !todo.is_empty() {
        let event = json!({
            "Records": todo.iter().map(|r| record(r, &mapping.stream_arn, region)).collect::<Vec<_>>()
        });
        let started = Instant::now();
        let outcome = function.invoke(&event).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let retry_from: Result<Option<usize>, String> = match &outcome {
            Err(e) => Err(e.to_string()),
            Ok(answer) if mapping.report_failures => {
                first_failed(answer, &todo).map_err(|e| e.to_owned())
            }
            Ok(_) => Ok(None),
        };
        let failures = match &retry_from {
            Ok(None) => 0,
            Ok(Some(i)) => todo.len() - i,
            Err(_) => todo.len(),
        };
        info!(
            function = function.name(),
            source = %mapping.stream_arn,
            batch_size = todo.len(),
            duration_ms,
            failures,
            error = retry_from.as_ref().err().map(String::as_str).unwrap_or(""),
            "invoked"
        );
        match retry_from {
            Ok(None) => return,
            Ok(Some(i)) => {
                todo.drain(..i);
            }
            Err(_) => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
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
