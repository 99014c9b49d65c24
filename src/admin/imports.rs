//! `/api/v1/imports`: the versions of the map and the roll, and uploads of either (streamed,
//! with a configurable size limit), in any format the reader accepts: the body is the file
//! as saved (CSV, tab-separated text, `.xlsx`), recognised from its bytes, its
//! `Content-Type` and the `filename` parameter, or named by `format`, `encoding`,
//! `delimiter` and `sheet`. `POST .../errors` answers with the offending rows as CSV.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use tokio_util::io::{StreamReader, SyncIoBridge};
use utoipa::{IntoParams, ToSchema};

use super::AdminState;
use super::error::{ApiError, ApiResult, BodyTooLarge, ErrorBody};
use super::extract::ApiQuery;
use crate::office::imports::{ImportList, ImportRequest};
use crate::office::{OfficeError, Permission, Principal};
use crate::roll::ValidationReport;
use crate::roll::reader::{Format, ReadOptions, TextEncoding, parse_delimiter};
use crate::store::{ChangeSet, ImportKind, ImportRecord};

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
    /// The file's name as saved (`roll.xlsx`, `liste.csv`): its extension is a hint.
    pub filename: Option<String>,
    /// `csv`, `tsv` or `xlsx` (default: detected).
    pub format: Option<String>,
    /// `utf-8`, `utf-16le`, `utf-16be`, `windows-1256` or `windows-1252` (default: detected).
    pub encoding: Option<String>,
    /// `,` `;` `tab` or `|` (default: detected from the header).
    pub delimiter: Option<String>,
    /// The workbook's sheet (default: the first).
    pub sheet: Option<String>,
}

impl ImportParams {
    fn read_options(&self, headers: &HeaderMap) -> ApiResult<ReadOptions> {
        let bad = ApiError::BadRequest;
        Ok(ReadOptions {
            format: self
                .format
                .as_deref()
                .map(Format::parse)
                .transpose()
                .map_err(bad)?,
            delimiter: self
                .delimiter
                .as_deref()
                .map(parse_delimiter)
                .transpose()
                .map_err(bad)?,
            encoding: self
                .encoding
                .as_deref()
                .map(TextEncoding::parse)
                .transpose()
                .map_err(bad)?,
            sheet: self.sheet.clone(),
            file_name: self.filename.clone(),
            content_type: headers
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned),
        })
    }

    fn source(&self, principal: &Principal) -> String {
        match &self.filename {
            Some(name) => format!("{name} uploaded by {}", principal.name),
            None => format!("upload by {}", principal.name),
        }
    }
}

fn import_kind(kind: &str) -> ApiResult<ImportKind> {
    match kind {
        "map" => Ok(ImportKind::Map),
        "roll" => Ok(ImportKind::Roll),
        _ => Err(ApiError::NotFound),
    }
}

/// The upload as a stream of chunks, failing once it passes `limit` bytes.
fn limited(
    body: Body,
    limit: u64,
) -> impl futures_util::Stream<Item = std::io::Result<axum::body::Bytes>> + Send {
    let mut received = 0u64;
    body.into_data_stream()
        .map_err(std::io::Error::other)
        .and_then(move |chunk| {
            received += chunk.len() as u64;
            let result = if received > limit {
                Err(std::io::Error::other(BodyTooLarge(limit)))
            } else {
                Ok(chunk)
            };
            std::future::ready(result)
        })
}

async fn read_whole(body: Body, limit: u64) -> ApiResult<Vec<u8>> {
    let mut bytes = Vec::new();
    let mut reader = StreamReader::new(Box::pin(limited(body, limit)));
    tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut bytes)
        .await
        .map_err(|io| ApiError::from(OfficeError::Unreadable(io)))?;
    Ok(bytes)
}

/// The result of an accepted import or dry run.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResponse {
    pub kind: ImportKind,
    pub dry_run: bool,
    /// The import (absent for a dry run): current, with its `number`, if it was the first of
    /// its kind; otherwise pending, its changes in `change_sets`.
    pub record: Option<ImportRecord>,
    /// The pending change sets the import made, one per commune it changes (empty if it
    /// changes nothing).
    pub change_sets: Vec<ChangeSet>,
    /// What happened, in words: "accepted as version 3", "pending change set 12 of commune
    /// C", "no changes against the current version".
    pub outcome: String,
    pub report: ValidationReport,
}

/// `POST /api/v1/imports/{kind}`: `kind` is `map` or `roll`; the body is the file, streamed.
#[utoipa::path(post, path = "/api/v1/imports/{kind}", tag = "imports",
    params(("kind" = String, Path, description = "map or roll"), ImportParams),
    request_body(content = String, content_type = "text/csv", description = "map or roll: CSV (`,` or `;`), tab-separated text or .xlsx; UTF-8, UTF-16 with BOM, Windows-1256 or Windows-1252"),
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
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<ImportResponse>> {
    // The office decides again when it imports; asking first spares receiving an upload
    // that would be refused.
    principal.require(Permission::Import)?;
    let kind = import_kind(&kind)?;
    let read = params.read_options(&headers)?;
    let limit = state.import_max_bytes;
    let input: Box<dyn std::io::Read + Send> = match kind {
        // The map is small and parsed on the async side: read it whole first.
        ImportKind::Map => Box::new(std::io::Cursor::new(read_whole(body, limit).await?)),
        // The roll is parsed on a blocking thread, which may wait on the stream.
        ImportKind::Roll => Box::new(SyncIoBridge::new(StreamReader::new(Box::pin(limited(
            body, limit,
        ))))),
    };
    let request = ImportRequest {
        dry_run: params.dry_run,
        source: params.source(&principal),
        read,
        keep_every_error: false,
    };
    let outcome = state
        .office
        .import_file(&principal, kind, input, &request)
        .await?;
    let said = match &outcome.record {
        None => "dry run: nothing was changed".to_owned(),
        Some(ImportRecord {
            number: Some(number),
            pending: false,
            ..
        }) => format!("accepted as version {number}"),
        Some(_) if outcome.change_sets.is_empty() => {
            "no changes against the current version: nothing to review".to_owned()
        }
        Some(_) => outcome
            .change_sets
            .iter()
            .map(|c| {
                let communes: Vec<&str> = c.communes.iter().map(|c| c.as_str()).collect();
                format!(
                    "pending change set {} of commune {}",
                    c.id,
                    communes.join(",")
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    Ok(Json(ImportResponse {
        kind,
        dry_run: params.dry_run,
        record: outcome.record,
        change_sets: outcome.change_sets,
        outcome: said,
        report: outcome.report,
    }))
}

/// `POST /api/v1/imports/{kind}/errors`: validates the uploaded file as a dry run and answers
/// with its offending rows as CSV (the file's own columns, then `line` and `error`); only the
/// header when the file is valid. The file is read twice, so it is held in memory (within
/// the import size limit).
#[utoipa::path(post, path = "/api/v1/imports/{kind}/errors", tag = "imports",
    params(("kind" = String, Path, description = "map or roll"), ImportParams),
    request_body(content = String, content_type = "text/csv", description = "the file, as for an import"),
    responses(
        (status = 200, content_type = "text/csv", body = String, description = "offending rows with line and error columns"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn import_errors(
    State(state): State<AdminState>,
    principal: Principal,
    Path(kind): Path<String>,
    ApiQuery(params): ApiQuery<ImportParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    principal.require(Permission::Import)?;
    let kind = import_kind(&kind)?;
    let read = params.read_options(&headers)?;
    let bytes = read_whole(body, state.import_max_bytes).await?;
    let rows = state
        .office
        .import_error_rows(&principal, kind, bytes, &read, &params.source(&principal))
        .await?;
    let disposition = format!(
        "attachment; filename=\"maktab-{}-errors.csv\"",
        kind.as_str()
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::HeaderName::from_static("x-maktab-error-count"),
                rows.errors.to_string(),
            ),
        ],
        rows.csv,
    )
        .into_response())
}
