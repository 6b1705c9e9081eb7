//! The endpoints: each extracts, calls one use-case and answers. Rules live in `domain`.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use domain::auction::{Auction, Bid};
use domain::error::{DomainError, FieldError, Unprocessable, Validator};
use domain::geo;
use domain::item::Category;
use domain::profile::{Device, Platform, UserProfile};
use domain::rating::Rating;
use domain::reservation::Reservation;
use domain::search::{Ranked, SearchQuery};
use domain::store::{BrowseQuery, Cursor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::context::{Actor, VerifiedEmail};
use crate::error::{ApiError, ApiResult};
use crate::push::PushError;
use crate::requests::{NewAuction, NewItem, NewRating, ProfileUpdate};
use crate::responses::{ItemView, PhotoView};
use crate::AppState;

/// A JSON body; a bad one is a problem (400 malformed/invalid, 413 too large, 415 not JSON).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Body<T>(pub T);

/// Path parameters (`{id}`); a malformed one is a 404 problem.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct PathParam<T>(pub T);

type Id = PathParam<String>;

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

mod activity;
mod admin;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(openapi_json))
        .routes(routes!(browse, create_item))
        .routes(routes!(get_item, edit_item, delete_item))
        .routes(routes!(add_photo))
        .routes(routes!(reserve))
        .routes(routes!(get_reservation))
        .routes(routes!(confirm))
        .routes(routes!(complete))
        .routes(routes!(cancel))
        .routes(routes!(create_auction))
        .routes(routes!(get_auction))
        .routes(routes!(list_bids, place_bid))
        .routes(routes!(me, update_me, activity::delete_me))
        .routes(routes!(activity::my_items))
        .routes(routes!(activity::my_reservations))
        .routes(routes!(activity::my_auctions))
        .routes(routes!(activity::my_bids))
        .routes(routes!(activity::public_profile))
        .routes(routes!(register_device))
        .routes(routes!(unregister_device))
        .routes(routes!(activity::ratings, rate_user))
        .routes(routes!(admin::take_down))
        .routes(routes!(admin::suspend))
        .routes(routes!(admin::reinstate))
}

/// Unknown paths answer a problem too.
pub async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no-route",
        format!("no route {method} {}", uri.path()),
    )
}

/// A method the path does not have: 405 with the methods it has (axum adds `Allow`). The gateway's `$default`
/// route brings these here instead of answering 404 itself.
pub async fn no_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!("{} has no {method}: see the Allow header", uri.path()),
    )
}

/// The OpenAPI 3.1 document of this API, generated from the code.
#[utoipa::path(get, path = "/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
async fn openapi_json(
    Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> impl IntoResponse {
    Json(doc.as_ref().clone())
}

// ---- items -------------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct BrowseParams {
    /// Words to search titles and descriptions for (case, accents and word endings do not matter: `OAK`
    /// finds "oak", `tables` finds "table"). Hits rank by relevance (a word of the title counts more than
    /// one of the description), then newest first; the first 5 words looked up are used, the 200 newest
    /// listings of each searched.
    #[param(min_length = 1, max_length = 200, example = "oak table")]
    q: Option<String>,
    /// `lat,lon` of the centre: items within `radiusKm` of it.
    #[param(
        pattern = r"^-?(?:(?:0?0?[0-9]|0?[1-8][0-9])(?:\.[0-9]+)?|0?90(?:\.0+)?),-?(?:(?:0?0?[0-9]|0?[1-9][0-9]|1[0-7][0-9])(?:\.[0-9]+)?|180(?:\.0+)?)$",
        example = "48.8584,2.2945"
    )]
    near: Option<String>,
    /// Radius around `near`, km (default 10, at most 50).
    #[param(minimum = 0.1, maximum = 50.0)]
    radius_km: Option<f64>,
    /// Only this category (alone: the category's newest items).
    category: Option<Category>,
    /// From a previous page's `nextCursor` (a search's carries the score it stopped at: `<score>:`).
    #[param(
        pattern = r"^(?:[0-9]{1,3}:)?[0-9]{1,15}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$"
    )]
    cursor: Option<String>,
    /// Items per page (default 20, at most 50).
    #[param(minimum = 1, maximum = 50)]
    limit: Option<u32>,
}

/// One page of items: newest first, or a search's by relevance.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemPage {
    /// Each with its cover thumbnail, so a list needs no second request.
    items: Vec<ItemView>,
    /// Pass as `cursor` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

fn cursor(text: Option<&str>) -> ApiResult<Option<Cursor>> {
    text.map(|c| {
        Cursor::parse(c).ok_or_else(|| {
            ApiError::invalid(vec![FieldError::new(
                "cursor",
                "not a cursor this API gave",
            )])
        })
    })
    .transpose()
}

/// A browse or search cursor (a browse's is a search's without its score).
fn ranked(text: Option<&str>) -> ApiResult<Option<Ranked>> {
    text.map(|c| {
        Ranked::parse(c).ok_or_else(|| {
            ApiError::invalid(vec![FieldError::new(
                "cursor",
                "not a cursor this API gave",
            )])
        })
    })
    .transpose()
}

fn limit(limit: Option<u32>) -> ApiResult<usize> {
    match limit.unwrap_or(20) {
        n @ 1..=50 => Ok(n as usize),
        _ => Err(ApiError::invalid(vec![FieldError::new(
            "limit",
            "must be 1 to 50",
        )])),
    }
}

/// Browse listed items near a point (geohash cells, then real distance) and/or in a category; with neither,
/// the newest listed items of every category. With `q`, search them. A request reads a bounded part of the
/// index whatever it asks (a browse at most 640 entries, a search 1,000), so a page may hold fewer than
/// `limit` items, or none, and still have a `nextCursor`: follow it until it is absent.
#[utoipa::path(get, path = "/items", tag = "items", params(BrowseParams),
    responses((status = 200, description = "A page of listed items", body = ItemPage)))]
async fn browse(
    State(state): State<AppState>,
    Query(p): Query<BrowseParams>,
) -> ApiResult<Json<ItemPage>> {
    let mut v = Validator::default();
    let near = match &p.near {
        Some(text) => {
            let point = geo::parse_point(text);
            v.check(
                point.is_some(),
                "near",
                "must be lat,lon with -90 <= lat <= 90 and -180 <= lon <= 180",
            );
            point
        }
        None => None,
    };
    let radius = p.radius_km.unwrap_or(10.0);
    v.check(
        (0.1..=geo::MAX_RADIUS_KM).contains(&radius),
        "radiusKm",
        format!("must be 0.1 to {}", geo::MAX_RADIUS_KM),
    );
    if let Some(q) = &p.q {
        v.check(
            (1..=200).contains(&q.chars().count()),
            "q",
            "must be 1 to 200 characters",
        );
    }
    v.finish()?;
    let near = near.map(|(lat, lon)| (lat, lon, radius));
    let after = ranked(p.cursor.as_deref())?;
    let limit = limit(p.limit)?;
    let page = match &p.q {
        Some(q) => {
            let query = SearchQuery {
                near,
                category: p.category,
                after,
                limit,
                ..SearchQuery::new(q)
            };
            state.service.search(state.search.as_ref(), &query).await?
        }
        None => {
            let query = BrowseQuery {
                near,
                category: p.category,
                after: after.map(|r| r.position),
                limit,
            };
            state.service.browse(&query).await?
        }
    };
    Ok(Json(ItemPage {
        items: page
            .items
            .into_iter()
            .map(|i| ItemView::new(i, &state.media))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Post an item, free or for auction. Emits ItemCreated.
#[utoipa::path(post, path = "/items", tag = "items", request_body = NewItem,
    responses((status = 201, description = "The item, listed", body = ItemView)), security(("cognito" = [])))]
async fn create_item(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    Body(input): Body<NewItem>,
) -> ApiResult<(StatusCode, Json<ItemView>)> {
    let item = state.service.create_item(&ctx, input.into()).await?;
    Ok((StatusCode::CREATED, Json(ItemView::new(item, &state.media))))
}

/// An item; its `ETag` is the version an edit names in `If-Match`. A listing a moderator took down is not
/// found here (its seller sees it, with why, in `GET /users/me/items`).
#[utoipa::path(get, path = "/items/{id}", tag = "items", params(("id" = String, Path)),
    responses((status = 200, description = "The item", body = ItemView,
        headers(("ETag" = String, description = "The item's version, quoted: send it as If-Match to edit")))))]
async fn get_item(
    State(state): State<AppState>,
    PathParam(id): Id,
) -> ApiResult<([(header::HeaderName, String); 1], Json<ItemView>)> {
    let item = state.service.get_item_versioned(&id).await?;
    if !item.value.is_public() {
        return Err(ApiError::not_found("item"));
    }
    Ok((
        [(header::ETAG, etag(item.version))],
        Json(ItemView::new(item.value, &state.media)),
    ))
}

fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// The version an edit was decided from: its `If-Match` (one strong ETag this API gave).
fn if_match(headers: &HeaderMap) -> ApiResult<u64> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Err(ApiError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "precondition-required",
            "an edit needs If-Match: the ETag of the item as read (GET /items/{id})",
        ));
    };
    // Exactly the documented pattern (`"<1 to 19 digits>"`): no sign, no weak or `*` form, no list.
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().strip_prefix('"')?.strip_suffix('"'))
        .filter(|v| (1..=19).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::invalid(vec![FieldError::new(
                "If-Match",
                "must be the ETag GET /items/{id} answered, e.g. \"3\"",
            )])
        })
}

/// Change a listing's title, description or category (the fields given; at least one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemEditRequest {
    /// Not all blank (spaces, tabs, line breaks); kept trimmed of them.
    #[schema(min_length = 1, max_length = 120, pattern = r"[^ \t\n\r]")]
    title: Option<String>,
    #[schema(max_length = 2000)]
    description: Option<String>,
    category: Option<Category>,
}

/// The seller edits a listing nobody reserved or bid on, from the version read (`If-Match`). Emits
/// ItemUpdated when something changed. 412 `version-mismatch` when the item changed since; 409
/// `item-not-editable` once reserved or bid on; 428 without If-Match.
#[utoipa::path(patch, path = "/items/{id}", tag = "items",
    params(("id" = String, Path), ("If-Match" = String, Header, description = "The ETag of the item as read", pattern = r#"^"[0-9]{1,19}"$"#)),
    request_body = ItemEditRequest,
    responses((status = 200, description = "The item, edited", body = ItemView, headers(("ETag" = String, description = "The item's new version"))),
        (status = 412, description = "The item changed since the version read", body = crate::error::Problem,
            content_type = "application/problem+json"),
        (status = 428, description = "No If-Match", body = crate::error::Problem,
            content_type = "application/problem+json")),
    security(("cognito" = [])))]
async fn edit_item(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    PathParam(id): Id,
    headers: HeaderMap,
    Body(input): Body<ItemEditRequest>,
) -> ApiResult<([(header::HeaderName, String); 1], Json<ItemView>)> {
    let version = if_match(&headers)?;
    let edit = domain::item::ItemEdit {
        title: input.title,
        description: input.description,
        category: input.category,
    };
    let item = state.service.edit_item(&ctx, &id, version, &edit).await?;
    Ok((
        [(header::ETAG, etag(item.version))],
        Json(ItemView::new(item.value, &state.media)),
    ))
}

/// The seller withdraws an item nobody has taken. Emits ItemDeleted.
#[utoipa::path(delete, path = "/items/{id}", tag = "items", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted")), security(("cognito" = [])))]
async fn delete_item(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    PathParam(id): Id,
) -> ApiResult<StatusCode> {
    state.service.delete_item(&ctx, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Content types a photo may have.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum ImageType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/webp")]
    Webp,
}

impl ImageType {
    fn as_str(self) -> &'static str {
        match self {
            ImageType::Jpeg => "image/jpeg",
            ImageType::Png => "image/png",
            ImageType::Webp => "image/webp",
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhotoRequest {
    /// The content type the upload will have (the form allows exactly this one).
    pub content_type: ImageType,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PhotoUpload {
    pub photo: PhotoView,
    pub upload: crate::presign::UploadForm,
}

/// Start a photo upload: the photo is `pending`, the answer a presigned POST form for its key.
#[utoipa::path(post, path = "/items/{id}/photos", tag = "items", params(("id" = String, Path)),
    request_body = PhotoRequest, responses((status = 201, description = "The photo, pending, and the form to upload it with", body = PhotoUpload)), security(("cognito" = [])))]
async fn add_photo(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    PathParam(id): Id,
    Body(input): Body<PhotoRequest>,
) -> ApiResult<(StatusCode, Json<PhotoUpload>)> {
    let photo = state.service.add_photo(&ctx, &id).await?;
    let upload = state
        .presigner
        .form(
            &photo.key,
            input.content_type.as_str(),
            &ctx.correlation.to_string(),
            ctx.now,
        )
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let photo = PhotoView::new(photo, &state.media);
    Ok((StatusCode::CREATED, Json(PhotoUpload { photo, upload })))
}

// ---- reservations ------------------------------------------------------------------------------------------

/// Reserve a free item: item `reserved`, reservation `pending`. Emits ReservationCreated.
#[utoipa::path(post, path = "/items/{id}/reserve", tag = "reservations", params(("id" = String, Path)),
    responses((status = 201, description = "The reservation, pending", body = Reservation)), security(("cognito" = [])))]
async fn reserve(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    PathParam(id): Id,
) -> ApiResult<(StatusCode, Json<Reservation>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.service.reserve(&ctx, &id).await?),
    ))
}

/// A reservation, to its buyer and seller.
#[utoipa::path(get, path = "/reservations/{id}", tag = "reservations", params(("id" = String, Path)),
    responses((status = 200, description = "The reservation", body = Reservation)), security(("cognito" = [])))]
async fn get_reservation(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    PathParam(id): Id,
) -> ApiResult<Json<Reservation>> {
    Ok(Json(state.service.get_reservation(&ctx, &id).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfirmRequest {
    /// The agreed pickup time.
    pickup_at: Option<DateTime<Utc>>,
}

/// The seller confirms (optionally with a pickup time). Emits ReservationConfirmed.
#[utoipa::path(post, path = "/reservations/{id}/confirm", tag = "reservations", params(("id" = String, Path)),
    request_body(content = Option<ConfirmRequest>, description = "Optional"),
    responses((status = 200, description = "The reservation, confirmed", body = Reservation)), security(("cognito" = [])))]
async fn confirm(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    PathParam(id): Id,
    body: axum::body::Bytes,
) -> ApiResult<Json<Reservation>> {
    // No body, or `null` (the document's body is optional and nullable), is a confirmation without a time.
    let input: ConfirmRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ConfirmRequest::default()
    } else {
        serde_json::from_slice::<Option<ConfirmRequest>>(&body)
            .map(Option::unwrap_or_default)
            .map_err(|e| {
                let code = if e.is_syntax() || e.is_eof() {
                    "malformed-json"
                } else {
                    "validation-failed"
                };
                ApiError::bad_request(code, e.to_string())
            })?
    };
    Ok(Json(
        state.service.confirm(&ctx, &id, input.pickup_at).await?,
    ))
}

/// Either party records the pickup: both users' stats move. Emits ReservationCompleted.
#[utoipa::path(post, path = "/reservations/{id}/complete", tag = "reservations", params(("id" = String, Path)),
    responses((status = 200, description = "The reservation, completed", body = Reservation)), security(("cognito" = [])))]
async fn complete(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    PathParam(id): Id,
) -> ApiResult<Json<Reservation>> {
    Ok(Json(state.service.complete(&ctx, &id).await?))
}

/// Either party cancels; the item is `available` again. Emits ReservationCancelled.
#[utoipa::path(post, path = "/reservations/{id}/cancel", tag = "reservations", params(("id" = String, Path)),
    responses((status = 200, description = "The reservation, cancelled", body = Reservation)), security(("cognito" = [])))]
async fn cancel(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    PathParam(id): Id,
) -> ApiResult<Json<Reservation>> {
    Ok(Json(state.service.cancel(&ctx, &id).await?))
}

// ---- auctions ----------------------------------------------------------------------------------------------

/// Put one of the caller's auction items up for auction. Emits AuctionCreated.
#[utoipa::path(post, path = "/auctions", tag = "auctions", request_body = NewAuction,
    responses((status = 201, description = "The auction, open", body = Auction)), security(("cognito" = [])))]
async fn create_auction(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    Body(input): Body<NewAuction>,
) -> ApiResult<(StatusCode, Json<Auction>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.service.create_auction(&ctx, &input.into()).await?),
    ))
}

/// An auction with its current bid and bid count.
#[utoipa::path(get, path = "/auctions/{id}", tag = "auctions", params(("id" = String, Path)),
    responses((status = 200, description = "The auction", body = Auction)))]
async fn get_auction(State(state): State<AppState>, PathParam(id): Id) -> ApiResult<Json<Auction>> {
    Ok(Json(state.service.get_auction(&id).await?))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BidRequest {
    /// Cents: at least max(startingPrice, currentBid + minIncrement).
    #[schema(minimum = 1, maximum = 1_000_000_000)]
    #[serde(deserialize_with = "crate::requests::whole")]
    pub amount: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BidPlacedResponse {
    pub bid: Bid,
    pub auction: Auction,
}

/// Bid. Refusals are 409 with the reason (bid-too-low, auction-ended, auction-closed). Emits BidPlaced (and
/// AuctionExtended when the bid came in the last 2 minutes).
#[utoipa::path(post, path = "/auctions/{id}/bids", tag = "auctions", params(("id" = String, Path)),
    request_body = BidRequest, responses((status = 201, description = "The bid, accepted", body = BidPlacedResponse)), security(("cognito" = [])))]
async fn place_bid(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    PathParam(id): Id,
    Body(input): Body<BidRequest>,
) -> ApiResult<(StatusCode, Json<BidPlacedResponse>)> {
    let (bid, auction) = state.service.place_bid(&ctx, &id, input.amount).await?;
    Ok((
        StatusCode::CREATED,
        Json(BidPlacedResponse { bid, auction }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PageParams {
    /// From a previous page's `nextCursor`.
    #[param(
        pattern = r"^[0-9]{1,15}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$"
    )]
    cursor: Option<String>,
    /// Entries per page (default 20, at most 50).
    #[param(minimum = 1, maximum = 50)]
    limit: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct BidPageParams {
    /// From a previous page's `nextCursor`: the amount the next page's bids are below.
    #[param(pattern = r"^[0-9]{1,15}$")]
    cursor: Option<String>,
    /// Entries per page (default 20, at most 50).
    #[param(minimum = 1, maximum = 50)]
    limit: Option<u32>,
}

/// One page of bids, highest (and so newest) first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BidPage {
    items: Vec<Bid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/auctions/{id}/bids", tag = "auctions", params(("id" = String, Path), BidPageParams),
    responses((status = 200, description = "A page of the auction's bids, highest first", body = BidPage)))]
async fn list_bids(
    State(state): State<AppState>,
    PathParam(id): Id,
    Query(p): Query<BidPageParams>,
) -> ApiResult<Json<BidPage>> {
    let below = p
        .cursor
        .as_deref()
        .map(|c| {
            let digits = (1..=15).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_digit());
            digits
                .then(|| c.parse::<i64>().ok())
                .flatten()
                .ok_or_else(|| {
                    ApiError::invalid(vec![FieldError::new(
                        "cursor",
                        "not a cursor this API gave",
                    )])
                })
        })
        .transpose()?;
    let page = state.service.bids(&id, below, limit(p.limit)?).await?;
    Ok(Json(BidPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

// ---- users -------------------------------------------------------------------------------------------------

#[utoipa::path(get, path = "/users/me", tag = "users",
    responses((status = 200, description = "The caller's profile", body = UserProfile)), security(("cognito" = [])))]
async fn me(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    VerifiedEmail(email): VerifiedEmail,
) -> ApiResult<Json<UserProfile>> {
    Ok(Json(
        state
            .service
            .profile_with_email(&ctx, email.as_deref())
            .await?,
    ))
}

/// Set the display name, the home location (for "new items near you") and which notices to get.
#[utoipa::path(put, path = "/users/me", tag = "users", request_body = ProfileUpdate,
    responses((status = 200, description = "The caller's profile, updated", body = UserProfile)), security(("cognito" = [])))]
async fn update_me(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    VerifiedEmail(email): VerifiedEmail,
    Body(input): Body<ProfileUpdate>,
) -> ApiResult<Json<UserProfile>> {
    state.service.update_profile(&ctx, &input.into()).await?;
    Ok(Json(
        state
            .service
            .profile_with_email(&ctx, email.as_deref())
            .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceRequest {
    platform: Platform,
    /// The push token the platform gave the app (APNs: hex; FCM: letters, digits, `_`, `:`, `-`).
    #[schema(
        min_length = 1,
        max_length = 4096,
        pattern = "^[A-Za-z0-9_:-]{1,4096}$"
    )]
    token: String,
}

/// Register a push token: the device's SNS platform endpoint is created, or updated (and moved to the caller
/// when another account registered the same token). 422 `push-platform-unavailable` for a platform this
/// deployment has no push credentials for.
#[utoipa::path(post, path = "/users/me/devices", tag = "users", request_body = DeviceRequest,
    responses((status = 201, description = "The device, registered", body = Device)), security(("cognito" = [])))]
async fn register_device(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    VerifiedEmail(email): VerifiedEmail,
    Body(input): Body<DeviceRequest>,
) -> ApiResult<(StatusCode, Json<Device>)> {
    // Exactly the documented pattern: APNs tokens are hex, FCM's letters, digits and `_:-`.
    let token = input.token.as_str();
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-');
    if !(1..=4096).contains(&token.len()) || !token.bytes().all(allowed) {
        return Err(ApiError::invalid(vec![FieldError::new(
            "token",
            "must be 1 to 4096 letters, digits, '_', ':' or '-'",
        )]));
    }
    let registration = state
        .push
        .register(input.platform, token, &ctx.caller)
        .await
        .map_err(|e| match e {
            PushError::PlatformOff(_) => {
                DomainError::unprocessable(Unprocessable::PushPlatformUnavailable, e).into()
            }
            PushError::TokenRefused(_) => {
                DomainError::unprocessable(Unprocessable::InvalidPushToken, e).into()
            }
            PushError::Failed(why) => ApiError::internal(&why),
        })?;
    let device = Device {
        platform: input.platform,
        token_hash: URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())),
        endpoint_arn: Some(registration.endpoint_arn),
        registered_at: ctx.now,
    };
    let device = state
        .service
        .register_device(&ctx, device, registration.previous_owner.as_deref())
        .await?;
    // The app registers its device at sign-in: the moment to keep the address email notices go to.
    state
        .service
        .profile_with_email(&ctx, email.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(device)))
}

/// Unregister a device (the app signs out): its endpoint is deleted and it gets no more push.
#[utoipa::path(delete, path = "/users/me/devices/{id}", tag = "users",
    params(("id" = String, Path, description = "The device's tokenHash")),
    responses((status = 204, description = "Unregistered")), security(("cognito" = [])))]
async fn unregister_device(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    PathParam(id): Id,
) -> ApiResult<StatusCode> {
    let device = state.service.unregister_device(&ctx, &id).await?;
    if let Some(arn) = &device.endpoint_arn {
        state
            .push
            .unregister(arn)
            .await
            .map_err(|e| ApiError::internal(&e))?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Rate the other party of a completed deal, once. Emits UserRated.
#[utoipa::path(post, path = "/users/{id}/ratings", tag = "users", params(("id" = String, Path)),
    request_body = NewRating, responses((status = 201, description = "The rating", body = Rating)), security(("cognito" = [])))]
async fn rate_user(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    PathParam(id): Id,
    Body(input): Body<NewRating>,
) -> ApiResult<(StatusCode, Json<Rating>)> {
    Ok((
        StatusCode::CREATED,
        Json(state.service.rate(&ctx, &id, &input.into()).await?),
    ))
}
