//! Change sets: what a new version of the map or the roll changes, kept pending until an
//! officer approves (it becomes current) or rejects it (it is discarded).

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use serde::Serialize;

use super::{ImportKind, NewAuditEntry, Result};
use crate::domain::{Channel, Locale, NationalId, PollingPlace, StationRef, Timestamp};

/// Where a change set stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeSetStatus {
    Pending,
    Approved,
    Rejected,
    /// Another version became current before this one was approved.
    Superseded,
}

impl ChangeSetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Superseded => "superseded",
        }
    }
}

impl fmt::Display for ChangeSetStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChangeSetStatus {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Self::Pending),
            "approved" => Ok(Self::Approved),
            "rejected" => Ok(Self::Rejected),
            "superseded" => Ok(Self::Superseded),
            other => Err(format!("unknown change set status {other:?}")),
        }
    }
}

/// A change set.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChangeSet {
    pub id: i64,
    pub kind: ImportKind,
    /// The version current when the change set was made.
    pub base_version: i64,
    /// The pending version it applies.
    pub new_version: i64,
    pub status: ChangeSetStatus,
    pub created_at: Timestamp,
    pub created_by: String,
    /// The communes the new version's file covered.
    #[schema(value_type = Vec<String>)]
    pub communes: Vec<crate::domain::CommuneCode>,
    pub decided_at: Option<Timestamp>,
    pub decided_by: Option<String>,
    /// Counts (voters added, removed, moved; places changed) and station flows.
    #[schema(value_type = Object)]
    pub summary: serde_json::Value,
}

/// How a voter's assignment changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VoterChangeKind {
    Added,
    Removed,
    Moved,
}

/// One voter's change (not `Serialize`: the API shows the NIN masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoterChange {
    pub nin: NationalId,
    pub change: VoterChangeKind,
    pub old: Option<StationRef>,
    pub new: Option<StationRef>,
}

/// One change to a commune, centre or station of the map (`commune_added`, `commune_renamed`
/// (with `centre` empty), `centre_added`, `centre_removed`, `centre_renamed`,
/// `centre_address_changed`, `centre_moved` (coordinates), `station_added`,
/// `station_removed`, `station_kind_changed`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlaceChange {
    pub change: String,
    pub commune: String,
    pub centre: String,
    pub station: Option<u16>,
    #[schema(value_type = Option<Object>)]
    pub old: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub new: Option<serde_json::Value>,
}

impl PlaceChange {
    /// The changes after which voters assigned to the place must be told (their place now
    /// reads differently). `ChangeStore::change_recipients` selects its voters by this list.
    pub const CONCERNING_VOTERS: [&'static str; 4] = [
        "centre_renamed",
        "centre_address_changed",
        "centre_moved",
        "station_kind_changed",
    ];

    /// Whether voters assigned to this place must be told.
    pub fn concerns_voters(&self) -> bool {
        Self::CONCERNING_VOTERS.contains(&self.change.as_str())
    }
}

/// Someone to tell about a change: a subscriber of an affected voter, in their language, with
/// the voter's place in the (now current) new version.
#[derive(Debug, Clone)]
pub struct ChangeRecipient {
    pub channel: Channel,
    pub recipient: String,
    pub locale: Locale,
    pub nin: NationalId,
    pub place: PollingPlace,
}

/// Someone to tell that a voter they follow is no longer on their commune's roll: a
/// subscriber of a voter an approved change set removed (and who is on no other commune's
/// current roll either), with the commune they were on.
#[derive(Debug, Clone)]
pub struct RemovedRecipient {
    pub channel: Channel,
    pub recipient: String,
    pub locale: Locale,
    pub nin: NationalId,
    /// The commune whose roll no longer holds the voter (its name from the current map).
    pub commune: crate::domain::Commune,
}

/// Storage of change sets.
#[async_trait]
pub trait ChangeStore: Send + Sync {
    /// Change sets, newest first, optionally of one status.
    async fn change_sets(
        &self,
        status: Option<ChangeSetStatus>,
        limit: u32,
    ) -> Result<Vec<ChangeSet>>;

    /// One change set.
    async fn change_set(&self, id: i64) -> Result<Option<ChangeSet>>;

    /// The newest pending change set of a kind, if any. Change sets are per commune: several
    /// may be pending at once, one per commune (and kind) at most.
    async fn pending_change_set(&self, kind: ImportKind) -> Result<Option<ChangeSet>>;

    /// The change sets an import made (one per commune it changes), by id.
    async fn version_change_sets(&self, version: i64) -> Result<Vec<ChangeSet>>;

    /// A page of a roll change set's voter changes, by NIN.
    async fn voter_changes(&self, id: i64, limit: u32, offset: u64) -> Result<Vec<VoterChange>>;

    /// A map change set's place changes.
    async fn place_changes(&self, id: i64) -> Result<Vec<PlaceChange>>;

    /// Applies a pending change set, atomically with the audit entry and a campaign (in
    /// `preparing`) for the change notices. A change set covers one commune: if its version
    /// holds nothing else unapproved and is still based on the current version, it becomes
    /// current; otherwise a new version is made of the current one with this commune's data
    /// from the change set's version. Fails with [`super::StoreError::Superseded`] if the
    /// commune's data changed since the change set was made (another change set of it was
    /// approved; for a roll, also one of its map). Returns the campaign id.
    async fn approve_change_set(
        &self,
        id: i64,
        by: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<i64>;

    /// Rejects a pending change set, atomically with the audit entry; its version's data is
    /// discarded once no change set of it is pending.
    async fn reject_change_set(
        &self,
        id: i64,
        by: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<()>;

    /// Subscribers (not opted out) of the voters an approved change set affects, with their
    /// new place.
    async fn change_recipients(&self, id: i64) -> Result<Vec<ChangeRecipient>>;

    /// Subscribers (not opted out) of the voters an approved roll change set removed and the
    /// current roll no longer holds anywhere.
    async fn removed_recipients(&self, id: i64) -> Result<Vec<RemovedRecipient>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(kind: &str) -> PlaceChange {
        PlaceChange {
            change: kind.to_owned(),
            commune: "1601".to_owned(),
            centre: "C01".to_owned(),
            station: None,
            old: None,
            new: None,
        }
    }

    #[test]
    fn voters_are_told_when_their_place_reads_differently_not_when_places_come_or_go() {
        for kind in [
            "centre_renamed",
            "centre_address_changed",
            "centre_moved",
            "station_kind_changed",
        ] {
            assert!(change(kind).concerns_voters(), "{kind}");
        }
        // Added and removed places move voters, which the roll's change set tells them.
        for kind in [
            "centre_added",
            "centre_removed",
            "station_added",
            "station_removed",
        ] {
            assert!(!change(kind).concerns_voters(), "{kind}");
        }
    }
}
