//! The outbox DLQ (`<prefix>outbox-dlq`): Lambda's records of the stream batches the stream publisher's mapping
//! gave up on ([`FailureRecord`]: a shard and a sequence range, not the records). The records are read back
//! from the table's stream, which keeps them 24 h, and made into what the publisher would have made of them
//! ([`stream_publisher::outbox_item`]): events to put on the bus, or records that can never be published,
//! and why.

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
pub use domain::dead_letter::stream::FailureRecord;
use infra::outbox::ENVELOPE_ATTRIBUTE;
use stream_publisher::{outbox_item, Pending, Poisoned};

use crate::error::BoxError;

/// The DLQ's name without the workspace prefix.
pub const DLQ: &str = "outbox-dlq";

/// What the records of a failure record are now.
#[derive(Debug, Default)]
pub struct Records {
    pub events: Vec<Pending>,
    pub poisoned: Vec<Poisoned>,
    /// Records of the range that are not outbox events (state changes, removals).
    pub others: usize,
}

/// Sequence numbers are decimal strings of up to 40 digits: compared as numbers.
fn after(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

fn text<'a>(
    m: Option<&'a std::collections::HashMap<String, AttributeValue>>,
    k: &str,
) -> Option<&'a str> {
    m.and_then(|m| m.get(k))
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// Reads the failure record's range from the stream. An error when the stream no longer holds it.
pub async fn read(streams: &Client, failure: &FailureRecord) -> Result<Records, BoxError> {
    let b = &failure.batch;
    let mut iterator = streams
        .get_shard_iterator()
        .stream_arn(&b.stream_arn)
        .shard_id(&b.shard_id)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(&b.start_sequence_number)
        .send()
        .await
        .map_err(|e| -> BoxError {
            format!(
                "the stream no longer holds records {}..{} of {} (kept 24 h): {}",
                b.start_sequence_number,
                b.end_sequence_number,
                b.shard_id,
                domain::error::chain(&e)
            )
            .into()
        })?
        .shard_iterator;
    let mut out = Records::default();
    let mut empty = 0;
    while let Some(it) = iterator {
        let page = streams
            .get_records()
            .shard_iterator(&it)
            .send()
            .await
            .map_err(|e| -> BoxError { domain::error::chain(&e).into() })?;
        iterator = page.next_shard_iterator().map(str::to_owned);
        if page.records().is_empty() {
            // An open shard hands out empty pages at its end: a few in a row, and the range is read.
            empty += 1;
            if empty >= 3 {
                break;
            }
            continue;
        }
        empty = 0;
        for r in page.records() {
            let Some(d) = r.dynamodb() else { continue };
            let sequence = d.sequence_number().unwrap_or_default().to_owned();
            if after(&sequence, &b.end_sequence_number) {
                return Ok(out);
            }
            let name = r.event_name().map(|n| n.as_str()).unwrap_or_default();
            match outbox_item(
                name,
                text(d.keys(), "PK").unwrap_or_default(),
                sequence,
                text(d.new_image(), ENVELOPE_ATTRIBUTE),
            ) {
                None => out.others += 1,
                Some(Ok(p)) => out.events.push(p),
                Some(Err(p)) => out.poisoned.push(p),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(after("100", "99"));
        assert!(!after("99", "100"));
        assert!(!after("100", "100"));
        assert!(after("800000000003126276363", "800000000003126276362"));
    }
}
