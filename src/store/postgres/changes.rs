//! What PostgreSQL writes its own way for change sets; the rest is
//! `store/shared/changes.rs`.

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PostgresStore;
use crate::store::Result;

/// A change set's communes: a `text[]` array.
pub(super) fn change_set_communes(row: &PgRow) -> Result<Vec<String>> {
    Ok(row.try_get("communes")?)
}

impl PostgresStore {
    /// Orders an approval against imports on every instance: imports take this lock before
    /// they read the current version, so none can make another version current between the
    /// approval's check and its commit. Lookups only read the table and are not blocked.
    pub(super) async fn lock_current_versions(
        tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    ) -> Result<()> {
        sqlx::query("lock table current_versions in share row exclusive mode")
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
