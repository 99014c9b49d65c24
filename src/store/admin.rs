//! What the admin API stores: tokens (hashes only), the append-only audit log and lookup
//! statistics.
//!
//! The audit log is a hash chain, as transparency logs are: each entry stores the hash of the
//! entry before it and its own hash, `sha256(prev_hash || canonical content)`. Both databases
//! refuse updates, deletes and replacements; someone who goes around that (file access, a
//! superuser dropping the triggers) breaks the chain, and [`AdminStore::verify_audit_chain`]
//! names the first entry that no longer matches. Rewriting the whole tail consistently is
//! still possible for someone who can write the database: the head hash that `audit verify`
//! prints is what an office records elsewhere to rule that out too.

use std::fmt;

use async_trait::async_trait;
use serde::Serialize;
use sha2::{Digest, Sha256};

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

/// The `prev_hash` of the first entry of the chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An audit entry as the chain holds it: its stored columns, undecoded, so that an entry
/// rewritten into something Maktab would not write is still read and reported, not an error.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainedAuditEntry {
    pub id: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    /// Commune codes as stored.
    pub communes: Vec<String>,
    /// The details column as text.
    pub details: String,
    /// `None` for an entry written before the chain and not yet sealed.
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// The canonical content of an entry, the bytes its hash covers: a compact JSON array
/// `[id, at, actor, action, [communes], details]` with the keys of `details` sorted, so that
/// PostgreSQL's `jsonb` (which reorders keys and spaces) and SQLite's text hash alike.
fn canonical_content(
    id: i64,
    at: Timestamp,
    actor: &str,
    action: &str,
    communes: &[&str],
    details: &serde_json::Value,
) -> String {
    let mut out = String::with_capacity(128);
    out.push('[');
    out.push_str(&id.to_string());
    out.push(',');
    out.push_str(&at.to_string());
    out.push(',');
    push_json_string(&mut out, actor);
    out.push(',');
    push_json_string(&mut out, action);
    out.push_str(",[");
    for (i, commune) in communes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, commune);
    }
    out.push_str("],");
    push_canonical_json(&mut out, details);
    out.push(']');
    out
}

fn push_json_string(out: &mut String, text: &str) {
    out.push_str(&serde_json::Value::String(text.to_owned()).to_string());
}

fn push_canonical_json(out: &mut String, value: &serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json_string(out, key);
                out.push(':');
                push_canonical_json(out, value);
            }
            out.push('}');
        }
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_canonical_json(out, item);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn chain_hash(prev_hash: &str, content: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(content.as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hash of a new entry with id `id` following `prev_hash`, as the backends store it.
pub(crate) fn new_entry_hash(prev_hash: &str, id: i64, entry: &NewAuditEntry) -> String {
    let communes: Vec<&str> = entry.communes.iter().map(CommuneCode::as_str).collect();
    let content = canonical_content(
        id,
        entry.at,
        &entry.actor,
        &entry.action,
        &communes,
        &entry.details,
    );
    chain_hash(prev_hash, &content)
}

impl ChainedAuditEntry {
    /// The hash this entry's content gives after `prev_hash`; `None` if its details are not
    /// JSON (only a rewrite outside Maktab leaves that).
    pub fn computed_hash(&self, prev_hash: &str) -> Option<String> {
        let details: serde_json::Value = serde_json::from_str(&self.details).ok()?;
        let communes: Vec<&str> = self.communes.iter().map(String::as_str).collect();
        let content = canonical_content(
            self.id,
            self.at,
            &self.actor,
            &self.action,
            &communes,
            &details,
        );
        Some(chain_hash(prev_hash, &content))
    }
}

/// Why an entry breaks the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChainBreak {
    /// The entry carries no hashes (written around the chain).
    Unsealed,
    /// Its `prev_hash` is not the hash of the entry before it: an entry was removed, inserted
    /// or rehashed before it.
    Link,
    /// Its content no longer gives its hash: the entry itself was rewritten.
    Content,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unsealed => "carries no chain hashes",
            Self::Link => "does not follow the entry before it (an entry before it was removed, inserted or rehashed)",
            Self::Content => "does not match its hash (the entry was rewritten)",
        })
    }
}

/// What walking the audit chain found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditVerification {
    /// Entries checked, up to and including the first that does not match.
    pub checked: u64,
    /// The last entry that matched and its hash: record it elsewhere to detect a rewrite of
    /// the whole tail later.
    pub head_id: Option<i64>,
    pub head_hash: Option<String>,
    /// The first entry that does not match, and why; `None` if the whole chain holds.
    pub broken_id: Option<i64>,
    pub broken: Option<ChainBreak>,
}

/// Entries read per query while walking the chain.
const CHAIN_PAGE: u32 = 10_000;

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

    /// Up to `limit` entries with an id above `after_id`, oldest first, as the chain holds
    /// them.
    async fn audit_chain(&self, after_id: i64, limit: u32) -> Result<Vec<ChainedAuditEntry>>;

    /// Walks the whole audit chain, oldest first, and stops at the first entry that does not
    /// match.
    async fn verify_audit_chain(&self) -> Result<AuditVerification> {
        let mut verification = AuditVerification {
            checked: 0,
            head_id: None,
            head_hash: None,
            broken_id: None,
            broken: None,
        };
        let mut expected_prev = GENESIS_HASH.to_owned();
        // Ids are positive, but an entry slipped in with a negative id must be checked too.
        let mut after = i64::MIN;
        loop {
            let page = self.audit_chain(after, CHAIN_PAGE).await?;
            for entry in &page {
                verification.checked += 1;
                let problem = match (&entry.prev_hash, &entry.hash) {
                    (Some(prev), _) if *prev != expected_prev => Some(ChainBreak::Link),
                    (Some(prev), Some(hash))
                        if entry.computed_hash(prev).as_ref() != Some(hash) =>
                    {
                        Some(ChainBreak::Content)
                    }
                    (Some(_), Some(_)) => None,
                    _ => Some(ChainBreak::Unsealed),
                };
                if let Some(problem) = problem {
                    verification.broken_id = Some(entry.id);
                    verification.broken = Some(problem);
                    return Ok(verification);
                }
                if let Some(hash) = &entry.hash {
                    expected_prev.clone_from(hash);
                }
                verification.head_id = Some(entry.id);
                verification.head_hash = entry.hash.clone();
            }
            match page.last() {
                Some(last) if page.len() == CHAIN_PAGE as usize => after = last.id,
                _ => return Ok(verification),
            }
        }
    }

    /// Adds counted lookups (each instance flushes its own counts in batches).
    async fn add_lookup_counts(&self, counts: &[LookupCount]) -> Result<()>;

    /// Reads lookup statistics, by hour.
    async fn lookup_counts(&self, query: &LookupStatsQuery) -> Result<Vec<LookupCount>>;
}
