//! A CloudFront distribution played locally: GET and HEAD on 127.0.0.1 are answered from the distribution's
//! S3 origin as its edge would answer them. The origin is read through Origin Access Control: the runner
//! evaluates the origin bucket's policy for `cloudfront.amazonaws.com` with `aws:SourceArn` = the
//! distribution (the emulator does not), so a bucket that does not grant this distribution gets the
//! `403 AccessDenied` CloudFront would pass on, and a missing key is a 403 too unless the policy also grants
//! `s3:ListBucket` (then 404), as S3 answers. Responses carry the object's headers (`Content-Type`, `ETag`,
//! `Cache-Control`, …) and the edge's (`Via`, `X-Cache`, `X-Amz-Cf-Id`, `X-Amz-Cf-Pop`, `Age` on hits); they
//! are cached for the TTL the distribution's cache policy gives them (errors for CloudFront's default 10 s).
//!
//! What is not played, and said at start: path-pattern behaviours (only the default one is), custom (non-S3)
//! origins, viewer TLS (plain HTTP on 127.0.0.1 stands for the edge's HTTPS: `redirect-to-https` is honoured
//! by treating every local request as already HTTPS), compression, signed URLs, Lambda@Edge and functions.

pub mod policy;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::discover::Distribution;

/// The TTLs of a cache policy: minimum, default, maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ttls {
    pub min: Duration,
    pub default: Duration,
    pub max: Duration,
}

impl Ttls {
    const fn seconds(min: u64, default: u64, max: u64) -> Self {
        Self {
            min: Duration::from_secs(min),
            default: Duration::from_secs(default),
            max: Duration::from_secs(max),
        }
    }

    /// The TTLs of the AWS managed cache policies, by id; None for a policy of one's own.
    pub fn managed(cache_policy_id: &str) -> Option<Self> {
        match cache_policy_id {
            // Managed-CachingOptimized
            "658327ea-f89d-4fab-a63d-7e88639e58f6" => Some(Self::seconds(1, 86_400, 31_536_000)),
            // Managed-CachingOptimizedForUncompressedObjects
            "b2884449-e4de-46a7-ac36-70bc7f1ddd6d" => Some(Self::seconds(1, 86_400, 31_536_000)),
            // Managed-CachingDisabled
            "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" => Some(Self::seconds(0, 0, 0)),
            _ => None,
        }
    }

    /// How long the edge keeps a response whose `Cache-Control` is `cache_control`: the origin's
    /// `s-maxage`/`max-age` held within [min, max], else the default; `no-store`, `no-cache` and `private`
    /// are honoured when the minimum TTL is 0, as CloudFront does.
    pub fn ttl(&self, cache_control: Option<&str>) -> Duration {
        let Some(cc) = cache_control else {
            return self.default;
        };
        let directives: Vec<(String, Option<String>)> = cc
            .split(',')
            .map(|d| {
                let d = d.trim().to_ascii_lowercase();
                match d.split_once('=') {
                    Some((k, v)) => (
                        k.trim().to_owned(),
                        Some(v.trim().trim_matches('"').to_owned()),
                    ),
                    None => (d, None),
                }
            })
            .collect();
        let has = |name: &str| directives.iter().any(|(k, _)| k == name);
        if self.min.is_zero() && (has("no-store") || has("no-cache") || has("private")) {
            return Duration::ZERO;
        }
        let seconds = |name: &str| {
            directives
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.as_deref()?.parse::<u64>().ok())
        };
        match seconds("s-maxage").or_else(|| seconds("max-age")) {
            Some(s) => Duration::from_secs(s).clamp(self.min, self.max),
            None => self.default,
        }
    }
}

/// How long CloudFront caches an origin's 4xx/5xx answer when no custom error response says otherwise.
const ERROR_CACHING: Duration = Duration::from_secs(10);
/// The most the local edge keeps in memory; beyond it, the oldest entries go.
const CACHE_BYTES: usize = 256 << 20;

/// The S3 bucket of an origin domain (`<bucket>.s3.<region>.amazonaws.com`, `<bucket>.s3.amazonaws.com`), or
/// None for an origin that is not an S3 bucket.
pub fn origin_bucket(domain: &str) -> Option<&str> {
    let at = domain.find(".s3.").or_else(|| domain.find(".s3-"))?;
    domain.ends_with(".amazonaws.com").then(|| &domain[..at])
}

#[derive(Clone)]
struct Cached {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    stored: Instant,
    ttl: Duration,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<String, Cached>,
    bytes: usize,
}

impl Cache {
    fn get(&mut self, key: &str) -> Option<Cached> {
        let fresh = self.entries.get(key)?.stored.elapsed() < self.entries[key].ttl;
        if fresh {
            return self.entries.get(key).cloned();
        }
        if let Some(old) = self.entries.remove(key) {
            self.bytes -= old.body.len();
        }
        None
    }

    fn put(&mut self, key: String, entry: Cached) {
        if entry.ttl.is_zero() || entry.body.len() > CACHE_BYTES {
            return;
        }
        while self.bytes + entry.body.len() > CACHE_BYTES {
            let Some(oldest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.stored)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(old) = self.entries.remove(&oldest) {
                self.bytes -= old.body.len();
            }
        }
        self.bytes += entry.body.len();
        if let Some(old) = self.entries.insert(key, entry) {
            self.bytes -= old.body.len();
        }
    }
}

/// One distribution's edge.
pub struct Edge {
    distribution: Distribution,
    /// The default behaviour's S3 origin: bucket and origin path, if it is one the runner plays.
    origin: Result<(String, String), String>,
    signed: bool,
    ttls: Option<Ttls>,
    s3: aws_sdk_s3::Client,
    cache: Mutex<Cache>,
}

impl Edge {
    pub fn new(distribution: Distribution, s3: aws_sdk_s3::Client) -> Self {
        let b = &distribution.default_behavior;
        let target = distribution
            .origins
            .iter()
            .find(|o| o.id == b.target_origin_id);
        let origin = match target {
            None => Err(format!(
                "the default behaviour's origin {} is not defined",
                b.target_origin_id
            )),
            Some(o) => match origin_bucket(&o.domain_name) {
                Some(bucket) => Ok((bucket.to_owned(), o.path.trim_matches('/').to_owned())),
                None => Err(format!(
                    "origin {} is not an S3 bucket: not played locally",
                    o.domain_name
                )),
            },
        };
        let signed = target
            .and_then(|o| o.access_control.as_ref())
            .is_some_and(|oac| oac.origin_type == "s3" && oac.signing_behavior != "never");
        let ttls = match &b.cache_policy_id {
            Some(id) => {
                let ttls = Ttls::managed(id);
                if ttls.is_none() {
                    warn!(distribution = %distribution.id, cache_policy = %id, "a cache policy that is not an AWS managed one: responses are not cached locally");
                }
                ttls
            }
            None => {
                let (min, default, max) = b.legacy_ttls;
                let s = |v: i64| Duration::from_secs(u64::try_from(v).unwrap_or(0));
                Some(Ttls {
                    min: s(min),
                    default: s(default),
                    max: s(max),
                })
            }
        };
        if let Err(why) = &origin {
            warn!(distribution = %distribution.id, "{why}");
        }
        if !signed {
            warn!(distribution = %distribution.id, "the origin has no Origin Access Control that signs: every read is anonymous, and a private bucket answers 403");
        }
        if distribution.ordered_behaviors > 0 {
            warn!(distribution = %distribution.id, behaviours = distribution.ordered_behaviors, "path-pattern behaviours are not played; the default behaviour answers every path");
        }
        Self {
            distribution,
            origin,
            signed,
            ttls,
            s3,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// The ids CloudFront gives a response: `X-Amz-Cf-Id` and the `Via` host.
    fn edge_headers(&self, headers: &mut HeaderMap, x_cache: &str) {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let insert = |h: &mut HeaderMap, name: &'static str, value: String| {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        };
        insert(
            headers,
            "via",
            format!("1.1 {}.cloudfront.net (CloudFront)", &id[..16]),
        );
        insert(headers, "x-cache", format!("{x_cache} from cloudfront"));
        insert(headers, "x-amz-cf-pop", "LOCAL1-P1".into());
        insert(headers, "x-amz-cf-id", id);
    }

    async fn answer(&self, method: &Method, uri: &Uri, request: &HeaderMap) -> Response {
        let allowed = &self.distribution.default_behavior.allowed_methods;
        if !allowed.iter().any(|m| m == method.as_str()) {
            return self.edge_error(
                StatusCode::FORBIDDEN,
                "This distribution is not configured to allow the HTTP request method that was used for this request. The distribution supports only cachable requests.",
            );
        }
        if method != Method::GET && method != Method::HEAD {
            return self.edge_error(
                StatusCode::NOT_IMPLEMENTED,
                "the local runner plays only GET and HEAD of a distribution",
            );
        }
        let path = uri.path().to_owned();
        let cached = self.cache.lock().expect("cache").get(&path);
        let (entry, x_cache) = match cached {
            Some(e) => (e, "Hit"),
            None => {
                let e = self.origin_answer(&path).await;
                let x = if e.status.is_success() {
                    "Miss"
                } else {
                    "Error"
                };
                self.cache
                    .lock()
                    .expect("cache")
                    .put(path.clone(), e.clone());
                (e, x)
            }
        };
        let mut headers = HeaderMap::new();
        for (k, v) in &entry.headers {
            headers.insert(k.clone(), v.clone());
        }
        if x_cache == "Hit" {
            if let Ok(v) = HeaderValue::from_str(&entry.stored.elapsed().as_secs().to_string()) {
                headers.insert(header::AGE, v);
            }
        }
        self.edge_headers(&mut headers, x_cache);
        let etag = headers.get(header::ETAG).cloned();
        let not_modified = entry.status == StatusCode::OK
            && etag.as_ref().is_some_and(|etag| {
                request
                    .get_all(header::IF_NONE_MATCH)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(|v| v.split(','))
                    .any(|t| t.trim() == "*" || t.trim().as_bytes() == etag.as_bytes())
            });
        let (status, body) = if not_modified {
            for h in [header::CONTENT_LENGTH, header::CONTENT_TYPE] {
                headers.remove(h);
            }
            (StatusCode::NOT_MODIFIED, Body::empty())
        } else if method == Method::HEAD {
            (entry.status, Body::empty())
        } else {
            (entry.status, Body::from(entry.body.clone()))
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }

    /// An answer of the edge itself (not of the origin), as CloudFront's HTML error page.
    fn edge_error(&self, status: StatusCode, message: &str) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        self.edge_headers(&mut headers, "Error");
        let mut response = Response::new(Body::from(format!(
            "<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY><H1>{} ERROR</H1><H2>The request could not be satisfied.</H2><HR>{message}</BODY></HTML>",
            status.as_u16()
        )));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }

    /// What the origin answers for `path`, as the entry the edge caches.
    async fn origin_answer(&self, path: &str) -> Cached {
        match self.read(path).await {
            Ok(entry) => entry,
            Err((status, code, message)) => {
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
                );
                Cached {
                    status,
                    headers: vec![
                        (
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/xml"),
                        ),
                        (header::SERVER, HeaderValue::from_static("AmazonS3")),
                    ],
                    body: Bytes::from(body),
                    stored: Instant::now(),
                    ttl: ERROR_CACHING,
                }
            }
        }
    }

    async fn read(&self, path: &str) -> Result<Cached, (StatusCode, &'static str, String)> {
        let (bucket, origin_path) = self
            .origin
            .as_ref()
            .map_err(|why| (StatusCode::BAD_GATEWAY, "OriginNotPlayed", why.clone()))?;
        let denied = || {
            (
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Access Denied".to_owned(),
            )
        };
        let decoded = percent_encoding::percent_decode_str(path.trim_start_matches('/'))
            .decode_utf8()
            .map_err(|_| denied())?;
        let key = if origin_path.is_empty() {
            decoded.into_owned()
        } else {
            format!("{origin_path}/{decoded}")
        };
        if !self.signed || key.is_empty() {
            return Err(denied());
        }
        let policy = match self.s3.get_bucket_policy().bucket(bucket).send().await {
            Ok(p) => p.policy().map(str::to_owned),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => None,
            Err(e) => {
                warn!(bucket, error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "reading the origin's bucket policy");
                return Err((
                    StatusCode::BAD_GATEWAY,
                    "OriginError",
                    "the origin's bucket policy could not be read".into(),
                ));
            }
        };
        let may = |action: &str, resource: &str| {
            let request = policy::Request {
                action,
                resource,
                source_arn: &self.distribution.arn,
            };
            match policy::evaluate(policy.as_deref(), &request) {
                Ok(policy::Decision::Allow) => true,
                Ok(_) => false,
                Err(why) => {
                    warn!(bucket, "{why}");
                    false
                }
            }
        };
        if !may("s3:GetObject", &format!("arn:aws:s3:::{bucket}/{key}")) {
            return Err(denied());
        }
        let object = match self.s3.get_object().bucket(bucket).key(&key).send().await {
            Ok(o) => o,
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                return Err(match status {
                    Some(404) if may("s3:ListBucket", &format!("arn:aws:s3:::{bucket}")) => (
                        StatusCode::NOT_FOUND,
                        "NoSuchKey",
                        "The specified key does not exist.".into(),
                    ),
                    Some(404 | 403) => denied(),
                    _ => {
                        warn!(bucket, key, error = %aws_smithy_types::error::display::DisplayErrorContext(&e), "reading from the origin");
                        (
                            StatusCode::BAD_GATEWAY,
                            "OriginError",
                            "the origin could not be read".into(),
                        )
                    }
                });
            }
        };
        let mut headers = vec![(header::SERVER, HeaderValue::from_static("AmazonS3"))];
        let mut add = |name: HeaderName, value: Option<String>| {
            if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.push((name, v));
            }
        };
        add(
            header::CONTENT_TYPE,
            object.content_type().map(str::to_owned),
        );
        add(header::ETAG, object.e_tag().map(str::to_owned));
        add(
            header::CACHE_CONTROL,
            object.cache_control().map(str::to_owned),
        );
        add(
            header::CONTENT_ENCODING,
            object.content_encoding().map(str::to_owned),
        );
        add(
            header::CONTENT_DISPOSITION,
            object.content_disposition().map(str::to_owned),
        );
        add(
            header::CONTENT_LANGUAGE,
            object.content_language().map(str::to_owned),
        );
        add(
            header::LAST_MODIFIED,
            object
                .last_modified()
                .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::HttpDate).ok()),
        );
        let cache_control = object.cache_control().map(str::to_owned);
        let body = object.body.collect().await.map_err(|e| {
            warn!(bucket, key, error = %e, "reading the origin's object body");
            (
                StatusCode::BAD_GATEWAY,
                "OriginError",
                "the origin's answer broke off".to_owned(),
            )
        })?;
        Ok(Cached {
            status: StatusCode::OK,
            headers,
            body: body.into_bytes(),
            stored: Instant::now(),
            ttl: self
                .ttls
                .map_or(Duration::ZERO, |t| t.ttl(cache_control.as_deref())),
        })
    }
}

async fn handle(
    State(edge): State<Arc<Edge>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let response = edge.answer(&method, &uri, &headers).await;
    info!(
        distribution = %edge.distribution.id,
        method = %method,
        path = %uri.path(),
        status = response.status().as_u16(),
        x_cache = response.headers().get("x-cache").and_then(|v| v.to_str().ok()).unwrap_or_default(),
        ms = started.elapsed().as_millis() as u64,
        "cdn request"
    );
    response
}

/// Serves `edge` on `listener` until the task set is dropped.
pub fn serve(listener: tokio::net::TcpListener, edge: Arc<Edge>, tasks: &mut JoinSet<()>) {
    let app = Router::new().fallback(handle).with_state(edge);
    tasks.spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            warn!(error = %e, "the CDN edge stopped");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_origin_domains_name_their_bucket_and_others_do_not() {
        assert_eq!(
            origin_bucket("ecobid-dev-thumbnails.s3.eu-west-1.amazonaws.com"),
            Some("ecobid-dev-thumbnails")
        );
        assert_eq!(origin_bucket("b.s3.amazonaws.com"), Some("b"));
        assert_eq!(
            origin_bucket("b.s3-website-eu-west-1.amazonaws.com"),
            Some("b")
        );
        assert_eq!(origin_bucket("api.example.com"), None);
        assert_eq!(origin_bucket("b.s3.example.com"), None);
    }

    #[test]
    fn the_managed_policies_ttls_bound_what_the_origin_asks() {
        let optimized = Ttls::managed("658327ea-f89d-4fab-a63d-7e88639e58f6").expect("managed");
        let immutable = "public, max-age=31536000, immutable";
        assert_eq!(
            optimized.ttl(Some(immutable)),
            Duration::from_secs(31_536_000)
        );
        assert_eq!(optimized.ttl(None), Duration::from_secs(86_400));
        assert_eq!(optimized.ttl(Some("max-age=0")), Duration::from_secs(1));
        assert_eq!(
            optimized.ttl(Some("max-age=99999999999")),
            Duration::from_secs(31_536_000)
        );
        assert_eq!(
            optimized.ttl(Some("max-age=60, s-maxage=600")),
            Duration::from_secs(600)
        );
        // With a minimum TTL above 0, CloudFront ignores no-cache.
        assert_eq!(optimized.ttl(Some("no-cache")), Duration::from_secs(86_400));
        let disabled = Ttls::managed("4135ea2d-6df8-44a3-9df3-4b5a84be39ad").expect("managed");
        assert_eq!(disabled.ttl(Some(immutable)), Duration::ZERO);
        let legacy = Ttls::seconds(0, 60, 600);
        assert_eq!(legacy.ttl(Some("no-store")), Duration::ZERO);
        assert_eq!(Ttls::managed("my-own-policy"), None);
    }

    fn entry(bytes: usize, ttl: Duration) -> Cached {
        Cached {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: Bytes::from(vec![0u8; bytes]),
            stored: Instant::now(),
            ttl,
        }
    }

    #[test]
    fn the_cache_keeps_fresh_entries_drops_stale_ones_and_stays_within_its_bytes() {
        let mut cache = Cache::default();
        cache.put("/a".into(), entry(10, Duration::from_secs(60)));
        cache.put("/uncached".into(), entry(10, Duration::ZERO));
        cache.put("/stale".into(), entry(10, Duration::from_nanos(1)));
        std::thread::sleep(Duration::from_millis(2));
        assert!(cache.get("/a").is_some());
        assert!(cache.get("/uncached").is_none());
        assert!(cache.get("/stale").is_none());
        assert_eq!(cache.bytes, 10);
        cache.put(
            "/big".into(),
            entry(CACHE_BYTES - 5, Duration::from_secs(60)),
        );
        assert!(cache.get("/a").is_none(), "the oldest made room");
        assert_eq!(cache.bytes, CACHE_BYTES - 5);
        cache.put("/big".into(), entry(7, Duration::from_secs(60)));
        assert_eq!(cache.bytes, 7, "a replaced entry's bytes are given back");
    }
}
