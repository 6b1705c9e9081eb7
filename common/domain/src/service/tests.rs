use std::sync::Arc;

use chrono::Utc;

use super::*;
use crate::store::memory::MemoryStore;

fn ctx(caller: &str) -> Ctx {
    Ctx {
        caller: caller.into(),
        correlation: CorrelationId::random(),
        now: Utc::now(),
    }
}

fn service() -> (Service, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new());
    (Service::new(store.clone(), Settings::default()), store)
}

fn lot() -> NewItem {
    NewItem {
        title: "Bike".into(),
        description: String::new(),
        category: Category::Sports,
        location: rules::Point {
            lat: 52.52,
            lon: 13.405,
        },
        mode: rules::Mode::Auction,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bids_leave_the_highest_accepted_bid_leading() {
    // GIVEN an open auction
    let (service, store) = service();
    let seller = ctx("seller");
    let item = service.create_item(&seller, lot()).await.unwrap();
    let auction = service
        .create_auction(
            &seller,
            &NewAuction {
                item_id: item.id,
                starting_price: 100,
                min_increment: 10,
                duration_seconds: 3600,
            },
        )
        .await
        .unwrap();
    // WHEN 100 bids from 10 bidders race
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..100i64 {
        let (service, id) = (service.clone(), auction.id.clone());
        tasks.spawn(async move {
            let amount = 100 + (i * 37) % 500;
            (
                amount,
                service
                    .place_bid(&ctx(&format!("bidder{}", i % 10)), &id, amount)
                    .await,
            )
        });
    }
    let mut accepted = vec![];
    while let Some(done) = tasks.join_next().await {
        match done.unwrap() {
            (amount, Ok(_)) => accepted.push(amount),
            (_, Err(ServiceError::Domain(DomainError::Conflict(reason, _)))) => {
                assert_eq!(reason, Conflict::BidTooLow)
            }
            (_, Err(e)) => panic!("unexpected refusal: {e}"),
        }
    }
    // THEN the stored leader holds the highest accepted bid, and every accepted bid was counted once
    let stored = service.get_auction(&auction.id).await.unwrap();
    assert_eq!(stored.current_bid, accepted.iter().copied().max());
    assert_eq!(stored.bid_count as usize, accepted.len());
    let bids = service.bids(&auction.id, None, 1000).await.unwrap();
    assert_eq!(bids.items.len(), accepted.len());
    let placed = store
        .events()
        .iter()
        .filter(|e| e.event_type() == crate::event::EventType::BidPlaced)
        .count();
    assert_eq!(placed, accepted.len(), "one BidPlaced per accepted bid");
}

#[tokio::test]
async fn a_completed_reservation_moves_both_users_stats_once_and_can_be_rated_once() {
    let (service, store) = service();
    let mut free = lot();
    free.mode = rules::Mode::Free;
    let item = service.create_item(&ctx("seller"), free).await.unwrap();
    let r = service.reserve(&ctx("buyer"), &item.id).await.unwrap();
    // A second reservation of the same item is refused.
    let again = service.reserve(&ctx("other"), &item.id).await.unwrap_err();
    assert!(matches!(
        again,
        ServiceError::Domain(DomainError::Conflict(Conflict::ItemNotAvailable, _))
    ));
    service.confirm(&ctx("seller"), &r.id, None).await.unwrap();
    service.complete(&ctx("buyer"), &r.id).await.unwrap();
    assert!(service.complete(&ctx("buyer"), &r.id).await.is_err());
    assert_eq!(
        service.profile("seller").await.unwrap().stats.items_given,
        1
    );
    assert_eq!(
        service.profile("buyer").await.unwrap().stats.items_received,
        1
    );
    let rating = NewRating {
        about: r.id.clone(),
        stars: 4,
        comment: None,
    };
    service
        .rate(&ctx("buyer"), "seller", &rating)
        .await
        .unwrap();
    let twice = service
        .rate(&ctx("buyer"), "seller", &rating)
        .await
        .unwrap_err();
    assert!(matches!(
        twice,
        ServiceError::Domain(DomainError::Conflict(Conflict::AlreadyRated, _))
    ));
    let seller = service.profile("seller").await.unwrap();
    assert_eq!((seller.rating_sum, seller.rating_count), (4, 1));
    let types: Vec<_> = store
        .events()
        .iter()
        .map(|e| e.event_type().as_str())
        .collect();
    assert_eq!(
        types,
        [
            "ItemCreated",
            "ReservationCreated",
            "ReservationConfirmed",
            "ReservationCompleted",
            "UserRated"
        ]
    );
}
