//! The handler through the worker runtime, with the store and the index in memory and a toxicity model that
//! reads "toxic" as toxic: a listing is found once posted, not once reserved, again once the reservation
//! ends; events out of order or repeated change nothing; a toxic listing is flagged (hidden, its seller told)
//! and a clean edit lifts it; an event about no listing is acknowledged.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use domain::event::{CorrelationId, DomainEvent, Envelope};
use domain::geo::Point;
use domain::item::{Category, ItemMode, NewItem};
use domain::search::memory::MemoryIndex;
use domain::search::{SearchIndex, SearchQuery};
use domain::service::{Ctx, Service, Settings};
use domain::store::memory::MemoryStore;
use infra::fakes::{failed_ids, policy, sqs_event, FakeQueue};
use infra::runtime::Runtime;

use domain::item::screening::Toxicity;
use domain::item::{ItemEdit, ModerationAction};
use index::{handle, Deps, TextScreen};
use infra::error::ProcessError;

/// Reads a segment holding "toxic" as an insult; counts its calls.
#[derive(Default)]
struct Model {
    calls: AtomicUsize,
}

#[async_trait]
impl TextScreen for Model {
    async fn toxicity(&self, segments: &[String]) -> Result<Vec<Toxicity>, ProcessError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(segments
            .iter()
            .map(|s| {
                let toxic = s.to_lowercase().contains("toxic");
                Toxicity {
                    score: if toxic { 0.96 } else { 0.02 },
                    labels: vec![("INSULT".into(), if toxic { 0.93 } else { 0.01 })],
                }
            })
            .collect())
    }
}

fn ctx(caller: &str) -> Ctx {
    Ctx {
        caller: caller.into(),
        correlation: CorrelationId::random(),
        now: Utc::now(),
    }
}

struct World {
    store: Arc<MemoryStore>,
    index: Arc<MemoryIndex>,
    model: Arc<Model>,
    deps: Deps,
    runtime: Runtime<FakeQueue>,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let index = Arc::new(MemoryIndex::new());
    let model = Arc::new(Model::default());
    let deps = Deps {
        service: Service::new(store.clone(), Settings::default()),
        index: index.clone(),
        screen: model.clone(),
    };
    World {
        store,
        index,
        model,
        deps,
        runtime: Runtime::new(FakeQueue::default(), policy()),
    }
}

impl World {
    /// Delivers these events (in this order) in one batch; the ids of the messages to retry.
    async fn deliver(&self, events: &[&Envelope]) -> Vec<String> {
        let bodies: Vec<(String, String)> = events
            .iter()
            .enumerate()
            .map(|(i, e)| (format!("m{i}"), e.to_json_string()))
            .collect();
        let messages: Vec<(&str, &str)> = bodies
            .iter()
            .map(|(i, b)| (i.as_str(), b.as_str()))
            .collect();
        let response = self
            .runtime
            .process(sqs_event(&messages, None), |m| handle(&self.deps, m))
            .await;
        failed_ids(&response)
    }

    async fn found(&self, text: &str) -> Vec<String> {
        let page = self
            .index
            .search(&SearchQuery::new(text))
            .await
            .expect("a page");
        page.items.into_iter().map(|h| h.item_id).collect()
    }

    fn event(&self, pick: impl Fn(&DomainEvent) -> bool) -> Envelope {
        self.store
            .events()
            .into_iter()
            .rev()
            .find(|e| pick(&e.event))
            .expect("the event")
    }
}

#[tokio::test]
async fn the_index_follows_a_listing_whatever_order_its_events_arrive_in() {
    let w = world();
    let item = w
        .deps
        .service
        .create_item(
            &ctx("seller"),
            NewItem {
                title: "Solid oak table".into(),
                description: String::new(),
                category: Category::Furniture,
                location: Point {
                    lat: 48.85,
                    lon: 2.35,
                },
                mode: ItemMode::Free,
            },
        )
        .await
        .expect("posted");
    let created = w.event(|e| matches!(e, DomainEvent::ItemCreated(_)));
    assert!(w.deliver(&[&created]).await.is_empty());
    assert_eq!(w.found("tables").await, vec![item.id.clone()]);

    let reservation = w
        .deps
        .service
        .reserve(&ctx("buyer"), &item.id)
        .await
        .expect("reserved");
    let reserved = w.event(|e| matches!(e, DomainEvent::ReservationCreated(_)));
    // The reservation's event and a late ItemCreated, twice: the index follows the listing as it is.
    assert!(w
        .deliver(&[&reserved, &created, &reserved])
        .await
        .is_empty());
    assert!(w.found("oak").await.is_empty(), "reserved: not found");

    w.deps
        .service
        .cancel(&ctx("buyer"), &reservation.id)
        .await
        .expect("cancelled");
    let cancelled = w.event(|e| matches!(e, DomainEvent::ReservationCancelled(_)));
    assert!(w.deliver(&[&cancelled, &reserved]).await.is_empty());
    assert_eq!(
        w.found("OAK").await,
        vec![item.id.clone()],
        "available again"
    );

    w.deps
        .service
        .delete_item(&ctx("seller"), &item.id)
        .await
        .expect("withdrawn");
    let deleted = w.event(|e| matches!(e, DomainEvent::ItemDeleted(_)));
    assert!(w.deliver(&[&deleted, &created]).await.is_empty());
    assert!(w.found("table").await.is_empty(), "withdrawn: not found");
    assert!(w.index.is_empty(), "nothing left of it");
}

#[tokio::test]
async fn an_event_about_no_listing_is_acknowledged() {
    let w = world();
    let rated = Envelope::new(
        domain::event::UserRated {
            rater_id: "a".into(),
            ratee_id: "b".into(),
            about: "r".into(),
            stars: 5,
        }
        .into(),
        CorrelationId::random(),
        Utc::now(),
    );
    assert!(w.deliver(&[&rated]).await.is_empty());
    assert!(w.runtime.queue().dead_letters().is_empty());
}

#[tokio::test]
async fn a_toxic_listing_is_flagged_and_hidden_until_a_clean_edit() {
    let w = world();
    let seller = ctx("seller");
    let post = |title: &str| NewItem {
        title: title.into(),
        description: "Seats six".into(),
        category: Category::Furniture,
        location: Point {
            lat: 48.85,
            lon: 2.35,
        },
        mode: ItemMode::Free,
    };
    let clean = w
        .deps
        .service
        .create_item(&seller, post("Oak table"))
        .await
        .unwrap();
    let toxic = w
        .deps
        .service
        .create_item(&seller, post("Toxic oak chair"))
        .await
        .unwrap();
    let created: Vec<Envelope> = w
        .store
        .events()
        .into_iter()
        .filter(|e| matches!(e.event, DomainEvent::ItemCreated(_)))
        .collect();
    // Delivered twice (at-least-once): one flag, one notice's event.
    assert!(w
        .deliver(&[&created[0], &created[1], &created[1]])
        .await
        .is_empty());
    assert_eq!(
        w.found("oak").await,
        vec![clean.id.clone()],
        "only the clean one"
    );
    let flagged = w.deps.service.get_item(&toxic.id).await.unwrap();
    let moderation = flagged.moderation.clone().expect("flagged");
    assert_eq!(moderation.action, ModerationAction::Flagged);
    assert!(
        moderation.reason.contains("insult"),
        "{}",
        moderation.reason
    );
    let flags: Vec<_> = w
        .store
        .events()
        .into_iter()
        .filter_map(|e| match e.event {
            DomainEvent::ItemFlagged(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(flags.len(), 1);
    assert_eq!(
        (flags[0].item_id.as_str(), flags[0].seller_id.as_str()),
        (toxic.id.as_str(), "seller")
    );

    // WHEN the seller edits the words THEN the edit is screened: clean, the listing is back
    let version = w
        .deps
        .service
        .get_item_versioned(&toxic.id)
        .await
        .unwrap()
        .version;
    w.deps
        .service
        .edit_item(
            &seller,
            &toxic.id,
            version,
            &ItemEdit {
                title: Some("Oak chair".into()),
                ..ItemEdit::default()
            },
        )
        .await
        .expect("edited");
    let updated = w.event(|e| matches!(e, DomainEvent::ItemUpdated(_)));
    let calls = w.model.calls.load(Ordering::SeqCst);
    assert!(w.deliver(&[&updated]).await.is_empty());
    assert_eq!(w.model.calls.load(Ordering::SeqCst), calls + 1);
    assert!(w.deps.service.get_item(&toxic.id).await.unwrap().is_shown());
    let mut found = w.found("chair").await;
    found.sort();
    assert_eq!(found, vec![toxic.id.clone()]);
}
