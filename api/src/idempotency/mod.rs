//! `Idempotency-Key` on every POST: the same key with the same request answers as the first time did (without
//! running it again), the same key with another request is refused (422), a key whose request is still running
//! is refused (409). Keys are per caller; a request that failed on our side (5xx) releases its key so a retry
//! runs again. Responses are kept for 24 h.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use domain::error::{Conflict, Unprocessable};
use sha2::{Digest, Sha256};
use tracing::warn;

use crate::context::caller_of;
use crate::error::{too_large, ApiError};
use crate::{AppState, BODY_LIMIT};

mod records;

pub use records::{Claim, DynamoRequests, MemoryRequests, Requests, StoredResponse};

pub static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on a response answered from an earlier request with the same key.
pub static REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// The longest response kept (DynamoDB items are at most 400 KB).
const MAX_KEPT: usize = 256 * 1024;

fn fingerprint(method: &Method, path: &str, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_str().as_bytes());
    hash.update(b" ");
    hash.update(path.as_bytes());
    hash.update(b"\n");
    hash.update(body);
    URL_SAFE_NO_PAD.encode(hash.finalize())
}

pub async fn idempotent(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(&IDEMPOTENCY_KEY).cloned() else {
        return next.run(request).await;
    };
    let key = match key.to_str() {
        Ok(k) if (1..=255).contains(&k.len()) => k.to_owned(),
        _ => {
            return ApiError::bad_request(
                "invalid-idempotency-key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
            .into_response()
        }
    };
    let scope = caller_of(request.extensions()).unwrap_or_else(|| "anonymous".into());
    let key = format!("{scope}#{key}");
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, BODY_LIMIT).await else {
        return too_large().into_response();
    };
    let print = fingerprint(&parts.method, parts.uri.path(), &body);
    let store = state.requests.as_ref();
    match store.claim(&key, &print, Utc::now()).await {
        Ok(Claim::Fresh) => {}
        Ok(Claim::Replay(stored)) => return replay(stored),
        Ok(Claim::Mismatch) => {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                Unprocessable::IdempotencyKeyReused.code(),
                "this Idempotency-Key was used with another request",
            )
            .into_response()
        }
        Ok(Claim::InProgress) => {
            return ApiError::new(
                StatusCode::CONFLICT,
                Conflict::RequestInProgress.code(),
                "a request with this Idempotency-Key is still running; retry later",
            )
            .into_response()
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let (parts, body) = response.into_parts();
    let body = match to_bytes(body, MAX_KEPT).await {
        Ok(body) => body,
        Err(e) => {
            let _ = store.release(&key).await;
            return ApiError::internal(&e).into_response();
        }
    };
    let kept = if parts.status.is_server_error() {
        store.release(&key).await
    } else {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .to_owned();
        let stored = StoredResponse {
            status: parts.status.as_u16(),
            content_type,
            body: body.to_vec(),
        };
        store.finish(&key, &print, stored, Utc::now()).await
    };
    if let Err(e) = kept {
        // The request's effect is stored; only its replay is lost: a retry with this key answers 409 until
        // the claim expires (60 s), and after that runs again.
        warn!(error.message = %e, "idempotency record not stored");
    }
    Response::from_parts(parts, Body::from(body))
}

fn replay(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body).into_response();
    if let Ok(v) = HeaderValue::from_str(&stored.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
        .headers_mut()
        .insert(REPLAYED.clone(), HeaderValue::from_static("true"));
    response
}
