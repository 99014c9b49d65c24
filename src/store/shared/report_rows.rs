//! Rows of the report and clerk tables read into their types: the tables have the same
//! columns and types (integers are 64-bit, text is text) in SQLite and PostgreSQL.

use std::str::FromStr;

use sqlx::Row;

use super::{DbRow, corrupt};
use crate::domain::{BirthDate, Channel, CommuneCode, Locale, NationalId};
use crate::store::{
    Clerk, FollowUpContact, RegisteredReporter, Report, ReportCount, ReportSource,
    ReportSourceKind, ReportStatus, Result,
};

pub(super) fn clerk_from_row(row: &DbRow) -> Result<Clerk> {
    Ok(Clerk {
        id: row.try_get("id")?,
        commune: CommuneCode::parse(row.try_get("commune_code")?).map_err(corrupt)?,
        invited_by: row.try_get("invited_by")?,
        invited_at: row.try_get("invited_at")?,
        invite_expires_at: row.try_get("invite_expires_at")?,
        chat: row.try_get("chat")?,
        enrolled_at: row.try_get("enrolled_at")?,
        revoked_at: row.try_get("revoked_at")?,
        revoked_by: row.try_get("revoked_by")?,
    })
}

/// A report without its sources (read separately).
pub(super) fn report_from_row(row: &DbRow) -> Result<Report> {
    Ok(Report {
        id: row.try_get("id")?,
        number: row.try_get("number")?,
        nin: NationalId::parse(row.try_get("nin")?).map_err(corrupt)?,
        birth_date: BirthDate::from_iso(row.try_get("birth_date")?).map_err(corrupt)?,
        commune: CommuneCode::parse(row.try_get("commune_code")?).map_err(corrupt)?,
        full_name: row.try_get("full_name")?,
        status: ReportStatus::from_str(row.try_get("status")?).map_err(corrupt)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        handled_at: row.try_get("handled_at")?,
        handled_by: row.try_get("handled_by")?,
        resolved_at: row.try_get("resolved_at")?,
        sources: Vec::new(),
    })
}

/// A source with the id of its report.
pub(super) fn source_from_row(row: &DbRow) -> Result<(i64, ReportSource)> {
    Ok((
        row.try_get("report_id")?,
        ReportSource {
            kind: ReportSourceKind::from_str(row.try_get("source")?).map_err(corrupt)?,
            clerk_id: row.try_get("clerk_id")?,
            channel: row.try_get("channel")?,
            created_at: row.try_get("created_at")?,
        },
    ))
}

/// A follow-up contact (columns `channel`, `recipient`, `locale`).
pub(super) fn contact_from_row(row: &DbRow) -> Result<FollowUpContact> {
    Ok(FollowUpContact {
        channel: Channel::from_str(row.try_get("channel")?).map_err(corrupt)?,
        recipient: row.try_get("recipient")?,
        locale: Locale::from_str(row.try_get("locale")?).map_err(corrupt)?,
    })
}

/// Reports of one commune, source and status (column `reports` is the count).
pub(super) fn count_from_row(row: &DbRow) -> Result<ReportCount> {
    Ok(ReportCount {
        commune: CommuneCode::parse(row.try_get("commune_code")?).map_err(corrupt)?,
        source: ReportSourceKind::from_str(row.try_get("source")?).map_err(corrupt)?,
        status: ReportStatus::from_str(row.try_get("status")?).map_err(corrupt)?,
        reports: u64::try_from(row.try_get::<i64, _>("reports")?).map_err(corrupt)?,
    })
}

/// A reporter of a resolved report (columns `id`, `nin` and the contact's).
pub(super) fn registered_from_row(row: &DbRow) -> Result<RegisteredReporter> {
    Ok(RegisteredReporter {
        report_id: row.try_get("id")?,
        nin: NationalId::parse(row.try_get("nin")?).map_err(corrupt)?,
        contact: contact_from_row(row)?,
    })
}
