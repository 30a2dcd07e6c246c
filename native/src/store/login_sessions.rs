//! [`LoginSessionStore`] for [`Server`] (PostgreSQL and MySQL).

use super::error::{from_sqlx, with_conflict};
use super::rows;
use super::Server;
use latch_core::error::StoreError;
use latch_core::store::{LoginSession, LoginSessionStore};
use latch_sql::rows::{decode_login_session, login_session};

impl LoginSessionStore for Server {
    async fn create_login_session(&self, session: &LoginSession) -> Result<(), StoreError> {
        let query = rows::bind(sqlx::query(&self.sql.insert_login_session), login_session(session)?);
        query
            .execute(self.pool()?)
            .await
            .map_err(|e| with_conflict(e, || format!("login session {} exists", session.id)))?;
        Ok(())
    }

    async fn get_login_session(&self, id: &str) -> Result<Option<LoginSession>, StoreError> {
        let row =
            sqlx::query(&self.sql.get_login_session).bind(id).fetch_optional(self.pool()?).await.map_err(from_sqlx)?;
        rows::one(&row, decode_login_session)
    }

    async fn extend_login_session(
        &self,
        id: &str,
        subject: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let query = sqlx::query(&self.sql.extend_login_session).bind(expires_at).bind(id).bind(subject).bind(now);
        Ok(self.run(query).await? == 1)
    }

    async fn end_login_session(&self, id: &str) -> Result<bool, StoreError> {
        let done = self.run(sqlx::query(&self.sql.end_login_session).bind(id)).await?;
        Ok(done > 0)
    }

    async fn end_login_sessions_of_subject(&self, subject: &str) -> Result<u64, StoreError> {
        let done = self.run(sqlx::query(&self.sql.end_login_sessions_of_subject).bind(subject)).await?;
        Ok(done)
    }

    async fn delete_expired_login_sessions(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        let done =
            self.run(sqlx::query(&self.sql.delete_expired_login_sessions).bind(before).bind(i64::from(limit))).await?;
        Ok(done)
    }
}
