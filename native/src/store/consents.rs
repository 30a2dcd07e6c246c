//! [`ConsentStore`] for [`Server`] (PostgreSQL and MySQL).
//!
//! Completing a consent inserts the consent row and its tokens in one transaction. The
//! primary key of `latch_consents` decides between concurrent completions of one flow
//! (a replayed consent verifier): the first insert wins, the others wait for it on the
//! key and then fail with a unique violation, so they store nothing.
//!
//! Revoking consents first reads (and, outside SQLite, locks) the ids of the consents it
//! revokes, then deactivates their tokens and marks exactly those consents revoked, in
//! one transaction. A revoked consent's row stays until the janitor (once its verifier
//! expired), so that its primary key still refuses a replayed consent verifier. Working from the ids it read, rather than repeating the `WHERE subject
//! …` condition in each statement, keeps the two statements in agreement even when a
//! consent is completed in between (a statement of PostgreSQL's READ COMMITTED sees
//! what committed before it started): such a consent is not revoked, nor its tokens.
//! The revocations run as `tokens` describes (REPEATABLE READ on PostgreSQL and again
//! after a lost lock race, the token update repeated on MySQL), so a concurrent
//! rotation or grace re-issue cannot leave a token of a revoked consent active.

use super::error::{from_sqlx, with_conflict};
use super::rows;
use super::{Dialect, Server};
use latch_core::error::StoreError;
use latch_core::store::{ConsentRecord, ConsentStore, TokenRecord};
use latch_sql::rows::{consent as consent_values, decode_consent, decode_id};
use latch_sql::statements::MAX_IDS_PER_STATEMENT;
use sqlx::{Any, Transaction};

impl Server {
    /// Marks inactive every token of the grants with these ids (at most
    /// [`MAX_IDS_PER_STATEMENT`]), in a revocation's transaction: on MySQL twice, the
    /// second time holding every row of the grants (see `tokens`).
    async fn revoke_grants_in(&self, tx: &mut Transaction<'static, Any>, ids: &[String]) -> Result<(), StoreError> {
        let sql = self.sql.revoke_grants(ids.len());
        let times = if self.dialect == Dialect::MySql { 2 } else { 1 };
        for _ in 0..times {
            let mut revoke = sqlx::query(&sql);
            for id in ids {
                revoke = revoke.bind(id.as_str());
            }
            revoke.execute(&mut **tx).await.map_err(from_sqlx)?;
        }
        Ok(())
    }

    async fn try_revoke_consent(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin_revocation().await?;
        // The consent first: only when it existed are its tokens revoked (a grant id that
        // is no consent's must not revoke anything).
        let deleted = sqlx::query(&self.sql.revoke_consents(1)).bind(id).execute(&mut *tx).await.map_err(from_sqlx)?;
        if deleted.rows_affected() > 0 {
            self.revoke_grants_in(&mut tx, &[id.to_owned()]).await?;
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn try_revoke_consents(&self, subject: &str, client_id: Option<&str>) -> Result<u64, StoreError> {
        let mut tx = self.begin_revocation().await?;
        let lock = match client_id {
            Some(client_id) => sqlx::query(&self.sql.lock_consents_of_subject_client).bind(subject).bind(client_id),
            None => sqlx::query(&self.sql.lock_consents_of_subject).bind(subject),
        };
        let locked = lock.fetch_all(&mut *tx).await.map_err(from_sqlx)?;
        let ids = rows::all(&locked, decode_id)?;
        let mut deleted = 0;
        for chunk in ids.chunks(MAX_IDS_PER_STATEMENT) {
            // The tokens first, while their consents still exist (either order would do:
            // both statements name the consents by id).
            self.revoke_grants_in(&mut tx, chunk).await?;
            let sql = self.sql.revoke_consents(chunk.len());
            let mut delete = sqlx::query(&sql);
            for id in chunk {
                delete = delete.bind(id.as_str());
            }
            deleted += delete.execute(&mut *tx).await.map_err(from_sqlx)?.rows_affected();
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(deleted)
    }
}

impl ConsentStore for Server {
    async fn complete_consent(&self, consent: &ConsentRecord, tokens: &[TokenRecord]) -> Result<(), StoreError> {
        let insert = rows::bind(sqlx::query(&self.sql.insert_consent), consent_values(consent)?);
        let mut tx = self.begin().await?;
        insert.execute(&mut *tx).await.map_err(|e| with_conflict(e, || format!("consent {} exists", consent.id)))?;
        // On any error, dropping `tx` rolls the consent back.
        self.insert_records(&mut *tx, tokens).await?;
        tx.commit().await.map_err(from_sqlx)
    }

    async fn remembered_consents(
        &self,
        subject: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        let rows = sqlx::query(&self.sql.remembered_consents)
            .bind(subject)
            .bind(client_id)
            .bind(now)
            .fetch_all(self.pool()?)
            .await
            .map_err(from_sqlx)?;
        rows::all(&rows, decode_consent)
    }

    async fn list_consents(
        &self,
        subject: &str,
        login_session_id: Option<&str>,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        let query = match login_session_id {
            Some(sid) => sqlx::query(&self.sql.list_consents_of_login_session).bind(subject).bind(sid),
            None => sqlx::query(&self.sql.list_consents).bind(subject),
        };
        let rows = query.fetch_all(self.pool()?).await.map_err(from_sqlx)?;
        rows::all(&rows, decode_consent)
    }

    async fn revoke_consent(&self, id: &str) -> Result<bool, StoreError> {
        self.retrying(|| self.try_revoke_consent(id)).await
    }

    async fn revoke_consents(&self, subject: &str, client_id: Option<&str>) -> Result<u64, StoreError> {
        self.retrying(|| self.try_revoke_consents(subject, client_id)).await
    }

    async fn delete_revoked_consents(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.run(sqlx::query(&self.sql.delete_revoked_consents).bind(before).bind(i64::from(limit))).await
    }
}
