//! The one writer of a [`super::LiteStore`]: a dedicated thread owning one connection,
//! taking every write of the store as a job and committing them in groups.
//!
//! SQLite has one writer at a time, so a second writing connection in the process would
//! only wait for the first. Funnelling writes to one thread that never awaits anything
//! replaces both the process-wide async lock the sqlx path held across 4–5 awaited round
//! trips to sqlx's worker thread and that path's group commit of token inserts
//! (`store/batch.rs`): while one transaction runs, the next callers queue their jobs, and
//! the thread then takes everything queued (up to [`MAX_BATCH`] jobs) into one
//! `BEGIN IMMEDIATE` … `COMMIT`.
//!
//! Each job runs inside its own `SAVEPOINT`, so a job that fails (a duplicate key is a
//! [`StoreError::Conflict`]) rolls back only its own statements and the batch goes on; a
//! job of one statement needs none ([`Writer::insert_one_statement`]).
//! Nobody is answered before the `COMMIT` has succeeded: durability per call is what it
//! was with one transaction per call, only commits are shared. If the batch cannot begin
//! or commit (or a savepoint cannot be undone), the transaction is rolled back and every
//! job of the batch gets the error. Jobs run in the order they were queued, one after
//! the other on one connection, so a compare-and-set job sees every job before it.
//!
//! A caller that stops waiting (a cancelled request) does not withdraw its job: it runs
//! and commits like any other, as a write already sent to a database server would.

use super::checkpoint::{self, Checkpointer};
use super::error::{from_rusqlite, unavailable};
use super::token_cache::TokenCache;
use latch_core::error::StoreError;
use latch_sql::Queries;
use rusqlite::Connection;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most jobs one transaction carries: enough to share a commit among every
/// request in flight, few enough to keep a transaction (and readers of a shared-cache
/// memory database, which wait for it) short.
pub(super) const MAX_BATCH: usize = 128;

/// How many jobs may wait for the writer before callers wait to queue theirs.
const QUEUE: usize = 4 * MAX_BATCH;

/// A write: runs on the writer's connection inside the batch's transaction and its own
/// savepoint, with the store's query texts.
pub(super) trait Work<T>: FnOnce(&Connection, &Queries) -> Result<T, StoreError> + Send + 'static {}
impl<T, F: FnOnce(&Connection, &Queries) -> Result<T, StoreError> + Send + 'static> Work<T> for F {}

/// A queued job with its result type erased.
trait Job: Send {
    /// Runs the work; true when it succeeded (its savepoint is then kept).
    fn run(&mut self, conn: &Connection, sql: &Queries) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn answer(self: Box<Self>, committed: Result<(), StoreError>);
    /// Whether the job may update or delete stored tokens (see [`TokenCache`]).
    fn may_change_tokens(&self) -> bool;
    /// Whether the job needs a savepoint to fail alone: false only for one statement,
    /// which SQLite undoes by itself when it fails.
    fn needs_savepoint(&self) -> bool;
}

/// A caller's work, its outcome once run, and where the answer goes.
struct Call<T, F> {
    work: Option<F>,
    changes_tokens: bool,
    one_statement: bool,
    outcome: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T: Send, F: Work<T>> Job for Call<T, F> {
    fn run(&mut self, conn: &Connection, sql: &Queries) -> bool {
        let outcome = match self.work.take() {
            Some(work) => work(conn, sql),
            None => Err(StoreError::Backend("a write job ran twice".into())),
        };
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn answer(self: Box<Self>, committed: Result<(), StoreError>) {
        let result = match committed {
            Ok(()) => self.outcome.unwrap_or_else(|| Err(StoreError::Backend("a write job never ran".into()))),
            Err(e) => Err(e),
        };
        // An error here means the caller stopped waiting: there is no one to tell.
        let _ = self.reply.send(result);
    }

    fn may_change_tokens(&self) -> bool {
        self.changes_tokens
    }

    fn needs_savepoint(&self) -> bool {
        !self.one_statement
    }
}

enum Message {
    Job(Box<dyn Job>),
    /// Commit what came before, close the connection and stop; then say so.
    Close(oneshot::Sender<()>),
}

/// The queue to the writer thread. Dropping it stops the thread.
pub(super) struct Writer {
    queue: mpsc::Sender<Message>,
}

impl Writer {
    /// Starts the writer thread on `conn`; it invalidates `tokens` after every commit
    /// that may have changed stored tokens. With a `checkpointer` (a database file), the
    /// writer's own automatic checkpoints are off, and it tells the checkpointer of every
    /// commit and catches up when it asks (see [`checkpoint`]).
    pub(super) fn start(
        conn: Connection,
        sql: Queries,
        tokens: Arc<TokenCache>,
        checkpointer: Option<Checkpointer>,
    ) -> Result<Writer, StoreError> {
        if checkpointer.is_some() {
            conn.execute_batch("PRAGMA wal_autocheckpoint = 0").map_err(from_rusqlite)?;
        }
        let (queue, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("latch-sqlite-writer".into())
            .spawn(move || run(conn, sql, &tokens, checkpointer, rx))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite writer thread: {e}")))?;
        Ok(Writer { queue })
    }

    /// Runs `work` in the next transaction and returns its result once committed.
    pub(super) async fn write<T: Send + 'static>(&self, work: impl Work<T>) -> Result<T, StoreError> {
        self.queue_job(work, true, false).await
    }

    /// [`Writer::write`] for work that only inserts new rows, so it cannot change a
    /// token already stored and leaves the [`TokenCache`] as it is.
    pub(super) async fn insert<T: Send + 'static>(&self, work: impl Work<T>) -> Result<T, StoreError> {
        self.queue_job(work, false, false).await
    }

    /// [`Writer::insert`] for work that runs exactly one statement (one `INSERT` of one
    /// row): SQLite undoes a failed statement by itself, so the job runs without a
    /// savepoint, sparing two statements and the sub-journal copy of every page it
    /// touches.
    pub(super) async fn insert_one_statement<T: Send + 'static>(&self, work: impl Work<T>) -> Result<T, StoreError> {
        self.queue_job(work, false, true).await
    }

    /// [`Writer::write`] for work that runs exactly one statement and changes only rows
    /// the [`TokenCache`] never holds (a device request's last poll), so it leaves the
    /// cache as it is.
    pub(super) async fn update_uncached<T: Send + 'static>(&self, work: impl Work<T>) -> Result<T, StoreError> {
        self.queue_job(work, false, true).await
    }

    async fn queue_job<T: Send + 'static>(
        &self,
        work: impl Work<T>,
        changes_tokens: bool,
        one_statement: bool,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Call { work: Some(work), changes_tokens, one_statement, outcome: None, reply });
        self.queue.send(Message::Job(job)).await.map_err(|_| unavailable("writer has stopped"))?;
        // The reply is dropped unanswered only when the thread is gone (closed or died).
        answer.await.map_err(|_| unavailable("writer has stopped"))?
    }

    /// Lets the jobs queued so far commit, then stops the thread and closes its
    /// connection. Later writes are [`StoreError::Unavailable`].
    pub(super) async fn close(&self) {
        let (done, closed) = oneshot::channel();
        if self.queue.send(Message::Close(done)).await.is_ok() {
            // Err: the thread had stopped already, which is what was asked.
            let _ = closed.await;
        }
    }
}

/// The thread: batch after batch until told to close or every handle is gone.
fn run(
    conn: Connection,
    sql: Queries,
    tokens: &TokenCache,
    mut checkpointer: Option<Checkpointer>,
    mut rx: mpsc::Receiver<Message>,
) {
    // `blocking_recv` is for threads outside the runtime, as this one is.
    while let Some(message) = rx.blocking_recv() {
        let mut batch = Vec::new();
        let mut close = None;
        match message {
            Message::Job(job) => batch.push(job),
            Message::Close(done) => close = Some(done),
        }
        while close.is_none() && batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Message::Job(job)) => batch.push(job),
                Ok(Message::Close(done)) => close = Some(done),
                Err(_) => break,
            }
        }
        if !batch.is_empty() {
            commit(&conn, &sql, tokens, batch);
            if let Some(thread) = &checkpointer {
                if !thread.committed() {
                    tracing::error!("the SQLite checkpoint thread is gone; the writer checkpoints by itself again");
                    checkpointer = None;
                    if let Err(e) = conn.execute_batch("PRAGMA wal_autocheckpoint = 1000") {
                        tracing::error!(error = %e, "cannot turn SQLite's automatic checkpoint back on");
                    }
                } else if thread.take_catch_up() {
                    // Between batches: nothing is writing, so this copies every page
                    // left and the next transaction starts the WAL over.
                    if let Err(e) = checkpoint::passive(&conn) {
                        tracing::warn!(error = %e, "SQLite checkpoint failed; the checkpoint thread asks again");
                    }
                }
            }
        }
        if let Some(done) = close {
            // Jobs queued after the close are dropped with `rx`: their callers see the
            // writer gone. The checkpoint thread stops first, so that the writer's is
            // the last connection to close, which checkpoints what is left.
            drop(checkpointer);
            drop(conn);
            let _ = done.send(());
            return;
        }
    }
}

/// Runs one batch in one transaction and answers every job.
fn commit(conn: &Connection, sql: &Queries, tokens: &TokenCache, mut batch: Vec<Box<dyn Job>>) {
    let committed = transaction(conn, sql, &mut batch);
    if committed.is_err() {
        // Leave the connection ready for the next batch. Err: no transaction was open
        // (BEGIN failed) or SQLite rolled it back itself; nothing else to undo.
        let _ = execute(conn, "ROLLBACK");
    } else if batch.iter().any(|job| job.may_change_tokens()) {
        // After the commit, before any caller hears of it (see `TokenCache`).
        tokens.invalidate();
    }
    for job in batch {
        job.answer(committed.clone());
    }
}

fn transaction(conn: &Connection, sql: &Queries, batch: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    // IMMEDIATE takes the write lock now (waiting up to busy_timeout for another
    // process), so no statement of the batch fails half-way on it.
    execute(conn, "BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        if !job.needs_savepoint() {
            // Its one statement either happened or was undone by SQLite.
            job.run(conn, sql);
            continue;
        }
        execute(conn, "SAVEPOINT job")?;
        if job.run(conn, sql) {
            execute(conn, "RELEASE job")?;
        } else {
            execute(conn, "ROLLBACK TO job")?;
            execute(conn, "RELEASE job")?;
        }
    }
    execute(conn, "COMMIT")
}

/// One of the writer's own statements, prepared once per connection.
fn execute(conn: &Connection, statement: &str) -> Result<(), StoreError> {
    conn.prepare_cached(statement).and_then(|mut s| s.execute([])).map(drop).map_err(from_rusqlite)
}
