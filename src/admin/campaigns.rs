//! `/api/v1/campaigns`: broadcasting, and following and controlling campaigns.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AdminState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::ApiJson;
use crate::office::Principal;
use crate::office::campaigns::{BroadcastDraft, CampaignDetail, CampaignList, Control};
use crate::store::Audience;

/// Campaigns listed at most.
const MAX_LISTED: u32 = 200;

/// A broadcast to write.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewBroadcast {
    pub audience: Audience,
    pub text_ar: String,
    pub text_fr: String,
}

/// `POST /api/v1/campaigns`: creates a broadcast in draft with its preview; confirm it to send.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body = NewBroadcast,
    responses((status = 200, body = BroadcastDraft), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_broadcast(
    State(state): State<AdminState>,
    principal: Principal,
    ApiJson(broadcast): ApiJson<NewBroadcast>,
) -> ApiResult<Json<BroadcastDraft>> {
    let draft = state
        .office
        .create_broadcast(
            &principal,
            &broadcast.audience,
            &broadcast.text_ar,
            &broadcast.text_fr,
        )
        .await?;
    Ok(Json(draft))
}

/// `GET /api/v1/campaigns`.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns",
    responses((status = 200, body = CampaignList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_campaigns(
    State(state): State<AdminState>,
    principal: Principal,
) -> ApiResult<Json<CampaignList>> {
    Ok(Json(state.office.campaigns(&principal, MAX_LISTED).await?))
}

/// `GET /api/v1/campaigns/{id}`.
#[utoipa::path(get, path = "/api/v1/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = CampaignDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show_campaign(
    State(state): State<AdminState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<CampaignDetail>> {
    Ok(Json(state.office.campaign(&principal, id).await?))
}

/// The result of a campaign action.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActionDone {
    pub campaign: i64,
    pub action: String,
    /// For `confirm`: the notices queued.
    pub notices: Option<u64>,
}

/// `POST /api/v1/campaigns/{id}/{action}`: `confirm` (a draft broadcast), `pause`, `resume`,
/// `cancel`.
#[utoipa::path(post, path = "/api/v1/campaigns/{id}/{action}", tag = "campaigns",
    params(("id" = i64, Path), ("action" = String, Path, description = "confirm, pause, resume or cancel")),
    responses((status = 200, body = ActionDone), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn campaign_action(
    State(state): State<AdminState>,
    principal: Principal,
    Path((id, action)): Path<(i64, String)>,
) -> ApiResult<Json<ActionDone>> {
    let notices = if action == "confirm" {
        Some(state.office.confirm_broadcast(&principal, id).await?)
    } else {
        let control = Control::parse(&action).ok_or(ApiError::NotFound)?;
        state
            .office
            .control_campaign(&principal, id, control)
            .await?;
        None
    };
    Ok(Json(ActionDone {
        campaign: id,
        action,
        notices,
    }))
}
