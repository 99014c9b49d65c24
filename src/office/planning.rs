//! Station planning on behalf of a principal, for those who have no shell: the console
//! uploads the office's map and full roll export, and this runs the one planner
//! ([`crate::planning::plan`], which `maktab plan` runs offline) into a directory the caller
//! hands back as a download. Planning touches no stored data, but the roll export holds
//! voters' names, so who planned which communes is audited, and a commune office plans only
//! its own communes (those it may import).

use std::path::Path;

use serde_json::json;

use super::Office;
use super::error::{OfficeError, OfficeResult};
use super::principal::{Permission, Principal};
use crate::planning::{self, PlanError, PlanOptions, PlanSummary};

/// A plan refused for its files: which file, its first errors by line, and how many in all.
#[derive(Debug, Clone)]
pub struct PlanRejected {
    /// `map` or `roll`.
    pub file: &'static str,
    pub errors: Vec<crate::roll::LineError>,
    pub total: u64,
}

impl Office {
    /// Plans the stations of `map` for the voters of `roll`, writing the planned files into
    /// `out` (see [`crate::planning::plan`]). The files' own errors come back as
    /// `Ok(Err(PlanRejected))`, for the caller to show with their lines. A commune office is
    /// refused a plan that covers a commune it does not (and `out` is emptied).
    pub async fn plan(
        &self,
        principal: &Principal,
        map: &Path,
        roll: &Path,
        out: &Path,
        options: PlanOptions,
    ) -> OfficeResult<Result<PlanSummary, PlanRejected>> {
        principal.require(Permission::Import)?;
        let (map_path, roll_path, out_path) = (map.to_owned(), roll.to_owned(), out.to_owned());
        // Sorting names with the ICU collator and writing the files is CPU and disk work:
        // off the async workers.
        let planned = tokio::task::spawn_blocking(move || {
            planning::plan(&map_path, &roll_path, &out_path, &options)
        })
        .await
        .map_err(|e| OfficeError::Internal(format!("planning stopped: {e}")))?;
        let summary = match planned {
            Ok(summary) => summary,
            Err(PlanError::Rejected {
                file,
                errors,
                total,
            }) => {
                let file = if file == map.display().to_string() {
                    "map"
                } else {
                    "roll"
                };
                return Ok(Err(PlanRejected {
                    file,
                    errors,
                    total,
                }));
            }
            Err(
                error @ (PlanError::Input(_)
                | PlanError::Options(_)
                | PlanError::Assign { .. }
                | PlanError::Changed(_)),
            ) => {
                let shown = error.to_string().replace(&format!("{}/", parent(map)), "");
                return Err(OfficeError::Rejected(shown));
            }
            Err(error) => return Err(OfficeError::Internal(error.to_string())),
        };
        if let Err(refusal) = principal.require_cover(&summary.commune_codes, "this plan") {
            // What was written is not the caller's to take away.
            for file in &summary.files {
                let _ = std::fs::remove_file(file);
            }
            return Err(refusal);
        }
        let audit = principal.audit(
            "plan.run",
            summary.commune_codes.clone(),
            json!({
                "voters": summary.voters,
                "stations": summary.stations,
                "new_stations": summary.new_stations,
                "moved": summary.moved,
                "placed": summary.placed,
                "max_per_station": options.max_per_station,
            }),
        );
        self.store.append_audit(audit).await?;
        Ok(Ok(summary))
    }
}

/// The directory of a file, as its path names it in messages.
fn parent(path: &Path) -> String {
    path.parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}
