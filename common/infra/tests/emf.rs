//! The EMF documents a function writes (its own process: the recorder is global).

use infra::metrics::{self, api, worker};

#[test]
fn a_flush_writes_one_emf_document_in_the_namespace_with_the_function_dimension() {
    metrics::init_with("EcoBid/test".into(), "ecobid-test-images-worker".into()).expect("init");
    ::metrics::counter!(worker::PROCESSED).increment(3);
    ::metrics::counter!(worker::FAILED_PERMANENT).increment(1);
    ::metrics::histogram!(worker::DURATION).record(12.5);
    ::metrics::histogram!(worker::DURATION).record(7.0);

    let mut out = Vec::new();
    metrics::flush_into(&mut out);
    let text = String::from_utf8(out).expect("utf-8");
    let docs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON document per line"))
        .collect();
    assert_eq!(docs.len(), 1, "{text}");
    let doc = &docs[0];
    let directive = &doc["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "EcoBid/test");
    assert_eq!(
        directive["Dimensions"],
        serde_json::json!([["FunctionName"]])
    );
    assert_eq!(doc["FunctionName"], "ecobid-test-images-worker");
    assert!(doc["_aws"]["Timestamp"].as_u64().is_some(), "{doc}");
    let unit = |name: &str| {
        directive["Metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .find(|m| m["Name"] == name)
            .map(|m| m["Unit"].clone())
    };
    assert_eq!(unit(worker::PROCESSED), Some("Count".into()));
    assert_eq!(unit(worker::DURATION), Some("Milliseconds".into()));
    assert_eq!(doc[worker::PROCESSED], 3);
    assert_eq!(doc[worker::FAILED_PERMANENT], 1);
    assert_eq!(doc[worker::DURATION], serde_json::json!([12.5, 7.0]));
    // Nothing recorded: nothing written (a counter at zero is not sent again).
    assert_eq!(unit(api::REQUESTS), None);
    let mut again = Vec::new();
    metrics::flush_into(&mut again);
    assert!(again.is_empty(), "{}", String::from_utf8_lossy(&again));
}

#[test]
fn status_codes_fall_in_their_class() {
    assert_eq!(api::status_class(200), api::STATUS_2XX);
    assert_eq!(api::status_class(302), api::STATUS_3XX);
    assert_eq!(api::status_class(404), api::STATUS_4XX);
    assert_eq!(api::status_class(503), api::STATUS_5XX);
}
