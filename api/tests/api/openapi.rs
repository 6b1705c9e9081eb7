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
