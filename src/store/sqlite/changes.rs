//! What SQLite writes its own way for change sets; the rest is `store/shared/changes.rs`.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use crate::store::Result;

/// A change set's communes: comma-separated text, SQLite having no arrays.
pub(super) fn change_set_communes(row: &SqliteRow) -> Result<Vec<String>> {
    Ok(row
        .try_get::<&str, _>("communes")?
        .split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect())
}

impl SqliteStore {
    /// Orders an approval against imports. Nothing to do here: the transaction's
    /// `begin immediate` already holds SQLite's single write lock.
    pub(super) async fn lock_current_versions(
        _tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    ) -> Result<()> {
        Ok(())
    }
}
