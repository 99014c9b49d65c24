//! What PostgreSQL writes its own way for change sets (their communes, the lock of an
//! approval); the rest is `store/shared/changes.rs`.

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::PostgresStore;
use crate::domain::CommuneCode;
use crate::store::Result;

/// A change set's communes as stored: a `text[]` array.
pub(super) fn communes_column(communes: &[CommuneCode]) -> Vec<String> {
    communes.iter().map(|c| c.as_str().to_owned()).collect()
}

/// A change set's communes, read back.
pub(super) fn change_set_communes(row: &PgRow) -> Result<Vec<String>> {
    Ok(row.try_get("communes")?)
}

impl PostgresStore {
    /// Orders imports and approvals against each other on every instance: each takes this
    /// lock before it reads the current versions, so none can make another version current
    /// between another's check and its commit. Lookups only read the table and are not
    /// blocked by this mode.
    pub(super) async fn lock_current_versions(conn: &mut PgConnection) -> Result<()> {
        sqlx::query("lock table current_versions in share row exclusive mode")
            .execute(conn)
            .await?;
        Ok(())
    }
}
