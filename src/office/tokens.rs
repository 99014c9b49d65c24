//! Admin tokens: creating, listing, revoking, and checking a presented one.
//!
//! A token reads `mk_<id>_<secret>`: the id finds the row, the secret's SHA-256 is compared
//! with the stored hash in constant time. The secret itself is never stored.

use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Office;
use super::error::{OfficeError, OfficeResult};
use super::principal::{Permission, Principal};
use crate::domain::{CommuneCode, Role, Timestamp};
use crate::store::{NewToken, Store, StoreError, TokenRecord};

const PREFIX: &str = "mk_";
const SECRET_BYTES: usize = 32;

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
        id: format!("token:{}", record.id),
        name: record.name,
        role: record.role,
        communes: record.communes,
        expires_at: record.expires_at,
    }))
}

/// A newly created token: the only time its secret is visible.
#[derive(Debug)]
pub struct IssuedToken {
    pub id: i64,
    pub token: String,
}

/// A token's state as listed.
pub fn describe(token: &TokenRecord, now: Timestamp) -> &'static str {
    match (token.revoked_at, token.expires_at) {
        (Some(_), _) => "revoked",
        (None, Some(expires)) if expires <= now => "expired",
        _ => "active",
    }
}

impl Office {
    /// Checks a presented bearer token.
    pub async fn authenticate(
        &self,
        presented: &str,
    ) -> Result<Result<Principal, TokenRejection>, OfficeError> {
        Ok(verify(self.store.as_ref(), presented, crate::domain::now()).await?)
    }

    /// Creates a token and records who created it.
    pub async fn create_token(
        &self,
        creator: &Principal,
        name: &str,
        role: Role,
        communes: Vec<CommuneCode>,
        expires_in_days: Option<u32>,
    ) -> OfficeResult<IssuedToken> {
        creator.require(Permission::Tokens)?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(OfficeError::Rejected(
                "the name must be 1 to 100 characters".to_owned(),
            ));
        }
        match (role, communes.is_empty()) {
            (Role::Observer, _) => {
                return Err(OfficeError::Rejected(
                    "observer is a console role: create a console user (maktab user create)"
                        .to_owned(),
                ));
            }
            (Role::National, false) => {
                return Err(OfficeError::Rejected(
                    "a national token covers every commune: give no --commune".to_owned(),
                ));
            }
            (Role::CommuneAdmin | Role::ClerkSupervisor, true) => {
                return Err(OfficeError::Rejected(format!(
                    "a {role} token needs at least one --commune"
                )));
            }
            _ => {}
        }
        // A name is how people tell tokens apart in lists; the audit log and the two-person
        // rule use the id, but two tokens of one name would still mislead a reader.
        if self
            .store
            .tokens()
            .await?
            .iter()
            .any(|token| token.name.trim().eq_ignore_ascii_case(name))
        {
            return Err(OfficeError::Conflict(format!(
                "a token named {name:?} exists already: choose another name"
            )));
        }
        let mut bytes = [0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes)
            .map_err(|e| OfficeError::Internal(format!("no randomness available: {e}")))?;
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = crate::domain::now();
        let expires_at = expires_in_days.map(|days| now + i64::from(days) * 24 * 3600);
        let audit = creator.audit(
            "token.create",
            communes.clone(),
            json!({ "name": name, "role": role, "expires_at": expires_at }),
        );
        let id = self
            .store
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

    /// Every token (never with its secret).
    pub async fn tokens(&self, principal: &Principal) -> OfficeResult<Vec<TokenRecord>> {
        principal.require(Permission::Tokens)?;
        Ok(self.store.tokens().await?)
    }

    /// Revokes a token and records who did it.
    pub async fn revoke_token(&self, revoker: &Principal, id: i64) -> OfficeResult<()> {
        revoker.require(Permission::Tokens)?;
        let missing = || OfficeError::NotFound(format!("no active token with id {id}"));
        let token = self.store.token(id).await?.ok_or_else(missing)?;
        let audit = revoker.audit(
            "token.revoke",
            token.communes.clone(),
            json!({ "token_id": id, "name": token.name }),
        );
        if self
            .store
            .revoke_token(id, crate::domain::now(), audit)
            .await?
        {
            Ok(())
        } else {
            Err(missing())
        }
    }
}
