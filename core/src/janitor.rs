//! One janitor pass: what expired goes, in bounded batches (each one bounded delete, so
//! the database is never busy long), at most a limit of each kind per pass. The hosts
//! only schedule it: `latch janitor` natively, the cron trigger on the Worker.

use crate::error::StoreError;
use crate::store::{ConsentStore, LoginSessionStore, ReplayStore, TokenStore};

/// How one pass deletes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Janitor {
    /// Rows one delete statement removes at most (at least 1).
    pub batch_size: u32,
    /// Rows of each kind one pass removes at most.
    pub limit: u64,
    /// Seconds an expired row is kept before it goes (Hydra's `--keep-if-younger`).
    pub keep_if_younger: i64,
    /// `ttl.login_consent_request`: an ended login session and a revoked consent are
    /// kept at least this long after they were made, since their rows are what refuses
    /// the login or consent verifier that made them (it lives as long) a second use.
    pub login_consent_ttl: i64,
    /// What goes (Hydra's `--tokens`, `--requests`).
    pub kinds: Kinds,
}

/// What a pass cleans up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kinds {
    /// Expired access tokens, refresh tokens and codes, and the used JWT ids of
    /// assertions that expired (Hydra's `--tokens`).
    pub tokens: bool,
    /// Expired remembered logins and revoked consents (with Hydra's `--requests`:
    /// Hydra's login and consent requests are rows, Latch's are sealed in their
    /// challenges and need no cleaning; these are what is left of them).
    pub login_sessions: bool,
}

impl Kinds {
    /// Everything.
    pub const ALL: Kinds = Kinds { tokens: true, login_sessions: true };
}

/// What one pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JanitorReport {
    /// Expired access tokens, refresh tokens and codes.
    pub tokens: u64,
    /// Used JWT ids whose assertions expired.
    pub jtis: u64,
    /// Expired remembered logins.
    pub login_sessions: u64,
    /// Revoked consents.
    pub revoked_consents: u64,
}

impl Janitor {
    /// Deletes what expired before `now - keep_if_younger`: tokens (and codes) first,
    /// then remembered logins and revoked consents (not before their verifiers
    /// expired), each in batches until a batch comes back short or the limit is reached.
    pub async fn run<S: TokenStore + LoginSessionStore + ConsentStore + ReplayStore>(
        &self,
        store: &S,
        now: i64,
    ) -> Result<JanitorReport, StoreError> {
        let before = now - self.keep_if_younger.max(0);
        let tokens = if self.kinds.tokens { self.drain(|n| store.delete_expired_tokens(before, n)).await? } else { 0 };
        let jtis = if self.kinds.tokens { self.drain(|n| store.delete_expired_jtis(before, n)).await? } else { 0 };
        let (mut login_sessions, mut revoked_consents) = (0, 0);
        if self.kinds.login_sessions {
            let marks = now - self.keep_if_younger.max(self.login_consent_ttl).max(0);
            login_sessions = self.drain(|n| store.delete_expired_login_sessions(marks, n)).await?;
            revoked_consents = self.drain(|n| store.delete_revoked_consents(marks, n)).await?;
        }
        Ok(JanitorReport { tokens, jtis, login_sessions, revoked_consents })
    }

    /// Runs `delete` (one bounded batch, answering how many rows went) until a batch
    /// is short or [`Janitor::limit`] rows went.
    async fn drain<F: std::future::Future<Output = Result<u64, StoreError>>>(
        &self,
        mut delete: impl FnMut(u32) -> F,
    ) -> Result<u64, StoreError> {
        let batch = self.batch_size.max(1);
        let mut done = 0;
        while done < self.limit {
            // `limit - done` is below `batch` whenever it is the smaller, so it fits a u32.
            let n = delete(u64::from(batch).min(self.limit - done) as u32).await?;
            done += n;
            if n < u64::from(batch) {
                break;
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::store::{LoginSession, TokenKind, TokenRecord};
    use futures_executor::block_on;

    fn record(sig: &str, expires_at: i64) -> TokenRecord {
        TokenRecord {
            signature: sig.into(),
            kind: TokenKind::AccessToken,
            request_id: "g".into(),
            client_id: "c".into(),
            subject: "u".into(),
            scope: vec![],
            audience: vec![],
            issued_at: 0,
            expires_at,
            active: true,
            used_at: None,
            data: serde_json::Value::Null,
        }
    }

    /// Batches of 3, at most 5 of a kind per pass, keeping what expired in the last
    /// minute: the first pass stops at the limit, the second takes the rest, a third
    /// finds nothing; unexpired and recently expired rows stay.
    #[test]
    fn a_pass_deletes_in_batches_up_to_its_limit() {
        let now = 1_700_000_000;
        let store = MemoryStore::new();
        let mut records: Vec<TokenRecord> = (0..7).map(|i| record(&format!("old-{i}"), now - 3600)).collect();
        records.push(record("recent", now - 10));
        records.push(record("fresh", now + 3600));
        block_on(store.insert_tokens(&records)).expect("insert");
        for (id, expires_at) in [("s-old", now - 3600), ("s-fresh", now + 3600)] {
            let s = LoginSession {
                id: id.into(),
                subject: "u".into(),
                authenticated_at: 0,
                expires_at,
                acr: String::new(),
                amr: vec![],
                identity_provider_session_id: String::new(),
            };
            block_on(store.create_login_session(&s)).expect("session");
        }
        let only = |kinds| Janitor { batch_size: 3, limit: 100, keep_if_younger: 60, login_consent_ttl: 0, kinds };
        let report = |tokens, login_sessions| JanitorReport { tokens, jtis: 0, login_sessions, revoked_consents: 0 };
        // One kind at a time, as `--tokens` or `--requests` ask.
        let none = Kinds { tokens: false, login_sessions: false };
        assert_eq!(block_on(only(none).run(&store, now)), Ok(report(0, 0)));
        let sessions = Kinds { tokens: false, login_sessions: true };
        assert_eq!(block_on(only(sessions).run(&store, now)), Ok(report(0, 1)));
        let pass =
            |limit| Janitor { batch_size: 3, limit, keep_if_younger: 60, login_consent_ttl: 0, kinds: Kinds::ALL };
        assert_eq!(block_on(pass(5).run(&store, now)), Ok(report(5, 0)));
        assert_eq!(block_on(pass(100).run(&store, now)), Ok(report(2, 0)));
        assert_eq!(block_on(pass(100).run(&store, now)), Ok(report(0, 0)));
        for kept in ["recent", "fresh"] {
            assert!(block_on(store.get_token(TokenKind::AccessToken, kept)).expect("get").is_some(), "{kept}");
        }
        assert!(block_on(store.get_login_session("s-fresh")).expect("get").is_some());
    }

    /// An ended login session and a revoked consent stay until their verifiers
    /// expired (`login_consent_ttl` after they were made), whatever `keep_if_younger`.
    #[test]
    fn ended_sessions_and_revoked_consents_outlive_their_verifiers() {
        let now = 1_700_000_000;
        let store = MemoryStore::new();
        let session = LoginSession {
            id: "s".into(),
            subject: "u".into(),
            authenticated_at: now - 100,
            expires_at: now + 3600,
            acr: String::new(),
            amr: vec![],
            identity_provider_session_id: String::new(),
        };
        block_on(store.create_login_session(&session)).expect("session");
        assert!(block_on(store.end_login_session("s")).expect("end"));
        assert!(!block_on(store.end_login_session("s")).expect("ended once"));
        let consent = crate::store::ConsentRecord {
            id: "c".into(),
            client_id: "app".into(),
            subject: "u".into(),
            login_session_id: None,
            granted_scope: vec![],
            granted_audience: vec![],
            remember: true,
            remember_until: None,
            handled_at: now - 100,
            data: serde_json::Value::Null,
        };
        block_on(store.complete_consent(&consent, &[])).expect("consent");
        assert!(block_on(store.revoke_consent("c")).expect("revoke"));
        let pass =
            |ttl| Janitor { batch_size: 3, limit: 100, keep_if_younger: 0, login_consent_ttl: ttl, kinds: Kinds::ALL };
        let kept = JanitorReport::default();
        assert_eq!(block_on(pass(1800).run(&store, now)), Ok(kept));
        assert!(block_on(store.create_login_session(&session)).is_err(), "the ended session's id stays taken");
        assert!(block_on(store.complete_consent(&consent, &[])).is_err(), "the revoked consent's id stays taken");
        let gone = JanitorReport { login_sessions: 1, revoked_consents: 1, ..kept };
        assert_eq!(block_on(pass(1800).run(&store, now + 1800)), Ok(gone));
    }
}
