//! Campaigns and the outbox in SQLite. Claims are a single `update ... returning`, which SQLite
//! runs under its one write lock, so two dispatchers never claim the same row.

use std::collections::BTreeMap;
use std::str::FromStr;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, corrupt};
use crate::domain::{Channel, Locale, Timestamp};
use crate::store::outbox_sql;
use crate::store::{
    Audience, AudienceMember, Campaign, CampaignStatus, NewAuditEntry, NewNotice, NoticeStore,
    Result,
};

/// The outbox claim of this backend: SQLite runs the claim under its one write lock, so two dispatchers never claim one row.
pub(super) const CLAIM_OUTBOX: &str = outbox_sql::CLAIM_SQLITE;

fn campaign_from_row(row: &SqliteRow) -> Result<Campaign> {
    Ok(Campaign {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        status: CampaignStatus::from_str(row.try_get("status")?).map_err(corrupt)?,
        change_set_id: row.try_get("change_set_id")?,
        audience: serde_json::from_str(row.try_get("audience")?).map_err(corrupt)?,
        text_ar: row.try_get("text_ar")?,
        text_fr: row.try_get("text_fr")?,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        confirmed_at: row.try_get("confirmed_at")?,
        confirmed_by: row.try_get("confirmed_by")?,
    })
}

#[async_trait]
impl NoticeStore for SqliteStore {
    async fn campaigns(&self, status: Option<CampaignStatus>, limit: u32) -> Result<Vec<Campaign>> {
        sqlx::query(
            "select * from campaigns where (?1 is null or status = ?1) order by id desc limit ?2",
        )
        .bind(status.map(CampaignStatus::as_str))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(campaign_from_row)
        .collect()
    }

    async fn campaign(&self, id: i64) -> Result<Option<Campaign>> {
        sqlx::query("select * from campaigns where id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(campaign_from_row)
            .transpose()
    }

    async fn create_broadcast(
        &self,
        audience: &Audience,
        text_ar: &str,
        text_fr: &str,
        by: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "insert into campaigns (kind, status, audience, text_ar, text_fr, created_at, created_by)
             values ('broadcast', 'draft', ?, ?, ?, ?, ?) returning id",
        )
        .bind(serde_json::to_string(audience).map_err(corrupt)?)
        .bind(text_ar)
        .bind(text_fr)
        .bind(at)
        .bind(by)
        .fetch_one(&mut *tx)
        .await?;
        let mut audit = audit;
        if let Some(details) = audit.details.as_object_mut() {
            details.insert("campaign".to_owned(), id.into());
        }
        super::admin::insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn audience_members(&self, audience: &Audience) -> Result<Vec<AudienceMember>> {
        sqlx::query(
            "select distinct s.channel, s.sender, coalesce(snd.locale, 'ar') as locale
             from roll_slices sl
             join roll_voters v on v.roll_version = sl.import_id and v.commune_code = sl.commune_code
             join subscriptions s on s.nin = v.nin
             left join senders snd on snd.channel = s.channel and snd.sender = s.sender
             where sl.commune_code = ?1
               and (?2 is null or v.centre_code = ?2) and (?3 is null or v.station = ?3)
               and coalesce(snd.notices_opt_out, 0) = 0
             order by s.channel, s.sender",
        )
        .bind(audience.commune.as_str())
        .bind(audience.centre.as_ref().map(|c| c.as_str()))
        .bind(audience.station.map(i64::from))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(AudienceMember {
                channel: Channel::from_str(row.try_get("channel")?).map_err(corrupt)?,
                recipient: row.try_get("sender")?,
                locale: Locale::from_str(row.try_get("locale")?).map_err(corrupt)?,
            })
        })
        .collect()
    }

    async fn fill_campaign(
        &self,
        id: i64,
        notices: &[NewNotice],
        status: CampaignStatus,
        at: Timestamp,
    ) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        sqlx::query("delete from outbox where campaign_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for chunk in notices.chunks(500) {
            let mut insert = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "insert into outbox (campaign_id, channel, recipient, locale, body, status, next_attempt_at, created_at, updated_at) ",
            );
            insert.push_values(chunk, |mut row, notice| {
                row.push_bind(id)
                    .push_bind(notice.channel.as_str())
                    .push_bind(notice.recipient.clone())
                    .push_bind(notice.locale.code())
                    .push_bind(notice.body.clone())
                    .push_bind("pending")
                    .push_bind(at)
                    .push_bind(at)
                    .push_bind(at);
            });
            insert.build().execute(&mut *tx).await?;
        }
        sqlx::query("update campaigns set status = ? where id = ?")
            .bind(status.as_str())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(notices.len() as u64)
    }

    async fn set_campaign_status(
        &self,
        id: i64,
        from: &[CampaignStatus],
        to: CampaignStatus,
        audit: Option<NewAuditEntry>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let current: Option<String> =
            sqlx::query_scalar("select status from campaigns where id = ?")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(current) = current else {
            return Ok(false);
        };
        if !from.iter().any(|s| s.as_str() == current) {
            return Ok(false);
        }
        let confirming = to == CampaignStatus::Sending && current == CampaignStatus::Draft.as_str();
        sqlx::query(
            "update campaigns set status = ?,
                 confirmed_at = case when ? then ? else confirmed_at end,
                 confirmed_by = case when ? then ? else confirmed_by end
             where id = ?",
        )
        .bind(to.as_str())
        .bind(confirming)
        .bind(audit.as_ref().map(|a| a.at))
        .bind(confirming)
        .bind(audit.as_ref().map(|a| a.actor.clone()))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if to == CampaignStatus::Cancelled {
            sqlx::query("update outbox set status = 'cancelled' where campaign_id = ? and status = 'pending'")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(audit) = &audit {
            super::admin::insert_audit(&mut *tx, audit).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn campaign_progress(&self, id: i64) -> Result<BTreeMap<String, u64>> {
        let mut progress = BTreeMap::new();
        for row in sqlx::query(
            "select status, count(*) as n from outbox where campaign_id = ? group by status",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?
        {
            let n: i64 = row.try_get("n")?;
            progress.insert(row.try_get("status")?, u64::try_from(n).map_err(corrupt)?);
        }
        Ok(progress)
    }

    async fn complete_campaigns(&self, _now: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "update campaigns set status = 'done'
             where status = 'sending'
               and not exists (select 1 from outbox o where o.campaign_id = campaigns.id
                               and o.status in ('pending', 'sending'))",
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
