//! `/api/v1/reports` and `/api/v1/stats/reports`: election offices follow the reports of
//! citizens missing from the roll (masked NINs, no names), export them for the revision of
//! the lists, and mark them handled.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AdminState;
use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiQuery, commune_param};
use crate::office::Principal;
use crate::office::reports::{ReportFilter, ReportList, ReportStats};

/// Filters shared by the listing and the export.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// A commune code; default: every commune of the token.
    pub commune: Option<String>,
    /// open, handled or resolved.
    pub status: Option<String>,
    /// Filed on or after this day (`YYYY-MM-DD`, UTC).
    pub from: Option<String>,
    /// Filed on or before this day (`YYYY-MM-DD`, UTC).
    pub to: Option<String>,
    /// Reports per page, 1 to 1000 (default 100); the export ignores it.
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

impl ReportParams {
    fn filter(self) -> ApiResult<ReportFilter> {
        Ok(ReportFilter {
            commune: commune_param(self.commune.as_deref())?,
            status: self.status,
            from: self.from,
            to: self.to,
        })
    }
}

/// `GET /api/v1/reports`.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(ReportParams),
    responses((status = 200, body = ReportList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_reports(
    State(state): State<AdminState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> ApiResult<Json<ReportList>> {
    let (limit, offset) = (params.limit.unwrap_or(100), params.offset.unwrap_or(0));
    let filter = params.filter()?;
    Ok(Json(
        state
            .office
            .reports(&principal, &filter, limit, offset)
            .await?,
    ))
}

/// `GET /api/v1/reports/export`: the reports as a CSV file for the revision of the lists.
#[utoipa::path(get, path = "/api/v1/reports/export", tag = "reports", params(ReportParams),
    responses((status = 200, description = "text/csv, UTF-8 with BOM: report_id, nin, birth_date, full_name, commune_code, commune_ar, commune_fr, status, sources, filed_at, handled_at, handled_by, resolved_at"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_reports(
    State(state): State<AdminState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    let export = state
        .office
        .export_reports(&principal, &params.filter()?)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"maktab-reports.csv\"",
            ),
        ],
        export.csv,
    )
        .into_response())
}

/// Reports to mark handled.
#[derive(Debug, Deserialize, ToSchema)]
pub struct HandledRequest {
    pub ids: Vec<i64>,
}

/// How many reports changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct HandledResponse {
    /// Open reports now handled; reports already handled or resolved are left as they are.
    pub handled: u64,
}

/// `POST /api/v1/reports/handled`.
#[utoipa::path(post, path = "/api/v1/reports/handled", tag = "reports", request_body = HandledRequest,
    responses((status = 200, body = HandledResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn mark_handled(
    State(state): State<AdminState>,
    principal: Principal,
    ApiJson(request): ApiJson<HandledRequest>,
) -> ApiResult<Json<HandledResponse>> {
    let handled = state.office.mark_handled(&principal, &request.ids).await?;
    Ok(Json(HandledResponse { handled }))
}

/// The commune filter of the statistics and the clerk list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommuneParams {
    pub commune: Option<String>,
}

/// `GET /api/v1/stats/reports`.
#[utoipa::path(get, path = "/api/v1/stats/reports", tag = "reports", params(CommuneParams),
    responses((status = 200, body = ReportStats), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn report_stats(
    State(state): State<AdminState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<CommuneParams>,
) -> ApiResult<Json<ReportStats>> {
    let commune = commune_param(params.commune.as_deref())?;
    Ok(Json(
        state
            .office
            .report_stats(&principal, commune.as_ref())
            .await?,
    ))
}
