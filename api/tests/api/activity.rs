//! A user's own lists and public profiles, in process: exactly the caller's records, newest first, and
//! nothing private of anyone.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

async fn get(app: &TestApp, uri: &str, user: Option<&str>) -> Answer {
    call(&app.router, Method::GET, uri, user).send().await
}

fn ids(page: &Value, at: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e.pointer(at).and_then(Value::as_str).expect(at).to_owned())
        .collect()
}

#[tokio::test]
async fn my_lists_show_exactly_the_callers_records_with_their_standing() {
    // GIVEN a seller with two free items and an auction, a buyer who reserved one and bid
    let app = TestApp::new();
    let first = post_item(&app.router, "seller", "free").await;
    let second = post_item(&app.router, "seller", "free").await;
    let lot = post_item(&app.router, "seller", "auction").await;
    let reserved = call(
        &app.router,
        Method::POST,
        &format!("/items/{first}/reserve"),
        Some("buyer"),
    )
    .send()
    .await;
    assert_eq!(reserved.status, StatusCode::CREATED, "{}", reserved.body);
    let auction = call(&app.router, Method::POST, "/auctions", Some("seller"))
        .json(json!({ "itemId": lot, "startingPrice": 500, "minIncrement": 50, "durationSeconds": 3600 }))
        .send()
        .await;
    let aid = auction.body["id"].as_str().expect("id").to_owned();
    for (user, amount) in [("buyer", 500), ("rival", 600), ("buyer", 700)] {
        let bid = call(
            &app.router,
            Method::POST,
            &format!("/auctions/{aid}/bids"),
            Some(user),
        )
        .json(json!({ "amount": amount }))
        .send()
        .await;
        assert_eq!(bid.status, StatusCode::CREATED, "{}", bid.body);
    }

    // THEN the seller's items are theirs alone, and a status narrows them
    let mine = get(&app, "/users/me/items", Some("seller")).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    let mut listed = ids(&mine.body, "/id");
    listed.sort();
    let mut posted = vec![first.clone(), second, lot];
    posted.sort();
    assert_eq!(listed, posted);
    let only = get(&app, "/users/me/items?status=reserved", Some("seller")).await;
    assert_eq!(ids(&only.body, "/id"), [first.as_str()]);
    let none = get(&app, "/users/me/items", Some("buyer")).await;
    assert_eq!(ids(&none.body, "/id"), Vec::<String>::new());
    // Pages of one, with the cursor, reach every item once.
    let mut paged = vec![];
    let mut uri = "/users/me/items?limit=1".to_owned();
    loop {
        let page = get(&app, &uri, Some("seller")).await;
        paged.extend(ids(&page.body, "/id"));
        match page.body["nextCursor"].as_str() {
            Some(c) => uri = format!("/users/me/items?limit=1&cursor={c}"),
            None => break,
        }
    }
    paged.sort();
    assert_eq!(paged, posted);

    // AND the reservation is the buyer's as buyer (the default role) and the seller's as seller
    let rid = reserved.body["id"].as_str().expect("id").to_owned();
    let bought = get(&app, "/users/me/reservations", Some("buyer")).await;
    assert_eq!(ids(&bought.body, "/id"), [rid.as_str()]);
    let sold = get(
        &app,
        "/users/me/reservations?role=seller&status=pending",
        Some("seller"),
    )
    .await;
    assert_eq!(ids(&sold.body, "/id"), [rid]);
    for (user, query) in [
        ("buyer", "role=seller"),
        ("seller", "role=buyer"),
        ("rival", ""),
    ] {
        let other = get(&app, &format!("/users/me/reservations?{query}"), Some(user)).await;
        assert_eq!(
            ids(&other.body, "/id"),
            Vec::<String>::new(),
            "{user} {query}"
        );
    }

    // AND each bidder sees the auction once, with their top bid and standing; the seller sees it as theirs
    let bids = get(&app, "/users/me/bids", Some("buyer")).await;
    assert_eq!(bids.status, StatusCode::OK, "{}", bids.body);
    assert_eq!(ids(&bids.body, "/auction/id"), [aid.as_str()]);
    assert_eq!(bids.body["items"][0]["myTopBid"], 700);
    assert_eq!(bids.body["items"][0]["standing"], "leading");
    let rival = get(&app, "/users/me/bids", Some("rival")).await;
    assert_eq!(rival.body["items"][0]["standing"], "outbid");
    let auctions = get(&app, "/users/me/auctions?status=open", Some("seller")).await;
    assert_eq!(ids(&auctions.body, "/id"), [aid]);
    let closed = get(&app, "/users/me/auctions?status=closed", Some("seller")).await;
    assert_eq!(ids(&closed.body, "/id"), Vec::<String>::new());
}

#[tokio::test]
async fn my_lists_need_a_caller_and_refuse_what_they_do_not_know() {
    let app = TestApp::new();
    for uri in [
        "/users/me/items",
        "/users/me/reservations",
        "/users/me/bids",
        "/users/me/auctions",
    ] {
        let anonymous = get(&app, uri, None).await;
        assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(anonymous.problem(), "unauthorized");
    }
    for uri in [
        "/users/me/items?status=GONE",
        "/users/me/reservations?role=owner",
        "/users/me/auctions?status=OPEN",
        "/users/me/bids?cursor=nope",
        "/users/me/bids?limit=0",
    ] {
        let bad = get(&app, uri, Some("u1")).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{uri}: {}", bad.body);
        assert!(!bad.problem().is_empty(), "{uri}: {}", bad.body);
    }
}

#[tokio::test]
async fn a_public_profile_shows_rating_figures_and_nothing_private() {
    // GIVEN a completed deal rated by the buyer
    let app = TestApp::new();
    let unknown = get(&app, "/users/seller", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.problem(), "not-found");
    let me = get(&app, "/users/me", Some("seller")).await;
    assert_eq!(me.body["email"], "seller@example.com");
    let put = call(&app.router, Method::PUT, "/users/me", Some("seller"))
        .json(json!({ "displayName": "Ana", "home": { "lat": 48.85, "lon": 2.29 } }))
        .send()
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    let item = post_item(&app.router, "seller", "free").await;
    let r = call(
        &app.router,
        Method::POST,
        &format!("/items/{item}/reserve"),
        Some("buyer"),
    )
    .send()
    .await;
    let rid = r.body["id"].as_str().expect("id").to_owned();
    for (step, user) in [("confirm", "seller"), ("complete", "buyer")] {
        let done = call(
            &app.router,
            Method::POST,
            &format!("/reservations/{rid}/{step}"),
            Some(user),
        )
        .send()
        .await;
        assert_eq!(done.status, StatusCode::OK, "{step}: {}", done.body);
    }
    let rated = call(
        &app.router,
        Method::POST,
        "/users/seller/ratings",
        Some("buyer"),
    )
    .json(json!({ "about": rid, "stars": 5, "comment": "kind" }))
    .send()
    .await;
    assert_eq!(rated.status, StatusCode::CREATED, "{}", rated.body);

    // THEN anyone sees the figures and nothing private
    let public = get(&app, "/users/seller", None).await;
    assert_eq!(public.status, StatusCode::OK, "{}", public.body);
    assert_eq!(public.body["displayName"], "Ana");
    assert_eq!(public.body["ratingAverage"], 5.0);
    assert_eq!(public.body["ratingCount"], 1);
    assert_eq!(public.body["dealsCompleted"], 1);
    assert!(public.body["memberSince"].is_string(), "{}", public.body);
    for private in ["email", "home", "notifications", "stats", "ratingSum"] {
        assert!(
            public.body.get(private).is_none(),
            "{private}: {}",
            public.body
        );
    }
    let ratings = get(&app, "/users/seller/ratings", None).await;
    assert_eq!(ratings.status, StatusCode::OK, "{}", ratings.body);
    assert_eq!(ids(&ratings.body, "/raterId"), ["buyer"]);
    assert_eq!(ratings.body["items"][0]["stars"], 5);
    // The buyer, who only reserved, has a profile too: the seller can see who reserved.
    let buyer = get(&app, "/users/buyer", None).await;
    assert_eq!(
        (buyer.status, buyer.body["ratingCount"].clone()),
        (StatusCode::OK, json!(0))
    );
}

#[tokio::test]
async fn a_seller_edits_a_listing_from_the_version_read_and_nobody_else_can() {
    let app = TestApp::new();
    let id = post_item(&app.router, "seller", "free").await;
    let read = get(&app, &format!("/items/{id}"), None).await;
    let etag = read.headers["etag"].to_str().expect("etag").to_owned();
    let patch = |user: &'static str, if_match: Option<String>, body: Value| {
        let (router, uri) = (app.router.clone(), format!("/items/{id}"));
        async move {
            let mut c = call(&router, Method::PATCH, &uri, Some(user)).json(body);
            if let Some(v) = if_match {
                c = c.header("if-match", &v);
            }
            c.send().await
        }
    };
    let title = json!({ "title": "Solid oak table" });
    // A buyer may not; without If-Match it is 428; a malformed one 400.
    let buyer = patch("buyer", Some(etag.clone()), title.clone()).await;
    assert_eq!(
        (buyer.status, buyer.problem()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let blind = patch("seller", None, title.clone()).await;
    assert_eq!(
        (blind.status, blind.problem()),
        (StatusCode::PRECONDITION_REQUIRED, "precondition-required")
    );
    let garbled = patch("seller", Some("3".into()), title.clone()).await;
    assert_eq!(garbled.status, StatusCode::BAD_REQUEST, "{}", garbled.body);
    // The seller's edit lands, with a new ETag, and emits ItemUpdated naming what changed.
    let edited = patch("seller", Some(etag.clone()), title.clone()).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.body["title"], "Solid oak table");
    let next = edited.headers["etag"].to_str().expect("etag").to_owned();
    assert_ne!(next, etag);
    let updated = app.store.events().last().expect("event").to_json();
    assert_eq!(updated["type"], "ItemUpdated");
    assert_eq!(updated["data"]["changed"], json!(["title"]));
    // An edit from the version before is stale: 412, and nothing changes.
    let stale = patch("seller", Some(etag), json!({ "title": "Pine table" })).await;
    assert_eq!(
        (stale.status, stale.problem()),
        (StatusCode::PRECONDITION_FAILED, "version-mismatch")
    );
    assert_eq!(
        get(&app, &format!("/items/{id}"), None).await.body["title"],
        "Solid oak table"
    );
    // Once reserved, the listing stays as the buyer saw it: 409.
    let reserved = call(
        &app.router,
        Method::POST,
        &format!("/items/{id}/reserve"),
        Some("buyer"),
    )
    .send()
    .await;
    assert_eq!(reserved.status, StatusCode::CREATED);
    let now = get(&app, &format!("/items/{id}"), None).await;
    let etag = now.headers["etag"].to_str().expect("etag").to_owned();
    let late = patch("seller", Some(etag), json!({ "category": "garden" })).await;
    assert_eq!(
        (late.status, late.problem()),
        (StatusCode::CONFLICT, "item-not-editable")
    );
    let unknown = patch("seller", Some("\"1\"".into()), json!({ "colour": "red" })).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
}

#[tokio::test]
async fn an_account_is_deleted_only_without_deals_under_way_and_its_token_is_refused_after() {
    let app = TestApp::new();
    let item = post_item(&app.router, "seller", "free").await;
    let other = post_item(&app.router, "seller", "free").await;
    let device = call(
        &app.router,
        Method::POST,
        "/users/me/devices",
        Some("seller"),
    )
    .json(json!({ "platform": "ios", "token": "apns-token-1" }))
    .send()
    .await;
    assert_eq!(device.status, StatusCode::CREATED, "{}", device.body);
    let r = call(
        &app.router,
        Method::POST,
        &format!("/items/{item}/reserve"),
        Some("buyer"),
    )
    .send()
    .await;
    let rid = r.body["id"].as_str().expect("id").to_owned();
    // GIVEN an active reservation, the seller's deletion is refused with the reason, and nothing went
    let delete = || call(&app.router, Method::DELETE, "/users/me", Some("seller")).send();
    let refused = delete().await;
    assert_eq!(
        (refused.status, refused.problem()),
        (StatusCode::CONFLICT, "account-in-use")
    );
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("pending reservation as seller"),
        "{}",
        refused.body
    );
    assert_eq!(
        get(&app, &format!("/items/{other}"), None).await.status,
        StatusCode::OK
    );
    // WHEN the reservation is cancelled, the deletion goes through
    let cancelled = call(
        &app.router,
        Method::POST,
        &format!("/reservations/{rid}/cancel"),
        Some("buyer"),
    )
    .send()
    .await;
    assert_eq!(cancelled.status, StatusCode::OK);
    let deleted = delete().await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    // THEN the listings are gone from browse, the token is refused, the profile is gone from view
    for id in [&item, &other] {
        assert_eq!(
            get(&app, &format!("/items/{id}"), None).await.status,
            StatusCode::NOT_FOUND
        );
    }
    let browse = get(&app, "/items?category=furniture", None).await;
    assert_eq!(ids(&browse.body, "/id"), Vec::<String>::new());
    let after = get(&app, "/users/me", Some("seller")).await;
    assert_eq!(
        (after.status, after.problem()),
        (StatusCode::UNAUTHORIZED, "account-deleted")
    );
    assert_eq!(
        get(&app, "/users/seller", None).await.status,
        StatusCode::NOT_FOUND
    );
    assert!(app.store.devices("seller").is_empty());
    let types: Vec<_> = app
        .store
        .events()
        .iter()
        .map(|e| e.event_type().as_str())
        .collect();
    assert_eq!(
        &types[types.len() - 3..],
        ["ItemDeleted", "ItemDeleted", "UserDeleted"]
    );
    // AND the buyer is untouched
    assert_eq!(
        get(&app, "/users/me", Some("buyer")).await.status,
        StatusCode::OK
    );
}
