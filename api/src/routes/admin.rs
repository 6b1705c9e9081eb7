//! The moderators' routes (`/admin/...`): only tokens of the moderators group reach them ([`Moderator`]);
//! each action is an event naming who did it.

use axum::extract::State;
use axum::Json;
use domain::profile::Account;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Body, Id, PathParam};
use crate::context::Moderator;
use crate::error::ApiResult;
use crate::responses::ItemView;
use crate::AppState;

/// Why a moderator acts: what the seller or user is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModerationRequest {
    /// Not all blank (spaces, tabs, line breaks); kept trimmed of them.
    #[schema(min_length = 1, max_length = 500, pattern = r"[^ \t\n\r]")]
    pub reason: String,
}

/// Where a user's account stands after a moderator's action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountStanding {
    pub user_id: String,
    pub account: Account,
}

/// Take a listing down (moderators only): hidden from browse, search and its page, closed to reservations,
/// bids and edits; an auction under way ends at once with no winner (its bidders are told they lost); a
/// reservation under way stays the parties' to finish. ItemTakenDown names the moderator; the seller is told
/// why. Taking down a listing that is down already changes nothing.
#[utoipa::path(post, path = "/admin/items/{id}/takedown", tag = "admin", params(("id" = String, Path)),
    request_body = ModerationRequest,
    responses((status = 200, description = "The item, taken down", body = ItemView)),
    security(("cognito" = [])))]
pub(super) async fn take_down(
    State(state): State<AppState>,
    Moderator(ctx): Moderator,
    PathParam(id): Id,
    Body(input): Body<ModerationRequest>,
) -> ApiResult<Json<ItemView>> {
    let item = state.service.take_down(&ctx, &id, &input.reason).await?;
    Ok(Json(ItemView::new(item, &state.media)))
}

/// Suspend a user (moderators only): every request of theirs is refused (403 `suspended`) until a moderator
/// reinstates them; UserSuspended names the moderator and the user is told why. 404 for a user who never
/// posted, reserved or bid, or who deleted their account.
#[utoipa::path(post, path = "/admin/users/{id}/suspend", tag = "admin", params(("id" = String, Path)),
    request_body = ModerationRequest,
    responses((status = 200, description = "The account, suspended", body = AccountStanding)),
    security(("cognito" = [])))]
pub(super) async fn suspend(
    State(state): State<AppState>,
    Moderator(ctx): Moderator,
    PathParam(id): Id,
    Body(input): Body<ModerationRequest>,
) -> ApiResult<Json<AccountStanding>> {
    let account = state.service.suspend(&ctx, &id, &input.reason).await?;
    Ok(Json(AccountStanding {
        user_id: id,
        account,
    }))
}

/// Lift a user's suspension (moderators only); UserReinstated names the moderator.
#[utoipa::path(post, path = "/admin/users/{id}/reinstate", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The account, active", body = AccountStanding)),
    security(("cognito" = [])))]
pub(super) async fn reinstate(
    State(state): State<AppState>,
    Moderator(ctx): Moderator,
    PathParam(id): Id,
) -> ApiResult<Json<AccountStanding>> {
    let account = state.service.reinstate(&ctx, &id).await?;
    Ok(Json(AccountStanding {
        user_id: id,
        account,
    }))
}
