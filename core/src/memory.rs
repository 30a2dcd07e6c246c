//! An in-memory store: the reference implementation of [`crate::store`], used by the
//! core's own tests and by `--dsn memory`. It passes the same conformance suite as
//! every persistent backend.

use crate::client::Client;
use crate::error::StoreError;
use crate::store::*;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// A store that keeps everything in process memory behind one lock.
///
/// Every operation takes the lock once, so each compare-and-set is atomic.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    clients: BTreeMap<String, Client>,
    tokens: BTreeMap<String, TokenRecord>,
    keys: BTreeMap<(String, String), StoredKey>,
    login_sessions: BTreeMap<String, LoginSession>,
    consents: BTreeMap<String, ConsentRecord>,
    /// Revoked consents, kept until the janitor (see [`ConsentStore::complete_consent`]).
    revoked_consents: BTreeMap<String, ConsentRecord>,
    trusts: BTreeMap<String, TrustGrant>,
    jtis: BTreeMap<String, i64>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>, StoreError> {
        self.inner.lock().map_err(|_| StoreError::Backend("memory store lock poisoned".into()))
    }
}

impl ClientStore for MemoryStore {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        if g.clients.contains_key(&client.client_id) {
            return Err(StoreError::Conflict(format!("client {} exists", client.client_id)));
        }
        g.clients.insert(client.client_id.clone(), client.clone());
        Ok(())
    }
    async fn get_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        Ok(self.lock()?.clients.get(id).cloned())
    }
    async fn update_client(&self, client: &Client) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        match g.clients.get_mut(&client.client_id) {
            Some(c) => {
                *c = client.clone();
                Ok(true)
            }
            None => Ok(false),
        }
    }
    async fn update_client_if_unchanged(&self, client: &Client, expected_updated_at: i64) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        match g.clients.get_mut(&client.client_id) {
            Some(c) if c.updated_at == expected_updated_at => {
                *c = client.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        g.tokens.retain(|_, r| r.client_id != id);
        g.consents.retain(|_, c| c.client_id != id);
        g.revoked_consents.retain(|_, c| c.client_id != id);
        Ok(g.clients.remove(id).is_some())
    }
    async fn list_clients(&self, q: &ClientQuery) -> Result<Vec<Client>, StoreError> {
        let g = self.lock()?;
        Ok(g.clients
            .values()
            .filter(|c| q.after_id.as_ref().is_none_or(|a| c.client_id.as_str() > a.as_str()))
            .filter(|c| q.client_name.as_ref().is_none_or(|n| &c.client_name == n))
            .filter(|c| q.owner.as_ref().is_none_or(|o| &c.owner == o))
            .take(q.limit as usize)
            .cloned()
            .collect())
    }
}

impl MemoryStore {
    /// The compare-and-set of [`TokenStore::consume_code`] for a single-use record of `kind`.
    fn consume(
        &self,
        kind: TokenKind,
        signature: &str,
        now: i64,
        tokens: &[TokenRecord],
    ) -> Result<Consumed, StoreError> {
        let mut g = self.lock()?;
        let old = match g.tokens.get(signature) {
            Some(r) if r.kind == kind => r.clone(),
            _ => return Ok(Consumed::Missing),
        };
        if !old.active {
            return Ok(Consumed::AlreadyUsed(old));
        }
        let mut batch = std::collections::BTreeSet::new();
        if let Some(r) = tokens.iter().find(|r| g.tokens.contains_key(&r.signature) || !batch.insert(&r.signature)) {
            return Err(StoreError::Conflict(format!("token {} exists", r.signature)));
        }
        if let Some(r) = g.tokens.get_mut(signature) {
            r.active = false;
            r.used_at = Some(now);
        }
        for r in tokens {
            g.tokens.insert(r.signature.clone(), r.clone());
        }
        Ok(Consumed::Consumed(old))
    }
}

impl TokenStore for MemoryStore {
    async fn insert_tokens(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        insert_all(&mut g, records)?;
        Ok(())
    }
    async fn get_token(&self, kind: TokenKind, signature: &str) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self.lock()?.tokens.get(signature).filter(|r| r.kind == kind).cloned())
    }
    async fn revoke_token(&self, kind: TokenKind, signature: &str) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        match g.tokens.get_mut(signature) {
            Some(r) if r.kind == kind && r.active => {
                r.active = false;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn revoke_grant(&self, request_id: &str) -> Result<u64, StoreError> {
        let mut g = self.lock()?;
        let mut n = 0;
        for r in g.tokens.values_mut().filter(|r| r.request_id == request_id && r.active) {
            r.active = false;
            n += 1;
        }
        Ok(n)
    }
    async fn delete_client_access_tokens(&self, client_id: &str) -> Result<u64, StoreError> {
        let mut g = self.lock()?;
        let before = g.tokens.len();
        g.tokens.retain(|_, r| !(r.client_id == client_id && r.kind == TokenKind::AccessToken));
        Ok((before - g.tokens.len()) as u64)
    }
    async fn consume_code(&self, signature: &str, now: i64, tokens: &[TokenRecord]) -> Result<Consumed, StoreError> {
        self.consume(TokenKind::AuthorizationCode, signature, now, tokens)
    }
    async fn consume_device_code(
        &self,
        signature: &str,
        now: i64,
        tokens: &[TokenRecord],
    ) -> Result<Consumed, StoreError> {
        self.consume(TokenKind::DeviceCode, signature, now, tokens)
    }
    async fn get_device_records(
        &self,
        request_signature: &str,
        approval_signature: &str,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        let g = self.lock()?;
        Ok([request_signature, approval_signature].iter().filter_map(|s| g.tokens.get(*s).cloned()).collect())
    }
    async fn record_device_poll(&self, signature: &str, now: i64, polled_by: i64) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        match g.tokens.get_mut(signature) {
            Some(r) if r.kind == TokenKind::DeviceRequest && r.active && r.used_at.is_none_or(|t| t <= polled_by) => {
                r.used_at = Some(now);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn rotate_refresh_token(
        &self,
        signature: &str,
        now: i64,
        successors: &[TokenRecord],
    ) -> Result<Rotated, StoreError> {
        let mut g = self.lock()?;
        let old = match g.tokens.get(signature) {
            Some(r) if r.kind == TokenKind::RefreshToken => r.clone(),
            _ => return Ok(Rotated::Missing),
        };
        if !old.active {
            return Ok(Rotated::AlreadyUsed(old));
        }
        if let Some(r) = successors.iter().find(|r| g.tokens.contains_key(&r.signature)) {
            return Err(StoreError::Conflict(format!("token {} exists", r.signature)));
        }
        if let Some(r) = g.tokens.get_mut(signature) {
            r.active = false;
            r.used_at = Some(now);
        }
        retire_access_tokens(&mut g, &old.request_id);
        for r in successors {
            g.tokens.insert(r.signature.clone(), r.clone());
        }
        Ok(Rotated::Rotated(old))
    }
    async fn insert_tokens_while_active(
        &self,
        kind: TokenKind,
        signature: &str,
        now: i64,
        records: &[TokenRecord],
    ) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        if !g.tokens.get(signature).is_some_and(|r| r.kind == kind && r.active && r.expires_at > now) {
            return Ok(false);
        }
        insert_all(&mut g, records)?;
        Ok(true)
    }
    async fn reissue_within_grace(
        &self,
        request_id: &str,
        now: i64,
        successors: &[TokenRecord],
    ) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        let live = g
            .tokens
            .values()
            .any(|r| r.request_id == request_id && r.kind == TokenKind::RefreshToken && r.active && r.expires_at > now);
        if !live {
            return Ok(false);
        }
        let mut batch = std::collections::BTreeSet::new();
        if let Some(r) = successors.iter().find(|r| g.tokens.contains_key(&r.signature) || !batch.insert(&r.signature))
        {
            return Err(StoreError::Conflict(format!("token {} exists", r.signature)));
        }
        retire_access_tokens(&mut g, request_id);
        for r in successors {
            g.tokens.insert(r.signature.clone(), r.clone());
        }
        Ok(true)
    }
    async fn delete_expired_tokens(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        let mut g = self.lock()?;
        let doomed: Vec<String> = g
            .tokens
            .values()
            .filter(|r| r.expires_at < before)
            .take(limit as usize)
            .map(|r| r.signature.clone())
            .collect();
        for s in &doomed {
            g.tokens.remove(s);
        }
        Ok(doomed.len() as u64)
    }
}

/// Stores `records` all or nothing: a signature taken, or repeated among them, is a
/// conflict and stores none.
fn insert_all(g: &mut Inner, records: &[TokenRecord]) -> Result<(), StoreError> {
    let mut batch = std::collections::BTreeSet::new();
    if let Some(r) = records.iter().find(|r| g.tokens.contains_key(&r.signature) || !batch.insert(&r.signature)) {
        return Err(StoreError::Conflict(format!("token {} exists", r.signature)));
    }
    for r in records {
        g.tokens.insert(r.signature.clone(), r.clone());
    }
    Ok(())
}

/// Marks inactive the active access tokens of a grant (a refresh's predecessors).
fn retire_access_tokens(g: &mut Inner, request_id: &str) {
    for r in g.tokens.values_mut().filter(|r| r.request_id == request_id && r.kind == TokenKind::AccessToken) {
        r.active = false;
    }
}

impl KeyStore for MemoryStore {
    async fn add_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        let k = (key.set.clone(), key.kid.clone());
        if g.keys.contains_key(&k) {
            return Err(StoreError::Conflict(format!("key {}/{} exists", key.set, key.kid)));
        }
        g.keys.insert(k, key.clone());
        Ok(())
    }
    async fn get_key_set(&self, set: &str) -> Result<Vec<StoredKey>, StoreError> {
        let g = self.lock()?;
        let mut v: Vec<StoredKey> = g.keys.values().filter(|k| k.set == set).cloned().collect();
        v.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
        Ok(v)
    }
    async fn delete_key_set(&self, set: &str) -> Result<u64, StoreError> {
        let mut g = self.lock()?;
        let before = g.keys.len();
        g.keys.retain(|(s, _), _| s != set);
        Ok((before - g.keys.len()) as u64)
    }
    async fn delete_key(&self, set: &str, kid: &str) -> Result<bool, StoreError> {
        Ok(self.lock()?.keys.remove(&(set.to_string(), kid.to_string())).is_some())
    }
    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let g = self.lock()?;
        let mut v: Vec<StoredKey> = g.keys.values().cloned().collect();
        v.sort_by(|a, b| (&a.set, a.created_at, &a.kid).cmp(&(&b.set, b.created_at, &b.kid)));
        Ok(v)
    }
    async fn reseal_key(&self, set: &str, kid: &str, old_sealed: &str, new_sealed: &str) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        match g.keys.get_mut(&(set.to_string(), kid.to_string())) {
            Some(k) if k.sealed == old_sealed => {
                k.sealed = new_sealed.to_string();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Ends a session as the SQL stores do: it expires when it was authenticated, once.
fn end(s: &mut LoginSession) -> bool {
    let live = s.expires_at > s.authenticated_at;
    if live {
        s.expires_at = s.authenticated_at;
    }
    live
}

impl LoginSessionStore for MemoryStore {
    async fn create_login_session(&self, session: &LoginSession) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        if g.login_sessions.contains_key(&session.id) {
            return Err(StoreError::Conflict(format!("login session {} exists", session.id)));
        }
        g.login_sessions.insert(session.id.clone(), session.clone());
        Ok(())
    }
    async fn get_login_session(&self, id: &str) -> Result<Option<LoginSession>, StoreError> {
        Ok(self.lock()?.login_sessions.get(id).cloned())
    }
    async fn extend_login_session(
        &self,
        id: &str,
        subject: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        match g.login_sessions.get_mut(id) {
            Some(s) if s.subject == subject && s.expires_at > now => {
                s.expires_at = expires_at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn end_login_session(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.lock()?.login_sessions.get_mut(id).is_some_and(end))
    }
    async fn end_login_sessions_of_subject(&self, subject: &str) -> Result<u64, StoreError> {
        let mut g = self.lock()?;
        Ok(g.login_sessions.values_mut().filter(|s| s.subject == subject).map(end).filter(|&ended| ended).count()
            as u64)
    }
    async fn delete_expired_login_sessions(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        let mut g = self.lock()?;
        let doomed: Vec<String> = g
            .login_sessions
            .values()
            .filter(|s| s.expires_at < before)
            .take(limit as usize)
            .map(|s| s.id.clone())
            .collect();
        for id in &doomed {
            g.login_sessions.remove(id);
        }
        Ok(doomed.len() as u64)
    }
}

/// Newest first, then by id for a stable order.
fn newest_first(v: &mut [ConsentRecord]) {
    v.sort_by(|a, b| b.handled_at.cmp(&a.handled_at).then_with(|| a.id.cmp(&b.id)));
}

impl ConsentStore for MemoryStore {
    async fn complete_consent(&self, consent: &ConsentRecord, tokens: &[TokenRecord]) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        if g.consents.contains_key(&consent.id) || g.revoked_consents.contains_key(&consent.id) {
            return Err(StoreError::Conflict(format!("consent {} exists", consent.id)));
        }
        let mut batch = std::collections::BTreeSet::new();
        if let Some(r) = tokens.iter().find(|r| g.tokens.contains_key(&r.signature) || !batch.insert(&r.signature)) {
            return Err(StoreError::Conflict(format!("token {} exists", r.signature)));
        }
        g.consents.insert(consent.id.clone(), consent.clone());
        for r in tokens {
            g.tokens.insert(r.signature.clone(), r.clone());
        }
        Ok(())
    }
    async fn remembered_consents(
        &self,
        subject: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        let g = self.lock()?;
        let mut v: Vec<ConsentRecord> = g
            .consents
            .values()
            .filter(|c| c.subject == subject && c.client_id == client_id && c.remember)
            .filter(|c| c.remember_until.is_none_or(|u| u > now))
            .cloned()
            .collect();
        newest_first(&mut v);
        Ok(v)
    }
    async fn list_consents(
        &self,
        subject: &str,
        login_session_id: Option<&str>,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        let g = self.lock()?;
        let mut v: Vec<ConsentRecord> = g
            .consents
            .values()
            .filter(|c| c.subject == subject)
            .filter(|c| login_session_id.is_none_or(|s| c.login_session_id.as_deref() == Some(s)))
            .cloned()
            .collect();
        newest_first(&mut v);
        Ok(v)
    }
    async fn revoke_consent(&self, id: &str) -> Result<bool, StoreError> {
        self.revoke_consent_now(id)
    }
    async fn delete_revoked_consents(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        let mut g = self.lock()?;
        let doomed: Vec<String> = g
            .revoked_consents
            .values()
            .filter(|c| c.handled_at < before)
            .take(limit as usize)
            .map(|c| c.id.clone())
            .collect();
        for id in &doomed {
            g.revoked_consents.remove(id);
        }
        Ok(doomed.len() as u64)
    }
    async fn revoke_consents(&self, subject: &str, client_id: Option<&str>) -> Result<u64, StoreError> {
        let mut g = self.lock()?;
        let doomed: Vec<String> = g
            .consents
            .values()
            .filter(|c| c.subject == subject && client_id.is_none_or(|id| c.client_id == id))
            .map(|c| c.id.clone())
            .collect();
        for id in &doomed {
            if let Some(c) = g.consents.remove(id) {
                g.revoked_consents.insert(id.clone(), c);
            }
        }
        for t in g.tokens.values_mut().filter(|t| doomed.contains(&t.request_id)) {
            t.active = false;
        }
        Ok(doomed.len() as u64)
    }
}

impl MemoryStore {
    fn revoke_consent_now(&self, id: &str) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        let Some(c) = g.consents.remove(id) else {
            return Ok(false);
        };
        g.revoked_consents.insert(id.to_string(), c);
        for t in g.tokens.values_mut().filter(|t| t.request_id == id) {
            t.active = false;
        }
        Ok(true)
    }
}

impl TrustStore for MemoryStore {
    async fn create_trust(&self, grant: &TrustGrant) -> Result<(), StoreError> {
        let mut g = self.lock()?;
        let same = |t: &TrustGrant| {
            t.id == grant.id || (t.issuer == grant.issuer && t.subject == grant.subject && t.key_id == grant.key_id)
        };
        if g.trusts.values().any(same) {
            return Err(StoreError::Conflict(format!("trust grant {} exists", grant.id)));
        }
        g.trusts.insert(grant.id.clone(), grant.clone());
        Ok(())
    }
    async fn get_trust(&self, id: &str) -> Result<Option<TrustGrant>, StoreError> {
        Ok(self.lock()?.trusts.get(id).cloned())
    }
    async fn list_trusts(&self, q: &TrustQuery) -> Result<Vec<TrustGrant>, StoreError> {
        let g = self.lock()?;
        Ok(g.trusts
            .values()
            .filter(|t| q.after_id.as_ref().is_none_or(|a| t.id.as_str() > a.as_str()))
            .filter(|t| q.issuer.as_ref().is_none_or(|i| &t.issuer == i))
            .take(q.limit as usize)
            .cloned()
            .collect())
    }
    async fn delete_trust(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.lock()?.trusts.remove(id).is_some())
    }
    async fn trusts_for(
        &self,
        issuer: &str,
        subject: &str,
        key_id: Option<&str>,
        now: i64,
    ) -> Result<Vec<TrustGrant>, StoreError> {
        let g = self.lock()?;
        let mut found: Vec<TrustGrant> = g
            .trusts
            .values()
            .filter(|t| t.issuer == issuer && (t.subject == subject || t.allow_any_subject))
            .filter(|t| t.expires_at > now && key_id.is_none_or(|k| t.key_id == k))
            .cloned()
            .collect();
        found.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.id.cmp(&b.id)));
        found.truncate(MAX_TRUSTS_PER_ASSERTION as usize);
        Ok(found)
    }
}

impl ReplayStore for MemoryStore {
    async fn use_jti(&self, jti_hash: &str, expires_at: i64, now: i64) -> Result<bool, StoreError> {
        let mut g = self.lock()?;
        if g.jtis.get(jti_hash).is_some_and(|e| *e > now) {
            return Ok(false);
        }
        g.jtis.insert(jti_hash.to_string(), expires_at);
        Ok(true)
    }
    async fn delete_expired_jtis(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        let mut g = self.lock()?;
        let gone: Vec<String> =
            g.jtis.iter().filter(|(_, e)| **e < before).take(limit as usize).map(|(k, _)| k.clone()).collect();
        for k in &gone {
            g.jtis.remove(k);
        }
        Ok(gone.len() as u64)
    }
}

impl Store for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.lock().map(|_| ())
    }
}
