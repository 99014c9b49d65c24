//! Reading the append-only audit log, newest first, a page at a time. A commune office reads
//! the entries that concern its communes alone: an entry that also concerns another commune
//! (a national import, say) would tell it about that commune.

use serde::Serialize;
use utoipa::ToSchema;

use super::Office;
use super::error::{OfficeError, OfficeResult};
use super::principal::{Permission, Principal};
use crate::domain::{CommuneCode, Timestamp};
use crate::store::{AuditEntry, AuditQuery, AuditVerification};

/// The largest page.
const MAX_PAGE: u32 = 500;

/// Which entries to read.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// Action or action prefix (`import` matches `import.roll`).
    pub action: Option<String>,
    /// The actor (a token's name).
    pub actor: Option<String>,
    /// Entries concerning this commune; default: every commune of the principal.
    pub commune: Option<CommuneCode>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Entries older than this id: the previous page's `next_before_id`.
    pub before_id: Option<i64>,
    /// Page size, 1 to 500.
    pub limit: u32,
}

/// One page of the audit log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before_id` for the next page; absent on the last page.
    pub next_before_id: Option<i64>,
}

impl Office {
    /// Walks the audit log's hash chain from the first entry and says where it first fails
    /// to match, if anywhere. Any monitoring role may prove the record intact: the answer
    /// names entry ids and hashes, nothing of their content.
    pub async fn verify_audit(&self, principal: &Principal) -> OfficeResult<AuditVerification> {
        principal.require(Permission::Monitor)?;
        Ok(self.store.verify_audit_chain().await?)
    }

    /// A page of the audit log.
    pub async fn audit(
        &self,
        principal: &Principal,
        filter: AuditFilter,
    ) -> OfficeResult<AuditPage> {
        principal.require(Permission::Monitor)?;
        let communes = principal.scope(filter.commune.as_ref())?;
        let limit = filter.limit;
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(OfficeError::Rejected(format!(
                "limit must be between 1 and {MAX_PAGE}"
            )));
        }
        let entries = self
            .store
            .audit_entries(&AuditQuery {
                action: filter.action,
                actor: filter.actor,
                communes,
                since: filter.since,
                until: filter.until,
                before_id: filter.before_id,
                limit,
            })
            .await?;
        // Paging follows the log, not what this principal may see of it, so that a page
        // thinned by the scope does not end the listing early.
        let next_before_id = (entries.len() == limit as usize)
            .then(|| entries.last().map(|e| e.id))
            .flatten();
        let entries = entries
            .into_iter()
            .filter(|entry| principal.covers(&entry.communes))
            .collect();
        Ok(AuditPage {
            entries,
            next_before_id,
        })
    }
}
