//! What the admin API stores: tokens (hashes only), the append-only audit log and lookup
//! statistics.

use async_trait::async_trait;
use serde::Serialize;

use super::Result;
use crate::domain::{CommuneCode, Role, Timestamp};

/// A token to create. The secret itself is never stored, only its hash.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub communes: Vec<CommuneCode>,
    pub secret_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// A stored token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub communes: Vec<CommuneCode>,
    #[serde(skip)]
    pub secret_hash: String,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// An audit entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub at: Timestamp,
    /// The token name, or `command line (user)`.
    pub actor: String,
    /// What was done: `token.create`, `import.roll`, `import.roll.dry_run`, ...
    pub action: String,
    /// The communes the action concerns; empty for national ones.
    pub communes: Vec<CommuneCode>,
    /// What and how many, as JSON.
    pub details: serde_json::Value,
}

/// A stored audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    #[schema(value_type = Vec<String>)]
    pub communes: Vec<CommuneCode>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// Which audit entries to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Entries whose action starts with this (`import` matches `import.roll`).
    pub action: Option<String>,
    pub actor: Option<String>,
    /// Only entries concerning at least one of these communes (`None`: all entries).
    pub communes: Option<Vec<CommuneCode>>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Entries older than this id (the next page).
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// Lookups counted in one hour, channel, commune and outcome.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub struct LookupCount {
    /// Start of the hour, in seconds since the epoch.
    pub hour: Timestamp,
    pub channel: String,
    /// Empty when no voter matched.
    pub commune: String,
    pub outcome: String,
    pub count: u64,
}

/// Which lookup statistics to read.
#[derive(Debug, Clone, Default)]
pub struct LookupStatsQuery {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub channel: Option<String>,
    /// Only these communes (`None`: all, including lookups that matched no voter).
    pub communes: Option<Vec<CommuneCode>>,
}

/// Storage for the admin API.
#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Creates a token and records it in the audit log, atomically. Returns its id.
    async fn create_token(&self, token: NewToken, audit: NewAuditEntry) -> Result<i64>;

    /// A token by id, whatever its state.
    async fn token(&self, id: i64) -> Result<Option<TokenRecord>>;

    /// Every token, oldest first.
    async fn tokens(&self) -> Result<Vec<TokenRecord>>;

    /// Revokes a token and records it in the audit log, atomically. `false` if there is no
    /// such token or it was already revoked.
    async fn revoke_token(&self, id: i64, at: Timestamp, audit: NewAuditEntry) -> Result<bool>;

    /// Appends to the audit log. Returns the entry's id.
    async fn append_audit(&self, entry: NewAuditEntry) -> Result<i64>;

    /// Reads the audit log, newest first.
    async fn audit_entries(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>>;

    /// Adds counted lookups (each instance flushes its own counts in batches).
    async fn add_lookup_counts(&self, counts: &[LookupCount]) -> Result<()>;

    /// Reads lookup statistics, by hour.
    async fn lookup_counts(&self, query: &LookupStatsQuery) -> Result<Vec<LookupCount>>;
}
