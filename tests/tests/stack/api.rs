//! The REST API on the local stack, the way the mobile app uses it: real HTTP through the local runner's API
//! Gateway, real Cognito tokens from the emulator's user pool, the real API Lambda (release zip) on the table,
//! and the events its writes emit seen on the workspace's bus (a rule of the test's own → a queue of its own).
//! Flows 1–3 up to their events, each a test of its own on workspace B (the backbone suite plays workspace A's
//! stream publisher).

use std::collections::HashMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use e2e::faults::{Fault, Faults};

use crate::support::api::{auction_of, correlation, event, events_of, item, profile, Api};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_1_posting_an_item_emits_item_created_and_it_can_be_browsed() {
    let api = &Api::on_b().await;
    let tap = api.tap().await;
    let c = correlation();
    // No token: the authorizer refuses.
    let anonymous = api
        .call(Method::POST, "/items", None, Some(item("free")), &c)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let (alice, _) = api.user("alice").await;
    let posted = api
        .call(
            Method::POST,
            "/items",
            Some("alice"),
            Some(item("free")),
            &c,
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    let id = posted.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        posted.body["sellerId"],
        alice.as_str(),
        "the seller is the token's sub"
    );
    let events = events_of(api, &tap, &c, &["ItemCreated"]).await;
    assert_eq!(events[0].to_json()["data"]["itemId"], id.as_str());
    // Browsing near the Eiffel tower (public) finds it through the location index; 1 km off in Paris it is
    // 2 km away: in a 5 km radius, not in a 1 km one.
    let near = api
        .call(
            Method::GET,
            "/items?near=48.8738,2.2950&radiusKm=5&limit=50",
            None,
            None,
            &c,
        )
        .await;
    assert_eq!(near.status, StatusCode::OK, "{}", near.body);
    let ids: Vec<&str> = near.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert!(ids.contains(&id.as_str()), "{ids:?}");
    let far = api
        .call(
            Method::GET,
            "/items?near=48.8738,2.2950&radiusKm=1&limit=50",
            None,
            None,
            &c,
        )
        .await;
    assert!(!far.body.to_string().contains(&id));
    // Neither a point nor a category: the newest listed items of every category, paged with the cursor (other
    // tests list beside this one, so it may be a page or two down).
    let mut path = "/items?limit=50".to_owned();
    let mut found = false;
    for _ in 0..10 {
        let page = api.call(Method::GET, &path, None, None, &c).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        found = page.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|i| i["id"] == id.as_str());
        match page.body["nextCursor"].as_str() {
            Some(next) if !found => path = format!("/items?limit=50&cursor={next}"),
            _ => break,
        }
    }
    assert!(found, "{id} is not among the newest listed items");
    let got = api
        .call(Method::GET, &format!("/items/{id}"), None, None, &c)
        .await;
    assert_eq!(got.body["status"], "available");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_2_reserve_confirm_complete_rate_emits_each_event() {
    let api = &Api::on_b().await;
    let tap = api.tap().await;
    let c = correlation();
    let (seller, _) = api.user("sam").await;
    let (buyer, _) = api.user("bea").await;
    let (seller_before, buyer_before) =
        (profile(api, "sam", &c).await, profile(api, "bea", &c).await);
    let id = api.free_item("sam", &c).await;
    let rid = api.reserve("bea", &id, &c).await;
    // A second buyer finds it taken; a stranger may not look at the reservation.
    let taken = api
        .call(
            Method::POST,
            &format!("/items/{id}/reserve"),
            Some("carl"),
            None,
            &c,
        )
        .await;
    assert_eq!(
        (taken.status, taken.problem()),
        (StatusCode::CONFLICT, "item-not-available")
    );
    let peek = api
        .call(
            Method::GET,
            &format!("/reservations/{rid}"),
            Some("carl"),
            None,
            &c,
        )
        .await;
    assert_eq!(peek.status, StatusCode::FORBIDDEN);
    let confirmed = api
        .call(
            Method::POST,
            &format!("/reservations/{rid}/confirm"),
            Some("sam"),
            Some(json!({"pickupAt": "2026-12-01T17:00:00Z"})),
            &c,
        )
        .await;
    assert_eq!(confirmed.body["status"], "confirmed", "{}", confirmed.body);
    let done = api
        .call(
            Method::POST,
            &format!("/reservations/{rid}/complete"),
            Some("bea"),
            None,
            &c,
        )
        .await;
    assert_eq!(done.body["status"], "completed", "{}", done.body);
    let rated = api
        .call(
            Method::POST,
            &format!("/users/{seller}/ratings"),
            Some("bea"),
            Some(json!({"about": rid, "stars": 5})),
            &c,
        )
        .await;
    assert_eq!(rated.status, StatusCode::CREATED, "{}", rated.body);
    let again = api
        .call(
            Method::POST,
            &format!("/users/{seller}/ratings"),
            Some("bea"),
            Some(json!({"about": rid, "stars": 1})),
            &c,
        )
        .await;
    assert_eq!(
        (again.status, again.problem()),
        (StatusCode::CONFLICT, "already-rated")
    );
    let events = events_of(
        api,
        &tap,
        &c,
        &[
            "ItemCreated",
            "ReservationCreated",
            "ReservationConfirmed",
            "ReservationCompleted",
            "UserRated",
        ],
    )
    .await;
    let created = event(&events, "ReservationCreated");
    assert_eq!(created.to_json()["data"]["buyerId"], buyer.as_str());
    // The item was picked up; both users' stats moved exactly once, the seller got exactly one rating.
    let got = api
        .call(Method::GET, &format!("/items/{id}"), None, None, &c)
        .await;
    assert_eq!(got.body["status"], "picked_up");
    let (seller_after, buyer_after) =
        (profile(api, "sam", &c).await, profile(api, "bea", &c).await);
    assert_eq!(
        seller_after["stats"]["itemsGiven"].as_u64(),
        seller_before["stats"]["itemsGiven"].as_u64().map(|n| n + 1),
        "{seller_after}"
    );
    assert_eq!(
        seller_after["ratingCount"].as_u64(),
        seller_before["ratingCount"].as_u64().map(|n| n + 1),
        "{seller_after}"
    );
    assert_eq!(
        buyer_after["stats"]["itemsReceived"].as_u64(),
        buyer_before["stats"]["itemsReceived"]
            .as_u64()
            .map(|n| n + 1),
        "{buyer_after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_3_an_auction_under_100_concurrent_bids_keeps_the_highest_accepted_bid() {
    let api = &Api::on_b().await;
    let tap = api.tap().await;
    let c = correlation();
    let (auction, _) = auction_of(api, "olga", 1000, 3600, &c).await;
    let bidders: Vec<String> = (0..10).map(|i| format!("bidder{i}")).collect();
    for b in &bidders {
        api.user(b).await;
    }
    // WHEN 100 bids from 10 users arrive at once (amounts spread so that many are outbid on arrival)
    // (futures joined on this task: all 100 requests are in flight at once)
    let path = format!("/auctions/{auction}/bids");
    let bids = (0..100usize).map(|i| {
        let (user, path, c) = (bidders[i % 10].clone(), &path, &c);
        let amount = 1000 + ((i * 7919) % 100) as i64 * 15;
        async move {
            let answer = api
                .call(
                    Method::POST,
                    path,
                    Some(&user),
                    Some(json!({"amount": amount})),
                    c,
                )
                .await;
            (user, amount, answer)
        }
    });
    let mut accepted = vec![];
    let mut refusals: HashMap<String, usize> = HashMap::new();
    for (user, amount, answer) in futures::future::join_all(bids).await {
        match answer.status {
            StatusCode::CREATED => accepted.push((amount, user)),
            StatusCode::CONFLICT => {
                // THEN every refusal is a 409 that says why
                assert!(
                    ["bid-too-low", "contention"].contains(&answer.problem()),
                    "{}",
                    answer.body
                );
                assert!(answer.body["detail"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()));
                *refusals.entry(answer.problem().to_owned()).or_default() += 1;
            }
            other => panic!("bid answered {other}: {}", answer.body),
        }
    }
    // AND the stored leader and amount are the highest accepted bid, the count the accepted bids
    let (top, leader) = accepted.iter().max().cloned().expect("some bids accepted");
    let stored = api
        .call(Method::GET, &format!("/auctions/{auction}"), None, None, &c)
        .await;
    let (leader_sub, _) = api.user(&leader).await;
    assert_eq!(stored.body["currentBid"], top, "{}", stored.body);
    assert_eq!(stored.body["leaderId"], leader_sub.as_str());
    assert_eq!(stored.body["bidCount"], accepted.len(), "{}", stored.body);
    let bids = api
        .call(
            Method::GET,
            &format!("/auctions/{auction}/bids?limit=50"),
            None,
            None,
            &c,
        )
        .await;
    assert_eq!(bids.body["items"][0]["amount"], top);
    eprintln!(
        "100 concurrent bids: {} accepted (top {top}), refused {refusals:?}",
        accepted.len()
    );
    // AND one BidPlaced per accepted bid reached the bus, after AuctionCreated
    let mut want = vec!["ItemCreated", "AuctionCreated"];
    want.extend(std::iter::repeat_n("BidPlaced", accepted.len()));
    events_of(api, &tap, &c, &want).await;

    // A late bid (inside the anti-sniping window: the local stack's is the last 20 s, local.tfvars) of a
    // one-minute auction (the local stack's shortest) extends it.
    let c = correlation();
    let (quick_id, quick) = auction_of(api, "olga", 500, 60, &c).await;
    let ends = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v["endsAt"].as_str().expect("endsAt")).expect("a time")
    };
    let late_at = ends(&quick) - chrono::Duration::seconds(10);
    if let Ok(wait) = (late_at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
    let late = api
        .call(
            Method::POST,
            &format!("/auctions/{quick_id}/bids"),
            Some("bidder0"),
            Some(json!({"amount": 500})),
            &c,
        )
        .await;
    assert_eq!(late.status, StatusCode::CREATED, "{}", late.body);
    let after = api
        .call(
            Method::GET,
            &format!("/auctions/{quick_id}"),
            None,
            None,
            &c,
        )
        .await;
    assert_eq!(after.body["extensions"], 1, "{}", after.body);
    assert!(
        ends(&after.body) > ends(&quick),
        "endsAt moved: {} -> {}",
        quick,
        after.body
    );
    events_of(
        api,
        &tap,
        &c,
        &[
            "ItemCreated",
            "AuctionCreated",
            "BidPlaced",
            "AuctionExtended",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_the_table_throttles_the_api_answers_429_with_retry_after_never_500() {
    let api = &Api::on_b().await;
    let faults = Faults::new(&api.emulator.endpoint);
    let c = correlation();
    let posted = api
        .call(
            Method::POST,
            "/items",
            Some("tilda"),
            Some(item("free")),
            &c,
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    let id = posted.body["id"].as_str().expect("id").to_owned();
    // GIVEN the table refusing reads of that item for a while: 9 refusals, three API calls' worth of the
    // SDK's 3 attempts each
    let throttle = faults
        .inject(
            Fault::new(
                "dynamodb",
                "GetItem",
                "ProvisionedThroughputExceededException",
                400,
            )
            .times(9)
            .matching(&id),
        )
        .await;
    // WHEN the app reads the item, retrying as the answers say, until it succeeds
    let mut statuses = Vec::new();
    loop {
        let read = api
            .call(
                Method::GET,
                &format!("/items/{id}"),
                Some("tilda"),
                None,
                &c,
            )
            .await;
        statuses.push(read.status.as_u16());
        if read.status == StatusCode::OK {
            assert_eq!(read.body["id"], id.as_str());
            break;
        }
        // THEN every refusal is a 429 problem saying when to come back, never a 5xx
        assert_eq!(read.status, StatusCode::TOO_MANY_REQUESTS, "{}", read.body);
        assert_eq!(read.problem(), "throttled", "{}", read.body);
        let after: u64 = read
            .retry_after
            .as_deref()
            .and_then(|v| v.parse().ok())
            .expect("a Retry-After in seconds");
        assert!(statuses.len() <= 5, "still refused after {statuses:?}");
        tokio::time::sleep(std::time::Duration::from_secs(after)).await;
    }
    assert!(
        statuses.contains(&429),
        "the throttle was felt: {statuses:?}"
    );
    assert_eq!(throttle.hits().await, 9, "every refusal was used");
    eprintln!("reads while the table throttled: {statuses:?}");
}
