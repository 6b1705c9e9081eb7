//! The notifications worker's handler through the worker runtime, with fakes: recipients worked out, each
//! notified once per channel, a failed delivery retried (and only it), NotificationSent recorded once each.

use std::sync::Arc;

use chrono::Utc;
use domain::event::{CorrelationId, DomainEvent, Envelope, ItemCreated, ReservationCreated};
use domain::event::{ItemMode, Location, ReservationRef};
use domain::geo::Point;
use domain::profile::ProfileUpdate;
use domain::service::{Ctx, Service, Settings};
use domain::store::memory::MemoryStore;
use infra::fakes::{failed_ids, policy, sqs_event, FakeClaims, FakePublisher, FakeQueue, FakeSink};
use infra::runtime::Runtime;
use notifications::{handle, Deps};

struct World {
    publisher: Arc<FakePublisher>,
    sink: Arc<FakeSink>,
    deps: Deps,
    runtime: Runtime<FakeQueue>,
    service: Service,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let publisher = Arc::new(FakePublisher::default());
    let sink = Arc::new(FakeSink::default());
    World {
        deps: Deps {
            directory: store.clone(),
            publisher: publisher.clone(),
            claims: Arc::new(FakeClaims::default()),
            events: sink.clone(),
        },
        service: Service::new(store, Settings::default()),
        publisher,
        sink,
        runtime: Runtime::new(FakeQueue::default(), policy()),
    }
}

fn ctx(caller: &str) -> Ctx {
    Ctx {
        caller: caller.into(),
        correlation: CorrelationId::random(),
        now: Utc::now(),
    }
}

async fn lives_at(w: &World, user: &str, lat: f64, lon: f64) {
    w.service
        .update_profile(
            &ctx(user),
            &ProfileUpdate {
                display_name: None,
                home: Some(Point { lat, lon }),
            },
        )
        .await
        .expect("profile");
}

async fn process(w: &World, envelope: &Envelope) -> Vec<String> {
    let response = w
        .runtime
        .process(
            sqs_event(&[("m1", &envelope.to_json_string())], None),
            |m| handle(&w.deps, m),
        )
        .await;
    failed_ids(&response)
}

fn new_item(seller: &str) -> Envelope {
    Envelope::new(
        ItemCreated {
            item_id: "i1".into(),
            seller_id: seller.into(),
            title: "Oak table".into(),
            category: "furniture".into(),
            mode: ItemMode::Free,
            location: Location {
                lat: 48.8584,
                lon: 2.2945,
                geohash: "u09tun".into(),
            },
            expires_at: Utc::now(),
        }
        .into(),
        CorrelationId::random(),
        Utc::now(),
    )
}

fn sent(w: &World) -> Vec<(String, String)> {
    let mut sent: Vec<(String, String)> = w
        .sink
        .events()
        .into_iter()
        .filter_map(|e| match e.event {
            DomainEvent::NotificationSent(n) => Some((n.recipient_id, n.channel)),
            _ => None,
        })
        .collect();
    sent.sort();
    sent
}

#[tokio::test]
async fn a_new_item_reaches_the_neighbours_on_each_channel_once_but_not_its_seller() {
    let w = world();
    lives_at(&w, "ann", 48.8584, 2.2945).await;
    lives_at(&w, "seller", 48.8584, 2.2945).await;
    lives_at(&w, "far", 52.52, 13.405).await;
    let event = new_item("seller");
    assert!(process(&w, &event).await.is_empty());
    let mut delivered = w.publisher.delivered();
    delivered.sort();
    let expected = vec![
        ("ann".to_owned(), "email".to_owned()),
        ("ann".to_owned(), "push".to_owned()),
    ];
    assert_eq!(delivered, expected);
    assert_eq!(sent(&w), expected);
    // A second delivery of the event sends nothing again (the claims are SENT).
    assert!(process(&w, &event).await.is_empty());
    assert_eq!(w.publisher.delivered().len(), 2);
    assert!(w.runtime.queue().dead_letters().is_empty());
}

#[tokio::test]
async fn a_failed_delivery_fails_the_message_and_only_it_is_sent_on_the_retry() {
    let w = world();
    let event = Envelope::new(
        ReservationCreated {
            reservation: ReservationRef {
                reservation_id: "r".into(),
                item_id: "i".into(),
                buyer_id: "bob".into(),
                seller_id: "sam".into(),
            },
            expires_at: Utc::now(),
        }
        .into(),
        CorrelationId::random(),
        Utc::now(),
    );
    w.publisher.fail_for("sam");
    // The seller is unreachable: the message comes back (transient), after a backoff.
    assert_eq!(process(&w, &event).await, ["m1"]);
    assert!(w.publisher.delivered().is_empty());
    assert!(matches!(
        w.runtime.queue().calls().as_slice(),
        [infra::fakes::QueueCall::Backoff { .. }]
    ));
    // Reachable again: the retry delivers both channels, once each.
    w.publisher.recover();
    assert!(process(&w, &event).await.is_empty());
    let mut delivered = w.publisher.delivered();
    delivered.sort();
    assert_eq!(
        delivered,
        [
            ("sam".to_owned(), "email".to_owned()),
            ("sam".to_owned(), "push".to_owned())
        ]
    );
    assert_eq!(sent(&w).len(), 2);
}

#[tokio::test]
async fn an_unreadable_event_is_dead_lettered_as_invalid() {
    let w = world();
    let response = w
        .runtime
        .process(sqs_event(&[("bad", r#"{"version":"9"}"#)], None), |m| {
            handle(&w.deps, m)
        })
        .await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(
        w.runtime.queue().dead_letters(),
        [("bad".to_owned(), "invalid_message".to_owned())]
    );
}
