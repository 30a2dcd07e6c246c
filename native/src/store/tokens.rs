//! [`TokenStore`] for [`Server`] (PostgreSQL and MySQL): the compare-and-set operations.
//!
//! Consuming a code and rotating a refresh token share one step, [`Server::retire`]:
//! in one transaction, a conditional `UPDATE … SET active = 0 … WHERE active = 1`
//! decides the winner (the database serializes concurrent updates of the row), the row
//! is read back, and the winner's successors are inserted before the commit (a
//! rotation's winner first retires the grant's access tokens).
//!
//! Revocation is final ([`latch_core::store`]): every statement that writes a new token
//! into an existing grant (a rotation, a code's exchange, a grace re-issue) first writes
//! an active row of that grant (the retired token, or the live refresh tokens), and
//! holds it to its commit. A revocation ([`Server::revoke_grant`], the consent and
//! client deletions) then cannot miss what such a writer stores: on PostgreSQL it runs
//! under REPEATABLE READ, so a row a writer changed after the revocation's snapshot makes
//! it fail with a serialization failure, and it runs again on a snapshot that has the
//! writer's tokens ([`Server::retrying`]); on MySQL, whose locking statements read the
//! newest rows, it repeats its statement once it holds every row of the grant (the
//! first may have passed a row inserted while it waited for a lock). A writer that comes
//! second waits for the revocation's locks and then finds its row inactive.

use super::error::{from_sqlx, with_conflict};
use super::rows;
use super::Dialect;
use super::Server;
use latch_core::error::StoreError;
use latch_core::store::{TokenKind, TokenRecord, TokenStore};
use latch_sql::rows::{decode_token, token};
use latch_sql::Retired;
use sqlx::{Any, Executor};

impl Server {
    /// Retires the active token of `kind` with `signature` (inactive, `used_at = now`)
    /// and stores `successors`, all in one transaction; only the caller whose
    /// conditional update changed the row stores anything. A refresh token's retirement
    /// also retires the grant's access tokens before the successors are stored.
    async fn retire(
        &self,
        kind: TokenKind,
        signature: &str,
        now: i64,
        successors: &[TokenRecord],
    ) -> Result<Retired, StoreError> {
        self.retrying(|| async move {
            let mut tx = self.begin().await?;
            // The compare-and-set; with RETURNING it also reads the row it retired.
            let (changed, retired) = match &self.sql.retire_token_returning {
                Some(sql) => {
                    let row = sqlx::query(sql)
                        .bind(now)
                        .bind(signature)
                        .bind(kind.as_str())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(from_sqlx)?;
                    (u64::from(row.is_some()), rows::one(&row, decode_token)?)
                }
                None => {
                    let changed = sqlx::query(&self.sql.retire_token)
                        .bind(now)
                        .bind(signature)
                        .bind(kind.as_str())
                        .execute(&mut *tx)
                        .await
                        .map_err(from_sqlx)?
                        .rows_affected();
                    (changed, None)
                }
            };
            // Without RETURNING, or when nothing was retired (missing, or used before): read it.
            let record = match retired {
                Some(r) => Some(r),
                None => {
                    let row = sqlx::query(&self.sql.get_token)
                        .bind(signature)
                        .bind(kind.as_str())
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(from_sqlx)?;
                    rows::one(&row, decode_token)?
                }
            };
            // On an error, dropping `tx` rolls it back.
            let retired = Retired::decide(signature, changed, record)?;
            match &retired {
                Retired::Now(record) => {
                    if kind == TokenKind::RefreshToken {
                        // fosite: a refresh revokes the grant's earlier access tokens.
                        sqlx::query(&self.sql.retire_grant_access_tokens)
                            .bind(record.request_id.as_str())
                            .execute(&mut *tx)
                            .await
                            .map_err(from_sqlx)?;
                    }
                    self.insert_records(&mut *tx, successors).await?;
                    tx.commit().await.map_err(from_sqlx)?;
                }
                Retired::Before(_) | Retired::Missing => tx.rollback().await.map_err(from_sqlx)?,
            }
            Ok(retired)
        })
        .await
    }

    /// [`TokenStore::reissue_within_grace`]: one transaction that claims the grant's live
    /// refresh tokens (the compare-and-set: none, and nothing happens), retires its access
    /// tokens and stores the successors.
    async fn try_reissue_within_grace(
        &self,
        request_id: &str,
        now: i64,
        successors: &[TokenRecord],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let live = sqlx::query(&self.sql.claim_live_refresh_tokens)
            .bind(request_id)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
        if live == 0 {
            tx.rollback().await.map_err(from_sqlx)?;
            return Ok(false);
        }
        sqlx::query(&self.sql.retire_grant_access_tokens)
            .bind(request_id)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?;
        self.insert_records(&mut *tx, successors).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }

    /// [`TokenStore::insert_tokens_while_active`]: one transaction that claims the token
    /// (the compare-and-set: inactive, and nothing happens) and stores the records.
    async fn try_insert_tokens_while_active(
        &self,
        kind: TokenKind,
        signature: &str,
        now: i64,
        records: &[TokenRecord],
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let claimed = sqlx::query(&self.sql.claim_active_token)
            .bind(signature)
            .bind(kind.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(from_sqlx)?
            .rows_affected();
        if claimed == 0 {
            tx.rollback().await.map_err(from_sqlx)?;
            return Ok(false);
        }
        self.insert_records(&mut *tx, records).await?;
        tx.commit().await.map_err(from_sqlx)?;
        Ok(true)
    }

    /// [`TokenStore::revoke_grant`] as one revocation transaction (see the module doc).
    async fn try_revoke_grant(&self, request_id: &str) -> Result<u64, StoreError> {
        let mut tx = self.begin_revocation().await?;
        let mut n = sqlx::query(&self.sql.revoke_grant).bind(request_id).execute(&mut *tx).await.map_err(from_sqlx)?;
        let mut changed = n.rows_affected();
        if self.dialect == Dialect::MySql {
            n = sqlx::query(&self.sql.revoke_grant).bind(request_id).execute(&mut *tx).await.map_err(from_sqlx)?;
            changed += n.rows_affected();
        }
        tx.commit().await.map_err(from_sqlx)?;
        Ok(changed)
    }

    /// Inserts records with one multi-row statement: all or none.
    pub(super) async fn insert_records<'c, E>(&self, executor: E, records: &[TokenRecord]) -> Result<(), StoreError>
    where
        E: Executor<'c, Database = Any>,
    {
        if records.is_empty() {
            return Ok(());
        }
        let sql = self.sql.insert_tokens(records.len());
        let mut query = sqlx::query(&sql);
        for record in records {
            query = rows::bind(query, token(record)?);
        }
        query.execute(executor).await.map_err(|e| with_conflict(e, || "a token with that signature exists".into()))?;
        Ok(())
    }
}

impl TokenStore for Server {
    async fn insert_tokens(&self, records: &[TokenRecord]) -> Result<(), StoreError> {
        self.outage.check()?;
        self.batcher.insert(records).await
    }

    async fn get_token(&self, kind: TokenKind, signature: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(&self.sql.get_token)
            .bind(signature)
            .bind(kind.as_str())
            .fetch_optional(self.pool()?)
            .await
            .map_err(from_sqlx)?;
        rows::one(&row, decode_token)
    }

    async fn revoke_token(&self, kind: TokenKind, signature: &str) -> Result<bool, StoreError> {
        let done = self.run(sqlx::query(&self.sql.revoke_token).bind(signature).bind(kind.as_str())).await?;
        Ok(done == 1)
    }

    async fn revoke_grant(&self, request_id: &str) -> Result<u64, StoreError> {
        self.retrying(|| self.try_revoke_grant(request_id)).await
    }

    async fn delete_client_access_tokens(&self, client_id: &str) -> Result<u64, StoreError> {
        let done = self.run(sqlx::query(&self.sql.delete_client_access_tokens).bind(client_id)).await?;
        Ok(done)
    }

    // consume_code, consume_device_code, rotate_refresh_token: the retire step above.
    latch_sql::retire_operations!();

    async fn get_device_records(
        &self,
        request_signature: &str,
        approval_signature: &str,
    ) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(&self.sql.get_device_records)
            .bind(request_signature)
            .bind(approval_signature)
            .fetch_all(self.pool()?)
            .await
            .map_err(from_sqlx)?;
        rows::all(&rows, decode_token)
    }

    async fn record_device_poll(&self, signature: &str, now: i64, polled_by: i64) -> Result<bool, StoreError> {
        let done =
            self.run(sqlx::query(&self.sql.record_device_poll).bind(now).bind(signature).bind(polled_by)).await?;
        Ok(done == 1)
    }

    async fn reissue_within_grace(
        &self,
        request_id: &str,
        now: i64,
        successors: &[TokenRecord],
    ) -> Result<bool, StoreError> {
        self.retrying(|| self.try_reissue_within_grace(request_id, now, successors)).await
    }

    async fn insert_tokens_while_active(
        &self,
        kind: TokenKind,
        signature: &str,
        now: i64,
        records: &[TokenRecord],
    ) -> Result<bool, StoreError> {
        self.retrying(|| self.try_insert_tokens_while_active(kind, signature, now, records)).await
    }

    async fn delete_expired_tokens(&self, before: i64, limit: u32) -> Result<u64, StoreError> {
        let done = self.run(sqlx::query(&self.sql.delete_expired_tokens).bind(before).bind(i64::from(limit))).await?;
        Ok(done)
    }
}
