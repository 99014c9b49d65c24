//! Outbound SMS: the SMS rows of the outbox, seen as a provider's record (the statements
//! are in `store/outbox_sql.rs`).

use async_trait::async_trait;

use super::Backend;
use crate::domain::Timestamp;
use crate::store::outbox_sql;
use crate::store::{DeliveryStatus, OutboundSms, Result, SmsStore};

#[async_trait]
impl SmsStore for Backend {
    async fn record_delivery_report(
        &self,
        provider: &str,
        provider_message_id: &str,
        status: DeliveryStatus,
        reason: Option<&str>,
        now: Timestamp,
    ) -> Result<bool> {
        let matched: Option<i64> = sqlx::query_scalar(outbox_sql::REPORT_MATCH)
            .bind(provider)
            .bind(provider_message_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(id) = matched else {
            return Ok(false);
        };
        sqlx::query(outbox_sql::APPLY_REPORT)
            .bind(outbox_sql::report_status(status))
            .bind(reason)
            .bind(now)
            .bind(id)
            .bind(status.is_final())
            .execute(&self.pool)
            .await?;
        Ok(true)
    }

    async fn outbound_sms(&self, id: i64) -> Result<Option<OutboundSms>> {
        let row = sqlx::query(outbox_sql::SMS_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(outbox_sql::sms_from_row).transpose()
    }

    async fn outbound_sms_to(&self, recipient: &str, limit: u32) -> Result<Vec<OutboundSms>> {
        let rows = sqlx::query(outbox_sql::SMS_TO)
            .bind(recipient)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(outbox_sql::sms_from_row).collect()
    }
}
