//! The images worker's handler through the worker runtime, with fakes: an upload becomes a READY photo with
//! three thumbnails stored, a flagged one REJECTED with the reason, a dependency's transient failure a retry,
//! and a key that is no upload of ours a dead letter.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;
use domain::event::CorrelationId;
use domain::geo::Point;
use domain::item::{Category, ItemMode, NewItem, PhotoStatus};
use domain::service::{Ctx, Service, Settings};
use domain::store::memory::MemoryStore;
use domain::store::Store;
use images::{handle, Deps, Object, Objects, Vision};
use infra::error::ProcessError;
use infra::fakes::{failed_ids, policy, sqs_event, FakeQueue};
use infra::runtime::Runtime;

/// Uploads by key; thumbnails written by key.
#[derive(Default)]
struct FakeObjects {
    uploads: Mutex<HashMap<String, Vec<u8>>>,
    thumbnails: Mutex<HashMap<String, Vec<u8>>>,
}

#[async_trait]
impl Objects for FakeObjects {
    async fn get(&self, _: &str, key: &str, _: u64) -> Result<Option<Object>, ProcessError> {
        Ok(self
            .uploads
            .lock()
            .expect("lock")
            .get(key)
            .map(|bytes| Object {
                bytes: bytes.clone(),
                correlation_id: None,
            }))
    }

    async fn put_thumbnail(&self, key: &str, jpeg: Vec<u8>) -> Result<(), ProcessError> {
        self.thumbnails
            .lock()
            .expect("lock")
            .insert(key.into(), jpeg);
        Ok(())
    }
}

/// Moderation flags what `flagged` names; `down` makes every call fail transiently.
#[derive(Default)]
struct FakeVision {
    flagged: Mutex<Vec<String>>,
    down: Mutex<bool>,
}

#[async_trait]
impl Vision for FakeVision {
    async fn labels(&self, _: &str, _: &str) -> Result<Vec<String>, ProcessError> {
        Ok(vec!["Table".into()])
    }

    async fn unsafe_content(&self, _: &str, key: &str) -> Result<Vec<String>, ProcessError> {
        if *self.down.lock().expect("lock") {
            return Err(ProcessError::Transient("Rekognition is throttling".into()));
        }
        let flagged = self.flagged.lock().expect("lock");
        Ok(if flagged.iter().any(|k| k == key) {
            vec!["Violence".into()]
        } else {
            vec![]
        })
    }
}

struct World {
    store: Arc<MemoryStore>,
    objects: Arc<FakeObjects>,
    vision: Arc<FakeVision>,
    deps: Deps,
    runtime: Runtime<FakeQueue>,
}

fn world() -> World {
    let store = Arc::new(MemoryStore::new());
    let objects = Arc::new(FakeObjects::default());
    let vision = Arc::new(FakeVision::default());
    World {
        deps: Deps {
            service: Service::new(store.clone(), Settings::default()),
            objects: objects.clone(),
            vision: vision.clone(),
            uploads_prefix: "uploads/".into(),
        },
        store,
        objects,
        vision,
        runtime: Runtime::new(FakeQueue::default(), policy()),
    }
}

fn ctx(caller: &str) -> Ctx {
    Ctx {
        caller: caller.into(),
        correlation: CorrelationId::random(),
        now: Utc::now(),
    }
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut out = Cursor::new(vec![]);
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

/// An item of "seller" with a PENDING photo uploaded as `bytes`: (item id, photo id, upload key).
async fn uploaded(w: &World, bytes: Vec<u8>) -> (String, String, String) {
    let seller = ctx("seller");
    let item = w
        .deps
        .service
        .create_item(
            &seller,
            NewItem {
                title: "Oak table".into(),
                description: String::new(),
                category: Category::Furniture,
                location: Point {
                    lat: 48.85,
                    lon: 2.35,
                },
                mode: ItemMode::Free,
            },
        )
        .await
        .expect("item");
    let photo = w
        .deps
        .service
        .add_photo(&seller, &item.id)
        .await
        .expect("photo");
    w.objects
        .uploads
        .lock()
        .expect("lock")
        .insert(photo.key.clone(), bytes);
    (item.id, photo.id, photo.key)
}

fn s3_event(key: &str) -> String {
    serde_json::json!({"Records": [{"s3": {"bucket": {"name": "uploads-bucket"}, "object": {"key": key}}}]})
        .to_string()
}

async fn process(w: &World, messages: &[(&str, &str)]) -> Vec<String> {
    let response = w
        .runtime
        .process(sqs_event(messages, None), |m| handle(&w.deps, m))
        .await;
    failed_ids(&response)
}

async fn photo_status(w: &World, item: &str, photo: &str) -> (PhotoStatus, Option<String>, usize) {
    let item = w.store.item(item).await.expect("read").expect("item").value;
    let p = &item.photos[photo];
    (p.status, p.reason.clone(), p.thumbnails.len())
}

#[tokio::test]
async fn an_upload_becomes_ready_with_three_thumbnails_and_a_flagged_one_rejected_with_why() {
    let w = world();
    let (item, good, good_key) = uploaded(&w, png(640, 480)).await;
    let (item2, bad, bad_key) = uploaded(&w, png(64, 48)).await;
    w.vision.flagged.lock().expect("lock").push(bad_key.clone());
    let failed = process(
        &w,
        &[("m1", &s3_event(&good_key)), ("m2", &s3_event(&bad_key))],
    )
    .await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(
        photo_status(&w, &item, &good).await,
        (PhotoStatus::Ready, None, 3)
    );
    let thumbnails = w.objects.thumbnails.lock().expect("lock").clone();
    let prefix = good_key.trim_start_matches("uploads/");
    for size in [128, 512, 1024] {
        assert!(
            thumbnails.contains_key(&format!("{prefix}/{size}.jpg")),
            "{size}: {:?}",
            thumbnails.keys()
        );
    }
    let (status, reason, _) = photo_status(&w, &item2, &bad).await;
    assert_eq!(status, PhotoStatus::Rejected);
    assert!(reason.unwrap_or_default().contains("Violence"));
    // The outcomes' events: one ImageProcessed, one ImageRejected (the batch's messages run concurrently).
    let mut types: Vec<&str> = w
        .store
        .events()
        .iter()
        .map(|e| e.event_type().as_str())
        .filter(|t| t.starts_with("Image"))
        .collect();
    types.sort();
    assert_eq!(types, ["ImageProcessed", "ImageRejected"]);
    assert!(w.runtime.queue().dead_letters().is_empty());
}

#[tokio::test]
async fn moderation_down_retries_the_upload_which_settles_once_it_is_back() {
    let w = world();
    let (item, photo, key) = uploaded(&w, png(320, 240)).await;
    *w.vision.down.lock().expect("lock") = true;
    assert_eq!(process(&w, &[("m1", &s3_event(&key))]).await, ["m1"]);
    assert_eq!(
        photo_status(&w, &item, &photo).await.0,
        PhotoStatus::Pending
    );
    *w.vision.down.lock().expect("lock") = false;
    assert!(process(&w, &[("m1", &s3_event(&key))]).await.is_empty());
    assert_eq!(photo_status(&w, &item, &photo).await.0, PhotoStatus::Ready);
}

#[tokio::test]
async fn a_key_that_is_no_upload_of_ours_is_dead_lettered_and_a_test_event_is_fine() {
    let w = world();
    let test_event = r#"{"Event":"s3:TestEvent","Service":"Amazon S3"}"#;
    let failed = process(
        &w,
        &[
            ("stray", &s3_event("elsewhere/x.jpg")),
            ("test", test_event),
        ],
    )
    .await;
    assert!(failed.is_empty());
    assert_eq!(
        w.runtime.queue().dead_letters(),
        [("stray".to_owned(), "rejected".to_owned())]
    );
}
