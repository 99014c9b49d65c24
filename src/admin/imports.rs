//! Imports on behalf of a principal (an API token or the command line): the importer's commune
//! scope is applied to the file's rows, and every attempt (accepted, dry run or rejected) is
//! recorded in the audit log.

use std::io::Read;
use std::sync::Arc;

use serde_json::json;

use super::auth::Principal;
use crate::domain::Role;
use crate::roll::{self, ImportError, ImportOptions, ImportOutcome};
use crate::store::{ImportKind, Store};

/// Runs an import and audits it.
pub async fn import(
    store: Arc<dyn Store>,
    principal: &Principal,
    kind: ImportKind,
    input: Box<dyn Read + Send>,
    dry_run: bool,
    max_voters_per_station: u32,
    source: &str,
) -> Result<ImportOutcome, ImportError> {
    let options = ImportOptions {
        allowed_communes: (principal.role != Role::National).then(|| principal.communes.clone()),
        dry_run,
        max_voters_per_station,
        source: source.to_owned(),
        actor: principal.name.clone(),
    };
    let result = match kind {
        ImportKind::Map => roll::import_map(store.as_ref(), input, &options).await,
        ImportKind::Roll => roll::import_roll(Arc::clone(&store), input, &options).await,
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
    if let Err(error) = store.append_audit(entry).await {
        // The import itself stands; losing its audit entry must at least be loud.
        tracing::error!(%error, "could not record an import in the audit log");
    }
    result
}
