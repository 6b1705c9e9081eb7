//! The images worker: each S3 ObjectCreated under `uploads/` (the images queue) becomes a PENDING photo's
//! outcome. The key is URL-decoded and must name a PENDING photo; the object is read (at most
//! [`MAX_UPLOAD_BYTES`]); [`thumbs`] checks it from its content and header before decoding; the work waits
//! for its share of the process's [`budget`]; the thumbnails are made; Rekognition moderates and labels the
//! largest thumbnail's bytes (what people will see, read once: an upload overwritten meanwhile changes
//! nothing, and Rekognition reads JPEG whatever was uploaded); the thumbnails go to the thumbnails bucket,
//! which the CDN serves; the photo becomes READY (thumbnail keys and labels on the item, ImageProcessed) or
//! REJECTED with the reason the seller sees (ImageRejected). A refused file is an outcome, not a failure: the
//! message is done either way.

pub mod aws;
pub mod budget;
pub mod thumbs;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use domain::item::PhotoStatus;
use domain::item::{photo::photo_ref, PhotoOutcome};
use domain::service::{Service, Step};
use infra::error::ProcessError;
use infra::runtime::{Body, Message};
use tracing::{info, warn};

use crate::budget::MemoryBudget;

/// The presigned form admits 15 MB; anything larger than this never came through it.
pub const MAX_UPLOAD_BYTES: u64 = 16 * 1024 * 1024;

/// An S3 event notification as SQS delivers it (S3's `s3:TestEvent` has no records).
#[derive(Debug, Clone, PartialEq)]
pub struct Uploads(pub Vec<Upload>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub bucket: String,
    /// URL-decoded (S3 sends keys form-encoded: `+` for a space, `%XX` for the rest).
    pub key: String,
}

/// S3's form encoding of keys in notifications, decoded.
pub fn decode_key(raw: &str) -> Result<String, String> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|e| format!("object key {raw:?} is not UTF-8 once decoded: {e}"))
}

impl Body for Uploads {
    fn parse(text: &str) -> Result<Self, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
            return Ok(Uploads(vec![]));
        }
        // Only what the worker needs is read (a tolerant reader: the emulator's records omit fields such as
        // userIdentity that AWS sends and a strict type requires).
        let records = value
            .get("Records")
            .and_then(|r| r.as_array())
            .ok_or("not an S3 event: no Records")?;
        records
            .iter()
            .map(|r| {
                let text = |pointer: &str| r.pointer(pointer).and_then(|v| v.as_str());
                let bucket = text("/s3/bucket/name").ok_or("an S3 record without a bucket")?;
                let key = text("/s3/object/key").ok_or("an S3 record without a key")?;
                Ok(Upload {
                    bucket: bucket.to_owned(),
                    key: decode_key(key)?,
                })
            })
            .collect::<Result<_, String>>()
            .map(Uploads)
    }
}

/// An uploaded object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub bytes: Vec<u8>,
    /// The correlation id of the request that started the upload (its `correlation-id` metadata, which the
    /// presigned form requires).
    pub correlation_id: Option<String>,
}

/// Where uploads are read and thumbnails written (S3).
#[async_trait]
pub trait Objects: Send + Sync {
    /// The object; None if it is gone; `Err(Rejected)` if it is larger than `max` bytes.
    async fn get(&self, bucket: &str, key: &str, max: u64) -> Result<Option<Object>, ProcessError>;
    /// Stores a JPEG thumbnail in the thumbnails bucket.
    async fn put_thumbnail(&self, key: &str, jpeg: Vec<u8>) -> Result<(), ProcessError>;
}

/// What is seen in a photo (Rekognition), given the JPEG people will see.
#[async_trait]
pub trait Vision: Send + Sync {
    /// Labels of what the photo shows, most confident first.
    async fn labels(&self, jpeg: &[u8]) -> Result<Vec<String>, ProcessError>;
    /// Moderation labels (unsafe content); empty when the photo is fine.
    async fn unsafe_content(&self, jpeg: &[u8]) -> Result<Vec<String>, ProcessError>;
}

#[derive(Clone)]
pub struct Deps {
    pub service: Service,
    pub objects: Arc<dyn Objects>,
    pub vision: Arc<dyn Vision>,
    pub uploads_prefix: String,
    /// The memory image work may hold at once in this process.
    pub budget: MemoryBudget,
}

/// The thumbnail keys of an upload: `<userId>/<itemId>/<photoId>/<size>.jpg` in the thumbnails bucket.
pub fn thumbnail_key(upload_key: &str, uploads_prefix: &str, size: u32) -> String {
    let rest = upload_key
        .strip_prefix(uploads_prefix)
        .unwrap_or(upload_key);
    format!("{rest}/{size}.jpg")
}

/// Handles one message of the images queue.
pub async fn handle(deps: &Deps, message: Message<Uploads>) -> Result<(), ProcessError> {
    if message.body.0.is_empty() {
        info!("no uploads in the message (S3's test event)");
    }
    for upload in &message.body.0 {
        let step = process(deps, message.correlation_id.as_deref(), upload).await?;
        info!(key = %upload.key, step = ?step, "upload handled");
    }
    Ok(())
}

async fn process(
    deps: &Deps,
    correlation_id: Option<&str>,
    upload: &Upload,
) -> Result<Step, ProcessError> {
    let Some(photo) = photo_ref(&upload.key, &deps.uploads_prefix) else {
        return Err(ProcessError::Rejected(format!(
            "{:?} is not a photo upload key ({}<user>/<item>/<photo>)",
            upload.key, deps.uploads_prefix
        )));
    };
    match deps.service.photo(&photo).await? {
        None => return Ok(Step::Settled("no such photo (the item or photo is gone)")),
        Some((_, p)) if p.key != upload.key => {
            return Err(ProcessError::Rejected(format!(
                "the photo's key is {:?}, not {:?}",
                p.key, upload.key
            )))
        }
        Some((_, p)) if p.status != PhotoStatus::Pending => {
            return Ok(Step::Settled("the photo was already processed"))
        }
        Some(_) => {}
    }
    // The events carry the correlation of the request that started the upload, when the object has it.
    let (outcome, uploaded_by) = match deps
        .objects
        .get(&upload.bucket, &upload.key, MAX_UPLOAD_BYTES)
        .await
    {
        Ok(None) => return Ok(Step::Settled("the upload is gone")),
        Err(ProcessError::Rejected(reason)) => (PhotoOutcome::Rejected { reason }, None),
        Err(e) => return Err(e),
        Ok(Some(object)) => {
            // From here on the message's log lines and AWS requests carry the upload's correlation id (the
            // runtime's message span has the field; the S3 notification had none to give it).
            if let Some(c) = &object.correlation_id {
                tracing::Span::current().record("correlation_id", c.as_str());
            }
            (
                outcome(deps, upload, object.bytes).await?,
                object.correlation_id,
            )
        }
    };
    if let PhotoOutcome::Rejected { reason } = &outcome {
        warn!(key = %upload.key, reason = %reason, "photo rejected");
    }
    let ctx = infra::lambda::system_ctx(uploaded_by.as_deref().or(correlation_id));
    Ok(deps.service.settle_photo(&ctx, &photo, &outcome).await?)
}

async fn outcome(
    deps: &Deps,
    upload: &Upload,
    bytes: Vec<u8>,
) -> Result<PhotoOutcome, ProcessError> {
    let rejected = |rejection: thumbs::Rejection| PhotoOutcome::Rejected {
        reason: rejection.to_string(),
    };
    let needed = match thumbs::memory_needed(&bytes) {
        Ok(needed) => needed,
        Err(rejection) => return Ok(rejected(rejection)),
    };
    let waiting = std::time::Instant::now();
    // Over the whole budget: never makeable here, and not the seller's fault. A dead letter, to redrive once
    // the function has the memory.
    let held = deps
        .budget
        .hold(needed)
        .await
        .map_err(|e| ProcessError::Permanent(Box::new(e)))?;
    info!(
        needed_mib = needed.div_ceil(1 << 20),
        waited_ms = waiting.elapsed().as_millis() as u64,
        "memory held for the thumbnails"
    );
    // CPU-bound: off the async workers, so other messages of the batch keep moving.
    let made = tokio::task::spawn_blocking(move || thumbs::thumbnails(&bytes))
        .await
        .map_err(|e| ProcessError::Transient(Box::new(e)))?;
    drop(held);
    let made = match made {
        Ok(made) => made,
        Err(rejection) => return Ok(rejected(rejection)),
    };
    // The largest thumbnail is what is moderated and labelled: thumbnails are in SIZES order.
    let shown = &made.thumbnails[0].jpeg;
    let flagged = deps.vision.unsafe_content(shown).await?;
    if !flagged.is_empty() {
        return Ok(PhotoOutcome::Rejected {
            reason: format!(
                "the photo was flagged by moderation ({})",
                flagged.join(", ")
            ),
        });
    }
    let labels = deps.vision.labels(shown).await?;
    let mut keys = BTreeMap::new();
    for t in made.thumbnails {
        let key = thumbnail_key(&upload.key, &deps.uploads_prefix, t.size);
        deps.objects.put_thumbnail(&key, t.jpeg).await?;
        keys.insert(t.size.to_string(), key);
    }
    Ok(PhotoOutcome::Ready {
        thumbnails: keys,
        labels,
    })
}
