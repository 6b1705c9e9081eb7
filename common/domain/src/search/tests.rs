use chrono::Duration;

use super::memory::MemoryIndex;
use super::*;
use crate::item::{Category, ItemMode, ItemStatus};
use crate::testing::{self, now};

fn listing(title: &str, description: &str, minutes: i64) -> Item {
    let mut item = testing::item(ItemMode::Free);
    item.title = title.into();
    item.description = description.into();
    item.created_at = now() + Duration::minutes(minutes);
    item
}

fn at(item: &Item, version: u64) -> Versioned<Item> {
    Versioned {
        value: item.clone(),
        version,
    }
}

fn query(text: &str) -> SearchQuery {
    SearchQuery::new(text)
}

async fn ids(index: &MemoryIndex, query: &SearchQuery) -> Vec<String> {
    let page = index.search(query).await.expect("a page");
    page.items.into_iter().map(|h| h.item_id).collect()
}

#[test]
fn words_are_folded_stemmed_and_stop_words_dropped() {
    assert_eq!(terms("Solid OAK Tables!"), ["solid", "oak", "tabl"]);
    assert_eq!(terms("table"), terms("TABLES"));
    assert_eq!(terms("Café crème"), terms("cafe CREME"));
    assert_eq!(terms("ﬁre-place"), ["fire", "place"], "ligatures unfold");
    assert_eq!(terms("the and of a, to: it"), Vec::<String>::new());
    assert_eq!(terms("chair chairs Chair"), ["chair"], "distinct");
    assert_eq!(terms("  ...  !! "), Vec::<String>::new());
    let long = "x".repeat(MAX_TERM_BYTES + 1);
    assert_eq!(
        terms(&format!("{long} lamp")),
        ["lamp"],
        "a word too long for a term"
    );
}

#[test]
fn a_listed_item_has_an_entry_per_term_its_title_weighing_more() {
    let item = listing("Oak table", "A solid table, oak", 0);
    let kept = entries(&item);
    let weights: Vec<(&str, u8)> = kept.iter().map(|(t, e)| (t.as_str(), e.weight)).collect();
    assert_eq!(
        weights,
        [
            ("oak", TITLE_WEIGHT),
            ("solid", DESCRIPTION_WEIGHT),
            ("tabl", TITLE_WEIGHT)
        ]
    );
    let mut reserved = item.clone();
    reserved.status = ItemStatus::Reserved;
    assert!(entries(&reserved).is_empty(), "only listed items are found");
    let long: Vec<String> = (0..100).map(|i| format!("word{i}")).collect();
    let wordy = listing("Oak table", &long.join(" "), 0);
    let kept = entries(&wordy);
    assert_eq!(kept.len(), MAX_ITEM_TERMS);
    assert!(
        kept.contains_key("oak") && kept.contains_key("word45") && !kept.contains_key("word46")
    );
}

#[test]
fn catching_up_writes_what_changed_and_a_late_version_changes_nothing() {
    let item = listing("Oak table", "solid", 0);
    let first = plan_sync(None, Some(&at(&item, 1))).expect("a plan");
    assert_eq!(first.put.len(), 3);
    assert!(first.drop.is_empty() && first.read.is_none());
    let recorded = first.manifest.expect("a manifest");
    assert_eq!(
        plan_sync(Some(&recorded), Some(&at(&item, 1))),
        None,
        "repeated"
    );

    let mut edited = item.clone();
    edited.title = "Oak desk".into();
    let edit = plan_sync(Some(&recorded), Some(&at(&edited, 2))).expect("a plan");
    assert_eq!(edit.put.keys().collect::<Vec<_>>(), ["desk"]);
    assert_eq!(edit.drop, ["tabl"]);
    assert_eq!(edit.read, Some(1));
    let recorded = edit.manifest.expect("a manifest");
    assert_eq!(
        plan_sync(Some(&recorded), Some(&at(&item, 1))),
        None,
        "late"
    );

    let mut reserved = edited.clone();
    reserved.status = ItemStatus::Reserved;
    let reserve = plan_sync(Some(&recorded), Some(&at(&reserved, 3))).expect("a plan");
    assert!(reserve.put.is_empty());
    assert_eq!(reserve.drop.len(), 3);
    assert!(reserve
        .manifest
        .as_ref()
        .is_some_and(|m| m.entries.is_empty() && m.version == 3));

    let gone = plan_sync(Some(&recorded), None).expect("a plan");
    assert_eq!((gone.drop.len(), gone.manifest), (3, None));
    assert_eq!(plan_sync(None, None), None, "never indexed, gone");
}

#[tokio::test]
async fn hits_rank_by_relevance_then_recency_within_place_and_category() {
    let index = MemoryIndex::new();
    let old_table = listing("Solid oak table", "", 0);
    let new_table = listing("Kitchen table", "", 10);
    let oak_in_text = listing("Desk", "made of oak, with a table top", 20);
    let mut far = listing("Oak table", "", 30);
    far.location.lat = 51.5;
    far.location.lon = -0.12;
    let mut book = listing("Oak table manual", "", 40);
    book.category = Category::Books;
    for (v, item) in [&old_table, &new_table, &oak_in_text, &far, &book]
        .iter()
        .enumerate()
    {
        index
            .sync(&item.id, Some(&at(item, v as u64 + 1)))
            .await
            .expect("synced");
    }
    let mut q = query("oak tables");
    assert_eq!(
        ids(&index, &q).await,
        [
            book.id.clone(),
            far.id.clone(),
            old_table.id.clone(),
            new_table.id.clone(),
            oak_in_text.id.clone()
        ],
        "both title words (6, newest first), one title word (3), two description words (2)"
    );
    q.near = Some((48.8584, 2.2945, 5.0));
    q.category = Some(Category::Furniture);
    assert_eq!(
        ids(&index, &q).await,
        [
            old_table.id.clone(),
            new_table.id.clone(),
            oak_in_text.id.clone()
        ]
    );
    assert_eq!(ids(&index, &query("OAK")).await.len(), 4);
    assert!(ids(&index, &query("lamp")).await.is_empty());
    assert!(
        ids(&index, &query("the")).await.is_empty(),
        "no term: nothing"
    );
}

#[tokio::test]
async fn pages_show_every_hit_once_and_a_listing_leaves_when_it_is_taken_or_gone() {
    let index = MemoryIndex::new();
    let items: Vec<Item> = (0..25)
        .map(|i| listing(if i % 3 == 0 { "Oak table" } else { "Table" }, "", i))
        .collect();
    for item in &items {
        index
            .sync(&item.id, Some(&at(item, 1)))
            .await
            .expect("synced");
    }
    let mut q = query("oak table");
    q.limit = 4;
    let mut seen = vec![];
    loop {
        let page = index.search(&q).await.expect("a page");
        assert!(page.items.len() <= 4);
        seen.extend(page.items.into_iter().map(|h| h.item_id));
        match page.next_cursor {
            Some(c) => q.after = Some(Ranked::parse(&c).expect("a cursor it gave")),
            None => break,
        }
    }
    let mut want: Vec<&Item> = items.iter().collect();
    want.sort_by_key(|i| {
        (
            std::cmp::Reverse(i.title.len()),
            std::cmp::Reverse(i.created_at),
        )
    });
    assert_eq!(seen, want.iter().map(|i| i.id.clone()).collect::<Vec<_>>());

    let mut taken = items[0].clone();
    taken.status = ItemStatus::Reserved;
    index
        .sync(&taken.id, Some(&at(&taken, 2)))
        .await
        .expect("synced");
    index.sync(&items[3].id, None).await.expect("synced");
    let left = ids(
        &index,
        &SearchQuery {
            limit: 50,
            ..query("oak")
        },
    )
    .await;
    assert_eq!(left.len(), 9 - 2);
    assert!(!left.contains(&taken.id) && !left.contains(&items[3].id));
    assert_eq!(
        index.sync(&taken.id, Some(&at(&taken, 2))).await,
        Ok(Synced::Current),
        "a repeated message changes nothing"
    );
}

#[tokio::test]
async fn a_search_reads_at_most_a_window_of_each_term() {
    let index = MemoryIndex::new();
    let total = TERM_WINDOW + 50;
    let items: Vec<Item> = (0..total).map(|i| listing("Chair", "", i as i64)).collect();
    for item in &items {
        index
            .sync(&item.id, Some(&at(item, 1)))
            .await
            .expect("synced");
    }
    assert_eq!(index.len(), total);
    let mut q = query("chair");
    q.limit = 50;
    let mut seen = 0;
    loop {
        let page = index.search(&q).await.expect("a page");
        seen += page.items.len();
        match page.next_cursor {
            Some(c) => q.after = Ranked::parse(&c),
            None => break,
        }
    }
    assert_eq!(
        seen, TERM_WINDOW,
        "the newest {TERM_WINDOW} of a term are searched"
    );
    let long = "one two three four five six seven";
    assert_eq!(query(long).terms.len(), MAX_QUERY_TERMS);
    assert_eq!(MAX_ENTRIES_READ, 1000);
}

/// The cursors search gives, browse's and texts near them: the pattern matches exactly those the parser takes.
#[test]
fn the_ranked_cursor_pattern_and_the_parser_agree() {
    let pattern = regex::Regex::new(Ranked::PATTERN).expect("a regex");
    let position = Cursor {
        at: now(),
        id: "0190a3c4-5b6d-7e8f-9a0b-1c2d3e4f5a6b".into(),
    };
    let given = Ranked {
        score: 7,
        position: position.clone(),
    };
    let browse = position.encode();
    let mut texts = vec![given.encode(), browse.clone()];
    for score in ["", "0", "255", "999", "1000", "-1", "+1", "a", " 1"] {
        texts.push(format!("{score}:{browse}"));
        texts.push(format!("{score}{browse}"));
        texts.push(format!("{score}:"));
    }
    for text in &texts {
        assert_eq!(
            pattern.is_match(text),
            Ranked::parse(text).is_some(),
            "{text}"
        );
    }
    assert_eq!(Ranked::parse(&given.encode()), Some(given));
    assert_eq!(
        Ranked::parse(&browse).map(|r| r.score),
        Some(u8::MAX),
        "a browse cursor ranks as the top score"
    );
}
