//! Change sets: what a re-import changes, listed and shown to whom it concerns, approved
//! (with the optional two-person rule) or rejected. Approval makes the new version current
//! and prepares the notices to the subscribers of the voters it moves.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::Office;
use super::error::{OfficeError, OfficeResult};
use super::principal::{Permission, Principal};
use crate::notices::prepare;
use crate::store::{ChangeSet, ChangeSetStatus, PlaceChange, VoterChange, VoterChangeKind};

/// Voter changes shown per page at most.
const MAX_VOTERS_PER_PAGE: u32 = 1000;

/// One voter's change, with the NIN masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoterChangeView {
    pub nin: String,
    #[schema(value_type = String)]
    pub change: VoterChangeKind,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl From<VoterChange> for VoterChangeView {
    fn from(change: VoterChange) -> Self {
        Self {
            nin: change.nin.masked(),
            change: change.change,
            from: change.old.map(|s| s.to_string()),
            to: change.new.map(|s| s.to_string()),
        }
    }
}

/// Change sets, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeList {
    pub change_sets: Vec<ChangeSet>,
}

/// A change set with its changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeDetail {
    pub change_set: ChangeSet,
    pub voters: Vec<VoterChangeView>,
    pub places: Vec<PlaceChange>,
}

/// The campaign an approval started.
#[derive(Debug, Serialize, ToSchema)]
pub struct Approval {
    pub campaign: i64,
    /// Notices queued for subscribers of the affected voters.
    pub notices: u64,
}

fn what(id: i64) -> String {
    format!("change set {id}")
}

impl Office {
    /// Change sets the principal may see, newest first, at most `limit` of the newest.
    pub async fn change_sets(
        &self,
        principal: &Principal,
        status: Option<ChangeSetStatus>,
        limit: u32,
    ) -> OfficeResult<ChangeList> {
        principal.require(Permission::Monitor)?;
        let change_sets = self
            .store
            .change_sets(status, limit)
            .await?
            .into_iter()
            .filter(|c| principal.covers(&c.communes))
            .collect();
        Ok(ChangeList { change_sets })
    }

    async fn visible_change_set(&self, principal: &Principal, id: i64) -> OfficeResult<ChangeSet> {
        let change_set = self
            .store
            .change_set(id)
            .await?
            .ok_or_else(|| OfficeError::NotFound(format!("no change set {id}")))?;
        principal.require_cover(&change_set.communes, &what(id))?;
        Ok(change_set)
    }

    /// A change set with its changed places and a page of its voters (1 to 1000).
    pub async fn change_set(
        &self,
        principal: &Principal,
        id: i64,
        limit: u32,
        offset: u64,
    ) -> OfficeResult<ChangeDetail> {
        principal.require(Permission::Monitor)?;
        let change_set = self.visible_change_set(principal, id).await?;
        let voters = self
            .store
            .voter_changes(id, limit.clamp(1, MAX_VOTERS_PER_PAGE), offset)
            .await?
            .into_iter()
            .map(VoterChangeView::from)
            .collect();
        let places = self.store.place_changes(id).await?;
        Ok(ChangeDetail {
            change_set,
            voters,
            places,
        })
    }

    /// Approves a change set: the new version becomes current and the change notices are
    /// prepared. With the two-person rule, the approver must not be the importer. A refusal
    /// is audited.
    pub async fn approve(&self, principal: &Principal, id: i64) -> OfficeResult<Approval> {
        let result = self.approve_unaudited(principal, id).await;
        self.audit_refusal(principal, id, "approve", result.as_ref().err())
            .await;
        result
    }

    /// Rejects a change set: its version is discarded. A refusal is audited.
    pub async fn reject(&self, principal: &Principal, id: i64) -> OfficeResult<()> {
        let result = self.reject_unaudited(principal, id).await;
        self.audit_refusal(principal, id, "reject", result.as_ref().err())
            .await;
        result
    }

    /// Records a refused decision (`decision`: approve or reject) on change set `id`: the
    /// two-person rule, a foreign commune, a role that may not decide, a change set no longer
    /// pending. The entry concerns the change set's communes, so that their office sees who
    /// tried. A change set that does not exist, or a failure of the database, is no decision
    /// refused and is not recorded.
    async fn audit_refusal(
        &self,
        principal: &Principal,
        id: i64,
        decision: &str,
        error: Option<&OfficeError>,
    ) {
        let (code, reason) = match error {
            Some(OfficeError::Forbidden(reason)) => ("forbidden", reason),
            Some(OfficeError::Conflict(reason)) => ("conflict", reason),
            Some(OfficeError::Rejected(reason)) => ("rejected", reason),
            _ => return,
        };
        let change_set = match self.store.change_set(id).await {
            Ok(change_set) => change_set,
            Err(error) => {
                tracing::error!(%error, id, "could not read a change set to audit a refusal");
                None
            }
        };
        let (action, communes) = match change_set {
            Some(c) => (
                format!("changes.{}.{decision}.refused", c.kind.as_str()),
                c.communes,
            ),
            None => (format!("changes.{decision}.refused"), Vec::new()),
        };
        let entry = principal.audit(
            &action,
            communes,
            json!({ "change_set": id, "refusal": code, "reason": reason }),
        );
        if let Err(error) = self.store.append_audit(entry).await {
            // The refusal stands; losing its record must at least be loud.
            tracing::error!(%error, id, "could not record a refused decision in the audit log");
        }
    }

    async fn approve_unaudited(&self, principal: &Principal, id: i64) -> OfficeResult<Approval> {
        principal.require(Permission::Import)?;
        let change_set = self.visible_change_set(principal, id).await?;
        if self.rules.two_person_rule && principal.is_actor(&change_set.created_by) {
            return Err(OfficeError::Forbidden(
                "the two-person rule is on: the change set must be approved by someone other than its importer".to_owned(),
            ));
        }
        let audit = principal.audit(
            &format!("changes.{}.approve", change_set.kind.as_str()),
            change_set.communes.clone(),
            json!({ "change_set": id, "new_version": change_set.new_version, "summary": change_set.summary }),
        );
        let campaign_id = self
            .store
            .approve_change_set(id, &principal.actor(), crate::domain::now(), audit)
            .await?;
        let campaign = self
            .store
            .campaign(campaign_id)
            .await?
            .ok_or_else(|| OfficeError::NotFound(format!("no campaign {campaign_id}")))?;
        let notices =
            prepare::prepare_change_campaign(self.store.as_ref(), &self.catalog, &campaign).await?;
        Ok(Approval {
            campaign: campaign_id,
            notices,
        })
    }

    async fn reject_unaudited(&self, principal: &Principal, id: i64) -> OfficeResult<()> {
        principal.require(Permission::Import)?;
        let change_set = self.visible_change_set(principal, id).await?;
        let audit = principal.audit(
            &format!("changes.{}.reject", change_set.kind.as_str()),
            change_set.communes.clone(),
            json!({ "change_set": id, "new_version": change_set.new_version }),
        );
        Ok(self
            .store
            .reject_change_set(id, &principal.actor(), crate::domain::now(), audit)
            .await?)
    }
}
