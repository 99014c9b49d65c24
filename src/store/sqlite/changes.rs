//! What SQLite writes its own way for change sets (their communes, the lock of an approval);
//! the rest is `store/shared/changes.rs`.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::SqliteStore;
use crate::domain::CommuneCode;
use crate::store::Result;

/// A change set's communes as stored: comma-separated text, SQLite having no arrays.
pub(super) fn communes_column(communes: &[CommuneCode]) -> String {
    communes
        .iter()
        .map(CommuneCode::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// A change set's communes, read back.
pub(super) fn change_set_communes(row: &SqliteRow) -> Result<Vec<String>> {
    Ok(row
        .try_get::<&str, _>("communes")?
        .split(',')
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect())
}

impl SqliteStore {
    /// Orders imports and approvals against each other. Nothing to do here: the
    /// transaction's `begin immediate` already holds SQLite's single write lock.
    pub(super) async fn lock_current_versions(_conn: &mut SqliteConnection) -> Result<()> {
        Ok(())
    }
}
