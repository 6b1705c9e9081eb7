use chrono::Duration;

use super::*;
use crate::testing::{
    auction, conflict, create_auction, item, now, open_auction, place_bid, place_bid_within,
};

#[test]
fn auctions_need_an_auction_item_of_the_caller_and_sane_numbers() {
    let free = item(ItemMode::Free);
    let good = NewAuction {
        item_id: free.id.clone(),
        starting_price: 0,
        min_increment: 1,
        duration_seconds: 600,
    };
    assert!(matches!(
        create_auction(&free, "seller", &good, MIN_AUCTION, now()),
        Err(DomainError::Unprocessable(Unprocessable::NotAuctionItem, _))
    ));
    let lot = item(ItemMode::Auction);
    assert!(matches!(
        create_auction(&lot, "other", &good, MIN_AUCTION, now()),
        Err(DomainError::Forbidden(_))
    ));
    let bad = NewAuction {
        min_increment: 0,
        duration_seconds: 0,
        ..good.clone()
    };
    let Err(DomainError::Invalid(fields)) =
        create_auction(&lot, "seller", &bad, MIN_AUCTION, now())
    else {
        panic!("expected invalid");
    };
    assert_eq!(fields.len(), 2);
    // Shorter than the deployment allows is a rule of the deployment (422), not a malformed request (400).
    let short = NewAuction {
        duration_seconds: 60,
        ..good.clone()
    };
    assert!(matches!(
        create_auction(&lot, "seller", &short, MIN_AUCTION, now()),
        Err(DomainError::Unprocessable(
            Unprocessable::AuctionTooShort,
            _
        ))
    ));
    let (next, a) = create_auction(&lot, "seller", &good, MIN_AUCTION, now()).unwrap();
    assert_eq!(next.status, ItemStatus::InAuction);
    assert_eq!(a.ends_at - now(), Duration::seconds(600));
    assert_eq!(a.min_next_bid, 0);
}

#[test]
fn bids_must_beat_the_starting_price_then_the_current_bid_plus_the_increment() {
    let a = auction(&item(ItemMode::Auction));
    let t = now() + Duration::minutes(1);
    // GIVEN no bid yet: the starting price is the least
    assert_eq!(
        conflict(place_bid(&a, "b1", 999, t).unwrap_err()),
        Conflict::BidTooLow
    );
    let first = place_bid(&a, "b1", 1000, t).unwrap();
    assert_eq!(first.auction.current_bid, Some(1000));
    assert_eq!(first.auction.leader_id.as_deref(), Some("b1"));
    assert_eq!(first.previous_leader, None);
    // THEN the next must add the increment
    assert_eq!(
        conflict(place_bid(&first.auction, "b2", 1099, t).unwrap_err()),
        Conflict::BidTooLow
    );
    let second = place_bid(&first.auction, "b2", 1100, t).unwrap();
    assert_eq!(second.previous_leader.as_deref(), Some("b1"));
    assert_eq!(second.auction.bid_count, 2);
    assert_eq!(second.auction.min_next_bid, 1200);
    assert!(!second.extended);
}

#[test]
fn bids_are_refused_on_own_closed_or_ended_auctions() {
    let a = auction(&item(ItemMode::Auction));
    assert!(matches!(
        place_bid(&a, "seller", 5000, now()),
        Err(DomainError::Unprocessable(Unprocessable::OwnAuction, _))
    ));
    assert_eq!(
        conflict(place_bid(&a, "b", 5000, a.ends_at).unwrap_err()),
        Conflict::AuctionEnded
    );
    let closed = Auction {
        status: AuctionStatus::Closed,
        ..a.clone()
    };
    assert_eq!(
        conflict(place_bid(&closed, "b", 5000, now()).unwrap_err()),
        Conflict::AuctionClosed
    );
    assert!(matches!(
        place_bid(&a, "b", 0, now()),
        Err(DomainError::Invalid(_))
    ));
}

#[test]
fn late_bids_extend_the_auction_at_most_ten_times() {
    let mut a = auction(&item(ItemMode::Auction));
    // WHEN a bid comes 30 s before the end, eleven times
    for round in 0..11u32 {
        let t = a.ends_at - Duration::seconds(30);
        let placed = place_bid(&a, &format!("b{}", round % 2), a.min_next_bid, t).unwrap();
        if round < MAX_EXTENSIONS {
            // THEN endsAt moves to 2 minutes after the bid
            assert!(placed.extended);
            assert_eq!(placed.auction.ends_at, t + SNIPING_WINDOW);
        } else {
            assert!(!placed.extended, "the eleventh late bid does not extend");
            assert_eq!(placed.auction.ends_at, a.ends_at);
        }
        a = placed.auction;
    }
    assert_eq!(a.extensions, MAX_EXTENSIONS);
    // A bid well before the window does not extend.
    let early = auction(&item(ItemMode::Auction));
    assert!(!place_bid(&early, "b", 1000, now()).unwrap().extended);
    // Another window (the local stack's shorter one): 30 s before the end is outside 20 s, 10 s inside.
    let short = Duration::seconds(20);
    let t = early.ends_at - Duration::seconds(30);
    assert!(
        !place_bid_within(&early, "b", 1000, t, short)
            .unwrap()
            .extended
    );
    let t = early.ends_at - Duration::seconds(10);
    let placed = place_bid_within(&early, "b", 1000, t, short).unwrap();
    assert!(placed.extended);
    assert_eq!(placed.auction.ends_at, t + short);
}

#[test]
fn an_auction_closes_once_at_its_end_with_the_leader_as_winner() {
    // GIVEN an auction with two bids
    let (a, item) = open_auction();
    let a = place_bid(&a, "ann", 1000, now()).unwrap().auction;
    let a = place_bid(&a, "bob", 1100, now()).unwrap().auction;
    // WHEN the close fires before endsAt (it moved) THEN come back at endsAt
    assert_eq!(
        close_auction(&a, &item, a.ends_at - Duration::seconds(1)),
        Decision::NotDue(a.ends_at)
    );
    // WHEN it fires at endsAt THEN CLOSED, SOLD, bob wins with 1100
    let Decision::Act(closing) = close_auction(&a, &item, a.ends_at) else {
        panic!("expected to close")
    };
    assert_eq!(closing.auction.status, AuctionStatus::Closed);
    assert_eq!(closing.item.status, ItemStatus::Sold);
    assert_eq!(closing.winner, Some(("bob".to_owned(), 1100)));
    // AND again: nothing to do
    assert!(matches!(
        close_auction(&closing.auction, &closing.item, a.ends_at),
        Decision::Settled(_)
    ));
}

#[test]
fn an_auction_without_bids_leaves_the_item_unsold() {
    let (a, item) = open_auction();
    let Decision::Act(closing) = close_auction(&a, &item, a.ends_at) else {
        panic!("expected to close")
    };
    assert_eq!(closing.item.status, ItemStatus::Unsold);
    assert_eq!(closing.winner, None);
}

#[test]
fn losers_are_each_bidder_but_the_winner_once() {
    let bidders = ["bob", "ann", "bob", "cy", "ann"];
    assert_eq!(losers(bidders, Some("bob")), vec!["ann", "cy"]);
    assert_eq!(losers(bidders, None), vec!["bob", "ann", "cy"]);
}

#[test]
fn a_bidder_leads_or_is_outbid_while_open_and_won_or_lost_once_closed() {
    let (open, _) = open_auction();
    let mut led = open.clone();
    led.leader_id = Some("ana".into());
    led.current_bid = Some(500);
    assert_eq!(led.standing("ana"), Standing::Leading);
    assert_eq!(led.standing("ben"), Standing::Outbid);
    let mut closed = led.clone();
    closed.status = AuctionStatus::Closed;
    assert_eq!(closed.standing("ana"), Standing::Won);
    assert_eq!(closed.standing("ben"), Standing::Lost);
    // Nobody bid: nobody won (the seller included).
    let mut unsold = open;
    unsold.status = AuctionStatus::Closed;
    assert_eq!(unsold.standing(&unsold.seller_id.clone()), Standing::Lost);
    let entry = BidStanding::new(
        closed,
        &Bidding {
            auction_id: led.id.clone(),
            bidder_id: "ben".into(),
            top_bid: 400,
            last_bid_at: now(),
        },
    );
    assert_eq!((entry.standing, entry.my_top_bid), (Standing::Lost, 400));
}

#[test]
fn an_auction_taken_down_ends_now_takes_no_bid_and_sells_to_nobody() {
    let (a, item) = open_auction();
    let a = place_bid(&a, "bob", 1100, now()).unwrap().auction;
    let at = now() + Duration::minutes(5);
    // WHEN a moderator takes its listing down THEN the auction ends now
    let stopped = take_down(&a, at).expect("ended");
    assert_eq!(stopped.ends_at, at);
    assert!(take_down(&stopped, at).is_none(), "ended already");
    assert!(matches!(
        place_bid(&stopped, "ann", 5000, at),
        Err(DomainError::Conflict(Conflict::AuctionEnded, _))
    ));
    // AND its close, due at once, has no winner: bob lost, the item is unsold
    let down = crate::item::take_down(&item, "a counterfeit", at)
        .unwrap()
        .expect("taken down");
    let Decision::Act(closing) = close_auction(&stopped, &down, at) else {
        panic!("expected to close")
    };
    assert_eq!(closing.winner, None);
    assert_eq!(closing.item.status, ItemStatus::Unsold);
    assert_eq!(closing.auction.standing("bob"), Standing::Lost);
}
