//! The images worker's AWS adapters: S3 for uploads and thumbnails, Rekognition for labels and moderation.

use async_trait::async_trait;
use aws_sdk_rekognition::primitives::Blob;
use aws_sdk_rekognition::types::Image;
use aws_sdk_s3::primitives::ByteStream;
use infra::error::ProcessError;
use tracing::instrument;

use crate::{Object, Objects, Vision};

/// The object metadata the upload form sets to the correlation id of the request that started the upload.
const CORRELATION_METADATA: &str = "correlation-id";

/// Labels below this confidence (percent) are not kept.
const MIN_CONFIDENCE: f32 = 70.0;
/// Labels kept per photo.
const MAX_LABELS: i32 = 10;

#[derive(Debug, Clone)]
pub struct S3Objects {
    client: aws_sdk_s3::Client,
    thumbnails_bucket: String,
}

impl S3Objects {
    pub fn new(client: aws_sdk_s3::Client, thumbnails_bucket: impl Into<String>) -> Self {
        Self {
            client,
            thumbnails_bucket: thumbnails_bucket.into(),
        }
    }
}

#[async_trait]
impl Objects for S3Objects {
    #[instrument(skip(self), err)]
    async fn get(&self, bucket: &str, key: &str, max: u64) -> Result<Option<Object>, ProcessError> {
        let got = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await;
        let object = match got {
            Ok(o) => o,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let length = object.content_length.unwrap_or(0).max(0) as u64;
        if length > max {
            return Err(ProcessError::Rejected(format!(
                "the file is {} MB, over the {} MB limit",
                length / 1_000_000,
                max / 1_000_000
            )));
        }
        let correlation_id = object
            .metadata()
            .and_then(|m| m.get(CORRELATION_METADATA))
            .cloned();
        let bytes = object
            .body
            .collect()
            .await
            .map_err(|e| ProcessError::Transient(Box::new(e)))?;
        Ok(Some(Object {
            bytes: bytes.to_vec(),
            correlation_id,
        }))
    }

    #[instrument(skip(self, jpeg), fields(bytes = jpeg.len()), err)]
    async fn put_thumbnail(&self, key: &str, jpeg: Vec<u8>) -> Result<(), ProcessError> {
        self.client
            .put_object()
            .bucket(&self.thumbnails_bucket)
            .key(key)
            .content_type("image/jpeg")
            .cache_control("public, max-age=31536000, immutable")
            .body(ByteStream::from(jpeg))
            .send()
            .await?;
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Rekognition {
    client: aws_sdk_rekognition::Client,
}

impl Rekognition {
    pub fn new(client: aws_sdk_rekognition::Client) -> Self {
        Self { client }
    }

    /// The image as bytes (Rekognition takes up to 5 MB so; a 1024 px JPEG is a few hundred KB).
    fn image(jpeg: &[u8]) -> Image {
        Image::builder().bytes(Blob::new(jpeg)).build()
    }
}

#[async_trait]
impl Vision for Rekognition {
    #[instrument(skip_all, fields(bytes = jpeg.len()), err)]
    async fn labels(&self, jpeg: &[u8]) -> Result<Vec<String>, ProcessError> {
        let out = self
            .client
            .detect_labels()
            .image(Self::image(jpeg))
            .max_labels(MAX_LABELS)
            .min_confidence(MIN_CONFIDENCE)
            .send()
            .await?;
        Ok(out
            .labels
            .unwrap_or_default()
            .into_iter()
            .filter_map(|l| l.name)
            .collect())
    }

    #[instrument(skip_all, fields(bytes = jpeg.len()), err)]
    async fn unsafe_content(&self, jpeg: &[u8]) -> Result<Vec<String>, ProcessError> {
        let out = self
            .client
            .detect_moderation_labels()
            .image(Self::image(jpeg))
            .min_confidence(MIN_CONFIDENCE)
            .send()
            .await?;
        Ok(out
            .moderation_labels
            .unwrap_or_default()
            .into_iter()
            .filter_map(|l| l.name)
            .collect())
    }
}
