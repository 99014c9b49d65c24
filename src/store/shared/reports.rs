//! Reports of citizens missing from the roll, and clerks.
//! Rows are read into their types by `report_rows.rs`.

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::json;
use sqlx::{QueryBuilder, Row};

use super::report_rows::{
    clerk_from_row, contact_from_row, count_from_row, registered_from_row, report_from_row,
    source_from_row,
};
use super::{Backend, Connection, Db, insert_audit};
use crate::domain::{CommuneCode, Timestamp};
use crate::store::{
    Clerk, EnrolRefusal, Filed, FollowUpContact, NewAuditEntry, NewReport, RegisteredReporter,
    Report, ReportCount, ReportQuery, ReportSource, ReportStore, Result,
};

/// Report ids per statement when reading their sources.
const SOURCES_CHUNK: usize = 1000;

fn push_communes(sql: &mut QueryBuilder<Db>, column: &str, communes: &[CommuneCode]) {
    if communes.is_empty() {
        sql.push(" and false");
        return;
    }
    sql.push(format!(" and {column} in ("));
    let mut list = sql.separated(", ");
    for commune in communes {
        list.push_bind(commune.as_str().to_owned());
    }
    sql.push(")");
}

impl Backend {
    /// Reports with their sources, read in chunks of ids (a national export holds more
    /// reports than a statement may have parameters).
    async fn with_sources(&self, mut reports: Vec<Report>) -> Result<Vec<Report>> {
        let mut sources: HashMap<i64, Vec<ReportSource>> = HashMap::new();
        for chunk in reports.chunks(SOURCES_CHUNK) {
            let mut sql = QueryBuilder::<Db>::new(
                "select report_id, source, clerk_id, channel, created_at from report_sources where report_id in (",
            );
            let mut ids = sql.separated(", ");
            for report in chunk {
                ids.push_bind(report.id);
            }
            sql.push(") order by id");
            for row in sql.build().fetch_all(&self.pool).await? {
                let (report, source) = source_from_row(&row)?;
                sources.entry(report).or_default().push(source);
            }
        }
        for report in &mut reports {
            report.sources = sources.remove(&report.id).unwrap_or_default();
        }
        Ok(reports)
    }
}

/// Takes the next report number of a commune, in the filing's transaction: one upsert, so
/// concurrent filings on several instances get consecutive numbers.
async fn next_report_number(tx: &mut Connection, commune: &CommuneCode) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "insert into report_numbers (commune_code, last) values ($1, 1)
         on conflict (commune_code) do update set last = report_numbers.last + 1
         returning last",
    )
    .bind(commune.as_str())
    .fetch_one(&mut *tx)
    .await?)
}

#[async_trait]
impl ReportStore for Backend {
    async fn file_report(&self, report: &NewReport, now: Timestamp) -> Result<Filed> {
        let mut tx = self.begin_write().await?;
        // The commune's next number is taken first and given back if the NIN was already
        // reported: the counter's row stays locked by this transaction meanwhile, so numbers
        // run without gaps.
        let number = next_report_number(&mut tx, &report.commune).await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "insert into reports (nin, birth_date, commune_code, full_name, status, created_at, updated_at, number)
             values ($1, $2, $3, $4, 'open', $5, $6, $7) on conflict (nin) do nothing returning id",
        )
        .bind(report.nin.as_str())
        .bind(report.birth_date.to_iso())
        .bind(report.commune.as_str())
        .bind(&report.full_name)
        .bind(now)
        .bind(now)
        .bind(number)
        .fetch_optional(&mut *tx)
        .await?;
        let (report_id, new_report) = match inserted {
            Some(id) => (id, true),
            None => {
                sqlx::query("update report_numbers set last = last - 1 where commune_code = $1")
                    .bind(report.commune.as_str())
                    .execute(&mut *tx)
                    .await?;
                let row = sqlx::query("select id, commune_code from reports where nin = $1")
                    .bind(report.nin.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
                let id: i64 = row.try_get("id")?;
                let before: String = row.try_get("commune_code")?;
                let reopened = sqlx::query(
                    "update reports set status = 'open', birth_date = $1, commune_code = $2, full_name = $3,
                         handled_at = null, handled_by = null, resolved_at = null, resolved_change_set = null
                     where id = $4 and status = 'resolved'",
                )
                .bind(report.birth_date.to_iso())
                .bind(report.commune.as_str())
                .bind(&report.full_name)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
                // Reopened in another commune, it takes that commune's next number.
                if reopened && before != report.commune.as_str() {
                    let number = next_report_number(&mut tx, &report.commune).await?;
                    sqlx::query("update reports set number = $1 where id = $2")
                        .bind(number)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query("update reports set updated_at = $1 where id = $2")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                (id, false)
            }
        };
        let contact = report.follow_up.as_ref();
        sqlx::query(
            "insert into report_sources (report_id, source, clerk_id, channel, recipient, locale, created_at)
             values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing",
        )
        .bind(report_id)
        .bind(report.source.as_str())
        .bind(report.clerk_id)
        .bind(contact.map(|c| c.channel.as_str()))
        .bind(contact.map(|c| c.recipient.as_str()))
        .bind(report.locale.code())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let number: i64 = sqlx::query_scalar("select number from reports where id = $1")
            .bind(report_id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Filed {
            report_id,
            number,
            new_report,
        })
    }

    async fn reports(&self, query: &ReportQuery) -> Result<Vec<Report>> {
        let mut sql = QueryBuilder::<Db>::new("select * from reports where 1 = 1");
        if let Some(communes) = &query.communes {
            push_communes(&mut sql, "commune_code", communes);
        }
        if let Some(status) = query.status {
            sql.push(" and status = ").push_bind(status.as_str());
        }
        if let Some(from) = query.from {
            sql.push(" and created_at >= ").push_bind(from);
        }
        if let Some(to) = query.to {
            sql.push(" and created_at < ").push_bind(to);
        }
        if let Some(clerk) = query.clerk_id {
            sql.push(
                " and exists (select 1 from report_sources s where s.report_id = reports.id and s.clerk_id = ",
            )
            .push_bind(clerk)
            .push(")");
        }
        if let Some(ids) = &query.ids {
            if ids.is_empty() {
                sql.push(" and false");
            } else {
                sql.push(" and id in (");
                let mut list = sql.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                sql.push(")");
            }
        }
        sql.push(" order by id desc limit ")
            .push_bind(i64::from(query.limit))
            .push(" offset ")
            .push_bind(i64::try_from(query.offset).unwrap_or(i64::MAX));
        let reports = sql
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(report_from_row)
            .collect::<Result<Vec<_>>>()?;
        self.with_sources(reports).await
    }

    async fn report(&self, id: i64) -> Result<Option<Report>> {
        let Some(row) = sqlx::query("select * from reports where id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        Ok(self.with_sources(vec![report_from_row(&row)?]).await?.pop())
    }

    async fn mark_reports_handled(
        &self,
        ids: &[i64],
        by: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let mut sql =
            QueryBuilder::<Db>::new("update reports set status = 'handled', handled_at = ");
        sql.push_bind(at)
            .push(", handled_by = ")
            .push_bind(by.to_owned())
            .push(", updated_at = ")
            .push_bind(at)
            .push(" where status = 'open' and id in (");
        let mut list = sql.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        sql.push(")");
        let changed = sql.build().execute(&mut *tx).await?.rows_affected();
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(changed)
    }

    async fn report_counts(&self, communes: Option<&[CommuneCode]>) -> Result<Vec<ReportCount>> {
        let mut sql = QueryBuilder::<Db>::new(
            "select r.commune_code, s.source, r.status, count(distinct r.id) as reports
             from reports r join report_sources s on s.report_id = r.id where 1 = 1",
        );
        if let Some(communes) = communes {
            push_communes(&mut sql, "r.commune_code", communes);
        }
        sql.push(" group by r.commune_code, s.source, r.status order by r.commune_code, s.source, r.status");
        sql.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(count_from_row)
            .collect()
    }

    async fn open_reporters(&self, commune: &CommuneCode) -> Result<Vec<FollowUpContact>> {
        sqlx::query(
            "select s.channel, s.recipient, min(s.locale) as locale
             from reports r join report_sources s on s.report_id = r.id
             left join senders snd on snd.channel = s.channel and snd.sender = s.recipient
             where r.commune_code = $1 and r.status in ('open', 'handled') and s.channel is not null
               and not coalesce(snd.notices_opt_out, false)
             group by s.channel, s.recipient order by s.channel, s.recipient",
        )
        .bind(commune.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(contact_from_row)
        .collect()
    }

    async fn registered_reporters(&self, change_set_id: i64) -> Result<Vec<RegisteredReporter>> {
        sqlx::query(
            "select r.id, r.nin, s.channel, s.recipient, min(s.locale) as locale
             from reports r join report_sources s on s.report_id = r.id
             left join senders snd on snd.channel = s.channel and snd.sender = s.recipient
             where r.resolved_change_set = $1 and s.channel is not null
               and not coalesce(snd.notices_opt_out, false)
             group by r.id, r.nin, s.channel, s.recipient order by r.id, s.channel, s.recipient",
        )
        .bind(change_set_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(registered_from_row)
        .collect()
    }

    async fn invite_clerk(
        &self,
        commune: &CommuneCode,
        code_hash: &str,
        expires_at: Timestamp,
        by: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "insert into clerks (commune_code, invite_hash, invite_expires_at, invited_by, invited_at)
             values ($1, $2, $3, $4, $5) returning id",
        )
        .bind(commune.as_str())
        .bind(code_hash)
        .bind(expires_at)
        .bind(by)
        .bind(at)
        .fetch_one(&mut *tx)
        .await?;
        let mut audit = audit;
        if let Some(details) = audit.details.as_object_mut() {
            details.insert("clerk".to_owned(), id.into());
        }
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn enrol_clerk(
        &self,
        code_hash: &str,
        chat: &str,
        now: Timestamp,
    ) -> Result<std::result::Result<Clerk, EnrolRefusal>> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query("select * from clerks where invite_hash = $1")
            .bind(code_hash)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(Err(EnrolRefusal::UnknownCode));
        };
        let invited = clerk_from_row(&row)?;
        if let Some(refusal) = invited.enrol_refusal(now) {
            return Ok(Err(refusal));
        }
        // A chat enrolled before (a clerk posted to another commune) keeps one enrolment: the
        // old one ends here.
        sqlx::query(
            "update clerks set chat = null, revoked_at = coalesce(revoked_at, $1),
                 revoked_by = coalesce(revoked_by, 're-enrolled')
             where chat = $2",
        )
        .bind(now)
        .bind(chat)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "update clerks set chat = $1, enrolled_at = $2, invite_hash = null, invite_expires_at = null
             where id = $3 and invite_hash = $4 returning *",
        )
        .bind(chat)
        .bind(now)
        .bind(invited.id)
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await?;
        // Another chat used the code in the meantime (the row lock made this update wait).
        let Some(row) = row else {
            return Ok(Err(EnrolRefusal::UnknownCode));
        };
        let clerk = clerk_from_row(&row)?;
        insert_audit(
            &mut *tx,
            &NewAuditEntry {
                at: now,
                actor: format!("clerk {}", clerk.id),
                action: "clerk.enrol".to_owned(),
                communes: vec![clerk.commune.clone()],
                details: json!({ "clerk": clerk.id, "channel": "telegram" }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(clerk))
    }

    async fn clerk_by_chat(&self, chat: &str) -> Result<Option<Clerk>> {
        sqlx::query(
            "select * from clerks where chat = $1 and enrolled_at is not null and revoked_at is null",
        )
        .bind(chat)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(clerk_from_row)
        .transpose()
    }

    async fn clerk(&self, id: i64) -> Result<Option<Clerk>> {
        sqlx::query("select * from clerks where id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(clerk_from_row)
            .transpose()
    }

    async fn clerks(&self, communes: Option<&[CommuneCode]>) -> Result<Vec<Clerk>> {
        let mut sql = QueryBuilder::<Db>::new("select * from clerks where 1 = 1");
        if let Some(communes) = communes {
            push_communes(&mut sql, "commune_code", communes);
        }
        sql.push(" order by id desc");
        sql.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(clerk_from_row)
            .collect()
    }

    async fn revoke_clerk(
        &self,
        id: i64,
        by: &str,
        at: Timestamp,
        audit: NewAuditEntry,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "update clerks set revoked_at = $1, revoked_by = $2, invite_hash = null, invite_expires_at = null
             where id = $3 and revoked_at is null",
        )
        .bind(at)
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(true)
    }
}
