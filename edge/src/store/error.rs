//! D1's errors as [`StoreError`]s: unique violations are conflicts, D1's transient
//! failures (an overloaded or reset database, a lost connection) are "unavailable"
//! (the caller may retry), everything else is a backend failure.

use latch_core::error::StoreError;

/// The text of a `worker` error, including D1's message (which `Display` omits).
pub fn text(e: &worker::Error) -> String {
    match e {
        worker::Error::D1(d) => {
            let message: String = AsRef::<worker::js_sys::Error>::as_ref(d).message().into();
            match d.cause() {
                c if c == "unknown error" || message.contains(&c) => message,
                c => format!("{message} ({c})"),
            }
        }
        other => other.to_string(),
    }
}

/// Maps a `worker` error from a D1 call.
pub fn from_worker(e: worker::Error) -> StoreError {
    classify(&text(&e))
}

/// Maps a D1 error message.
pub fn classify(message: &str) -> StoreError {
    const TRANSIENT: [&str; 7] = [
        "Network connection lost",
        "overloaded",
        "reset because its code was updated",
        "storage caused object to be reset",
        "transient",
        "timed out",
        "Internal error",
    ];
    if message.contains("UNIQUE constraint failed") || message.contains("SQLITE_CONSTRAINT_PRIMARYKEY") {
        StoreError::Conflict(message.to_owned())
    } else if TRANSIENT.iter().any(|t| message.contains(t)) {
        StoreError::Unavailable(message.to_owned())
    } else {
        StoreError::Backend(message.to_owned())
    }
}

/// Maps an error, naming what exists when it is a unique violation.
pub fn with_conflict(e: StoreError, what: impl FnOnce() -> String) -> StoreError {
    match e {
        StoreError::Conflict(_) => StoreError::Conflict(what()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn d1_messages_are_classified() {
        let unique = "D1_ERROR: UNIQUE constraint failed: latch_clients.id: SQLITE_CONSTRAINT";
        assert!(matches!(classify(unique), StoreError::Conflict(_)));
        assert!(matches!(classify("D1_ERROR: Network connection lost."), StoreError::Unavailable(_)));
        assert!(matches!(classify("D1 DB is overloaded. Requests queued for too long."), StoreError::Unavailable(_)));
        assert!(matches!(classify("D1_ERROR: no such table: latch_tokens"), StoreError::Backend(_)));
        assert!(matches!(classify("NOT NULL constraint failed: latch_tokens.kind"), StoreError::Backend(_)));
        let named = with_conflict(classify(unique), || "client x exists".into());
        assert_eq!(named, StoreError::Conflict("client x exists".into()));
    }
}
