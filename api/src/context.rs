//! Who is calling and on behalf of which request: the caller comes from the JWT authorizer's claims in the
//! API Gateway request context (never from anything else the client sends), the correlation id from the
//! `x-correlation-id` header or a fresh one; both are on every log line and event of the request.

use std::time::Instant;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use chrono::{SubsecRound, Utc};
use domain::event::CorrelationId;
use domain::service::Ctx;
use infra::metrics::api as api_metrics;
use lambda_http::request::RequestContext;
use tracing::{info, info_span, Instrument};

use crate::error::ApiError;
use crate::AppState;

pub static CORRELATION_HEADER: HeaderName = HeaderName::from_static("x-correlation-id");

/// The `sub` claim the JWT authorizer verified, if the route has one.
pub fn caller_of(extensions: &Extensions) -> Option<String> {
    match extensions.get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(ctx) => ctx
            .authorizer
            .as_ref()?
            .jwt
            .as_ref()?
            .claims
            .get("sub")
            .filter(|sub| !sub.is_empty())
            .cloned(),
        _ => None,
    }
}

/// The groups of the identity provider the caller's token names (`cognito:groups`). API Gateway's HTTP API hands
/// every claim on as a string, a list as `[a b]` (space-separated in brackets); a lone group may come bare.
pub fn groups_of(extensions: &Extensions) -> Vec<String> {
    let Some(RequestContext::ApiGatewayV2(ctx)) = extensions.get::<RequestContext>() else {
        return vec![];
    };
    let Some(claim) = ctx
        .authorizer
        .as_ref()
        .and_then(|a| a.jwt.as_ref())
        .and_then(|jwt| jwt.claims.get("cognito:groups"))
    else {
        return vec![];
    };
    let text = claim.trim();
    let list = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    list.split_whitespace().map(str::to_owned).collect()
}

/// The email address the identity provider verified (`email` with `email_verified` = true in the JWT
/// authorizer's claims), if the route has a token and the token one.
pub fn verified_email_of(extensions: &Extensions) -> Option<String> {
    match extensions.get::<RequestContext>()? {
        RequestContext::ApiGatewayV2(ctx) => {
            let claims = &ctx.authorizer.as_ref()?.jwt.as_ref()?.claims;
            let verified = claims
                .get("email_verified")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            claims
                .get("email")
                .filter(|e| verified && e.contains('@'))
                .cloned()
        }
        _ => None,
    }
}

/// The caller's verified email address (see [`verified_email_of`]).
pub struct VerifiedEmail(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for VerifiedEmail {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(VerifiedEmail(verified_email_of(&parts.extensions)))
    }
}

/// The correlation id of the request (set by [`correlate`]).
#[derive(Debug, Clone, Copy)]
pub struct Correlation(pub CorrelationId);

/// The authenticated caller, the request's correlation id and the time it arrived (millisecond precision, as
/// stored and as cursors carry it).
pub struct Actor(pub Ctx);

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    /// Also refuses a deleted account's token (still unexpired: the authorizer cannot know).
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Routes that need a token are behind the authorizer: no claims here means a route declared without it.
        let caller = caller_of(&parts.extensions).ok_or_else(ApiError::unauthorized)?;
        let correlation = parts
            .extensions
            .get::<Correlation>()
            .map_or_else(CorrelationId::random, |c| c.0);
        tracing::Span::current().record("caller", caller.as_str());
        state.service.admit(&caller).await?;
        Ok(Actor(Ctx {
            caller,
            correlation,
            now: Utc::now().trunc_subsecs(3),
        }))
    }
}

/// An authenticated caller in the moderators group (`AppState::moderators`): anyone else gets 403
/// `moderators-only`. A suspended moderator is refused like any suspended user.
pub struct Moderator(pub Ctx);

impl FromRequestParts<AppState> for Moderator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let member = groups_of(&parts.extensions).contains(&state.moderators);
        let Actor(ctx) = Actor::from_request_parts(parts, state).await?;
        if !member {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "moderators-only",
                format!("only members of the {} group may do this", state.moderators),
            ));
        }
        Ok(Moderator(ctx))
    }
}

/// Middleware: gives the request its correlation id and span, answers with the id, logs one line per request
/// and records its EMF metrics (requests, status class, latency).
pub async fn correlate(mut request: Request, next: Next) -> Response {
    let correlation = request
        .headers()
        .get(&CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<CorrelationId>().ok())
        .unwrap_or_else(CorrelationId::random);
    request.extensions_mut().insert(Correlation(correlation));
    let request_id = match request.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    let span = info_span!(
        "request",
        correlation_id = %correlation,
        method = %request.method(),
        path = %request.uri().path(),
        request_id = request_id.as_deref().unwrap_or(""),
        caller = tracing::field::Empty,
    );
    let started = Instant::now();
    async move {
        let mut response = next.run(request).await;
        if let Ok(value) = HeaderValue::from_str(&correlation.to_string()) {
            response
                .headers_mut()
                .insert(CORRELATION_HEADER.clone(), value);
        }
        let status = response.status().as_u16();
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        info!(status, latency_ms, "request done");
        metrics::counter!(api_metrics::REQUESTS).increment(1);
        metrics::counter!(api_metrics::status_class(status)).increment(1);
        metrics::histogram!(api_metrics::LATENCY).record(latency_ms);
        // One request per Lambda invocation: its metrics go out with it.
        infra::metrics::flush();
        response
    }
    .instrument(span)
    .await
}
