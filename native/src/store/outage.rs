//! Knowing when a database server is down, so requests are answered 503 at once rather
//! than each waiting for a connection that cannot be had (PostgreSQL and MySQL).
//!
//! A request that finds no connection waits at most the pool's acquire timeout (one
//! second) and is answered 503. The server then reports it ([`Outage::suspect`]), and one
//! probe checks the database through the pool: if the probe fails too, the database is
//! marked down and every later call fails at once with [`StoreError::Unavailable`] (one
//! atomic load on the calling path) while the probe retries a few times a second. The
//! first probe that gets an answer marks the database up again: recovery needs no
//! restart. A 503 the database did not cause (a deadlock, an overload that clears) finds
//! the probe answered, and nothing changes.
//!
//! A failed call never reports success: nothing here answers for the database, it only
//! refuses calls earlier.

use latch_core::error::StoreError;
use sqlx::AnyPool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a probe retries while the database is down.
pub(super) const PROBE_INTERVAL: Duration = Duration::from_millis(250);
/// The longest one probe waits for an answer (a connection that hangs, not refused).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether the database is known to be down, and whether a probe is running.
#[derive(Debug, Default)]
pub(super) struct Outage {
    down: AtomicBool,
    probing: AtomicBool,
}

impl Outage {
    /// `Err` at once while the database is known to be down.
    pub(super) fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable(
                "the database is unreachable (checked again a few times a second)".into(),
            ));
        }
        Ok(())
    }

    /// A call failed as unavailable: probes the database (once at a time), marking it
    /// down while it does not answer and up again once it does.
    pub(super) fn suspect(self: &Arc<Self>, pool: &AnyPool, ping: &str) {
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.probing.store(false, Ordering::Release);
            return;
        };
        let (outage, pool, ping) = (self.clone(), pool.clone(), ping.to_owned());
        runtime.spawn(async move {
            loop {
                let answered = tokio::time::timeout(PROBE_TIMEOUT, sqlx::query(&ping).execute(&pool)).await;
                if matches!(answered, Ok(Ok(_))) {
                    if outage.down.swap(false, Ordering::AcqRel) {
                        tracing::info!("the database answers again");
                    }
                    break;
                }
                if pool.is_closed() {
                    break;
                }
                if !outage.down.swap(true, Ordering::AcqRel) {
                    let why = match answered {
                        Ok(Err(e)) => e.to_string(),
                        _ => format!("no answer within {} s", PROBE_TIMEOUT.as_secs()),
                    };
                    tracing::warn!(error = %why, "the database is unreachable: answering 503 until it answers again");
                }
                tokio::time::sleep(PROBE_INTERVAL).await;
            }
            outage.probing.store(false, Ordering::Release);
        });
    }
}
