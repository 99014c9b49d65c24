//! Storage: one trait of use-case methods, implemented for SQLite (the embedded default) and
//! chosen at start-up from the database URL. Nothing backend-specific leaks past the trait,
//! so a PostgreSQL implementation can sit beside it.

mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use thiserror::Error;
use tokio::sync::mpsc;

use crate::conversation::Dialogue;
use crate::domain::{
    BirthDate, Channel, ElectoralMap, Locale, NationalId, PollingPlace, StationRef, Timestamp,
    Voter,
};

pub use sqlite::SqliteStore;

/// A storage failure. Callers show voters a generic "try again" and log the detail.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: expected sqlite://PATH")]
    UnsupportedUrl(String),
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
    #[error("the import was abandoned before it completed")]
    ImportAbandoned,
    #[error("the electoral map changed while the roll was being imported; import it again")]
    MapChanged,
}

/// `Result` with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which data set an import replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

/// How much an import holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    pub communes: u64,
    pub centres: u64,
    pub stations: u64,
    pub voters: u64,
}

/// An accepted import: one numbered version of the map or the roll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportRecord {
    pub version: i64,
    pub kind: ImportKind,
    pub created_at: Timestamp,
    pub source: String,
    pub actor: String,
    pub counts: ImportCounts,
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

/// What Maktab remembers of one sender on one channel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SenderState {
    /// The last language the sender wrote in, or chose.
    pub locale: Option<Locale>,
    /// Whether `locale` was an explicit choice (it then wins over detection).
    pub locale_explicit: bool,
    /// The pending dialogue and when it expires; expired dialogues are not returned.
    pub dialogue: Option<(Dialogue, Timestamp)>,
}

/// Everything Maktab stores, as use cases.
#[async_trait]
pub trait Store: Send + Sync {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;

    /// The current electoral map, if one was imported.
    async fn current_map(&self) -> Result<Option<MapVersion>>;

    /// The current import of a kind.
    async fn current_import(&self, kind: ImportKind) -> Result<Option<ImportRecord>>;

    /// Accepted imports, newest first.
    async fn imports(&self, limit: u32) -> Result<Vec<ImportRecord>>;

    /// Voters per station in the current roll.
    async fn station_loads(&self) -> Result<Vec<StationLoad>>;

    /// Stores a validated map as the new current version, atomically.
    async fn import_map(
        &self,
        import: NewImport,
        map: &ElectoralMap,
        counts: ImportCounts,
    ) -> Result<ImportRecord>;

    /// Writes validated voters as they arrive and makes them the current roll on
    /// [`RollBatch::Commit`]. If the channel closes first, everything written is removed.
    async fn import_roll(
        &self,
        import: NewImport,
        batches: mpsc::Receiver<RollBatch>,
    ) -> Result<ImportRecord>;

    /// The voter with this NIN on the current roll, with their polling place.
    async fn find_voter(&self, nin: &NationalId) -> Result<Option<RegisteredVoter>>;

    /// What is remembered of a sender; an expired dialogue is left out.
    async fn sender_state(
        &self,
        channel: Channel,
        sender: &str,
        now: Timestamp,
    ) -> Result<SenderState>;

    /// Replaces what is remembered of a sender.
    async fn save_sender_state(
        &self,
        channel: Channel,
        sender: &str,
        state: &SenderState,
        now: Timestamp,
    ) -> Result<()>;

    /// Adds one to a fixed-window counter and returns the new count.
    async fn increment_counter(&self, key: &str, window_start: Timestamp) -> Result<u64>;

    /// The current count of a fixed-window counter.
    async fn counter(&self, key: &str, window_start: Timestamp) -> Result<u64>;

    /// Removes counters of windows that started before `before`.
    async fn prune_counters(&self, before: Timestamp) -> Result<u64>;
}

/// Opens the database named by the URL (`sqlite://PATH`), creating and migrating it as needed.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
