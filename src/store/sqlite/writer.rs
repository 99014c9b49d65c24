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
//! Reads never go through the writer: they use the store's pool, and in WAL mode a reader
//! is never blocked by the writer. Writes that are not on a request's path (imports, the
//! admin API, the dispatcher) still use the pool and `begin immediate`; they take turns
//! with the writer's transactions through SQLite's lock.

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

/// A write: statements run on the writer's connection inside the batch's transaction.
struct Job {
    run: Run,
    guard: Guard,
}

/// How a job's statements commit or fail together.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// One statement: SQLite undoes a failed statement by itself.
    Statement,
    /// Several statements: the writer opens the savepoint `job` before and releases it after.
    Savepoint,
    /// Several statements sent as one query text that opens the savepoint `job` itself and
    /// releases it at its end (one trip to the connection's thread instead of three); on
    /// failure the writer rolls back to it.
    OwnSavepoint,
}

/// The handle requests submit their writes through. Cloning shares the one writer; when the
/// last handle is dropped the writer finishes the queued jobs and closes its connection.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Opens the write connection and starts the writer task on the current runtime.
    pub async fn start(options: &SqliteConnectOptions) -> Result<Self> {
        let connection = options.connect().await?;
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(connection, queue));
        Ok(Self { jobs })
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

    /// Runs `job`, one query text of several statements that begins with `savepoint job`
    /// and ends with `release job`, in the next batch, as [`write`](Self::write); if it
    /// fails, the writer rolls back to its savepoint.
    pub async fn write_in_own_savepoint<T, F>(&self, job: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T>> + Send + 'static,
    {
        self.submit(job, Guard::OwnSavepoint).await
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
                let finish: Finish = Box::new(move |commit_error| {
                    let result = match (result, commit_error) {
                        (Ok(value), None) => Ok(value),
                        (Ok(_), Some(error)) => Err(StoreError::Batch(error.to_owned())),
                        (Err(error), _) => Err(error),
                    };
                    // The caller may have gone (its request was cancelled): nothing to
                    // answer then.
                    let _ = answer.send(result);
                });
                (ok, finish)
            })
        });
        self.jobs
            .send(Job { run, guard })
            .await
            .map_err(|_| StoreError::Batch("the SQLite writer has stopped".to_owned()))?;
        // A job dropped unrun (its batch could not begin, or lost its transaction before the
        // job's turn) closes the channel without an answer.
        answered.await.map_err(|_| {
            StoreError::Batch("the batch holding this write was not committed".to_owned())
        })?
    }
}

/// The writer task: batches until every handle is gone.
async fn run(mut connection: SqliteConnection, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        while !batch.is_empty() {
            let ran = commit_batch(&mut connection, &mut batch).await;
            batch.drain(..ran);
        }
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
            (Guard::Statement, true) | (Guard::OwnSavepoint, true) => None,
            (Guard::Statement, false) => break,
            (Guard::Savepoint, true) => Some("release job"),
            (Guard::Savepoint | Guard::OwnSavepoint, false) => Some("rollback to job; release job"),
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

/// What stands in for a job already taken out to run (never run itself).
async fn unrun() -> Ran {
    (false, Box::new(|_| {}))
}
