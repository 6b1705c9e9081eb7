//! Handler latency in process, the store excluded (the in-memory store behind the same `Store` trait):
//! `GET /items/{id}` and `POST /auctions/{id}/bids` through the whole router (correlation middleware,
//! Idempotency-Key layer, body limit, extractors, use-case, JSON), p50/p99 printed beside a named baseline in the
//! same process: `baseline` = a bare axum route answering a constant JSON behind the correlation middleware
//! (what any request costs before the API's own work).
//!
//! Run: `cargo bench -p api --bench handlers` (ECOBID_BENCH_N requests per case, default 20000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use api::idempotency::MemoryRequests;
use api::presign::Presigner;
use api::push::MemoryPush;
use api::{app, AppState};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use domain::profile::Platform;
use domain::service::{Service, Settings};
use domain::store::memory::MemoryStore;
use http_body_util::BodyExt;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use serde_json::{json, Value};
use tower::ServiceExt;

fn context(user: &str) -> RequestContext {
    let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
    jwt.claims.insert("sub".into(), user.into());
    let mut authorizer = ApiGatewayRequestAuthorizer::default();
    authorizer.jwt = Some(jwt);
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.authorizer = Some(authorizer);
    RequestContext::ApiGatewayV2(ctx)
}

async fn send(
    router: &Router,
    method: Method,
    uri: &str,
    user: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .extension(context(user));
    let body = match body {
        Some(b) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let response = router
        .clone()
        .oneshot(request.body(body).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Figures {
    p50: Duration,
    p99: Duration,
}

async fn measure<F, Fut>(n: usize, mut one: F) -> Figures
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = StatusCode>,
{
    for i in 0..n / 10 {
        one(i).await; // warm-up
    }
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        let status = one(n / 10 + i).await;
        times.push(start.elapsed());
        assert!(status.is_success(), "request {i} answered {status}");
    }
    times.sort();
    Figures {
        p50: percentile(&times, 0.50),
        p99: percentile(&times, 0.99),
    }
}

fn main() {
    let n: usize = std::env::var("ECOBID_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = Arc::new(MemoryStore::new());
        let state = AppState {
            service: Service::new(store, Settings::default()),
            search: Arc::new(domain::search::memory::MemoryIndex::new()),
            presigner: Presigner::new(
                "bench".into(),
                "eu-west-1".into(),
                None,
                SharedCredentialsProvider::new(Credentials::new("AKID", "secret", None, None, "bench")),
            ),
            push: Arc::new(MemoryPush::new(&[Platform::Ios])),
            media: api::responses::Media::new("https://d111111abcdef8.cloudfront.net").expect("media"),
            requests: Arc::new(MemoryRequests::default()),
            accounts: Arc::new(api::accounts::MemoryAccounts::default()),
            moderators: "moderators".into(),
        };
        let router = app(state);
        // The baseline: a bare route answering a constant JSON, behind the correlation middleware only.
        let baseline = Router::new()
            .route("/ping", axum::routing::get(|| async { axum::Json(json!({"ok": true})) }))
            .layer(axum::middleware::from_fn(api::context::correlate));

        let (_, item) = send(
            &router,
            Method::POST,
            "/items",
            "seller",
            Some(json!({"title": "Bench lot", "category": "other", "location": {"lat": 1.0, "lon": 1.0}, "mode": "auction"})),
        )
        .await;
        let item_id = item["id"].as_str().expect("item").to_owned();
        let (_, auction) = send(
            &router,
            Method::POST,
            "/auctions",
            "seller",
            Some(json!({"itemId": item_id, "startingPrice": 1, "minIncrement": 1, "durationSeconds": 86400})),
        )
        .await;
        let auction_id = auction["id"].as_str().expect("auction").to_owned();

        let base = measure(n, |_| async { send(&baseline, Method::GET, "/ping", "u", None).await.0 }).await;
        let get_uri = format!("/items/{item_id}");
        let get = measure(n, |_| send(&router, Method::GET, &get_uri, "buyer", None).then_status()).await;
        let bid_uri = format!("/auctions/{auction_id}/bids");
        let bid = measure(n, |i| {
            // Every bid tops the last: the accepted path, with its version check, bid record and events.
            let users = ["b1", "b2"];
            send(&router, Method::POST, &bid_uri, users[i % 2], Some(json!({"amount": 10 + i as i64}))).then_status()
        })
        .await;

        println!("api handler latency in process, store excluded (in-memory), {n} requests each, 1 thread");
        println!("{:<34} {:>10} {:>10} {:>12}", "case", "p50", "p99", "p50 ratio");
        for (name, f) in [
            ("baseline (constant JSON route)", &base),
            ("GET /items/{id}", &get),
            ("POST /auctions/{id}/bids", &bid),
        ] {
            println!(
                "{name:<34} {:>8.1}us {:>8.1}us {:>11.2}x",
                f.p50.as_secs_f64() * 1e6,
                f.p99.as_secs_f64() * 1e6,
                f.p50.as_secs_f64() / base.p50.as_secs_f64()
            );
        }
    });
}

trait ThenStatus {
    fn then_status(self) -> impl std::future::Future<Output = StatusCode>;
}

impl<F: std::future::Future<Output = (StatusCode, Value)>> ThenStatus for F {
    async fn then_status(self) -> StatusCode {
        self.await.0
    }
}
