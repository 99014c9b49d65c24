//! Point reads of requests on plain SQLite connections run on the calling thread: the
//! sender's state before a Telegram update is handled, the voter a report or a duty agent
//! asks for. (An SMS lookup reads both inside its writes, on the group commit's connection:
//! `senders.rs`.)
//!
//! sqlx runs each SQLite connection on a thread of its own, and every query is a round trip
//! to it: the request's task sends the statement over a channel, that thread wakes, runs it,
//! and wakes the task again with each row. For a point read of a few microseconds the two
//! wake-ups were most of its cost: in the webhook bench's profile (`bench/README.md`,
//! `sms_webhook`, third round) the futex waits and wake-ups of sqlx's channel were the
//! largest piece of the process. Here the read is a function call: the task takes an idle
//! connection from [`Readers`], runs the statement, and puts the connection back.
//!
//! # Why running it on the runtime's thread is fine
//!
//! - A point read by primary key touches a handful of pages that are in SQLite's cache or
//!   the OS's page cache (a serving machine has the memory for its file): microseconds, as
//!   a JSON parse or a signature check on the same thread are.
//! - In WAL mode a reader never waits for the writer: it reads the last committed snapshot
//!   while the group commit writes. The only wait is SQLite's own retry while a checkpoint
//!   resets the WAL's index, microseconds at a time, bounded by the busy timeout.
//! - The connection is never held across an `.await`, so at most as many are in use as there
//!   are threads running tasks; [`Readers`] keeps that many idle and opens another only when
//!   all are taken at once (never more than the runtime's threads plus Tokio's blocking ones).
//!
//! The connections are opened `query_only`: a bug that sent a write here would fail rather
//! than write beside the group commit.

use std::sync::Mutex;
use std::time::Duration;

use rusqlite::OpenFlags;
use sqlx::sqlite::SqliteConnectOptions;

use super::shared::Columns;
use crate::store::Result;

/// Idle connections kept for reuse: one per thread that runs requests on a machine of a few
/// cores, and a margin.
const KEEP_IDLE: usize = 8;

/// Plain SQLite connections for the lookup's reads, taken by the calling thread.
pub(super) struct Readers {
    idle: Mutex<Vec<rusqlite::Connection>>,
    options: SqliteConnectOptions,
}

impl Readers {
    /// Readers of the file `options` names; the first connection is opened now, so that a
    /// file that cannot be read fails at start-up.
    pub(super) fn open(options: &SqliteConnectOptions) -> Result<Self> {
        let first = open_reader(options)?;
        Ok(Self {
            idle: Mutex::new(vec![first]),
            options: options.clone(),
        })
    }

    /// Runs `read` on an idle connection (opening one if none is) and puts it back.
    pub(super) fn read<T>(
        &self,
        read: impl FnOnce(&rusqlite::Connection) -> Result<T>,
    ) -> Result<T> {
        let taken = self.idle.lock().map_or(None, |mut idle| idle.pop());
        let connection = match taken {
            Some(connection) => connection,
            None => open_reader(&self.options)?,
        };
        let result = read(&connection);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < KEEP_IDLE
        {
            idle.push(connection);
        }
        result
    }
}

/// A row of a plain connection, read by the shared mappings.
pub(super) struct Plain<'r, 's>(pub(super) &'r rusqlite::Row<'s>);

impl Columns for Plain<'_, '_> {
    fn text(&self, column: &str) -> Result<Option<String>> {
        Ok(self.0.get(column)?)
    }

    fn integer(&self, column: &str) -> Result<Option<i64>> {
        Ok(self.0.get(column)?)
    }

    fn bigint(&self, column: &str) -> Result<Option<i64>> {
        Ok(self.0.get(column)?)
    }

    fn real(&self, column: &str) -> Result<Option<f64>> {
        Ok(self.0.get(column)?)
    }

    fn flag(&self, column: &str) -> Result<bool> {
        Ok(self.0.get(column)?)
    }
}

/// Runs `statement` (cached on the connection) with its parameters bound by name and maps
/// its first row, if any.
pub(super) fn first_row<T>(
    connection: &rusqlite::Connection,
    statement: &str,
    parameters: &[(&str, &dyn rusqlite::ToSql)],
    map: impl FnOnce(&Plain<'_, '_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut statement = connection.prepare_cached(statement)?;
    let mut rows = statement.query(parameters)?;
    match rows.next()? {
        Some(row) => map(&Plain(row)).map(Some),
        None => Ok(None),
    }
}

/// Opens a plain connection to the file sqlx opened (the journal mode is the file's and
/// already set), for the group commit's writer or for these readers.
pub(super) fn open_plain(options: &SqliteConnectOptions) -> Result<rusqlite::Connection> {
    let filename = options.get_filename();
    // sqlx names an in-memory database `file:sqlx-in-memory-N` and opens it as a URI in
    // shared-cache mode, so that its connections share it; this one joins them the same way.
    let in_memory = filename.to_string_lossy().starts_with("file:");
    let connection = if in_memory {
        rusqlite::Connection::open_with_flags(
            filename,
            OpenFlags::default()
                | OpenFlags::SQLITE_OPEN_MEMORY
                | OpenFlags::SQLITE_OPEN_SHARED_CACHE,
        )
    } else {
        rusqlite::Connection::open(filename)
    }?;
    connection.busy_timeout(Duration::from_secs(10))?;
    Ok(connection)
}

/// A reader: the page cache of sqlx's readers, and no writes.
fn open_reader(options: &SqliteConnectOptions) -> Result<rusqlite::Connection> {
    let connection = open_plain(options)?;
    connection.execute_batch(
        "pragma cache_size = -32768; pragma temp_store = memory; pragma query_only = on;",
    )?;
    Ok(connection)
}
