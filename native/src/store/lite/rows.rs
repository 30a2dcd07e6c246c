//! rusqlite's side of [`latch_sql::rows`]: bound [`Value`]s as rusqlite parameters
//! ([`Param`]) and rusqlite's rows as a [`latch_sql::Row`], so records are encoded and
//! decoded by the SQL layer's one function each, as on sqlx and D1 (either path reads
//! what the other wrote).
//!
//! Records are turned into values on the caller's thread, before a write is queued:
//! a record that cannot be serialized fails its own call and never reaches the writer.
//! Decoding never panics: a row that does not fit is a [`StoreError::Backend`].

use super::error::from_rusqlite;
use latch_core::client::Client;
use latch_core::error::StoreError;
use latch_core::store::{ConsentRecord, LoginSession, StoredKey, TokenRecord, TrustGrant};
use latch_sql::rows::{self as shared, bad_row};
use latch_sql::statements::{CONSENT_COLUMN_COUNT, TOKEN_COLUMN_COUNT};
use latch_sql::Value;
use rusqlite::types::{FromSql, Null, ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Params, Row, Statement};

/// A record a row decodes into, with the SQL layer's decoders.
pub(super) trait Record: Sized {
    fn decode(row: &Row<'_>) -> Result<Self, StoreError>;
}

/// `Record` by the shared decoder of each type.
macro_rules! records {
    ($($record:ty => $decode:path,)*) => {$(
        impl Record for $record {
            fn decode(row: &Row<'_>) -> Result<Self, StoreError> {
                $decode(&Lite(row))
            }
        }
    )*};
}

records!(
    Client => shared::decode_client,
    TokenRecord => shared::decode_token,
    StoredKey => shared::decode_key,
    LoginSession => shared::decode_login_session,
    ConsentRecord => shared::decode_consent,
    TrustGrant => shared::decode_trust,
    // A row's `id` column: the ids of the consents a revocation takes.
    String => shared::decode_id,
);

/// Every row a statement yields, decoded.
pub(super) fn all<T: Record>(stmt: &mut Statement<'_>, params: impl Params) -> Result<Vec<T>, StoreError> {
    let mut rows = stmt.query(params).map_err(from_rusqlite)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(from_rusqlite)? {
        out.push(T::decode(row)?);
    }
    Ok(out)
}

/// The first row a statement yields, decoded (the statement is reset after it).
pub(super) fn first<T: Record>(stmt: &mut Statement<'_>, params: impl Params) -> Result<Option<T>, StoreError> {
    let mut rows = stmt.query(params).map_err(from_rusqlite)?;
    rows.next().map_err(from_rusqlite)?.map(T::decode).transpose()
}

/// A rusqlite row, read by the SQL layer's decoders.
struct Lite<'a, 'r>(&'a Row<'r>);

impl latch_sql::Row for Lite<'_, '_> {
    fn text(&self, col: &str) -> Result<String, StoreError> {
        get(self.0, col)
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        get(self.0, col)
    }

    fn int(&self, col: &str) -> Result<i64, StoreError> {
        get(self.0, col)
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        get(self.0, col)
    }
}

/// A column of any type rusqlite converts (a NULL only into an `Option`).
fn get<T: FromSql>(row: &Row<'_>, col: &str) -> Result<T, StoreError> {
    row.get(col).map_err(|e| bad_row(col, e))
}

/// A bound value as a rusqlite parameter.
pub(super) struct Param<'a>(pub(super) &'a Value<'a>);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(output(self.0))
    }
}

/// A value as rusqlite binds it (text borrowed, not copied).
pub(super) fn output<'a>(value: &'a Value<'_>) -> ToSqlOutput<'a> {
    match value {
        Value::Int(Some(n)) => ToSqlOutput::from(*n),
        Value::Text(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Name(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Flag(b) => ToSqlOutput::from(i64::from(*b)),
        Value::Int(None) | Value::Text(None) => ToSqlOutput::from(Null),
    }
}

/// Runs a statement with a record's values bound in order.
pub(super) fn execute(stmt: &mut Statement<'_>, values: &[Value<'_>]) -> rusqlite::Result<usize> {
    stmt.execute(rusqlite::params_from_iter(values.iter().map(Param)))
}

/// A token record's values, owned (for the writer thread).
pub(super) type TokenRow = [Value<'static>; TOKEN_COLUMN_COUNT];

/// The values of each token record.
pub(super) fn token_rows(records: &[TokenRecord]) -> Result<Vec<TokenRow>, StoreError> {
    records.iter().map(|r| Ok(shared::token(r)?.map(Value::into_owned))).collect()
}

/// A consent's values, owned (for the writer thread).
pub(super) type ConsentRow = [Value<'static>; CONSENT_COLUMN_COUNT];

/// The values of a consent.
pub(super) fn consent_row(c: &ConsentRecord) -> Result<ConsentRow, StoreError> {
    Ok(shared::consent(c)?.map(Value::into_owned))
}
