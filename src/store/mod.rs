//! Storage: traits of use-case methods, one per area ([`RollStore`] for the electoral map and
//! roll, [`SenderStore`] for what is remembered of senders, [`SmsStore`] for outbound SMS and
//! their delivery status, [`TelegramStore`] for the Telegram channel's inbox, blocked chats and
//! button offers, [`ReportStore`] for reports of citizens missing from the roll and the clerks
//! who collect them, [`UserStore`] for the web console's users and sessions, [`TicketStore`] for the duty desk's tickets and roster, and the admin, change-set and notice areas), gathered in [`Store`] and
//! implemented for SQLite (the embedded default) and PostgreSQL (several instances behind one
//! database), chosen at start-up from the database URL. Nothing backend-specific leaks past
//! the traits; `tests/store_conformance.rs` holds both to the same behaviour.
//!
//! # Layout
//!
//! Each area's file here holds its types and trait. `shared/` holds the SQL both databases
//! read alike (`$1` placeholders, `true`/`false`), written once and compiled once per
//! backend; `sqlite/` and `postgres/` hold each backend's connection and only what its
//! dialect writes differently (bulk writes, row locks, arrays), saying why.

mod admin;
mod changes;
mod notices;
mod outbox_sql;
mod postgres;
mod reports;
mod roll;
mod senders;
mod sms;
mod sqlite;
mod telegram;
mod tickets;
mod users;

use std::sync::Arc;

use async_trait::async_trait;
use thiserror::Error;

pub use admin::{
    AdminStore, AuditEntry, AuditQuery, AuditVerification, ChainBreak, ChainedAuditEntry,
    GENESIS_HASH, LookupCount, LookupStatsQuery, NewAuditEntry, NewToken, TokenRecord,
};
pub use changes::{
    ChangeRecipient, ChangeSet, ChangeSetStatus, ChangeStore, PlaceChange, RemovedRecipient,
    VoterChange, VoterChangeKind,
};
pub use notices::{
    Audience, AudienceMember, Campaign, CampaignStatus, NewNotice, NewReply, Notice, NoticeResult,
    NoticeStore, OutboxLane, OutboxStore,
};
pub use postgres::PostgresStore;
pub use reports::{
    Clerk, EnrolRefusal, Filed, FollowUpContact, NewReport, RegisteredReporter, Report,
    ReportCount, ReportQuery, ReportSource, ReportSourceKind, ReportStatus, ReportStore,
};
pub use roll::{
    ImportCounts, ImportKind, ImportRecord, MapVersion, NewImport, RegisteredVoter, RollBatch,
    RollStore, StationLoad,
};
pub use senders::{
    Admitted, BirthCheck, Delivered, Delivery, Lookup, LookupAdmission, LookupAhead, LookupDone,
    SenderState, SenderStore,
};
pub use sms::{DeliveryStatus, OutboundSms, SmsStore, UnknownDeliveryStatus};
pub use sqlite::SqliteStore;
pub use telegram::{Acceptance, PendingUpdate, TelegramStore};
pub use tickets::{
    CentreName, DutyAgent, INCIDENT_PRIORITY, IncidentKind, MessageOrigin, NewShift, NewTicket,
    Shift, Ticket, TicketKind, TicketMessage, TicketQuery, TicketStatus, TicketStore,
};
pub use users::{NewSession, NewUser, SessionRecord, UserRecord, UserStore};

/// A name unique to this process (host, process id and randomness in case of reuse), for the
/// locks and leases it holds in a database other instances share.
pub fn holder_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "maktab".to_owned());
    let mut nonce = [0u8; 4];
    let _ = getrandom::fill(&mut nonce);
    format!(
        "{host}:{}:{:08x}",
        std::process::id(),
        u32::from_le_bytes(nonce)
    )
}

/// A storage failure. Callers show voters a generic "try again" and log the detail.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    /// A statement on one of SQLite's plain connections (the group commit's own, the
    /// lookup's readers) failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
    #[error("the import was abandoned before it completed")]
    ImportAbandoned,
    #[error("the electoral map changed while the roll was being imported; import it again")]
    MapChanged,
    #[error("change set {0} is not pending")]
    NotPending(i64),
    #[error("another version became current since change set {0} was made; import again")]
    Superseded(i64),
    /// SQLite's group commit could not commit the batch holding this write (the batch's
    /// transaction was rolled back; nothing of it was written).
    #[error("the write batch failed: {0}")]
    Batch(String),
    /// An import would change a commune whose change set of the same kind awaits a decision.
    #[error("pending change set {id} of commune {commune}: approve or reject it first")]
    ChangeSetPending { id: i64, commune: String },
}

/// `Result` with [`StoreError`].
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A stored value that does not parse: the database was changed behind Maktab's back.
fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// Communes stored as comma-separated text (console users on both backends, tokens on
/// SQLite, which has no arrays).
fn join_communes(communes: &[crate::domain::CommuneCode]) -> String {
    communes
        .iter()
        .map(crate::domain::CommuneCode::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

fn split_communes(joined: &str) -> Result<Vec<crate::domain::CommuneCode>> {
    joined
        .split(',')
        .filter(|c| !c.is_empty())
        .map(|c| crate::domain::CommuneCode::parse(c).map_err(corrupt))
        .collect()
}

/// Everything Maktab stores: the union of the area traits. Each backend implements every area.
#[async_trait]
pub trait Store:
    RollStore
    + SenderStore
    + AdminStore
    + ChangeStore
    + NoticeStore
    + OutboxStore
    + SmsStore
    + TelegramStore
    + ReportStore
    + UserStore
    + TicketStore
    + Send
    + Sync
{
    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;

    /// Connection pool use, for metrics.
    fn pool_stats(&self) -> PoolStats;
}

/// Connection pool use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections.
    pub size: u32,
    /// Open and idle.
    pub idle: u32,
    /// The pool's maximum.
    pub max: u32,
}

/// Opens the database named by the URL (`sqlite://PATH` or `postgres://...`), creating (for
/// SQLite) and migrating it as needed.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::connect(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
