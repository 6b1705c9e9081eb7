//! The REST API of workspace B as the mobile app uses it: real HTTP through the local runner's API Gateway,
//! real Cognito tokens from the emulator's user pool, and the events its writes emit seen on the workspace's
//! bus (a rule of the test's own → a queue of its own).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_eventbridge::types::Target;
use domain::event::Envelope;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::emulator::{eventually, queue_arn, unique, Emulator};
use super::workspace_b;

pub(crate) const PASSWORD: &str = "Local-Passw0rd!";

pub(crate) struct Api {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) tokens: tokio::sync::Mutex<HashMap<String, (String, String)>>,
    pub(crate) pool: String,
    pub(crate) client_id: String,
    pub(crate) emulator: Emulator,
    pub(crate) bus: String,
    /// The workspace's Terraform outputs.
    pub(crate) outputs: Value,
    /// Where the workspace's runner keeps its functions' logs.
    pub(crate) work_dir: std::path::PathBuf,
    _running: workspace_b::Running,
}

impl Api {
    /// A handle on workspace B, played for the whole suite by one runner ([`workspace_b`]); the test holding it
    /// counts as running until it drops it.
    pub(crate) async fn on_b() -> Api {
        let shared = workspace_b::shared();
        let mut emulator = Emulator::from_env().await;
        emulator.workspace = shared.workspace.clone();
        let outputs = shared.outputs.clone();
        Api {
            base: shared.base.clone(),
            http: reqwest::Client::new(),
            tokens: Default::default(),
            pool: outputs["user_pool_id"].as_str().expect("pool").to_owned(),
            client_id: outputs["user_pool_client_id"]
                .as_str()
                .expect("client")
                .to_owned(),
            bus: outputs["event_bus_name"].as_str().expect("bus").to_owned(),
            work_dir: shared.work_dir.clone(),
            outputs,
            emulator,
            _running: workspace_b::begin(),
        }
    }
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    /// The `Retry-After` header, if any.
    pub(crate) retry_after: Option<String>,
    /// The `ETag` header, if any.
    pub(crate) etag: Option<String>,
}

impl Answer {
    pub(crate) fn problem(&self) -> &str {
        self.body["type"]
            .as_str()
            .and_then(|t| t.strip_prefix("urn:ecobid:problem:"))
            .unwrap_or("")
    }
}

impl Api {
    /// Posts a free item as `user`; its id.
    pub(crate) async fn free_item(&self, user: &str, c: &str) -> String {
        let posted = self
            .call(Method::POST, "/items", Some(user), Some(item("free")), c)
            .await;
        assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
        posted.body["id"].as_str().expect("id").to_owned()
    }

    /// Posts the listing `body` as `user`; its id.
    pub(crate) async fn post(&self, user: &str, body: Value, c: &str) -> String {
        let posted = self
            .call(Method::POST, "/items", Some(user), Some(body), c)
            .await;
        assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
        posted.body["id"].as_str().expect("id").to_owned()
    }

    /// Puts auction item `item_id` of `seller` up for `seconds`, from 1.00 by 0.10; the auction's id.
    pub(crate) async fn auction(
        &self,
        seller: &str,
        item_id: &str,
        seconds: u32,
        c: &str,
    ) -> String {
        let body = json!({"itemId": item_id, "startingPrice": 100, "minIncrement": 10, "durationSeconds": seconds});
        let created = self
            .call(Method::POST, "/auctions", Some(seller), Some(body), c)
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        created.body["id"].as_str().expect("id").to_owned()
    }

    /// Bids `amount` cents on `auction` as `bidder`.
    pub(crate) async fn bid(&self, bidder: &str, auction: &str, amount: i64, c: &str) {
        let bid = self
            .call(
                Method::POST,
                &format!("/auctions/{auction}/bids"),
                Some(bidder),
                Some(json!({ "amount": amount })),
                c,
            )
            .await;
        assert_eq!(bid.status, StatusCode::CREATED, "{}", bid.body);
    }

    /// The ids `GET /items?<query>` answers with (browse or search).
    pub(crate) async fn listing_ids(&self, query: &str, c: &str) -> Vec<String> {
        let answer = self
            .call(Method::GET, &format!("/items?{query}"), None, None, c)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.body);
        answer.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["id"].as_str().expect("id").to_owned())
            .collect()
    }

    /// Time travel: listing `id`'s expiresAt moves a minute into the past, as only the store's own write would
    /// (every other field as the API wrote it), so the next sweep of stale listings expires it.
    pub(crate) async fn expire_listing_now(&self, id: &str) {
        let dynamo = aws_sdk_dynamodb::Client::new(&self.emulator.aws);
        let s = aws_sdk_dynamodb::types::AttributeValue::S;
        let past = (chrono::Utc::now() - chrono::Duration::minutes(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        dynamo
            .update_item()
            .table_name(self.outputs["table_name"].as_str().expect("table"))
            .key("PK", s(format!("ITEM#{id}")))
            .key("SK", s("METADATA".into()))
            .update_expression("SET expiresAt = :past")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":past", s(past))
            .send()
            .await
            .expect("the listing's expiresAt moved");
    }

    /// Reserves item `id` as `user`; the reservation's id.
    pub(crate) async fn reserve(&self, user: &str, id: &str, c: &str) -> String {
        let reserved = self
            .call(
                Method::POST,
                &format!("/items/{id}/reserve"),
                Some(user),
                None,
                c,
            )
            .await;
        assert_eq!(reserved.status, StatusCode::CREATED, "{}", reserved.body);
        reserved.body["id"].as_str().expect("id").to_owned()
    }

    /// The ID token of the pool's user `email` (made, verified and given the suite's password if new).
    async fn sign_in(&self, email: &str) -> String {
        let (id_token, _) = runner::token::token(
            &self.emulator.aws,
            &self.pool,
            &self.client_id,
            email,
            PASSWORD,
            Some(email),
        )
        .await
        .expect("token");
        id_token
    }

    /// (sub, ID token) of a user of the workspace's pool, made on first use.
    pub(crate) async fn user(&self, name: &str) -> (String, String) {
        let mut tokens = self.tokens.lock().await;
        if let Some(t) = tokens.get(name) {
            return t.clone();
        }
        let email = format!("{name}@example.com");
        let id_token = self.sign_in(&email).await;
        let sub = claims(&id_token)["sub"].as_str().expect("sub").to_owned();
        tokens.insert(name.to_owned(), (sub.clone(), id_token.clone()));
        drop(tokens);
        // Signed in, the app registers its device (which also keeps the verified address for email).
        let device = self
            .http
            .post(format!("{}/users/me/devices", self.base))
            .bearer_auth(&id_token)
            .json(&json!({ "platform": "ios", "token": format!("apns-{name}-{sub}") }))
            .send()
            .await
            .expect("device registration");
        assert_eq!(
            device.status(),
            StatusCode::CREATED,
            "{}",
            device.text().await.unwrap_or_default()
        );
        (sub, id_token)
    }

    /// (sub, ID token) of a user in the workspace's moderators group: a user of [`Api::user`], added to the
    /// group, signed in again (a token names the groups its user was in when it was issued).
    pub(crate) async fn moderator(&self, name: &str) -> (String, String) {
        let (sub, _) = self.user(name).await;
        let email = format!("{name}@example.com");
        aws_sdk_cognitoidentityprovider::Client::new(&self.emulator.aws)
            .admin_add_user_to_group()
            .user_pool_id(&self.pool)
            .username(&email)
            .group_name(self.outputs["moderators_group"].as_str().expect("group"))
            .send()
            .await
            .expect("added to the moderators group");
        let id_token = self.sign_in(&email).await;
        self.tokens
            .lock()
            .await
            .insert(name.to_owned(), (sub.clone(), id_token.clone()));
        (sub, id_token)
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        user: Option<&str>,
        body: Option<Value>,
        correlation: &str,
    ) -> Answer {
        self.call_with(method, path, user, body, &[], correlation)
            .await
    }

    /// A call with headers of its own (`If-Match`).
    pub(crate) async fn call_with(
        &self,
        method: Method,
        path: &str,
        user: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
        correlation: &str,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-correlation-id", correlation);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(user) = user {
            request = request.bearer_auth(self.user(user).await.1);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("HTTP");
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (retry_after, etag) = (
            header(reqwest::header::RETRY_AFTER),
            header(reqwest::header::ETAG),
        );
        let text = response.text().await.expect("body");
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            retry_after,
            etag,
        }
    }

    /// A queue of the test's own that receives every domain event of the workspace's bus.
    pub(crate) async fn tap(&self) -> String {
        let sqs = aws_sdk_sqs::Client::new(&self.emulator.aws);
        let events = aws_sdk_eventbridge::Client::new(&self.emulator.aws);
        let name = unique("tap");
        let url = sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .expect("queue")
            .queue_url
            .expect("url");
        let arn = queue_arn(&sqs, &url).await;
        let pattern = json!({ "source": ["ecobid.items", "ecobid.reservations", "ecobid.auctions", "ecobid.users"] });
        events
            .put_rule()
            .name(&name)
            .event_bus_name(&self.bus)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .expect("rule");
        events
            .put_targets()
            .rule(&name)
            .event_bus_name(&self.bus)
            .targets(
                Target::builder()
                    .id("tap")
                    .arn(arn)
                    .input_path("$.detail")
                    .build()
                    .expect("target"),
            )
            .send()
            .await
            .expect("target");
        url
    }
}

/// The payload of a JWT (the test reads its own token's `sub`).
fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("claims")
}

/// Waits until the tap queue has delivered the events of `correlation` with these types (in any order).
/// The event of `event_type` among `events` (as `events_of` returns them).
pub(crate) fn event<'a>(events: &'a [Envelope], event_type: &str) -> &'a Envelope {
    events
        .iter()
        .find(|e| e.event_type().as_str() == event_type)
        .unwrap_or_else(|| panic!("no {event_type} among the events"))
}

pub(crate) async fn events_of(
    api: &Api,
    tap: &str,
    correlation: &str,
    want: &[&str],
) -> Vec<Envelope> {
    let sqs = aws_sdk_sqs::Client::new(&api.emulator.aws);
    let seen = Arc::new(tokio::sync::Mutex::new(Vec::<Envelope>::new()));
    let mut sorted_want: Vec<&str> = want.to_vec();
    sorted_want.sort();
    eventually(
        Duration::from_secs(30),
        &format!("events {want:?} of {correlation}"),
        || async {
            let out = sqs
                .receive_message()
                .queue_url(tap)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("receive");
            let mut seen = seen.lock().await;
            for m in out.messages() {
                let envelope =
                    Envelope::parse(m.body().unwrap_or_default()).expect("an envelope on the bus");
                if envelope.correlation_id.to_string() == correlation {
                    seen.push(envelope);
                }
                if let Some(handle) = m.receipt_handle() {
                    sqs.delete_message()
                        .queue_url(tap)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete");
                }
            }
            let mut types: Vec<&str> = seen.iter().map(|e| e.event_type().as_str()).collect();
            types.sort();
            if types != sorted_want && std::env::var_os("ECOBID_DEBUG_EVENTS").is_some() {
                eprintln!("{correlation}: seen {types:?}");
            }
            (types == sorted_want).then(|| seen.clone())
        },
    )
    .await
}

pub(crate) fn correlation() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) fn item(mode: &str) -> Value {
    json!({
        "title": "Oak table",
        "description": "Solid oak, seats six",
        "category": "furniture",
        "location": { "lat": 48.8584, "lon": 2.2945 },
        "mode": mode
    })
}

/// GET /users/me of `user`, with absent counters as 0 (users are shared by runs on one stack).
pub(crate) async fn profile(api: &Api, user: &str, c: &str) -> Value {
    let me = api
        .call(Method::GET, "/users/me", Some(user), None, c)
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let mut body = me.body;
    for counter in ["itemsGiven", "itemsReceived"] {
        if body["stats"][counter].is_null() {
            body["stats"][counter] = json!(0);
        }
    }
    if body["ratingCount"].is_null() {
        body["ratingCount"] = json!(0);
    }
    body
}

/// A new auction item of `seller` and its auction: (auction id, the POST /auctions answer's body).
pub(crate) async fn auction_of(
    api: &Api,
    seller: &str,
    starting_price: i64,
    seconds: u32,
    c: &str,
) -> (String, Value) {
    let lot = api
        .call(
            Method::POST,
            "/items",
            Some(seller),
            Some(item("auction")),
            c,
        )
        .await;
    assert_eq!(lot.status, StatusCode::CREATED, "{}", lot.body);
    let item_id = lot.body["id"].as_str().expect("id");
    let body = json!({"itemId": item_id, "startingPrice": starting_price, "minIncrement": 10, "durationSeconds": seconds});
    let created = api
        .call(Method::POST, "/auctions", Some(seller), Some(body), c)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    (
        created.body["id"].as_str().expect("id").to_owned(),
        created.body,
    )
}

/// Eight hex digits of a run of its own (users named after it are new).
pub(crate) fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// A point of its own per run (no other test's users live there), as (lat, lon).
pub(crate) fn somewhere() -> (f64, f64) {
    let n = uuid::Uuid::new_v4().as_u128();
    let lat = -50.0 + (n % 10_000) as f64 / 100.0;
    let lon = -170.0 + ((n >> 20) % 34_000) as f64 / 100.0;
    (lat, lon)
}

/// Makes `names` users living at (lat, lon) (each with a device and a verified address); their subs.
pub(crate) async fn neighbours(
    api: &Api,
    names: &[String],
    at: (f64, f64),
    c: &str,
) -> Vec<String> {
    use futures::StreamExt;
    futures::stream::iter(names.iter().enumerate())
        .map(|(i, name)| async move {
            // Within ~100 m of the point: the same home cell or a neighbour of it.
            let offset = (i % 10) as f64 * 0.0001;
            let home = json!({ "home": { "lat": at.0 + offset, "lon": at.1 } });
            let put = api
                .call(Method::PUT, "/users/me", Some(name), Some(home), c)
                .await;
            assert_eq!(put.status, StatusCode::OK, "{}", put.body);
            api.user(name).await.0
        })
        .buffer_unordered(12)
        .collect()
        .await
}

/// A free item at (lat, lon).
pub(crate) fn item_at(at: (f64, f64)) -> Value {
    json!({
        "title": "Oak table", "description": "Solid oak, seats six", "category": "furniture",
        "location": { "lat": at.0, "lon": at.1 }, "mode": "free"
    })
}
