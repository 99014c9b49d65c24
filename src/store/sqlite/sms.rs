//! Outbound SMS in SQLite.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, corrupt};
use crate::domain::Timestamp;
use crate::store::{DeliveryStatus, NewOutboundSms, OutboundSms, Result, SmsStore};

fn outbound(row: &SqliteRow) -> Result<OutboundSms> {
    let number = |name: &str| -> Result<u32> {
        let value: i64 = row.try_get(name)?;
        u32::try_from(value).map_err(corrupt)
    };
    Ok(OutboundSms {
        id: row.try_get("id")?,
        provider: row.try_get("provider")?,
        recipient: row.try_get("recipient")?,
        message: row.try_get("message")?,
        segments: number("segments")?,
        status: DeliveryStatus::from_str(row.try_get("status")?).map_err(corrupt)?,
        reason: row.try_get("reason")?,
        provider_message_id: row.try_get("provider_message_id")?,
        attempts: number("attempts")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

#[async_trait]
impl SmsStore for SqliteStore {
    async fn record_outbound(&self, sms: &NewOutboundSms<'_>, now: Timestamp) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "insert into sms_outbound (provider, recipient, message, segments, status, created_at, updated_at)
             values (?, ?, ?, ?, 'pending', ?, ?)
             returning id",
        )
        .bind(sms.provider)
        .bind(sms.recipient)
        .bind(sms.message)
        .bind(i64::from(sms.segments))
        .bind(now)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    async fn record_send_result(
        &self,
        id: i64,
        status: DeliveryStatus,
        provider_message_id: Option<&str>,
        reason: Option<&str>,
        attempts: u32,
        now: Timestamp,
    ) -> Result<()> {
        // A delivery report can beat the provider's HTTP answer home; it is not undone here.
        sqlx::query(
            "update sms_outbound set
                 status = case when status in ('delivered', 'failed') then status else ? end,
                 provider_message_id = coalesce(?, provider_message_id),
                 reason = coalesce(?, reason),
                 attempts = ?, updated_at = ?
             where id = ?",
        )
        .bind(status.as_str())
        .bind(provider_message_id)
        .bind(reason)
        .bind(i64::from(attempts))
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_delivery_report(
        &self,
        provider: &str,
        provider_message_id: &str,
        status: DeliveryStatus,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Result<bool> {
        // A notice sent through the dispatcher shows its delivery in its campaign's progress;
        // notices have no `sms_outbound` record, their outbox row is the record.
        let notice_updated = if matches!(status, DeliveryStatus::Delivered | DeliveryStatus::Failed)
        {
            sqlx::query(
                "update outbox set status = ?, last_error = coalesce(?, last_error), updated_at = ?
                 where channel = 'sms' and provider_message_id = ? and status = 'sent'",
            )
            .bind(status.as_str())
            .bind(reason)
            .bind(now)
            .bind(provider_message_id)
            .execute(&self.pool)
            .await?
            .rows_affected()
                > 0
        } else {
            false
        };
        let matched: Option<i64> = sqlx::query_scalar(
            "select id from sms_outbound where provider = ? and provider_message_id = ?
             order by id desc limit 1",
        )
        .bind(provider)
        .bind(provider_message_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(id) = matched else {
            return Ok(notice_updated);
        };
        // A final status is not overwritten by a non-final one: reports arrive out of order.
        sqlx::query(
            "update sms_outbound set status = ?, reason = ?, updated_at = ?
             where id = ? and (? or status not in ('delivered', 'failed'))",
        )
        .bind(status.as_str())
        .bind(reason)
        .bind(now)
        .bind(id)
        .bind(status.is_final())
        .execute(&self.pool)
        .await?;
        Ok(true)
    }

    async fn outbound_sms(&self, id: i64) -> Result<Option<OutboundSms>> {
        let row = sqlx::query(
            "select id, provider, recipient, message, segments, status, reason, provider_message_id, attempts, created_at, updated_at
             from sms_outbound where id = ?",
        )
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(outbound).transpose()
    }

    async fn outbound_sms_to(&self, recipient: &str, limit: u32) -> Result<Vec<OutboundSms>> {
        let rows = sqlx::query(
            "select id, provider, recipient, message, segments, status, reason, provider_message_id, attempts, created_at, updated_at
             from sms_outbound where recipient = ? order by id desc limit ?",
        )
        .bind(recipient)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbound).collect()
    }
}
