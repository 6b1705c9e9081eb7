//! An HTTP API played locally: requests on 127.0.0.1 are matched to the applied routes (most specific first,
//! `$default` last), authorized by the route's JWT authorizer, and passed to the integration's function as
//! API Gateway's payload format 2.0; the function's answer becomes the HTTP response.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;
use serde_json::{json, Map, Value};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::discover::Api;
use crate::function::{Function, InvokeError};
use crate::jwt::{gateway_claims, Authorizer};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

struct Route {
    key: String,
    method: Option<Method>,
    segments: Vec<Segment>,
    function: Function,
    authorizer: Option<Arc<Authorizer>>,
    scopes: Vec<String>,
}

/// The routes of one API that invoke a function the runner runs.
pub struct Routes {
    api_id: String,
    routes: Vec<Route>,
    default: Option<Route>,
}

fn parse_path(path: &str) -> Vec<Segment> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => match name.strip_suffix('+') {
                    Some(greedy) => Segment::Greedy(greedy.to_owned()),
                    None => Segment::Param(name.to_owned()),
                },
                None => Segment::Literal(s.to_owned()),
            },
        )
        .collect()
}

impl Routes {
    pub fn new(api: &Api, functions: &HashMap<String, Function>, endpoint: &str) -> Self {
        let mut authorizers: HashMap<String, Arc<Authorizer>> = HashMap::new();
        let mut routes = Vec::new();
        let mut default = None;
        for r in &api.routes {
            let Some(function) = r.function_arn.as_ref().and_then(|a| functions.get(a)) else {
                continue;
            };
            if r.payload_format != "2.0" {
                warn!(route = %r.key, "only payload format 2.0 is played; route skipped");
                continue;
            }
            let authorizer = r.jwt.as_ref().map(|j| {
                let key = format!("{}|{}", j.issuer, j.audience.join(","));
                Arc::clone(
                    authorizers
                        .entry(key)
                        .or_insert_with(|| Arc::new(Authorizer::new(j.clone(), endpoint))),
                )
            });
            let (method, segments) = match r.key.split_once(' ') {
                Some((m, path)) => (
                    (m != "ANY")
                        .then(|| Method::from_bytes(m.as_bytes()).ok())
                        .flatten(),
                    parse_path(path),
                ),
                None => (None, Vec::new()),
            };
            let route = Route {
                key: r.key.clone(),
                method,
                segments,
                function: function.clone(),
                authorizer,
                scopes: r.scopes.clone(),
            };
            if r.key == "$default" {
                default = Some(route);
            } else {
                routes.push(route);
            }
        }
        // Most specific first: more literal segments, then fewer parameters, greedy last, a method over ANY.
        routes.sort_by_key(|r| {
            let literals = r
                .segments
                .iter()
                .filter(|s| matches!(s, Segment::Literal(_)))
                .count();
            let greedy = r.segments.iter().any(|s| matches!(s, Segment::Greedy(_)));
            (
                greedy,
                std::cmp::Reverse(literals),
                r.segments.len(),
                r.method.is_none(),
            )
        });
        Self {
            api_id: api.id.clone(),
            routes,
            default,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.default.is_none()
    }

    fn find(&self, method: &Method, path: &str) -> Option<(&Route, Map<String, Value>)> {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        for r in &self.routes {
            if r.method.as_ref().is_some_and(|m| m != method) {
                continue;
            }
            if let Some(params) = match_path(&r.segments, &parts) {
                return Some((r, params));
            }
        }
        self.default.as_ref().map(|r| (r, Map::new()))
    }
}

fn match_path(segments: &[Segment], parts: &[&str]) -> Option<Map<String, Value>> {
    let mut params = Map::new();
    for (i, s) in segments.iter().enumerate() {
        match s {
            Segment::Greedy(name) => {
                if i >= parts.len() {
                    return None;
                }
                params.insert(name.clone(), json!(parts[i..].join("/")));
                return Some(params);
            }
            Segment::Literal(l) => {
                if parts.get(i) != Some(&l.as_str()) {
                    return None;
                }
            }
            Segment::Param(name) => {
                let p = parts.get(i)?;
                params.insert(name.clone(), json!(decode_component(p)));
            }
        }
    }
    (segments.len() == parts.len()).then_some(params)
}

fn decode_component(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

pub fn serve(listener: tokio::net::TcpListener, routes: Arc<Routes>, tasks: &mut JoinSet<()>) {
    let app = Router::new().fallback(handle).with_state(routes);
    tasks.spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            warn!(error.message = %e, "HTTP API server stopped");
        }
    });
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "message": text }))).into_response()
}

async fn handle(
    State(routes): State<Arc<Routes>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let path = uri.path().to_owned();
    let Some((route, params)) = routes.find(&method, &path) else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let mut authorizer_context = Value::Null;
    if let Some(auth) = &route.authorizer {
        let header = headers.get("authorization").and_then(|v| v.to_str().ok());
        match auth.authorize(header).await {
            Ok(claims) => {
                let scopes: Vec<String> = claims
                    .get("scope")
                    .and_then(Value::as_str)
                    .map(|s| s.split(' ').map(str::to_owned).collect())
                    .unwrap_or_default();
                if !route.scopes.is_empty() && !route.scopes.iter().any(|s| scopes.contains(s)) {
                    info!(route = %route.key, status = 403, "request refused by the authorizer: scope");
                    return message(StatusCode::FORBIDDEN, "Forbidden");
                }
                authorizer_context = json!({
                    "jwt": { "claims": gateway_claims(&claims), "scopes": if scopes.is_empty() { Value::Null } else { json!(scopes) } }
                });
            }
            Err(refused) => {
                info!(route = %route.key, status = 401, reason = %refused.0, "request refused by the authorizer");
                let mut response = message(StatusCode::UNAUTHORIZED, "Unauthorized");
                response.headers_mut().insert(
                    "www-authenticate",
                    HeaderValue::from_static("Bearer error=\"invalid_token\""),
                );
                return response;
            }
        }
    }
    let event = event(
        &routes.api_id,
        &route.key,
        &method,
        &uri,
        &headers,
        &body,
        params,
        authorizer_context,
    );
    let outcome = route.function.invoke(&event).await;
    let response = match outcome {
        Ok(answer) => to_response(answer),
        Err(InvokeError::Timeout(_)) => {
            message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
        Err(e) => {
            warn!(route = %route.key, error.message = %e, "integration failed");
            message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    };
    info!(
        function = route.function.name(),
        source = %format!("api {}", routes.api_id),
        route = %route.key,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
        "invoked"
    );
    response
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn event(
    api_id: &str,
    route_key: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
    params: Map<String, Value>,
    authorizer: Value,
) -> Value {
    let mut joined: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == "cookie" {
            cookies.extend(value.split(';').map(|c| c.trim().to_owned()));
            continue;
        }
        match joined.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                joined.insert(name.as_str().to_owned(), json!(value));
            }
        }
    }
    let raw_query = uri.query().unwrap_or_default();
    // Repeated parameters are joined with commas, as API Gateway does.
    let mut query: Map<String, Value> = Map::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        match query.get_mut(k.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k.into_owned(), json!(v));
            }
        }
    }
    let text_body = std::str::from_utf8(body).ok();
    let now = chrono::Utc::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": uri.path(),
        "rawQueryString": raw_query,
        "headers": joined,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": api_id,
            "domainName": headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost"),
            "domainPrefix": api_id,
            "http": {
                "method": method.as_str(),
                "path": uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": text_body.is_none(),
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !params.is_empty() {
        event["pathParameters"] = Value::Object(params);
    }
    if !authorizer.is_null() {
        event["requestContext"]["authorizer"] = authorizer;
    }
    if !body.is_empty() {
        event["body"] = match text_body {
            Some(t) => json!(t),
            None => json!(base64::engine::general_purpose::STANDARD.encode(body)),
        };
    }
    event
}

/// A payload 2.0 answer as an HTTP response: `{statusCode, headers, cookies, body, isBase64Encoded}`, or any
/// other JSON value, which API Gateway returns as a 200 `application/json` body.
fn to_response(answer: Value) -> Response {
    let structured = answer
        .as_object()
        .is_some_and(|o| o.contains_key("statusCode"));
    if !structured {
        let mut r = (StatusCode::OK, answer.to_string()).into_response();
        r.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        return r;
    }
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match answer["body"].as_str() {
        Some(b) if answer["isBase64Encoded"].as_bool() == Some(true) => {
            base64::engine::general_purpose::STANDARD
                .decode(b)
                .unwrap_or_default()
        }
        Some(b) => b.as_bytes().to_vec(),
        None => Vec::new(),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if let Some(headers) = answer["headers"].as_object() {
        for (k, v) in headers {
            let v = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(&v),
            ) {
                response.headers_mut().append(k, v);
            }
        }
    }
    if let Some(cookies) = answer["cookies"].as_array() {
        for c in cookies.iter().filter_map(Value::as_str) {
            if let Ok(v) = HeaderValue::from_str(c) {
                response.headers_mut().append("set-cookie", v);
            }
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_templates_with_parameters_and_greedy_tails() {
        let parts = |p: &str| {
            p.split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let m = |t: &str, p: &str| {
            let owned = parts(p);
            let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
            match_path(&parse_path(t), &refs)
        };
        assert_eq!(
            m("/items/{id}", "/items/a%20b").expect("match")["id"],
            "a b"
        );
        assert!(m("/items/{id}", "/items").is_none());
        assert!(m("/items/{id}", "/items/1/photos").is_none());
        assert_eq!(
            m("/files/{proxy+}", "/files/a/b/c").expect("match")["proxy"],
            "a/b/c"
        );
        assert!(m("/items", "/items").expect("match").is_empty());
    }

    #[test]
    fn answers_become_responses() {
        let r = to_response(
            json!({"statusCode": 201, "headers": {"x-a": "1"}, "body": "{\"ok\":true}"}),
        );
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers()["x-a"], "1");
        let r = to_response(json!({"hello": "world"}));
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "application/json");
    }
}
