//! The search table over a mocked DynamoDB: a search reads at most its window of each term, a listing
//! catches up in one conditional transaction, and a version caught up with writes nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use chrono::{TimeZone, Utc};
use domain::item::{Category, Item};
use domain::search::{
    entries, Manifest, SearchIndex, SearchQuery, Synced, MAX_ENTRIES_READ, TERM_WINDOW,
};
use domain::store::Versioned;

use super::DynamoIndex;

fn item() -> Versioned<Item> {
    let at = Utc
        .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
        .single()
        .expect("time");
    let mut value = domain::fixtures::listing(
        "00000000-0000-0000-0000-000000000001",
        "Solid oak table",
        Category::Furniture,
        at,
    );
    value.description = "A few scratches".into();
    Versioned { value, version: 3 }
}

#[tokio::test]
async fn a_search_reads_at_most_its_window_of_each_term() {
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let rule = mock!(Client::query).then_compute_output(move |req| {
        let limit = req.limit().unwrap_or(100) as usize;
        let n = count.fetch_add(limit, Ordering::SeqCst);
        let entries: Vec<_> = (n..n + limit)
            .map(|i| {
                let mut entry = entries(&item().value).remove("oak").expect("an entry");
                entry.item_id = format!("00000000-0000-0000-0000-{i:012}");
                serde_dynamo::to_item(&entry).expect("an entry")
            })
            .collect();
        // Every term holds endlessly many entries.
        QueryOutput::builder()
            .set_items(Some(entries))
            .last_evaluated_key("PK", AttributeValue::S("TERM#x".into()))
            .build()
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
    let index = DynamoIndex::new(client, "search");
    let query = SearchQuery::new("oak table chair lamp desk sofa bed");
    let page = index.search(&query).await.expect("a page");
    assert_eq!(served.load(Ordering::SeqCst), MAX_ENTRIES_READ);
    assert_eq!(rule.num_calls(), 5, "one query of {TERM_WINDOW} per term");
    assert_eq!(page.items.len(), 20);
}

#[tokio::test]
async fn a_listing_catches_up_in_one_transaction_conditional_on_its_manifest() {
    let none = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
    let write = mock!(Client::transact_write_items)
        .match_requests(|req| {
            let actions = req.transact_items();
            let manifest = actions.last().and_then(|a| a.put());
            let entries = &actions[..actions.len() - 1];
            // solid, oak, tabl from the title; scratch from the description ("a" and "few" are stop words).
            actions.len() == 5
                && entries.iter().all(|a| {
                    a.put()
                        .and_then(|p| p.item().get("PK"))
                        .and_then(|pk| pk.as_s().ok())
                        .is_some_and(|pk| pk.starts_with("TERM#"))
                })
                && manifest.is_some_and(|m| {
                    m.condition_expression() == Some("attribute_not_exists(PK)")
                        && m.item().get("version") == Some(&AttributeValue::N("3".into()))
                        && m.item().get("SK") == Some(&AttributeValue::S("MANIFEST".into()))
                })
        })
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&none, &write]);
    let synced = DynamoIndex::new(client, "search")
        .sync(&item().value.id, Some(&item()))
        .await;
    assert_eq!(synced, Ok(Synced::Updated { put: 4, dropped: 0 }));
    assert_eq!(write.num_calls(), 1);
}

#[tokio::test]
async fn a_version_already_indexed_writes_nothing() {
    let manifest = Manifest {
        version: 4,
        entries: entries(&item().value),
    };
    let attrs: HashMap<String, AttributeValue> = serde_dynamo::to_item(&manifest).expect("attrs");
    let found = mock!(Client::get_item).then_output(move || {
        GetItemOutput::builder()
            .set_item(Some(attrs.clone()))
            .build()
    });
    let write = mock!(Client::transact_write_items)
        .then_output(|| TransactWriteItemsOutput::builder().build());
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&found, &write]);
    let synced = DynamoIndex::new(client, "search")
        .sync(&item().value.id, Some(&item()))
        .await;
    assert_eq!(synced, Ok(Synced::Current));
    assert_eq!(write.num_calls(), 0);
}
