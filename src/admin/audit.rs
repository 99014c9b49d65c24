//! `GET /api/v1/audit`: the audit log, a page at a time; `GET /api/v1/audit/verify`: a walk of
//! its hash chain.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AdminState;
use super::error::{ApiResult, ErrorBody};
use super::extract::{ApiQuery, commune_param};
use crate::domain::Timestamp;
use crate::office::Principal;
use crate::office::audit::{AuditFilter, AuditPage};
use crate::store::AuditVerification;

/// Filters of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Action or action prefix (`import` matches `import.roll`).
    pub action: Option<String>,
    /// Token name.
    pub actor: Option<String>,
    /// Entries concerning this commune.
    pub commune: Option<String>,
    /// From this time (seconds since the epoch).
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Entries older than this id: pass the previous page's `next_before_id`.
    pub before_id: Option<i64>,
    /// Page size, 1 to 500 (default 100).
    pub limit: Option<u32>,
}

/// `GET /api/v1/audit`.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn audit(
    State(state): State<AdminState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    let filter = AuditFilter {
        action: params.action,
        actor: params.actor,
        commune: commune_param(params.commune.as_deref())?,
        since: params.since,
        until: params.until,
        before_id: params.before_id,
        limit: params.limit.unwrap_or(100),
    };
    Ok(Json(state.office.audit(&principal, filter).await?))
}

/// `GET /api/v1/audit/verify`: walks the audit log's hash chain from the first entry. Any
/// monitoring token (national or a commune office) may ask: an office can then prove its
/// record intact without the national authority, and the answer names only entry ids and
/// hashes, nothing of the entries' content. The answer is 200 whether the chain holds or not:
/// `broken_id` is null when it holds, and otherwise names the first entry that does not
/// match.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = AuditVerification), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn verify_audit(
    State(state): State<AdminState>,
    principal: Principal,
) -> ApiResult<Json<AuditVerification>> {
    Ok(Json(state.office.verify_audit(&principal).await?))
}
