//! Outages survived with nothing lost and nothing done twice: for each dependency a worker calls, the
//! dependency throttles and then answers server errors (`e2e::faults::Outage`: the first receive's requests
//! throttled, then 5xx until the outage's length has passed since its first refusal), for longer than several
//! backoff steps, while the flow that needs it runs; after it recovers, every effect of the flow happened exactly once
//! (item states, notices, thumbnails, closes, stats) and no message of it is in any DLQ. The bus (`PutEvents`)
//! is the backbone suite's (`the_bus_down_within_the_streams_budget_…`); the API's answers while the table
//! throttles are the API suite's.
//!
//! Each outage is scoped to the test's own requests (`match`: its correlation id, item, auction, or for
//! Rekognition its photo's thumbnail bytes), so the suites beside it run on a healthy stack. Its length is `ECOBID_OUTAGE_SECONDS` (default 20 s: more than the
//! first three backoff steps of the local policy, 2 + 4 + 8 s, within its 30 s budget); each test prints it
//! beside the budget of the queue it tests.

use std::time::Duration;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use domain::queue::EventQueue;
use e2e::budget::{human, queue_policy};
use e2e::faults::{dependency, Dependency, Faults, Outage};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::api::{
    auction_of, correlation, event, events_of, item_at, neighbours, profile, run_id, somewhere, Api,
};
use crate::support::notices::{notices, once_each, Notice, Notices};
use crate::support::photos::{settled_within, upload};

/// How long each outage lasts.
fn period() -> Duration {
    let seconds = std::env::var("ECOBID_OUTAGE_SECONDS")
        .ok()
        .map(|v| {
            v.parse::<u64>()
                .unwrap_or_else(|_| panic!("ECOBID_OUTAGE_SECONDS={v:?} is not a whole number"))
        })
        .unwrap_or(20);
    Duration::from_secs(seconds)
}

/// How long a test waits for an effect: the outage, the retry after it (at most one more backoff step of the
/// outage's length), and the flow's own minute.
fn patience() -> Duration {
    period() * 2 + Duration::from_secs(90)
}

/// Waits for the notices of `event_type` to `recipients`, push and email, within [`patience`].
async fn told(notices: &Notices, c: &str, event_type: &str, recipients: &[&str]) -> Vec<Notice> {
    notices
        .wait_on_both_within(c, event_type, recipients, patience())
        .await
}

/// Prints the outage beside the retry budget of `queue` as the workspace applied it, and checks the outage is
/// one: longer than the first three backoff steps (a blip the first retry outlives proves nothing).
fn against(api: &Api, outage: &Outage, queue: EventQueue) {
    let policy = queue_policy(&api.outputs["queues"], queue).expect("the applied queue policy");
    let steps: Duration = (1..=3).map(|n| policy.backoff_step(n)).sum();
    eprintln!(
        "{} down {} (throttling, then server errors) against the {queue} queue's retry budget of {} \
         ({} receives, backoff {} s doubling){}",
        outage.dependency.service,
        human(outage.period),
        human(policy.retry_budget()),
        policy.max_receive_count(),
        policy.backoff_base().as_secs(),
        if policy.retry_budget() < outage.period {
            ": SHORTER than the outage, its messages will be dead-lettered"
        } else {
            ""
        }
    );
    assert!(
        outage.period > steps,
        "an outage of {} is shorter than the first three backoff steps ({})",
        human(outage.period),
        human(steps)
    );
}

/// After the outage: it was felt in both its phases, and no message naming any of `about` (the flow's
/// correlation id, its item) is in any DLQ of the workspace (the event queues', the bus's, the outbox's).
/// Letters are read without hiding them (visibility 0).
async fn felt_and_nothing_dead_lettered(api: &Api, outage: &Outage, about: &[&str]) {
    let (throttled, failed) = outage.felt().await;
    eprintln!(
        "{}: {throttled} requests throttled, {failed} failed, then recovered",
        outage.dependency.service
    );
    assert!(
        throttled > 0 && failed > 0,
        "the outage was felt in both phases: {throttled} throttled, {failed} failed"
    );
    let sqs = aws_sdk_sqs::Client::new(&api.emulator.aws);
    let mut dlqs: Vec<String> = api.outputs["queues"]
        .as_object()
        .expect("queues")
        .values()
        .filter_map(|q| q["dlq_url"].as_str().map(str::to_owned))
        .collect();
    for name in ["events_dlq_url", "outbox_dlq_url"] {
        dlqs.push(api.outputs[name].as_str().expect(name).to_owned());
    }
    for url in dlqs {
        // A few reads: SQS answers from a sample of its hosts.
        for _ in 0..3 {
            let got = sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .expect("receive from a DLQ");
            for m in got.messages() {
                let body = m.body().unwrap_or_default();
                assert!(
                    !about.iter().any(|a| body.contains(a)),
                    "a letter about {about:?} in {url}: {body}"
                );
            }
        }
    }
}

// ---- SNS and SES: flow 1's notices -------------------------------------------------------------------------

/// Flow 1 while `operations` of `dependency` are down for the test's notices: the neighbour hears of the new
/// item once on each channel after the dependency recovers.
async fn flow_1_through(dependency: Dependency, operations: &[&str]) {
    let api = &Api::on_b().await;
    let notices = notices(api).await;
    let faults = Faults::new(&api.emulator.endpoint);
    let c = correlation();
    let run = run_id();
    // GIVEN a neighbour at a point of the test's own, and a seller
    let at = somewhere();
    let names = [format!("outage-{}-nb-{run}", dependency.service)];
    let neighbour = neighbours(api, &names, at, &c).await.remove(0);
    let seller = format!("outage-{}-seller-{run}", dependency.service);
    api.user(&seller).await;
    // AND the dependency down for this flow's notices
    let outage = faults.outage(dependency, operations, &c, period()).await;
    against(api, &outage, EventQueue::Notifications);
    // WHEN the seller posts an item there
    let posted = api
        .call(Method::POST, "/items", Some(&seller), Some(item_at(at)), &c)
        .await;
    assert_eq!(posted.status, StatusCode::CREATED, "{}", posted.body);
    // THEN once it recovers the neighbour has heard of it on both channels, once each
    let seen = told(&notices, &c, "ItemCreated", &[&neighbour]).await;
    outage.over().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = notices.of(&c).await;
    once_each(&all);
    assert_eq!(
        all.len(),
        2,
        "one push and one email: {all:?} (first seen {seen:?})"
    );
    felt_and_nothing_dead_lettered(api, &outage, &[&c]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_down_for_a_while_every_neighbour_is_pushed_once_after_it_recovers() {
    flow_1_through(dependency::SNS, &["Publish"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ses_down_for_a_while_every_neighbour_is_mailed_once_after_it_recovers() {
    flow_1_through(dependency::SES, &["SendEmail"]).await;
}

// ---- Scheduler: flow 2's expiry ----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_down_while_a_reservation_is_made_it_still_expires_once() {
    let api = &Api::on_b().await;
    let notices = notices(api).await;
    let faults = Faults::new(&api.emulator.endpoint);
    let tap = api.tap().await;
    let c = correlation();
    let run = run_id();
    let (seller_name, buyer_name) = (
        format!("outage-sched-s-{run}"),
        format!("outage-sched-b-{run}"),
    );
    let (seller, buyer) = (
        api.user(&seller_name).await.0,
        api.user(&buyer_name).await.0,
    );
    let id = api.free_item(&seller_name, &c).await;
    // GIVEN the Scheduler down for this flow's schedules (their input carries its correlation id)
    let outage = faults
        .outage(
            dependency::SCHEDULER,
            &[
                "CreateSchedule",
                "UpdateSchedule",
                "GetSchedule",
                "DeleteSchedule",
            ],
            &c,
            period(),
        )
        .await;
    against(api, &outage, EventQueue::Expiries);
    // WHEN the buyer reserves it (the expiries worker arms the expiry, 45 s on) and nobody picks it up
    let r = api.reserve(&buyer_name, &id, &c).await;
    // THEN the expiry was armed once the Scheduler recovered: the reservation expires, both hear of it once
    let expired = told(&notices, &c, "ReservationExpired", &[&seller, &buyer]).await;
    once_each(&expired);
    events_of(
        api,
        &tap,
        &c,
        &["ItemCreated", "ReservationCreated", "ReservationExpired"],
    )
    .await;
    let got = api
        .call(
            Method::GET,
            &format!("/reservations/{r}"),
            Some(&buyer_name),
            None,
            &c,
        )
        .await;
    assert_eq!(got.body["status"], "expired", "{}", got.body);
    let item_now = api
        .call(Method::GET, &format!("/items/{id}"), None, None, &c)
        .await;
    assert_eq!(item_now.body["status"], "available", "{}", item_now.body);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let again = events_of(api, &tap, &c, &[]).await;
    assert!(again.is_empty(), "nothing more: {again:?}");
    felt_and_nothing_dead_lettered(api, &outage, &[&c]).await;
}

// ---- DynamoDB: flow 3's close ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_down_at_an_auctions_end_it_closes_once_and_stats_move_once() {
    let api = &Api::on_b().await;
    let notices = notices(api).await;
    let faults = Faults::new(&api.emulator.endpoint);
    let tap = api.tap().await;
    let c = correlation();
    let run = run_id();
    let names = [
        format!("outage-ddb-s-{run}"),
        format!("outage-ddb-a-{run}"),
        format!("outage-ddb-b-{run}"),
    ];
    let (seller, ann, bob) = (
        api.user(&names[0]).await.0,
        api.user(&names[1]).await.0,
        api.user(&names[2]).await.0,
    );
    let before = (
        profile(api, &names[0], &c).await,
        profile(api, &names[2], &c).await,
    );
    // GIVEN a one-minute auction with two bids
    let (auction, created) = auction_of(api, &names[0], 1000, 60, &c).await;
    for (who, amount) in [(&names[1], 1000), (&names[2], 1100)] {
        let bid = api
            .call(
                Method::POST,
                &format!("/auctions/{auction}/bids"),
                Some(who),
                Some(json!({"amount": amount})),
                &c,
            )
            .await;
        assert_eq!(bid.status, StatusCode::CREATED, "{}", bid.body);
    }
    told(&notices, &c, "BidPlaced", &[&ann]).await;
    // AND the table down for everything about the auction from a few seconds before its end
    let ends_at: chrono::DateTime<chrono::Utc> = created["endsAt"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("endsAt");
    let lead = (ends_at - chrono::Utc::now() - chrono::Duration::seconds(5))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(lead).await;
    let outage = faults
        .outage(
            dependency::DYNAMODB,
            &[
                "GetItem",
                "PutItem",
                "UpdateItem",
                "DeleteItem",
                "Query",
                "TransactWriteItems",
                "TransactGetItems",
                "BatchGetItem",
                "BatchWriteItem",
            ],
            &auction,
            period(),
        )
        .await;
    against(api, &outage, EventQueue::AuctionCloses);
    // THEN once it recovers the auction closes once: bob won, everyone is told once
    let ended = told(&notices, &c, "AuctionEnded", &[&bob, &seller, &ann]).await;
    once_each(&ended);
    let events = events_of(
        api,
        &tap,
        &c,
        &[
            "ItemCreated",
            "AuctionCreated",
            "BidPlaced",
            "BidPlaced",
            "AuctionEnded",
        ],
    )
    .await;
    let data = &event(&events, "AuctionEnded").to_json()["data"];
    assert_eq!(
        (&data["winnerId"], &data["amount"]),
        (&json!(bob), &json!(1100))
    );
    outage.over().await;
    let closed = api
        .call(Method::GET, &format!("/auctions/{auction}"), None, None, &c)
        .await;
    assert_eq!(closed.body["status"], "closed", "{}", closed.body);
    // AND the stats moved once: one more sale for the seller, one more win for bob
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stat = |p: &Value, k: &str| p["stats"][k].as_u64().unwrap_or(0);
    let (seller_now, bob_now) = (
        profile(api, &names[0], &c).await,
        profile(api, &names[2], &c).await,
    );
    assert_eq!(
        stat(&seller_now, "auctionsSold"),
        stat(&before.0, "auctionsSold") + 1
    );
    assert_eq!(
        stat(&bob_now, "auctionsWon"),
        stat(&before.1, "auctionsWon") + 1
    );
    let again = events_of(api, &tap, &c, &[]).await;
    assert!(again.is_empty(), "no second close: {again:?}");
    assert_eq!(
        notices
            .of(&c)
            .await
            .iter()
            .filter(|n| n.event_type == "AuctionEnded")
            .count(),
        6
    );
    felt_and_nothing_dead_lettered(api, &outage, &[&c]).await;
}

// ---- S3 and Rekognition: flow 4's photo --------------------------------------------------------------------

/// A photo of the test's own: a PNG whose pixels no other photo has.
fn unique_photo() -> Vec<u8> {
    let seed = uuid::Uuid::new_v4().into_bytes();
    // Smooth (a small JPEG: Rekognition's request body stays readable by the fault layer), offset at random.
    let offset = |i: usize| u32::from(seed[i]);
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([
            ((x / 3 + offset(0)) % 256) as u8,
            ((y / 2 + offset(1)) % 256) as u8,
            (((x + y) / 5 + offset(2)) % 256) as u8,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("PNG");
    out.into_inner()
}

/// What names a photo's requests to `dependency`: S3's name the item in their keys; Rekognition's carry only
/// the largest thumbnail's bytes (base64 in the JSON body), so a stretch of those, as the worker's own code
/// makes them.
fn photo_requests(dependency: Dependency, item_id: &str, photo: &[u8]) -> String {
    if dependency.service != dependency::REKOGNITION.service {
        return item_id.to_owned();
    }
    use base64::Engine;
    let made = images::thumbs::thumbnails(photo).expect("thumbnails of the photo");
    let encoded = base64::engine::general_purpose::STANDARD.encode(&made.thumbnails[0].jpeg);
    // From a 4-character boundary, so the stretch is what any base64 of the whole image holds there.
    let from = (encoded.len() / 2) & !3;
    eprintln!(
        "rekognition: the largest thumbnail is {} bytes ({} in base64)",
        made.thumbnails[0].jpeg.len(),
        encoded.len()
    );
    encoded[from..from + 64].to_owned()
}

/// Flow 4 while `operations` of `dependency` are down for the item's photos: the photo ends READY with its
/// three thumbnails, once.
async fn flow_4_through(dependency: Dependency, operations: &[&str]) {
    let api = &Api::on_b().await;
    let faults = Faults::new(&api.emulator.endpoint);
    let c = correlation();
    let seller = format!("outage-{}-{}", dependency.service, run_id());
    let id = api.free_item(&seller, &c).await;
    let photo = unique_photo();
    // GIVEN the dependency down for everything about this item's photo
    let matching = photo_requests(dependency, &id, &photo);
    let outage = faults
        .outage(dependency, operations, &matching, period())
        .await;
    against(api, &outage, EventQueue::Images);
    // WHEN the seller uploads a photo (the browser's form POST to the bucket: not an operation of the outage)
    let key = upload(api, &seller, &id, "image/png", photo, &c).await;
    // THEN once it recovers the photo is READY, with three thumbnails the CDN serves
    let photo = settled_within(api, &id, &key, &c, patience()).await;
    assert_eq!(photo["status"], "ready", "{photo}");
    outage.over().await;
    let http = reqwest::Client::new();
    for size in ["1024", "512", "128"] {
        let url = photo["urls"][size].as_str().expect("a thumbnail URL");
        let served = http.get(url).send().await.expect("the CDN answers");
        assert_eq!(served.status(), StatusCode::OK, "{url}");
    }
    // AND it is the item's one photo, still READY a moment later (no second run changed it)
    tokio::time::sleep(Duration::from_secs(3)).await;
    let item = api
        .call(Method::GET, &format!("/items/{id}"), None, None, &c)
        .await;
    let photos = item.body["photos"].as_object().expect("photos");
    assert_eq!(photos.len(), 1, "{}", item.body);
    assert_eq!(
        photos.values().next().map(|p| &p["status"]),
        Some(&json!("ready"))
    );
    felt_and_nothing_dead_lettered(api, &outage, &[&c, &id]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_down_for_a_while_a_photo_still_ends_ready_once() {
    flow_4_through(
        dependency::S3,
        &[
            "GetObject",
            "HeadObject",
            "PutObject",
            "CopyObject",
            "DeleteObject",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekognition_down_for_a_while_a_photo_still_ends_ready_once() {
    flow_4_through(
        dependency::REKOGNITION,
        &["DetectModerationLabels", "DetectLabels"],
    )
    .await;
}
