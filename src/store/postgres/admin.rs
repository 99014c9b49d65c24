//! Tokens, audit log and lookup statistics in PostgreSQL. Commune lists are `text[]` (the
//! audit log's has a GIN index for the commune filter) and audit details are `jsonb`.

use std::ops::DerefMut;

use async_trait::async_trait;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};

use super::{PostgresStore, corrupt};
use crate::domain::{CommuneCode, Role, Timestamp};
use crate::store::admin::{ChainedAuditEntry, GENESIS_HASH, new_entry_hash};
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

/// Serialises writers of the audit chain across instances: the entry before a new one must
/// not change between reading its hash and inserting after it. Readers are not blocked
/// (`share row exclusive` conflicts only with writers); the lock lasts until the caller's
/// transaction ends, so the entry is committed before the next writer reads the head.
async fn lock_chain(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("lock table audit_log in share row exclusive mode")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Appends an entry to the audit chain, inside the caller's transaction.
pub(super) async fn insert_audit(
    mut conn: impl DerefMut<Target = PgConnection> + Send,
    entry: &NewAuditEntry,
) -> Result<i64> {
    // Callers pass their open transaction as `&mut *tx`, as they would an executor.
    let conn: &mut PgConnection = &mut conn;
    lock_chain(conn).await?;
    let last: Option<(i64, Option<String>)> =
        sqlx::query_as("select id, hash from audit_log order by id desc limit 1")
            .fetch_optional(&mut *conn)
            .await?;
    let prev_hash = match last {
        None => GENESIS_HASH.to_owned(),
        Some((_, Some(hash))) => hash,
        // Sealed at start-up; only a row written around Maktab since then lacks its hash.
        Some((id, None)) => {
            return Err(corrupt(format!(
                "audit entry {id} carries no chain hash: run `maktab audit verify`"
            )));
        }
    };
    // The id is part of the hashed content, so it is drawn before the insert; under the
    // lock, ids grow in chain order.
    let id: i64 = sqlx::query_scalar("select nextval(pg_get_serial_sequence('audit_log', 'id'))")
        .fetch_one(&mut *conn)
        .await?;
    let hash = new_entry_hash(&prev_hash, id, entry);
    // Details travel as text and are cast, so no JSON feature of sqlx is needed.
    Ok(sqlx::query_scalar(
        "insert into audit_log (id, at, actor, action, communes, details, prev_hash, hash)
         values ($1, $2, $3, $4, $5, $6::jsonb, $7, $8) returning id",
    )
    .bind(id)
    .bind(entry.at)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(codes(&entry.communes))
    .bind(entry.details.to_string())
    .bind(&prev_hash)
    .bind(&hash)
    .fetch_one(&mut *conn)
    .await?)
}

fn chained_from_row(row: &PgRow) -> Result<ChainedAuditEntry> {
    Ok(ChainedAuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        communes: row.try_get("communes")?,
        details: row.try_get("details")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Entries written before the chain existed (migration 0010) get their hashes, once, in id
/// order, under the chain lock so that instances starting together seal them once. The hash
/// covers a canonical form of the details that SQL cannot produce, hence Rust at start-up;
/// the migration's trigger allows exactly this one change to an unsealed row.
pub(super) async fn seal_audit_log(pool: &PgPool) -> Result<()> {
    loop {
        let mut tx = pool.begin().await?;
        lock_chain(&mut tx).await?;
        let unsealed: Vec<ChainedAuditEntry> = sqlx::query(
            "select id, at, actor, action, communes, details::text as details, prev_hash, hash
             from audit_log where hash is null or prev_hash is null order by id limit 1000",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(chained_from_row)
        .collect::<Result<_>>()?;
        if unsealed.is_empty() {
            tx.commit().await?;
            return Ok(());
        }
        super::shared::audit::seal_entries(&mut tx, &unsealed).await?;
        tx.commit().await?;
    }
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
        let mut tx = self.pool.begin().await?;
        let id = insert_audit(&mut *tx, &entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn audit_entries(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut sql = QueryBuilder::<Postgres>::new(
            "select id, at, actor, action, communes, details::text as details from audit_log where true",
        );
        if let Some(action) = &query.action {
            // `import` matches `import` and `import.*`, literally and with case: `starts_with`
            // has no wildcards, unlike `like`.
            sql.push(" and (action = ")
                .push_bind(action.clone())
                .push(" or starts_with(action, ")
                .push_bind(format!("{action}."))
                .push("))");
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

    async fn audit_chain(&self, after_id: i64, limit: u32) -> Result<Vec<ChainedAuditEntry>> {
        sqlx::query(
            "select id, at, actor, action, communes, details::text as details, prev_hash, hash
             from audit_log where id > $1 order by id limit $2",
        )
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(chained_from_row)
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
