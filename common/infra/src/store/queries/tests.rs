//! Browse over a mocked DynamoDB whose partitions hold thousands of entries, none of them matching (a rare
//! category in a wide circle): a page reads at most the budget, and says where to go on.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use chrono::{Duration, TimeZone, Utc};
use domain::item::Category;
use domain::store::{BrowseQuery, Cursor, Store, BROWSE_READ_BUDGET};

use super::super::DynamoStore;

/// Entries each partition holds.
const HELD: usize = 3_000;

fn book(partition: &str, n: usize) -> HashMap<String, AttributeValue> {
    let at = Utc
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .expect("time")
        - Duration::seconds(n as i64);
    let item = domain::fixtures::listing(
        &format!("00000000-0000-0000-0000-{n:012}"),
        &format!("Book {partition} {n}"),
        Category::Books,
        at,
    );
    serde_dynamo::to_item(&item).expect("an item")
}

#[tokio::test]
async fn a_browse_reads_at_most_its_budget_and_goes_on_from_where_it_stopped() {
    let served = Arc::new(AtomicUsize::new(0));
    let offsets: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let (count, at) = (served.clone(), offsets.clone());
    let rule = mock!(Client::query).then_compute_output(move |req| {
        let partition = req
            .expression_attribute_values()
            .and_then(|v| v.get(":pk"))
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        let limit = req.limit().unwrap_or(100) as usize;
        let mut offsets = at.lock().expect("lock");
        let from = offsets.entry(partition.clone()).or_insert(0);
        let to = (*from + limit).min(HELD);
        let items: Vec<_> = (*from..to).map(|n| book(&partition, n)).collect();
        count.fetch_add(items.len(), Ordering::SeqCst);
        *from = to;
        let more = to < HELD;
        QueryOutput::builder()
            .set_items(Some(items))
            .set_last_evaluated_key(
                more.then(|| HashMap::from([("PK".to_owned(), AttributeValue::S(partition))])),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    let store = DynamoStore::new(client, "t");
    let mut query = BrowseQuery {
        near: Some((48.8584, 2.2945, 50.0)),
        category: Some(Category::Furniture),
        after: None,
        limit: 50,
    };
    let page = store.browse(&query).await.expect("a page");
    let first = served.swap(0, Ordering::SeqCst);
    assert!(first <= BROWSE_READ_BUDGET, "read {first} entries");
    assert!(
        first >= BROWSE_READ_BUDGET / 2,
        "read {first} entries: the budget is used"
    );
    assert!(page.items.is_empty(), "nothing matches");
    let next = page
        .next_cursor
        .expect("a cursor: the partitions hold more");
    query.after = Cursor::parse(&next);
    assert!(query.after.is_some(), "{next}");
    store.browse(&query).await.expect("a page");
    assert!(served.load(Ordering::SeqCst) <= BROWSE_READ_BUDGET);
}
