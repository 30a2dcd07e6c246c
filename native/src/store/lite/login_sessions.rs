//! [`LoginSessionStore`] for [`LiteStore`].

use super::LiteStore;
use crate::store::rows::to_json;
use latch_core::error::StoreError;
use latch_core::store::{LoginSession, LoginSessionStore};

impl LoginSessionStore for LiteStore {
    async fn create_login_session(&self, session: &LoginSession) -> Result<(), StoreError> {
        // In `LOGIN_SESSION_COLUMNS` order, as `rows::bind_login_session` binds them.
        let amr = to_json("amr", &session.amr)?;
        let s = session.clone();
        let exists = format!("login session {} exists", s.id);
        self.insert(
            |q| &q.insert_login_session,
            (s.id, s.subject, s.authenticated_at, s.expires_at, s.acr, amr),
            exists,
        )
        .await
    }

    async fn get_login_session(&self, id: &str) -> Result<Option<LoginSession>, StoreError> {
        self.read_one(|q| &q.get_login_session, [id])
    }

    async fn delete_login_session(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.change(|q| &q.delete_login_session, [id.to_owned()]).await? > 0)
    }

    async fn delete_login_sessions_of_subject(&self, subject: &str) -> Result<u64, StoreError> {
        self.change(|q| &q.delete_login_sessions_of_subject, [subject.to_owned()]).await
    }

    async fn delete_expired_login_sessions(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.change(|q| &q.delete_expired_login_sessions, [before, i64::from(limit)]).await
    }
}
