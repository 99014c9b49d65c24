//! `/api/v1/imports`: the versions of the map and the roll, and uploads of either (streamed,
//! with a configurable size limit).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::io::{StreamReader, SyncIoBridge};
use utoipa::{IntoParams, ToSchema};

use super::AdminState;
use super::error::{ApiError, ApiResult, BodyTooLarge, ErrorBody};
use super::extract::ApiQuery;
use crate::office::imports::ImportList;
use crate::office::{OfficeError, Permission, Principal};
use crate::roll::ValidationReport;
use crate::store::{ImportKind, ImportRecord};

/// `GET /api/v1/imports`: versions the token may see, newest first.
#[utoipa::path(get, path = "/api/v1/imports", tag = "imports",
    responses((status = 200, body = ImportList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_imports(
    State(state): State<AdminState>,
    principal: Principal,
) -> ApiResult<Json<ImportList>> {
    Ok(Json(state.office.imports(&principal).await?))
}

/// Options of an import upload.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
    State(state): State<AdminState>,
    principal: Principal,
    Path(kind): Path<String>,
    ApiQuery(params): ApiQuery<ImportParams>,
    body: Body,
) -> ApiResult<Json<ImportResponse>> {
    // The office decides again when it imports; asking first spares receiving an upload
    // that would be refused.
    principal.require(Permission::Import)?;
    let kind = match kind.as_str() {
        "map" => ImportKind::Map,
        "roll" => ImportKind::Roll,
        _ => return Err(ApiError::NotFound),
    };
    let limit = state.import_max_bytes;
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
                .map_err(|io| ApiError::from(OfficeError::Unreadable(io)))?;
            Box::new(std::io::Cursor::new(bytes))
        }
        // The roll is parsed on a blocking thread, which may wait on the stream.
        ImportKind::Roll => Box::new(SyncIoBridge::new(StreamReader::new(Box::pin(stream)))),
    };
    let source = format!("upload by {}", principal.name);
    let outcome = state
        .office
        .import(&principal, kind, input, params.dry_run, &source)
        .await?;
    Ok(Json(ImportResponse {
        kind,
        dry_run: params.dry_run,
        record: outcome.record,
        report: outcome.report,
    }))
}
