//! `/api/v1/clerks`: invitation codes for the clerks who file reports in the field, the list
//! of clerks, and revoking one.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::AdminState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiQuery, commune_param};
use super::reports::CommuneParams;
use crate::domain::CommuneCode;
use crate::office::Principal;
use crate::office::reports::{ClerkList, Invitation};

/// An invitation for a clerk of a commune.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteRequest {
    pub commune: String,
    /// How long the code can be used (default 72, at most 744).
    pub valid_hours: Option<u32>,
}

/// `POST /api/v1/clerks`: a one-time invitation code for a clerk.
#[utoipa::path(post, path = "/api/v1/clerks", tag = "reports", request_body = InviteRequest,
    responses((status = 201, body = Invitation), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn invite_clerk(
    State(state): State<AdminState>,
    principal: Principal,
    ApiJson(request): ApiJson<InviteRequest>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    let commune = CommuneCode::parse(&request.commune)
        .map_err(|e| ApiError::BadRequest(format!("commune: {e}")))?;
    let invitation = state
        .office
        .invite_clerk(&principal, &commune, request.valid_hours)
        .await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

/// `GET /api/v1/clerks`.
#[utoipa::path(get, path = "/api/v1/clerks", tag = "reports", params(CommuneParams),
    responses((status = 200, body = ClerkList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_clerks(
    State(state): State<AdminState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<CommuneParams>,
) -> ApiResult<Json<ClerkList>> {
    let commune = commune_param(params.commune.as_deref())?;
    Ok(Json(
        state.office.clerks(&principal, commune.as_ref()).await?,
    ))
}

/// `POST /api/v1/clerks/{id}/revoke`.
#[utoipa::path(post, path = "/api/v1/clerks/{id}/revoke", tag = "reports", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_clerk(
    State(state): State<AdminState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state.office.revoke_clerk(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
