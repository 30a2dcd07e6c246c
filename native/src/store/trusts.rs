//! [`TrustStore`] and [`ReplayStore`] for [`Server`] (PostgreSQL and MySQL).

use super::error::{from_sqlx, with_conflict};
use super::rows;
use super::Server;
use latch_core::error::StoreError;
use latch_core::store::{ReplayStore, TrustGrant, TrustQuery, TrustStore, MAX_TRUSTS_PER_ASSERTION};
use latch_sql::rows::{decode_trust, trust};

impl TrustStore for Server {
    async fn create_trust(&self, grant: &TrustGrant) -> Result<(), StoreError> {
        let query = rows::bind(sqlx::query(&self.sql.insert_trust), trust(grant)?);
        query
            .execute(self.pool()?)
            .await
            .map_err(|e| with_conflict(e, || format!("trust grant {} exists", grant.id)))?;
        Ok(())
    }

    async fn get_trust(&self, id: &str) -> Result<Option<TrustGrant>, StoreError> {
        let row = sqlx::query(&self.sql.get_trust).bind(id).fetch_optional(self.pool()?).await.map_err(from_sqlx)?;
        rows::one(&row, decode_trust)
    }

    async fn list_trusts(&self, q: &TrustQuery) -> Result<Vec<TrustGrant>, StoreError> {
        let sql = self.sql.list_trusts(q.after_id.is_some(), q.issuer.is_some());
        let mut query = sqlx::query(&sql);
        for value in [&q.after_id, &q.issuer].into_iter().flatten() {
            query = query.bind(value.as_str());
        }
        let rows = query.bind(i64::from(q.limit)).fetch_all(self.pool()?).await.map_err(from_sqlx)?;
        rows::all(&rows, decode_trust)
    }

    async fn delete_trust(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.run(sqlx::query(&self.sql.delete_trust).bind(id)).await? > 0)
    }

    async fn trusts_for(
        &self,
        issuer: &str,
        subject: &str,
        key_id: Option<&str>,
        now: i64,
    ) -> Result<Vec<TrustGrant>, StoreError> {
        let text = if key_id.is_some() { &self.sql.trusts_for_key } else { &self.sql.trusts_for };
        let mut query = sqlx::query(text).bind(issuer).bind(subject).bind(now);
        if let Some(kid) = key_id {
            query = query.bind(kid);
        }
        let rows = query.bind(i64::from(MAX_TRUSTS_PER_ASSERTION)).fetch_all(self.pool()?).await.map_err(from_sqlx)?;
        rows::all(&rows, decode_trust)
    }
}

impl ReplayStore for Server {
    async fn use_jti(&self, jti_hash: &str, expires_at: i64, now: i64) -> Result<bool, StoreError> {
        // An expired record of the id goes; then the insert records it, and a live record
        // makes it a unique violation. Each statement is atomic and the unique key decides
        // between concurrent calls, so no transaction is needed.
        self.run(sqlx::query(&self.sql.forget_expired_jti).bind(jti_hash).bind(now)).await?;
        let insert = sqlx::query(&self.sql.insert_jti).bind(jti_hash).bind(expires_at);
        match insert.execute(self.pool()?).await {
            Ok(_) => Ok(true),
            Err(e) => match with_conflict(e, String::new) {
                StoreError::Conflict(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn delete_expired_jtis(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.run(sqlx::query(&self.sql.delete_expired_jtis).bind(before).bind(i64::from(limit))).await
    }
}
