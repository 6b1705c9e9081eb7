//! The expiries worker's handler through the worker runtime, with fakes: the store in memory, Scheduler
//! schedules in memory, a queue that records dead letters. Exact batch answers for each kind of message.

use std::sync::Arc;

use chrono::{Duration, Utc};
use domain::event::{CorrelationId, Envelope, ReservationCancelled, ReservationCreated};
use domain::geo::Point;
use domain::item::{Category, ItemMode, ItemStatus, NewItem};
use domain::reservation::ReservationStatus;
use domain::schedule::{Due, Scheduled};
use domain::service::{Ctx, Service, Settings};
use domain::store::memory::MemoryStore;
use domain::store::Store;
use expiries::{handle, Deps};
use infra::fakes::{failed_ids, policy, sqs_event, FakeQueue, FakeSchedules};
use infra::runtime::Runtime;

struct World {
    store: Arc<MemoryStore>,
    schedules: Arc<FakeSchedules>,
    deps: Deps,
}

fn world(reservation_ttl: Duration) -> World {
    let store = Arc::new(MemoryStore::new());
    let schedules = Arc::new(FakeSchedules::default());
    let settings = Settings {
        reservation_ttl,
        ..Settings::default()
    };
    let deps = Deps {
        service: Service::new(store.clone(), settings),
        schedules: schedules.clone(),
    };
    World {
        store,
        schedules,
        deps,
    }
}

fn ctx(caller: &str) -> Ctx {
    Ctx {
        caller: caller.into(),
        correlation: CorrelationId::random(),
        now: Utc::now(),
    }
}

/// A free item of "seller" reserved by "buyer": the reservation's ReservationCreated envelope.
async fn reserved(w: &World) -> Envelope {
    let item = w
        .deps
        .service
        .create_item(
            &ctx("seller"),
            NewItem {
                title: "Oak table".into(),
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
        .expect("item");
    w.deps
        .service
        .reserve(&ctx("buyer"), &item.id)
        .await
        .expect("reserved");
    w.store
        .events()
        .into_iter()
        .find(|e| matches!(e.event, domain::event::DomainEvent::ReservationCreated(_)))
        .expect("ReservationCreated")
}

fn runtime() -> Runtime<FakeQueue> {
    Runtime::new(FakeQueue::default(), policy())
}

/// The ids of the messages that must come back.
async fn process(
    w: &World,
    runtime: &Runtime<FakeQueue>,
    messages: &[(&str, &str)],
) -> Vec<String> {
    let response = runtime
        .process(sqs_event(messages, None), |m| handle(&w.deps, m))
        .await;
    failed_ids(&response)
}

#[tokio::test]
async fn a_reservation_arms_its_expiry_which_then_expires_it_once() {
    // GIVEN a reservation made with a 1 ms hold
    let w = world(Duration::milliseconds(1));
    let created = reserved(&w).await;
    let domain::event::DomainEvent::ReservationCreated(ReservationCreated { reservation, .. }) =
        &created.event
    else {
        unreachable!()
    };
    let queue = runtime();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    // WHEN its ReservationCreated arrives THEN the expiry is due already: it runs at once, nothing is scheduled
    assert!(process(&w, &queue, &[("m1", &created.to_json_string())])
        .await
        .is_empty());
    let item_id = &reservation.item_id;
    let stored = w
        .store
        .reservation(item_id, &reservation.reservation_id)
        .await
        .expect("read")
        .expect("reservation");
    assert_eq!(stored.value.status, ReservationStatus::Expired);
    let item = w.store.item(item_id).await.expect("read").expect("item");
    assert_eq!(item.value.status, ItemStatus::Available);
    // AND the due step delivered again (the schedule fired late) changes nothing and succeeds
    let due = serde_json::to_string(&Scheduled {
        due: Due::ReservationExpiry {
            reservation_id: reservation.reservation_id.clone(),
        },
        correlation_id: Some(created.correlation_id.to_string()),
    })
    .expect("json");
    assert!(process(&w, &queue, &[("m2", &due)]).await.is_empty());
    let expired = w
        .store
        .events()
        .iter()
        .filter(|e| matches!(e.event, domain::event::DomainEvent::ReservationExpired(_)))
        .count();
    assert_eq!(expired, 1, "ReservationExpired exactly once");
    assert!(queue.queue().dead_letters().is_empty());
}

#[tokio::test]
async fn a_future_expiry_is_scheduled_and_a_cancellation_disarms_it() {
    let w = world(Duration::hours(24));
    let created = reserved(&w).await;
    let queue = runtime();
    assert!(process(&w, &queue, &[("m1", &created.to_json_string())])
        .await
        .is_empty());
    let pending = w.schedules.pending();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert!(pending[0].0.starts_with("expire-"), "{}", pending[0].0);
    let domain::event::DomainEvent::ReservationCreated(ReservationCreated { reservation, .. }) =
        created.event
    else {
        unreachable!()
    };
    let cancelled = Envelope::new(
        ReservationCancelled {
            reservation,
            cancelled_by: "buyer".into(),
        }
        .into(),
        created.correlation_id,
        Utc::now(),
    );
    assert!(process(&w, &queue, &[("m2", &cancelled.to_json_string())])
        .await
        .is_empty());
    assert!(w.schedules.pending().is_empty(), "disarmed");
}

#[tokio::test]
async fn garbage_and_a_step_for_another_queue_go_to_the_dlq_and_the_rest_of_the_batch_succeeds() {
    let w = world(Duration::hours(24));
    let created = reserved(&w).await;
    let close = r#"{"due":"auction-close","auctionId":"a1"}"#;
    let queue = runtime();
    let failed = process(
        &w,
        &queue,
        &[
            ("garbage", "not json"),
            ("close", close),
            ("ok", &created.to_json_string()),
        ],
    )
    .await;
    // Permanent failures are acknowledged (dead-lettered), not retried.
    assert!(failed.is_empty(), "{failed:?}");
    let mut letters = queue.queue().dead_letters();
    letters.sort();
    assert_eq!(
        letters,
        [
            ("close".to_owned(), "rejected".to_owned()),
            ("garbage".to_owned(), "invalid_message".to_owned())
        ]
    );
    assert_eq!(
        w.schedules.pending().len(),
        1,
        "the good message was handled"
    );
}
