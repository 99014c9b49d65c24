//! Tokens, audit log and lookup statistics in SQLite.

use std::ops::DerefMut;

use async_trait::async_trait;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::{SqliteStore, corrupt};
use crate::domain::{CommuneCode, Role, Timestamp};
use crate::store::admin::{ChainedAuditEntry, GENESIS_HASH, new_entry_hash};
use crate::store::{
    AdminStore, AuditEntry, AuditQuery, LookupCount, LookupStatsQuery, NewAuditEntry, NewToken,
    Result, TokenRecord,
};
use crate::store::{join_communes, split_communes};

fn token_from_row(row: &SqliteRow) -> Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row
            .try_get::<&str, _>("role")?
            .parse::<Role>()
            .map_err(corrupt)?,
        communes: split_communes(row.try_get("communes")?)?,
        secret_hash: row.try_get("secret_hash")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// Appends an entry to the audit chain. Callers hold a write transaction (`begin immediate`),
/// so SQLite's single writer keeps the chain linear: the entry before this one cannot change
/// between reading its hash and inserting after it.
pub(super) async fn insert_audit(
    mut conn: impl DerefMut<Target = SqliteConnection> + Send,
    entry: &NewAuditEntry,
) -> Result<i64> {
    // Callers pass their open transaction as `&mut *tx`, as they would an executor.
    let conn: &mut SqliteConnection = &mut conn;
    let last: Option<(i64, Option<String>)> =
        sqlx::query_as("select id, hash from audit_log order by id desc limit 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (id, prev_hash) = match last {
        None => (1, GENESIS_HASH.to_owned()),
        Some((id, Some(hash))) => (id + 1, hash),
        // Sealed at start-up; only a row written around Maktab since then lacks its hash.
        Some((id, None)) => {
            return Err(corrupt(format!(
                "audit entry {id} carries no chain hash: run `maktab audit verify`"
            )));
        }
    };
    // The id is part of the hashed content, so it is chosen here rather than by
    // autoincrement; the writer lock makes `last + 1` free.
    let hash = new_entry_hash(&prev_hash, id, entry);
    Ok(sqlx::query_scalar(
        "insert into audit_log (id, at, actor, action, communes, details, prev_hash, hash)
         values (?, ?, ?, ?, ?, ?, ?, ?) returning id",
    )
    .bind(id)
    .bind(entry.at)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(join_communes(&entry.communes))
    .bind(entry.details.to_string())
    .bind(&prev_hash)
    .bind(&hash)
    .fetch_one(&mut *conn)
    .await?)
}

fn chained_from_row(row: &SqliteRow) -> Result<ChainedAuditEntry> {
    let communes: &str = row.try_get("communes")?;
    Ok(ChainedAuditEntry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        communes: communes
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        details: row.try_get("details")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Entries written before the chain existed (migration 0011) get their hashes, once, in id
/// order. SQLite has no SHA-256 function, so this cannot happen in the migration; the
/// migration's update trigger allows exactly this one change to an unsealed row.
pub(super) async fn seal_audit_log(store: &SqliteStore) -> Result<()> {
    loop {
        let mut tx = store.begin_write().await?;
        let unsealed: Vec<ChainedAuditEntry> = sqlx::query(
            "select * from audit_log where hash is null or prev_hash is null order by id limit 1000",
        )
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(chained_from_row)
        .collect::<Result<_>>()?;
        if unsealed.is_empty() {
            return Ok(());
        }
        super::shared::audit::seal_entries(&mut tx, &unsealed).await?;
        tx.commit().await?;
    }
}

/// `communes` column holds `a,b,c`: match any of the wanted codes.
fn push_commune_filter(query: &mut QueryBuilder<Sqlite>, column: &str, communes: &[CommuneCode]) {
    query.push(" and (0");
    for commune in communes {
        query
            .push(format!(" or (',' || {column} || ',') like ('%,' || "))
            .push_bind(commune.as_str().to_owned())
            .push(" || ',%')");
    }
    query.push(")");
}

#[async_trait]
impl AdminStore for SqliteStore {
    async fn create_token(&self, token: NewToken, audit: NewAuditEntry) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "insert into api_tokens (name, role, communes, secret_hash, created_at, expires_at)
             values (?, ?, ?, ?, ?, ?) returning id",
        )
        .bind(&token.name)
        .bind(token.role.as_str())
        .bind(join_communes(&token.communes))
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
        sqlx::query("select * from api_tokens where id = ?")
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
        let mut tx = self.begin_write().await?;
        let done =
            sqlx::query("update api_tokens set revoked_at = ? where id = ? and revoked_at is null")
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
        let mut tx = self.begin_write().await?;
        let id = insert_audit(&mut *tx, &entry).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn audit_entries(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
        let mut sql = QueryBuilder::<Sqlite>::new(
            "select id, at, actor, action, communes, details from audit_log where 1 = 1",
        );
        if let Some(action) = &query.action {
            // `import` matches `import` and `import.*`, literally and with case. `like` would
            // ignore case and treat `%` and `_` as wildcards; a range over the byte order
            // (`import.` up to `import/`, '/' following '.') is exact and uses the index.
            sql.push(" and (action = ")
                .push_bind(action.clone())
                .push(" or (action >= ")
                .push_bind(format!("{action}."))
                .push(" and action < ")
                .push_bind(format!("{action}/"))
                .push("))");
        }
        if let Some(actor) = &query.actor {
            sql.push(" and actor = ").push_bind(actor.clone());
        }
        if let Some(communes) = &query.communes {
            push_commune_filter(&mut sql, "communes", communes);
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
                    communes: split_communes(row.try_get("communes")?)?,
                    details: serde_json::from_str(details).map_err(corrupt)?,
                })
            })
            .collect()
    }

    async fn audit_chain(&self, after_id: i64, limit: u32) -> Result<Vec<ChainedAuditEntry>> {
        sqlx::query(
            "select id, at, actor, action, communes, details, prev_hash, hash from audit_log
             where id > ? order by id limit ?",
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
        let mut tx = self.begin_write().await?;
        for count in counts {
            sqlx::query(
                "insert into lookup_stats (hour, channel, commune_code, outcome, count) values (?, ?, ?, ?, ?)
                 on conflict (hour, channel, commune_code, outcome) do update set count = count + excluded.count",
            )
            .bind(count.hour)
            .bind(&count.channel)
            .bind(&count.commune)
            .bind(&count.outcome)
            .bind(i64::try_from(count.count).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn lookup_counts(&self, query: &LookupStatsQuery) -> Result<Vec<LookupCount>> {
        let mut sql = QueryBuilder::<Sqlite>::new(
            "select hour, channel, commune_code, outcome, count from lookup_stats where 1 = 1",
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
            sql.push(" and commune_code in (");
            let mut list = sql.separated(", ");
            for commune in communes {
                list.push_bind(commune.as_str().to_owned());
            }
            list.push_unseparated(")");
            if communes.is_empty() {
                sql.push(" and 0");
            }
        }
        sql.push(" order by hour, channel, commune_code, outcome");
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
