//! Mapping sqlx errors onto [`StoreError`]: unique violations are conflicts, lost
//! connections and transient contention are "unavailable" (the caller may retry),
//! everything else is a backend failure.

use latch_core::error::StoreError;
use sqlx::error::DatabaseError;

/// What the message of a [`StoreError::Unavailable`] starts with when a transaction lost
/// a lock race (deadlock, serialization failure, lock wait timeout): see [`lost_lock_race`].
const LOCK_RACE: &str = "lost a lock race";

/// Maps any sqlx error.
pub(crate) fn from_sqlx(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(db.message().to_owned()),
        sqlx::Error::Database(db) if is_lock_race(db.as_ref()) => StoreError::Unavailable(format!("{LOCK_RACE}: {e}")),
        sqlx::Error::Database(db) if is_transient(db.as_ref()) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Backend(e.to_string()),
    }
}

/// Maps an error, naming what exists when it is a unique violation.
pub(crate) fn with_conflict(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match from_sqlx(e) {
        StoreError::Conflict(_) => StoreError::Conflict(what()),
        other => other,
    }
}

/// Maps a migration error.
pub(crate) fn from_migrate(e: sqlx::migrate::MigrateError) -> StoreError {
    match e {
        sqlx::migrate::MigrateError::Execute(e) => from_sqlx(e),
        other => StoreError::Backend(format!("migration failed: {other}")),
    }
}

/// Whether a transaction failed only because a concurrent one won a lock race: rolled
/// back, it changed nothing, and running it again is safe (see `SqlStore::retrying`).
pub(crate) fn lost_lock_race(e: &StoreError) -> bool {
    matches!(e, StoreError::Unavailable(m) if m.starts_with(LOCK_RACE))
}

/// Deadlocks, serialization failures and lock wait timeouts.
fn is_lock_race(db: &(dyn DatabaseError + 'static)) -> bool {
    if let Some(e) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // 1205 lock wait timeout, 1213 deadlock.
        return matches!(e.number(), 1205 | 1213);
    }
    if let Some(e) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        // 40001 serialization failure, 40P01 deadlock.
        return matches!(e.code(), "40001" | "40P01");
    }
    false
}

/// Database errors worth a retry: the server is going away or out of connections, or
/// the statement lost a lock race (busy, lock timeout, deadlock, serialization).
fn is_transient(db: &(dyn DatabaseError + 'static)) -> bool {
    if let Some(e) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        // 1040 too many connections, 1053 server shutdown, 1205 lock wait timeout,
        // 1213 deadlock, 1927 connection killed (MariaDB).
        return matches!(e.number(), 1040 | 1053 | 1205 | 1213 | 1927);
    }
    if let Some(e) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        let code = e.code();
        // Class 08 connection exception, class 53 insufficient resources, 57P0x
        // shutdown / cannot connect now, 40001 serialization failure, 40P01 deadlock.
        return code.starts_with("08")
            || code.starts_with("53")
            || code.starts_with("57P0")
            || code == "40001"
            || code == "40P01";
    }
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        // Extended result code; the primary code is its low byte: 5 BUSY, 6 LOCKED.
        let primary = db.code().and_then(|c| c.parse::<i32>().ok()).map(|c| c & 0xff);
        return matches!(primary, Some(5 | 6));
    }
    false
}
