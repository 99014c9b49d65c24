//! The electoral map and roll: numbered versions, imports, lookups.

use async_trait::async_trait;
use serde::Serialize;
use tokio::sync::mpsc;

use super::Result;
use crate::domain::{
    BirthDate, ElectoralMap, NationalId, PollingPlace, StationRef, Timestamp, Voter,
};

/// Which data set an import replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    Map,
    Roll,
}

impl ImportKind {
    /// The storage form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Map => "map",
            Self::Roll => "roll",
        }
    }
}

/// Who imports what, and when.
#[derive(Debug, Clone)]
pub struct NewImport {
    pub source: String,
    pub actor: String,
    pub at: Timestamp,
    /// The communes the file covers (known in full only after validation; a roll import
    /// learns them from [`RollBatch::Commit`]).
    pub communes: Vec<crate::domain::CommuneCode>,
}

/// How much an import holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportCounts {
    pub communes: u64,
    pub centres: u64,
    pub stations: u64,
    pub voters: u64,
}

/// An import: one version of the map or the roll, current, past or pending review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportRecord {
    /// The import's id, which change sets name as their base and new version.
    pub version: i64,
    /// The version number, given when the version becomes current (the first import of a
    /// kind, or an approval); `None` while pending. A rejected or discarded import never
    /// takes one.
    pub number: Option<i64>,
    pub kind: ImportKind,
    pub created_at: Timestamp,
    pub source: String,
    pub actor: String,
    pub counts: ImportCounts,
    /// Waiting for its change set to be approved (not yet answered from).
    pub pending: bool,
    /// The change set that reviews this version against the one before it.
    pub change_set: Option<i64>,
}

/// What the roll importer sends to the store, in order.
#[derive(Debug)]
pub enum RollBatch {
    /// Validated voters to write.
    Voters(Vec<Voter>),
    /// The file was valid: make this version current. Dropping the channel without sending
    /// `Commit` abandons the import and leaves the database as it was.
    Commit {
        counts: ImportCounts,
        map_version: i64,
        /// The communes the file covers: their voters are replaced (each commune's slice,
        /// once its change set is approved); every other commune keeps its slice.
        replaced_communes: Vec<crate::domain::CommuneCode>,
    },
}

/// The current map with its version number.
#[derive(Debug, Clone)]
pub struct MapVersion {
    pub version: i64,
    pub map: ElectoralMap,
}

/// How many voters the current roll puts in one station.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StationLoad {
    pub at: StationRef,
    pub voters: u64,
    pub men: u64,
}

/// A voter found on the current roll, with what is needed to verify and answer.
#[derive(Debug, Clone)]
pub struct RegisteredVoter {
    pub birth_date: BirthDate,
    pub place: PollingPlace,
}

/// Storage of the electoral map and roll.
#[async_trait]
pub trait RollStore: Send + Sync {
    /// The current electoral map, if one was imported.
    async fn current_map(&self) -> Result<Option<MapVersion>>;

    /// The communes of the current map (empty before the first map), for matching the
    /// commune a citizen names.
    async fn communes(&self) -> Result<Vec<crate::domain::Commune>>;

    /// The current import of a kind: for the roll, the last import an approval applied, with
    /// the counts of the whole roll answered from (every commune's slice).
    async fn current_import(&self, kind: ImportKind) -> Result<Option<ImportRecord>>;

    /// Accepted imports, newest first.
    async fn imports(&self, limit: u32) -> Result<Vec<ImportRecord>>;

    /// Voters per station in the current roll.
    async fn station_loads(&self) -> Result<Vec<StationLoad>>;

    /// Stores a validated map, atomically: as the current version if there is none yet,
    /// otherwise as a pending version with a change set listing `changes`.
    async fn import_map(
        &self,
        import: NewImport,
        map: &ElectoralMap,
        counts: ImportCounts,
        changes: &[super::PlaceChange],
    ) -> Result<ImportRecord>;

    /// Writes validated voters as they arrive; on [`RollBatch::Commit`] the version becomes the
    /// current roll if there is none yet, otherwise a pending version with a change set of the
    /// voters added, removed and moved. If the channel closes first, everything written is
    /// removed.
    async fn import_roll(
        &self,
        import: NewImport,
        batches: mpsc::Receiver<RollBatch>,
    ) -> Result<ImportRecord>;

    /// The voter with this NIN on the current roll, with their polling place.
    async fn find_voter(&self, nin: &NationalId) -> Result<Option<RegisteredVoter>>;
}
