//! The images worker's handler through the worker runtime, with fakes: an upload becomes a READY photo with
//! three thumbnails stored, moderated on the largest thumbnail's bytes; a flagged one REJECTED with the
//! reason; a dependency's transient failure a retry; a key that is no upload of ours a dead letter; a batch
//! larger than the memory budget worked through in turn, a photo larger than all of it a dead letter.

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
use images::budget::MemoryBudget;
use images::{handle, thumbs, Deps, Object, Objects, Vision};
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

/// Moderation flags mostly-red images; `down` makes every call fail transiently. Every image it is given is
/// kept, to check it is the thumbnail people see.
#[derive(Default)]
struct FakeVision {
    seen: Mutex<Vec<Vec<u8>>>,
    down: Mutex<bool>,
}

fn mostly_red(jpeg: &[u8]) -> bool {
    let rgb = jpeg_decoder::Decoder::new(jpeg)
        .decode()
        .expect("moderation is given a JPEG");
    let pixels = rgb.chunks_exact(3);
    let total = pixels.len();
    let red = pixels
        .filter(|p| p[0] > 200 && p[1] < 60 && p[2] < 60)
        .count();
    red * 10 >= total * 9
}

#[async_trait]
impl Vision for FakeVision {
    async fn labels(&self, jpeg: &[u8]) -> Result<Vec<String>, ProcessError> {
        self.seen.lock().expect("lock").push(jpeg.to_vec());
        Ok(vec!["Table".into()])
    }

    async fn unsafe_content(&self, jpeg: &[u8]) -> Result<Vec<String>, ProcessError> {
        if *self.down.lock().expect("lock") {
            return Err(ProcessError::Transient("Rekognition is throttling".into()));
        }
        self.seen.lock().expect("lock").push(jpeg.to_vec());
        Ok(if mostly_red(jpeg) {
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
    world_with(MemoryBudget::new(880))
}

fn world_with(budget: MemoryBudget) -> World {
    let store = Arc::new(MemoryStore::new());
    let objects = Arc::new(FakeObjects::default());
    let vision = Arc::new(FakeVision::default());
    World {
        deps: Deps {
            service: Service::new(store.clone(), Settings::default()),
            objects: objects.clone(),
            vision: vision.clone(),
            uploads_prefix: "uploads/".into(),
            budget,
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

fn red_png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_pixel(width, height, image::Rgb([230, 20, 20]));
    let mut out = Cursor::new(vec![]);
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
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
    let (item2, bad, bad_key) = uploaded(&w, red_png(2000, 1500)).await;
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
    // Moderated and labelled: the 1024 px thumbnail that is stored and shown, not the upload.
    let shown = &thumbnails[&format!("{prefix}/1024.jpg")];
    let seen = w.vision.seen.lock().expect("lock").clone();
    assert_eq!(
        seen.iter().filter(|b| *b == shown).count(),
        2,
        "moderation and labels of the shown bytes"
    );
    assert!(
        !seen.iter().any(|b| *b == png(640, 480)),
        "never the upload"
    );
    let (status, reason, thumbs_of_bad) = photo_status(&w, &item2, &bad).await;
    assert_eq!(status, PhotoStatus::Rejected);
    assert!(reason.unwrap_or_default().contains("Violence"));
    assert_eq!(thumbs_of_bad, 0, "a rejected photo has no thumbnails");
    let bad_prefix = bad_key.trim_start_matches("uploads/");
    assert!(
        !thumbnails.keys().any(|k| k.starts_with(bad_prefix)),
        "nothing of a flagged photo is stored to be served"
    );
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

#[tokio::test]
async fn a_photo_too_small_to_show_or_moderate_is_rejected_without_moderation() {
    let w = world();
    let (item, photo, key) = uploaded(&w, png(64, 48)).await;
    let (strip_item, strip, strip_key) = uploaded(&w, png(3000, 200)).await;
    assert!(process(
        &w,
        &[("m1", &s3_event(&key)), ("m2", &s3_event(&strip_key))]
    )
    .await
    .is_empty());
    let (status, reason, _) = photo_status(&w, &item, &photo).await;
    assert_eq!(status, PhotoStatus::Rejected);
    assert!(reason
        .unwrap_or_default()
        .starts_with("the image is 64×48 pixels, too small"));
    // 3000×200 is big enough, but its 1024 px thumbnail would be 68 px high: too narrow.
    let (status, reason, _) = photo_status(&w, &strip_item, &strip).await;
    assert_eq!(status, PhotoStatus::Rejected);
    assert!(reason
        .unwrap_or_default()
        .contains("too small or too narrow"));
    assert!(w.vision.seen.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_batch_over_the_memory_budget_is_worked_through_in_turn() {
    // Room for one of these photos at a time.
    let bytes = png(3000, 2000);
    let needed_mib = thumbs::memory_needed(&bytes)
        .expect("estimate")
        .div_ceil(1 << 20);
    let w = world_with(MemoryBudget::new(needed_mib as u32 + 1));
    let mut keys = Vec::new();
    for _ in 0..3 {
        keys.push(uploaded(&w, bytes.clone()).await);
    }
    let events: Vec<(String, String)> = keys
        .iter()
        .enumerate()
        .map(|(i, (_, _, key))| (format!("m{i}"), s3_event(key)))
        .collect();
    let messages: Vec<(&str, &str)> = events
        .iter()
        .map(|(id, e)| (id.as_str(), e.as_str()))
        .collect();
    assert!(process(&w, &messages).await.is_empty());
    for (item, photo, _) in &keys {
        assert_eq!(photo_status(&w, item, photo).await.0, PhotoStatus::Ready);
    }
    assert!(w.runtime.queue().dead_letters().is_empty());
}

#[tokio::test]
async fn a_photo_needing_more_than_the_whole_budget_is_a_dead_letter_and_stays_pending() {
    let w = world_with(MemoryBudget::new(8));
    let (item, photo, key) = uploaded(&w, png(3000, 2000)).await;
    assert!(process(&w, &[("m1", &s3_event(&key))]).await.is_empty());
    assert_eq!(
        w.runtime.queue().dead_letters(),
        [("m1".to_owned(), "permanent".to_owned())]
    );
    // Nothing is decided for the seller: once the memory is raised, a redrive makes it.
    assert_eq!(
        photo_status(&w, &item, &photo).await.0,
        PhotoStatus::Pending
    );
}
