//! The console's file uploads: a map or roll is streamed to a temporary file within the
//! configured size, then either imported (or dry-run) by the office, or checked by the office
//! to answer its offending rows as a CSV the office opens in Excel to fix them. Both read the
//! file as the API does (format from the name, content type and bytes; encoding detected).

// Handlers answer `Result<Response, Response>`: the error is the page sent back, built once
// per request; boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::io::Write as _;

use std::path::Path;

use axum::extract::multipart::Field;
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::ConsoleState;
use super::pages::{self, ImportResult, Page};
use super::session::Signed;
use crate::office::OfficeError;
use crate::office::imports::ImportRequest;
use crate::roll::reader::ReadOptions;
use crate::store::ImportKind;

/// An uploaded file spooled to disk, removed when dropped.
struct Spool(std::path::PathBuf);

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An upload as received: what to do with it and the spooled file.
struct Upload {
    kind: ImportKind,
    dry_run: bool,
    spool: Spool,
    source: String,
    read: ReadOptions,
}

/// Reads the multipart form (`kind`, `dry_run`, `file`), writing the file to disk within the
/// configured size; a missing kind or file, or a file over the size, is the user's error.
async fn receive(
    state: &ConsoleState,
    signed: &Signed,
    mut multipart: Multipart,
) -> Result<Upload, Response> {
    let refuse = |key: &str| {
        pages::failure(
            state,
            signed,
            &OfficeError::Rejected(state.texts.render(signed.locale, key, None)),
        )
    };
    let mut kind = None;
    let mut dry_run = false;
    let mut spool = None;
    let mut source = String::from("upload");
    let mut read = ReadOptions::default();
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return Err(refuse("upload-broken")),
        };
        match field.name() {
            Some("kind") => {
                kind = match field.text().await.unwrap_or_default().as_str() {
                    "map" => Some(ImportKind::Map),
                    "roll" => Some(ImportKind::Roll),
                    _ => None,
                };
            }
            Some("dry_run") => dry_run = true,
            Some("file") => {
                if let Some(name) = field.file_name() {
                    source = format!("console upload {name:?}");
                    read.file_name = Some(name.to_owned());
                }
                read.content_type = field.content_type().map(str::to_owned);
                let token = pages::random_token()?;
                let path = std::env::temp_dir().join(format!("maktab-upload-{token}"));
                let guard = Spool(path);
                spool_field(state, signed, &mut field, &guard.0).await?;
                spool = Some(guard);
            }
            _ => {}
        }
    }
    let (Some(kind), Some(spool)) = (kind, spool) else {
        return Err(refuse("upload-incomplete"));
    };
    Ok(Upload {
        kind,
        dry_run,
        spool,
        source,
        read,
    })
}

/// Writes an uploaded file field to `path`, within the configured size; a file over it, or
/// an upload that breaks off, is the user's error.
pub(super) async fn spool_field(
    state: &ConsoleState,
    signed: &Signed,
    field: &mut Field<'_>,
    path: &Path,
) -> Result<(), Response> {
    let internal = |e: std::io::Error| {
        pages::failure(state, signed, &OfficeError::Internal(format!("spool: {e}")))
    };
    let limit = state.settings.import_max_bytes;
    let file = std::fs::File::create(path).map_err(internal)?;
    let mut writer = std::io::BufWriter::new(file);
    let mut written: u64 = 0;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                written += chunk.len() as u64;
                if written > limit {
                    let mut args = fluent_bundle::FluentArgs::new();
                    args.set("bytes", limit);
                    let message =
                        state
                            .texts
                            .render(signed.locale, "upload-too-large", Some(&args));
                    return Err(pages::failure(
                        state,
                        signed,
                        &OfficeError::Rejected(message),
                    ));
                }
                writer.write_all(&chunk).map_err(internal)?;
            }
            Ok(None) => break,
            Err(_) => {
                let message = state.texts.render(signed.locale, "upload-broken", None);
                return Err(pages::failure(
                    state,
                    signed,
                    &OfficeError::Rejected(message),
                ));
            }
        }
    }
    writer.flush().map_err(internal)
}

/// `POST /console/imports?csrf=…` (multipart: `kind`, `dry_run`, `file`): the file is
/// imported (or dry-run) by the office and the page shows the outcome.
pub async fn upload(
    State(state): State<ConsoleState>,
    signed: Signed,
    multipart: Multipart,
) -> Page {
    let upload = receive(&state, &signed, multipart).await?;
    let file = std::fs::File::open(&upload.spool.0).map_err(|e| {
        pages::failure(
            &state,
            &signed,
            &OfficeError::Internal(format!("spool: {e}")),
        )
    })?;
    let request = ImportRequest {
        dry_run: upload.dry_run,
        source: upload.source.clone(),
        read: upload.read.clone(),
        keep_every_error: false,
    };
    let outcome = state
        .office
        .import_file(
            &signed.session.principal,
            upload.kind,
            Box::new(std::io::BufReader::new(file)),
            &request,
        )
        .await;
    drop(upload.spool);
    let dry_run = upload.dry_run;
    let counts = |c: &crate::store::ImportCounts| {
        format!(
            "{} / {} / {} / {}",
            c.communes, c.centres, c.stations, c.voters
        )
    };
    let refused = |message: String| ImportResult {
        ok: false,
        dry_run,
        rows: 0,
        counts: String::new(),
        version: String::new(),
        change_set: None,
        unchanged: false,
        errors: Vec::new(),
        error_count: 0,
        message,
    };
    let (result, status) = match outcome {
        Ok(outcome) => (
            ImportResult {
                ok: true,
                dry_run,
                rows: outcome.report.rows,
                counts: counts(&outcome.report.counts),
                version: outcome
                    .record
                    .as_ref()
                    .map(|r| r.version.to_string())
                    .unwrap_or_default(),
                change_set: outcome.record.as_ref().and_then(|r| r.change_set),
                unchanged: outcome
                    .record
                    .as_ref()
                    .is_some_and(|r| r.number.is_none() && outcome.change_sets.is_empty()),
                errors: Vec::new(),
                error_count: 0,
                message: String::new(),
            },
            StatusCode::OK,
        ),
        Err(OfficeError::ImportRejected(report)) => (
            ImportResult {
                rows: report.rows,
                counts: counts(&report.counts),
                errors: report
                    .errors
                    .iter()
                    .map(|e| {
                        (
                            e.line.map(|l| l.to_string()).unwrap_or_default(),
                            state.texts.line_error(signed.locale, e),
                        )
                    })
                    .collect(),
                error_count: report.error_count,
                ..refused(String::new())
            },
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(error @ (OfficeError::Rejected(_) | OfficeError::Conflict(_))) => (
            refused(error.to_string()),
            if matches!(error, OfficeError::Conflict(_)) {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            },
        ),
        Err(error) => return Err(pages::failure(&state, &signed, &error)),
    };
    pages::imports_page(&state, &signed, Some(result), status).await
}

/// `POST /console/imports/errors?csrf=…` (the same form): the file is checked as a dry run
/// and the answer is a CSV of its offending rows (its own columns, then `line` and `error`),
/// to open in Excel, fix and upload again; only the header when the file is valid. Nothing
/// is kept on the server between the check and the download, so any instance answers.
pub async fn errors(
    State(state): State<ConsoleState>,
    signed: Signed,
    multipart: Multipart,
) -> Page {
    let upload = receive(&state, &signed, multipart).await?;
    let bytes = std::fs::read(&upload.spool.0).map_err(|e| {
        pages::failure(
            &state,
            &signed,
            &OfficeError::Internal(format!("spool: {e}")),
        )
    })?;
    drop(upload.spool);
    let rows = state
        .office
        .import_error_rows(
            &signed.session.principal,
            upload.kind,
            bytes,
            &upload.read,
            &upload.source,
        )
        .await
        .map_err(|error| pages::failure(&state, &signed, &error))?;
    let disposition = format!(
        "attachment; filename=\"maktab-{}-errors.csv\"",
        upload.kind.as_str()
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
