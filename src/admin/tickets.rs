//! `/api/v1/tickets` and `/api/v1/duty`: the duty desk's queue, a ticket's detail, taking,
//! answering, notes and closing; the duty roster, who is on duty now, and the desk's
//! statistics. Thin callers of [`office::tickets`](crate::office::tickets).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AdminState;
use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiQuery, commune_param};
use crate::office::Principal;
use crate::office::tickets::{
    DutyStats, ShiftInput, ShiftList, TicketDetail, TicketFilter, TicketList, TicketView,
};
use crate::store::Shift;

/// The queue's filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TicketParams {
    pub commune: Option<String>,
    /// `open` or `closed`.
    pub status: Option<String>,
    /// At most 1000 (default 100).
    pub limit: Option<u32>,
}

/// An answer to the voter, or an internal note.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TicketText {
    pub text: String,
}

/// A duty cell: a commune code, `wNN` or `national`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CellParams {
    pub cell: Option<String>,
}

/// The statistics' filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DutyStatsParams {
    pub commune: Option<String>,
    /// Tickets opened at or after this timestamp (default: the last 24 hours).
    pub from: Option<i64>,
}

/// `GET /api/v1/tickets`: the queue, incidents first, then oldest first.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "duty", params(TicketParams),
    responses((status = 200, body = TicketList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_tickets(
    State(state): State<AdminState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<TicketParams>,
) -> ApiResult<Json<TicketList>> {
    let filter = TicketFilter {
        commune: commune_param(params.commune.as_deref())?,
        status: params.status,
    };
    Ok(Json(
        state
            .office
            .tickets(&principal, &filter, params.limit.unwrap_or(100))
            .await?,
    ))
}

/// `GET /api/v1/tickets/{id}`: the summary; the messages for the ticket's owner only.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "duty", params(("id" = i64, Path)),
    responses((status = 200, body = TicketDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn show_ticket(
    State(state): State<AdminState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<TicketDetail>> {
    Ok(Json(state.office.ticket(&principal, id).await?))
}

/// `POST /api/v1/tickets/{id}/take`: the first to ask owns it (409 once taken).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/take", tag = "duty", params(("id" = i64, Path)),
    responses((status = 200, body = TicketView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn take_ticket(
    State(state): State<AdminState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<TicketView>> {
    Ok(Json(state.office.take_ticket(&principal, id).await?))
}

/// `POST /api/v1/tickets/{id}/reply`: answers the voter on their channel (an SMS answer
/// beyond two segments is refused with 400).
#[utoipa::path(post, path = "/api/v1/tickets/{id}/reply", tag = "duty", params(("id" = i64, Path)), request_body = TicketText,
    responses((status = 200, body = TicketView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reply_ticket(
    State(state): State<AdminState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<TicketText>,
) -> ApiResult<Json<TicketView>> {
    Ok(Json(
        state
            .office
            .reply_ticket(&principal, id, &request.text)
            .await?,
    ))
}

/// `POST /api/v1/tickets/{id}/note`: an internal note, never sent.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/note", tag = "duty", params(("id" = i64, Path)), request_body = TicketText,
    responses((status = 200, body = TicketView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn note_ticket(
    State(state): State<AdminState>,
    principal: Principal,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<TicketText>,
) -> ApiResult<Json<TicketView>> {
    Ok(Json(
        state
            .office
            .note_ticket(&principal, id, &request.text)
            .await?,
    ))
}

/// `POST /api/v1/tickets/{id}/close`: closes it and tells the voter.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/close", tag = "duty", params(("id" = i64, Path)),
    responses((status = 200, body = TicketView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn close_ticket(
    State(state): State<AdminState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Json<TicketView>> {
    Ok(Json(state.office.close_ticket(&principal, id).await?))
}

/// `GET /api/v1/duty/shifts`: shifts not yet over.
#[utoipa::path(get, path = "/api/v1/duty/shifts", tag = "duty", params(CellParams),
    responses((status = 200, body = ShiftList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_shifts(
    State(state): State<AdminState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<CellParams>,
) -> ApiResult<Json<ShiftList>> {
    Ok(Json(
        state
            .office
            .shifts(&principal, params.cell.as_deref())
            .await?,
    ))
}

/// `POST /api/v1/duty/shifts`: adds a shift.
#[utoipa::path(post, path = "/api/v1/duty/shifts", tag = "duty", request_body = ShiftInput,
    responses((status = 201, body = Shift), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn add_shift(
    State(state): State<AdminState>,
    principal: Principal,
    ApiJson(input): ApiJson<ShiftInput>,
) -> ApiResult<(StatusCode, Json<Shift>)> {
    let shift = state.office.add_shift(&principal, &input).await?;
    Ok((StatusCode::CREATED, Json(shift)))
}

/// `POST /api/v1/duty/shifts/{id}/remove`.
#[utoipa::path(post, path = "/api/v1/duty/shifts/{id}/remove", tag = "duty", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn remove_shift(
    State(state): State<AdminState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    state.office.remove_shift(&principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/duty/now`: the shifts under way.
#[utoipa::path(get, path = "/api/v1/duty/now", tag = "duty", params(CellParams),
    responses((status = 200, body = ShiftList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn on_duty(
    State(state): State<AdminState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<CellParams>,
) -> ApiResult<Json<ShiftList>> {
    Ok(Json(
        state
            .office
            .on_duty(&principal, params.cell.as_deref())
            .await?,
    ))
}

/// `GET /api/v1/duty/stats`: opened and closed per commune and hour, time to the first answer
/// and to closing (p50, p90), backlog, per agent, incidents by kind.
#[utoipa::path(get, path = "/api/v1/duty/stats", tag = "duty", params(DutyStatsParams),
    responses((status = 200, body = DutyStats), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn duty_stats(
    State(state): State<AdminState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<DutyStatsParams>,
) -> ApiResult<Json<DutyStats>> {
    let commune = commune_param(params.commune.as_deref())?;
    Ok(Json(
        state
            .office
            .duty_stats(&principal, commune.as_ref(), params.from)
            .await?,
    ))
}
