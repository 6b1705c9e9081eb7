//! The served OpenAPI document: generated, 3.1, every route of the router, and the routes Terraform declares
//! public or behind the authorizer match the document's security.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};

use crate::helpers::*;

/// `"GET /items/{id}" = false` lines of `api_routes` in terraform/main.tf.
fn terraform_routes() -> BTreeMap<String, bool> {
    // Found when the test runs (cargo sets CARGO_MANIFEST_DIR), not by `env!`: a test binary reused from a
    // shared build cache keeps the path of the clone it was built in.
    let dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR (set by cargo test)");
    let main = std::fs::read_to_string(std::path::Path::new(&dir).join("../terraform/main.tf"))
        .expect("terraform/main.tf");
    let block = main.split("api_routes = {").nth(1).expect("api_routes");
    block
        .lines()
        .take_while(|line| line.trim() != "}")
        // `$default` is the gateway's catch-all, not an operation; comments are not routes.
        .filter(|line| !line.trim_start().starts_with('#') && !line.contains("\"$default\""))
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            Some((
                key.trim().trim_matches('"').to_owned(),
                value.trim() == "true",
            ))
        })
        .collect()
}

#[tokio::test]
async fn the_document_is_served_and_matches_terraforms_routes() {
    let app = TestApp::new();
    let answer = call(&app.router, Method::GET, "/openapi.json", None)
        .send()
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let doc = &answer.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let mut served = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            let secured = op
                .get("security")
                .and_then(|s| s.as_array())
                .is_some_and(|s| !s.is_empty());
            served.insert(format!("{} {path}", method.to_uppercase()), secured);
            // Every response has the description OpenAPI requires (a client generator refuses one without).
            for (code, response) in op["responses"].as_object().expect("responses") {
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {code} has no description"
                );
            }
            // Every operation documents its problems.
            for code in ["400", "404", "429", "500"] {
                assert!(
                    op["responses"].get(code).is_some(),
                    "{method} {path} lacks {code}"
                );
            }
        }
    }
    assert_eq!(
        served,
        terraform_routes(),
        "the API's routes and Terraform's must agree, auth included"
    );
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["cognito"]["scheme"],
        "bearer"
    );
}

/// Every enum of the document lists exactly the texts that go over the wire, in one convention: lowercase
/// snake_case (`picked_up`, `furniture`), the media types of a photo (`image/jpeg`) being the one set of
/// values that are not ours to name.
#[tokio::test]
async fn enums_list_their_wire_texts_in_one_convention() {
    use domain::auction::{AuctionStatus, Standing};
    use domain::item::{Category, ItemMode, ItemStatus, PhotoStatus};
    use domain::profile::Platform;
    use domain::reservation::{ReservationStatus, Role};

    fn texts<T: std::fmt::Display>(all: &[T]) -> Vec<String> {
        all.iter().map(ToString::to_string).collect()
    }
    let app = TestApp::new();
    let doc = call(&app.router, Method::GET, "/openapi.json", None)
        .send()
        .await
        .body;
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let wire = [
        ("AuctionStatus", texts(AuctionStatus::ALL)),
        ("Standing", texts(Standing::ALL)),
        ("Category", texts(Category::ALL)),
        ("ItemMode", texts(ItemMode::ALL)),
        ("ItemStatus", texts(ItemStatus::ALL)),
        ("PhotoStatus", texts(PhotoStatus::ALL)),
        ("Platform", texts(Platform::ALL)),
        ("ReservationStatus", texts(ReservationStatus::ALL)),
        ("Role", texts(Role::ALL)),
    ];
    for (name, texts) in &wire {
        let listed: Vec<String> = schemas[*name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} has no enum: {}", schemas[*name]))
            .iter()
            .map(|v| v.as_str().expect("a text").to_owned())
            .collect();
        assert_eq!(&listed, texts, "{name}: the document and the wire disagree");
    }
    // One convention for every enum in the document, including those of query parameters.
    let mut enums = Vec::new();
    collect_enums(&doc, &mut enums);
    assert!(enums.len() > wire.len(), "{enums:?}");
    let snake = |s: &str| {
        !s.is_empty()
            && s.split('_').all(|w| {
                !w.is_empty()
                    && w.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            })
    };
    for value in enums {
        assert!(
            snake(&value) || value.starts_with("image/"),
            "{value:?} is not lowercase snake_case"
        );
    }
}

fn collect_enums(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("enum", serde_json::Value::Array(values)) => {
                        out.extend(values.iter().filter_map(|v| v.as_str().map(str::to_owned)))
                    }
                    _ => collect_enums(v, out),
                }
            }
        }
        serde_json::Value::Array(values) => values.iter().for_each(|v| collect_enums(v, out)),
        _ => {}
    }
}

/// Every `$ref` of the document names a schema it defines (a client generator drops an operation whose
/// parameter names a missing one).
#[tokio::test]
async fn every_reference_resolves() {
    fn refs(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, v) in map {
                    match (key.as_str(), v) {
                        ("$ref", serde_json::Value::String(r)) => out.push(r.clone()),
                        _ => refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(values) => values.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let app = TestApp::new();
    let doc = call(&app.router, Method::GET, "/openapi.json", None)
        .send()
        .await
        .body;
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 20, "{all:?}");
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r} is not a schema reference"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} is not defined"
        );
    }
}

/// The patterns the document states for cursors and points are the parsers' own (each held to its parser by
/// a test in the domain), so data a client generates from the document is never refused for its form.
#[tokio::test]
async fn query_patterns_are_the_parsers_own() {
    let app = TestApp::new();
    let doc = call(&app.router, Method::GET, "/openapi.json", None)
        .send()
        .await
        .body;
    let mut cursors = 0;
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            for param in op["parameters"].as_array().into_iter().flatten() {
                let pattern = param["schema"]["pattern"].as_str();
                match param["name"].as_str() {
                    Some("cursor") if path == "/auctions/{id}/bids" => {
                        assert_eq!(pattern, Some("^[0-9]{1,15}$"), "{method} {path}")
                    }
                    Some("cursor") if path == "/items" => {
                        cursors += 1;
                        assert_eq!(
                            pattern,
                            Some(domain::search::Ranked::PATTERN),
                            "{method} {path}"
                        )
                    }
                    Some("cursor") => {
                        cursors += 1;
                        assert_eq!(
                            pattern,
                            Some(domain::store::Cursor::PATTERN),
                            "{method} {path}"
                        )
                    }
                    Some("near") => {
                        assert_eq!(pattern, Some(domain::geo::POINT_PATTERN), "{method} {path}")
                    }
                    _ => {}
                }
            }
        }
    }
    assert_eq!(
        cursors, 6,
        "browse, my items, reservations, auctions, bids, ratings"
    );
}
