//! Latch's SQL layer: what every SQL backend (rusqlite and sqlx in `latch-native`, D1 in
//! `latch-edge`) runs, written once and with no IO. [`statements`] holds every statement
//! (one text with `?` placeholders, translated once per [`Dialect`]; variants only where
//! the dialects truly differ); [`rows`] turns each record into its bound [`Value`]s and
//! each row (through the [`Row`] trait a backend implements) back into its record;
//! [`Retired`] is what the retire step of `consume_code` and `rotate_refresh_token`
//! found. The backends are executors of these.

mod dialect;
pub mod rows;
pub mod statements;

pub use dialect::Dialect;
pub use rows::{Row, Value};
pub use statements::{BatchQueries, Queries};

use latch_core::error::StoreError;
use latch_core::store::{Consumed, Rotated, TokenRecord};

/// What retiring a token (consuming a code, rotating a refresh token) found.
#[derive(Debug)]
pub enum Retired {
    /// This call retired the token; the record as it was before.
    Now(TokenRecord),
    /// The token was inactive already; the record as it is.
    Before(TokenRecord),
    /// No token of that kind with that signature.
    Missing,
}

impl Retired {
    /// What the retiring statement decided: `changed` rows (1 for the winner), and the
    /// row as it was read. The winner's record is returned as it was before (only an
    /// active token can be retired, and only retiring sets `used_at`).
    pub fn decide(signature: &str, changed: u64, record: Option<TokenRecord>) -> Result<Retired, StoreError> {
        match (changed, record) {
            (1, Some(mut record)) => {
                record.active = true;
                record.used_at = None;
                Ok(Retired::Now(record))
            }
            (0, record) => Ok(record.map_or(Retired::Missing, Retired::Before)),
            (n, _) => Err(StoreError::Backend(format!("retiring token {signature} changed {n} rows"))),
        }
    }

    /// The outcome of consuming a code.
    pub fn consumed(self) -> Consumed {
        match self {
            Retired::Now(record) => Consumed::Consumed(record),
            Retired::Before(record) => Consumed::AlreadyUsed(record),
            Retired::Missing => Consumed::Missing,
        }
    }

    /// The outcome of rotating a refresh token.
    pub fn rotated(self) -> Rotated {
        match self {
            Retired::Now(record) => Rotated::Rotated(record),
            Retired::Before(record) => Rotated::AlreadyUsed(record),
            Retired::Missing => Rotated::Missing,
        }
    }
}

/// The two [`TokenStore`](latch_core::store::TokenStore) operations that are the retire
/// step, for a store with an `async fn retire(&self, kind, signature, now, successors) ->
/// Result<Retired, StoreError>`: `consume_code` retires an authorization code, `consume_device_code` an approved device
/// authorization,
/// `rotate_refresh_token` a refresh token. Expands inside the store's `impl TokenStore`.
#[macro_export]
macro_rules! retire_operations {
    () => {
        async fn consume_code(
            &self,
            signature: &str,
            now: i64,
            tokens: &[latch_core::store::TokenRecord],
        ) -> Result<latch_core::store::Consumed, latch_core::error::StoreError> {
            Ok(self.retire(latch_core::store::TokenKind::AuthorizationCode, signature, now, tokens).await?.consumed())
        }

        async fn consume_device_code(
            &self,
            signature: &str,
            now: i64,
            tokens: &[latch_core::store::TokenRecord],
        ) -> Result<latch_core::store::Consumed, latch_core::error::StoreError> {
            Ok(self.retire(latch_core::store::TokenKind::DeviceCode, signature, now, tokens).await?.consumed())
        }

        async fn rotate_refresh_token(
            &self,
            signature: &str,
            now: i64,
            successors: &[latch_core::store::TokenRecord],
        ) -> Result<latch_core::store::Rotated, latch_core::error::StoreError> {
            Ok(self.retire(latch_core::store::TokenKind::RefreshToken, signature, now, successors).await?.rotated())
        }
    };
}
