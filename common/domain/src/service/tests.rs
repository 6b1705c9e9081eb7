use std::sync::Arc;

use chrono::Utc;

use super::*;
use crate::auction::NewAuction;
use crate::item::{Category, ItemMode, ItemStatus, NewItem, PhotoStatus};
use crate::rating::NewRating;
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
        location: crate::geo::Point {
            lat: 52.52,
            lon: 13.405,
        },
        mode: ItemMode::Auction,
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
    free.mode = ItemMode::Free;
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

fn at(caller: &str, now: chrono::DateTime<Utc>) -> Ctx {
    Ctx { now, ..ctx(caller) }
}

#[tokio::test]
async fn an_auction_closes_once_with_winner_losers_and_stats() {
    // GIVEN an auction with bids from ann, bob, ann (ann leads)
    let (service, store) = service();
    let seller = ctx("seller");
    let item = service.create_item(&seller, lot()).await.unwrap();
    let auction = service
        .create_auction(
            &seller,
            &NewAuction {
                item_id: item.id.clone(),
                starting_price: 100,
                min_increment: 10,
                duration_seconds: 3600,
            },
        )
        .await
        .unwrap();
    for (who, amount) in [("ann", 100), ("bob", 110), ("ann", 120)] {
        service
            .place_bid(&ctx(who), &auction.id, amount)
            .await
            .unwrap();
    }
    // WHEN the close fires early THEN it is told when to come back, and nothing changes
    let early = at("system", auction.ends_at - chrono::Duration::seconds(5));
    assert_eq!(
        service.close_auction(&early, &auction.id).await.unwrap(),
        Step::NotDue(auction.ends_at)
    );
    // WHEN it fires at endsAt, twice (a duplicate delivery)
    let due = at("system", auction.ends_at);
    assert_eq!(
        service.close_auction(&due, &auction.id).await.unwrap(),
        Step::Done
    );
    assert!(matches!(
        service.close_auction(&due, &auction.id).await.unwrap(),
        Step::Settled(_)
    ));
    // THEN one AuctionEnded: ann won with 120 of 3 bids, bob lost
    let ended: Vec<_> = store
        .events()
        .into_iter()
        .filter_map(|e| match e.event {
            DomainEvent::AuctionEnded(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].winner_id.as_deref(), Some("ann"));
    assert_eq!((ended[0].amount, ended[0].bid_count), (Some(120), 3));
    assert_eq!(ended[0].loser_ids, vec!["bob"]);
    // AND the item is SOLD, the stats moved once
    assert_eq!(
        service.get_item(&item.id).await.unwrap().status,
        ItemStatus::Sold
    );
    assert_eq!(service.profile("ann").await.unwrap().stats.auctions_won, 1);
    assert_eq!(
        service.profile("seller").await.unwrap().stats.auctions_sold,
        1
    );
    assert_eq!(service.profile("bob").await.unwrap().stats.auctions_won, 0);
}

#[tokio::test]
async fn a_reservation_expires_once_and_frees_its_item() {
    // GIVEN a reserved free item
    let (service, store) = service();
    let mut free = lot();
    free.mode = ItemMode::Free;
    let item = service.create_item(&ctx("seller"), free).await.unwrap();
    let r = service.reserve(&ctx("buyer"), &item.id).await.unwrap();
    // WHEN the expiry fires at expiresAt, twice
    let due = at("system", r.expires_at);
    assert_eq!(
        service.expire_reservation(&due, &r.id).await.unwrap(),
        Step::Done
    );
    assert!(matches!(
        service.expire_reservation(&due, &r.id).await.unwrap(),
        Step::Settled(_)
    ));
    // THEN one ReservationExpired, the item AVAILABLE again
    let expired = store
        .events()
        .iter()
        .filter(|e| e.event_type() == crate::event::EventType::ReservationExpired)
        .count();
    assert_eq!(expired, 1);
    assert_eq!(
        service.get_item(&item.id).await.unwrap().status,
        ItemStatus::Available
    );
    // AND the stale listing sweep finds the item once its own expiresAt has passed
    let later = item.expires_at;
    assert_eq!(
        service.stale_listings(later, 10).await.unwrap(),
        vec![item.id.clone()]
    );
    assert_eq!(
        service
            .expire_listing(&at("system", later), &item.id)
            .await
            .unwrap(),
        Step::Done
    );
    assert!(service.stale_listings(later, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_photo_is_settled_once() {
    // GIVEN an item with a pending photo
    let (service, store) = service();
    let seller = ctx("seller");
    let item = service.create_item(&seller, lot()).await.unwrap();
    let photo = service.add_photo(&seller, &item.id).await.unwrap();
    let r = crate::item::photo::photo_ref(&photo.key, "uploads/").expect("our key");
    let (_, found) = service.photo(&r).await.unwrap().expect("photo");
    assert_eq!(found.status, PhotoStatus::Pending);
    // WHEN it is rejected, then (a late duplicate) processed
    let rejected = crate::item::PhotoOutcome::Rejected {
        reason: "not a photo".into(),
    };
    assert_eq!(
        service.settle_photo(&seller, &r, &rejected).await.unwrap(),
        Step::Done
    );
    let ready = crate::item::PhotoOutcome::Ready {
        thumbnails: Default::default(),
        labels: vec![],
    };
    assert!(matches!(
        service.settle_photo(&seller, &r, &ready).await.unwrap(),
        Step::Settled(_)
    ));
    // THEN it stays REJECTED with its reason, and one ImageRejected names the seller
    let (_, after) = service.photo(&r).await.unwrap().expect("photo");
    assert_eq!(after.status, PhotoStatus::Rejected);
    assert_eq!(after.reason.as_deref(), Some("not a photo"));
    let rejections: Vec<_> = store
        .events()
        .into_iter()
        .filter_map(|e| match e.event {
            DomainEvent::ImageRejected(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(rejections.len(), 1);
    assert_eq!(rejections[0].seller_id, "seller");
}
