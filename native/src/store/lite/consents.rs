//! [`ConsentStore`] for [`LiteStore`].
//!
//! Completing a consent is one writer job: the consent row, then its tokens. The primary
//! key of `latch_consents` decides between completions of one flow (a replayed consent
//! verifier): the first job inserts it, every later one fails on the key with a conflict
//! and its savepoint takes back anything it wrote.
//!
//! Revoking consents is one writer job too: it reads the ids of the consents it revokes,
//! deactivates their tokens and marks exactly those consents revoked (as the sqlx path
//! does; on the writer no other write can come in between anyway). A revoked consent's
//! row stays until the janitor, so that its key still refuses a replayed verifier.

use super::error::from_rusqlite;
use super::rows::{self, consent_row, token_rows};
use super::tokens::insert_tokens;
use super::{run, LiteStore};
use latch_core::error::StoreError;
use latch_core::store::{ConsentRecord, ConsentStore, TokenRecord};
use latch_sql::statements::MAX_IDS_PER_STATEMENT;
use rusqlite::params_from_iter;

impl ConsentStore for LiteStore {
    async fn complete_consent(&self, consent: &ConsentRecord, tokens: &[TokenRecord]) -> Result<(), StoreError> {
        let exists = format!("consent {} exists", consent.id);
        let (consent, tokens) = (consent_row(consent)?, token_rows(tokens)?);
        self.write(move |conn, sql| {
            let mut stmt = conn.prepare_cached(&sql.insert_consent).map_err(from_rusqlite)?;
            rows::execute(&mut stmt, &consent).map_err(|e| super::error::with_conflict(e, || exists))?;
            insert_tokens(conn, sql, &tokens)
        })
        .await
    }

    async fn remembered_consents(
        &self,
        subject: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        self.read_all(|q| &q.remembered_consents, (subject, client_id, now))
    }

    async fn list_consents(
        &self,
        subject: &str,
        login_session_id: Option<&str>,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        match login_session_id {
            Some(sid) => self.read_all(|q| &q.list_consents_of_login_session, [subject, sid]),
            None => self.read_all(|q| &q.list_consents, [subject]),
        }
    }

    async fn revoke_consent(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |conn, sql| {
            // As the sqlx path: the tokens only when the consent existed.
            let deleted = run(conn, &sql.revoke_consents(1), [&id]).map_err(from_rusqlite)?;
            if deleted > 0 {
                run(conn, &sql.revoke_grants(1), [&id]).map_err(from_rusqlite)?;
            }
            Ok(deleted > 0)
        })
        .await
    }

    async fn revoke_consents(&self, subject: &str, client_id: Option<&str>) -> Result<u64, StoreError> {
        let (subject, client_id) = (subject.to_owned(), client_id.map(str::to_owned));
        self.write(move |conn, sql| {
            let ids: Vec<String> = match &client_id {
                Some(client_id) => {
                    let mut stmt = conn.prepare_cached(&sql.lock_consents_of_subject_client).map_err(from_rusqlite)?;
                    rows::all(&mut stmt, [&subject, client_id])?
                }
                None => {
                    let mut stmt = conn.prepare_cached(&sql.lock_consents_of_subject).map_err(from_rusqlite)?;
                    rows::all(&mut stmt, [&subject])?
                }
            };
            let mut deleted = 0;
            for chunk in ids.chunks(MAX_IDS_PER_STATEMENT) {
                // The tokens first, while their consents still exist (either order would
                // do: both statements name the consents by id).
                let revoke = sql.revoke_grants(chunk.len());
                conn.prepare_cached(&revoke)
                    .and_then(|mut s| s.execute(params_from_iter(chunk)))
                    .map_err(from_rusqlite)?;
                let delete = sql.revoke_consents(chunk.len());
                deleted += conn
                    .prepare_cached(&delete)
                    .and_then(|mut s| s.execute(params_from_iter(chunk)))
                    .map_err(from_rusqlite)? as u64;
            }
            Ok(deleted)
        })
        .await
    }

    async fn delete_revoked_consents(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.change(|q| &q.delete_revoked_consents, [before, i64::from(limit)]).await
    }
}
