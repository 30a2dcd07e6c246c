//! The token rows [`TokenStore::get_token`](latch_core::store::TokenStore::get_token)
//! has read, kept in memory for as long as no write can have changed any of them.
//!
//! Introspection reads one token row per call, the same few rows again and again (a
//! resource server introspects the token of every request it serves). A row does not
//! change after its insert unless a write revokes, retires or deletes it, and on SQLite
//! every write of the process goes through the one [writer](super::writer). So the cache
//! keeps one *generation*: the writer bumps it after committing any batch that holds a
//! job which may update or delete tokens (every job but the inserts of new tokens), and
//! before it answers that batch's callers. Entries are kept only for the generation they
//! were read in; a bump drops them all. A revocation therefore shows in the very next
//! introspection, as it does without the cache.
//!
//! The order that makes this safe: a reader takes the generation *before* it reads the
//! row, and stores the row under that generation. A read that raced a revoking commit
//! either saw the commit (the row is current) or ran before it, and then the bump that
//! follows the commit has made its generation old before anyone can ask for it.
//!
//! Writes from another process would not bump the generation, so the cache is on only
//! once the store has been [claimed](super::LiteStore::claim) by the one server process
//! of the database file. Deleting expired rows (`latch janitor`, from its own process)
//! needs no bump: an expired token is inactive whether or not its row is still cached,
//! and every caller checks expiry.

use latch_core::store::{TokenKind, TokenRecord};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Rows kept at most; the cache is emptied when it is full (introspection's working
/// set is the tokens in use right now, so a refill is a read per token, as without it).
const CAPACITY: usize = 8192;

/// See the module documentation.
#[derive(Default)]
pub(super) struct TokenCache {
    enabled: AtomicBool,
    generation: AtomicU64,
    rows: Mutex<Rows>,
}

#[derive(Default)]
struct Rows {
    /// The generation every entry was read in.
    generation: u64,
    /// By signature, the primary key of `latch_tokens` (unique across kinds); a hit of
    /// another kind is no hit. Looked up by `&str`, so a hit allocates nothing.
    by_signature: HashMap<String, TokenRecord>,
}

impl TokenCache {
    /// Starts caching (see [`super::LiteStore::claim`]).
    pub(super) fn enable(&self) {
        self.enabled.store(true, Ordering::Release);
    }

    /// Called by the writer after a commit that may have changed stored tokens, and
    /// before it answers the callers of that commit.
    pub(super) fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The cached row, or else `read`'s answer, kept when it found a row.
    pub(super) fn get_or_read(
        &self,
        kind: TokenKind,
        signature: &str,
        read: impl FnOnce() -> Result<Option<TokenRecord>, latch_core::error::StoreError>,
    ) -> Result<Option<TokenRecord>, latch_core::error::StoreError> {
        if !self.enabled.load(Ordering::Acquire) {
            return read();
        }
        // Before the read: see the module documentation.
        let generation = self.generation.load(Ordering::Acquire);
        if let Ok(rows) = self.rows.lock() {
            if rows.generation == generation {
                if let Some(record) = rows.by_signature.get(signature).filter(|r| r.kind == kind) {
                    return Ok(Some(record.clone()));
                }
            }
        }
        let found = read()?;
        if let (Some(record), Ok(mut rows)) = (&found, self.rows.lock()) {
            if rows.generation != generation || rows.by_signature.len() >= CAPACITY {
                if generation < rows.generation {
                    // Read in a generation that has passed since: not worth keeping.
                    return Ok(found);
                }
                rows.by_signature.clear();
                rows.generation = generation;
            }
            rows.by_signature.insert(signature.to_owned(), record.clone());
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(active: bool) -> TokenRecord {
        TokenRecord {
            signature: "s".into(),
            kind: TokenKind::AccessToken,
            request_id: "r".into(),
            client_id: "c".into(),
            subject: "c".into(),
            scope: vec![],
            audience: vec![],
            issued_at: 0,
            expires_at: 1,
            active,
            used_at: None,
            data: serde_json::Value::Null,
        }
    }

    #[test]
    fn reads_once_per_generation_and_again_after_a_change() {
        let cache = TokenCache::default();
        cache.enable();
        let reads = std::cell::Cell::new(0);
        let read = |active| {
            reads.set(reads.get() + 1);
            Ok(Some(record(active)))
        };
        assert!(cache.get_or_read(TokenKind::AccessToken, "s", || read(true)).unwrap().unwrap().active);
        assert!(cache.get_or_read(TokenKind::AccessToken, "s", || read(true)).unwrap().unwrap().active);
        assert_eq!(reads.get(), 1, "the second came from memory");
        cache.invalidate();
        assert!(!cache.get_or_read(TokenKind::AccessToken, "s", || read(false)).unwrap().unwrap().active);
        assert_eq!(reads.get(), 2, "a write since: read again");
        // Another kind with the same signature is another row.
        assert!(cache.get_or_read(TokenKind::RefreshToken, "s", || Ok(None)).unwrap().is_none());
    }

    #[test]
    fn a_row_read_before_a_change_is_not_kept_for_after_it() {
        let cache = TokenCache::default();
        cache.enable();
        // The writer commits and bumps while this read is under way.
        let stale = cache.get_or_read(TokenKind::AccessToken, "s", || {
            cache.invalidate();
            Ok(Some(record(true)))
        });
        assert!(stale.unwrap().unwrap().active, "its caller gets what it read");
        let again = cache.get_or_read(TokenKind::AccessToken, "s", || Ok(Some(record(false))));
        assert!(!again.unwrap().unwrap().active, "the next read does not see the old row");
    }

    #[test]
    fn misses_are_not_kept_and_a_disabled_cache_always_reads() {
        let cache = TokenCache::default();
        assert!(cache.get_or_read(TokenKind::AccessToken, "s", || Ok(None)).unwrap().is_none());
        assert!(cache.get_or_read(TokenKind::AccessToken, "s", || Ok(Some(record(true)))).unwrap().is_some());
        assert!(cache.get_or_read(TokenKind::AccessToken, "s", || Ok(None)).unwrap().is_none(), "disabled");
        cache.enable();
        assert!(cache.get_or_read(TokenKind::AccessToken, "s", || Ok(None)).unwrap().is_none());
        assert!(cache.get_or_read(TokenKind::AccessToken, "s", || Ok(Some(record(true)))).unwrap().is_some());
    }
}
