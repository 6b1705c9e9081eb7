//! The notifications worker's handler through the worker runtime, with fakes: recipients worked out, each
//! told once per target (every device, the verified address) whatever fails transiently on the way, opt-outs
//! honoured, dead endpoints forgotten, big audiences fanned out in chunks, NotificationSent recorded once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use domain::event::{CorrelationId, DomainEvent, Envelope, ItemCreated, ReservationCreated};
use domain::event::{ItemMode, Location, ReservationRef};
use domain::geo::Point;
use domain::notify::{Directory, Recipient};
use domain::profile::{Device, Platform, PreferencesUpdate, ProfileUpdate};
use domain::service::{Ctx, Service, Settings};
use domain::store::memory::MemoryStore;
use domain::store::StoreError;
use infra::fakes::{
    failed_ids, policy, sqs_event, FakeClaims, FakeFanout, FakeQueue, FakeSender, FakeSink, Flaky,
    QueueCall,
};
use infra::runtime::Runtime;
use notifications::templates::Templates;
use notifications::{handle, Deps};

/// The directory of the memory store, whose lookups can be made to fail.
struct FlakyDirectory {
    store: Arc<MemoryStore>,
    flaky: Flaky,
}

#[async_trait]
impl Directory for FlakyDirectory {
    async fn users_near(&self, cells: &[String]) -> Result<Vec<String>, StoreError> {
        if self.flaky.trips("near") {
            return Err(StoreError::Throttled);
        }
        self.store.users_near(cells).await
    }
    async fn recipient(&self, user_id: &str) -> Result<Recipient, StoreError> {
        if self.flaky.trips("lookup") {
            return Err(StoreError::Throttled);
        }
        self.store.recipient(user_id).await
    }
    async fn forget_device(&self, user_id: &str, token_hash: &str) -> Result<(), StoreError> {
        self.store.forget_device(user_id, token_hash).await
    }
}

struct World {
    store: Arc<MemoryStore>,
    directory: Arc<FlakyDirectory>,
    sender: Arc<FakeSender>,
    claims: Arc<FakeClaims>,
    fanout: Arc<FakeFanout>,
    sink: Arc<FakeSink>,
    deps: Deps,
    runtime: Runtime<FakeQueue>,
    service: Service,
}

fn world_with_chunk(chunk: usize) -> World {
    let store = Arc::new(MemoryStore::new());
    let directory = Arc::new(FlakyDirectory {
        store: store.clone(),
        flaky: Flaky::default(),
    });
    let sender = Arc::new(FakeSender::default());
    let claims = Arc::new(FakeClaims::new(Duration::from_secs(60)));
    let fanout = Arc::new(FakeFanout::default());
    let sink = Arc::new(FakeSink::default());
    World {
        deps: Deps {
            directory: directory.clone(),
            sender: sender.clone(),
            claims: claims.clone(),
            fanout: fanout.clone(),
            events: sink.clone(),
            templates: Arc::new(Templates::new().expect("templates")),
            chunk,
        },
        service: Service::new(store.clone(), Settings::default()),
        store,
        directory,
        sender,
        claims,
        fanout,
        sink,
        runtime: Runtime::new(FakeQueue::default(), policy()),
    }
}

fn world() -> World {
    world_with_chunk(notifications::CHUNK)
}

fn ctx(caller: &str) -> Ctx {
    Ctx {
        caller: caller.into(),
        correlation: CorrelationId::random(),
        now: Utc::now(),
    }
}

/// A user living at the Eiffel tower with a verified address and one device per endpoint given.
async fn user(w: &World, name: &str, endpoints: &[&str]) {
    w.service
        .update_profile(
            &ctx(name),
            &ProfileUpdate {
                display_name: None,
                home: Some(Point {
                    lat: 48.8584,
                    lon: 2.2945,
                }),
                notifications: PreferencesUpdate::default(),
            },
        )
        .await
        .expect("profile");
    w.service
        .profile_with_email(&ctx(name), Some(&format!("{name}@example.com")))
        .await
        .expect("email");
    for (i, endpoint) in endpoints.iter().enumerate() {
        let device = Device {
            platform: Platform::Ios,
            token_hash: format!("{name}-t{i}"),
            endpoint_arn: Some((*endpoint).to_owned()),
            registered_at: Utc::now(),
        };
        w.service
            .register_device(&ctx(name), device, None)
            .await
            .expect("device");
    }
}

async fn opt(w: &World, name: &str, update: PreferencesUpdate) {
    w.service
        .update_profile(
            &ctx(name),
            &ProfileUpdate {
                display_name: None,
                home: None,
                notifications: update,
            },
        )
        .await
        .expect("preferences");
}

async fn process_body(w: &World, body: &str) -> Vec<String> {
    let response = w
        .runtime
        .process(sqs_event(&[("m1", body)], None), |m| handle(&w.deps, m))
        .await;
    failed_ids(&response)
}

async fn process(w: &World, envelope: &Envelope) -> Vec<String> {
    process_body(w, &envelope.to_json_string()).await
}

fn new_item(seller: &str) -> Envelope {
    Envelope::new(
        ItemCreated {
            item_id: "i1".into(),
            seller_id: seller.into(),
            title: "Oak table".into(),
            category: "furniture".into(),
            mode: ItemMode::Free,
            location: Location {
                lat: 48.8584,
                lon: 2.2945,
                geohash: "u09tun".into(),
            },
            expires_at: Utc::now(),
        }
        .into(),
        CorrelationId::random(),
        Utc::now(),
    )
}

fn reserved(buyer: &str, seller: &str) -> Envelope {
    Envelope::new(
        ReservationCreated {
            reservation: ReservationRef {
                reservation_id: "r".into(),
                item_id: "i".into(),
                buyer_id: buyer.into(),
                seller_id: seller.into(),
            },
            expires_at: Utc::now(),
        }
        .into(),
        CorrelationId::random(),
        Utc::now(),
    )
}

/// Every send, sorted: (recipient, channel, address).
fn sends(w: &World) -> Vec<(String, String, String)> {
    let mut sent = w.sender.sent();
    sent.sort();
    sent
}

fn s(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.to_owned(), b.to_owned(), c.to_owned())
}

fn recorded(w: &World) -> Vec<(String, String)> {
    let mut sent: Vec<(String, String)> = w
        .sink
        .events()
        .into_iter()
        .filter_map(|e| match e.event {
            DomainEvent::NotificationSent(n) => Some((n.recipient_id, n.channel)),
            _ => None,
        })
        .collect();
    sent.sort();
    sent.dedup();
    sent
}

#[tokio::test]
async fn a_new_item_reaches_each_neighbour_on_every_device_and_by_email_once_but_not_its_seller() {
    let w = world();
    user(&w, "ann", &["arn:ann-phone", "arn:ann-tablet"]).await;
    user(&w, "seller", &["arn:seller-phone"]).await;
    let event = new_item("seller");
    assert!(process(&w, &event).await.is_empty());
    let expected = vec![
        s("ann", "email", "ann@example.com"),
        s("ann", "push", "arn:ann-phone"),
        s("ann", "push", "arn:ann-tablet"),
    ];
    assert_eq!(sends(&w), expected);
    assert_eq!(
        recorded(&w),
        [
            ("ann".to_owned(), "email".to_owned()),
            ("ann".to_owned(), "push".to_owned())
        ]
    );
    // A second delivery of the event sends nothing again (every target is done).
    assert!(process(&w, &event).await.is_empty());
    assert_eq!(sends(&w), expected);
    assert!(w.runtime.queue().dead_letters().is_empty());
}

#[tokio::test]
async fn a_transient_failure_at_any_step_loses_no_recipient_and_duplicates_none_on_the_retry() {
    for step in [
        "claim",
        "lookup",
        "push",
        "email",
        "done",
        "release-after-push",
    ] {
        let w = world();
        user(&w, "sam", &["arn:sam-phone"]).await;
        user(&w, "bob", &["arn:bob-phone"]).await;
        let event = reserved("bob", "sam");
        match step {
            "lookup" => w.directory.flaky.fail("lookup", 1),
            "claim" => w.claims.flaky.fail("claim", 1),
            // Marking fails more often than the in-process retries: the claim is left to run out.
            "done" => w.claims.flaky.fail("done", 6),
            "release-after-push" => {
                w.sender.flaky.fail("push", 1);
                w.claims.flaky.fail("release", 1);
            }
            other => w.sender.flaky.fail(other, 1),
        }
        let failed = process(&w, &event).await;
        assert_eq!(failed, ["m1"], "{step}: the message comes back");
        // The retry, after any claim left behind has run out.
        w.claims.advance(Duration::from_secs(61));
        let again = process(&w, &event).await;
        assert!(again.is_empty(), "{step}: the retry delivers");
        let expected = vec![
            s("sam", "email", "sam@example.com"),
            s("sam", "push", "arn:sam-phone"),
        ];
        let sent = sends(&w);
        if step == "done" {
            // Sent, then every mark refused: the one case a notice goes out twice (as if the process died
            // between the send and the mark).
            let mut twice = expected.clone();
            twice.push(s("sam", "push", "arn:sam-phone"));
            assert_eq!(sent, twice, "{step}");
        } else {
            assert_eq!(sent, expected, "{step}: once each");
        }
        assert_eq!(recorded(&w).len(), 2, "{step}");
        assert!(w.runtime.queue().dead_letters().is_empty(), "{step}");
    }
}

#[tokio::test]
async fn a_mark_that_fails_once_is_retried_in_process_and_nothing_goes_twice() {
    let w = world();
    user(&w, "sam", &["arn:sam-phone"]).await;
    w.claims.flaky.fail("done", 2);
    assert!(process(&w, &reserved("bob", "sam")).await.is_empty());
    assert_eq!(sends(&w).len(), 2);
}

#[tokio::test]
async fn a_claim_held_by_an_attempt_that_died_is_waited_for_then_sent_once() {
    let w = world();
    user(&w, "sam", &["arn:sam-phone"]).await;
    let event = reserved("bob", "sam");
    // An earlier attempt claimed the push and died before sending.
    use infra::notify::Claims;
    w.claims
        .claim(&event.id.to_string(), "sam", "push/sam-t0", Utc::now())
        .await
        .expect("claimed");
    assert_eq!(process(&w, &event).await, ["m1"]);
    // The email went; the push waits for the lease: the backoff is at least what is left of it.
    assert_eq!(sends(&w), [s("sam", "email", "sam@example.com")]);
    let backoff = w
        .runtime
        .queue()
        .calls()
        .into_iter()
        .find_map(|c| match c {
            QueueCall::Backoff { seconds, .. } => Some(seconds),
            _ => None,
        })
        .expect("a backoff");
    assert!(
        backoff >= 59,
        "backoff {backoff}s is shorter than the lease left"
    );
    w.claims.advance(Duration::from_secs(61));
    assert!(process(&w, &event).await.is_empty());
    assert_eq!(
        sends(&w),
        [
            s("sam", "email", "sam@example.com"),
            s("sam", "push", "arn:sam-phone")
        ]
    );
}

#[tokio::test]
async fn a_disabled_endpoint_is_forgotten_and_the_other_device_is_pushed_once() {
    let w = world();
    user(&w, "sam", &["arn:good", "arn:disabled"]).await;
    w.sender.disable("arn:disabled");
    let event = reserved("bob", "sam");
    assert!(process(&w, &event).await.is_empty());
    assert!(process(&w, &event).await.is_empty());
    assert_eq!(
        sends(&w),
        [
            s("sam", "email", "sam@example.com"),
            s("sam", "push", "arn:good")
        ]
    );
    let devices = w.store.devices("sam");
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].endpoint_arn.as_deref(), Some("arn:good"));
    assert!(w.runtime.queue().dead_letters().is_empty());
}

#[tokio::test]
async fn opted_out_channels_and_kinds_get_nothing() {
    let w = world();
    user(&w, "nopush", &["arn:nopush"]).await;
    user(&w, "nomail", &["arn:nomail"]).await;
    user(&w, "notnear", &["arn:notnear"]).await;
    opt(
        &w,
        "nopush",
        PreferencesUpdate {
            push: Some(false),
            ..Default::default()
        },
    )
    .await;
    opt(
        &w,
        "nomail",
        PreferencesUpdate {
            email: Some(false),
            ..Default::default()
        },
    )
    .await;
    opt(
        &w,
        "notnear",
        PreferencesUpdate {
            items_near_me: Some(false),
            ..Default::default()
        },
    )
    .await;
    assert!(process(&w, &new_item("seller")).await.is_empty());
    assert_eq!(
        sends(&w),
        [
            s("nomail", "push", "arn:nomail"),
            s("nopush", "email", "nopush@example.com")
        ]
    );
    // "Items near me" off still hears about their own deals.
    assert!(process(&w, &reserved("bob", "notnear")).await.is_empty());
    assert!(sends(&w).contains(&s("notnear", "push", "arn:notnear")));
}

#[tokio::test]
async fn a_big_audience_is_fanned_out_in_bounded_chunks_each_delivered_once() {
    let w = world_with_chunk(3);
    for i in 0..8 {
        user(&w, &format!("u{i}"), &[&format!("arn:u{i}")]).await;
    }
    let event = new_item("seller");
    // Enqueuing fails once: the retry enqueues every chunk again.
    w.fanout.flaky.fail("enqueue", 1);
    assert_eq!(process(&w, &event).await, ["m1"]);
    assert!(w.sender.sent().is_empty());
    assert!(process(&w, &event).await.is_empty());
    let chunks = w.fanout.take();
    assert_eq!(chunks.len(), 3, "8 recipients in chunks of at most 3");
    assert!(
        w.sender.sent().is_empty(),
        "the event's own message sends nothing"
    );
    // Each chunk delivered twice (a duplicate): every recipient told once per target.
    for body in chunks.iter().chain(chunks.iter()) {
        assert!(process_body(&w, body).await.is_empty());
    }
    let sent = sends(&w);
    assert_eq!(sent.len(), 16, "{sent:?}");
    assert_eq!(recorded(&w).len(), 16);
}

#[tokio::test]
async fn an_unreadable_event_is_dead_lettered_as_invalid() {
    let w = world();
    let response = w
        .runtime
        .process(sqs_event(&[("bad", r#"{"version":"9"}"#)], None), |m| {
            handle(&w.deps, m)
        })
        .await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!(
        w.runtime.queue().dead_letters(),
        [("bad".to_owned(), "invalid_message".to_owned())]
    );
}
