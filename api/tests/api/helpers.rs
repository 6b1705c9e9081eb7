use std::sync::Arc;

use api::idempotency::MemoryRequests;
use api::presign::Presigner;
use api::push::MemoryPush;
use api::{app, AppState};
use domain::profile::Platform;

/// The CDN base the test app's thumbnail URLs start with.
pub const MEDIA_BASE_URL: &str = "https://d111111abcdef8.cloudfront.net";
use async_trait::async_trait;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;

use domain::auction::{Auction, Bid};
use domain::item::Item;
use domain::profile::UserProfile;
use domain::reservation::Reservation;
use domain::search::memory::MemoryIndex;
use domain::service::{Service, Settings};
use domain::store::memory::MemoryStore;
use domain::store::*;
use http_body_util::BodyExt;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayRequestAuthorizerJwtDescription,
    ApiGatewayV2httpRequestContext,
};
use lambda_http::request::RequestContext;
use serde_json::{json, Value};
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub store: Arc<MemoryStore>,
    /// The search index: the tests catch it up with a listing as the index worker would.
    pub index: Arc<MemoryIndex>,
}

pub fn presigner() -> Presigner {
    Presigner::new(
        "ecobid-test-uploads".into(),
        "eu-west-1".into(),
        None,
        SharedCredentialsProvider::new(Credentials::new("AKIDTEST", "secret", None, None, "test")),
    )
}

pub fn app_with(store: Arc<dyn Store>) -> Router {
    app_with_index(store, Arc::new(MemoryIndex::new()))
}

pub fn app_with_index(store: Arc<dyn Store>, index: Arc<MemoryIndex>) -> Router {
    app(AppState {
        service: Service::new(store, Settings::default()),
        search: index,
        requests: Arc::new(MemoryRequests::default()),
        presigner: presigner(),
        push: Arc::new(MemoryPush::new(&[Platform::Ios])),
        media: media(),
        accounts: Arc::new(api::accounts::MemoryAccounts::default()),
        moderators: "moderators".into(),
    })
}

/// The CDN the test app's URLs point at.
pub fn media() -> api::responses::Media {
    api::responses::Media::new(MEDIA_BASE_URL).expect("media")
}

impl TestApp {
    pub fn new() -> Self {
        let store = Arc::new(MemoryStore::new());
        let index = Arc::new(MemoryIndex::new());
        Self {
            router: app_with_index(store.clone(), index.clone()),
            store,
            index,
        }
    }
}

/// A response, its status and its body as JSON (Null when empty).
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The problem `type` code of an error answer.
    pub fn problem(&self) -> &str {
        self.body["type"]
            .as_str()
            .and_then(|t| t.strip_prefix("urn:ecobid:problem:"))
            .unwrap_or("")
    }
}

/// The request context API Gateway's JWT authorizer gives a request of `user`.
pub fn context(user: Option<&str>) -> RequestContext {
    let mut ctx = ApiGatewayV2httpRequestContext::default();
    ctx.request_id = Some("req-1".into());
    if let Some(user) = user {
        let mut jwt = ApiGatewayRequestAuthorizerJwtDescription::default();
        jwt.claims.insert("sub".into(), user.into());
        jwt.claims
            .insert("email".into(), format!("{user}@example.com"));
        // As API Gateway passes claims: strings. A user named `unverified-…` has not verified the address.
        let verified = !user.starts_with("unverified-");
        jwt.claims
            .insert("email_verified".into(), verified.to_string());
        // A user named `moderator…` is in the moderators group (a list claim, as API Gateway writes one).
        if user.starts_with("moderator") {
            jwt.claims
                .insert("cognito:groups".into(), "[helpers moderators]".into());
        }
        let mut authorizer = ApiGatewayRequestAuthorizer::default();
        authorizer.jwt = Some(jwt);
        ctx.authorizer = Some(authorizer);
    }
    RequestContext::ApiGatewayV2(ctx)
}

pub struct Call<'a> {
    router: &'a Router,
    request: axum::http::request::Builder,
    body: Body,
}

pub fn call<'a>(app: &'a Router, method: Method, uri: &str, user: Option<&str>) -> Call<'a> {
    Call {
        router: app,
        request: Request::builder()
            .method(method)
            .uri(uri)
            .extension(context(user)),
        body: Body::empty(),
    }
}

impl<'a> Call<'a> {
    pub fn json(mut self, body: Value) -> Self {
        self.request = self
            .request
            .header(header::CONTENT_TYPE, "application/json");
        self.body = Body::from(body.to_string());
        self
    }

    pub fn raw(mut self, content_type: &str, body: impl Into<Body>) -> Self {
        self.request = self.request.header(header::CONTENT_TYPE, content_type);
        self.body = body.into();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    pub async fn send(self) -> Answer {
        let request = self.request.body(self.body).expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Answer {
            status,
            content_type,
            headers,
            body,
        }
    }
}

pub fn new_item(mode: &str) -> Value {
    json!({
        "title": "Oak table",
        "description": "Solid oak",
        "category": "furniture",
        "location": { "lat": 48.8584, "lon": 2.2945 },
        "mode": mode
    })
}

/// Posts an item as `user`, returns its id.
pub async fn post_item(app: &Router, user: &str, mode: &str) -> String {
    let answer = call(app, Method::POST, "/items", Some(user))
        .json(new_item(mode))
        .send()
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body["id"].as_str().expect("id").to_owned()
}

/// A store that fails every call the given way (throttled, or broken with a secret in its message).
pub struct FailingStore(pub StoreError);

#[async_trait]
impl Store for FailingStore {
    async fn item(&self, _: &str) -> Result<Option<Versioned<Item>>, StoreError> {
        Err(self.0.clone())
    }
    async fn items(&self, _: &[String]) -> Result<Vec<Item>, StoreError> {
        Err(self.0.clone())
    }
    async fn reservation(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<Versioned<Reservation>>, StoreError> {
        Err(self.0.clone())
    }
    async fn auction(&self, _: &str) -> Result<Option<Versioned<Auction>>, StoreError> {
        Err(self.0.clone())
    }
    async fn profile(&self, _: &str) -> Result<Option<UserProfile>, StoreError> {
        Err(self.0.clone())
    }
    async fn devices(&self, _: &str) -> Result<Vec<domain::profile::Device>, StoreError> {
        Err(self.0.clone())
    }
    async fn bids(&self, _: &str, _: Option<i64>, _: usize) -> Result<Page<Bid>, StoreError> {
        Err(self.0.clone())
    }
    async fn browse(&self, _: &BrowseQuery) -> Result<Page<Item>, StoreError> {
        Err(self.0.clone())
    }
    async fn items_of(
        &self,
        _: &str,
        _: Option<domain::item::ItemStatus>,
        _: &Listing,
    ) -> Result<Page<Item>, StoreError> {
        Err(self.0.clone())
    }
    async fn reservations_of(
        &self,
        _: &str,
        _: domain::reservation::Role,
        _: Option<domain::reservation::ReservationStatus>,
        _: &Listing,
    ) -> Result<Page<Reservation>, StoreError> {
        Err(self.0.clone())
    }
    async fn auctions_of(
        &self,
        _: &str,
        _: Option<domain::auction::AuctionStatus>,
        _: &Listing,
    ) -> Result<Page<Auction>, StoreError> {
        Err(self.0.clone())
    }
    async fn bidding_of(
        &self,
        _: &str,
        _: &Listing,
    ) -> Result<Page<domain::auction::Bidding>, StoreError> {
        Err(self.0.clone())
    }
    async fn ratings_of(
        &self,
        _: &str,
        _: &Listing,
    ) -> Result<Page<domain::rating::Rating>, StoreError> {
        Err(self.0.clone())
    }
    async fn stale_listings(
        &self,
        _: chrono::DateTime<chrono::Utc>,
        _: usize,
    ) -> Result<Vec<String>, StoreError> {
        Err(self.0.clone())
    }
    async fn commit(&self, _: Change) -> Result<(), StoreError> {
        Err(self.0.clone())
    }
}
