//! SQLite's group commit: one task owns one write connection, and the small writes of
//! concurrent requests (a message id for idempotency, a lookup's counters, a subscription, a
//! reply into the outbox) are run by it, many to a transaction.
//!
//! SQLite has one writer at a time. Before, every request's write was its own `begin
//! immediate ... commit` on a pooled connection, and under load the connections waited for
//! the write lock in SQLite's busy handler, which sleeps 1, 2, 5, 10, 25... ms between tries:
//! most of a lookup's time was spent asleep, and p99 was the sleep schedule. Here a request
//! sends its write as a [`Job`] to the writer and waits; the writer takes every job queued
//! (up to [`MAX_BATCH`]), runs them one after another inside one `begin immediate ...
//! commit`, and only then answers each job.
//!
//! # Why this is exact and durable
//!
//! - **Exact**: jobs run one after another on one connection, inside the same transaction, so
//!   each sees the writes of the jobs before it. A counter's `insert ... on conflict do update
//!   ... returning count` returns the same numbers as if each job had been its own
//!   transaction in that order: no increment is lost and a limit lets exactly its number
//!   through, however many requests run at once. An idempotency insert of a message id seen
//!   earlier in the same batch affects zero rows, as it would after that batch's commit.
//! - **Isolated failures**: a job of several statements runs inside its own `savepoint`; if
//!   it fails it is rolled back to it and answered with its error, and the other jobs of the
//!   batch commit. A job of one statement needs no savepoint (SQLite undoes a failed
//!   statement by itself); when one fails the batch commits at once, so that an error which
//!   rolled the whole transaction back is seen by the commit (see `commit_batch`).
//! - **Durable**: nobody is answered before the `commit` holding their writes returned. If
//!   the commit fails, every job of the batch gets the error and nothing of it is written, as
//!   if each had failed alone; a process that dies before the commit has answered none of
//!   them. The durability of a commit is SQLite's own (WAL, `synchronous = normal`: survives
//!   a crash of the process; the last transactions may be lost on power failure), unchanged.
//!
//! # Batching without a timer
//!
//! The writer does not wait for a batch to fill: it takes what is queued and runs it. While a
//! batch runs, the next requests queue up, so under load batches grow by themselves (the
//! queue is as long as there are requests waiting) and when idle a lone write commits at
//! once, with no added latency. A timer of a few milliseconds would only add that delay to
//! every write at low load without making batches larger at high load.
//!
//! # Two connections, one writer
//!
//! The writer holds two connections to the file and uses one at a time, so they never wait
//! for each other's lock. sqlx runs each of its connections on a thread of its own and every
//! statement is a round trip to that thread (a wake-up there and one back), so a batch of N
//! jobs on it costs N + 2 trips, one after another. The writes on every lookup's path (the
//! message id with the sender's state, the lookup with its voter, or both as one job when
//! the message is a plain lookup) are [`Writer::write_direct`]
//! jobs instead: plain functions over a [`rusqlite::Connection`] (the same SQLite library,
//! `libsqlite3-sys`, that sqlx links) owned by the writer's thread. Requests queue them to
//! that thread themselves; it takes every job queued, runs the batch, `begin immediate` to
//! `commit`, and answers each job: a batch costs one wake-up of the thread and one of each
//! caller, with no task in between. The other jobs (the outbox, Telegram's inbox, sender
//! state) are written once for both backends over sqlx and go to the writer task, which
//! runs them on sqlx's connection. Before each of its batches it pauses the thread: the
//! thread commits the direct jobs it took before the pause, stops, and goes on once the
//! task's batch committed. Jobs queued at the same time have no order among themselves (each
//! caller waits for its answer before it writes again), so running them in two groups
//! changes nothing a caller can see, and the reasons above hold for each group. The
//! checkpoint thread pauses the writer's thread the same way, for one short checkpoint
//! once the WAL is long (`run_checkpoints`).
//!
//! Reads outside a write never go through the writer: they use the store's pool or its
//! plain readers (`readers.rs`), and in WAL mode a reader is never blocked by the writer. A
//! lookup's own reads (the sender's state, the voter) are inside its direct jobs, for the
//! reasons given in `senders.rs`. Writes that are not on a request's path (imports, the
//! admin API, the dispatcher) still use the pool and `begin immediate`; they take turns with
//! the writer's transactions through SQLite's lock.

use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Executor as _};
use tokio::sync::{mpsc, oneshot};

use crate::store::{Result, StoreError};

/// The most jobs one transaction holds: large enough that a national peak's requests share
/// few commits, small enough that a batch's transaction stays short.
pub const MAX_BATCH: usize = 256;

/// Jobs waiting for the writer beyond this make the submitting request wait to queue: the
/// back-pressure that keeps a flood from growing the queue without bound.
const QUEUE: usize = 4096;

/// What a job reports after it ran: whether its statements succeeded, and what to do once
/// the batch's commit is known.
type Ran = (bool, Finish);

/// Answers the job's caller, given the commit's error if the batch did not commit.
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;

/// A job's statements, run on the writer's connection.
type Run = Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Ran> + Send>;

/// A direct job's statements, run on the writer's own SQLite connection, on its thread.
type DirectRun = Box<dyn FnOnce(&rusqlite::Connection) -> Ran + Send>;

/// A write: statements run on the writer's connection inside the batch's transaction.
struct Job {
    run: Run,
    guard: Guard,
}

/// What the writer's thread is sent: direct jobs from requests, and from the writer task a
/// pause while it writes on sqlx's connection.
enum ToThread {
    /// A job over the writer's own connection, always inside a savepoint of its own (which
    /// costs nothing here: the statements run on the thread that holds the connection).
    Job(DirectRun),
    /// Commit what was taken, say so on the first sender, and write nothing more until the
    /// second is dropped or answered: the writer task's sqlx batch holds the lock meanwhile.
    Pause(oneshot::Sender<()>, oneshot::Receiver<()>),
}

/// How a job's statements commit or fail together.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// One statement: SQLite undoes a failed statement by itself.
    Statement,
    /// Several statements: the writer opens the savepoint `job` before and releases it after.
    Savepoint,
}

/// The handle requests submit their writes through. Cloning shares the one writer; when the
/// last handle is dropped the writer finishes the queued jobs and closes its connection.
#[derive(Clone)]
pub struct Writer {
    /// Jobs over sqlx's connection, to the writer task.
    jobs: mpsc::Sender<Job>,
    /// Direct jobs, straight to the writer's thread.
    direct: mpsc::Sender<ToThread>,
}

impl Writer {
    /// Opens the write connections and starts the writer task on the current runtime, and
    /// the thread of its own connection.
    pub async fn start(options: &SqliteConnectOptions) -> Result<Self> {
        // Neither of the writer's connections checkpoints at its commits: a thread of its own
        // does (`run_checkpoints`), woken by them.
        let connection = options
            .clone()
            .pragma("wal_autocheckpoint", "0")
            .connect()
            .await?;
        let own = open_direct(options)?;
        let checkpointer = super::readers::open_plain(options)?;
        let (checkpoint, wake) = std::sync::mpsc::sync_channel(1);
        let thread = |name: &str| std::thread::Builder::new().name(name.to_owned());
        let cannot =
            |e: std::io::Error| StoreError::Batch(format!("cannot start a writer's thread: {e}"));
        let (direct, to_thread) = mpsc::channel(QUEUE);
        let weak = direct.downgrade();
        thread("maktab-checkpoint")
            .spawn(move || run_checkpoints(&checkpointer, &wake, &weak))
            .map_err(cannot)?;
        let woken = checkpoint.clone();
        thread("maktab-writer")
            .spawn(move || run_direct(&own, to_thread, &woken))
            .map_err(cannot)?;
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(connection, direct.clone(), queue, checkpoint));
        Ok(Self { jobs, direct })
    }

    /// Runs `job` on the writer's own connection in the next batch of direct jobs and
    /// returns its result once that batch committed. Its statements commit or fail together
    /// (a savepoint); it must not begin or end transactions itself.
    pub async fn write_direct<T, F>(&self, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection) -> Result<T> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T>>();
        let run: DirectRun = Box::new(move |connection| {
            let result = job(connection);
            let ok = result.is_ok();
            (ok, finisher(result, answer))
        });
        self.direct
            .send(ToThread::Job(run))
            .await
            .map_err(|_| StoreError::Batch("the SQLite writer has stopped".to_owned()))?;
        answer_of(answered).await
    }

    /// Runs `job`, one statement, in the next batch and returns its result once the batch
    /// committed. The job must not begin or end transactions itself.
    pub async fn write<T, F>(&self, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.submit(job, Guard::Statement).await
    }

    /// Runs `job`, several statements that commit or fail together (inside a savepoint),
    /// in the next batch, as [`write`](Self::write).
    pub async fn write_atomic<T, F>(&self, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.submit(job, Guard::Savepoint).await
    }

    async fn submit<T, F>(&self, job: F, guard: Guard) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T>>();
        let run: Run = Box::new(move |connection| {
            Box::pin(async move {
                let result = job(connection).await;
                let ok = result.is_ok();
                (ok, finisher(result, answer))
            })
        });
        self.jobs
            .send(Job { run, guard })
            .await
            .map_err(|_| StoreError::Batch("the SQLite writer has stopped".to_owned()))?;
        answer_of(answered).await
    }
}

/// A job's answer, once its batch committed or failed.
async fn answer_of<T>(answered: oneshot::Receiver<Result<T>>) -> Result<T> {
    // A job dropped unrun (its batch could not begin, or lost its transaction before the
    // job's turn) closes the channel without an answer.
    answered.await.map_err(|_| {
        StoreError::Batch("the batch holding this write was not committed".to_owned())
    })?
}

/// Answers a job's caller with its result, or with the commit's error if the batch did not
/// commit.
fn finisher<T: Send + 'static>(result: Result<T>, answer: oneshot::Sender<Result<T>>) -> Finish {
    Box::new(move |commit_error| {
        let result = match (result, commit_error) {
            (Ok(value), None) => Ok(value),
            (Ok(_), Some(error)) => Err(StoreError::Batch(error.to_owned())),
            (Err(error), _) => Err(error),
        };
        // The caller may have gone (its request was cancelled): nothing to answer then.
        let _ = answer.send(result);
    })
}

/// The writer task: batches of sqlx jobs until every handle is gone. Before each, it pauses
/// the writer's thread, which commits the direct jobs it took first: one write transaction at
/// a time, so neither connection waits in SQLite's busy handler for the other.
async fn run(
    mut connection: SqliteConnection,
    direct: mpsc::Sender<ToThread>,
    mut queue: mpsc::Receiver<Job>,
    checkpoint: Checkpoint,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (paused, is_paused) = oneshot::channel();
        // Dropped at the end of this turn, which lets the thread go on.
        let (_resume, resumed) = oneshot::channel::<()>();
        // If the thread is gone, there is nothing to pause.
        if direct.send(ToThread::Pause(paused, resumed)).await.is_ok() {
            let _ = is_paused.await;
        }
        while !batch.is_empty() {
            let ran = commit_batch(&mut connection, &mut batch).await;
            batch.drain(..ran);
        }
        wake_checkpoints(&checkpoint);
    }
}

/// Runs jobs from the front of `batch` in one transaction, commits, and only then answers
/// them; returns how many it took. A job of one statement that fails ends the transaction
/// early: SQLite undid the statement, and most errors leave the transaction as it was, but
/// some (a full disk, an I/O error) roll all of it back, and statements run after that would
/// each commit on their own. Committing at once tells the two apart (the commit fails if the
/// transaction is gone, and every job in it is told so); the jobs after it go into the next
/// transaction. A job with a savepoint is rolled back to it and the batch goes on; if even
/// that fails, the transaction is lost and the batch ends the same way.
async fn commit_batch(connection: &mut SqliteConnection, batch: &mut [Job]) -> usize {
    if let Err(error) = connection.execute("begin immediate").await {
        let error = error.to_string();
        tracing::error!(%error, jobs = batch.len(), "group commit: cannot begin");
        // The jobs are dropped unrun, which closes their answer channels: their callers get
        // an error, and nothing of theirs was written.
        return batch.len();
    }
    let mut finishes: Vec<Finish> = Vec::with_capacity(batch.len());
    let mut broken = None;
    let mut taken = 0;
    for job in batch.iter_mut() {
        taken += 1;
        let run = std::mem::replace(&mut job.run, Box::new(|_| Box::pin(unrun())));
        if job.guard == Guard::Savepoint
            && let Err(error) = connection.execute("savepoint job").await
        {
            broken = Some(error.to_string());
            break;
        }
        let (ok, finish) = run(&mut *connection).await;
        finishes.push(finish);
        let end = match (job.guard, ok) {
            (Guard::Statement, true) => None,
            (Guard::Statement, false) => break,
            (Guard::Savepoint, true) => Some("release job"),
            (Guard::Savepoint, false) => Some("rollback to job; release job"),
        };
        // If the savepoint cannot be ended (a job whose text failed before opening it, or a
        // transaction SQLite rolled back), the transaction cannot be trusted: it ends here.
        if let Some(end) = end
            && let Err(error) = connection.execute(end).await
        {
            broken = Some(error.to_string());
            break;
        }
    }
    let outcome = match broken {
        None => connection
            .execute("commit")
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
        Some(error) => Err(error),
    };
    if let Err(error) = &outcome {
        tracing::error!(%error, jobs = finishes.len(), "group commit: batch rolled back");
        // After a failed commit SQLite may still hold the transaction open; end it so the
        // next batch starts clean. An error here means it was already closed.
        let _ = connection.execute("rollback").await;
    }
    let commit_error = outcome.err();
    for finish in finishes {
        finish(commit_error.as_deref());
    }
    taken
}

/// Opens the writer's own connection, with the settings that matter to a writer.
///
/// Its page cache is 8 MiB, smaller than a reader's 32: SQLite walks the cache's whole hash
/// table at the end of every write transaction (`pcache1TruncateUnsafe`), so a large cache
/// costs each of the writer's commits. At 64 MiB that walk was 20 % of the writer thread's
/// profile, and the lookups ran at 4,400-5,300 a second where 2 MiB and 8 MiB gave
/// 6,300-6,500 (bench/README.md, `sms_webhook`, third round).
fn open_direct(options: &SqliteConnectOptions) -> Result<rusqlite::Connection> {
    let connection = super::readers::open_plain(options)?;
    connection.execute_batch(
        "pragma synchronous = normal; pragma foreign_keys = on; pragma wal_autocheckpoint = 0;
         pragma cache_size = -8192; pragma temp_store = memory;",
    )?;
    Ok(connection)
}

/// Wakes the checkpoint thread after a commit of the writer's.
type Checkpoint = std::sync::mpsc::SyncSender<()>;

/// The least time between two checkpoints of the writer's WAL.
const CHECKPOINT_PAUSE: Duration = Duration::from_millis(20);

/// A WAL this long (pages of 4 KiB: 32 MiB) is started again from its beginning: the
/// checkpoint thread pauses the writer to copy its last frames (`run_checkpoints`).
const RESTART_FRAMES: u64 = 8192;

/// Tells the checkpoint thread the WAL grew; costs nothing if it already knows.
fn wake_checkpoints(checkpoint: &Checkpoint) {
    let _ = checkpoint.try_send(());
}

/// `pragma wal_checkpoint(passive)`: whether it was kept from finishing, the WAL's frames,
/// and how many of them are now in the database file.
fn checkpoint_passive(connection: &rusqlite::Connection) -> rusqlite::Result<(bool, u64, u64)> {
    connection.query_row("pragma wal_checkpoint(passive)", [], |row| {
        let frames = |i| row.get::<_, i64>(i).map(|n| u64::try_from(n).unwrap_or(0));
        Ok((row.get::<_, i64>(0)? != 0, frames(1)?, frames(2)?))
    })
}

/// The checkpoint thread: copies the WAL's pages back into the database file after the
/// writer's commits, at most once per [`CHECKPOINT_PAUSE`], until the writer is gone.
///
/// By default the connection whose commit takes the WAL past 1,000 pages runs the
/// checkpoint itself, inside that commit: it writes the pages into the file and waits for two
/// `fsync`s. On the writer's connection that stopped every request waiting for a commit,
/// and at a few thousand lookups a second the WAL passes 1,000 pages dozens of times a
/// second (bench/README.md, `sms_webhook`, third round). Here the commits only append to the
/// WAL. A `passive` checkpoint takes no lock a writer or a reader waits for: it copies what
/// no reader still needs, and SQLite starts the WAL again from its beginning at the first
/// write after a checkpoint that copied everything. Durability is the WAL's, as before: a
/// commit is in the WAL before anyone is answered, checkpointed or not.
///
/// # Starting the WAL again
///
/// SQLite writes a WAL from its beginning again only when a write transaction begins and
/// every frame of it is already in the database file. Under a steady load the writer
/// appends frames while this thread copies them, so it never finds the WAL copied to its
/// end at a `begin`, and the WAL grows without end: 1.3 GB in 20 s of lookups
/// (bench/README.md, `sms_webhook`, fourth round). Each new page of the file costs the
/// kernel a page allocated and zeroed (`ext4_da_write_begin`, `memset`: 28 % of the writer
/// thread's profile), and the file would fill the disk on election day. So once the WAL is
/// [`RESTART_FRAMES`] long, this thread pauses the writer (as the writer task does for
/// its sqlx batches: the writer commits what it took and waits), copies the frames
/// written since its last pass, and lets the writer go on: its next `begin` finds the WAL
/// copied and writes it from its beginning again, over pages already in the kernel's
/// cache. The pause lasts one short checkpoint (the frames of one pass and two `fsync`s),
/// once per [`RESTART_FRAMES`] pages written. `writer` is weak so that this thread does
/// not keep the writer's thread alive.
fn run_checkpoints(
    connection: &rusqlite::Connection,
    wake: &std::sync::mpsc::Receiver<()>,
    writer: &mpsc::WeakSender<ToThread>,
) {
    while wake.recv().is_ok() {
        match checkpoint_passive(connection) {
            Ok((_, frames, _)) if frames >= RESTART_FRAMES => {
                if let Some(writer) = writer.upgrade() {
                    copy_the_rest(connection, &writer);
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "group commit: checkpoint failed; the next commit retries it");
            }
        }
        // Commits meanwhile leave one wake-up in the channel: one checkpoint after the pause.
        std::thread::sleep(CHECKPOINT_PAUSE);
    }
}

/// Pauses the writer's thread, checkpoints what the WAL holds beyond the last pass, and
/// lets the writer go on (see [`run_checkpoints`]).
fn copy_the_rest(connection: &rusqlite::Connection, writer: &mpsc::Sender<ToThread>) {
    let (paused, is_paused) = oneshot::channel();
    // Dropped at the end, which lets the writer go on.
    let (_resume, resumed) = oneshot::channel::<()>();
    if writer
        .blocking_send(ToThread::Pause(paused, resumed))
        .is_err()
        || is_paused.blocking_recv().is_err()
    {
        return;
    }
    match checkpoint_passive(connection) {
        Ok((false, frames, copied)) if frames == copied => {}
        // Another connection (an import) writing meanwhile: the next pass tries again.
        Ok((_, frames, copied)) => {
            tracing::debug!(
                frames,
                copied,
                "group commit: the WAL could not be copied to its end"
            );
        }
        Err(error) => tracing::warn!(%error, "group commit: checkpoint failed"),
    }
}

/// The writer's thread: takes every direct job queued (up to [`MAX_BATCH`]), commits them
/// as one batch, and so on until every sender is gone. Requests send their jobs here
/// themselves, so a batch costs one wake-up of this thread, and each job one of its caller.
fn run_direct(
    connection: &rusqlite::Connection,
    mut queue: mpsc::Receiver<ToThread>,
    checkpoint: &Checkpoint,
) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        let mut next = Some(first);
        let mut pause = None;
        while let Some(taken) = next.take() {
            match taken {
                ToThread::Job(job) => jobs.push(job),
                ToThread::Pause(paused, resumed) => {
                    pause = Some((paused, resumed));
                    break;
                }
            }
            if jobs.len() < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        if !jobs.is_empty() {
            commit_direct(connection, jobs.drain(..));
            wake_checkpoints(checkpoint);
        }
        if let Some((paused, resumed)) = pause {
            let _ = paused.send(());
            // Answered or dropped once the sqlx batch committed; an error only says which.
            let _ = resumed.blocking_recv();
        }
    }
}

/// [`commit_batch`] for direct jobs: each in its own savepoint, all in one transaction,
/// answered after its commit. If the transaction breaks (a savepoint cannot be opened or
/// ended: SQLite rolled it back), the jobs not yet run are dropped, which answers their
/// callers with an error, and the commit of the others fails and tells them so.
fn commit_direct(
    connection: &rusqlite::Connection,
    jobs: impl ExactSizeIterator<Item = DirectRun>,
) {
    if let Err(error) = connection.execute_batch("begin immediate") {
        let error = error.to_string();
        tracing::error!(%error, jobs = jobs.len(), "group commit: cannot begin");
        return;
    }
    let mut finishes: Vec<Finish> = Vec::with_capacity(jobs.len());
    let mut broken = None;
    for job in jobs {
        if let Err(error) = connection.execute_batch("savepoint job") {
            broken = Some(error.to_string());
            break;
        }
        let (ok, finish) = job(connection);
        finishes.push(finish);
        let end = if ok {
            "release job"
        } else {
            "rollback to job; release job"
        };
        if let Err(error) = connection.execute_batch(end) {
            broken = Some(error.to_string());
            break;
        }
    }
    let outcome = match broken {
        None => connection
            .execute_batch("commit")
            .map_err(|e| e.to_string()),
        Some(error) => Err(error),
    };
    if let Err(error) = &outcome {
        tracing::error!(%error, jobs = finishes.len(), "group commit: batch rolled back");
        let _ = connection.execute_batch("rollback");
    }
    let commit_error = outcome.err();
    for finish in finishes {
        finish(commit_error.as_deref());
    }
}

/// What stands in for a job already taken out to run (never run itself).
async fn unrun() -> Ran {
    (false, Box::new(|_| {}))
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;

    /// One message id, recorded through a direct job; `then` runs after the insert, in the
    /// same job.
    async fn record(store: &SqliteStore, id: &'static str, then: &'static str) -> bool {
        store
            .writer
            .write_direct(move |connection| {
                connection
                    .execute_batch(&format!(
                        "insert into inbound_seen (source, message_id, received_at)
                         values ('test', '{id}', 1); {then}"
                    ))
                    .map_err(|e| crate::store::StoreError::Batch(e.to_string()))
            })
            .await
            .is_ok()
    }

    /// A store on a file of its own, `w.db` in a temporary directory, and the file's path.
    async fn file_store() -> (tempfile::TempDir, std::path::PathBuf, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        (dir, path, store)
    }

    /// Runs `sql` as one direct job.
    async fn execute(store: &SqliteStore, sql: &'static str) {
        store
            .writer
            .write_direct(move |connection| {
                connection
                    .execute_batch(sql)
                    .map_err(crate::store::StoreError::from)
            })
            .await
            .unwrap();
    }

    /// The writer's connections do not checkpoint at their commits; the checkpoint thread
    /// must copy what they wrote into the database file, which in WAL mode grows only then.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpoint_thread_copies_the_writers_commits_into_the_file() {
        let (_dir, path, store) = file_store().await;
        let before = std::fs::metadata(&path).unwrap().len();
        // About 2 MB of message ids, in batches of concurrent jobs.
        for batch in 0..20 {
            let jobs = (0..50).map(|i| {
                let id = format!("{batch:04}-{i:04}-{}", "x".repeat(2000));
                let store = store.clone();
                async move {
                    store
                        .writer
                        .write_direct(move |connection| {
                            connection
                                .execute(
                                    "insert into inbound_seen (source, message_id, received_at)
                                     values ('test', ?1, 1)",
                                    [id],
                                )
                                .map_err(crate::store::StoreError::from)
                        })
                        .await
                        .unwrap()
                }
            });
            futures_util::future::join_all(jobs).await;
        }
        let mut grown = 0;
        for _ in 0..100 {
            grown = std::fs::metadata(&path)
                .unwrap()
                .len()
                .saturating_sub(before);
            if grown > 1_000_000 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(grown > 1_000_000, "the file grew by {grown} bytes only");
    }

    /// Under a steady load the WAL is started again from its beginning (`run_checkpoints`):
    /// 16 requests write with no pause for a checkpoint to catch up, until the WAL's header
    /// shows a new checkpoint sequence number (bytes 12 to 16, one more at each start
    /// again). Without the pause it never does: the WAL grew past 200 MB. How soon it comes
    /// depends on how much CPU the checkpoint thread gets, so the test waits for it, up to
    /// 300 MB written or a minute.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn under_a_steady_load_the_wal_starts_again_instead_of_growing() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let (dir, _path, store) = file_store().await;
        let sequence = || {
            let header = std::fs::read(dir.path().join("w.db-wal")).unwrap_or_default();
            header.get(12..16).map(|bytes| bytes.to_vec())
        };
        execute(&store, "create table bulk (b blob)").await;
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        // 16 requests writing rows of 4 kB (each one page or more) until told to stop.
        let requests: Vec<_> = (0..16)
            .map(|_| {
                let (stop, written) = (Arc::clone(&stop), Arc::clone(&written));
                let store = store.clone();
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        execute(&store, "insert into bulk values (zeroblob(4000))").await;
                        written.fetch_add(4000, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let started = std::time::Instant::now();
        let mut first = None;
        let mut restarted = false;
        while started.elapsed() < std::time::Duration::from_secs(60)
            && written.load(Ordering::Relaxed) < 300_000_000
        {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let now = sequence();
            if first.is_none() {
                first = now;
            } else if now.is_some() && now != first {
                restarted = true;
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
        for request in requests {
            request.await.unwrap();
        }
        let wal = std::fs::metadata(dir.path().join("w.db-wal"))
            .unwrap()
            .len();
        assert!(restarted, "the WAL never started again; it is {wal} bytes");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_direct_job_is_undone_and_the_jobs_beside_it_commit() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        let (first, failing, last) = tokio::join!(
            record(&store, "first", ""),
            record(&store, "failing", "insert into no_such_table values (1);"),
            record(&store, "last", ""),
        );
        assert_eq!((first, failing, last), (true, false, true));
        let ids: Vec<String> =
            sqlx::query_scalar("select message_id from inbound_seen order by message_id")
                .fetch_all(&store.pool)
                .await
                .unwrap();
        assert_eq!(ids, ["first", "last"]);
    }
}
