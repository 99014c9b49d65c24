//! Admin tokens and authorisation, each checked in one place: the [`Principal`] extractor
//! authenticates the bearer token of every `/api/v1` request, and [`Principal::require`] and
//! [`Principal::scope`] decide what it may do and to which communes.
//!
//! A token reads `mk_<id>_<secret>`: the id finds the row, the secret's SHA-256 is compared
//! with the stored hash in constant time. The secret itself is never stored.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::error::ApiError;
use crate::domain::{CommuneCode, Role, Timestamp};
use crate::server::App;
use crate::store::{NewAuditEntry, NewToken, Store, StoreError, TokenRecord};

const PREFIX: &str = "mk_";
const SECRET_BYTES: usize = 32;

/// What a role may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Import the map or the roll (of one's communes).
    Import,
    /// Read import versions, statistics and the audit log (of one's communes).
    Monitor,
    /// Write and send broadcasts (to one's communes).
    Broadcast,
    /// Follow reports of citizens missing from the roll and manage clerks (of one's communes).
    Reports,
}

impl Role {
    fn allows(self, permission: Permission) -> bool {
        match self {
            Role::National => true,
            Role::CommuneAdmin => matches!(
                permission,
                Permission::Import
                    | Permission::Monitor
                    | Permission::Broadcast
                    | Permission::Reports
            ),
            // Clerk supervisors only manage missing-from-the-roll reports.
            Role::ClerkSupervisor => permission == Permission::Reports,
        }
    }
}

/// The authenticated caller of an admin request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Principal {
    pub token_id: i64,
    /// The token's name, recorded as the actor in the audit log.
    pub name: String,
    pub role: Role,
    #[schema(value_type = Vec<String>)]
    pub communes: Vec<CommuneCode>,
    pub expires_at: Option<Timestamp>,
}

impl Principal {
    /// The principal of the command line: national rights, recorded with the system user.
    pub fn command_line() -> Self {
        let user = std::env::var("USER").unwrap_or_else(|_| "operator".to_owned());
        Self {
            token_id: 0,
            name: format!("command line ({user})"),
            role: Role::National,
            communes: Vec::new(),
            expires_at: None,
        }
    }

    /// Refuses (403) what the role may not do.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "a {} token may not do this",
                self.role
            )))
        }
    }

    /// The communes a request may cover. `None` means every commune (national). A commune the
    /// token does not cover is refused with 403, never answered with an empty result.
    pub fn scope(
        &self,
        requested: Option<&CommuneCode>,
    ) -> Result<Option<Vec<CommuneCode>>, ApiError> {
        if self.role == Role::National {
            return Ok(requested.map(|c| vec![c.clone()]));
        }
        match requested {
            Some(commune) if self.communes.contains(commune) => Ok(Some(vec![commune.clone()])),
            Some(commune) => Err(ApiError::Forbidden(format!(
                "this token does not cover commune {commune}"
            ))),
            None => Ok(Some(self.communes.clone())),
        }
    }

    /// An audit entry written by this principal.
    pub fn audit(
        &self,
        action: &str,
        communes: Vec<CommuneCode>,
        details: serde_json::Value,
    ) -> NewAuditEntry {
        NewAuditEntry {
            at: crate::domain::now(),
            actor: self.name.clone(),
            action: action.to_owned(),
            communes,
            details,
        }
    }
}

fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why a token is refused. Callers see only "invalid or expired token".
#[derive(Debug, PartialEq, Eq)]
pub enum TokenRejection {
    Malformed,
    Unknown,
    Revoked,
    Expired,
}

/// Checks a presented token against the store.
pub async fn verify(
    store: &dyn Store,
    presented: &str,
    now: Timestamp,
) -> Result<Result<Principal, TokenRejection>, StoreError> {
    let Some((id, secret)) = presented
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .and_then(|(id, secret)| Some((id.parse::<i64>().ok()?, secret)))
    else {
        return Ok(Err(TokenRejection::Malformed));
    };
    let presented_hash = hash_secret(secret);
    let record = store.token(id).await?;
    // Compare even for an unknown id, so both paths take the same time.
    let stored_hash = record
        .as_ref()
        .map_or_else(|| hash_secret("no such token"), |r| r.secret_hash.clone());
    let matches: bool = presented_hash
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into();
    let Some(record) = record.filter(|_| matches) else {
        return Ok(Err(TokenRejection::Unknown));
    };
    if record.revoked_at.is_some() {
        return Ok(Err(TokenRejection::Revoked));
    }
    if record.expires_at.is_some_and(|expires| expires <= now) {
        return Ok(Err(TokenRejection::Expired));
    }
    Ok(Ok(Principal {
        token_id: record.id,
        name: record.name,
        role: record.role,
        communes: record.communes,
        expires_at: record.expires_at,
    }))
}

impl FromRequestParts<App> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::Unauthorized(
                "an Authorization: Bearer token is required",
            ))?;
        match verify(app.store.as_ref(), presented, crate::domain::now()).await? {
            Ok(principal) => Ok(principal),
            Err(rejection) => {
                tracing::info!(?rejection, "admin token refused");
                Err(ApiError::Unauthorized("invalid, revoked or expired token"))
            }
        }
    }
}

/// A newly created token: the only time its secret is visible.
#[derive(Debug)]
pub struct IssuedToken {
    pub id: i64,
    pub token: String,
}

/// Creates a token and records who created it.
pub async fn create_token(
    store: &dyn Store,
    creator: &Principal,
    name: &str,
    role: Role,
    communes: Vec<CommuneCode>,
    expires_in_days: Option<u32>,
) -> Result<IssuedToken, TokenError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(TokenError::Invalid(
            "the name must be 1 to 100 characters".to_owned(),
        ));
    }
    match (role, communes.is_empty()) {
        (Role::National, false) => {
            return Err(TokenError::Invalid(
                "a national token covers every commune: give no --commune".to_owned(),
            ));
        }
        (Role::CommuneAdmin | Role::ClerkSupervisor, true) => {
            return Err(TokenError::Invalid(format!(
                "a {role} token needs at least one --commune"
            )));
        }
        _ => {}
    }
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let now = crate::domain::now();
    let expires_at = expires_in_days.map(|days| now + i64::from(days) * 24 * 3600);
    let audit = creator.audit(
        "token.create",
        communes.clone(),
        serde_json::json!({ "name": name, "role": role, "expires_at": expires_at }),
    );
    let id = store
        .create_token(
            NewToken {
                name: name.to_owned(),
                role,
                communes,
                secret_hash: hash_secret(&secret),
                created_at: now,
                expires_at,
            },
            audit,
        )
        .await?;
    Ok(IssuedToken {
        id,
        token: format!("{PREFIX}{id}_{secret}"),
    })
}

/// Revokes a token and records who did it. `false` if it did not exist or was already revoked.
pub async fn revoke_token(
    store: &dyn Store,
    revoker: &Principal,
    id: i64,
) -> Result<bool, TokenError> {
    let Some(token) = store.token(id).await? else {
        return Ok(false);
    };
    let audit = revoker.audit(
        "token.revoke",
        token.communes.clone(),
        serde_json::json!({ "token_id": id, "name": token.name }),
    );
    Ok(store.revoke_token(id, crate::domain::now(), audit).await?)
}

/// A token could not be created or revoked.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Invalid(String),
    #[error("no randomness available: {0}")]
    Random(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A token as listed (never with its secret).
pub fn describe(token: &TokenRecord, now: Timestamp) -> &'static str {
    match (token.revoked_at, token.expires_at) {
        (Some(_), _) => "revoked",
        (None, Some(expires)) if expires <= now => "expired",
        _ => "active",
    }
}
