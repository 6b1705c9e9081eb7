//! Each error class, as RFC 9457 problems.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use domain::store::StoreError;
use serde_json::json;

use crate::helpers::*;

fn assert_problem(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.content_type, "application/problem+json");
    assert_eq!(answer.problem(), code, "{}", answer.body);
    assert_eq!(answer.body["status"], status.as_u16());
    assert!(answer.body["detail"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestApp::new();
    let answer = call(&app.router, Method::POST, "/items", Some("u"))
        .raw("application/json", "{\"title\": ")
        .send()
        .await;
    assert_problem(&answer, StatusCode::BAD_REQUEST, "malformed-json");
}

#[tokio::test]
async fn failed_validation_is_400_with_the_fields() {
    let app = TestApp::new();
    let mut body = new_item("free");
    body["title"] = json!("");
    body["location"]["lon"] = json!(200.0);
    let answer = call(&app.router, Method::POST, "/items", Some("u"))
        .json(body)
        .send()
        .await;
    assert_problem(&answer, StatusCode::BAD_REQUEST, "validation-failed");
    let fields: Vec<_> = answer.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(fields, [json!("title"), json!("location.lon")]);
    // Wrong types and unknown fields are refused too.
    let mut typed = new_item("free");
    typed["category"] = json!("cars");
    let answer = call(&app.router, Method::POST, "/items", Some("u"))
        .json(typed)
        .send()
        .await;
    assert_problem(&answer, StatusCode::BAD_REQUEST, "validation-failed");
    let bad_query = call(&app.router, Method::GET, "/items?near=91,0", None)
        .send()
        .await;
    assert_problem(&bad_query, StatusCode::BAD_REQUEST, "validation-failed");
    // A point in a form its pattern does not allow, though it would parse as a number.
    let exponent = call(&app.router, Method::GET, "/items?near=1e1,0", None)
        .send()
        .await;
    assert_problem(&exponent, StatusCode::BAD_REQUEST, "validation-failed");
    let bad_cursor = call(
        &app.router,
        Method::GET,
        "/items?category=books&cursor=zzz",
        None,
    )
    .send()
    .await;
    assert_problem(&bad_cursor, StatusCode::BAD_REQUEST, "validation-failed");
}

#[tokio::test]
async fn no_caller_is_401() {
    // The authorizer answers 401 itself in front of the API; a route reaching the API without claims is one
    // declared without the authorizer, and is refused all the same.
    let app = TestApp::new();
    let answer = call(&app.router, Method::POST, "/items", None)
        .json(new_item("free"))
        .send()
        .await;
    assert_problem(&answer, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn acting_on_someone_elses_item_or_reservation_is_403() {
    let app = TestApp::new();
    let item = post_item(&app.router, "seller", "free").await;
    let delete = call(
        &app.router,
        Method::DELETE,
        &format!("/items/{item}"),
        Some("mallory"),
    )
    .send()
    .await;
    assert_problem(&delete, StatusCode::FORBIDDEN, "forbidden");
    let r = call(
        &app.router,
        Method::POST,
        &format!("/items/{item}/reserve"),
        Some("buyer"),
    )
    .send()
    .await;
    let rid = r.body["id"].as_str().expect("id").to_owned();
    for path in ["confirm", "complete", "cancel"] {
        let answer = call(
            &app.router,
            Method::POST,
            &format!("/reservations/{rid}/{path}"),
            Some("mallory"),
        )
        .send()
        .await;
        assert_problem(&answer, StatusCode::FORBIDDEN, "forbidden");
    }
    let peek = call(
        &app.router,
        Method::GET,
        &format!("/reservations/{rid}"),
        Some("mallory"),
    )
    .send()
    .await;
    assert_problem(&peek, StatusCode::FORBIDDEN, "forbidden");
    let photo = call(
        &app.router,
        Method::POST,
        &format!("/items/{item}/photos"),
        Some("mallory"),
    )
    .json(json!({ "contentType": "image/jpeg" }))
    .send()
    .await;
    assert_problem(&photo, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn unknown_things_are_404() {
    let app = TestApp::new();
    for uri in [
        "/items/00000000-0000-4000-8000-000000000000",
        "/items/not-an-id",
        "/auctions/00000000-0000-4000-8000-000000000000",
        "/auctions/x/bids",
        "/nowhere",
    ] {
        let answer = call(&app.router, Method::GET, uri, None).send().await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.content_type, "application/problem+json", "{uri}");
    }
    let answer = call(&app.router, Method::GET, "/reservations/nope", Some("u"))
        .send()
        .await;
    assert_problem(&answer, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn state_conflicts_are_409_with_the_reason() {
    let app = TestApp::new();
    let item = post_item(&app.router, "seller", "free").await;
    let first = call(
        &app.router,
        Method::POST,
        &format!("/items/{item}/reserve"),
        Some("b1"),
    )
    .send()
    .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = call(
        &app.router,
        Method::POST,
        &format!("/items/{item}/reserve"),
        Some("b2"),
    )
    .send()
    .await;
    assert_problem(&second, StatusCode::CONFLICT, "item-not-available");
    let delete = call(
        &app.router,
        Method::DELETE,
        &format!("/items/{item}"),
        Some("seller"),
    )
    .send()
    .await;
    assert_problem(&delete, StatusCode::CONFLICT, "item-not-available");

    let lot = post_item(&app.router, "seller", "auction").await;
    let a = call(&app.router, Method::POST, "/auctions", Some("seller"))
        .json(json!({ "itemId": lot, "startingPrice": 1000, "minIncrement": 100, "durationSeconds": 3600 }))
        .send()
        .await;
    let aid = a.body["id"].as_str().expect("id").to_owned();
    let low = call(
        &app.router,
        Method::POST,
        &format!("/auctions/{aid}/bids"),
        Some("b1"),
    )
    .json(json!({ "amount": 999 }))
    .send()
    .await;
    assert_problem(&low, StatusCode::CONFLICT, "bid-too-low");
    // Rating a deal that has not completed.
    let rid = first.body["id"].as_str().expect("id");
    let early = call(
        &app.router,
        Method::POST,
        "/users/seller/ratings",
        Some("b1"),
    )
    .json(json!({ "about": rid, "stars": 3 }))
    .send()
    .await;
    assert_problem(&early, StatusCode::CONFLICT, "deal-not-completed");
}

#[tokio::test]
async fn oversized_bodies_are_413_and_non_json_415() {
    let app = TestApp::new();
    let mut big = new_item("free");
    big["description"] = json!("x".repeat(70 * 1024));
    let answer = call(&app.router, Method::POST, "/items", Some("u"))
        .json(big.clone())
        .send()
        .await;
    assert_problem(&answer, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large");
    // With an Idempotency-Key the body is read before the handler: the same answer.
    let keyed = call(&app.router, Method::POST, "/items", Some("u"))
        .header("idempotency-key", "big")
        .json(big)
        .send()
        .await;
    assert_problem(&keyed, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large");
    let text = call(&app.router, Method::POST, "/items", Some("u"))
        .raw("text/plain", "hello")
        .send()
        .await;
    assert_problem(
        &text,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
}

#[tokio::test]
async fn own_items_and_auctions_are_422() {
    let app = TestApp::new();
    let item = post_item(&app.router, "seller", "free").await;
    let own = call(
        &app.router,
        Method::POST,
        &format!("/items/{item}/reserve"),
        Some("seller"),
    )
    .send()
    .await;
    assert_problem(&own, StatusCode::UNPROCESSABLE_ENTITY, "own-item");
    let not_lot = call(&app.router, Method::POST, "/auctions", Some("seller"))
        .json(json!({ "itemId": item, "startingPrice": 0, "minIncrement": 1, "durationSeconds": 3600 }))
        .send()
        .await;
    assert_problem(
        &not_lot,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not-an-auction-item",
    );
    let lot = post_item(&app.router, "seller", "auction").await;
    let a = call(&app.router, Method::POST, "/auctions", Some("seller"))
        .json(json!({ "itemId": lot, "startingPrice": 0, "minIncrement": 1, "durationSeconds": 3600 }))
        .send()
        .await;
    let aid = a.body["id"].as_str().expect("id").to_owned();
    let self_bid = call(
        &app.router,
        Method::POST,
        &format!("/auctions/{aid}/bids"),
        Some("seller"),
    )
    .json(json!({ "amount": 10 }))
    .send()
    .await;
    assert_problem(&self_bid, StatusCode::UNPROCESSABLE_ENTITY, "own-auction");
}

#[tokio::test]
async fn store_throttling_is_429_with_retry_after() {
    let app = app_with(Arc::new(FailingStore(StoreError::Throttled)));
    let answer = call(
        &app,
        Method::GET,
        "/items/00000000-0000-4000-8000-000000000000",
        None,
    )
    .send()
    .await;
    assert_problem(&answer, StatusCode::TOO_MANY_REQUESTS, "throttled");
    assert_eq!(answer.headers["retry-after"], "1");
}

#[tokio::test]
async fn a_5xx_tells_nothing_of_its_cause() {
    let secret = "arn:aws:dynamodb:eu-west-1:123456789012:table/ecobid-prod-table AccessDenied";
    let app = app_with(Arc::new(FailingStore(StoreError::permanent(secret))));
    let answer = call(&app, Method::POST, "/items", Some("u"))
        .json(new_item("free"))
        .send()
        .await;
    assert_problem(&answer, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    let text = answer.body.to_string();
    assert!(
        !text.contains("arn:") && !text.contains("AccessDenied") && !text.contains("dynamodb"),
        "{text}"
    );
}

/// What the gateway's `$default` route brings: a method a path lacks is 405 naming the methods it has, a path
/// nobody has is 404, both problems.
#[tokio::test]
async fn a_method_a_path_lacks_is_405_with_allow_and_an_unknown_path_404() {
    let app = TestApp::new();
    for (method, path, allowed) in [
        (Method::TRACE, "/items", vec!["GET", "POST"]),
        (Method::PUT, "/items/abc", vec!["DELETE", "GET", "PATCH"]),
        (Method::POST, "/users/me/bids", vec!["GET"]),
    ] {
        let answer = call(&app.router, method.clone(), path, None).send().await;
        assert_problem(
            &answer,
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
        );
        let allow = answer.headers.get("allow").expect("an Allow header");
        let mut listed: Vec<String> = allow
            .to_str()
            .expect("ascii")
            .split(',')
            .map(|m| m.trim().to_owned())
            .filter(|m| m != "HEAD")
            .collect();
        listed.sort();
        assert_eq!(listed, allowed, "{method} {path}");
    }
    let nowhere = call(&app.router, Method::GET, "/nowhere", None)
        .send()
        .await;
    assert_problem(&nowhere, StatusCode::NOT_FOUND, "no-route");
}
