//! [`TokenStore`] for [`LiteStore`].
//!
//! Consuming a code and rotating a refresh token share one job, [`retire`]: on the
//! writer's connection, inside the batch's transaction, the conditional
//! `UPDATE … SET active = 0 … WHERE … AND active = 1 RETURNING …` decides the winner and
//! reads the row it retired; the winner's successors are inserted in the same job, so a
//! successor that cannot be stored rolls the retirement back with it (the job's
//! savepoint). Jobs run one after the other, so of racing callers exactly one finds the
//! token active, and a revocation (one job) comes wholly before or after a rotation or a
//! grace re-issue (one job each): revoked stays revoked.

use super::error::{from_rusqlite, with_conflict};
use super::rows::{self, token_rows, TokenRow};
use super::LiteStore;
use latch_core::error::StoreError;
use latch_core::store::{TokenKind, TokenRecord, TokenStore};
use latch_sql::{Queries, Retired};
use rusqlite::Connection;

/// Stores token records, one row at a time with the one-row `INSERT`; all or nothing is
/// the job's savepoint (a record repeating a signature, its own or a stored one, is a
/// conflict and undoes the job).
pub(super) fn insert_tokens(conn: &Connection, sql: &Queries, records: &[TokenRow]) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let mut stmt = conn.prepare_cached(&sql.insert_token).map_err(from_rusqlite)?;
    for record in records {
        rows::execute(&mut stmt, record)
            .map_err(|e| with_conflict(e, || "a token with that signature exists".into()))?;
    }
    Ok(())
}

/// Retires the active token of `kind` with `signature` (inactive, `used_at = now`) and
/// stores `successors`; only the caller whose conditional update changed the row stores
/// anything. A writer job.
fn retire(
    conn: &Connection,
    sql: &Queries,
    kind: TokenKind,
    signature: &str,
    now: i64,
    successors: &[TokenRow],
) -> Result<Retired, StoreError> {
    let returning = sql
        .retire_token_returning
        .as_deref()
        .ok_or_else(|| StoreError::Backend("SQLite's retire query has no RETURNING".into()))?;
    let mut stmt = conn.prepare_cached(returning).map_err(from_rusqlite)?;
    // `first` resets the statement after the row: the update is complete by then (SQLite
    // makes every change of an `UPDATE … RETURNING` on its first step).
    let retired: Option<TokenRecord> = rows::first(&mut stmt, (now, signature, kind.as_str()))?;
    drop(stmt);
    let retired = match retired {
        Some(record) => Retired::decide(signature, 1, Some(record))?,
        // Nothing retired: missing, or used before. Read it in the same transaction.
        None => {
            let mut stmt = conn.prepare_cached(&sql.get_token).map_err(from_rusqlite)?;
            Retired::decide(signature, 0, rows::first(&mut stmt, (signature, kind.as_str()))?)?
        }
    };
    if let Retired::Now(record) = &retired {
        if kind == TokenKind::RefreshToken {
            // fosite: a refresh revokes the grant's earlier access tokens.
            super::run(conn, &sql.retire_grant_access_tokens, [&record.request_id]).map_err(from_rusqlite)?;
        }
        insert_tokens(conn, sql, successors)?;
    }
    Ok(retired)
}

/// [`TokenStore::reissue_within_grace`] as a writer job: stores nothing unless a refresh
/// token of the grant is active and unexpired at `now`.
fn reissue_within_grace(
    conn: &Connection,
    sql: &Queries,
    request_id: &str,
    now: i64,
    successors: &[TokenRow],
) -> Result<bool, StoreError> {
    if super::run(conn, &sql.claim_live_refresh_tokens, (request_id, now)).map_err(from_rusqlite)? == 0 {
        return Ok(false);
    }
    super::run(conn, &sql.retire_grant_access_tokens, [request_id]).map_err(from_rusqlite)?;
    insert_tokens(conn, sql, successors)?;
    Ok(true)
}

/// [`TokenStore::insert_tokens_while_active`] as a writer job: stores nothing unless the
/// token is active and unexpired at `now`.
fn insert_tokens_while_active(
    conn: &Connection,
    sql: &Queries,
    kind: TokenKind,
    signature: &str,
    now: i64,
    records: &[TokenRow],
) -> Result<bool, StoreError> {
    if super::run(conn, &sql.claim_active_token, (signature, kind.as_str(), now)).map_err(from_rusqlite)? == 0 {
        return Ok(false);
    }
    insert_tokens(conn, sql, records)?;
    Ok(true)
}

impl LiteStore {
    async fn retire(
        &self,
        kind: TokenKind,
        signature: &str,
        now: i64,
        successors: &[TokenRecord],
    ) -> Result<Retired, StoreError> {
        let (signature, successors) = (signature.to_owned(), token_rows(successors)?);
        self.write(move |conn, sql| retire(conn, sql, kind, &signature, now, &successors)).await
    }
}

impl TokenStore for LiteStore {
    async fn insert_tokens(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let rows = token_rows(records)?;
        if rows.len() == 1 {
            // One INSERT is atomic by itself (a conflict undoes only that statement), so
            // the job needs no savepoint of its own.
            return self.writer.insert_one_statement(move |conn, sql| insert_tokens(conn, sql, &rows)).await;
        }
        self.writer.insert(move |conn, sql| insert_tokens(conn, sql, &rows)).await
    }

    async fn get_token(&self, kind: TokenKind, signature: &str) -> Result<Option<TokenRecord>, StoreError> {
        if kind == TokenKind::DeviceRequest {
            // Never cached: a poll changes it without invalidating the cache (see
            // `record_device_poll`).
            return self.read_one(|q| &q.get_token, (signature, kind.as_str()));
        }
        self.tokens.get_or_read(kind, signature, || self.read_one(|q| &q.get_token, (signature, kind.as_str())))
    }

    async fn revoke_token(&self, kind: TokenKind, signature: &str) -> Result<bool, StoreError> {
        Ok(self.change(|q| &q.revoke_token, (signature.to_owned(), kind.as_str())).await? == 1)
    }

    async fn revoke_grant(&self, request_id: &str) -> Result<u64, StoreError> {
        self.change(|q| &q.revoke_grant, [request_id.to_owned()]).await
    }

    async fn delete_client_access_tokens(&self, client_id: &str) -> Result<u64, StoreError> {
        self.change(|q| &q.delete_client_access_tokens, [client_id.to_owned()]).await
    }

    // consume_code, consume_device_code, rotate_refresh_token: the retire step above.
    latch_sql::retire_operations!();

    async fn get_device_records(
        &self,
        request_signature: &str,
        approval_signature: &str,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        // Not through the token cache: a pending request changes with every poll.
        self.read_all(|q| &q.get_device_records, (request_signature, approval_signature))
    }

    async fn record_device_poll(&self, signature: &str, now: i64, polled_by: i64) -> Result<bool, StoreError> {
        let signature = signature.to_owned();
        // One UPDATE of a device request row, which the token cache never holds (see
        // `get_token`): the writer need not invalidate the cache for it, so thousands of
        // polling devices leave introspection's cached rows alone.
        let changed = self
            .writer
            .update_uncached(move |conn: &Connection, sql: &Queries| {
                super::run(conn, &sql.record_device_poll, (now, signature.as_str(), polled_by)).map_err(from_rusqlite)
            })
            .await?;
        Ok(changed == 1)
    }

    async fn reissue_within_grace(
        &self,
        request_id: &str,
        now: i64,
        successors: &[TokenRecord],
    ) -> Result<bool, StoreError> {
        let (request_id, successors) = (request_id.to_owned(), token_rows(successors)?);
        self.write(move |conn, sql| reissue_within_grace(conn, sql, &request_id, now, &successors)).await
    }

    async fn insert_tokens_while_active(
        &self,
        kind: TokenKind,
        signature: &str,
        now: i64,
        records: &[TokenRecord],
    ) -> Result<bool, StoreError> {
        let (signature, records) = (signature.to_owned(), token_rows(records)?);
        self.write(move |conn, sql| insert_tokens_while_active(conn, sql, kind, &signature, now, &records)).await
    }

    async fn delete_expired_tokens(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        self.change(|q| &q.delete_expired_tokens, [before, i64::from(limit)]).await
    }
}
