//! One error type for every handler, answered as RFC 9457 `application/problem+json`: a stable `type`
//! (`urn:ecobid:problem:<code>`), the status, a human `detail` and, for validation, the failing fields. A 5xx
//! says nothing about its cause; the cause is logged once, with the correlation id.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::error::{DomainError, FieldError};
use domain::service::ServiceError;
use domain::store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InvalidField {
    /// The field's name (dotted path); empty when the request as a whole is at fault.
    pub field: String,
    pub message: String,
}

/// RFC 9457 problem details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of problem: `urn:ecobid:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The failing fields of a request that did not validate.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub errors: Vec<InvalidField>,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<InvalidField>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            errors: vec![],
        }
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors
            .iter()
            .map(|e| {
                if e.field.is_empty() {
                    e.message.clone()
                } else {
                    format!("{}: {}", e.field, e.message)
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "validation-failed",
            detail,
            errors: errors
                .into_iter()
                .map(|e| InvalidField {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this route needs a valid token",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{what} not found"),
        )
    }

    /// A failure of ours: the client learns nothing but that; the cause is logged here, once.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error.message = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong on our side; retry later",
        )
    }

    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("urn:ecobid:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.status == StatusCode::TOO_MANY_REQUESTS
            || self.status == StatusCode::SERVICE_UNAVAILABLE
        {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let detail = e.to_string();
        match e {
            DomainError::Invalid(fields) => ApiError::invalid(fields),
            DomainError::NotFound(what) => ApiError::not_found(what),
            DomainError::Forbidden(_) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail),
            DomainError::Conflict(reason, _) => {
                ApiError::new(StatusCode::CONFLICT, reason.code(), detail)
            }
            DomainError::Unprocessable(reason, _) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, reason.code(), detail)
            }
            DomainError::AccountDeleted => {
                ApiError::new(StatusCode::UNAUTHORIZED, "account-deleted", detail)
            }
            DomainError::AccountSuspended => {
                ApiError::new(StatusCode::FORBIDDEN, "suspended", detail)
            }
            DomainError::Stale(_) => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, "version-mismatch", detail)
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Throttled => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "too many requests right now; retry after a second",
            ),
            StoreError::ConditionFailed => ApiError::new(
                StatusCode::CONFLICT,
                "contention",
                "the data changed while the request ran; retry it",
            ),
            StoreError::Unavailable { detail, .. } => ApiError::internal(&detail),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Domain(e) => e.into(),
            ServiceError::Store(e) => e.into(),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let detail = rejection.body_text();
        match rejection {
            JsonRejection::JsonSyntaxError(_) => ApiError::bad_request("malformed-json", detail),
            JsonRejection::JsonDataError(_) => ApiError::bad_request("validation-failed", detail),
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send the body as application/json",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
            other => ApiError::bad_request("malformed-body", other.body_text()),
        }
    }
}

pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        format!("request bodies are limited to {} bytes", crate::BODY_LIMIT),
    )
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::bad_request("invalid-query", rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::not_found(&format!("resource ({})", rejection.body_text()))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
