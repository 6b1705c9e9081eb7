//! The handler through the worker runtime, with the store and the index in memory: a listing is found once
//! posted, not once reserved, again once the reservation ends; events out of order or repeated change
//! nothing; an event about no listing is acknowledged.

use std::sync::Arc;

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

use index::{handle, Deps};

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
    deps: Deps,
    runtime: Runtime<FakeQueue>,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let index = Arc::new(MemoryIndex::new());
    let deps = Deps {
        service: Service::new(store.clone(), Settings::default()),
        index: index.clone(),
    };
    World {
        store,
        index,
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
