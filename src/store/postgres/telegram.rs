//! The Telegram channel's tables in PostgreSQL: inbox of accepted updates, blocked chats,
//! offers. With several instances behind one webhook URL, an update Telegram retries may land
//! on another instance: the `inbound_seen` insert in the inbox's transaction lets exactly one
//! of them accept it.

use async_trait::async_trait;
use sqlx::Row;

use super::{PostgresStore, corrupt};
use crate::domain::{NationalId, Timestamp};
use crate::store::{Acceptance, PendingUpdate, Result, TelegramStore};

#[async_trait]
impl TelegramStore for PostgresStore {
    async fn accept_update(
        &self,
        update_id: i64,
        chat_id: Option<i64>,
        body: &str,
        now: Timestamp,
    ) -> Result<Acceptance> {
        let mut tx = self.pool.begin().await?;
        // The same record `SenderStore::first_delivery` keeps, written in the inbox's
        // transaction: an id marked seen always has its update stored.
        let seen = sqlx::query(
            "insert into inbound_seen (source, message_id, received_at) values ('telegram', $1, $2)
             on conflict (source, message_id) do nothing",
        )
        .bind(update_id.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if seen.rows_affected() == 0 {
            return Ok(Acceptance::Duplicate);
        }
        let stored = sqlx::query(
            "insert into telegram_updates (update_id, chat_id, body, received_at) values ($1, $2, $3, $4)
             on conflict (update_id) do nothing",
        )
        .bind(update_id)
        .bind(chat_id)
        .bind(body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // Still in the inbox (its seen-record was pruned while it waited): already queued.
        if stored.rows_affected() == 0 {
            return Ok(Acceptance::Duplicate);
        }
        Ok(Acceptance::Accepted)
    }

    async fn pending_updates(&self) -> Result<Vec<PendingUpdate>> {
        let rows =
            sqlx::query("select update_id, chat_id from telegram_updates order by update_id")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| {
                Ok(PendingUpdate {
                    update_id: row.try_get("update_id")?,
                    chat_id: row.try_get("chat_id")?,
                })
            })
            .collect()
    }

    async fn pending_update(&self, update_id: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("select body from telegram_updates where update_id = $1")
                .bind(update_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn finish_update(&self, update_id: i64) -> Result<()> {
        sqlx::query("delete from telegram_updates where update_id = $1")
            .bind(update_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_chat_blocked(&self, chat_id: i64, blocked: bool, now: Timestamp) -> Result<()> {
        if blocked {
            sqlx::query(
                "insert into telegram_chats (chat_id, blocked, updated_at) values ($1, true, $2)
                 on conflict (chat_id) do update set blocked = true, updated_at = excluded.updated_at",
            )
            .bind(chat_id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        } else {
            // Called for every message a chat sends: a plain update, which writes nothing for
            // the usual chat that never blocked the bot.
            sqlx::query(
                "update telegram_chats set blocked = false, updated_at = $1 where chat_id = $2 and blocked",
            )
            .bind(now)
            .bind(chat_id)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    async fn chat_blocked(&self, chat_id: i64) -> Result<bool> {
        let blocked: Option<bool> =
            sqlx::query_scalar("select blocked from telegram_chats where chat_id = $1")
                .bind(chat_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(blocked.unwrap_or(false))
    }

    async fn save_offer(
        &self,
        chat_id: i64,
        nin: &NationalId,
        expires_at: Timestamp,
    ) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "insert into telegram_offers (chat_id, nin, expires_at) values ($1, $2, $3)
             on conflict (chat_id, nin) do update set expires_at = excluded.expires_at
             returning id",
        )
        .bind(chat_id)
        .bind(nin.as_str())
        .bind(expires_at)
        .fetch_one(&self.pool)
        .await?)
    }

    async fn offer(
        &self,
        chat_id: i64,
        offer_id: i64,
        now: Timestamp,
    ) -> Result<Option<NationalId>> {
        let nin: Option<String> = sqlx::query_scalar(
            "select nin from telegram_offers where id = $1 and chat_id = $2 and expires_at > $3",
        )
        .bind(offer_id)
        .bind(chat_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        nin.map(|nin| NationalId::parse(&nin).map_err(corrupt))
            .transpose()
    }

    async fn prune_offers(&self, now: Timestamp) -> Result<u64> {
        let done = sqlx::query("delete from telegram_offers where expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
