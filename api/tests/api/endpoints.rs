//! Every endpoint's success path, and the events each write emits through the outbox.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

fn event_types(app: &TestApp) -> Vec<&'static str> {
    app.store
        .events()
        .iter()
        .map(|e| e.event_type().as_str())
        .collect()
}

#[tokio::test]
async fn items_post_get_browse_delete() {
    let app = TestApp::new();
    let id = post_item(&app.router, "seller", "free").await;
    // GET /items/{id} needs no token.
    let got = call(&app.router, Method::GET, &format!("/items/{id}"), None)
        .send()
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["status"], "available");
    assert_eq!(got.body["location"]["geohash"], "u09tun");
    assert_eq!(got.body["sellerId"], "seller");
    // Browse by distance: 2 km away is in a 5 km radius, not in a 1 km one.
    let near = call(
        &app.router,
        Method::GET,
        "/items?near=48.8738,2.2950&radiusKm=5",
        None,
    )
    .send()
    .await;
    assert_eq!(near.status, StatusCode::OK, "{}", near.body);
    assert_eq!(near.body["items"][0]["id"], id.as_str());
    let far = call(
        &app.router,
        Method::GET,
        "/items?near=48.8738,2.2950&radiusKm=1",
        None,
    )
    .send()
    .await;
    assert_eq!(far.body["items"], json!([]));
    // Browse by category.
    let cat = call(&app.router, Method::GET, "/items?category=furniture", None)
        .send()
        .await;
    assert_eq!(cat.body["items"][0]["id"], id.as_str());
    let other = call(&app.router, Method::GET, "/items?category=books", None)
        .send()
        .await;
    assert_eq!(other.body["items"], json!([]));
    // Neither: the newest listed items of every category.
    let all = call(&app.router, Method::GET, "/items", None).send().await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_eq!(all.body["items"][0]["id"], id.as_str());
    // DELETE by the seller.
    let deleted = call(
        &app.router,
        Method::DELETE,
        &format!("/items/{id}"),
        Some("seller"),
    )
    .send()
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = call(&app.router, Method::GET, &format!("/items/{id}"), None)
        .send()
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(event_types(&app), ["ItemCreated", "ItemDeleted"]);
}

#[tokio::test]
async fn browsing_pages_with_a_cursor_newest_first() {
    let app = TestApp::new();
    let mut ids = vec![];
    for _ in 0..5 {
        ids.push(post_item(&app.router, "seller", "free").await);
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    ids.reverse();
    let mut seen = vec![];
    let mut uri = "/items?category=furniture&limit=2".to_owned();
    loop {
        let page = call(&app.router, Method::GET, &uri, None).send().await;
        assert_eq!(page.status, StatusCode::OK);
        for item in page.body["items"].as_array().expect("items") {
            seen.push(item["id"].as_str().expect("id").to_owned());
        }
        match page.body["nextCursor"].as_str() {
            Some(c) => uri = format!("/items?category=furniture&limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn a_photo_upload_is_a_bounded_presigned_post_and_a_pending_photo() {
    let app = TestApp::new();
    let id = post_item(&app.router, "seller", "free").await;
    let answer = call(
        &app.router,
        Method::POST,
        &format!("/items/{id}/photos"),
        Some("seller"),
    )
    .json(json!({ "contentType": "image/png" }))
    .send()
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let key = answer.body["photo"]["key"].as_str().expect("key");
    assert!(key.starts_with(&format!("uploads/seller/{id}/")), "{key}");
    assert_eq!(answer.body["photo"]["status"], "pending");
    let upload = &answer.body["upload"];
    assert_eq!(
        upload["url"],
        "https://ecobid-test-uploads.s3.eu-west-1.amazonaws.com"
    );
    assert_eq!(upload["fields"]["key"], key);
    assert_eq!(upload["fields"]["Content-Type"], "image/png");
    assert_eq!(
        upload["fields"]["x-amz-signature"].as_str().map(str::len),
        Some(64)
    );
    // The policy pins the key, the content type, the size range and a short expiry.
    use base64::Engine;
    let policy = base64::engine::general_purpose::STANDARD
        .decode(upload["fields"]["policy"].as_str().expect("policy"))
        .expect("base64");
    let policy: serde_json::Value = serde_json::from_slice(&policy).expect("policy json");
    let conditions = policy["conditions"].as_array().expect("conditions");
    assert!(conditions.contains(&json!(["eq", "$key", key])));
    // ... and the correlation id of the request, as the object's metadata (the images worker carries it on).
    let correlation = upload["fields"]["x-amz-meta-correlation-id"]
        .as_str()
        .expect("a correlation-id field");
    assert!(correlation.parse::<uuid::Uuid>().is_ok(), "{correlation}");
    assert!(conditions.contains(&json!(["eq", "$x-amz-meta-correlation-id", correlation])));
    assert!(conditions.contains(&json!(["eq", "$Content-Type", "image/png"])));
    assert!(conditions.contains(&json!(["content-length-range", 1, 15 * 1024 * 1024])));
    let expires: chrono::DateTime<chrono::Utc> = policy["expiration"]
        .as_str()
        .expect("exp")
        .parse()
        .expect("time");
    assert!(expires - chrono::Utc::now() <= chrono::Duration::minutes(10));
    let item = call(&app.router, Method::GET, &format!("/items/{id}"), None)
        .send()
        .await;
    assert_eq!(item.body["photos"].as_object().map(|p| p.len()), Some(1));
    // A content type other than the three is refused.
    let gif = call(
        &app.router,
        Method::POST,
        &format!("/items/{id}/photos"),
        Some("seller"),
    )
    .json(json!({ "contentType": "image/gif" }))
    .send()
    .await;
    assert_eq!(gif.status, StatusCode::BAD_REQUEST);
}

/// Starts a photo upload on item `id` as `seller`; the photo's key.
async fn start_photo(app: &TestApp, id: &str) -> String {
    let answer = call(
        &app.router,
        Method::POST,
        &format!("/items/{id}/photos"),
        Some("seller"),
    )
    .json(json!({ "contentType": "image/jpeg" }))
    .send()
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert!(
        answer.body["photo"].get("urls").is_none(),
        "{}",
        answer.body
    );
    answer.body["photo"]["key"]
        .as_str()
        .expect("key")
        .to_owned()
}

/// Records what the images worker made of the photo with `key`, as the worker does.
async fn settle(app: &TestApp, key: &str, outcome: domain::item::PhotoOutcome) {
    let photo = domain::item::photo::photo_ref(key, "uploads/").expect("a photo key");
    let service = domain::service::Service::new(app.store.clone(), Default::default());
    let ctx = domain::service::Ctx {
        caller: "system".into(),
        correlation: domain::event::CorrelationId::random(),
        now: chrono::Utc::now(),
    };
    service
        .settle_photo(&ctx, &photo, &outcome)
        .await
        .expect("settled");
}

#[tokio::test]
async fn ready_photos_have_a_cdn_url_per_size_and_the_first_is_the_cover_in_get_and_browse() {
    let app = TestApp::new();
    let id = post_item(&app.router, "seller", "free").await;
    let first = start_photo(&app, &id).await;
    let second = start_photo(&app, &id).await;
    let pending = start_photo(&app, &id).await;
    let rejected = start_photo(&app, &id).await;
    let sizes = |key: &str| {
        let rest = key.strip_prefix("uploads/").expect("prefix");
        ["128", "512", "1024"]
            .iter()
            .map(|s| (s.to_string(), format!("{rest}/{s}.jpg")))
            .collect()
    };
    // The second settles first: the cover is still the first uploaded READY photo.
    for key in [&second, &first] {
        let ready = domain::item::PhotoOutcome::Ready {
            thumbnails: sizes(key),
            labels: vec!["Chair".into()],
        };
        settle(&app, key, ready).await;
    }
    let flagged = domain::item::PhotoOutcome::Rejected {
        reason: "flagged".into(),
    };
    settle(&app, &rejected, flagged).await;

    let got = call(&app.router, Method::GET, &format!("/items/{id}"), None)
        .send()
        .await;
    assert_eq!(got.status, StatusCode::OK);
    let photos = got.body["photos"].as_object().expect("photos");
    let by_key = |key: &str| {
        photos
            .values()
            .find(|p| p["key"] == key)
            .unwrap_or_else(|| panic!("photo {key}"))
            .clone()
    };
    for key in [&first, &second] {
        let p = by_key(key);
        assert_eq!(p["status"], "ready");
        let thumbnail = |size: &str| p["thumbnails"][size].as_str().expect("key").to_owned();
        for size in ["128", "512", "1024"] {
            assert_eq!(
                p["urls"][size],
                format!("{MEDIA_BASE_URL}/{}", thumbnail(size)),
                "{p}"
            );
        }
        assert_eq!(p["urls"].as_object().map(|u| u.len()), Some(3), "{p}");
    }
    assert!(by_key(&pending).get("urls").is_none());
    let rejected = by_key(&rejected);
    assert_eq!(rejected["status"], "rejected");
    assert!(rejected.get("urls").is_none(), "{rejected}");
    let first_photo = by_key(&first);
    let cover = &got.body["cover"];
    assert_eq!(cover["photoId"], first_photo["id"], "{cover}");
    assert_eq!(cover["size"], 512);
    assert_eq!(cover["url"], first_photo["urls"]["512"]);

    // A list screen gets the same cover without a second request.
    let browsed = call(&app.router, Method::GET, "/items?category=furniture", None)
        .send()
        .await;
    assert_eq!(browsed.status, StatusCode::OK, "{}", browsed.body);
    let listed = browsed.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == id.as_str())
        .expect("the item is listed")
        .clone();
    assert_eq!(listed["cover"], *cover);

    // An item without a READY photo has no cover.
    let bare = post_item(&app.router, "seller", "free").await;
    start_photo(&app, &bare).await;
    let got = call(&app.router, Method::GET, &format!("/items/{bare}"), None)
        .send()
        .await;
    assert!(got.body.get("cover").is_none(), "{}", got.body);
}

#[tokio::test]
async fn flow_2_reserve_confirm_complete_then_rate() {
    let app = TestApp::new();
    let item = post_item(&app.router, "seller", "free").await;
    let r = call(
        &app.router,
        Method::POST,
        &format!("/items/{item}/reserve"),
        Some("buyer"),
    )
    .send()
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "pending");
    let rid = r.body["id"].as_str().expect("id").to_owned();
    let got = call(
        &app.router,
        Method::GET,
        &format!("/reservations/{rid}"),
        Some("seller"),
    )
    .send()
    .await;
    assert_eq!(got.status, StatusCode::OK);
    let item_now = call(&app.router, Method::GET, &format!("/items/{item}"), None)
        .send()
        .await;
    assert_eq!(item_now.body["status"], "reserved");
    let confirmed = call(
        &app.router,
        Method::POST,
        &format!("/reservations/{rid}/confirm"),
        Some("seller"),
    )
    .json(json!({ "pickupAt": "2026-11-22T18:00:00Z" }))
    .send()
    .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(confirmed.body["status"], "confirmed");
    let done = call(
        &app.router,
        Method::POST,
        &format!("/reservations/{rid}/complete"),
        Some("buyer"),
    )
    .send()
    .await;
    assert_eq!(done.body["status"], "completed");
    let rated = call(
        &app.router,
        Method::POST,
        "/users/seller/ratings",
        Some("buyer"),
    )
    .json(json!({ "about": rid, "stars": 5, "comment": "Friendly" }))
    .send()
    .await;
    assert_eq!(rated.status, StatusCode::CREATED, "{}", rated.body);
    let seller = call(&app.router, Method::GET, "/users/me", Some("seller"))
        .send()
        .await;
    assert_eq!(seller.body["stats"]["itemsGiven"], 1);
    assert_eq!(seller.body["ratingSum"], 5);
    let buyer = call(&app.router, Method::GET, "/users/me", Some("buyer"))
        .send()
        .await;
    assert_eq!(buyer.body["stats"]["itemsReceived"], 1);
    assert_eq!(
        event_types(&app),
        [
            "ItemCreated",
            "ReservationCreated",
            "ReservationConfirmed",
            "ReservationCompleted",
            "UserRated"
        ]
    );
}

#[tokio::test]
async fn cancelling_puts_the_item_back_and_confirm_needs_no_body() {
    let app = TestApp::new();
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
    let confirmed = call(
        &app.router,
        Method::POST,
        &format!("/reservations/{rid}/confirm"),
        Some("seller"),
    )
    .send()
    .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let cancelled = call(
        &app.router,
        Method::POST,
        &format!("/reservations/{rid}/cancel"),
        Some("buyer"),
    )
    .send()
    .await;
    assert_eq!(cancelled.body["status"], "cancelled");
    let back = call(&app.router, Method::GET, &format!("/items/{item}"), None)
        .send()
        .await;
    assert_eq!(back.body["status"], "available");
    assert_eq!(event_types(&app).last(), Some(&"ReservationCancelled"));
}

#[tokio::test]
async fn flow_3_auction_bids_and_listing() {
    let app = TestApp::new();
    let item = post_item(&app.router, "seller", "auction").await;
    let a = call(&app.router, Method::POST, "/auctions", Some("seller"))
        .json(json!({ "itemId": item, "startingPrice": 500, "minIncrement": 50, "durationSeconds": 3600 }))
        .send()
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let aid = a.body["id"].as_str().expect("id").to_owned();
    let bid = |user: &'static str, amount: i64| {
        let (router, uri) = (app.router.clone(), format!("/auctions/{aid}/bids"));
        async move {
            call(&router, Method::POST, &uri, Some(user))
                .json(json!({ "amount": amount }))
                .send()
                .await
        }
    };
    let first = bid("b1", 500).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["auction"]["leaderId"], "b1");
    let second = bid("b2", 600).await;
    assert_eq!(second.body["auction"]["currentBid"], 600);
    let got = call(&app.router, Method::GET, &format!("/auctions/{aid}"), None)
        .send()
        .await;
    assert_eq!(
        (got.body["currentBid"].clone(), got.body["bidCount"].clone()),
        (json!(600), json!(2))
    );
    let bids = call(
        &app.router,
        Method::GET,
        &format!("/auctions/{aid}/bids"),
        None,
    )
    .send()
    .await;
    let amounts: Vec<_> = bids.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|b| b["amount"].clone())
        .collect();
    assert_eq!(amounts, [json!(600), json!(500)]);
    let item_now = call(&app.router, Method::GET, &format!("/items/{item}"), None)
        .send()
        .await;
    assert_eq!(item_now.body["status"], "in_auction");
    assert_eq!(
        event_types(&app),
        ["ItemCreated", "AuctionCreated", "BidPlaced", "BidPlaced"]
    );
    let outbid = app.store.events()[3].to_json();
    assert_eq!(outbid["data"]["previousLeaderId"], "b1");
}

#[tokio::test]
async fn users_profile_devices() {
    let app = TestApp::new();
    let empty = call(&app.router, Method::GET, "/users/me", Some("u1"))
        .send()
        .await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body["id"], "u1");
    let updated = call(&app.router, Method::PUT, "/users/me", Some("u1"))
        .json(json!({ "displayName": "Ana", "home": { "lat": 48.85, "lon": 2.35 } }))
        .send()
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["displayName"], "Ana");
    assert_eq!(updated.body["home"]["geohash"], "u09tv");
    // The verified address is kept (shown to its owner), and the preferences are on until opted out.
    assert_eq!(updated.body["email"], "u1@example.com");
    assert_eq!(
        updated.body["notifications"],
        json!({ "push": true, "email": true, "itemsNearMe": true })
    );
    let device = call(&app.router, Method::POST, "/users/me/devices", Some("u1"))
        .json(json!({ "platform": "ios", "token": "apns-token-1" }))
        .send()
        .await;
    assert_eq!(device.status, StatusCode::CREATED, "{}", device.body);
    assert!(device.body["endpointArn"]
        .as_str()
        .is_some_and(|a| a.starts_with("arn:aws:sns:")));
    assert_eq!(app.store.devices("u1").len(), 1);
}

#[tokio::test]
async fn preferences_change_only_what_is_given_and_an_unverified_address_is_not_kept() {
    let app = TestApp::new();
    let opted = call(&app.router, Method::PUT, "/users/me", Some("u1"))
        .json(json!({ "notifications": { "itemsNearMe": false } }))
        .send()
        .await;
    assert_eq!(opted.status, StatusCode::OK, "{}", opted.body);
    let again = call(&app.router, Method::PUT, "/users/me", Some("u1"))
        .json(json!({ "notifications": { "email": false } }))
        .send()
        .await;
    assert_eq!(
        again.body["notifications"],
        json!({ "push": true, "email": false, "itemsNearMe": false })
    );
    let me = call(&app.router, Method::GET, "/users/me", Some("u1"))
        .send()
        .await;
    assert_eq!(me.body["notifications"], again.body["notifications"]);
    let unknown = call(&app.router, Method::PUT, "/users/me", Some("u1"))
        .json(json!({ "notifications": { "sms": false } }))
        .send()
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
    let unverified = call(&app.router, Method::GET, "/users/me", Some("unverified-u2"))
        .send()
        .await;
    assert!(
        unverified.body.get("email").is_none(),
        "{}",
        unverified.body
    );
}

#[tokio::test]
async fn a_device_of_a_platform_without_credentials_is_refused_and_a_token_moves_between_users() {
    let app = TestApp::new();
    let android = call(&app.router, Method::POST, "/users/me/devices", Some("u1"))
        .json(json!({ "platform": "android", "token": "fcm-token" }))
        .send()
        .await;
    assert_eq!(
        android.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        android.body
    );
    assert_eq!(android.problem(), "push-platform-unavailable");
    assert!(android.body["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("android"));
    assert!(app.store.devices("u1").is_empty(), "nothing recorded");

    // The same phone signs in as u1, then as u2: the device moves to u2.
    for user in ["u1", "u2"] {
        let device = call(&app.router, Method::POST, "/users/me/devices", Some(user))
            .json(json!({ "platform": "ios", "token": "shared-phone" }))
            .send()
            .await;
        assert_eq!(device.status, StatusCode::CREATED, "{}", device.body);
    }
    assert!(app.store.devices("u1").is_empty());
    let devices = app.store.devices("u2");
    assert_eq!(devices.len(), 1);
    let id = devices[0].token_hash.clone();

    // Unregistered: gone; again: 404.
    let uri = format!("/users/me/devices/{id}");
    let gone = call(&app.router, Method::DELETE, &uri, Some("u2"))
        .send()
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    assert!(app.store.devices("u2").is_empty());
    let again = call(&app.router, Method::DELETE, &uri, Some("u2"))
        .send()
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_correlation_id_is_carried_into_events_and_answered() {
    let app = TestApp::new();
    let correlation = "6f2c1e4a-5b3d-4c2e-9f1a-0b1c2d3e4f50";
    let answer = call(&app.router, Method::POST, "/items", Some("s"))
        .header("x-correlation-id", correlation)
        .json(new_item("free"))
        .send()
        .await;
    assert_eq!(answer.headers["x-correlation-id"], correlation);
    assert_eq!(
        app.store.events()[0].correlation_id.to_string(),
        correlation
    );
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_another_body() {
    let app = TestApp::new();
    let first = call(&app.router, Method::POST, "/items", Some("s"))
        .header("idempotency-key", "k-1")
        .json(new_item("free"))
        .send()
        .await;
    let again = call(&app.router, Method::POST, "/items", Some("s"))
        .header("idempotency-key", "k-1")
        .json(new_item("free"))
        .send()
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(
        again.body, first.body,
        "same key, same body: the same answer"
    );
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(app.store.events().len(), 1, "the item was created once");
    let other = call(&app.router, Method::POST, "/items", Some("s"))
        .header("idempotency-key", "k-1")
        .json(new_item("auction"))
        .send()
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.problem(), "idempotency-key-reused");
    // Keys are per caller: another user's k-1 is theirs.
    let mine = call(&app.router, Method::POST, "/items", Some("t"))
        .header("idempotency-key", "k-1")
        .json(new_item("free"))
        .send()
        .await;
    assert_eq!(mine.status, StatusCode::CREATED);
    assert_ne!(mine.body["id"], first.body["id"]);
}
