//! [`D1Store`]: every storage trait of [`latch_core::store`] on Cloudflare D1 (SQLite),
//! on the schema of `native/migrations/sqlite`. The statements and row mappings are the
//! SQL layer's ([`latch_sql`]: SQLite's [`Queries`], and the [`BatchQueries`] of the
//! batches below); this module executes them. D1 allows at most 100 bound parameters
//! per statement, so records are inserted one statement each (12 parameters for a
//! token) and grouped with `db.batch`, which runs as one transaction.
//!
//! The compare-and-set operations are each one conditional statement, or one
//! `db.batch(…)`, which D1 runs as one transaction on one connection:
//!
//! - `revoke_token`: `UPDATE … WHERE active = 1`; the winner is the call whose
//!   statement reports `changes == 1`.
//! - `consume_code`, `rotate_refresh_token`: one batch of the conditional
//!   `UPDATE … SET active = 0, used_at = ? … WHERE active = 1`, then one
//!   `INSERT … SELECT … WHERE changes() = 1` per token to store (each runs only if the
//!   statement before it changed a row), then a `SELECT` of the row. Losers insert
//!   nothing; a successor whose signature is taken fails the whole batch, so the old
//!   token stays active. A rotation's batch starts by retiring the grant's access tokens
//!   if the refresh token is still active (so only when the retirement after it wins).
//! - `reissue_within_grace`: one batch that counts the grant's live refresh tokens, then
//!   retires its access tokens and inserts each successor under the same condition
//!   (`… WHERE EXISTS (live refresh token)`): a batch is one transaction, so a revocation
//!   comes wholly before it (nothing is stored) or after it (what it stored is revoked).
//! - `insert_tokens_while_active`: one batch inserting each token under the condition
//!   that the token it derives from is active (`… WHERE EXISTS (…)`), the same way.
//! - `delete_client`: one batch deleting the client's tokens, its consents and the client.
//! - `complete_consent`: one batch of the consent `INSERT` and the token `INSERT`s; a
//!   consent id that exists (a replayed verifier) fails the whole batch.
//! - `revoke_consents`: one batch that deactivates the tokens of the subject's consents
//!   and deletes the same consents.

mod error;

pub use error::classify;
use error::{from_worker, with_conflict};
use latch_core::client::Client;
use latch_core::error::StoreError;
use latch_core::store::{
    ClientQuery, ClientStore, ConsentRecord, ConsentStore, KeyStore, LoginSession, LoginSessionStore, ReplayStore,
    Store, StoredKey, TokenKind, TokenRecord, TokenStore, TrustGrant, TrustQuery, TrustStore, MAX_TRUSTS_PER_ASSERTION,
};
use latch_sql::rows::{
    bad_row, client_update, decode_client, decode_consent, decode_key, decode_login_session, decode_token,
    decode_trust, login_session, token, trust, JsonRow, MAX_SAFE_INTEGER,
};
use latch_sql::{BatchQueries, Dialect, Queries, Retired, Value};
use worker::kv::KvStore;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// A store in a D1 database (the Worker's `DB` binding), with the signing-key sets
/// cached in KV when a namespace is bound (`KV`).
pub struct D1Store {
    db: D1Database,
    sql: Queries,
    batch: BatchQueries,
    kv: Option<KvStore>,
    ops: std::cell::Cell<Ops>,
}

/// What this store has asked of D1 and KV since the isolate started: counted so that
/// the operations per request can be measured (`bench/worker-ops.mjs`, through the
/// test build's `GET /admin/test/ops`), not estimated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ops {
    /// Calls to D1 (`run`, `all` or one `batch`): the round trips a request waits for.
    pub d1_calls: u64,
    /// SQL statements sent to D1 (a batch of three counts three).
    pub d1_statements: u64,
    /// KV reads (`get`).
    pub kv_reads: u64,
    /// KV writes (`put` and `delete`).
    pub kv_writes: u64,
}

impl std::fmt::Debug for D1Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("D1Store").field("kv", &self.kv.is_some()).finish_non_exhaustive()
    }
}

/// How long a key set stays in KV: KV's minimum. A write through this Worker deletes the
/// entry at once; what another location cached may be served until it expires, which
/// ARCHITECTURE.md ("Caches and their staleness") explains is safe for key sets.
pub const KEY_SET_TTL_SECONDS: u64 = 60;

fn key_set_cache_key(set: &str) -> String {
    format!("keyset:v1:{set}")
}

/// A bound value as D1 takes it: an integer as a JavaScript number (D1 takes no BigInt).
fn js(value: &Value<'_>) -> Result<JsValue, StoreError> {
    Ok(match value {
        Value::Text(Some(s)) => JsValue::from_str(s),
        Value::Name(s) => JsValue::from_str(s),
        Value::Int(Some(n)) if n.unsigned_abs() <= MAX_SAFE_INTEGER as u64 => JsValue::from_f64(*n as f64),
        Value::Int(Some(n)) => return Err(StoreError::Backend(format!("integer {n} does not fit a D1 parameter"))),
        Value::Flag(b) => JsValue::from_f64(f64::from(u8::from(*b))),
        Value::Text(None) | Value::Int(None) => JsValue::null(),
    })
}

/// Rows changed by a statement.
fn changes(result: &D1Result) -> Result<u64, StoreError> {
    let meta = result.meta().map_err(from_worker)?;
    Ok(meta.and_then(|m| m.changes).unwrap_or(0) as u64)
}

/// The rows a statement returned.
fn results(result: &D1Result) -> Result<Vec<JsonRow>, StoreError> {
    if let Some(e) = result.error() {
        return Err(classify(&e));
    }
    result.results::<JsonRow>().map_err(|e| bad_row("row", error::text(&e)))
}

/// Decodes each row with one of the SQL layer's decoders.
fn decode<T>(rows: &[JsonRow], decode: fn(&JsonRow) -> Result<T, StoreError>) -> Result<Vec<T>, StoreError> {
    rows.iter().map(decode).collect()
}

/// Decodes the first row, if there is one.
fn first<T>(rows: &[JsonRow], decode: fn(&JsonRow) -> Result<T, StoreError>) -> Result<Option<T>, StoreError> {
    rows.first().map(decode).transpose()
}

impl D1Store {
    /// A store over a D1 binding. Does not check the schema: [`Store::ping`] does.
    pub fn new(db: D1Database) -> D1Store {
        D1Store {
            db,
            sql: Queries::new(Dialect::Sqlite),
            batch: BatchQueries::new(),
            kv: None,
            ops: Default::default(),
        }
    }

    /// The operations counted so far (see [`Ops`]).
    pub fn ops(&self) -> Ops {
        self.ops.get()
    }

    fn count(&self, f: impl FnOnce(&mut Ops)) {
        let mut ops = self.ops.get();
        f(&mut ops);
        self.ops.set(ops);
    }

    fn stmt(&self, sql: &str, args: &[Value<'_>]) -> Result<D1PreparedStatement, StoreError> {
        let values = args.iter().map(js).collect::<Result<Vec<_>, _>>()?;
        self.db.prepare(sql).bind(&values).map_err(from_worker)
    }

    /// Runs a statement; returns how many rows it changed.
    async fn run(&self, sql: &str, args: &[Value<'_>]) -> Result<u64, StoreError> {
        let stmt = self.stmt(sql, args)?;
        self.count(|o| (o.d1_calls, o.d1_statements) = (o.d1_calls + 1, o.d1_statements + 1));
        let result = stmt.run().await.map_err(from_worker)?;
        changes(&result)
    }

    /// Runs a query; returns its rows.
    async fn all(&self, sql: &str, args: &[Value<'_>]) -> Result<Vec<JsonRow>, StoreError> {
        let stmt = self.stmt(sql, args)?;
        self.count(|o| (o.d1_calls, o.d1_statements) = (o.d1_calls + 1, o.d1_statements + 1));
        let result = stmt.all().await.map_err(from_worker)?;
        results(&result)
    }

    /// Runs statements as one transaction: all take effect or none.
    async fn batch(&self, statements: Vec<D1PreparedStatement>) -> Result<Vec<D1Result>, StoreError> {
        let n = statements.len();
        self.count(|o| (o.d1_calls, o.d1_statements) = (o.d1_calls + 1, o.d1_statements + n as u64));
        let out = self.db.batch(statements).await.map_err(from_worker)?;
        if out.len() != n {
            return Err(StoreError::Backend(format!("a batch of {n} statements returned {} results", out.len())));
        }
        Ok(out)
    }

    /// Inserts token records, all or nothing.
    async fn insert_records(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        let conflict = || "a token with that signature exists".to_owned();
        match records {
            [] => Ok(()),
            [one] => self.run(&self.sql.insert_token, &token(one)?).await.map(drop),
            many => {
                let statements =
                    many.iter().map(|r| self.stmt(&self.sql.insert_token, &token(r)?)).collect::<Result<_, _>>()?;
                self.batch(statements).await.map(drop)
            }
        }
        .map_err(|e| with_conflict(e, conflict))
    }

    /// Retires the active token of `kind` with `signature` (inactive, `used_at = now`)
    /// and stores `successors` only if this call retired it, in one batch.
    async fn retire(
        &self,
        kind: TokenKind,
        signature: &str,
        now: i64,
        successors: &[TokenRecord],
    ) -> Result<Retired, StoreError> {
        let key = [Value::from(signature), Value::from(kind.as_str())];
        let mut statements = Vec::with_capacity(successors.len() + 3);
        if kind == TokenKind::RefreshToken {
            // fosite: a refresh revokes the grant's earlier access tokens.
            statements.push(self.stmt(self.batch.retire_grant_access_tokens_of, &key[..1])?);
        }
        let retiring = statements.len();
        statements.push(self.stmt(&self.sql.retire_token, &[now.into(), key[0].clone(), key[1].clone()])?);
        for r in successors {
            statements.push(self.stmt(&self.batch.insert_token_if_changed, &token(r)?)?);
        }
        statements.push(self.stmt(&self.sql.get_token, &key)?);
        let out = self
            .batch(statements)
            .await
            .map_err(|e| with_conflict(e, || "a token with that signature exists".to_owned()))?;
        let changed = changes(&out[retiring])?;
        let record = first(&results(&out[out.len() - 1])?, decode_token)?;
        let retired = Retired::decide(signature, changed, record)?;
        if let Retired::Now(_) = retired {
            // The winner's inserts each ran on the `changes()` of the one before;
            // make sure none was skipped.
            for (i, result) in out[retiring + 1..out.len() - 1].iter().enumerate() {
                if changes(result)? != 1 {
                    return Err(StoreError::Backend(format!(
                        "retiring token {signature}: successor {i} was not stored"
                    )));
                }
            }
        }
        Ok(retired)
    }
}

impl ClientStore for D1Store {
    async fn create_client(&self, client: &Client) -> Result<(), StoreError> {
        self.run(&self.sql.insert_client, &latch_sql::rows::client(client)?)
            .await
            .map_err(|e| with_conflict(e, || format!("client {} exists", client.client_id)))?;
        Ok(())
    }

    async fn get_client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        first(&self.all(&self.sql.get_client, &[id.into()]).await?, decode_client)
    }

    async fn update_client(&self, client: &Client) -> Result<bool, StoreError> {
        // SQLite counts a matched row as changed even when no value differs.
        Ok(self.run(&self.sql.update_client, &client_update(client)?).await? > 0)
    }

    async fn update_client_if_unchanged(&self, client: &Client, expected_updated_at: i64) -> Result<bool, StoreError> {
        let values = latch_sql::rows::client_update_if(client, expected_updated_at)?;
        Ok(self.run(&self.sql.update_client_if_unchanged, &values).await? > 0)
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let args = [Value::from(id)];
        let statements = vec![
            self.stmt(&self.sql.delete_client_tokens, &args)?,
            self.stmt(&self.sql.delete_client_consents, &args)?,
            self.stmt(&self.sql.delete_client, &args)?,
        ];
        let out = self.batch(statements).await?;
        Ok(changes(&out[2])? > 0)
    }

    async fn list_clients(&self, q: &ClientQuery) -> Result<Vec<Client>, StoreError> {
        let text = self.sql.list_clients(q.after_id.is_some(), q.client_name.is_some(), q.owner.is_some());
        let mut args: Vec<Value<'_>> =
            [&q.after_id, &q.client_name, &q.owner].into_iter().flatten().map(|v| v.as_str().into()).collect();
        args.push(i64::from(q.limit).into());
        decode(&self.all(&text, &args).await?, decode_client)
    }
}

impl TokenStore for D1Store {
    async fn insert_tokens(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        self.insert_records(records).await
    }

    async fn get_token(&self, kind: TokenKind, signature: &str) -> Result<Option<TokenRecord>, StoreError> {
        first(&self.all(&self.sql.get_token, &[signature.into(), kind.as_str().into()]).await?, decode_token)
    }

    async fn revoke_token(&self, kind: TokenKind, signature: &str) -> Result<bool, StoreError> {
        Ok(self.run(&self.sql.revoke_token, &[signature.into(), kind.as_str().into()]).await? == 1)
    }

    async fn revoke_grant(&self, request_id: &str) -> Result<u64, StoreError> {
        self.run(&self.sql.revoke_grant, &[request_id.into()]).await
    }

    async fn delete_client_access_tokens(&self, client_id: &str) -> Result<u64, StoreError> {
        self.run(&self.sql.delete_client_access_tokens, &[client_id.into()]).await
    }

    // consume_code, consume_device_code, rotate_refresh_token: the retire step above.
    latch_sql::retire_operations!();

    async fn get_device_records(
        &self,
        request_signature: &str,
        approval_signature: &str,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        let rows =
            self.all(&self.sql.get_device_records, &[request_signature.into(), approval_signature.into()]).await?;
        rows.iter().map(decode_token).collect()
    }

    async fn record_device_poll(&self, signature: &str, now: i64, polled_by: i64) -> Result<bool, StoreError> {
        Ok(self.run(&self.sql.record_device_poll, &[now.into(), signature.into(), polled_by.into()]).await? == 1)
    }

    async fn reissue_within_grace(
        &self,
        request_id: &str,
        now: i64,
        successors: &[TokenRecord],
    ) -> Result<bool, StoreError> {
        let grant = [Value::from(request_id), Value::from(now)];
        let mut statements = vec![
            self.stmt(&self.batch.count_live_refresh_tokens, &grant)?,
            self.stmt(&self.batch.retire_access_tokens_if_live, &grant)?,
        ];
        for r in successors {
            let mut args = token(r)?.to_vec();
            args.extend(grant.iter().cloned());
            statements.push(self.stmt(&self.batch.insert_token_if_live, &args)?);
        }
        let out = self
            .batch(statements)
            .await
            .map_err(|e| with_conflict(e, || "a token with that signature exists".to_owned()))?;
        let live = first(&results(&out[0])?, |row| latch_sql::Row::int(row, "n"))?;
        if live.is_none_or(|n| n == 0) {
            return Ok(false);
        }
        for (i, result) in out[2..].iter().enumerate() {
            if changes(result)? != 1 {
                return Err(StoreError::Backend(format!(
                    "the grace re-issue of {request_id}: successor {i} was not stored"
                )));
            }
        }
        Ok(true)
    }

    async fn insert_tokens_while_active(
        &self,
        kind: TokenKind,
        signature: &str,
        now: i64,
        records: &[TokenRecord],
    ) -> Result<bool, StoreError> {
        let active = [Value::from(signature), Value::from(kind.as_str()), Value::from(now)];
        let mut statements = Vec::with_capacity(records.len());
        for r in records {
            let mut args = token(r)?.to_vec();
            args.extend(active.iter().cloned());
            statements.push(self.stmt(&self.batch.insert_token_if_active, &args)?);
        }
        let out = self
            .batch(statements)
            .await
            .map_err(|e| with_conflict(e, || "a token with that signature exists".to_owned()))?;
        // One transaction: every insert saw the token as the first did.
        let stored = out.iter().map(changes).collect::<Result<Vec<u64>, _>>()?;
        match stored.first() {
            Some(1) if stored.iter().all(|n| *n == 1) => Ok(true),
            None | Some(0) if stored.iter().all(|n| *n == 0) => Ok(false),
            _ => Err(StoreError::Backend(format!("the derived tokens of {signature} were stored in part"))),
        }
    }

    async fn delete_expired_tokens(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.run(&self.sql.delete_expired_tokens, &[before.into(), i64::from(limit).into()]).await
    }
}

impl D1Store {
    /// Caches the key sets in `kv` (read-mostly, public or sealed data only; never
    /// anything single-use or revocable).
    pub fn with_kv(mut self, kv: KvStore) -> Self {
        self.kv = Some(kv);
        self
    }

    /// The cached set, if KV has it. KV is a cache: its failures fall back to D1.
    async fn cached_key_set(&self, set: &str) -> Option<Vec<JsonRow>> {
        let kv = self.kv.as_ref()?;
        self.count(|o| o.kv_reads += 1);
        let text = kv.get(&key_set_cache_key(set)).text().await.ok()??;
        serde_json::from_str(&text).ok()
    }

    async fn cache_key_set(&self, set: &str, rows: &[JsonRow]) {
        let (Some(kv), Ok(json)) = (&self.kv, serde_json::to_string(rows)) else { return };
        self.count(|o| o.kv_writes += 1);
        if let Ok(put) = kv.put(&key_set_cache_key(set), json) {
            let _ = put.expiration_ttl(KEY_SET_TTL_SECONDS).execute().await;
        }
    }

    /// After a write to a set: the next read goes to D1.
    async fn forget_key_set(&self, set: &str) {
        if let Some(kv) = &self.kv {
            self.count(|o| o.kv_writes += 1);
            let _ = kv.delete(&key_set_cache_key(set)).await;
        }
    }
}

impl KeyStore for D1Store {
    async fn add_key(&self, key: &StoredKey) -> Result<(), StoreError> {
        let added = self
            .run(&self.sql.insert_key, &latch_sql::rows::key(key))
            .await
            .map_err(|e| with_conflict(e, || format!("key {}/{} exists", key.set, key.kid)));
        self.forget_key_set(&key.set).await;
        added.map(|_| ())
    }

    async fn get_key_set(&self, set: &str) -> Result<Vec<StoredKey>, StoreError> {
        // A cached set that does not decode is read from D1 again.
        if let Some(keys) = self.cached_key_set(set).await.and_then(|rows| decode(&rows, decode_key).ok()) {
            return Ok(keys);
        }
        let rows = self.all(&self.sql.get_key_set, &[set.into()]).await?;
        let keys = decode(&rows, decode_key)?;
        // An empty set is not cached: the key generated next must be seen at once.
        if !rows.is_empty() {
            self.cache_key_set(set, &rows).await;
        }
        Ok(keys)
    }

    async fn delete_key_set(&self, set: &str) -> Result<u64, StoreError> {
        let deleted = self.run(&self.sql.delete_key_set, &[set.into()]).await;
        self.forget_key_set(set).await;
        deleted
    }

    async fn delete_key(&self, set: &str, kid: &str) -> Result<bool, StoreError> {
        let deleted = self.run(&self.sql.delete_key, &[set.into(), kid.into()]).await;
        self.forget_key_set(set).await;
        Ok(deleted? > 0)
    }

    async fn list_keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        decode(&self.all(&self.sql.list_keys, &[]).await?, decode_key)
    }

    async fn reseal_key(&self, set: &str, kid: &str, old_sealed: &str, new_sealed: &str) -> Result<bool, StoreError> {
        let changed =
            self.run(&self.sql.reseal_key, &[new_sealed.into(), set.into(), kid.into(), old_sealed.into()]).await;
        self.forget_key_set(set).await;
        Ok(changed? > 0)
    }
}

impl TrustStore for D1Store {
    async fn create_trust(&self, grant: &TrustGrant) -> Result<(), StoreError> {
        self.run(&self.sql.insert_trust, &trust(grant)?)
            .await
            .map_err(|e| with_conflict(e, || format!("trust grant {} exists", grant.id)))?;
        Ok(())
    }

    async fn get_trust(&self, id: &str) -> Result<Option<TrustGrant>, StoreError> {
        first(&self.all(&self.sql.get_trust, &[id.into()]).await?, decode_trust)
    }

    async fn list_trusts(&self, q: &TrustQuery) -> Result<Vec<TrustGrant>, StoreError> {
        let text = self.sql.list_trusts(q.after_id.is_some(), q.issuer.is_some());
        let mut args: Vec<Value<'_>> =
            [&q.after_id, &q.issuer].into_iter().flatten().map(|v| v.as_str().into()).collect();
        args.push(i64::from(q.limit).into());
        decode(&self.all(&text, &args).await?, decode_trust)
    }

    async fn delete_trust(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.run(&self.sql.delete_trust, &[id.into()]).await? > 0)
    }

    async fn trusts_for(
        &self,
        issuer: &str,
        subject: &str,
        key_id: Option<&str>,
        now: i64,
    ) -> Result<Vec<TrustGrant>, StoreError> {
        let mut args: Vec<Value<'_>> = vec![issuer.into(), subject.into(), now.into()];
        let text = match key_id {
            Some(kid) => {
                args.push(kid.into());
                &self.sql.trusts_for_key
            }
            None => &self.sql.trusts_for,
        };
        args.push(i64::from(MAX_TRUSTS_PER_ASSERTION).into());
        decode(&self.all(text, &args).await?, decode_trust)
    }
}

impl ReplayStore for D1Store {
    async fn use_jti(&self, jti_hash: &str, expires_at: i64, now: i64) -> Result<bool, StoreError> {
        // One batch (one transaction, one round trip): an expired record of the id goes,
        // then the insert records it; a live record fails the insert, and so the batch.
        let statements = vec![
            self.stmt(&self.sql.forget_expired_jti, &[jti_hash.into(), now.into()])?,
            self.stmt(&self.sql.insert_jti, &[jti_hash.into(), expires_at.into()])?,
        ];
        match self.batch(statements).await {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn delete_expired_jtis(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.run(&self.sql.delete_expired_jtis, &[before.into(), i64::from(limit).into()]).await
    }
}

impl LoginSessionStore for D1Store {
    async fn create_login_session(&self, session: &LoginSession) -> Result<(), StoreError> {
        self.run(&self.sql.insert_login_session, &login_session(session)?)
            .await
            .map_err(|e| with_conflict(e, || format!("login session {} exists", session.id)))?;
        Ok(())
    }

    async fn get_login_session(&self, id: &str) -> Result<Option<LoginSession>, StoreError> {
        first(&self.all(&self.sql.get_login_session, &[id.into()]).await?, decode_login_session)
    }

    async fn extend_login_session(
        &self,
        id: &str,
        subject: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let params = [expires_at.into(), id.into(), subject.into(), now.into()];
        Ok(self.run(&self.sql.extend_login_session, &params).await? == 1)
    }

    async fn end_login_session(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.run(&self.sql.end_login_session, &[id.into()]).await? > 0)
    }

    async fn end_login_sessions_of_subject(&self, subject: &str) -> Result<u64, StoreError> {
        self.run(&self.sql.end_login_sessions_of_subject, &[subject.into()]).await
    }

    async fn delete_expired_login_sessions(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.run(&self.sql.delete_expired_login_sessions, &[before.into(), i64::from(limit).into()]).await
    }
}

impl ConsentStore for D1Store {
    async fn complete_consent(&self, consent: &ConsentRecord, tokens: &[TokenRecord]) -> Result<(), StoreError> {
        let mut statements = vec![self.stmt(&self.sql.insert_consent, &latch_sql::rows::consent(consent)?)?];
        for r in tokens {
            statements.push(self.stmt(&self.sql.insert_token, &token(r)?)?);
        }
        match self.batch(statements).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict(m)) if m.contains("latch_tokens") => {
                Err(StoreError::Conflict("a token with that signature exists".into()))
            }
            Err(e) => Err(with_conflict(e, || format!("consent {} exists", consent.id))),
        }
    }

    async fn remembered_consents(
        &self,
        subject: &str,
        client_id: &str,
        now: i64,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        let rows = self.all(&self.sql.remembered_consents, &[subject.into(), client_id.into(), now.into()]).await?;
        decode(&rows, decode_consent)
    }

    async fn list_consents(
        &self,
        subject: &str,
        login_session_id: Option<&str>,
    ) -> Result<Vec<ConsentRecord>, StoreError> {
        let rows = match login_session_id {
            Some(sid) => self.all(&self.sql.list_consents_of_login_session, &[subject.into(), sid.into()]).await?,
            None => self.all(&self.sql.list_consents, &[subject.into()]).await?,
        };
        decode(&rows, decode_consent)
    }

    async fn revoke_consent(&self, id: &str) -> Result<bool, StoreError> {
        let args = [Value::from(id)];
        let statements =
            vec![self.stmt(&self.batch.revoke_consent_tokens, &args)?, self.stmt(&self.sql.revoke_consents(1), &args)?];
        let out = self.batch(statements).await?;
        Ok(changes(&out[1])? > 0)
    }

    async fn revoke_consents(&self, subject: &str, client_id: Option<&str>) -> Result<u64, StoreError> {
        let mut args = vec![Value::from(subject)];
        args.extend(client_id.map(Value::from));
        let one_client = client_id.is_some();
        let statements = vec![
            self.stmt(&self.batch.revoke_consents_tokens(one_client), &args)?,
            self.stmt(&self.batch.revoke_consents(one_client), &args)?,
        ];
        let out = self.batch(statements).await?;
        changes(&out[1])
    }

    async fn delete_revoked_consents(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.run(&self.sql.delete_revoked_consents, &[before.into(), i64::from(limit).into()]).await
    }
}

impl Store for D1Store {
    /// D1 answers and every migration of `native/migrations/sqlite` is applied.
    async fn ping(&self) -> Result<(), StoreError> {
        self.all(&self.sql.ping, &[]).await?;
        let rows = self.all(self.batch.applied_migrations, &[]).await.map_err(|e| {
            StoreError::Backend(format!("no migrations applied (run `wrangler d1 migrations apply`): {e}"))
        })?;
        let applied = decode(&rows, |row| latch_sql::Row::text(row, "name"))?;
        let pending: Vec<&str> = MIGRATIONS.iter().copied().filter(|m| !applied.iter().any(|a| a == m)).collect();
        if pending.is_empty() {
            Ok(())
        } else {
            Err(StoreError::Backend(format!(
                "{} pending migration(s): {}; run `wrangler d1 migrations apply`",
                pending.len(),
                pending.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_listed_in_order() {
        assert!(super::MIGRATIONS.len() >= 2, "{:?}", super::MIGRATIONS);
        assert_eq!(super::MIGRATIONS[0], "0001_initial_schema.sql");
        assert!(super::MIGRATIONS.windows(2).all(|w| w[0] < w[1]));
    }
}
