//! The REST API the mobile app calls: one axum [`Router`] (`app`), run by `lambda_http` behind API Gateway (in
//! AWS, and behind the local runner's gateway locally) and by the tests in process (`oneshot`). Handlers only
//! translate: HTTP in, a use-case of `domain::service`, HTTP out; errors are RFC 9457 problems (`error`).
//! The OpenAPI 3.1 document (`GET /openapi.json`) is generated from the handlers' annotations.

pub mod accounts;
pub mod context;
pub mod error;
pub mod idempotency;
pub mod openapi;
pub mod presign;
pub mod push;
pub mod requests;
pub mod responses;
mod routes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::{middleware, Extension, Router};
use domain::service::Service;

pub use routes::{BidPlacedResponse, BidRequest, PhotoRequest, PhotoUpload};

/// The largest request body: items, bids and profiles are small.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    /// The search index (`GET /items?q=`).
    pub search: Arc<dyn domain::search::SearchIndex>,
    /// The `Idempotency-Key` records (the API's own port).
    pub requests: Arc<dyn idempotency::Requests>,
    pub presigner: presign::Presigner,
    pub push: Arc<dyn push::Push>,
    /// Where thumbnails are served from (the CDN).
    pub media: responses::Media,
    /// What an account's deletion removes outside the table (photos, the identity provider's user).
    pub accounts: Arc<dyn accounts::Accounts>,
    /// The identity provider's group whose members may use the /admin routes.
    pub moderators: String,
}

/// The whole API: routes, the OpenAPI document, body limit, Idempotency-Key, correlation ids.
pub fn app(state: AppState) -> Router {
    let (router, doc) = routes::router().split_for_parts();
    let doc = Arc::new(openapi::finish(doc));
    router
        .fallback(routes::no_route)
        .method_not_allowed_fallback(routes::no_method)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotent,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(Extension(doc))
        .layer(middleware::from_fn(context::correlate))
        .with_state(state)
}

/// The OpenAPI document the API serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::finish(routes::router().split_for_parts().1)
}
