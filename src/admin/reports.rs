//! `/api/v1/reports`, `/api/v1/clerks` and `/api/v1/stats/reports`: election offices follow
//! the reports of citizens missing from the roll and manage the clerks who collect them.
//!
//! Listing shows masked NINs and no names, enough to triage and mark reports handled; the CSV
//! export, which carries the full NIN and name for the revision of the lists, is a deliberate
//! act written to the audit log. Clerk supervisors, commune officers and national tokens all
//! work here, each within their communes. The same functions serve the command line.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::auth::{Permission, Principal};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::routes::{ApiQuery, commune_param};
use crate::domain::{CommuneCode, Role, Timestamp};
use crate::reports::{clerks, export};
use crate::server::App;
use crate::store::{Clerk, Report, ReportCount, ReportQuery, ReportSource, ReportStatus, Store};

/// How long an invitation code can be used, unless the officer says otherwise.
pub const DEFAULT_INVITE_HOURS: u32 = 72;
/// At most a month: a code is a password until it is used.
const MAX_INVITE_HOURS: u32 = 31 * 24;
/// Reports per page of the listing.
const MAX_PAGE: u32 = 1000;
/// Rows of one export (a commune's backlog; a national export goes commune by commune).
const MAX_EXPORT: u32 = 1_000_000;
/// Reports one "mark handled" request may name.
const MAX_HANDLED_PER_REQUEST: usize = 10_000;

/// Filters shared by the listing and the export.
#[derive(Debug, Default, Deserialize, IntoParams)]
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

fn day_start(value: &str, name: &str) -> ApiResult<Timestamp> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc().timestamp())
        .ok_or_else(|| ApiError::BadRequest(format!("{name}: expected YYYY-MM-DD, got {value:?}")))
}

impl ReportParams {
    /// The store query these parameters ask for, within the principal's communes.
    pub fn query(&self, principal: &Principal, limit: u32) -> ApiResult<ReportQuery> {
        let commune = commune_param(self.commune.as_deref())?;
        Ok(ReportQuery {
            communes: principal.scope(commune.as_ref())?,
            status: self
                .status
                .as_deref()
                .map(|s| s.parse::<ReportStatus>().map_err(ApiError::BadRequest))
                .transpose()?,
            from: self
                .from
                .as_deref()
                .map(|d| day_start(d, "from"))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .map(|d| day_start(d, "to").map(|start| start + 24 * 3600))
                .transpose()?,
            clerk_id: None,
            ids: None,
            limit,
            offset: self.offset.unwrap_or(0),
        })
    }
}

/// A report as listed: masked NIN, no name.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub id: i64,
    pub nin: String,
    pub commune: String,
    pub status: ReportStatus,
    pub created_at: Timestamp,
    pub handled_at: Option<Timestamp>,
    pub handled_by: Option<String>,
    pub resolved_at: Option<Timestamp>,
    pub sources: Vec<ReportSource>,
}

impl From<Report> for ReportView {
    fn from(report: Report) -> Self {
        Self {
            id: report.id,
            nin: report.nin.masked(),
            commune: report.commune.to_string(),
            status: report.status,
            created_at: report.created_at,
            handled_at: report.handled_at,
            handled_by: report.handled_by,
            resolved_at: report.resolved_at,
            sources: report.sources,
        }
    }
}

/// A page of reports, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportList {
    pub reports: Vec<ReportView>,
}

/// `GET /api/v1/reports`.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(ReportParams),
    responses((status = 200, body = ReportList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_reports(
    State(app): State<App>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> ApiResult<Json<ReportList>> {
    principal.require(Permission::Reports)?;
    let limit = params.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let reports = app.store.reports(&params.query(&principal, limit)?).await?;
    Ok(Json(ReportList {
        reports: reports.into_iter().map(ReportView::from).collect(),
    }))
}

/// The reports as CSV (UTF-8 with BOM), written to the audit log with the filters and the
/// number of rows.
pub async fn export_reports(
    store: &dyn Store,
    principal: &Principal,
    params: &ReportParams,
) -> ApiResult<(Vec<u8>, usize)> {
    principal.require(Permission::Reports)?;
    let query = params.query(principal, MAX_EXPORT)?;
    let reports = store.reports(&query).await?;
    let communes = store.communes().await?;
    let csv = export::to_csv(&reports, &communes)
        .map_err(|error| ApiError::Internal(format!("CSV export: {error}")))?;
    let audit = principal.audit(
        "reports.export",
        query.communes.clone().unwrap_or_default(),
        json!({
            "status": query.status.map(ReportStatus::as_str),
            "from": params.from,
            "to": params.to,
            "rows": reports.len(),
        }),
    );
    store.append_audit(audit).await?;
    Ok((csv, reports.len()))
}

/// `GET /api/v1/reports/export`: the reports as a CSV file for the revision of the lists.
#[utoipa::path(get, path = "/api/v1/reports/export", tag = "reports", params(ReportParams),
    responses((status = 200, description = "text/csv, UTF-8 with BOM: report_id, nin, birth_date, full_name, commune_code, commune_ar, commune_fr, status, sources, filed_at, handled_at, handled_by, resolved_at"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_reports_route(
    State(app): State<App>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ReportParams>,
) -> ApiResult<Response> {
    let (csv, _) = export_reports(app.store.as_ref(), &principal, &params).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"maktab-reports.csv\"",
            ),
        ],
        csv,
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

/// Marks open reports handled. Every report must exist and be within the principal's
/// communes, or nothing changes.
pub async fn mark_handled(store: &dyn Store, principal: &Principal, ids: &[i64]) -> ApiResult<u64> {
    principal.require(Permission::Reports)?;
    if ids.is_empty() || ids.len() > MAX_HANDLED_PER_REQUEST {
        return Err(ApiError::BadRequest(format!(
            "ids: 1 to {MAX_HANDLED_PER_REQUEST} report ids"
        )));
    }
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let reports = store
        .reports(&ReportQuery {
            ids: Some(unique.clone()),
            limit: u32::try_from(unique.len()).unwrap_or(u32::MAX),
            ..ReportQuery::default()
        })
        .await?;
    if reports.len() != unique.len() {
        return Err(ApiError::NotFound);
    }
    let mut communes: Vec<CommuneCode> = Vec::new();
    for report in reports {
        if principal.role != Role::National && !principal.communes.contains(&report.commune) {
            return Err(ApiError::Forbidden(format!(
                "report {} belongs to commune {}, which this token does not cover",
                report.id, report.commune
            )));
        }
        if !communes.contains(&report.commune) {
            communes.push(report.commune);
        }
    }
    let audit = principal.audit("reports.handle", communes, json!({ "reports": ids }));
    Ok(store
        .mark_reports_handled(ids, &principal.name, crate::domain::now(), audit)
        .await?)
}

/// `POST /api/v1/reports/handled`.
#[utoipa::path(post, path = "/api/v1/reports/handled", tag = "reports", request_body = HandledRequest,
    responses((status = 200, body = HandledResponse), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn handled_route(
    State(app): State<App>,
    principal: Principal,
    body: Result<Json<HandledRequest>, JsonRejection>,
) -> ApiResult<Json<HandledResponse>> {
    let Json(request) = body.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let handled = mark_handled(app.store.as_ref(), &principal, &request.ids).await?;
    Ok(Json(HandledResponse { handled }))
}

/// The commune filter of the statistics.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportStatsParams {
    pub commune: Option<String>,
}

/// Reports per commune, source and status.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportStats {
    pub counts: Vec<ReportCount>,
}

/// `GET /api/v1/stats/reports`.
#[utoipa::path(get, path = "/api/v1/stats/reports", tag = "reports", params(ReportStatsParams),
    responses((status = 200, body = ReportStats), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn report_stats(
    State(app): State<App>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ReportStatsParams>,
) -> ApiResult<Json<ReportStats>> {
    principal.require(Permission::Reports)?;
    let commune = commune_param(params.commune.as_deref())?;
    let scope = principal.scope(commune.as_ref())?;
    let counts = app.store.report_counts(scope.as_deref()).await?;
    Ok(Json(ReportStats { counts }))
}

/// An invitation for a clerk of a commune.
#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteRequest {
    pub commune: String,
    /// How long the code can be used (default 72, at most 744).
    pub valid_hours: Option<u32>,
}

/// A new invitation: the code is shown this once and stored only as a hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    pub clerk_id: i64,
    /// What the clerk sends to the Telegram bot: `/clerk <code>`.
    pub code: String,
    pub expires_at: Timestamp,
}

/// Invites a clerk for a commune of the principal's.
pub async fn invite_clerk(
    store: &dyn Store,
    principal: &Principal,
    commune: &str,
    valid_hours: Option<u32>,
) -> ApiResult<Invitation> {
    principal.require(Permission::Reports)?;
    let commune =
        CommuneCode::parse(commune).map_err(|e| ApiError::BadRequest(format!("commune: {e}")))?;
    principal.scope(Some(&commune))?;
    let hours = valid_hours.unwrap_or(DEFAULT_INVITE_HOURS);
    if hours == 0 || hours > MAX_INVITE_HOURS {
        return Err(ApiError::BadRequest(format!(
            "valid_hours: 1 to {MAX_INVITE_HOURS}"
        )));
    }
    let code = clerks::generate_code()
        .map_err(|error| ApiError::Internal(format!("no randomness: {error}")))?;
    let canonical = clerks::normalize_code(&code)
        .ok_or_else(|| ApiError::Internal("generated an unreadable code".to_owned()))?;
    let now = crate::domain::now();
    let expires_at = now + i64::from(hours) * 3600;
    let audit = principal.audit(
        "clerk.invite",
        vec![commune.clone()],
        json!({ "expires_at": expires_at }),
    );
    let clerk_id = store
        .invite_clerk(
            &commune,
            &clerks::hash_code(&canonical),
            expires_at,
            &principal.name,
            now,
            audit,
        )
        .await?;
    Ok(Invitation {
        clerk_id,
        code,
        expires_at,
    })
}

/// `POST /api/v1/clerks`: a one-time invitation code for a clerk.
#[utoipa::path(post, path = "/api/v1/clerks", tag = "reports", request_body = InviteRequest,
    responses((status = 201, body = Invitation), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn invite_route(
    State(app): State<App>,
    principal: Principal,
    body: Result<Json<InviteRequest>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Invitation>)> {
    let Json(request) = body.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let invitation = invite_clerk(
        app.store.as_ref(),
        &principal,
        &request.commune,
        request.valid_hours,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

/// Clerks, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClerkList {
    pub clerks: Vec<Clerk>,
}

/// `GET /api/v1/clerks`.
#[utoipa::path(get, path = "/api/v1/clerks", tag = "reports", params(ReportStatsParams),
    responses((status = 200, body = ClerkList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_clerks(
    State(app): State<App>,
    principal: Principal,
    ApiQuery(params): ApiQuery<ReportStatsParams>,
) -> ApiResult<Json<ClerkList>> {
    principal.require(Permission::Reports)?;
    let commune = commune_param(params.commune.as_deref())?;
    let scope = principal.scope(commune.as_ref())?;
    Ok(Json(ClerkList {
        clerks: app.store.clerks(scope.as_deref()).await?,
    }))
}

/// Revokes a clerk of the principal's communes: they can no longer file reports.
pub async fn revoke_clerk(store: &dyn Store, principal: &Principal, id: i64) -> ApiResult<()> {
    principal.require(Permission::Reports)?;
    let clerk = store.clerk(id).await?.ok_or(ApiError::NotFound)?;
    principal.scope(Some(&clerk.commune))?;
    let audit = principal.audit(
        "clerk.revoke",
        vec![clerk.commune.clone()],
        json!({ "clerk": id }),
    );
    if store
        .revoke_clerk(id, &principal.name, crate::domain::now(), audit)
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::Conflict(format!("clerk {id} is already revoked")))
    }
}

/// `POST /api/v1/clerks/{id}/revoke`.
#[utoipa::path(post, path = "/api/v1/clerks/{id}/revoke", tag = "reports", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn revoke_route(
    State(app): State<App>,
    principal: Principal,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    revoke_clerk(app.store.as_ref(), &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
