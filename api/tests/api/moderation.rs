//! The moderators' routes in process: only a token of the moderators group reaches them (403
//! `moderators-only` otherwise); a takedown hides the listing from browse, search and its page and closes it
//! to takers; a suspension refuses every request of the user (403 `suspended`) until reinstated; each action
//! an event naming the moderator.

use axum::http::{Method, StatusCode};
use domain::event::DomainEvent;
use domain::service::{Service, Settings};
use serde_json::json;

use crate::helpers::*;

async fn post(app: &TestApp, seller: &str, title: &str) -> String {
    let answer = call(&app.router, Method::POST, "/items", Some(seller))
        .json(json!({
            "title": title,
            "description": "",
            "category": "furniture",
            "location": { "lat": 48.8584, "lon": 2.2945 },
            "mode": "free"
        }))
        .send()
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let id = answer.body["id"].as_str().expect("id").to_owned();
    reindex(app, &id).await;
    id
}

async fn reindex(app: &TestApp, id: &str) {
    Service::new(app.store.clone(), Settings::default())
        .reindex(app.index.as_ref(), id)
        .await
        .expect("indexed");
}

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let answer = call(&app.router, Method::GET, &format!("/items?{query}"), None)
        .send()
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

fn last_event(app: &TestApp) -> DomainEvent {
    app.store.events().last().expect("an event").event.clone()
}

#[tokio::test]
async fn only_moderators_take_down_and_a_listing_taken_down_is_gone_for_everyone_but_its_seller() {
    let app = TestApp::new();
    let item = post(&app, "seller", "Solid oak table").await;
    let near = "near=48.86,2.29&radiusKm=5";
    assert_eq!(ids(&app, near).await, vec![item.clone()]);
    let uri = format!("/admin/items/{item}/takedown");

    // GIVEN a signed-in user outside the group WHEN they try THEN 403 moderators-only, nothing changes
    let refused = call(&app.router, Method::POST, &uri, Some("buyer"))
        .json(json!({ "reason": "spam" }))
        .send()
        .await;
    assert_eq!(
        (refused.status, refused.problem()),
        (StatusCode::FORBIDDEN, "moderators-only"),
        "{}",
        refused.body
    );
    // A blank reason is a validation problem naming the field.
    let blank = call(&app.router, Method::POST, &uri, Some("moderator-1"))
        .json(json!({ "reason": "  " }))
        .send()
        .await;
    assert_eq!(blank.status, StatusCode::BAD_REQUEST, "{}", blank.body);
    assert_eq!(blank.body["errors"][0]["field"], "reason");

    // WHEN a moderator takes it down
    let down = call(&app.router, Method::POST, &uri, Some("moderator-1"))
        .json(json!({ "reason": "a counterfeit" }))
        .send()
        .await;
    assert_eq!(down.status, StatusCode::OK, "{}", down.body);
    assert_eq!(down.body["moderation"]["action"], "taken_down");
    assert_eq!(down.body["moderation"]["reason"], "a counterfeit");
    let DomainEvent::ItemTakenDown(event) = last_event(&app) else {
        panic!("no ItemTakenDown");
    };
    assert_eq!(
        (event.moderator_id.as_str(), event.seller_id.as_str()),
        ("moderator-1", "seller")
    );
    reindex(&app, &item).await;

    // THEN browse, search and its page lose it; nobody can reserve it; its seller sees it and why
    assert!(ids(&app, near).await.is_empty());
    assert!(ids(&app, "q=table").await.is_empty());
    let page = call(&app.router, Method::GET, &format!("/items/{item}"), None)
        .send()
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "{}", page.body);
    let reserve = call(
        &app.router,
        Method::POST,
        &format!("/items/{item}/reserve"),
        Some("buyer"),
    )
    .send()
    .await;
    assert_eq!(
        (reserve.status, reserve.problem()),
        (StatusCode::CONFLICT, "item-not-available"),
        "{}",
        reserve.body
    );
    let mine = call(&app.router, Method::GET, "/users/me/items", Some("seller"))
        .send()
        .await;
    assert_eq!(
        mine.body["items"][0]["moderation"]["reason"],
        "a counterfeit"
    );

    // Taking it down again changes nothing: no second event.
    let events = app.store.events().len();
    let again = call(&app.router, Method::POST, &uri, Some("moderator-2"))
        .json(json!({ "reason": "still a counterfeit" }))
        .send()
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["moderation"]["reason"], "a counterfeit");
    assert_eq!(app.store.events().len(), events);
}

#[tokio::test]
async fn a_suspended_user_is_refused_everything_until_reinstated() {
    let app = TestApp::new();
    post(&app, "seller", "Oak chair").await;
    let me = |user: &'static str| call(&app.router, Method::GET, "/users/me", Some(user));

    let not_a_moderator = call(
        &app.router,
        Method::POST,
        "/admin/users/seller/suspend",
        Some("buyer"),
    )
    .json(json!({ "reason": "spam" }))
    .send()
    .await;
    assert_eq!(not_a_moderator.problem(), "moderators-only");
    let nobody = call(
        &app.router,
        Method::POST,
        "/admin/users/ghost/suspend",
        Some("moderator-1"),
    )
    .json(json!({ "reason": "spam" }))
    .send()
    .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND, "{}", nobody.body);

    // WHEN a moderator suspends the seller
    let suspended = call(
        &app.router,
        Method::POST,
        "/admin/users/seller/suspend",
        Some("moderator-1"),
    )
    .json(json!({ "reason": "fraudulent listings" }))
    .send()
    .await;
    assert_eq!(suspended.status, StatusCode::OK, "{}", suspended.body);
    assert_eq!(
        suspended.body,
        json!({ "userId": "seller", "account": "suspended" })
    );
    let DomainEvent::UserSuspended(event) = last_event(&app) else {
        panic!("no UserSuspended");
    };
    assert_eq!(
        (event.moderator_id.as_str(), event.reason.as_str()),
        ("moderator-1", "fraudulent listings")
    );

    // THEN each request of theirs is 403 suspended, reads and writes alike
    let read = me("seller").send().await;
    assert_eq!(
        (read.status, read.problem()),
        (StatusCode::FORBIDDEN, "suspended"),
        "{}",
        read.body
    );
    let write = call(&app.router, Method::POST, "/items", Some("seller"))
        .json(json!({
            "title": "Another", "category": "furniture",
            "location": { "lat": 48.8584, "lon": 2.2945 }, "mode": "free"
        }))
        .send()
        .await;
    assert_eq!(write.problem(), "suspended", "{}", write.body);
    assert_eq!(me("buyer").send().await.status, StatusCode::OK);

    // WHEN reinstated THEN they are back, and UserReinstated names the moderator
    let back = call(
        &app.router,
        Method::POST,
        "/admin/users/seller/reinstate",
        Some("moderator-2"),
    )
    .send()
    .await;
    assert_eq!(
        back.body,
        json!({ "userId": "seller", "account": "active" })
    );
    let DomainEvent::UserReinstated(event) = last_event(&app) else {
        panic!("no UserReinstated");
    };
    assert_eq!(event.moderator_id, "moderator-2");
    assert_eq!(me("seller").send().await.status, StatusCode::OK);
}
