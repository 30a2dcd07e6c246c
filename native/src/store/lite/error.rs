//! Mapping rusqlite errors onto [`StoreError`], as [`super::super::error`] maps sqlx's
//! for the same SQLite: unique and primary-key violations are conflicts, busy and locked
//! are "unavailable" (the caller may retry), everything else is a backend failure.

use latch_core::error::StoreError;
use rusqlite::ffi;

/// Maps any rusqlite error.
pub(super) fn from_rusqlite(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(failure, message) => match failure.code {
            // The extended codes sqlx's `is_unique_violation` checks for SQLite.
            rusqlite::ErrorCode::ConstraintViolation
                if matches!(
                    failure.extended_code,
                    ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                ) =>
            {
                StoreError::Conflict(message.clone().unwrap_or_else(|| e.to_string()))
            }
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Backend(e.to_string()),
        },
        _ => StoreError::Backend(e.to_string()),
    }
}

/// Maps an error, naming what exists when it is a unique violation.
pub(super) fn with_conflict(e: rusqlite::Error, what: impl FnOnce() -> String) -> StoreError {
    match from_rusqlite(e) {
        StoreError::Conflict(_) => StoreError::Conflict(what()),
        other => other,
    }
}

/// The store cannot take the call: its writer thread has stopped (closed, or died) or a
/// lock of its own was poisoned by a panic.
pub(super) fn unavailable(why: &str) -> StoreError {
    StoreError::Unavailable(format!("the SQLite store {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn unique_violations_are_conflicts_and_the_rest_backend_errors() {
        let conn = Connection::open_in_memory().expect("open");
        conn.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY, u TEXT UNIQUE, n INTEGER NOT NULL)").expect("create");
        conn.execute("INSERT INTO t VALUES ('a', 'x', 1)", []).expect("insert");
        let pk = conn.execute("INSERT INTO t VALUES ('a', 'y', 1)", []).expect_err("duplicate key");
        assert!(matches!(from_rusqlite(pk), StoreError::Conflict(_)));
        let unique = conn.execute("INSERT INTO t VALUES ('b', 'x', 1)", []).expect_err("duplicate u");
        assert_eq!(with_conflict(unique, || "b exists".into()), StoreError::Conflict("b exists".into()));
        let not_null = conn.execute("INSERT INTO t VALUES ('c', 'z', NULL)", []).expect_err("null");
        assert!(matches!(from_rusqlite(not_null), StoreError::Backend(_)), "other constraints are not conflicts");
        let missing = conn.prepare("SELECT * FROM nowhere").expect_err("no such table");
        assert!(matches!(from_rusqlite(missing), StoreError::Backend(_)));
    }
}
