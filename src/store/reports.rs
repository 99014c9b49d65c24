//! Reports of citizens missing from the roll, and the clerks who collect them in the field.
//!
//! One report per NIN: a second report of the same NIN (the citizen writes again, or a clerk
//! records them too) adds a source to the first rather than a second row, so the revision of
//! the lists sees each person once and every reporter still hears when they are registered.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{NewAuditEntry, Result};
use crate::domain::{BirthDate, Channel, CommuneCode, Locale, NationalId, Timestamp};

/// Where a report stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Filed, not yet looked at by the election office.
    Open,
    /// The office has taken it into the revision of the lists.
    Handled,
    /// An approved roll contains the NIN: the citizen is registered.
    Resolved,
}

impl ReportStatus {
    pub const ALL: [ReportStatus; 3] = [Self::Open, Self::Handled, Self::Resolved];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Handled => "handled",
            Self::Resolved => "resolved",
        }
    }
}

impl fmt::Display for ReportStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReportStatus {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown report status {s:?}: open, handled or resolved"))
    }
}

/// Who filed a report.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReportSourceKind {
    /// The citizen, in the conversation.
    #[serde(rename = "self")]
    Citizen,
    /// A clerk on duty, for a citizen in front of them.
    Clerk,
}

impl ReportSourceKind {
    pub const ALL: [ReportSourceKind; 2] = [Self::Citizen, Self::Clerk];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Citizen => "self",
            Self::Clerk => "clerk",
        }
    }
}

impl FromStr for ReportSourceKind {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown report source {s:?}: self or clerk"))
    }
}

/// Where the "you are now registered" notice of a report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpContact {
    pub channel: Channel,
    /// A phone number in E.164 or a Telegram chat id.
    pub recipient: String,
    pub locale: Locale,
}

/// A report to file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    pub nin: NationalId,
    pub birth_date: BirthDate,
    /// The commune of residence.
    pub commune: CommuneCode,
    pub full_name: String,
    pub source: ReportSourceKind,
    /// The clerk who filed it, for [`ReportSourceKind::Clerk`].
    pub clerk_id: Option<i64>,
    /// `None` when a clerk recorded no phone number.
    pub follow_up: Option<FollowUpContact>,
    /// The reporter's language (also the follow-up's).
    pub locale: Locale,
}

/// What filing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Filed {
    pub report_id: i64,
    /// The report's number in its commune (1, 2, 3...): what the office and the clerk read.
    pub number: i64,
    /// `false` when the NIN was already reported: the source was added to that report.
    pub new_report: bool,
}

/// One source of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReportSource {
    pub kind: ReportSourceKind,
    pub clerk_id: Option<i64>,
    /// The follow-up channel, if any (`sms` or `telegram`).
    pub channel: Option<String>,
    pub created_at: Timestamp,
}

/// A stored report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: i64,
    /// Its number in its commune (1, 2, 3... without gaps).
    pub number: i64,
    pub nin: NationalId,
    pub birth_date: BirthDate,
    pub commune: CommuneCode,
    /// Emptied once the report is resolved: the roll then holds what the office needs.
    pub full_name: String,
    pub status: ReportStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub handled_at: Option<Timestamp>,
    pub handled_by: Option<String>,
    pub resolved_at: Option<Timestamp>,
    pub sources: Vec<ReportSource>,
}

/// Filters of a report listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportQuery {
    /// `None`: every commune.
    pub communes: Option<Vec<CommuneCode>>,
    pub status: Option<ReportStatus>,
    /// Filed at or after.
    pub from: Option<Timestamp>,
    /// Filed before.
    pub to: Option<Timestamp>,
    /// Only reports with a source from this clerk.
    pub clerk_id: Option<i64>,
    /// Only these reports.
    pub ids: Option<Vec<i64>>,
    pub limit: u32,
    pub offset: u64,
}

/// Reports of one commune, source and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReportCount {
    #[schema(value_type = String)]
    pub commune: CommuneCode,
    pub source: ReportSourceKind,
    pub status: ReportStatus,
    /// Reports with at least one source of this kind: a report filed by both the citizen and
    /// a clerk counts under each source.
    pub reports: u64,
}

/// A clerk: invited for a commune, enrolled from a Telegram chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Clerk {
    pub id: i64,
    #[schema(value_type = String)]
    pub commune: CommuneCode,
    pub invited_by: String,
    pub invited_at: Timestamp,
    /// Until when the invitation code can be used; `None` once used.
    pub invite_expires_at: Option<Timestamp>,
    /// The enrolled Telegram chat (never shown in full outside the store).
    #[serde(skip)]
    pub chat: Option<String>,
    pub enrolled_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    pub revoked_by: Option<String>,
}

impl Clerk {
    /// Enrolled and not revoked: may file reports.
    pub fn is_active(&self) -> bool {
        self.enrolled_at.is_some() && self.revoked_at.is_none()
    }

    /// Why this clerk's invitation cannot be used at `now`, if it cannot. A revoked
    /// invitation says so even once it has expired too: the officer who asks learns that
    /// someone revoked it, which is the more useful of the two answers.
    pub fn enrol_refusal(&self, now: Timestamp) -> Option<EnrolRefusal> {
        if self.revoked_at.is_some() {
            Some(EnrolRefusal::Revoked)
        } else if self.invite_expires_at.is_none_or(|expires| expires <= now) {
            Some(EnrolRefusal::Expired)
        } else {
            None
        }
    }
}

/// Why an enrolment was refused. One answer for all to the person enrolling (so codes cannot
/// be probed), but the reason is logged for the officer who asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolRefusal {
    /// No invitation has this code, or it was already used.
    UnknownCode,
    Expired,
    Revoked,
}

/// A reporter to tell that the reported citizen is now on the roll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredReporter {
    pub report_id: i64,
    pub nin: NationalId,
    pub contact: FollowUpContact,
}

/// Storage of reports and clerks.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Files a report, or adds a source to the report of the same NIN. A resolved report
    /// filed again is opened again: the citizen still does not find themselves.
    async fn file_report(&self, report: &NewReport, now: Timestamp) -> Result<Filed>;

    /// Reports, newest first.
    async fn reports(&self, query: &ReportQuery) -> Result<Vec<Report>>;

    /// One report.
    async fn report(&self, id: i64) -> Result<Option<Report>>;

    /// Marks open reports handled, with the audit entry, atomically. Returns how many changed;
    /// reports already handled or resolved are left as they are.
    async fn mark_reports_handled(
        &self,
        ids: &[i64],
        by: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<u64>;

    /// Reports per commune, source and status; `None` for every commune.
    async fn report_counts(&self, communes: Option<&[CommuneCode]>) -> Result<Vec<ReportCount>>;

    /// The follow-up contacts (not opted out) of the open and handled reports of a commune,
    /// once each, for a broadcast such as "the revision period opens".
    async fn open_reporters(&self, commune: &CommuneCode) -> Result<Vec<FollowUpContact>>;

    /// The contacts to tell of the reports a roll change set resolved (each contact once per
    /// report; opted-out contacts left out).
    async fn registered_reporters(&self, change_set_id: i64) -> Result<Vec<RegisteredReporter>>;

    /// Records an invitation (the code's hash, never the code) with its audit entry.
    async fn invite_clerk(
        &self,
        commune: &CommuneCode,
        code_hash: &str,
        expires_at: Timestamp,
        by: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<i64>;

    /// Uses an invitation code for a chat. A chat already enrolled is moved to the new
    /// invitation (a clerk posted to another commune). The audit entry is written on success.
    async fn enrol_clerk(
        &self,
        code_hash: &str,
        chat: &str,
        now: Timestamp,
    ) -> Result<std::result::Result<Clerk, EnrolRefusal>>;

    /// The active clerk enrolled from a chat.
    async fn clerk_by_chat(&self, chat: &str) -> Result<Option<Clerk>>;

    /// One clerk.
    async fn clerk(&self, id: i64) -> Result<Option<Clerk>>;

    /// Clerks, newest first; `None` for every commune.
    async fn clerks(&self, communes: Option<&[CommuneCode]>) -> Result<Vec<Clerk>>;

    /// Revokes a clerk, with the audit entry. `false` if already revoked.
    async fn revoke_clerk(
        &self,
        id: i64,
        by: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<bool>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invited(expires_at: Option<Timestamp>, revoked_at: Option<Timestamp>) -> Clerk {
        Clerk {
            id: 1,
            commune: CommuneCode::parse("1601").unwrap(),
            invited_by: "officer".to_owned(),
            invited_at: 0,
            invite_expires_at: expires_at,
            chat: None,
            enrolled_at: None,
            revoked_at,
            revoked_by: revoked_at.map(|_| "officer".to_owned()),
        }
    }

    #[test]
    fn an_invitation_is_usable_until_it_expires() {
        assert_eq!(invited(Some(100), None).enrol_refusal(99), None);
        assert_eq!(
            invited(Some(100), None).enrol_refusal(100),
            Some(EnrolRefusal::Expired)
        );
        // A used invitation has no expiry left.
        assert_eq!(
            invited(None, None).enrol_refusal(0),
            Some(EnrolRefusal::Expired)
        );
    }

    #[test]
    fn a_revoked_invitation_is_refused_as_revoked_even_once_expired() {
        assert_eq!(
            invited(Some(100), Some(50)).enrol_refusal(10),
            Some(EnrolRefusal::Revoked)
        );
        assert_eq!(
            invited(Some(100), Some(50)).enrol_refusal(200),
            Some(EnrolRefusal::Revoked)
        );
    }
}
