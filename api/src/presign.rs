//! Presigned S3 POST for photo uploads (the SDK presigns GET/PUT URLs, not POST forms): a policy that allows
//! exactly one key, one content type, 1 byte to 15 MB and the request's correlation id as the object's
//! `correlation-id` metadata (so the images worker's events carry it on), valid a few minutes, signed with SigV4
//! (`aws-sigv4`'s signing key and signature) using the function's own credentials.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// The largest upload: 15 MB.
pub const MAX_UPLOAD_BYTES: u64 = 15 * 1024 * 1024;
/// The object metadata carrying the correlation id of the request that started the upload.
pub const CORRELATION_FIELD: &str = "x-amz-meta-correlation-id";
/// How long a form may be used.
pub const FORM_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// An HTML-form-style upload: POST `url` as multipart/form-data with `fields` then the file as `file`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadForm {
    pub url: String,
    #[schema(value_type = Object, additional_properties = true)]
    pub fields: serde_json::Map<String, serde_json::Value>,
    pub expires_at: DateTime<Utc>,
    pub max_bytes: u64,
}

#[derive(Clone)]
pub struct Presigner {
    bucket: String,
    region: String,
    /// Path-style endpoint (`AWS_ENDPOINT_URL[_S3]`, the local emulator); virtual-hosted S3 otherwise.
    endpoint: Option<String>,
    credentials: SharedCredentialsProvider,
}

impl Presigner {
    pub fn new(
        bucket: String,
        region: String,
        endpoint: Option<String>,
        credentials: SharedCredentialsProvider,
    ) -> Self {
        Self {
            bucket,
            region,
            endpoint,
            credentials,
        }
    }

    fn url(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => format!("{}/{}", endpoint.trim_end_matches('/'), self.bucket),
            None => format!("https://{}.s3.{}.amazonaws.com", self.bucket, self.region),
        }
    }

    pub async fn form(
        &self,
        key: &str,
        content_type: &str,
        correlation_id: &str,
        now: DateTime<Utc>,
    ) -> Result<UploadForm, String> {
        let creds = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| format!("no credentials to sign with: {e}"))?;
        let expires_at = now + FORM_LIFETIME;
        let date = now.format("%Y%m%d").to_string();
        let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
        let credential = format!(
            "{}/{date}/{}/s3/aws4_request",
            creds.access_key_id(),
            self.region
        );
        let mut conditions = vec![
            json!({ "bucket": self.bucket }),
            json!(["eq", "$key", key]),
            json!(["eq", "$Content-Type", content_type]),
            json!(["eq", format!("${CORRELATION_FIELD}"), correlation_id]),
            json!(["content-length-range", 1, MAX_UPLOAD_BYTES]),
            json!({ "x-amz-algorithm": "AWS4-HMAC-SHA256" }),
            json!({ "x-amz-credential": credential }),
            json!({ "x-amz-date": amz_date }),
        ];
        if let Some(token) = creds.session_token() {
            conditions.push(json!({ "x-amz-security-token": token }));
        }
        let policy = json!({
            "expiration": expires_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "conditions": conditions,
        });
        let policy = STANDARD.encode(policy.to_string());
        let signing_key = aws_sigv4::sign::v4::generate_signing_key(
            creds.secret_access_key(),
            SystemTime::from(now),
            &self.region,
            "s3",
        );
        let signature = aws_sigv4::sign::v4::calculate_signature(signing_key, policy.as_bytes());
        let mut fields = serde_json::Map::new();
        for (name, value) in [
            ("key", key),
            ("Content-Type", content_type),
            (CORRELATION_FIELD, correlation_id),
            ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
            ("x-amz-credential", &credential),
            ("x-amz-date", &amz_date),
            ("policy", &policy),
            ("x-amz-signature", &signature),
        ] {
            fields.insert(name.into(), value.into());
        }
        if let Some(token) = creds.session_token() {
            fields.insert("x-amz-security-token".into(), token.into());
        }
        Ok(UploadForm {
            url: self.url(),
            fields,
            expires_at,
            max_bytes: MAX_UPLOAD_BYTES,
        })
    }
}
