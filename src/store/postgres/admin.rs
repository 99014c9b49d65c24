//! Tokens, audit log and lookup statistics in PostgreSQL. Commune lists are `text[]` (the
//! audit log's has a GIN index for the commune filter) and audit details are `jsonb`.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use super::{PostgresStore, corrupt};
use crate::domain::{CommuneCode, Role, Timestamp};
use crate::store::{
    AdminStore, AuditEntry, AuditQuery, LookupCount, LookupStatsQuery, NewAuditEntry, NewToken,
    Result, TokenRecord,
};

fn codes(communes: &[CommuneCode]) -> Vec<String> {
    communes.iter().map(|c| c.as_str().to_owned()).collect()
}

fn parse_codes(codes: Vec<String>) -> Result<Vec<CommuneCode>> {
    codes
        .iter()
        .map(|c| CommuneCode::parse(c).map_err(corrupt))
        .collect()
}

fn token_from_row(row: &PgRow) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row
            .try_get::<&str, _>("role")?
            .parse::<Role>()
            .map_err(corrupt)?,
        communes: parse_codes(row.try_get("communes")?)?,
        secret_hash: row.try_get("secret_hash")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub(super) async fn insert_audit<'e>(
    executor: impl sqlx::Executor<'e, Database = Postgres>,
    entry: &NewAuditEntry,
) -> Result<i64> {
    // Details travel as text and are cast, so no JSON feature of sqlx is needed.
    Ok(sqlx::query_scalar(
        "insert into audit_log (at, actor, action, communes, details)
         values ($1, $2, $3, $4, $5::jsonb) returning id",
    )
    .bind(entry.at)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(codes(&entry.communes))
    .bind(entry.details.to_string())
    .fetch_one(executor)
    .await?)
}

#[async_trait]
impl AdminStore for PostgresStore {
    async fn create_token(&self, token: NewToken, audit: NewAuditEntry) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "insert into api_tokens (name, role, communes, secret_hash, created_at, expires_at)
             values ($1, $2, $3, $4, $5, $6) returning id",
        )
        .bind(&token.name)
        .bind(token.role.as_str())
        .bind(codes(&token.communes))
        .bind(&token.secret_hash)
        .bind(token.created_at)
        .bind(token.expires_at)
        .fetch_one(&mut *tx)
        .await?;
        let mut audit = audit;
        if let Some(details) = audit.details.as_object_mut() {
            details.insert("token_id".to_owned(), id.into());
        }
        insert_audit(&mut *tx, &audit).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn token(&self, id: i64) -> Result<Option<TokenRecord>> {
        sqlx::query("select * from api_tokens where id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(token_from_row)
            .transpose()
    }

    async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        sqlx::query("select * from api_tokens order by id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(token_from_row)
            .collect()
    }

    async fn revoke_token(&self, id: i64, at: Timestamp, audit: NewAuditEntry) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "update api_tokens set revoked_at = $1 where id = $2 and revoked_at is null",
        )
        .bind(at)
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

    async fn append_audit(&self, entry: NewAuditEntry) -> Result<i64> {
        insert_audit(&self.pool, &entry).await
    }

    async fn audit_entries(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut sql = QueryBuilder::<Postgres>::new(
            "select id, at, actor, action, communes, details::text as details from audit_log where true",
        );
        if let Some(action) = &query.action {
            // `like` patterns treat `%` and `_` specially: escape them so `import` matches
            // `import.roll` and nothing else is a wildcard.
            let escaped = action
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            sql.push(" and (action = ")
                .push_bind(action.clone())
                .push(" or action like ")
                .push_bind(format!("{escaped}.%"))
                .push(")");
        }
        if let Some(actor) = &query.actor {
            sql.push(" and actor = ").push_bind(actor.clone());
        }
        if let Some(communes) = &query.communes {
            sql.push(" and communes && ").push_bind(codes(communes));
        }
        if let Some(since) = query.since {
            sql.push(" and at >= ").push_bind(since);
        }
        if let Some(until) = query.until {
            sql.push(" and at < ").push_bind(until);
        }
        if let Some(before) = query.before_id {
            sql.push(" and id < ").push_bind(before);
        }
        sql.push(" order by id desc limit ")
            .push_bind(i64::from(query.limit));
        sql.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let details: &str = row.try_get("details")?;
                Ok(AuditEntry {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    communes: parse_codes(row.try_get("communes")?)?,
                    details: serde_json::from_str(details).map_err(corrupt)?,
                })
            })
            .collect()
    }

    async fn add_lookup_counts(&self, counts: &[LookupCount]) -> Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        // One statement for the whole batch: arrays unnested into rows. Instances flushing at
        // the same moment add to the same rows; the upsert makes each addition atomic.
        let mut hours = Vec::with_capacity(counts.len());
        let mut channels = Vec::with_capacity(counts.len());
        let mut communes = Vec::with_capacity(counts.len());
        let mut outcomes = Vec::with_capacity(counts.len());
        let mut numbers = Vec::with_capacity(counts.len());
        for count in counts {
            hours.push(count.hour);
            channels.push(count.channel.clone());
            communes.push(count.commune.clone());
            outcomes.push(count.outcome.clone());
            numbers.push(i64::try_from(count.count).unwrap_or(i64::MAX));
        }
        sqlx::query(
            "insert into lookup_stats as s (hour, channel, commune_code, outcome, count)
             select hour, channel, commune_code, outcome, sum(count)
             from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[])
                  as t (hour, channel, commune_code, outcome, count)
             group by hour, channel, commune_code, outcome
             on conflict (hour, channel, commune_code, outcome) do update set count = s.count + excluded.count",
        )
        .bind(hours)
        .bind(channels)
        .bind(communes)
        .bind(outcomes)
        .bind(numbers)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn lookup_counts(&self, query: &LookupStatsQuery) -> Result<Vec<LookupCount>> {
        let mut sql = QueryBuilder::<Postgres>::new(
            "select hour, channel, commune_code, outcome, count from lookup_stats where true",
        );
        if let Some(since) = query.since {
            sql.push(" and hour >= ").push_bind(since);
        }
        if let Some(until) = query.until {
            sql.push(" and hour < ").push_bind(until);
        }
        if let Some(channel) = &query.channel {
            sql.push(" and channel = ").push_bind(channel.clone());
        }
        if let Some(communes) = &query.communes {
            sql.push(" and commune_code = any(")
                .push_bind(codes(communes))
                .push(")");
        }
        // Byte order, as SQLite sorts, whatever the database's collation.
        sql.push(
            " order by hour, channel collate \"C\", commune_code collate \"C\", outcome collate \"C\"",
        );
        sql.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                let count: i64 = row.try_get("count")?;
                Ok(LookupCount {
                    hour: row.try_get("hour")?,
                    channel: row.try_get("channel")?,
                    commune: row.try_get("commune_code")?,
                    outcome: row.try_get("outcome")?,
                    count: u64::try_from(count).map_err(corrupt)?,
                })
            })
            .collect()
    }
}
