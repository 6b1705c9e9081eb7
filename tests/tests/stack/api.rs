//! The REST API on the local stack, the way the mobile app uses it: real HTTP through the local runner's API
//! Gateway, real Cognito tokens from the emulator's user pool, the real API Lambda (release zip) on the table,
//! and the events its writes emit seen on the workspace's bus (a rule of the test's own → a queue of its own).
//! Runs in workspace B: the backbone suite plays workspace A's stream publisher.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_eventbridge::types::Target;
use domain::event::Envelope;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::TestStack;
use crate::probe::{eventually, queue_arn, unique, Emulator};

const PASSWORD: &str = "Local-Passw0rd!";

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
    _runners: Vec<runner::Runner>,
}

/// The runner playing all of workspace B's functions, mappings and schedules (one runner: two stream pollers would
/// publish every event twice), for the suite's one test and its runtime.
async fn api() -> Api {
    {
        let stack = TestStack::from_env();
        let ws = stack.workspace_b.clone();
        let outputs = stack.outputs(&ws);
        let mut emulator = Emulator::from_env().await;
        emulator.workspace = ws.clone();
        let root = e2e::repo_root();
        let code = vec![root.join("dist/lambda")];
        // The whole workspace: API, stream publisher, the four workers and the schedules.
        let api_runner = emulator.runner(&format!("ecobid-{ws}-"), code).await;
        let api_id = outputs["api_id"].as_str().expect("api_id");
        let addr = api_runner
            .api_addrs
            .get(api_id)
            .expect("the runner serves the API");
        Api {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            tokens: Default::default(),
            pool: outputs["user_pool_id"].as_str().expect("pool").to_owned(),
            client_id: outputs["user_pool_client_id"]
                .as_str()
                .expect("client")
                .to_owned(),
            bus: outputs["event_bus_name"].as_str().expect("bus").to_owned(),
            outputs: outputs.clone(),
            emulator,
            _runners: vec![api_runner],
        }
    }
}

/// The flows run side by side on one API (and one runtime, which the runners' tasks live on).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_rest_api_through_real_http_with_real_tokens() {
    let api = api().await;
    tokio::join!(
        flow_1_posting_an_item_emits_item_created_and_it_can_be_browsed(&api),
        flow_2_reserve_confirm_complete_rate_emits_each_event(&api),
        flow_3_an_auction_under_100_concurrent_bids_keeps_the_highest_accepted_bid(&api),
        crate::workers::flow_4_photos_end_ready_or_rejected_with_their_reason(&api),
        crate::workers::flow_1_a_new_item_notifies_the_neighbours_but_not_its_seller(&api),
        crate::workers::flow_2_an_unfinished_reservation_expires_and_both_parties_hear_of_it(&api),
        crate::workers::flow_3_the_auction_closes_once_and_every_party_is_told(&api),
    );
    crate::workers::a_poisoned_photo_completes_after_the_fix_and_a_redrive(&api).await;
    crate::workers::every_dlq_is_empty(&api).await;
    crate::observability::every_function_emitted_its_metrics_and_aws_requests(&api).await;
}

pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl Answer {
    fn problem(&self) -> &str {
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

    /// (sub, ID token) of a user of the workspace's pool, made on first use.
    pub(crate) async fn user(&self, name: &str) -> (String, String) {
        let mut tokens = self.tokens.lock().await;
        if let Some(t) = tokens.get(name) {
            return t.clone();
        }
        let email = format!("{name}@example.com");
        let (id_token, _) = runner::token::token(
            &self.emulator.aws,
            &self.pool,
            &self.client_id,
            &email,
            PASSWORD,
            Some(&email),
        )
        .await
        .expect("token");
        let sub = claims(&id_token)["sub"].as_str().expect("sub").to_owned();
        tokens.insert(name.to_owned(), (sub.clone(), id_token.clone()));
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
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("x-correlation-id", correlation);
        if let Some(user) = user {
            request = request.bearer_auth(self.user(user).await.1);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("HTTP");
        let status = response.status();
        let text = response.text().await.expect("body");
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
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

async fn flow_1_posting_an_item_emits_item_created_and_it_can_be_browsed(api: &Api) {
    let tap = api.tap().await;
    let c = correlation();
    // No token: the authorizer refuses.
    let anonymous = api
        .call(Method::POST, "/items", None, Some(item("free")), &c)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let (alice, _) = api.user("alice").await;
    let posted = api
        .call(
            Method::POST,
            "/items",
            Some("alice"),
            Some(item("free")),
            &c,
        )
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    let id = posted.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        posted.body["sellerId"],
        alice.as_str(),
        "the seller is the token's sub"
    );
    let events = events_of(api, &tap, &c, &["ItemCreated"]).await;
    assert_eq!(events[0].to_json()["data"]["itemId"], id.as_str());
    // Browsing near the Eiffel tower (public) finds it through the location index; 1 km off in Paris it is
    // 2 km away: in a 5 km radius, not in a 1 km one.
    let near = api
        .call(
            Method::GET,
            "/items?near=48.8738,2.2950&radiusKm=5&limit=50",
            None,
            None,
            &c,
        )
        .await;
    assert_eq!(near.status, StatusCode::OK, "{}", near.body);
    let ids: Vec<&str> = near.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["id"].as_str())
        .collect();
    assert!(ids.contains(&id.as_str()), "{ids:?}");
    let far = api
        .call(
            Method::GET,
            "/items?near=48.8738,2.2950&radiusKm=1&limit=50",
            None,
            None,
            &c,
        )
        .await;
    assert!(!far.body.to_string().contains(&id));
    let got = api
        .call(Method::GET, &format!("/items/{id}"), None, None, &c)
        .await;
    assert_eq!(got.body["status"], "AVAILABLE");
}

async fn flow_2_reserve_confirm_complete_rate_emits_each_event(api: &Api) {
    let tap = api.tap().await;
    let c = correlation();
    let (seller, _) = api.user("sam").await;
    let (buyer, _) = api.user("bea").await;
    let (seller_before, buyer_before) =
        (profile(api, "sam", &c).await, profile(api, "bea", &c).await);
    let id = api.free_item("sam", &c).await;
    let rid = api.reserve("bea", &id, &c).await;
    // A second buyer finds it taken; a stranger may not look at the reservation.
    let taken = api
        .call(
            Method::POST,
            &format!("/items/{id}/reserve"),
            Some("carl"),
            None,
            &c,
        )
        .await;
    assert_eq!(
        (taken.status, taken.problem()),
        (StatusCode::CONFLICT, "item-not-available")
    );
    let peek = api
        .call(
            Method::GET,
            &format!("/reservations/{rid}"),
            Some("carl"),
            None,
            &c,
        )
        .await;
    assert_eq!(peek.status, StatusCode::FORBIDDEN);
    let confirmed = api
        .call(
            Method::POST,
            &format!("/reservations/{rid}/confirm"),
            Some("sam"),
            Some(json!({"pickupAt": "2026-12-01T17:00:00Z"})),
            &c,
        )
        .await;
    assert_eq!(confirmed.body["status"], "CONFIRMED", "{}", confirmed.body);
    let done = api
        .call(
            Method::POST,
            &format!("/reservations/{rid}/complete"),
            Some("bea"),
            None,
            &c,
        )
        .await;
    assert_eq!(done.body["status"], "COMPLETED", "{}", done.body);
    let rated = api
        .call(
            Method::POST,
            &format!("/users/{seller}/ratings"),
            Some("bea"),
            Some(json!({"about": rid, "stars": 5})),
            &c,
        )
        .await;
    assert_eq!(rated.status, StatusCode::CREATED, "{}", rated.body);
    let again = api
        .call(
            Method::POST,
            &format!("/users/{seller}/ratings"),
            Some("bea"),
            Some(json!({"about": rid, "stars": 1})),
            &c,
        )
        .await;
    assert_eq!(
        (again.status, again.problem()),
        (StatusCode::CONFLICT, "already-rated")
    );
    let events = events_of(
        api,
        &tap,
        &c,
        &[
            "ItemCreated",
            "ReservationCreated",
            "ReservationConfirmed",
            "ReservationCompleted",
            "UserRated",
        ],
    )
    .await;
    let created = event(&events, "ReservationCreated");
    assert_eq!(created.to_json()["data"]["buyerId"], buyer.as_str());
    // The item was picked up; both users' stats moved exactly once, the seller got exactly one rating.
    let got = api
        .call(Method::GET, &format!("/items/{id}"), None, None, &c)
        .await;
    assert_eq!(got.body["status"], "PICKED_UP");
    let (seller_after, buyer_after) =
        (profile(api, "sam", &c).await, profile(api, "bea", &c).await);
    assert_eq!(
        seller_after["stats"]["itemsGiven"].as_u64(),
        seller_before["stats"]["itemsGiven"].as_u64().map(|n| n + 1),
        "{seller_after}"
    );
    assert_eq!(
        seller_after["ratingCount"].as_u64(),
        seller_before["ratingCount"].as_u64().map(|n| n + 1),
        "{seller_after}"
    );
    assert_eq!(
        buyer_after["stats"]["itemsReceived"].as_u64(),
        buyer_before["stats"]["itemsReceived"]
            .as_u64()
            .map(|n| n + 1),
        "{buyer_after}"
    );
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

async fn flow_3_an_auction_under_100_concurrent_bids_keeps_the_highest_accepted_bid(api: &Api) {
    let tap = api.tap().await;
    let c = correlation();
    let (auction, _) = auction_of(api, "olga", 1000, 3600, &c).await;
    let bidders: Vec<String> = (0..10).map(|i| format!("bidder{i}")).collect();
    for b in &bidders {
        api.user(b).await;
    }
    // WHEN 100 bids from 10 users arrive at once (amounts spread so that many are outbid on arrival)
    // (futures joined on this task: all 100 requests are in flight at once)
    let path = format!("/auctions/{auction}/bids");
    let bids = (0..100usize).map(|i| {
        let (user, path, c) = (bidders[i % 10].clone(), &path, &c);
        let amount = 1000 + ((i * 7919) % 100) as i64 * 15;
        async move {
            let answer = api
                .call(
                    Method::POST,
                    path,
                    Some(&user),
                    Some(json!({"amount": amount})),
                    c,
                )
                .await;
            (user, amount, answer)
        }
    });
    let mut accepted = vec![];
    let mut refusals: HashMap<String, usize> = HashMap::new();
    for (user, amount, answer) in futures::future::join_all(bids).await {
        match answer.status {
            StatusCode::CREATED => accepted.push((amount, user)),
            StatusCode::CONFLICT => {
                // THEN every refusal is a 409 that says why
                assert!(
                    ["bid-too-low", "contention"].contains(&answer.problem()),
                    "{}",
                    answer.body
                );
                assert!(answer.body["detail"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()));
                *refusals.entry(answer.problem().to_owned()).or_default() += 1;
            }
            other => panic!("bid answered {other}: {}", answer.body),
        }
    }
    // AND the stored leader and amount are the highest accepted bid, the count the accepted bids
    let (top, leader) = accepted.iter().max().cloned().expect("some bids accepted");
    let stored = api
        .call(Method::GET, &format!("/auctions/{auction}"), None, None, &c)
        .await;
    let (leader_sub, _) = api.user(&leader).await;
    assert_eq!(stored.body["currentBid"], top, "{}", stored.body);
    assert_eq!(stored.body["leaderId"], leader_sub.as_str());
    assert_eq!(stored.body["bidCount"], accepted.len(), "{}", stored.body);
    let bids = api
        .call(
            Method::GET,
            &format!("/auctions/{auction}/bids?limit=50"),
            None,
            None,
            &c,
        )
        .await;
    assert_eq!(bids.body["items"][0]["amount"], top);
    eprintln!(
        "100 concurrent bids: {} accepted (top {top}), refused {refusals:?}",
        accepted.len()
    );
    // AND one BidPlaced per accepted bid reached the bus, after AuctionCreated
    let mut want = vec!["ItemCreated", "AuctionCreated"];
    want.extend(std::iter::repeat_n("BidPlaced", accepted.len()));
    events_of(api, &tap, &c, &want).await;

    // A late bid (inside the anti-sniping window: the local stack's is the last 20 s, local.tfvars) of a
    // one-minute auction (the local stack's shortest) extends it.
    let c = correlation();
    let (quick_id, quick) = auction_of(api, "olga", 500, 60, &c).await;
    let ends = |v: &Value| {
        chrono::DateTime::parse_from_rfc3339(v["endsAt"].as_str().expect("endsAt")).expect("a time")
    };
    let late_at = ends(&quick) - chrono::Duration::seconds(10);
    if let Ok(wait) = (late_at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
    let late = api
        .call(
            Method::POST,
            &format!("/auctions/{quick_id}/bids"),
            Some("bidder0"),
            Some(json!({"amount": 500})),
            &c,
        )
        .await;
    assert_eq!(late.status, StatusCode::CREATED, "{}", late.body);
    let after = api
        .call(
            Method::GET,
            &format!("/auctions/{quick_id}"),
            None,
            None,
            &c,
        )
        .await;
    assert_eq!(after.body["extensions"], 1, "{}", after.body);
    assert!(
        ends(&after.body) > ends(&quick),
        "endsAt moved: {} -> {}",
        quick,
        after.body
    );
    events_of(
        api,
        &tap,
        &c,
        &[
            "ItemCreated",
            "AuctionCreated",
            "BidPlaced",
            "AuctionExtended",
        ],
    )
    .await;
}
