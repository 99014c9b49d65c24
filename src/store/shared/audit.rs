//! Sealing audit entries written before the hash chain existed: each gets the hash of the
//! entry before it and of its own content, in id order. The same statements on both
//! backends; each backend picks the unsealed entries in its own transaction (PostgreSQL
//! locks the chain first).

use super::Connection;
use crate::store::admin::{ChainedAuditEntry, GENESIS_HASH};
use crate::store::{Result, StoreError};

/// Writes the hashes of `unsealed` (consecutive in id order), chained to the entry before
/// the first of them.
pub(in crate::store) async fn seal_entries(
    tx: &mut Connection,
    unsealed: &[ChainedAuditEntry],
) -> Result<()> {
    let Some(first) = unsealed.first() else {
        return Ok(());
    };
    let before: Option<Option<String>> =
        sqlx::query_scalar("select hash from audit_log where id < $1 order by id desc limit 1")
            .bind(first.id)
            .fetch_optional(&mut *tx)
            .await?;
    let mut prev = before.flatten().unwrap_or_else(|| GENESIS_HASH.to_owned());
    for entry in unsealed {
        let hash = entry.computed_hash(&prev).ok_or_else(|| {
            StoreError::Corrupt(format!("audit entry {}: details are not JSON", entry.id))
        })?;
        sqlx::query("update audit_log set prev_hash = $1, hash = $2 where id = $3")
            .bind(&prev)
            .bind(&hash)
            .bind(entry.id)
            .execute(&mut *tx)
            .await?;
        prev = hash;
    }
    Ok(())
}
