//! The Telegram inbox's claim in SQLite; the rest of the channel's tables is in
//! `store/shared/telegram.rs`.

use sqlx::sqlite::SqliteRow;

use super::SqliteStore;
use crate::domain::Timestamp;
use crate::store::Result;

impl SqliteStore {
    /// Claims inbox rows (see `TelegramStore::claim_updates`). SQLite has no `for update
    /// skip locked` and needs none: this one statement runs under its single write lock, so
    /// two claims never take the same row.
    pub(super) async fn claim_update_rows(
        &self,
        holder: &str,
        now: Timestamp,
        lease_seconds: i64,
        limit: u32,
    ) -> Result<Vec<SqliteRow>> {
        Ok(sqlx::query(
            "update telegram_updates set claimed_by = $1, lease_until = $2 + $3
             where update_id in (
                 select update_id from telegram_updates
                 where claimed_by is null or lease_until < $2
                 order by update_id
                 limit $4)
             returning update_id, chat_id",
        )
        .bind(holder)
        .bind(now)
        .bind(lease_seconds)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }
}
