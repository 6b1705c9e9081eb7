//! The screens of a user's own activity and of other users, through the gateway with real tokens: each list
//! holds exactly the caller's records (another user's token never sees them), bids show the standing the
//! auction's close gave, a public profile shows the rating figures and nothing private, and a deleted
//! account leaves nothing behind (its listings gone from browse and search too).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::api::{auction_of, correlation, item_at, run_id, somewhere, Api};
use crate::support::emulator::eventually;

fn ids(page: &Value, at: &str) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {page}"))
        .iter()
        .map(|e| e.pointer(at).and_then(Value::as_str).expect(at).to_owned())
        .collect()
}

/// A GET that must answer 200; its body.
async fn get(api: &Api, path: &str, user: &str, c: &str) -> Value {
    let answer = api.call(Method::GET, path, Some(user), None, c).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.body);
    answer.body
}

#[tokio::test]
async fn my_lists_show_exactly_my_records_and_bids_stand_as_the_close_decided() {
    let api = &Api::on_b().await;
    let c = correlation();
    let run = run_id();
    let (seller, buyer, rival) = (
        format!("sel-{run}"),
        format!("buy-{run}"),
        format!("riv-{run}"),
    );
    for user in [&seller, &buyer, &rival] {
        api.user(user).await;
    }
    // GIVEN a seller's free item, reserved by the buyer, and a one-minute auction both bidders bid on
    let free = api.free_item(&seller, &c).await;
    let reservation = api.reserve(&buyer, &free, &c).await;
    let (auction, created) = auction_of(api, &seller, 1000, 60, &c).await;
    for (who, amount) in [(&buyer, 1000), (&rival, 1100)] {
        let bid = api
            .call(
                Method::POST,
                &format!("/auctions/{auction}/bids"),
                Some(who),
                Some(json!({"amount": amount})),
                &c,
            )
            .await;
        assert_eq!(bid.status, StatusCode::CREATED, "{}", bid.body);
    }

    // THEN the seller's items are the free one and the auction's, the reserved one by its status
    let items = get(api, "/users/me/items", &seller, &c).await;
    let lot = created["itemId"].as_str().expect("itemId").to_owned();
    let mut mine = ids(&items, "/id");
    mine.sort();
    let mut posted = vec![free.clone(), lot];
    posted.sort();
    assert_eq!(mine, posted);
    let reserved = get(api, "/users/me/items?status=reserved", &seller, &c).await;
    assert_eq!(ids(&reserved, "/id"), [free.as_str()]);
    // AND the reservation is the buyer's as buyer and the seller's as seller, nobody else's
    let bought = get(api, "/users/me/reservations?role=buyer", &buyer, &c).await;
    assert_eq!(ids(&bought, "/id"), [reservation.as_str()]);
    let sold = get(api, "/users/me/reservations?role=seller", &seller, &c).await;
    assert_eq!(ids(&sold, "/id"), [reservation]);
    for (user, path) in [
        (&rival, "/users/me/items"),
        (&rival, "/users/me/reservations?role=buyer"),
        (&rival, "/users/me/reservations?role=seller"),
        (&buyer, "/users/me/reservations?role=seller"),
        (&buyer, "/users/me/auctions"),
        (&seller, "/users/me/bids"),
    ] {
        let other = get(api, path, user, &c).await;
        assert_eq!(ids(&other, "/id"), Vec::<String>::new(), "{user} {path}");
    }
    let auctions = get(api, "/users/me/auctions", &seller, &c).await;
    assert_eq!(ids(&auctions, "/id"), [auction.as_str()]);
    // AND while the auction is open the rival leads and the buyer is outbid
    let standing = |body: &Value| {
        (
            body["items"][0]["standing"].clone(),
            body["items"][0]["myTopBid"].clone(),
        )
    };
    let open = get(api, "/users/me/bids", &buyer, &c).await;
    assert_eq!(ids(&open, "/auction/id"), [auction.as_str()]);
    assert_eq!(standing(&open), (json!("outbid"), json!(1000)));
    assert_eq!(
        standing(&get(api, "/users/me/bids", &rival, &c).await),
        (json!("leading"), json!(1100))
    );

    // WHEN the auction closes (its schedule, through the auction-closes worker)
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(150);
    loop {
        let a = api
            .call(Method::GET, &format!("/auctions/{auction}"), None, None, &c)
            .await;
        if a.body["status"] == "closed" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not closed: {}",
            a.body
        );
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
    // THEN the rival won and the buyer lost, and the seller's auction is CLOSED
    assert_eq!(
        standing(&get(api, "/users/me/bids", &rival, &c).await),
        (json!("won"), json!(1100))
    );
    assert_eq!(
        standing(&get(api, "/users/me/bids", &buyer, &c).await),
        (json!("lost"), json!(1000))
    );
    let closed = get(api, "/users/me/auctions?status=closed", &seller, &c).await;
    assert_eq!(ids(&closed, "/id"), [auction]);
}

#[tokio::test]
async fn a_public_profile_shows_both_ratings_of_a_deal_and_nothing_private() {
    let api = &Api::on_b().await;
    let c = correlation();
    let run = run_id();
    let (seller, buyer) = (format!("pub-s-{run}"), format!("pub-b-{run}"));
    let (seller_id, buyer_id) = (api.user(&seller).await.0, api.user(&buyer).await.0);
    let named = api
        .call(
            Method::PUT,
            "/users/me",
            Some(&seller),
            Some(json!({"displayName": "Sam", "home": {"lat": 48.85, "lon": 2.29}})),
            &c,
        )
        .await;
    assert_eq!(named.status, StatusCode::OK, "{}", named.body);
    // GIVEN flow 2 to its end, each party rating the other
    let item = api.free_item(&seller, &c).await;
    let rid = api.reserve(&buyer, &item, &c).await;
    for (step, user) in [("confirm", &seller), ("complete", &buyer)] {
        let done = api
            .call(
                Method::POST,
                &format!("/reservations/{rid}/{step}"),
                Some(user),
                None,
                &c,
            )
            .await;
        assert_eq!(done.status, StatusCode::OK, "{step}: {}", done.body);
    }
    for (rater, ratee, stars) in [(&buyer, &seller_id, 5), (&seller, &buyer_id, 4)] {
        let rated = api
            .call(
                Method::POST,
                &format!("/users/{ratee}/ratings"),
                Some(rater),
                Some(json!({"about": rid, "stars": stars, "comment": "kind"})),
                &c,
            )
            .await;
        assert_eq!(rated.status, StatusCode::CREATED, "{}", rated.body);
    }

    // THEN anyone (no token) sees each party's figures and nothing private
    for (id, name, stars) in [(&seller_id, Some("Sam"), 5.0), (&buyer_id, None, 4.0)] {
        let public = api
            .call(Method::GET, &format!("/users/{id}"), None, None, &c)
            .await;
        assert_eq!(public.status, StatusCode::OK, "{}", public.body);
        let p = &public.body;
        assert_eq!(p["displayName"].as_str(), name, "{p}");
        assert_eq!(
            (p["ratingAverage"].as_f64(), p["ratingCount"].as_u64()),
            (Some(stars), Some(1)),
            "{p}"
        );
        assert_eq!(p["dealsCompleted"], 1, "{p}");
        assert!(p["memberSince"].is_string(), "{p}");
        for private in ["email", "home", "notifications", "stats", "ratingSum"] {
            assert!(p.get(private).is_none(), "{private} shown: {p}");
        }
        let ratings = api
            .call(Method::GET, &format!("/users/{id}/ratings"), None, None, &c)
            .await;
        assert_eq!(ratings.status, StatusCode::OK, "{}", ratings.body);
        assert_eq!(
            ratings.body["items"][0]["stars"].as_f64(),
            Some(stars),
            "{}",
            ratings.body
        );
        assert_eq!(ids(&ratings.body, "/about"), [rid.as_str()]);
    }
    // AND a user nobody knows is a 404 problem
    let nobody = api
        .call(
            Method::GET,
            &format!("/users/{}", uuid::Uuid::new_v4()),
            None,
            None,
            &c,
        )
        .await;
    assert_eq!(
        (nobody.status, nobody.problem()),
        (StatusCode::NOT_FOUND, "not-found")
    );
}

#[tokio::test]
async fn a_seller_edits_a_title_a_buyer_may_not_and_a_reserved_listing_stays() {
    let api = &Api::on_b().await;
    let c = correlation();
    let run = run_id();
    let (seller, buyer) = (format!("ed-s-{run}"), format!("ed-b-{run}"));
    let id = api.free_item(&seller, &c).await;
    let read = api
        .call(Method::GET, &format!("/items/{id}"), None, None, &c)
        .await;
    let etag = read.etag.clone().expect("GET /items/{id} answers an ETag");
    let patch = |user: String, etag: String, body: Value| {
        let path = format!("/items/{id}");
        let c = c.clone();
        async move {
            api.call_with(
                Method::PATCH,
                &path,
                Some(&user),
                Some(body),
                &[("if-match", &etag)],
                &c,
            )
            .await
        }
    };
    let title = json!({"title": "Solid oak table, as new"});
    let theirs = patch(buyer.clone(), etag.clone(), title.clone()).await;
    assert_eq!(
        (theirs.status, theirs.problem()),
        (StatusCode::FORBIDDEN, "forbidden")
    );
    let edited = patch(seller.clone(), etag.clone(), title).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.body["title"], "Solid oak table, as new");
    let stale = patch(seller.clone(), etag, json!({"title": "Pine"})).await;
    assert_eq!(
        (stale.status, stale.problem()),
        (StatusCode::PRECONDITION_FAILED, "version-mismatch")
    );
    api.reserve(&buyer, &id, &c).await;
    let now = api
        .call(Method::GET, &format!("/items/{id}"), None, None, &c)
        .await;
    assert_eq!(now.body["title"], "Solid oak table, as new");
    let late = patch(seller, now.etag.expect("etag"), json!({"title": "Pine"})).await;
    assert_eq!(
        (late.status, late.problem()),
        (StatusCode::CONFLICT, "item-not-editable")
    );
}

#[tokio::test]
async fn a_deleted_account_is_refused_while_in_use_then_leaves_nothing_behind() {
    let api = &Api::on_b().await;
    let c = correlation();
    let run = run_id();
    let (user, buyer) = (format!("del-{run}"), format!("del-b-{run}"));
    let sub = api.user(&user).await.0;
    // A listing of a place and a word of this run's own, so browse and search can be asked about it alone.
    let (at, word) = (somewhere(), format!("gone{run}"));
    let near = format!("near={},{}&radiusKm=1", at.0, at.1);
    let mut listing = item_at(at);
    listing["title"] = json!(format!("Oak table {word}"));
    let item = api.post(&user, listing, &c).await;
    let searched = format!("q={word}&{near}");
    eventually(
        Duration::from_secs(30),
        "search finds the listing",
        || async { (api.listing_ids(&searched, &c).await == vec![item.clone()]).then_some(()) },
    )
    .await;
    let device = api
        .call(
            Method::POST,
            "/users/me/devices",
            Some(&user),
            Some(json!({"platform": "ios", "token": format!("apns-del-{run}")})),
            &c,
        )
        .await;
    assert_eq!(device.status, StatusCode::CREATED, "{}", device.body);
    let endpoint = device.body["endpointArn"]
        .as_str()
        .expect("endpoint")
        .to_owned();
    // A photo of theirs in each bucket (as an upload and the images worker leave them).
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&api.emulator.aws)
            .force_path_style(true)
            .build(),
    );
    let bucket = |name: &str| api.outputs[name].as_str().expect(name).to_owned();
    let photos = [
        (bucket("uploads_bucket"), format!("uploads/{sub}/{item}/p1")),
        (
            bucket("thumbnails_bucket"),
            format!("{sub}/{item}/p1/128.jpg"),
        ),
    ];
    for (b, key) in &photos {
        s3.put_object()
            .bucket(b)
            .key(key)
            .body(b"jpeg".to_vec().into())
            .send()
            .await
            .expect("put a photo");
    }
    // GIVEN a reservation under way, the deletion is refused with the reason
    let rid = api.reserve(&buyer, &item, &c).await;
    let refused = api
        .call(Method::DELETE, "/users/me", Some(&user), None, &c)
        .await;
    assert_eq!(
        (refused.status, refused.problem()),
        (StatusCode::CONFLICT, "account-in-use"),
        "{}",
        refused.body
    );
    // WHEN it ends, the deletion goes through
    let cancelled = api
        .call(
            Method::POST,
            &format!("/reservations/{rid}/cancel"),
            Some(&buyer),
            None,
            &c,
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let deleted = api
        .call(Method::DELETE, "/users/me", Some(&user), None, &c)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    // THEN the token, still unexpired, is refused; the listing and the profile are gone
    let after = api
        .call(Method::GET, "/users/me", Some(&user), None, &c)
        .await;
    assert_eq!(
        (after.status, after.problem()),
        (StatusCode::UNAUTHORIZED, "account-deleted")
    );
    let listing = api
        .call(Method::GET, &format!("/items/{item}"), None, None, &c)
        .await;
    assert_eq!(listing.status, StatusCode::NOT_FOUND);
    assert!(
        api.listing_ids(&near, &c).await.is_empty(),
        "browse still shows it"
    );
    eventually(
        Duration::from_secs(30),
        "search no longer finds the listing",
        || async {
            api.listing_ids(&searched, &c)
                .await
                .is_empty()
                .then_some(())
        },
    )
    .await;
    let profile = api
        .call(Method::GET, &format!("/users/{sub}"), None, None, &c)
        .await;
    assert_eq!(profile.status, StatusCode::NOT_FOUND);
    // AND the device's endpoint, the photos and the pool's user are deleted
    let sns = aws_sdk_sns::Client::new(&api.emulator.aws);
    let gone = sns
        .get_endpoint_attributes()
        .endpoint_arn(&endpoint)
        .send()
        .await;
    assert!(gone.is_err(), "the endpoint is still there: {gone:?}");
    for (b, key) in &photos {
        let head = s3.head_object().bucket(b).key(key).send().await;
        assert!(head.is_err(), "s3://{b}/{key} is still there");
    }
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&api.emulator.aws);
    let pool_user = cognito
        .admin_get_user()
        .user_pool_id(&api.pool)
        .username(&sub)
        .send()
        .await;
    assert!(pool_user.is_err(), "the pool still has the user");
    // Asking again with the old token is refused, not half-done twice.
    let again = api
        .call(Method::DELETE, "/users/me", Some(&user), None, &c)
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}
