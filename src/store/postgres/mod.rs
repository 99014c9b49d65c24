//! The PostgreSQL implementation of the store, for a national deployment where several
//! Maktab instances share one database. Everything that must hold across instances
//! (dialogue state, abuse-limit counters, inbound idempotency, audit log, statistics) is a
//! row here, and every read-modify-write is one statement or one transaction, so instances
//! need no coordination of their own. One file per area of the store, as for SQLite.

mod admin;
mod changes;
mod notices;
mod roll;
mod senders;
mod telegram;

/// Orders text by its bytes, as SQLite does, whatever the database's locale (whose
/// collation may skip the `+` and `-` that begin phone numbers and group chat ids).
macro_rules! byte_order {
    () => {
        " collate \"C\""
    };
}

/// Locks the rows a `select` reads until the transaction ends.
macro_rules! for_update {
    () => {
        " for update"
    };
}

/// Reads a text parameter as JSON (`jsonb` has no implicit cast from `text`).
macro_rules! as_jsonb {
    () => {
        "::jsonb"
    };
}

/// Reads an ISO `YYYY-MM-DD` text as a `date` (the roll's dates are `date` here).
macro_rules! as_date {
    () => {
        "::date"
    };
}

/// A `date` column as ISO `YYYY-MM-DD` text, whatever the session's `DateStyle`.
macro_rules! iso_date {
    ($column:literal) => {
        concat!("to_char(", $column, ", 'YYYY-MM-DD')")
    };
}

/// The SQL both backends share, compiled here against PostgreSQL (see `store/shared/mod.rs`).
#[path = "../shared/mod.rs"]
#[allow(
    clippy::duplicate_mod,
    reason = "compiled once per backend, on purpose: see store/shared/mod.rs"
)]
mod shared;

/// The store and database `shared` is compiled against.
type Backend = PostgresStore;
type Db = sqlx::Postgres;
/// A row of `Db`, named as its type (a trait can be implemented for it, see `shared::Columns`).
type Row = sqlx::postgres::PgRow;
/// An SQL `integer` column: 32 bits in PostgreSQL.
type Integer = i32;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{Result, StoreError, corrupt};

/// Connections per instance unless the URL says otherwise (`?max_connections=N`). Lookups
/// are short primary-key reads; 16 per instance keeps a few instances well under
/// PostgreSQL's default `max_connections = 100`.
const DEFAULT_MAX_CONNECTIONS: u32 = 16;

/// Maktab's data in a PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `postgres://...` and migrates the database. Several instances may start
    /// at once: sqlx's migrator serialises them with an advisory lock.
    ///
    /// The URL may carry `max_connections=N` (the pool size of this instance); every other
    /// parameter is PostgreSQL's own (`sslmode`, `application_name`, ...).
    pub async fn connect(url: &str) -> Result<Self> {
        let (url, max_connections) = split_pool_size(url)?;
        let options = PgConnectOptions::from_str(&url)?.application_name("maktab");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        sqlx::migrate!("migrations/postgres").run(&pool).await?;
        admin::seal_audit_log(&pool).await?;
        Ok(Self { pool })
    }

    /// Starts a write transaction. PostgreSQL locks rows as statements write them, so this
    /// is a plain `begin`; it bears SQLite's name so that the shared SQL reads the same.
    pub(super) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool.begin().await?)
    }

    /// Runs a request's write of one statement on a pooled connection: one round trip, its
    /// own transaction. SQLite's `write` batches instead (its single writer is what costs
    /// there); PostgreSQL has row locks and many writers, so jobs need no batching. A job of
    /// several statements that must commit together uses [`write_atomic`](Self::write_atomic).
    pub(super) async fn write<T, F>(&self, job: F) -> Result<T>
    where
        F: for<'c> FnOnce(
                &'c mut sqlx::PgConnection,
            ) -> futures_util::future::BoxFuture<'c, Result<T>>
            + Send,
    {
        let mut connection = self.pool.acquire().await?;
        job(&mut connection).await
    }

    /// Runs a write of several statements in one transaction (rolled back if the job fails).
    pub(super) async fn write_atomic<T, F>(&self, job: F) -> Result<T>
    where
        F: for<'c> FnOnce(
                &'c mut sqlx::PgConnection,
            ) -> futures_util::future::BoxFuture<'c, Result<T>>
            + Send,
    {
        let mut tx = self.pool.begin().await?;
        let value = job(&mut tx).await?;
        tx.commit().await?;
        Ok(value)
    }

    /// Starts a read-only transaction whose reads all see one snapshot.
    pub(super) async fn begin_snapshot(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("set transaction isolation level repeatable read, read only")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

/// Takes Maktab's own `max_connections` parameter out of the URL, leaving PostgreSQL's.
fn split_pool_size(url: &str) -> Result<(String, u32)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), DEFAULT_MAX_CONNECTIONS));
    };
    let mut max_connections = DEFAULT_MAX_CONNECTIONS;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("max_connections", n)) => {
                max_connections =
                    n.parse::<u32>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        StoreError::UnsupportedUrl(format!("max_connections={n}"))
                    })?;
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, max_connections))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_size_is_taken_out_of_the_url_and_other_parameters_are_kept() {
        let (url, max) =
            split_pool_size("postgres://u:p@h/db?sslmode=disable&max_connections=40").unwrap();
        assert_eq!(url, "postgres://u:p@h/db?sslmode=disable");
        assert_eq!(max, 40);
        let (url, max) = split_pool_size("postgres://h/db").unwrap();
        assert_eq!(
            (url.as_str(), max),
            ("postgres://h/db", DEFAULT_MAX_CONNECTIONS)
        );
        assert!(split_pool_size("postgres://h/db?max_connections=0").is_err());
    }
}
