//! The Telegram inbox's claim in PostgreSQL; the rest of the channel's tables is in
//! `store/shared/telegram.rs`.

use sqlx::postgres::PgRow;

use super::PostgresStore;
use crate::domain::Timestamp;
use crate::store::Result;

impl PostgresStore {
    /// Claims inbox rows (see `TelegramStore::claim_updates`). Several instances claim at
    /// once, so unlike SQLite's this needs `for update skip locked` (a syntax SQLite lacks):
    /// rows another instance is claiming right now are left to it, not waited for. The outer
    /// `where` repeats the condition, so that a row another instance claimed and committed in
    /// between is checked again on its new version and left out.
    pub(super) async fn claim_update_rows(
        &self,
        holder: &str,
        now: Timestamp,
        lease_seconds: i64,
        limit: u32,
    ) -> Result<Vec<PgRow>> {
        Ok(sqlx::query(
            "update telegram_updates set claimed_by = $1, lease_until = $2 + $3
             where update_id in (
                     select update_id from telegram_updates
                     where claimed_by is null or lease_until < $2
                     order by update_id
                     limit $4
                     for update skip locked)
               and (claimed_by is null or lease_until < $2)
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
