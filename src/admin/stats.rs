//! `/api/v1/stats/lookups` and `/api/v1/stats/roll`: lookup counts and station loads.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;

use super::AdminState;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiQuery, commune_param};
use crate::domain::{Channel, Timestamp};
use crate::office::Principal;
use crate::office::stats::{LookupFilter, LookupStats, RollStats};

/// Filters of the lookup statistics.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LookupStatsParams {
    /// From this time (seconds since the epoch).
    pub since: Option<Timestamp>,
    /// Before this time.
    pub until: Option<Timestamp>,
    /// Only this commune.
    pub commune: Option<String>,
    /// `sms` or `telegram`.
    pub channel: Option<String>,
}

/// `GET /api/v1/stats/lookups`. Counts are written every few seconds, so the last seconds may
/// not be included yet.
#[utoipa::path(get, path = "/api/v1/stats/lookups", tag = "statistics", params(LookupStatsParams),
    responses((status = 200, body = LookupStats), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn lookup_stats(
    State(state): State<AdminState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<LookupStatsParams>,
) -> ApiResult<Json<LookupStats>> {
    let filter = LookupFilter {
        since: params.since,
        until: params.until,
        commune: commune_param(params.commune.as_deref())?,
        channel: params
            .channel
            .map(|c| c.parse::<Channel>())
            .transpose()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?,
    };
    Ok(Json(state.office.lookup_stats(&principal, &filter).await?))
}

/// Which commune's roll statistics to show.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RollStatsParams {
    /// Only this commune.
    pub commune: Option<String>,
}

/// `GET /api/v1/stats/roll`.
#[utoipa::path(get, path = "/api/v1/stats/roll", tag = "statistics", params(RollStatsParams),
    responses((status = 200, body = RollStats), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn roll_stats(
    State(state): State<AdminState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<RollStatsParams>,
) -> ApiResult<Json<RollStats>> {
    let commune = commune_param(params.commune.as_deref())?;
    Ok(Json(
        state
            .office
            .roll_stats(&principal, commune.as_ref())
            .await?,
    ))
}
