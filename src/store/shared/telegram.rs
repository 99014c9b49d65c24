//! The Telegram channel's tables: inbox of accepted updates, blocked chats, offers. With several instances behind one webhook URL, an update Telegram retries may land
//! on another PostgreSQL instance: the `inbound_seen` insert in the inbox's transaction lets
//! exactly one of them accept it, and the rows' leases let exactly one of them resume what
//! another instance left. Only the claim's statement is written per backend (`CLAIM_UPDATES`).

use async_trait::async_trait;
use sqlx::Row;

use super::{Backend, CLAIM_UPDATES, DbRow, corrupt};
use crate::domain::{NationalId, Timestamp};
use crate::store::{Acceptance, PendingUpdate, Result, TelegramStore};

#[async_trait]
impl TelegramStore for Backend {
    async fn accept_update(
        &self,
        update_id: i64,
        chat_id: Option<i64>,
        body: &str,
        now: Timestamp,
        holder: &str,
        lease_seconds: i64,
    ) -> Result<Acceptance> {
        // On the path of the webhook's answer: a job of the group commit on SQLite; its two
        // statements commit together (one transaction on PostgreSQL, one savepoint on SQLite).
        let (body, holder) = (body.to_owned(), holder.to_owned());
        self.write_atomic(move |connection| {
            Box::pin(async move {
                // The same record `SenderStore::first_delivery` keeps, written with the
                // inbox's row: an id marked seen always has its update stored.
                let seen = sqlx::query(
                    "insert into inbound_seen (source, message_id, received_at) values ('telegram', $1, $2)
                     on conflict (source, message_id) do nothing",
                )
                .bind(update_id.to_string())
                .bind(now)
                .execute(&mut *connection)
                .await?;
                if seen.rows_affected() == 0 {
                    return Ok(Acceptance::Duplicate);
                }
                let stored = sqlx::query(
                    "insert into telegram_updates (update_id, chat_id, body, received_at, claimed_by, lease_until)
                     values ($1, $2, $3, $4, $5, $4 + $6)
                     on conflict (update_id) do nothing",
                )
                .bind(update_id)
                .bind(chat_id)
                .bind(&body)
                .bind(now)
                .bind(&holder)
                .bind(lease_seconds)
                .execute(&mut *connection)
                .await?;
                // Still in the inbox (its seen-record was pruned while it waited): already
                // queued.
                if stored.rows_affected() == 0 {
                    return Ok(Acceptance::Duplicate);
                }
                Ok(Acceptance::Accepted)
            })
        })
        .await
    }

    async fn pending_updates(&self) -> Result<Vec<PendingUpdate>> {
        let rows =
            sqlx::query("select update_id, chat_id from telegram_updates order by update_id")
                .fetch_all(&self.pool)
                .await?;
        pending(&rows)
    }

    async fn claim_updates(
        &self,
        holder: &str,
        now: Timestamp,
        lease_seconds: i64,
        limit: u32,
    ) -> Result<Vec<PendingUpdate>> {
        let rows = sqlx::query(CLAIM_UPDATES)
            .bind(holder)
            .bind(now)
            .bind(lease_seconds)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        pending(&rows)
    }

    async fn renew_updates(&self, holder: &str, now: Timestamp, lease_seconds: i64) -> Result<u64> {
        let done =
            sqlx::query("update telegram_updates set lease_until = $1 + $2 where claimed_by = $3")
                .bind(now)
                .bind(lease_seconds)
                .bind(holder)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected())
    }

    async fn release_updates(&self, holder: &str) -> Result<u64> {
        let done = sqlx::query(
            "update telegram_updates set claimed_by = null, lease_until = null where claimed_by = $1",
        )
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
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
        self.write(move |connection| {
            Box::pin(async move {
                sqlx::query("delete from telegram_updates where update_id = $1")
                    .bind(update_id)
                    .execute(&mut *connection)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    async fn set_chat_blocked(&self, chat_id: i64, blocked: bool, now: Timestamp) -> Result<()> {
        self.write(move |connection| {
            Box::pin(async move {
                if blocked {
                    sqlx::query(
                        "insert into telegram_chats (chat_id, blocked, updated_at) values ($1, true, $2)
                         on conflict (chat_id) do update set blocked = true, updated_at = excluded.updated_at",
                    )
                    .bind(chat_id)
                    .bind(now)
                    .execute(&mut *connection)
                    .await?;
                } else {
                    // Called for every message a chat sends: a plain update, which writes
                    // nothing for the usual chat that never blocked the bot.
                    sqlx::query(
                        "update telegram_chats set blocked = false, updated_at = $1 where chat_id = $2 and blocked",
                    )
                    .bind(now)
                    .bind(chat_id)
                    .execute(&mut *connection)
                    .await?;
                }
                Ok(())
            })
        })
        .await
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
        let nin = nin.as_str().to_owned();
        self.write(move |connection| {
            Box::pin(async move {
                Ok(sqlx::query_scalar(
                    "insert into telegram_offers (chat_id, nin, expires_at) values ($1, $2, $3)
                     on conflict (chat_id, nin) do update set expires_at = excluded.expires_at
                     returning id",
                )
                .bind(chat_id)
                .bind(nin)
                .bind(expires_at)
                .fetch_one(&mut *connection)
                .await?)
            })
        })
        .await
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

/// Inbox rows as pending updates, oldest first (`returning` gives no order guarantee).
fn pending(rows: &[DbRow]) -> Result<Vec<PendingUpdate>> {
    let mut updates = rows
        .iter()
        .map(|row| {
            Ok(PendingUpdate {
                update_id: row.try_get("update_id")?,
                chat_id: row.try_get("chat_id")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    updates.sort_by_key(|update| update.update_id);
    Ok(updates)
}
