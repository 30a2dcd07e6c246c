//! [`TrustStore`] and [`ReplayStore`] for [`LiteStore`].

use super::error::{from_rusqlite, with_conflict};
use super::rows;
use super::LiteStore;
use latch_core::error::StoreError;
use latch_core::store::{ReplayStore, TrustGrant, TrustQuery, TrustStore, MAX_TRUSTS_PER_ASSERTION};
use latch_sql::Value;
use rusqlite::types::ToSql;

impl TrustStore for LiteStore {
    async fn create_trust(&self, grant: &TrustGrant) -> Result<(), StoreError> {
        let values = latch_sql::rows::trust(grant)?.map(Value::into_owned);
        self.insert(|q| &q.insert_trust, values, format!("trust grant {} exists", grant.id)).await
    }

    async fn get_trust(&self, id: &str) -> Result<Option<TrustGrant>, StoreError> {
        self.read_one(|q| &q.get_trust, [id])
    }

    async fn list_trusts(&self, q: &TrustQuery) -> Result<Vec<TrustGrant>, StoreError> {
        self.read(|conn, sql| {
            let text = sql.list_trusts(q.after_id.is_some(), q.issuer.is_some());
            let mut stmt = conn.prepare_cached(&text).map_err(from_rusqlite)?;
            let limit = i64::from(q.limit);
            let mut params: Vec<&dyn ToSql> = Vec::with_capacity(3);
            for value in [&q.after_id, &q.issuer].into_iter().flatten() {
                params.push(value);
            }
            params.push(&limit);
            rows::all(&mut stmt, params.as_slice())
        })
    }

    async fn delete_trust(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.change(|q| &q.delete_trust, [id.to_owned()]).await? > 0)
    }

    async fn trusts_for(
        &self,
        issuer: &str,
        subject: &str,
        key_id: Option<&str>,
        now: i64,
    ) -> Result<Vec<TrustGrant>, StoreError> {
        let limit = i64::from(MAX_TRUSTS_PER_ASSERTION);
        match key_id {
            None => self.read_all(|q| &q.trusts_for, rusqlite::params![issuer, subject, now, limit]),
            Some(kid) => self.read_all(|q| &q.trusts_for_key, rusqlite::params![issuer, subject, now, kid, limit]),
        }
    }
}

impl ReplayStore for LiteStore {
    async fn use_jti(&self, jti_hash: &str, expires_at: i64, now: i64) -> Result<bool, StoreError> {
        let key = jti_hash.to_owned();
        // One write job (one transaction): an expired record of the id goes, then the
        // insert records it; a live record makes the insert a unique violation.
        self.write(move |conn, sql| {
            super::run(conn, &sql.forget_expired_jti, rusqlite::params![key, now]).map_err(from_rusqlite)?;
            match super::run(conn, &sql.insert_jti, rusqlite::params![key, expires_at]) {
                Ok(_) => Ok(true),
                Err(e) => match with_conflict(e, String::new) {
                    StoreError::Conflict(_) => Ok(false),
                    other => Err(other),
                },
            }
        })
        .await
    }

    async fn delete_expired_jtis(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.change(|q| &q.delete_expired_jtis, [before, i64::from(limit)]).await
    }
}
