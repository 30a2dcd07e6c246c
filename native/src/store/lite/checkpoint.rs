//! Checkpoints of a database file, off the writer thread.
//!
//! In WAL mode every commit appends pages to the `-wal` file, and a checkpoint copies
//! them back into the database file: it `fsync`s the WAL, writes the pages and `fsync`s
//! the database. SQLite's own automatic checkpoint runs inside the `COMMIT` that takes the
//! WAL past 1 000 pages, on the committing connection, which is the [`super::writer`]
//! thread: every write queued meanwhile waited for two `fsync`s. On a virtual disk whose
//! `fsync` is slow that stalled every write of the process several times a second.
//!
//! So the writer's connection runs with `wal_autocheckpoint = 0`, and this thread, on a
//! connection of its own, runs `PRAGMA wal_checkpoint(PASSIVE)` a short while
//! ([`PAUSE`]) after commits have happened: a passive checkpoint takes neither the write
//! lock nor waits for readers, so the writer keeps committing while it copies and syncs.
//! Nothing is less durable than before: with `synchronous = NORMAL` a commit reaches the
//! disk at the next checkpoint's `fsync` of the WAL, as it did, and that checkpoint now
//! comes within a pause rather than after 1 000 pages.
//!
//! One thing a checkpoint beside the writer cannot do: let the WAL start over. SQLite
//! rewrites the WAL from its start at the beginning of a write transaction only when every
//! page in it has been copied back, and while commits keep coming some arrive during each
//! pass, so under steady load the WAL would grow without end. When a pass leaves
//! [`CATCH_UP_FRAMES`] pages or more in the WAL, the thread asks the writer to catch up
//! ([`Checkpointer::take_catch_up`]): between two batches, the writer runs a passive
//! checkpoint itself, which copies the few pages committed during the pass (nothing is
//! writing then), and its next transaction starts the WAL over. That stalls writes about
//! once per [`CATCH_UP_FRAMES`] pages written instead of once per 1 000, and for the
//! pages of one pass rather than of a whole WAL.

use super::error::from_rusqlite;
use latch_core::error::StoreError;
use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long after a commit the thread checkpoints, so that one pass copies the pages of
/// many commits (a few hundred at 10 000 pages a second of commits; SQLite's own
/// default gathers 1 000); chosen with `AB_FLOWS=1 bench/ab` among shorter and longer pauses.
pub(super) const PAUSE: Duration = Duration::from_millis(30);

/// Pages left in the WAL after a pass from which the writer is asked to catch up: 16 MB
/// of WAL with 4 KB pages.
pub(super) const CATCH_UP_FRAMES: i64 = 4096;

/// The checkpoint thread of one database file. Dropping it stops the thread.
pub(super) struct Checkpointer {
    /// Tells the thread that commits happened; holds at most one wake-up.
    commits: Option<SyncSender<()>>,
    catch_up: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread on `conn`, a connection to the database file the writer commits
    /// to ([`super::writer::Writer::start`] turns the writer's own checkpoints off).
    pub(super) fn start(conn: Connection, pause: Duration, catch_up_frames: i64) -> Result<Checkpointer, StoreError> {
        let (commits, rx) = mpsc::sync_channel(1);
        let catch_up = Arc::new(AtomicBool::new(false));
        let flag = catch_up.clone();
        let thread = std::thread::Builder::new()
            .name("latch-sqlite-checkpoint".into())
            .spawn(move || run(conn, pause, catch_up_frames, &rx, &flag))
            .map_err(|e| StoreError::Unavailable(format!("cannot start the SQLite checkpoint thread: {e}")))?;
        Ok(Checkpointer { commits: Some(commits), catch_up, thread: Some(thread) })
    }

    /// Called by the writer after each commit: wakes the thread if it sleeps. False when
    /// the thread is gone (it stops only when dropped, so that would be a panic): the
    /// writer must then checkpoint by itself again.
    pub(super) fn committed(&self) -> bool {
        match &self.commits {
            // Full: a wake-up is pending already.
            Some(commits) => !matches!(commits.try_send(()), Err(mpsc::TrySendError::Disconnected(()))),
            None => false,
        }
    }

    /// A checkpointer whose thread is gone, as after a panic.
    #[cfg(test)]
    pub(super) fn gone() -> Checkpointer {
        let (commits, _) = mpsc::sync_channel(1);
        Checkpointer { commits: Some(commits), catch_up: Arc::default(), thread: None }
    }

    /// Whether the writer should checkpoint now, between batches (see the module
    /// documentation); asking clears the request.
    pub(super) fn take_catch_up(&self) -> bool {
        self.catch_up.load(Ordering::Relaxed) && self.catch_up.swap(false, Ordering::AcqRel)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Disconnects the channel: the thread leaves its pause and stops.
        self.commits = None;
        if let Some(thread) = self.thread.take() {
            // Err: the thread panicked; there is nothing left to stop.
            let _ = thread.join();
        }
    }
}

/// A passive checkpoint on `conn`: the pages in the WAL since it last started over
/// (copied or not); `None` when another checkpoint was running.
pub(super) fn passive(conn: &Connection) -> Result<Option<i64>, StoreError> {
    // https://sqlite.org/pragma.html#pragma_wal_checkpoint: (busy, log, checkpointed).
    let (busy, log) = conn
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok((r.get::<_, i64>(0)?, r.get(1)?)))
        .map_err(from_rusqlite)?;
    Ok((busy == 0).then_some(log))
}

fn run(conn: Connection, pause: Duration, catch_up_frames: i64, commits: &mpsc::Receiver<()>, catch_up: &AtomicBool) {
    // Each turn: wait for a commit, let others gather for `pause`, checkpoint.
    while commits.recv().is_ok() {
        let deadline = Instant::now() + pause;
        loop {
            match commits.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(()) => continue,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        // The commits until now are this pass's; a later one wakes the next.
        if let Err(TryRecvError::Disconnected) = commits.try_recv() {
            return;
        }
        match passive(&conn) {
            // Past the bound, only the writer can start the WAL over.
            Ok(Some(log)) if log >= catch_up_frames => catch_up.store(true, Ordering::Release),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "SQLite checkpoint failed; the next commit retries it"),
        }
    }
}
