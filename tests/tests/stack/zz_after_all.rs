//! The checks that come after every other test on workspace B (named to sort last: libtest starts tests in
//! name order): every DLQ is empty, and every function emitted its metrics and its AWS request lines.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde_json::Value;

use crate::support::api::Api;
use crate::support::emulator::queue_depth;
use crate::support::workspace_b;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dlq_is_empty_and_every_function_emitted_its_metrics_and_aws_requests() {
    // It waits for the tests on B; it is not one of them (it does not count as running).
    workspace_b::after_all(Duration::from_secs(20 * 60)).await;
    let api = &Api::on_b().await;
    every_dlq_is_empty(api).await;
    every_function_emitted_its_metrics_and_aws_requests(api).await;
}

async fn every_dlq_is_empty(api: &Api) {
    let sqs = aws_sdk_sqs::Client::new(&api.emulator.aws);
    let queues = api.outputs["queues"].as_object().expect("queues");
    let mut depths = BTreeMap::new();
    for (name, q) in queues {
        for (which, url) in [("queue", &q["queue_url"]), ("dlq", &q["dlq_url"])] {
            let n = queue_depth(&sqs, url.as_str().expect("url")).await;
            depths.insert(format!("{name} {which}"), n);
        }
    }
    let dlqs: Vec<_> = depths
        .iter()
        .filter(|(k, n)| k.ends_with("dlq") && **n > 0)
        .collect();
    assert!(dlqs.is_empty(), "every DLQ must be empty: {depths:?}");
    eprintln!("queues at the end: {depths:?}");
}

/// Every JSON line of each function's log, by function name.
fn function_lines(api: &Api) -> HashMap<String, Vec<Value>> {
    let logs = api.work_dir.join("logs");
    let mut lines = HashMap::new();
    for entry in std::fs::read_dir(&logs).expect("the runner's log dir") {
        let path = entry.expect("entry").path();
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("log");
        let parsed = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect();
        lines.insert(name.to_owned(), parsed);
    }
    lines
}

/// The sum of `metric` over a function's EMF documents, after checking each names its namespace and function.
fn emf_sum(lines: &[Value], ws: &str, function: &str, metric: &str) -> f64 {
    lines
        .iter()
        .filter(|l| l.get("_aws").is_some())
        .inspect(|doc| {
            let directive = &doc["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], format!("EcoBid/{ws}"), "{doc}");
            assert_eq!(
                directive["Dimensions"],
                serde_json::json!([["FunctionName"]]),
                "{doc}"
            );
            assert_eq!(doc["FunctionName"], function, "{doc}");
        })
        .filter_map(|doc| match &doc[metric] {
            Value::Number(n) => n.as_f64(),
            Value::Array(values) => Some(values.len() as f64),
            _ => None,
        })
        .sum()
}

/// After the flows: the API counted its requests by status class and timed them; the workers counted what they
/// processed (and the poisoned photo the images worker dead-lettered); the stream publisher counted the events
/// it published; every function logged its AWS requests, those of the API under a request's correlation id.
async fn every_function_emitted_its_metrics_and_aws_requests(api: &Api) {
    let ws = api.emulator.workspace.clone();
    let lines = function_lines(api);
    let of = |suffix: &str| {
        let name = format!("ecobid-{ws}-{suffix}");
        let l = lines
            .get(&name)
            .unwrap_or_else(|| panic!("no log of {name}"));
        (name, l)
    };
    let (name, api_lines) = of("api");
    let requests = emf_sum(api_lines, &ws, &name, "Requests");
    let by_class: f64 = ["Status2xx", "Status3xx", "Status4xx", "Status5xx"]
        .iter()
        .map(|m| emf_sum(api_lines, &ws, &name, m))
        .sum();
    assert!(requests > 100.0, "the API counted {requests} requests");
    assert_eq!(
        by_class, requests,
        "every request falls in one status class"
    );
    assert!(
        emf_sum(api_lines, &ws, &name, "Status4xx") > 0.0,
        "the suite makes refused requests too"
    );
    assert_eq!(
        emf_sum(api_lines, &ws, &name, "Latency"),
        requests,
        "every request is timed"
    );
    for (suffix, metric) in [
        ("notifications-worker", "MessagesProcessed"),
        ("expiries-worker", "MessagesProcessed"),
        ("auction-closes-worker", "MessagesProcessed"),
        ("index-worker", "MessagesProcessed"),
        ("images-worker", "MessagesProcessed"),
        ("images-worker", "MessagesDeadLettered"),
        ("images-worker", "MessageDuration"),
        ("stream-publisher", "MessagesProcessed"),
    ] {
        let (name, l) = of(suffix);
        let n = emf_sum(l, &ws, &name, metric);
        assert!(n > 0.0, "{name} recorded no {metric}");
    }
    // AWS request lines (log_aws_requests is on in the local stack): the API's all carry a correlation id.
    let requests_of = |suffix: &str| -> Vec<Value> {
        of(suffix)
            .1
            .iter()
            .filter(|l| l.get("awsRequest").is_some())
            .cloned()
            .collect()
    };
    let api_requests = requests_of("api");
    assert!(
        api_requests
            .iter()
            .any(|l| l["awsRequest"]["service"] == "DynamoDB"),
        "the API's DynamoDB requests are logged"
    );
    assert!(
        api_requests.iter().all(|l| l["correlationId"].is_string()),
        "every AWS request of the API is under a request's correlation id"
    );
    assert!(
        requests_of("images-worker")
            .iter()
            .any(|l| l["awsRequest"]["service"] == "Rekognition"),
        "the images worker's Rekognition requests are logged"
    );
    assert!(
        requests_of("stream-publisher")
            .iter()
            .any(|l| l["awsRequest"]["operation"] == "PutEvents"),
        "the stream publisher's PutEvents are logged"
    );
}
