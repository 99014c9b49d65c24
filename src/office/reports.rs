//! Reports of citizens missing from the roll, and the clerks who collect them in the field.
//!
//! Listing shows masked NINs and no names, enough to triage and mark reports handled; the CSV
//! export, which carries the full NIN and name for the revision of the lists, is a deliberate
//! act written to the audit log. Clerk supervisors, commune officers and national principals
//! all work here, each within their communes.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::Office;
use super::error::{OfficeError, OfficeResult};
use super::principal::{Permission, Principal};
use crate::domain::{CommuneCode, Timestamp};
use crate::reports::{clerks, export};
use crate::store::{Clerk, Report, ReportCount, ReportQuery, ReportSource, ReportStatus};

/// How long an invitation code can be used, unless the officer says otherwise.
pub const DEFAULT_INVITE_HOURS: u32 = 72;
/// At most a month: a code is a password until it is used.
const MAX_INVITE_HOURS: u32 = 31 * 24;
/// Reports per page of the listing.
const MAX_PAGE: u32 = 1000;
/// Rows of one export (a commune's backlog; a national export goes commune by commune).
const MAX_EXPORT: u32 = 1_000_000;
/// Reports one "mark handled" request may name.
const MAX_HANDLED_PER_REQUEST: usize = 10_000;

/// Filters shared by the listing and the export, as the caller typed them.
#[derive(Debug, Default, Clone)]
pub struct ReportFilter {
    /// Default: every commune of the principal.
    pub commune: Option<CommuneCode>,
    /// open, handled or resolved.
    pub status: Option<String>,
    /// Filed on or after this day (`YYYY-MM-DD`, UTC).
    pub from: Option<String>,
    /// Filed on or before this day (`YYYY-MM-DD`, UTC).
    pub to: Option<String>,
}

fn day_start(value: &str, name: &str) -> OfficeResult<Timestamp> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc().timestamp())
        .ok_or_else(|| OfficeError::Rejected(format!("{name}: expected YYYY-MM-DD, got {value:?}")))
}

impl ReportFilter {
    /// The store query these filters ask for, within the principal's communes.
    fn query(&self, principal: &Principal, limit: u32, offset: u64) -> OfficeResult<ReportQuery> {
        Ok(ReportQuery {
            communes: principal.scope(self.commune.as_ref())?,
            status: self
                .status
                .as_deref()
                .map(|s| s.parse::<ReportStatus>().map_err(OfficeError::Rejected))
                .transpose()?,
            from: self
                .from
                .as_deref()
                .map(|d| day_start(d, "from"))
                .transpose()?,
            to: self
                .to
                .as_deref()
                .map(|d| day_start(d, "to").map(|start| start + 24 * 3600))
                .transpose()?,
            clerk_id: None,
            ids: None,
            limit,
            offset,
        })
    }
}

/// A report as listed: masked NIN, no name.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    pub id: i64,
    pub nin: String,
    pub commune: String,
    pub status: ReportStatus,
    pub created_at: Timestamp,
    pub handled_at: Option<Timestamp>,
    pub handled_by: Option<String>,
    pub resolved_at: Option<Timestamp>,
    pub sources: Vec<ReportSource>,
}

impl From<Report> for ReportView {
    fn from(report: Report) -> Self {
        Self {
            id: report.id,
            nin: report.nin.masked(),
            commune: report.commune.to_string(),
            status: report.status,
            created_at: report.created_at,
            handled_at: report.handled_at,
            handled_by: report.handled_by,
            resolved_at: report.resolved_at,
            sources: report.sources,
        }
    }
}

/// A page of reports, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportList {
    pub reports: Vec<ReportView>,
}

/// Reports per commune, source and status.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportStats {
    pub counts: Vec<ReportCount>,
}

/// A new invitation: the code is shown this once and stored only as a hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    pub clerk_id: i64,
    /// What the clerk sends to the Telegram bot: `/clerk <code>`.
    pub code: String,
    pub expires_at: Timestamp,
}

/// Clerks, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClerkList {
    pub clerks: Vec<Clerk>,
}

/// A CSV export of reports.
#[derive(Debug)]
pub struct ReportExport {
    /// UTF-8 with BOM.
    pub csv: Vec<u8>,
    pub rows: usize,
}

impl Office {
    /// A page of reports (1 to 1000), newest first.
    pub async fn reports(
        &self,
        principal: &Principal,
        filter: &ReportFilter,
        limit: u32,
        offset: u64,
    ) -> OfficeResult<ReportList> {
        principal.require(Permission::Reports)?;
        let query = filter.query(principal, limit.clamp(1, MAX_PAGE), offset)?;
        let reports = self.store.reports(&query).await?;
        Ok(ReportList {
            reports: reports.into_iter().map(ReportView::from).collect(),
        })
    }

    /// The reports as CSV, written to the audit log with the filters and the number of rows.
    pub async fn export_reports(
        &self,
        principal: &Principal,
        filter: &ReportFilter,
    ) -> OfficeResult<ReportExport> {
        principal.require(Permission::Reports)?;
        let query = filter.query(principal, MAX_EXPORT, 0)?;
        let reports = self.store.reports(&query).await?;
        let communes = self.store.communes().await?;
        let csv = export::to_csv(&reports, &communes)
            .map_err(|error| OfficeError::Internal(format!("CSV export: {error}")))?;
        let audit = principal.audit(
            "reports.export",
            query.communes.clone().unwrap_or_default(),
            json!({
                "status": query.status.map(ReportStatus::as_str),
                "from": filter.from,
                "to": filter.to,
                "rows": reports.len(),
            }),
        );
        self.store.append_audit(audit).await?;
        Ok(ReportExport {
            csv,
            rows: reports.len(),
        })
    }

    /// Marks open reports handled and returns how many changed. Every report must exist and
    /// be within the principal's communes, or nothing changes.
    pub async fn mark_handled(&self, principal: &Principal, ids: &[i64]) -> OfficeResult<u64> {
        principal.require(Permission::Reports)?;
        if ids.is_empty() || ids.len() > MAX_HANDLED_PER_REQUEST {
            return Err(OfficeError::Rejected(format!(
                "ids: 1 to {MAX_HANDLED_PER_REQUEST} report ids"
            )));
        }
        let mut unique = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let reports = self
            .store
            .reports(&ReportQuery {
                ids: Some(unique.clone()),
                limit: u32::try_from(unique.len()).unwrap_or(u32::MAX),
                ..ReportQuery::default()
            })
            .await?;
        if reports.len() != unique.len() {
            return Err(OfficeError::NotFound(
                "some of these reports do not exist".to_owned(),
            ));
        }
        let mut communes: Vec<CommuneCode> = Vec::new();
        for report in reports {
            principal.require_cover(
                std::slice::from_ref(&report.commune),
                &format!("report {}", report.id),
            )?;
            if !communes.contains(&report.commune) {
                communes.push(report.commune);
            }
        }
        let audit = principal.audit("reports.handle", communes, json!({ "reports": ids }));
        Ok(self
            .store
            .mark_reports_handled(ids, &principal.actor(), crate::domain::now(), audit)
            .await?)
    }

    /// Reports per commune, source and status.
    pub async fn report_stats(
        &self,
        principal: &Principal,
        commune: Option<&CommuneCode>,
    ) -> OfficeResult<ReportStats> {
        principal.require(Permission::Reports)?;
        let scope = principal.scope(commune)?;
        Ok(ReportStats {
            counts: self.store.report_counts(scope.as_deref()).await?,
        })
    }

    /// Invites a clerk for a commune of the principal's (the code is valid 1 to 744 hours,
    /// 72 by default).
    pub async fn invite_clerk(
        &self,
        principal: &Principal,
        commune: &CommuneCode,
        valid_hours: Option<u32>,
    ) -> OfficeResult<Invitation> {
        principal.require(Permission::Reports)?;
        principal.scope(Some(commune))?;
        self.require_mapped_commune(commune).await?;
        let hours = valid_hours.unwrap_or(DEFAULT_INVITE_HOURS);
        if hours == 0 || hours > MAX_INVITE_HOURS {
            return Err(OfficeError::Rejected(format!(
                "valid_hours: 1 to {MAX_INVITE_HOURS}"
            )));
        }
        let code = clerks::generate_code()
            .map_err(|error| OfficeError::Internal(format!("no randomness: {error}")))?;
        let canonical = clerks::normalize_code(&code)
            .ok_or_else(|| OfficeError::Internal("generated an unreadable code".to_owned()))?;
        let now = crate::domain::now();
        let expires_at = now + i64::from(hours) * 3600;
        let audit = principal.audit(
            "clerk.invite",
            vec![commune.clone()],
            json!({ "expires_at": expires_at }),
        );
        let clerk_id = self
            .store
            .invite_clerk(
                commune,
                &clerks::hash_code(&canonical),
                expires_at,
                &principal.actor(),
                now,
                audit,
            )
            .await?;
        Ok(Invitation {
            clerk_id,
            code,
            expires_at,
        })
    }

    /// Refuses a commune that is not in the current electoral map: a clerk or a broadcast
    /// there would reach nobody. Asked after the scope, so that a foreign commune is told 403
    /// and learns nothing of the map.
    pub(super) async fn require_mapped_commune(&self, commune: &CommuneCode) -> OfficeResult<()> {
        let communes = self.store.communes().await?;
        if communes.iter().any(|known| &known.code == commune) {
            Ok(())
        } else {
            Err(OfficeError::Rejected(format!(
                "commune {commune} is not in the current electoral map"
            )))
        }
    }

    /// Clerks of the principal's communes (or of one of them), newest first.
    pub async fn clerks(
        &self,
        principal: &Principal,
        commune: Option<&CommuneCode>,
    ) -> OfficeResult<ClerkList> {
        principal.require(Permission::Reports)?;
        let scope = principal.scope(commune)?;
        Ok(ClerkList {
            clerks: self.store.clerks(scope.as_deref()).await?,
        })
    }

    /// Revokes a clerk of the principal's communes: they can no longer file reports.
    pub async fn revoke_clerk(&self, principal: &Principal, id: i64) -> OfficeResult<()> {
        principal.require(Permission::Reports)?;
        let clerk = self
            .store
            .clerk(id)
            .await?
            .ok_or_else(|| OfficeError::NotFound(format!("no clerk {id}")))?;
        principal.require_cover(std::slice::from_ref(&clerk.commune), &format!("clerk {id}"))?;
        let audit = principal.audit(
            "clerk.revoke",
            vec![clerk.commune.clone()],
            json!({ "clerk": id }),
        );
        if self
            .store
            .revoke_clerk(id, &principal.actor(), crate::domain::now(), audit)
            .await?
        {
            Ok(())
        } else {
            Err(OfficeError::Conflict(format!(
                "clerk {id} is already revoked"
            )))
        }
    }
}
