//! The console's station planning page (`/console/plan`): the office uploads its map and
//! its full roll export (with names), chooses the limit and the strategy, and gets back one
//! `.zip` with the planned `map.csv` and `roll.csv` (to import next, as a change set),
//! `stations.csv`, `centres.csv` and a report per commune, the same files `maktab plan`
//! writes. Files with errors are shown with their lines instead, and nothing is handed back.
//! The uploads and the plan live in a temporary directory removed when the answer is built:
//! names from the roll never stay on the server.

// Handlers answer `Result<Response, Response>`: the error is the page sent back, built once
// per request; boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use std::io::Write as _;
use std::path::PathBuf;

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::ConsoleState;
use super::pages::{self, Chrome, Page};
use super::session::Signed;
use super::uploads::spool_field;
use crate::office::OfficeError;
use crate::planning::{PlanOptions, Strategy};

/// A directory removed with everything in it when dropped.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Template)]
#[template(path = "console/plan.html")]
struct PlanPage {
    c: Chrome,
    max_per_station: u32,
    /// `map` or `roll`, when a file was refused.
    rejected_file: String,
    /// Line, message.
    errors: Vec<(String, String)>,
    error_count: u64,
}

fn page(
    state: &ConsoleState,
    signed: &Signed,
    status: StatusCode,
    fill: impl FnOnce(&mut PlanPage),
) -> Page {
    let mut page = PlanPage {
        c: pages::signed_chrome(state, signed, "plan-title", "/console/plan"),
        max_per_station: state.settings.max_voters_per_station,
        rejected_file: String::new(),
        errors: Vec::new(),
        error_count: 0,
    };
    fill(&mut page);
    pages::render_with(status, &page)
}

/// `GET /console/plan`: the form.
pub async fn form(State(state): State<ConsoleState>, signed: Signed) -> Page {
    signed
        .session
        .principal
        .require(crate::office::Permission::Import)
        .map_err(|e| pages::failure(&state, &signed, &e))?;
    page(&state, &signed, StatusCode::OK, |_| {})
}

/// The file name an upload is kept under: `map` or `roll` with the extension the office's
/// file had (the planner reads the format from it), so messages name "map.csv".
fn kept_name(kind: &str, uploaded: Option<&str>) -> String {
    let extension = uploaded
        .and_then(|name| name.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|ext| ext.chars().all(|c| c.is_ascii_alphanumeric()) && ext.len() <= 5)
        .unwrap_or_else(|| "csv".to_owned());
    format!("{kind}.{extension}")
}

/// `POST /console/plan?csrf=…` (multipart: `map`, `roll`, `max_per_station`, `strategy`,
/// `reserve_percent`, `pack`, `min_per_station`): the plan as a `.zip` download, or the page
/// with the files' errors.
pub async fn run(
    State(state): State<ConsoleState>,
    signed: Signed,
    mut multipart: Multipart,
) -> Page {
    let principal = &signed.session.principal;
    principal
        .require(crate::office::Permission::Import)
        .map_err(|e| pages::failure(&state, &signed, &e))?;
    let refuse = |key: &str| {
        pages::failure(
            &state,
            &signed,
            &OfficeError::Rejected(state.texts.render(signed.locale, key, None)),
        )
    };
    let work =
        WorkDir(std::env::temp_dir().join(format!("maktab-plan-{}", pages::random_token()?)));
    let internal = |e: std::io::Error| {
        pages::failure(
            &state,
            &signed,
            &OfficeError::Internal(format!("plan: {e}")),
        )
    };
    std::fs::create_dir_all(work.0.join("out")).map_err(internal)?;
    let mut options = PlanOptions {
        max_per_station: state.settings.max_voters_per_station,
        ..PlanOptions::default()
    };
    let (mut map, mut roll) = (None, None);
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return Err(refuse("upload-broken")),
        };
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "map" | "roll" => {
                let path = work.0.join(kept_name(&name, field.file_name()));
                spool_field(&state, &signed, &mut field, &path).await?;
                if name == "map" {
                    map = Some(path);
                } else {
                    roll = Some(path);
                }
            }
            "strategy" => {
                options.strategy = match field.text().await.unwrap_or_default().as_str() {
                    "rebalance" => Strategy::Rebalance,
                    _ => Strategy::Keep,
                };
            }
            number @ ("max_per_station" | "reserve_percent" | "pack" | "min_per_station") => {
                let text = field.text().await.unwrap_or_default();
                let Ok(value) = text.trim().parse::<u32>() else {
                    return Err(refuse("plan-bad-number"));
                };
                match number {
                    "max_per_station" => options.max_per_station = value,
                    "reserve_percent" => options.reserve_percent = value,
                    "pack" => options.pack = value,
                    _ => options.min_per_station = value,
                }
            }
            _ => {}
        }
    }
    let (Some(map), Some(roll)) = (map, roll) else {
        return Err(refuse("plan-incomplete"));
    };
    let out = work.0.join("out");
    let planned = state
        .office
        .plan(principal, &map, &roll, &out, options)
        .await
        .map_err(|e| pages::failure(&state, &signed, &e))?;
    let summary = match planned {
        Ok(summary) => summary,
        Err(rejected) => {
            return page(&state, &signed, StatusCode::UNPROCESSABLE_ENTITY, |page| {
                page.rejected_file = rejected.file.to_owned();
                page.error_count = rejected.total;
                page.errors = rejected
                    .errors
                    .iter()
                    .map(|e| {
                        (
                            e.line.map(|l| l.to_string()).unwrap_or_default(),
                            state.texts.line_error(signed.locale, e),
                        )
                    })
                    .collect();
            });
        }
    };
    let mut warnings = String::new();
    for warning in &summary.warnings {
        warnings.push_str(&format!("{warning}\r\n"));
    }
    let zipped = zip_files(&summary.files, &warnings).map_err(internal)?;
    drop(work);
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"maktab-plan.zip\"".to_owned(),
            ),
            (
                header::HeaderName::from_static("x-maktab-plan"),
                format!(
                    "voters={} stations={} new={} moved={} placed={}",
                    summary.voters,
                    summary.stations,
                    summary.new_stations,
                    summary.moved,
                    summary.placed
                ),
            ),
        ],
        zipped,
    )
        .into_response())
}

/// The planned files in one zip (each under its own name), with `warnings.txt` when the plan
/// has some.
fn zip_files(files: &[PathBuf], warnings: &str) -> std::io::Result<Vec<u8>> {
    let to_io = |e: zip::result::ZipError| std::io::Error::other(e.to_string());
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for file in files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("file")
            .to_owned();
        zip.start_file(name, options).map_err(to_io)?;
        std::io::copy(&mut std::fs::File::open(file)?, &mut zip)?;
    }
    if !warnings.is_empty() {
        zip.start_file("warnings.txt", options).map_err(to_io)?;
        zip.write_all(warnings.as_bytes())?;
    }
    Ok(zip.finish().map_err(to_io)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upload_is_kept_under_its_kind_with_its_extension() {
        assert_eq!(kept_name("roll", Some("Liste 2026.XLSX")), "roll.xlsx");
        assert_eq!(kept_name("map", Some("carte.csv")), "map.csv");
        assert_eq!(kept_name("map", None), "map.csv");
        assert_eq!(kept_name("map", Some("../../etc/x.c/sv")), "map.csv");
    }
}
