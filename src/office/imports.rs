//! Imports of the map and the roll on behalf of a principal: the importer's commune scope is
//! applied to the file's rows, and every attempt (accepted, dry run or rejected) is recorded
//! in the audit log. The list of versions shows a commune office only the versions whose
//! change set concerns its communes alone.

use std::io::Read;
use std::sync::Arc;

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::Office;
use super::error::OfficeResult;
use super::principal::{Permission, Principal};
use crate::roll::reader::ReadOptions;
use crate::roll::{self, ImportError, ImportOptions, ImportOutcome};
use crate::store::{ImportKind, ImportRecord};

/// Versions listed at most.
const MAX_VERSIONS: u32 = 100;

/// Versions of the map and roll, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportList {
    pub imports: Vec<ImportRecord>,
}

/// How an import runs, beside its file.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// Validate and report only.
    pub dry_run: bool,
    /// The file name or upload, kept with the version.
    pub source: String,
    /// How to read the file (detected when left out).
    pub read: ReadOptions,
    /// Keep every error (for the file of offending rows), not only the first 50.
    pub keep_every_error: bool,
}

/// The offending rows of an import file, as CSV.
#[derive(Debug)]
pub struct ErrorRows {
    /// UTF-8 CSV with a byte order mark: the header, then each offending row with `line` and
    /// `error` columns.
    pub csv: Vec<u8>,
    /// Rows written (0: the file is valid).
    pub rows: u64,
    /// All errors found.
    pub errors: u64,
}

impl Office {
    /// Runs an import (or a dry run) of a file whose format is detected, and audits it.
    /// `source` names the file or upload.
    pub async fn import(
        &self,
        principal: &Principal,
        kind: ImportKind,
        input: Box<dyn Read + Send>,
        dry_run: bool,
        source: &str,
    ) -> OfficeResult<ImportOutcome> {
        let request = ImportRequest {
            dry_run,
            source: source.to_owned(),
            ..ImportRequest::default()
        };
        self.import_file(principal, kind, input, &request).await
    }

    /// Validates a file as a dry run and returns its offending rows as CSV, for the office to
    /// fix in its spreadsheet. The file is read twice, so it is given whole.
    pub async fn import_error_rows(
        &self,
        principal: &Principal,
        kind: ImportKind,
        bytes: Vec<u8>,
        read: &ReadOptions,
        source: &str,
    ) -> OfficeResult<ErrorRows> {
        let bytes = std::sync::Arc::new(bytes);
        let request = ImportRequest {
            dry_run: true,
            source: source.to_owned(),
            read: read.clone(),
            keep_every_error: true,
        };
        let input = Box::new(std::io::Cursor::new(SharedBytes(std::sync::Arc::clone(
            &bytes,
        ))));
        let every_error = match self.import_file(principal, kind, input, &request).await {
            Ok(_) => Vec::new(),
            Err(super::OfficeError::ImportRejected(report)) => report.errors,
            Err(other) => return Err(other),
        };
        let mut csv = Vec::new();
        let rows = roll::write_error_rows(bytes.as_slice(), read, &every_error, &mut csv)?;
        Ok(ErrorRows {
            csv,
            rows,
            errors: every_error.len() as u64,
        })
    }

    /// Runs an import (or a dry run) as `request` says, and audits it.
    pub async fn import_file(
        &self,
        principal: &Principal,
        kind: ImportKind,
        input: Box<dyn Read + Send>,
        request: &ImportRequest,
    ) -> OfficeResult<ImportOutcome> {
        principal.require(Permission::Import)?;
        let dry_run = request.dry_run;
        let source = request.source.as_str();
        let options = ImportOptions {
            allowed_communes: principal.import_scope(),
            dry_run,
            max_voters_per_station: self.rules.max_voters_per_station,
            source: source.to_owned(),
            actor: principal.actor(),
            read: request.read.clone(),
            keep_every_error: request.keep_every_error,
        };
        let result = match kind {
            ImportKind::Map => roll::import_map(self.store.as_ref(), input, &options).await,
            ImportKind::Roll => roll::import_roll(Arc::clone(&self.store), input, &options).await,
        };
        let base = format!("import.{}", kind.as_str());
        let entry = match &result {
            Ok(outcome) => {
                let action = if dry_run {
                    format!("{base}.dry_run")
                } else {
                    base
                };
                principal.audit(
                    &action,
                    outcome.report.communes.clone(),
                    json!({
                        "source": source,
                        "rows": outcome.report.rows,
                        "counts": outcome.report.counts,
                        "version": outcome.record.as_ref().map(|r| r.version),
                        "version_counts": outcome.record.as_ref().map(|r| r.counts),
                    }),
                )
            }
            Err(ImportError::Rejected(report)) => principal.audit(
                &format!("{base}.rejected"),
                report.communes.clone(),
                json!({
                    "source": source,
                    "dry_run": dry_run,
                    "rows": report.rows,
                    "errors": report.error_count,
                    "out_of_scope_rows": report.out_of_scope,
                }),
            ),
            Err(error) => principal.audit(
                &format!("{base}.failed"),
                principal.communes.clone(),
                json!({ "source": source, "dry_run": dry_run, "error": error.to_string() }),
            ),
        };
        if let Err(error) = self.store.append_audit(entry).await {
            // The import itself stands; losing its audit entry must at least be loud.
            tracing::error!(%error, "could not record an import in the audit log");
        }
        Ok(result?)
    }

    /// Versions of the map and the roll, newest first. A version's change set tells which
    /// communes it changed; a commune office sees only versions that changed its communes
    /// alone (a first import, with no change set, is national business).
    pub async fn imports(&self, principal: &Principal) -> OfficeResult<ImportList> {
        principal.require(Permission::Monitor)?;
        let records = self.store.imports(MAX_VERSIONS).await?;
        if principal.is_national() {
            return Ok(ImportList { imports: records });
        }
        let mut imports = Vec::new();
        for record in records {
            let communes = match record.change_set {
                Some(id) => self
                    .store
                    .change_set(id)
                    .await?
                    .map(|c| c.communes)
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            if principal.covers(&communes) {
                imports.push(record);
            }
        }
        Ok(ImportList { imports })
    }
}

/// Bytes shared between the validation (on a blocking thread for a roll) and the second read
/// that writes the offending rows.
struct SharedBytes(std::sync::Arc<Vec<u8>>);

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}
