use std::sync::Arc;

use chrono::Utc;

use super::*;
use crate::auction::{NewAuction, Standing};
use crate::item::{Category, ItemMode, ItemStatus, NewItem, PhotoStatus};
use crate::profile::Account;
use crate::rating::NewRating;
use crate::reservation::{ReservationStatus, Role};
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

/// A new auction item of `seller` and its hour-long auction, from 1.00 by 0.10.
async fn hour_auction(service: &Service, seller: &Ctx) -> (Item, crate::auction::Auction) {
    let item = service.create_item(seller, lot()).await.unwrap();
    let auction = service
        .create_auction(
            seller,
            &NewAuction {
                item_id: item.id.clone(),
                starting_price: 100,
                min_increment: 10,
                duration_seconds: 3600,
            },
        )
        .await
        .unwrap();
    (item, auction)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bids_leave_the_highest_accepted_bid_leading() {
    // GIVEN an open auction
    let (service, store) = service();
    let seller = ctx("seller");
    let (_, auction) = hour_auction(&service, &seller).await;
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
    let (item, auction) = hour_auction(&service, &seller).await;
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

#[tokio::test]
async fn a_users_lists_hold_exactly_their_records_newest_first_page_by_page() {
    let (service, _) = service();
    let mut free = lot();
    free.mode = ItemMode::Free;
    // GIVEN a seller with three free items and an auction, a buyer who reserved one and bid on the auction
    let seller = ctx("seller");
    let mut items = vec![];
    for minute in 0..3 {
        let at = Ctx {
            now: seller.now + chrono::Duration::minutes(minute),
            ..seller.clone()
        };
        items.push(service.create_item(&at, free.clone()).await.unwrap());
    }
    let (lot_item, auction) = hour_auction(&service, &seller).await;
    let buyer = ctx("buyer");
    let r = service.reserve(&buyer, &items[0].id).await.unwrap();
    service.place_bid(&buyer, &auction.id, 100).await.unwrap();
    service
        .place_bid(&ctx("rival"), &auction.id, 150)
        .await
        .unwrap();
    service.place_bid(&buyer, &auction.id, 200).await.unwrap();
    let all = |limit| Listing { after: None, limit };

    // THEN the seller's items come newest first, two per page, and a status narrows them
    let first = service.items_of("seller", None, &all(2)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let after = first.next_cursor.as_deref().map(Cursor::parse).unwrap();
    let rest = service
        .items_of("seller", None, &Listing { after, limit: 2 })
        .await
        .unwrap();
    let mut seen: Vec<_> = first
        .items
        .iter()
        .chain(&rest.items)
        .map(|i| i.id.clone())
        .collect();
    assert_eq!(rest.next_cursor, None);
    seen.sort();
    let mut posted: Vec<_> = items
        .iter()
        .map(|i| i.id.clone())
        .chain([lot_item.id.clone()])
        .collect();
    posted.sort();
    assert_eq!(seen, posted);
    let reserved = service
        .items_of("seller", Some(ItemStatus::Reserved), &all(20))
        .await
        .unwrap();
    assert_eq!(
        reserved.items.iter().map(|i| &i.id).collect::<Vec<_>>(),
        [&items[0].id]
    );
    assert!(service
        .items_of("buyer", None, &all(20))
        .await
        .unwrap()
        .items
        .is_empty());

    // AND the reservation is the buyer's as buyer and the seller's as seller, nobody else's
    for (user, role) in [("buyer", Role::Buyer), ("seller", Role::Seller)] {
        let page = service
            .reservations_of(user, role, None, &all(20))
            .await
            .unwrap();
        assert_eq!(
            page.items.iter().map(|x| &x.id).collect::<Vec<_>>(),
            [&r.id],
            "{user}"
        );
    }
    for (user, role) in [
        ("buyer", Role::Seller),
        ("seller", Role::Buyer),
        ("rival", Role::Buyer),
    ] {
        let page = service
            .reservations_of(user, role, None, &all(20))
            .await
            .unwrap();
        assert!(page.items.is_empty(), "{user} as {role}");
    }
    let cancelled = service
        .reservations_of(
            "buyer",
            Role::Buyer,
            Some(ReservationStatus::Cancelled),
            &all(20),
        )
        .await
        .unwrap();
    assert!(cancelled.items.is_empty());

    // AND the auction is the seller's; the buyer's bids show one entry with their top bid, leading
    let auctions = service.auctions_of("seller", None, &all(20)).await.unwrap();
    assert_eq!(auctions.items.len(), 1);
    let bids = service.bids_of("buyer", &all(20)).await.unwrap();
    assert_eq!(bids.items.len(), 1);
    assert_eq!(
        (bids.items[0].my_top_bid, bids.items[0].standing),
        (200, Standing::Leading)
    );
    let rival = service.bids_of("rival", &all(20)).await.unwrap();
    assert_eq!(
        (rival.items[0].my_top_bid, rival.items[0].standing),
        (150, Standing::Outbid)
    );
}

#[tokio::test]
async fn a_public_profile_exists_once_a_user_posted_and_shows_the_ratings_they_received() {
    let (service, _) = service();
    assert!(matches!(
        service.public_profile("seller").await,
        Err(ServiceError::Domain(DomainError::NotFound("user")))
    ));
    let mut free = lot();
    free.mode = ItemMode::Free;
    let item = service.create_item(&ctx("seller"), free).await.unwrap();
    let profile = service.public_profile("seller").await.unwrap();
    assert!(profile.member_since.is_some());
    assert_eq!((profile.rating_count, profile.deals_completed), (0, 0));
    let r = service.reserve(&ctx("buyer"), &item.id).await.unwrap();
    service.confirm(&ctx("seller"), &r.id, None).await.unwrap();
    service.complete(&ctx("buyer"), &r.id).await.unwrap();
    let rating = NewRating {
        about: r.id.clone(),
        stars: 4,
        comment: Some("on time".into()),
    };
    service
        .rate(&ctx("buyer"), "seller", &rating)
        .await
        .unwrap();
    let profile = service.public_profile("seller").await.unwrap();
    assert_eq!(
        (
            profile.rating_average,
            profile.rating_count,
            profile.deals_completed
        ),
        (Some(4.0), 1, 1)
    );
    let ratings = service
        .ratings_of(
            "seller",
            &Listing {
                after: None,
                limit: 20,
            },
        )
        .await
        .unwrap();
    assert_eq!(ratings.items.len(), 1);
    assert_eq!(ratings.items[0].rater_id, "buyer");
    // The cursor of a rating (its deal, here a reservation) is one this API parses back.
    let one = service
        .ratings_of(
            "seller",
            &Listing {
                after: None,
                limit: 1,
            },
        )
        .await
        .unwrap();
    assert_eq!(one.next_cursor, None);
    let position = Listed::position(&ratings.items[0]).encode();
    assert!(Cursor::parse(&position).is_some(), "{position}");
}

#[tokio::test]
async fn an_account_goes_only_without_deals_under_way_and_leaves_a_tombstone() {
    let (service, store) = service();
    let mut free = lot();
    free.mode = ItemMode::Free;
    let (seller, buyer) = (ctx("seller"), ctx("buyer"));
    let taken = service.create_item(&seller, free.clone()).await.unwrap();
    let listed = service.create_item(&seller, free).await.unwrap();
    let r = service.reserve(&buyer, &taken.id).await.unwrap();
    // GIVEN an active reservation, neither party's account can go
    for party in [&seller, &buyer] {
        let refused = service.withdraw_account(party).await.unwrap_err();
        assert!(
            matches!(
                refused,
                ServiceError::Domain(DomainError::Conflict(Conflict::AccountInUse, ref why)) if why.contains("pending reservation")
            ),
            "{refused}"
        );
    }
    // AND a leading bid holds the bidder's account too
    let (_, auction) = hour_auction(&service, &ctx("auctioneer")).await;
    service
        .place_bid(&ctx("bidder"), &auction.id, 100)
        .await
        .unwrap();
    let leading = service.withdraw_account(&ctx("bidder")).await.unwrap_err();
    assert!(leading.to_string().contains("a leading bid"), "{leading}");
    assert!(service
        .withdraw_account(&ctx("auctioneer"))
        .await
        .unwrap_err()
        .to_string()
        .contains("an open auction"));
    // WHEN the reservation ends, the seller's account goes: the listed item is withdrawn
    service.cancel(&buyer, &r.id).await.unwrap();
    let (withdrawn, devices) = service.withdraw_account(&seller).await.unwrap();
    assert_eq!((withdrawn, devices.len()), (2, 0));
    assert!(matches!(
        service.get_item(&listed.id).await,
        Err(ServiceError::Domain(DomainError::NotFound(_)))
    ));
    service.close_account(&seller, withdrawn).await.unwrap();
    // THEN their token is refused, their profile is gone from view, and UserDeleted flowed
    assert!(matches!(
        service.admit("seller").await,
        Err(ServiceError::Domain(DomainError::AccountDeleted))
    ));
    assert!(service.admit("buyer").await.is_ok());
    assert!(matches!(
        service.public_profile("seller").await,
        Err(ServiceError::Domain(DomainError::NotFound("user")))
    ));
    let last = store.events().last().unwrap().to_json();
    assert_eq!(last["type"], "UserDeleted");
    assert_eq!(last["data"]["listingsWithdrawn"], 2);
}

#[tokio::test]
async fn a_listing_taken_down_mid_auction_ends_it_at_once_sold_to_nobody() {
    // GIVEN an auction ann leads
    let (service, store) = service();
    let seller = ctx("seller");
    let (item, auction) = hour_auction(&service, &seller).await;
    service
        .place_bid(&ctx("ann"), &auction.id, 100)
        .await
        .unwrap();
    // WHEN a moderator takes the listing down
    let moderator = ctx("moderator");
    let down = service
        .take_down(&moderator, &item.id, "stolen goods")
        .await
        .unwrap();
    assert!(!down.is_shown());
    let Some(DomainEvent::ItemTakenDown(event)) = store.events().last().map(|e| e.event.clone())
    else {
        panic!("no ItemTakenDown");
    };
    assert_eq!(event.auction_id.as_deref(), Some(auction.id.as_str()));
    assert_eq!(event.moderator_id, "moderator");
    // THEN no bid is taken, and the close (due now) has no winner: ann lost, the item is unsold
    let late = service.place_bid(&ctx("bob"), &auction.id, 500).await;
    assert!(
        matches!(
            late,
            Err(ServiceError::Domain(DomainError::Conflict(
                Conflict::AuctionEnded,
                _
            )))
        ),
        "{late:?}"
    );
    assert_eq!(
        service
            .close_auction(&moderator, &auction.id)
            .await
            .unwrap(),
        Step::Done
    );
    let Some(DomainEvent::AuctionEnded(ended)) = store.events().last().map(|e| e.event.clone())
    else {
        panic!("no AuctionEnded");
    };
    assert_eq!(
        (ended.winner_id, ended.loser_ids),
        (None, vec!["ann".to_owned()])
    );
    assert_eq!(
        service.get_item(&item.id).await.unwrap().status,
        ItemStatus::Unsold
    );
    // AND taking it down again changes nothing
    let events = store.events().len();
    service
        .take_down(&moderator, &item.id, "again")
        .await
        .unwrap();
    assert_eq!(store.events().len(), events);
}

#[tokio::test]
async fn a_suspended_account_is_refused_until_reinstated_and_a_race_decides_once() {
    let (service, store) = service();
    service.create_item(&ctx("seller"), lot()).await.unwrap();
    let (moderator, other) = (ctx("moderator"), ctx("moderator-2"));
    assert!(matches!(
        service.suspend(&moderator, "ghost", "spam").await,
        Err(ServiceError::Domain(DomainError::NotFound("user")))
    ));
    let (a, b) = tokio::join!(
        service.suspend(&moderator, "seller", "spam"),
        service.suspend(&other, "seller", "spam too"),
    );
    assert_eq!(
        (a.unwrap(), b.unwrap()),
        (Account::Suspended, Account::Suspended)
    );
    let suspensions = store
        .events()
        .iter()
        .filter(|e| matches!(e.event, DomainEvent::UserSuspended(_)))
        .count();
    assert_eq!(suspensions, 1, "one suspension, one event");
    assert!(matches!(
        service.admit("seller").await,
        Err(ServiceError::Domain(DomainError::AccountSuspended))
    ));
    assert_eq!(
        service.reinstate(&moderator, "seller").await.unwrap(),
        Account::Active
    );
    assert!(service.admit("seller").await.is_ok());
}
