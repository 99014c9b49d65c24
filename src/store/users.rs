//! What the web console stores: its users (login, role, communes, an Argon2id password hash,
//! an optional TOTP secret, a disabled flag) and their server-side sessions. Sessions live in
//! the database so that any instance serves any browser and disabling a user ends them at
//! once, everywhere. The SQL is in `shared/users.rs`, the same for both backends.

use async_trait::async_trait;
use serde::Serialize;

use super::{NewAuditEntry, Result};
use crate::domain::{CommuneCode, Role, Timestamp};

/// A console user to create.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub login: String,
    pub role: Role,
    pub communes: Vec<CommuneCode>,
    /// The PHC string of the password's Argon2id hash.
    pub password_hash: String,
    pub created_at: Timestamp,
}

/// A stored console user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRecord {
    pub id: i64,
    pub login: String,
    pub role: Role,
    pub communes: Vec<CommuneCode>,
    #[serde(skip)]
    pub password_hash: String,
    /// The base32 TOTP secret, once enrolled.
    #[serde(skip)]
    pub totp_secret: Option<String>,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

/// A session to open.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The SHA-256 of the cookie's secret (hex).
    pub id: String,
    pub user_id: i64,
    pub csrf: String,
    pub pending_second_factor: bool,
    pub created_at: Timestamp,
}

/// A stored session with its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub user: UserRecord,
    pub csrf: String,
    pub pending_second_factor: bool,
    pub created_at: Timestamp,
    pub last_seen: Timestamp,
    pub ended_at: Option<Timestamp>,
}

/// Storage for console users and sessions. Changes to users are recorded in the audit log
/// in the same transaction.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user; `None` if the login is taken.
    async fn create_user(&self, user: NewUser, audit: NewAuditEntry) -> Result<Option<i64>>;

    /// A user by id, whatever its state.
    async fn user(&self, id: i64) -> Result<Option<UserRecord>>;

    /// A user by login (exact), whatever its state.
    async fn user_by_login(&self, login: &str) -> Result<Option<UserRecord>>;

    /// Every user, oldest first.
    async fn users(&self) -> Result<Vec<UserRecord>>;

    /// Disables a user and ends its sessions. `false` if there is no such enabled user.
    async fn disable_user(&self, id: i64, at: Timestamp, audit: NewAuditEntry) -> Result<bool>;

    /// Sets a new password hash and ends the user's sessions. `false` if there is no such
    /// user.
    async fn set_password(
        &self,
        id: i64,
        password_hash: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<bool>;

    /// Sets (or with `None` removes) the user's TOTP secret.
    async fn set_totp_secret(
        &self,
        id: i64,
        secret: Option<&str>,
        audit: NewAuditEntry,
    ) -> Result<bool>;

    /// Opens a session.
    async fn create_session(&self, session: NewSession) -> Result<()>;

    /// A session by id with its user, ended or not.
    async fn session(&self, id: &str) -> Result<Option<SessionRecord>>;

    /// Records activity on a session (for the idle expiry).
    async fn touch_session(&self, id: &str, at: Timestamp) -> Result<()>;

    /// Marks the second factor given.
    async fn complete_second_factor(&self, id: &str, at: Timestamp) -> Result<()>;

    /// Ends a session.
    async fn end_session(&self, id: &str, at: Timestamp) -> Result<()>;

    /// Removes sessions that ended, or were last seen, before `before`.
    async fn prune_sessions(&self, before: Timestamp) -> Result<u64>;
}
