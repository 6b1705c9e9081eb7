//! The auction-closes worker's handler through the worker runtime, with fakes: an auction's close is armed at
//! its end, moved by late bids, re-armed when it fires early, and closes the auction exactly once.

use std::sync::Arc;

use auction_closes::{handle, Deps};
use chrono::{Duration, Utc};
use domain::auction::{AuctionStatus, NewAuction};
use domain::event::{CorrelationId, DomainEvent};
use domain::geo::Point;
use domain::item::{Category, ItemMode, ItemStatus, NewItem};
use domain::schedule::{Due, Scheduled};
use domain::service::{Ctx, Service, Settings};
use domain::store::memory::MemoryStore;
use domain::store::Store;
use infra::fakes::{failed_ids, policy, sqs_event, FakeQueue, FakeSchedules};
use infra::runtime::Runtime;

struct World {
    store: Arc<MemoryStore>,
    schedules: Arc<FakeSchedules>,
    deps: Deps,
    runtime: Runtime<FakeQueue>,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let schedules = Arc::new(FakeSchedules::default());
    // Auctions as short as a second, so a test sees one end (and no anti-sniping window to push it on).
    let settings = Settings {
        min_auction: Duration::seconds(1),
        sniping_window: Duration::milliseconds(1),
        ..Settings::default()
    };
    World {
        deps: Deps {
            service: Service::new(store.clone(), settings),
            schedules: schedules.clone(),
        },
        store,
        schedules,
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

/// An auction of `seconds` of "seller"'s item, and the AuctionCreated it emitted (as JSON).
async fn auction(w: &World, seconds: i64) -> (String, String) {
    let item = w
        .deps
        .service
        .create_item(
            &ctx("seller"),
            NewItem {
                title: "Bike".into(),
                description: String::new(),
                category: Category::Sports,
                location: Point {
                    lat: 52.52,
                    lon: 13.4,
                },
                mode: ItemMode::Auction,
            },
        )
        .await
        .expect("item");
    let a = w
        .deps
        .service
        .create_auction(
            &ctx("seller"),
            &NewAuction {
                item_id: item.id,
                starting_price: 1000,
                min_increment: 100,
                duration_seconds: seconds,
            },
        )
        .await
        .expect("auction");
    let created = w
        .store
        .events()
        .into_iter()
        .rev()
        .find(|e| matches!(e.event, DomainEvent::AuctionCreated(_)))
        .expect("AuctionCreated");
    (a.id, created.to_json_string())
}

async fn process(w: &World, messages: &[(&str, &str)]) -> Vec<String> {
    let response = w
        .runtime
        .process(sqs_event(messages, None), |m| handle(&w.deps, m))
        .await;
    failed_ids(&response)
}

fn close(auction_id: &str) -> String {
    serde_json::to_string(&Scheduled {
        due: Due::AuctionClose {
            auction_id: auction_id.into(),
        },
        correlation_id: None,
    })
    .expect("json")
}

#[tokio::test]
async fn an_auction_s_close_is_armed_at_its_end_and_a_close_before_it_re_arms_itself() {
    let w = world();
    let (id, created) = auction(&w, 3600).await;
    assert!(process(&w, &[("m1", &created)]).await.is_empty());
    let pending = w.schedules.pending();
    assert_eq!(pending.len(), 1, "{pending:?}");
    let ends_at = w
        .store
        .auction(&id)
        .await
        .expect("read")
        .expect("auction")
        .value
        .ends_at;
    assert_eq!(pending[0].2, ends_at);
    // A close delivered before endsAt closes nothing and re-arms under a name of its own.
    assert!(process(&w, &[("m2", &close(&id))]).await.is_empty());
    let auction = w
        .store
        .auction(&id)
        .await
        .expect("read")
        .expect("auction")
        .value;
    assert_eq!(auction.status, AuctionStatus::Open);
    let names: Vec<String> = w
        .schedules
        .pending()
        .into_iter()
        .map(|(n, _, _)| n)
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[1].starts_with(&names[0]), "{names:?}");
}

#[tokio::test]
async fn a_close_after_the_end_closes_once_with_the_winner_and_a_second_delivery_changes_nothing() {
    let w = world();
    let (id, _) = auction(&w, 1).await;
    w.deps
        .service
        .place_bid(&ctx("ann"), &id, 1000)
        .await
        .expect("bid");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let due = close(&id);
    assert!(process(&w, &[("m1", &due), ("m2", &due)]).await.is_empty());
    let auction = w
        .store
        .auction(&id)
        .await
        .expect("read")
        .expect("auction")
        .value;
    assert_eq!(auction.status, AuctionStatus::Closed);
    let item = w
        .store
        .item(&auction.item_id)
        .await
        .expect("read")
        .expect("item")
        .value;
    assert_eq!(item.status, ItemStatus::Sold);
    let ended: Vec<_> = w
        .store
        .events()
        .into_iter()
        .filter_map(|e| match e.event {
            DomainEvent::AuctionEnded(a) => Some(a),
            _ => None,
        })
        .collect();
    assert_eq!(ended.len(), 1, "AuctionEnded once");
    assert_eq!(ended[0].winner_id.as_deref(), Some("ann"));
    let profile = w
        .store
        .profile("ann")
        .await
        .expect("read")
        .expect("profile");
    assert_eq!(profile.stats.auctions_won, 1);
    assert!(w.runtime.queue().dead_letters().is_empty());
}

#[tokio::test]
async fn a_step_for_the_expiries_queue_is_dead_lettered_as_rejected() {
    let w = world();
    let expiry = r#"{"due":"reservation-expiry","reservationId":"r"}"#;
    assert!(process(&w, &[("m1", expiry)]).await.is_empty());
    assert_eq!(
        w.runtime.queue().dead_letters(),
        [("m1".to_owned(), "rejected".to_owned())]
    );
}
