//! The SQLite implementation of the store: one file, WAL journal so lookups read while an
//! import writes, and a busy timeout so concurrent writers wait instead of failing. One file
//! per area of the store, each implementing that area's trait.

mod admin;
mod changes;
mod notices;
mod readers;
mod roll;
mod senders;
mod telegram;
mod writer;

/// Orders text by its bytes: SQLite's default collation (`binary`) already does.
macro_rules! byte_order {
    () => {
        ""
    };
}

/// Locks the rows a `select` reads until the transaction ends: SQLite has no row locks, and
/// needs none under the write lock `begin immediate` took.
macro_rules! for_update {
    () => {
        ""
    };
}

/// Reads a parameter as JSON: SQLite keeps JSON as text.
macro_rules! as_jsonb {
    () => {
        ""
    };
}

/// Reads an ISO `YYYY-MM-DD` text as a date: SQLite keeps dates as that text.
macro_rules! as_date {
    () => {
        ""
    };
}

/// A `date` column as ISO `YYYY-MM-DD` text: SQLite keeps dates as that text.
macro_rules! iso_date {
    ($column:literal) => {
        $column
    };
}

/// The SQL both backends share, compiled here against SQLite (see `store/shared/mod.rs`).
#[path = "../shared/mod.rs"]
#[allow(
    clippy::duplicate_mod,
    reason = "compiled once per backend, on purpose: see store/shared/mod.rs"
)]
mod shared;

/// The store and database `shared` is compiled against.
type Backend = SqliteStore;
type Db = sqlx::Sqlite;
/// A row of `Db`, named as its type (a trait can be implemented for it, see `shared::Columns`).
type Row = sqlx::sqlite::SqliteRow;
/// An SQL `integer` column: 64 bits in SQLite.
type Integer = i64;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{Result, corrupt};

/// Connections of the read pool.
const READERS: u32 = 4;

/// Maktab's data in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    /// Reads: point reads of requests, and the reads of everything else.
    pool: SqlitePool,
    /// The writes that are not on a request's path (imports, the admin API, the
    /// dispatcher), each a `begin immediate` transaction (see [`begin_write`]).
    ///
    /// [`begin_write`]: SqliteStore::begin_write
    bulk: SqlitePool,
    /// The group commit: the small writes of requests, batched (see `writer.rs`).
    writer: writer::Writer,
    /// The lookup's point reads, on the calling thread (see `readers.rs`).
    readers: std::sync::Arc<readers::Readers>,
}

impl SqliteStore {
    /// Opens (creating if missing) and migrates the database at `sqlite://PATH`.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("cache_size", "-32768")
            .pragma("temp_store", "memory");
        // No test before acquire: with it every query first sends a ping to the connection's
        // thread, doubling the trips of a lookup's reads; a broken SQLite connection (a file
        // gone) fails the query itself just as well. Few readers: each is a thread of its
        // own, and on a machine of a few cores more threads than cores only add switches
        // between them (see bench/README.md, sms_webhook).
        let pool = SqlitePoolOptions::new()
            .max_connections(READERS)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        // The bulk writes (imports, the admin API, the dispatcher) on connections of their
        // own: one writer at a time holds SQLite's lock anyway; two connections let a second
        // write wait its turn in the busy handler rather than for the pool. No `mmap_size`
        // on any connection. On the serving ones a read transaction remaps the file each
        // time it has grown, which a serving instance's file does with every message it
        // records, and the remap (`munmap`, `mmap` and the TLB shootdowns of every thread)
        // cost more than the point read it served. On the bulk ones a national import read
        // its B-trees through the map, and every page it touched counted in the process's
        // resident memory, up to 1 GiB where the whole import may hold 400 MB at 24,000,000
        // voters (bench/README.md, import). Without it the pages are read with `pread`:
        // about 8 % of the import's profile at 1,000,000 voters.
        let bulk = SqlitePoolOptions::new()
            .max_connections(2)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&pool).await?;
        let writer = writer::Writer::start(&options).await?;
        let readers = std::sync::Arc::new(readers::Readers::open(&options)?);
        let store = Self {
            pool,
            bulk,
            writer,
            readers,
        };
        admin::seal_audit_log(&store).await?;
        store.remove_abandoned_imports().await?;
        Ok(store)
    }

    /// A roll import writes in chunks; if the process died during one, its rows are removed
    /// here. With SQLite only one process owns the file, so any staging import is abandoned.
    async fn remove_abandoned_imports(&self) -> Result<()> {
        let staging: Vec<i64> =
            sqlx::query_scalar("select id from imports where status = 'staging'")
                .fetch_all(&self.pool)
                .await?;
        for id in staging {
            self.discard_staging(id).await?;
        }
        Ok(())
    }

    /// Starts a write transaction holding SQLite's write lock from its first statement
    /// (`begin immediate`). A deferred transaction that reads first and writes later fails
    /// with "database is locked" at once, without waiting out the busy timeout, when another
    /// connection wrote in between; taking the lock up front makes it wait its turn instead.
    pub(super) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.bulk.begin_with("begin immediate").await?)
    }

    /// Runs a request's write of one statement in the group commit, answering once the
    /// batch holding it committed. The shared SQL calls it as PostgreSQL's `write`, which runs the job on a
    /// pooled connection.
    pub(super) async fn write<T, F>(&self, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(
                &'c mut sqlx::SqliteConnection,
            ) -> futures_util::future::BoxFuture<'c, Result<T>>
            + Send
            + 'static,
    {
        self.writer.write(job).await
    }

    /// A write of several statements that must commit together: a job of the group commit
    /// inside its own savepoint.
    pub(super) async fn write_atomic<T, F>(&self, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(
                &'c mut sqlx::SqliteConnection,
            ) -> futures_util::future::BoxFuture<'c, Result<T>>
            + Send
            + 'static,
    {
        self.writer.write_atomic(job).await
    }

    /// Starts a transaction whose reads all see one snapshot: in WAL mode a deferred
    /// transaction's first read fixes the snapshot the later ones see.
    pub(super) async fn begin_snapshot(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool.begin().await?)
    }

    async fn discard_staging(&self, import_id: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("delete from roll_voters where roll_version = $1")
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from roll_staging where import_id = $1")
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from imports where id = $1 and status = 'staging'")
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
