//! The `/api/v1` handlers. Each starts from the authenticated [`Principal`], asks it for the
//! permission and the commune scope it needs, and answers JSON.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use futures_util::TryStreamExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio_util::io::{StreamReader, SyncIoBridge};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Permission, Principal};
use super::error::{ApiError, ApiResult, BodyTooLarge, ErrorBody};
use crate::domain::{CommuneCode, StationKind, Timestamp};
use crate::roll::ValidationReport;
use crate::server::App;
use crate::store::{
    AuditEntry, AuditQuery, ImportKind, ImportRecord, LookupCount, LookupStatsQuery,
};

/// Query parameters, with a JSON 400 instead of axum's plain-text rejection.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

pub(super) fn commune_param(value: Option<&str>) -> ApiResult<Option<CommuneCode>> {
    value
        .map(|code| {
            CommuneCode::parse(code).map_err(|e| ApiError::BadRequest(format!("commune: {e}")))
        })
        .transpose()
}

/// `GET /api/v1/whoami`: the token's name, role and communes.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "admin",
    responses((status = 200, body = Principal), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn whoami(principal: Principal) -> Json<Principal> {
    Json(principal)
}

/// Versions of the map and roll, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportList {
    pub imports: Vec<ImportRecord>,
}

/// `GET /api/v1/imports`.
#[utoipa::path(get, path = "/api/v1/imports", tag = "imports",
    responses((status = 200, body = ImportList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_imports(
    State(app): State<App>,
    principal: Principal,
) -> ApiResult<Json<ImportList>> {
    principal.require(Permission::Monitor)?;
    Ok(Json(ImportList {
        imports: app.store.imports(100).await?,
    }))
}

/// Options of an import upload.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ImportParams {
    /// Validate and report without changing anything.
    #[serde(default)]
    pub dry_run: bool,
}

/// The result of an accepted import or dry run.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResponse {
    pub kind: ImportKind,
    pub dry_run: bool,
    /// The new version (absent for a dry run).
    pub record: Option<ImportRecord>,
    pub report: ValidationReport,
}

/// `POST /api/v1/imports/{kind}`: `kind` is `map` or `roll`; the body is the CSV file, streamed.
#[utoipa::path(post, path = "/api/v1/imports/{kind}", tag = "imports",
    params(("kind" = String, Path, description = "map or roll"), ImportParams),
    request_body(content = String, content_type = "text/csv", description = "map.csv or roll.csv"),
    responses(
        (status = 200, body = ImportResponse),
        (status = 400, body = ErrorBody, description = "missing columns, no map yet, unreadable upload"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "role may not import, or rows of other communes"),
        (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "rejected: errors with line numbers")),
    security(("bearer" = [])))]
pub async fn import(
    State(app): State<App>,
    principal: Principal,
    Path(kind): Path<String>,
    ApiQuery(params): ApiQuery<ImportParams>,
    body: Body,
) -> ApiResult<Json<ImportResponse>> {
    principal.require(Permission::Import)?;
    let kind = match kind.as_str() {
        "map" => ImportKind::Map,
        "roll" => ImportKind::Roll,
        _ => return Err(ApiError::NotFound),
    };
    let limit = app.settings.import_max_bytes;
    let mut received = 0u64;
    let stream = body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .and_then(move |chunk| {
            received += chunk.len() as u64;
            let result = if received > limit {
                Err(std::io::Error::other(BodyTooLarge(limit)))
            } else {
                Ok(chunk)
            };
            std::future::ready(result)
        });
    let input: Box<dyn std::io::Read + Send> = match kind {
        // The map is small and parsed on the async side: read it whole first.
        ImportKind::Map => {
            let mut bytes = Vec::new();
            let mut reader = StreamReader::new(stream);
            tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut bytes)
                .await
                .map_err(|io| ApiError::from(crate::roll::ImportError::Io(io)))?;
            Box::new(std::io::Cursor::new(bytes))
        }
        // The roll is parsed on a blocking thread, which may wait on the stream.
        ImportKind::Roll => Box::new(SyncIoBridge::new(StreamReader::new(Box::pin(stream)))),
    };
    let source = format!("upload by {}", principal.name);
    let outcome = super::imports::import(
        app.store.clone(),
        &principal,
        kind,
        input,
        params.dry_run,
        app.settings.max_voters_per_station,
        &source,
    )
    .await?;
    Ok(Json(ImportResponse {
        kind,
        dry_run: params.dry_run,
        record: outcome.record,
        report: outcome.report,
    }))
}

/// Filters of the audit log.
#[derive(Debug, Deserialize, IntoParams)]
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

/// One page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before_id` for the next page; absent on the last page.
    pub next_before_id: Option<i64>,
}

/// `GET /api/v1/audit`.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn audit(
    State(app): State<App>,
    principal: Principal,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    principal.require(Permission::Monitor)?;
    let communes = principal.scope(commune_param(params.commune.as_deref())?.as_ref())?;
    let limit = params.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::BadRequest(
            "limit must be between 1 and 500".to_owned(),
        ));
    }
    let entries = app
        .store
        .audit_entries(&AuditQuery {
            action: params.action,
            actor: params.actor,
            communes,
            since: params.since,
            until: params.until,
            before_id: params.before_id,
            limit,
        })
        .await?;
    let next_before_id = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(AuditPage {
        entries,
        next_before_id,
    }))
}

/// Filters of the lookup statistics.
#[derive(Debug, Deserialize, IntoParams)]
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

/// Lookup counts per hour, channel, commune and outcome, with totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct LookupStats {
    pub rows: Vec<LookupCount>,
    pub total: u64,
    pub by_outcome: BTreeMap<String, u64>,
    pub by_channel: BTreeMap<String, u64>,
    /// The empty key counts lookups that matched no voter (national scope only).
    pub by_commune: BTreeMap<String, u64>,
}

/// `GET /api/v1/stats/lookups`. Counts are written every few seconds, so the last seconds may
/// not be included yet.
#[utoipa::path(get, path = "/api/v1/stats/lookups", tag = "statistics", params(LookupStatsParams),
    responses((status = 200, body = LookupStats), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn lookup_stats(
    State(app): State<App>,
    principal: Principal,
    ApiQuery(params): ApiQuery<LookupStatsParams>,
) -> ApiResult<Json<LookupStats>> {
    principal.require(Permission::Monitor)?;
    let communes = principal.scope(commune_param(params.commune.as_deref())?.as_ref())?;
    if let Some(channel) = &params.channel {
        channel
            .parse::<crate::domain::Channel>()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    let rows = app
        .store
        .lookup_counts(&LookupStatsQuery {
            since: params.since,
            until: params.until,
            channel: params.channel,
            communes,
        })
        .await?;
    Ok(Json(summarise(rows)))
}

/// Totals of lookup counts.
pub fn summarise(rows: Vec<LookupCount>) -> LookupStats {
    let mut stats = LookupStats {
        rows: Vec::new(),
        total: 0,
        by_outcome: BTreeMap::new(),
        by_channel: BTreeMap::new(),
        by_commune: BTreeMap::new(),
    };
    for row in &rows {
        stats.total += row.count;
        *stats.by_outcome.entry(row.outcome.clone()).or_insert(0) += row.count;
        *stats.by_channel.entry(row.channel.clone()).or_insert(0) += row.count;
        *stats.by_commune.entry(row.commune.clone()).or_insert(0) += row.count;
    }
    stats.rows = rows;
    stats
}

/// Which commune's roll statistics to show.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RollStatsParams {
    /// Only this commune.
    pub commune: Option<String>,
}

/// How full a station is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    Ok,
    /// At least 90% of the limit.
    NearLimit,
    OverLimit,
}

/// A station's load.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationStats {
    pub station: u16,
    #[schema(value_type = String)]
    pub kind: StationKind,
    pub voters: u64,
    pub fill: Fill,
}

/// A centre's load.
#[derive(Debug, Serialize, ToSchema)]
pub struct CentreStats {
    pub code: String,
    pub name_fr: String,
    pub voters: u64,
    pub stations: Vec<StationStats>,
}

/// A commune's load.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommuneStats {
    pub code: String,
    pub name_ar: String,
    pub name_fr: String,
    pub voters: u64,
    pub centres: Vec<CentreStats>,
}

/// Voters per commune, centre and station in the current roll.
#[derive(Debug, Serialize, ToSchema)]
pub struct RollStats {
    pub max_voters_per_station: u32,
    pub voters: u64,
    pub stations_near_limit: u64,
    pub stations_over_limit: u64,
    pub communes: Vec<CommuneStats>,
}

/// `GET /api/v1/stats/roll`.
#[utoipa::path(get, path = "/api/v1/stats/roll", tag = "statistics", params(RollStatsParams),
    responses((status = 200, body = RollStats), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn roll_stats(
    State(app): State<App>,
    principal: Principal,
    ApiQuery(params): ApiQuery<RollStatsParams>,
) -> ApiResult<Json<RollStats>> {
    principal.require(Permission::Monitor)?;
    let communes = principal.scope(commune_param(params.commune.as_deref())?.as_ref())?;
    Ok(Json(
        roll_statistics(
            app.store.as_ref(),
            communes.as_deref(),
            app.settings.max_voters_per_station,
        )
        .await?,
    ))
}

/// Builds the roll statistics, for the API and the command line.
pub async fn roll_statistics(
    store: &dyn crate::store::Store,
    communes: Option<&[CommuneCode]>,
    limit: u32,
) -> Result<RollStats, crate::store::StoreError> {
    let wanted = |code: &CommuneCode| communes.is_none_or(|list| list.contains(code));
    let loads: BTreeMap<_, u64> = store
        .station_loads()
        .await?
        .into_iter()
        .map(|load| (load.at, load.voters))
        .collect();
    let map = store
        .current_map()
        .await?
        .map(|m| m.map)
        .unwrap_or_default();
    let near = u64::from(limit) * 9 / 10;
    let mut stats = RollStats {
        max_voters_per_station: limit,
        voters: 0,
        stations_near_limit: 0,
        stations_over_limit: 0,
        communes: Vec::new(),
    };
    for commune in map.communes.iter().filter(|c| wanted(&c.code)) {
        let mut commune_stats = CommuneStats {
            code: commune.code.as_str().to_owned(),
            name_ar: commune.name.ar.clone(),
            name_fr: commune.name.fr.clone(),
            voters: 0,
            centres: Vec::new(),
        };
        for centre in map.centres.iter().filter(|c| c.commune == commune.code) {
            let mut centre_stats = CentreStats {
                code: centre.code.as_str().to_owned(),
                name_fr: centre.name.fr.clone(),
                voters: 0,
                stations: Vec::new(),
            };
            for station in map
                .stations
                .iter()
                .filter(|s| s.at.commune == commune.code && s.at.centre == centre.code)
            {
                let voters = loads.get(&station.at).copied().unwrap_or(0);
                let fill = if voters > u64::from(limit) {
                    stats.stations_over_limit += 1;
                    Fill::OverLimit
                } else if voters >= near {
                    stats.stations_near_limit += 1;
                    Fill::NearLimit
                } else {
                    Fill::Ok
                };
                centre_stats.voters += voters;
                centre_stats.stations.push(StationStats {
                    station: station.at.station.get(),
                    kind: station.kind,
                    voters,
                    fill,
                });
            }
            commune_stats.voters += centre_stats.voters;
            commune_stats.centres.push(centre_stats);
        }
        stats.voters += commune_stats.voters;
        stats.communes.push(commune_stats);
    }
    Ok(stats)
}
