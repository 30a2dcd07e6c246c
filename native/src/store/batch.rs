//! Group commit for [`TokenStore::insert_tokens`](latch_core::store::TokenStore) on
//! PostgreSQL and MySQL: the hot write of the client-credentials grant. (SQLite's writer
//! thread groups every write of the store the same way: see `lite::writer`.)
//!
//! One write per issued token is what the protocol needs, but one *commit* per token
//! caps the database near the speed of its commits. So concurrent `insert_tokens` calls
//! are queued to one writer task that takes everything waiting (up to [`MAX_BATCH`] calls), writes it with one multi-row INSERT
//! in one statement, and answers every caller after the commit: durability per call is
//! unchanged, only commits are shared. When a batch fails on a duplicate signature
//! (a caller's own conflict), each call is retried alone so only that caller sees it.

use super::error::with_conflict;
use super::rows;
use latch_core::error::StoreError;
use latch_core::store::TokenRecord;
use latch_sql::Queries;
use sqlx::AnyPool;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// The most calls one commit carries. Each token binds a dozen parameters; 128 calls
/// of up to three records stay far below every database's parameter limit.
pub const MAX_BATCH: usize = 128;

struct Pending {
    records: Vec<TokenRecord>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The queue to the writer task.
#[derive(Debug, Clone)]
pub(super) struct Batcher {
    queue: mpsc::Sender<PendingBox>,
}

/// `Pending` behind a box so the channel's `Debug` bound stays trivial.
pub(super) struct PendingBox(Box<Pending>);

impl std::fmt::Debug for PendingBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingBox")
    }
}

impl Batcher {
    /// Starts the writer task on the current tokio runtime.
    pub(super) fn start(pool: AnyPool, sql: Arc<Queries>) -> Batcher {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(writer(rx, pool, sql));
        Batcher { queue: tx }
    }

    /// Inserts `records` (all or nothing) as part of the next commit.
    pub(super) async fn insert(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        let gone = || StoreError::Unavailable("the token writer has stopped".into());
        self.queue.send(PendingBox(Box::new(Pending { records: records.to_vec(), done }))).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn writer(mut rx: mpsc::Receiver<PendingBox>, pool: AnyPool, sql: Arc<Queries>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![*first.0];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(*p.0),
                Err(_) => break,
            }
        }
        let all: Vec<&TokenRecord> = batch.iter().flat_map(|p| p.records.iter()).collect();
        match insert(&pool, &sql, &all).await {
            Ok(()) => {
                for p in batch {
                    let _ = p.done.send(Ok(()));
                }
            }
            Err(StoreError::Conflict(_)) if batch.len() > 1 => {
                // Someone's signature collides: find whose by writing each call alone.
                for p in batch {
                    let refs: Vec<&TokenRecord> = p.records.iter().collect();
                    let _ = p.done.send(insert(&pool, &sql, &refs).await);
                }
            }
            Err(e) => {
                for p in batch {
                    let _ = p.done.send(Err(e.clone()));
                }
            }
        }
    }
}

async fn insert(pool: &AnyPool, sql: &Queries, records: &[&TokenRecord]) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let text = sql.insert_tokens(records.len());
    let mut query = sqlx::query(&text);
    for r in records {
        query = rows::bind(query, latch_sql::rows::token(r)?);
    }
    query.execute(pool).await.map_err(|e| with_conflict(e, || "a token with that signature exists".into()))?;
    Ok(())
}
