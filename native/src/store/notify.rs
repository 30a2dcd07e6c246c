//! Cache invalidation across servers sharing one PostgreSQL database.
//!
//! Each server caches clients and key sets (`latch_core::Caches`). On PostgreSQL, a
//! change to either is announced on the channel [`CHANNEL`] by triggers (migration
//! `0006_notify_client_and_key_changes`), in the transaction that makes it, so the
//! announcement goes out exactly when the change commits. Every server keeps one
//! connection `LISTEN`ing on it and forgets what each notification names. No statement
//! is added to any request: the listener is a connection of its own, idle between
//! notifications.
//!
//! Each listener acknowledges what it applied (`a<payload>` on the same channel), and a
//! write through [`super::SqlStore`] waits, before it answers, until every listening
//! server acknowledged it ([`Announcement`], at most a second): once the admin API has
//! answered, no server serves the old client or key set any more, so "at once" holds
//! for the next request wherever it lands. A change made by hand in SQL is forgotten as
//! soon as each server hears of it (a notification's delivery time, well under a
//! millisecond on one network), there being no one to wait.
//!
//! Notifications sent while the listening connection is down are lost, so while it is
//! down (and before it first connects) the client cache is off
//! (`Caches::set_connected(false)`: emptied, nothing served from it, nothing stored) and
//! key sets fall back to their time-to-live (60 s, as on MySQL); it is emptied again
//! when the connection is back. A listening connection that dies silently (no reset
//! seen) is noticed only when the operating system gives up on it; the caches'
//! time-to-live bounds that case (5 s for clients).
//!
//! MySQL has no such channel: clients are not cached there (`Coherence::Shared`). A
//! SQLite file is served by one process (`SqlStore::claim`): nothing to hear of.

use latch_core::Caches;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// The channel the triggers notify; payloads are `c<client id>`, `k<key set>` or `*`,
/// and the listeners' acknowledgements `a<payload>` (see [`Announcement`]).
pub(crate) const CHANNEL: &str = "latch_cache";
/// The `application_name` of the listening sessions, by which a writer counts them.
pub(crate) const LISTENER_APP: &str = "latch-cache-listener";

/// The first wait before reconnecting a lost listener; doubled up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How long a write waits for its own announcement to come back (see [`Announcement`]).
const ANNOUNCEMENT_WAIT: Duration = Duration::from_secs(1);

/// The listening task; it ends when this is dropped (with the store).
#[derive(Debug)]
pub(crate) struct Listener {
    task: tokio::task::AbortHandle,
    /// Every payload heard, after it was applied to the caches.
    heard: broadcast::Sender<Arc<str>>,
    /// Whether the listening connection is up.
    connected: Arc<AtomicBool>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a write waits on before it answers: every server's acknowledgement that it
/// forgot what the write changed. Each listener, having applied a notification, sends
/// `a<payload>` back on the channel; the writer counts the listening sessions before it
/// writes (they run under [`LISTENER_APP`]) and, once the write committed, waits until it
/// has heard that many acknowledgements. So when the admin API answers, no server still
/// serves the old client or key set: their next request reads the store. Bounded by
/// [`ANNOUNCEMENT_WAIT`] (a server that dies meanwhile does not hold the write up for
/// longer); no wait when this server's own listener is down (it would hear nothing).
pub(crate) struct Announcement(Option<(broadcast::Receiver<Arc<str>>, String, i64)>);

impl Announcement {
    /// Nothing to wait for (not PostgreSQL, or its listener is down).
    pub(crate) fn none() -> Announcement {
        Announcement(None)
    }

    /// Waits until every listener acknowledged (or [`ANNOUNCEMENT_WAIT`] passed).
    pub(crate) async fn heard(self) {
        let Some((mut rx, ack, mut missing)) = self.0 else { return };
        let wait = async {
            while missing > 0 {
                match rx.recv().await {
                    Ok(p) if *p == *ack => missing -= 1,
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        };
        if tokio::time::timeout(ANNOUNCEMENT_WAIT, wait).await.is_err() {
            tracing::warn!(
                change = %ack.get(1..).unwrap_or_default(),
                "not every server acknowledged a client or key change within {ANNOUNCEMENT_WAIT:?}"
            );
        }
    }
}

impl Listener {
    /// Before a write the triggers announce as `payload` (`c<id>`, `k<set>`): counts the
    /// servers listening on `pool`'s database, to wait for their acknowledgements.
    pub(crate) async fn expect(&self, pool: &sqlx::AnyPool, payload: String) -> Announcement {
        if !self.connected.load(Ordering::SeqCst) {
            return Announcement(None);
        }
        let rx = self.heard.subscribe();
        let listeners: Result<i64, _> = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
        )
        .bind(LISTENER_APP)
        .fetch_one(pool)
        .await;
        match listeners {
            Ok(n) => Announcement(Some((rx, format!("a{payload}"), n))),
            Err(_) => Announcement(None),
        }
    }
}

/// Starts listening on the database at `url` for `caches`. The first connection is made
/// before this returns, so a server starts with its client cache on when PostgreSQL
/// answers; when it does not, the task keeps trying and the cache stays off meanwhile.
pub(crate) async fn listen(url: String, caches: Arc<Caches>) -> Listener {
    let first = connect(&url).await;
    let connected = Arc::new(AtomicBool::new(false));
    let (heard, _) = broadcast::channel(1024);
    if first.is_ok() {
        caches.set_connected(true);
        connected.store(true, Ordering::SeqCst);
    }
    let task = tokio::spawn(run(url, caches, first, heard.clone(), connected.clone())).abort_handle();
    Listener { task, heard, connected }
}

async fn connect(url: &str) -> Result<PgListener, sqlx::Error> {
    let options = url.parse::<PgConnectOptions>()?.application_name(LISTENER_APP);
    let pool = PgPoolOptions::new().max_connections(1).connect_lazy_with(options);
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

async fn run(
    url: String,
    caches: Arc<Caches>,
    first: Result<PgListener, sqlx::Error>,
    heard: broadcast::Sender<Arc<str>>,
    connected: Arc<AtomicBool>,
) {
    let mut attempt = Some(first);
    let mut backoff = MIN_BACKOFF;
    loop {
        let attempted = match attempt.take() {
            Some(first) => first,
            None => connect(&url).await,
        };
        match attempted {
            Ok(mut listener) => {
                // Whatever changed while no one listened is forgotten with the rest.
                caches.set_connected(true);
                connected.store(true, Ordering::SeqCst);
                backoff = MIN_BACKOFF;
                let why = loop {
                    match listener.try_recv().await {
                        Ok(Some(notification)) => {
                            let payload = notification.payload();
                            if payload.starts_with('a') {
                                let _ = heard.send(payload.into());
                                continue;
                            }
                            apply(&caches, payload);
                            // Forgotten: say so to the server that made the change.
                            let ack = sqlx::query("SELECT pg_notify($1, $2)")
                                .bind(CHANNEL)
                                .bind(format!("a{payload}"))
                                .execute(&mut listener)
                                .await;
                            if let Err(e) = ack {
                                break e.to_string();
                            }
                        }
                        Ok(None) => break "the connection was lost".to_owned(),
                        Err(e) => break e.to_string(),
                    }
                };
                connected.store(false, Ordering::SeqCst);
                caches.set_connected(false);
                tracing::warn!(
                    error = %why,
                    "stopped hearing of client and key changes made by other servers: clients are not cached until the listener reconnects"
                );
            }
            Err(e) => {
                caches.set_connected(false);
                tracing::warn!(
                    error = %e,
                    "cannot listen for client and key changes made by other servers: clients are not cached until it can"
                );
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Forgets what one notification names.
fn apply(caches: &Caches, payload: &str) {
    match payload.split_at_checked(1) {
        Some(("a", _)) => {}
        Some(("c", id)) => caches.forget_client(id),
        Some(("k", set)) => caches.forget_key_set(set),
        _ => caches.clear(),
    }
}
