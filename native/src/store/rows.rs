//! sqlx's side of [`latch_sql::rows`]: bound [`Value`]s onto queries, and sqlx's rows as
//! a [`latch_sql::Row`] ([`Sqlx`]), so records are encoded and decoded by the SQL layer's
//! one function each, as on rusqlite and D1.
//!
//! MySQL reports TEXT columns as BLOBs, which sqlx's `Any` driver hands over as bytes,
//! so text columns are read as a string or, failing that, as UTF-8 bytes.

use latch_core::error::StoreError;
use latch_sql::rows::bad_row;
use latch_sql::Value;
use sqlx::any::{Any, AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::Row;
use std::borrow::Cow;

/// A query on the `Any` driver.
pub(crate) type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// Binds values in order (a record's, from [`latch_sql::rows`]). Booleans go as
/// SMALLINT, the columns' type; a NULL keeps its column's type.
pub(crate) fn bind<'q, const N: usize>(mut q: AnyQuery<'q>, values: [Value<'q>; N]) -> AnyQuery<'q> {
    for value in values {
        q = match value {
            Value::Int(n) => q.bind(n),
            Value::Text(Some(Cow::Borrowed(s))) | Value::Name(s) => q.bind(s),
            Value::Text(Some(Cow::Owned(s))) => q.bind(s),
            Value::Text(None) => q.bind(None::<&str>),
            Value::Flag(b) => q.bind(i16::from(b)),
        };
    }
    q
}

/// A sqlx row, read by the SQL layer's decoders.
pub(crate) struct Sqlx<'r>(pub(crate) &'r AnyRow);

impl latch_sql::Row for Sqlx<'_> {
    fn text(&self, col: &str) -> Result<String, StoreError> {
        match self.0.try_get::<String, _>(col) {
            Ok(s) => Ok(s),
            Err(first) => self
                .0
                .try_get::<Vec<u8>, _>(col)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| bad_row(col, first)),
        }
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self.0.try_get::<Option<String>, _>(col) {
            Ok(s) => Ok(s),
            Err(first) => match self.0.try_get::<Option<Vec<u8>>, _>(col) {
                Ok(None) => Ok(None),
                Ok(Some(bytes)) => String::from_utf8(bytes).map(Some).map_err(|e| bad_row(col, e)),
                Err(_) => Err(bad_row(col, first)),
            },
        }
    }

    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.0.try_get::<i64, _>(col).map_err(|e| bad_row(col, e))
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        self.0.try_get::<Option<i64>, _>(col).map_err(|e| bad_row(col, e))
    }
}

/// Decodes each row with one of the SQL layer's decoders.
pub(crate) fn all<'r, T>(
    rows: &'r [AnyRow],
    decode: fn(&Sqlx<'r>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(|r| decode(&Sqlx(r))).collect()
}

/// Decodes the row, if there is one.
pub(crate) fn one<'r, T>(
    row: &'r Option<AnyRow>,
    decode: fn(&Sqlx<'r>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    row.as_ref().map(|r| decode(&Sqlx(r))).transpose()
}
