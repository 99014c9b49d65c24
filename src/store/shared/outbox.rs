//! The outbox: replies and notices as rows that one lane claims at a time, with a lease.
//! The claim's statement is the backend's (`CLAIM_OUTBOX`: PostgreSQL adds `for update skip
//! locked`); everything else reads alike in both databases.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::Row;

use super::{Backend, CLAIM_OUTBOX, corrupt};
use crate::domain::Timestamp;
use crate::store::outbox_sql;
use crate::store::{NewReply, Notice, NoticeResult, OutboxLane, OutboxStore, Result};

#[async_trait]
impl OutboxStore for Backend {
    async fn enqueue_reply(&self, reply: &NewReply<'_>, now: Timestamp) -> Result<i64> {
        // On the path of a request (its reply must be stored before it is answered), so it
        // goes through the backend's `write`: on SQLite, the group commit.
        let channel = reply.channel.as_str();
        let provider = reply.provider.map(str::to_owned);
        let recipient = reply.recipient.to_owned();
        let locale = reply.locale.code();
        let body = reply.body.to_owned();
        let message = reply.message.to_owned();
        let segments = i64::from(reply.segments);
        self.write(move |connection| {
            Box::pin(async move {
                Ok(sqlx::query_scalar(outbox_sql::ENQUEUE_REPLY)
                    .bind(channel)
                    .bind(provider)
                    .bind(recipient)
                    .bind(locale)
                    .bind(body)
                    .bind(message)
                    .bind(segments)
                    .bind(now)
                    .fetch_one(&mut *connection)
                    .await?)
            })
        })
        .await
    }

    async fn claim_outbox(
        &self,
        lane: &OutboxLane<'_>,
        now: Timestamp,
        lease_seconds: i64,
        limit: u32,
    ) -> Result<Vec<Notice>> {
        let rows = sqlx::query(CLAIM_OUTBOX)
            .bind(now)
            .bind(lease_seconds)
            .bind(lane.channel.as_str())
            .bind(i64::from(limit))
            .bind(lane.provider)
            .bind(lane.notices)
            .fetch_all(&self.pool)
            .await?;
        let notices = rows
            .iter()
            .map(outbox_sql::notice_from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok(outbox_sql::in_send_order(notices))
    }

    async fn finish_notice(&self, id: i64, result: &NoticeResult, now: Timestamp) -> Result<()> {
        let (status, next_attempt_at, provider_id, error) = outbox_sql::finish_values(result);
        sqlx::query(outbox_sql::FINISH)
            .bind(status)
            .bind(now)
            .bind(next_attempt_at)
            .bind(provider_id)
            .bind(error)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn outbox_waiting(&self) -> Result<BTreeMap<String, u64>> {
        let mut waiting = BTreeMap::new();
        for row in sqlx::query(outbox_sql::WAITING)
            .fetch_all(&self.pool)
            .await?
        {
            let n: i64 = row.try_get("n")?;
            waiting.insert(row.try_get("lane")?, u64::try_from(n).map_err(corrupt)?);
        }
        Ok(waiting)
    }

    async fn lock_lane(
        &self,
        lane: &str,
        holder: &str,
        now: Timestamp,
        ttl_seconds: i64,
    ) -> Result<bool> {
        let taken = sqlx::query(
            "insert into dispatch_locks (channel, holder, expires_at) values ($1, $2, $3 + $4)
             on conflict (channel) do update set holder = excluded.holder, expires_at = excluded.expires_at
             where dispatch_locks.holder = excluded.holder or dispatch_locks.expires_at < $3",
        )
        .bind(lane)
        .bind(holder)
        .bind(now)
        .bind(ttl_seconds)
        .execute(&self.pool)
        .await?;
        Ok(taken.rows_affected() == 1)
    }

    async fn unlock_lane(&self, lane: &str, holder: &str) -> Result<()> {
        sqlx::query("delete from dispatch_locks where channel = $1 and holder = $2")
            .bind(lane)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
