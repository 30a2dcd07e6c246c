//! [`LoginSessionStore`] for [`LiteStore`].

use super::LiteStore;
use latch_core::error::StoreError;
use latch_core::store::{LoginSession, LoginSessionStore};
use latch_sql::Value;

impl LoginSessionStore for LiteStore {
    async fn create_login_session(&self, session: &LoginSession) -> Result<(), StoreError> {
        let values = latch_sql::rows::login_session(session)?.map(Value::into_owned);
        self.insert(|q| &q.insert_login_session, values, format!("login session {} exists", session.id)).await
    }

    async fn get_login_session(&self, id: &str) -> Result<Option<LoginSession>, StoreError> {
        self.read_one(|q| &q.get_login_session, [id])
    }

    async fn extend_login_session(
        &self,
        id: &str,
        subject: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let params = (expires_at, id.to_owned(), subject.to_owned(), now);
        Ok(self.change(|q| &q.extend_login_session, params).await? == 1)
    }

    async fn end_login_session(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.change(|q| &q.end_login_session, [id.to_owned()]).await? > 0)
    }

    async fn end_login_sessions_of_subject(&self, subject: &str) -> Result<u64, StoreError> {
        self.change(|q| &q.end_login_sessions_of_subject, [subject.to_owned()]).await
    }

    async fn delete_expired_login_sessions(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.change(|q| &q.delete_expired_login_sessions, [before, i64::from(limit)]).await
    }
}
