//! `GET /items?q=` in process: the index caught up as the index worker would, then searched through the API,
//! combined with a place and a category, paged, and refused with a problem when the words are missing.

use axum::http::{Method, StatusCode};
use domain::service::{Service, Settings};
use serde_json::{json, Value};

use crate::helpers::*;

async fn post(app: &TestApp, title: &str, category: &str, lat: f64) -> String {
    // Distinct creation times (milliseconds), so recency orders them.
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    let answer = call(&app.router, Method::POST, "/items", Some("seller"))
        .json(json!({
            "title": title,
            "description": "",
            "category": category,
            "location": { "lat": lat, "lon": 2.2945 },
            "mode": "free"
        }))
        .send()
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let id = answer.body["id"].as_str().expect("id").to_owned();
    Service::new(app.store.clone(), Settings::default())
        .reindex(app.index.as_ref(), &id)
        .await
        .expect("indexed");
    id
}

async fn found(app: &TestApp, query: &str) -> (Vec<String>, Option<String>) {
    let answer = call(&app.router, Method::GET, &format!("/items?{query}"), None)
        .send()
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.body);
    let ids = answer.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect();
    (ids, answer.body["nextCursor"].as_str().map(str::to_owned))
}

#[tokio::test]
async fn words_find_listed_items_by_relevance_near_a_point_and_in_a_category() {
    let app = TestApp::new();
    let table = post(&app, "Solid oak table", "furniture", 48.8584).await;
    let chair = post(&app, "Oak chair", "furniture", 48.8584).await;
    let far = post(&app, "Oak table", "furniture", 51.5).await;
    let book = post(&app, "Tables of logarithms", "books", 48.8584).await;

    for q in ["q=table", "q=OAK%20tables", "q=tables"] {
        let (ids, _) = found(&app, q).await;
        assert!(ids.contains(&table), "{q}: {ids:?}");
    }
    let (ids, _) = found(&app, "q=oak+table").await;
    // Both words of the title (newest first), then one.
    assert_eq!(
        ids,
        [far.clone(), table.clone(), book.clone(), chair.clone()]
    );
    let (ids, _) = found(
        &app,
        "q=oak+table&near=48.86,2.29&radiusKm=5&category=furniture",
    )
    .await;
    assert_eq!(ids, [table.clone(), chair.clone()]);

    // Paged by the cursor each page gives: every hit once.
    let (first, cursor) = found(&app, "q=oak+table&limit=3").await;
    let cursor = cursor.expect("a next page");
    let (rest, end) = found(&app, &format!("q=oak+table&limit=3&cursor={cursor}")).await;
    assert_eq!([first, rest].concat(), [far, table, book, chair]);
    assert_eq!(end, None);
}

#[tokio::test]
async fn a_search_without_words_is_a_problem_naming_q() {
    let app = TestApp::new();
    let long = "a".repeat(201);
    for query in ["q=".to_owned(), format!("q={long}")] {
        let answer = call(&app.router, Method::GET, &format!("/items?{query}"), None)
            .send()
            .await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        let fields: Vec<&Value> = answer.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .collect();
        assert!(fields.iter().any(|f| f["field"] == "q"), "{}", answer.body);
    }
    let (ids, cursor) = found(&app, "q=the").await;
    assert!(
        ids.is_empty() && cursor.is_none(),
        "only stop words: nothing"
    );
}
