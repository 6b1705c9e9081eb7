//! The API in process: `app(state).oneshot(request)` with the in-memory store; the caller set the way API
//! Gateway's JWT authorizer sets it (claims in the request context).

mod activity;
mod endpoints;
mod errors;
mod helpers;
mod moderation;
mod openapi;
mod search;
