//! A user's own lists (`/users/me/...`: the caller only) and what anyone may see of a user (`/users/{id}`,
//! `/users/{id}/ratings`). Every list is newest first, in pages with the cursors browsing uses.

use axum::extract::State;
use axum::Json;
use domain::auction::{Auction, AuctionStatus, BidStanding};
use domain::item::ItemStatus;
use domain::profile::PublicProfile;
use domain::rating::Rating;
use domain::reservation::{Reservation, ReservationStatus, Role};
use domain::store::{Listing, Page};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{cursor, limit, Id, ItemPage, PageParams, PathParam, Query};
use crate::context::Actor;
use crate::error::{ApiError, ApiResult};
use crate::responses::ItemView;
use crate::AppState;

fn listing(cursor_text: Option<&str>, limit_asked: Option<u32>) -> ApiResult<Listing> {
    Ok(Listing {
        after: cursor(cursor_text)?,
        limit: limit(limit_asked)?,
    })
}

/// A page type per list, each naming its entries' schema: utoipa inlines the entry of a generic page
/// (juhaku/utoipa#1586), which would hand a generated client a copy of each entry type per list.
macro_rules! list_page {
    ($(#[$doc:meta])* $name:ident of $entry:ty) => {
        $(#[$doc])*
        #[derive(Debug, Serialize, ToSchema)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            items: Vec<$entry>,
            /// Pass as `cursor` for the next page; absent on the last one.
            #[serde(skip_serializing_if = "Option::is_none")]
            next_cursor: Option<String>,
        }

        impl From<Page<$entry>> for $name {
            fn from(page: Page<$entry>) -> Self {
                $name {
                    items: page.items,
                    next_cursor: page.next_cursor,
                }
            }
        }
    };
}

list_page!(
    /// One page of reservations, newest first.
    ReservationPage of Reservation
);
list_page!(
    /// One page of auctions, newest first.
    AuctionPage of Auction
);
list_page!(
    /// One page of the auctions a user bid on, most recently bid first.
    BidStandingPage of BidStanding
);
list_page!(
    /// One page of ratings, newest first.
    RatingPage of Rating
);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct MyItemsParams {
    /// Only items in this status.
    status: Option<ItemStatus>,
    /// From a previous page's `nextCursor`.
    #[param(
        pattern = r"^[0-9]{1,15}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$"
    )]
    cursor: Option<String>,
    /// Entries per page (default 20, at most 50).
    #[param(minimum = 1, maximum = 50)]
    limit: Option<u32>,
}

/// The items the caller posted, of every status (or one), newest first.
#[utoipa::path(get, path = "/users/me/items", tag = "users", params(MyItemsParams),
    responses((status = 200, description = "A page of the caller's listings, newest first", body = ItemPage)), security(("cognito" = [])))]
pub(super) async fn my_items(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    Query(p): Query<MyItemsParams>,
) -> ApiResult<Json<ItemPage>> {
    let page = listing(p.cursor.as_deref(), p.limit)?;
    let page = state.service.items_of(&ctx.caller, p.status, &page).await?;
    Ok(Json(ItemPage {
        items: page
            .items
            .into_iter()
            .map(|i| ItemView::new(i, &state.media))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct MyReservationsParams {
    /// The reservations the caller made (`buyer`, the default) or that were made on their items (`seller`).
    role: Option<Role>,
    /// Only reservations in this status.
    status: Option<ReservationStatus>,
    /// From a previous page's `nextCursor`.
    #[param(
        pattern = r"^[0-9]{1,15}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$"
    )]
    cursor: Option<String>,
    /// Entries per page (default 20, at most 50).
    #[param(minimum = 1, maximum = 50)]
    limit: Option<u32>,
}

/// The caller's reservations, as buyer or as seller, newest first.
#[utoipa::path(get, path = "/users/me/reservations", tag = "users", params(MyReservationsParams),
    responses((status = 200, description = "A page of the caller's reservations, newest first", body = ReservationPage)), security(("cognito" = [])))]
pub(super) async fn my_reservations(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    Query(p): Query<MyReservationsParams>,
) -> ApiResult<Json<ReservationPage>> {
    let page = listing(p.cursor.as_deref(), p.limit)?;
    let role = p.role.unwrap_or(Role::Buyer);
    let page = state
        .service
        .reservations_of(&ctx.caller, role, p.status, &page)
        .await?;
    Ok(Json(page.into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct MyAuctionsParams {
    /// Only auctions in this status.
    status: Option<AuctionStatus>,
    /// From a previous page's `nextCursor`.
    #[param(
        pattern = r"^[0-9]{1,15}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$"
    )]
    cursor: Option<String>,
    /// Entries per page (default 20, at most 50).
    #[param(minimum = 1, maximum = 50)]
    limit: Option<u32>,
}

/// The auctions the caller runs, newest first.
#[utoipa::path(get, path = "/users/me/auctions", tag = "users", params(MyAuctionsParams),
    responses((status = 200, description = "A page of the caller's auctions, newest first", body = AuctionPage)), security(("cognito" = [])))]
pub(super) async fn my_auctions(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    Query(p): Query<MyAuctionsParams>,
) -> ApiResult<Json<AuctionPage>> {
    let page = listing(p.cursor.as_deref(), p.limit)?;
    let page = state
        .service
        .auctions_of(&ctx.caller, p.status, &page)
        .await?;
    Ok(Json(page.into()))
}

/// Each auction the caller bid on, most recently bid first, with their highest bid and where they stand:
/// `leading` or `outbid` while it is open, `won` or `lost` once it closed.
#[utoipa::path(get, path = "/users/me/bids", tag = "users", params(PageParams),
    responses((status = 200, description = "A page of the auctions the caller bid on, with their standing", body = BidStandingPage)), security(("cognito" = [])))]
pub(super) async fn my_bids(
    State(state): State<AppState>,
    Actor(ctx): Actor,
    Query(p): Query<PageParams>,
) -> ApiResult<Json<BidStandingPage>> {
    let page = listing(p.cursor.as_deref(), p.limit)?;
    Ok(Json(
        state.service.bids_of(&ctx.caller, &page).await?.into(),
    ))
}

/// A user as anyone sees them: display name, member since, rating figures, deals completed. Nothing private.
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 200, description = "The user's public profile", body = PublicProfile)))]
pub(super) async fn public_profile(
    State(state): State<AppState>,
    PathParam(id): Id,
) -> ApiResult<Json<PublicProfile>> {
    Ok(Json(state.service.public_profile(&id).await?))
}

/// The ratings a user received, newest first.
#[utoipa::path(get, path = "/users/{id}/ratings", tag = "users", params(("id" = String, Path), PageParams),
    responses((status = 200, description = "A page of the ratings the user received, newest first", body = RatingPage)))]
pub(super) async fn ratings(
    State(state): State<AppState>,
    PathParam(id): Id,
    Query(p): Query<PageParams>,
) -> ApiResult<Json<RatingPage>> {
    let page = listing(p.cursor.as_deref(), p.limit)?;
    Ok(Json(state.service.ratings_of(&id, &page).await?.into()))
}

/// Delete the caller's account. Refused (409 `account-in-use`, naming why) while they have an active
/// reservation, a leading bid or an open auction. Otherwise their listings are withdrawn (ItemDeleted each),
/// their devices' push endpoints, photos and personal data go, the identity provider's user is deleted, and
/// UserDeleted flows; their token is refused from then on (401 `account-deleted`). The ratings they gave stay.
/// Asking again finishes a deletion cut short.
#[utoipa::path(delete, path = "/users/me", tag = "users",
    responses((status = 204, description = "Deleted")), security(("cognito" = [])))]
pub(super) async fn delete_me(
    State(state): State<AppState>,
    Actor(ctx): Actor,
) -> ApiResult<axum::http::StatusCode> {
    let (withdrawn, devices) = state.service.withdraw_account(&ctx).await?;
    for arn in devices.iter().filter_map(|d| d.endpoint_arn.as_deref()) {
        state
            .push
            .unregister(arn)
            .await
            .map_err(|e| ApiError::internal(&e))?;
    }
    let erased = state
        .accounts
        .erase_photos(&ctx.caller)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    state
        .accounts
        .delete_identity(&ctx.caller)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    state.service.close_account(&ctx, withdrawn).await?;
    tracing::info!(
        withdrawn,
        erased,
        devices = devices.len(),
        "account deleted"
    );
    Ok(axum::http::StatusCode::NO_CONTENT)
}
