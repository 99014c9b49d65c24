//! `/api/v1/changes`: reviewing change sets, approving or rejecting them.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AdminState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::ApiQuery;
use crate::office::Principal;
use crate::office::changes::{Approval, ChangeDetail, ChangeList};
use crate::store::ChangeSetStatus;

/// Change sets listed at most.
const MAX_LISTED: u32 = 200;

/// Filters of the change set list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeListParams {
    /// pending, approved, rejected or superseded.
    pub status: Option<String>,
}

/// `GET /api/v1/changes`.
#[utoipa::path(get, path = "/api/v1/changes", tag = "changes", params(ChangeListParams),
    responses((status = 200, body = ChangeList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_changes(
    State(state): State<AdminState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ChangeListParams>,
) -> ApiResult<Json<ChangeList>> {
    let status = params
        .status
        .map(|s| s.parse::<ChangeSetStatus>().map_err(ApiError::BadRequest))
        .transpose()?;
    Ok(Json(
        state
            .office
            .change_sets(&principal, status, MAX_LISTED)
            .await?,
    ))
}

/// Paging of a change set's voters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeDetailParams {
    /// Voters per page, 1 to 1000 (default 100).
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

/// `GET /api/v1/changes/{id}`.
#[utoipa::path(get, path = "/api/v1/changes/{id}", tag = "changes",
    params(("id" = i64, Path), ChangeDetailParams),
    responses((status = 200, body = ChangeDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show_change(
    State(state): State<AdminState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiQuery(params): ApiQuery<ChangeDetailParams>,
) -> ApiResult<Json<ChangeDetail>> {
    let detail = state
        .office
        .change_set(
            &principal,
            id,
            params.limit.unwrap_or(100),
            params.offset.unwrap_or(0),
        )
        .await?;
    Ok(Json(detail))
}

/// `POST /api/v1/changes/{id}/approve`.
#[utoipa::path(post, path = "/api/v1/changes/{id}/approve", tag = "changes", params(("id" = i64, Path)),
    responses((status = 200, body = Approval), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "not pending, or superseded")),
    security(("bearer" = [])))]
pub async fn approve_change(
    State(state): State<AdminState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Approval>> {
    Ok(Json(state.office.approve(&principal, id).await?))
}

/// A decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Decision {
    pub status: ChangeSetStatus,
}

/// `POST /api/v1/changes/{id}/reject`.
#[utoipa::path(post, path = "/api/v1/changes/{id}/reject", tag = "changes", params(("id" = i64, Path)),
    responses((status = 200, body = Decision), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reject_change(
    State(state): State<AdminState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<Decision>> {
    state.office.reject(&principal, id).await?;
    Ok(Json(Decision {
        status: ChangeSetStatus::Rejected,
    }))
}
