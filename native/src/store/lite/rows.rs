//! Records into rusqlite parameters and rows back into records, column for column as
//! [`crate::store::rows`] does for sqlx (the same columns, JSON and encodings, so either
//! path reads what the other wrote). Rows are decoded by `rows`' own functions, through
//! its [`Columns`] trait.
//!
//! Records are turned into parameters on the caller's thread, before a write is queued:
//! a record that cannot be serialized fails its own call and never reaches the writer.
//! Decoding never panics: a row that does not fit is a [`StoreError::Backend`].

use super::error::from_rusqlite;
use crate::store::error::bad_row;
use crate::store::rows::{self as shared, to_json, Columns};
use latch_core::client::Client;
use latch_core::error::StoreError;
use latch_core::store::{ConsentRecord, LoginSession, StoredKey, TokenRecord};
use rusqlite::types::FromSql;
use rusqlite::{Params, Row, Statement};

/// A record a row decodes into, with the shared decoders of [`crate::store::rows`].
pub(super) trait Record: Sized {
    fn decode(row: &Row<'_>) -> Result<Self, StoreError>;
}

/// `Record` by the shared decoder of each type.
macro_rules! records {
    ($($record:ty => $decode:path,)*) => {$(
        impl Record for $record {
            fn decode(row: &Row<'_>) -> Result<Self, StoreError> {
                $decode(row)
            }
        }
    )*};
}

records!(
    Client => shared::client,
    TokenRecord => shared::token,
    StoredKey => shared::key,
    LoginSession => shared::login_session,
    ConsentRecord => shared::consent,
    // A row's `id` column: the ids of the consents a revocation takes.
    String => shared::id,
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

impl Columns for Row<'_> {
    fn text(&self, col: &str) -> Result<String, StoreError> {
        get(self, col)
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        get(self, col)
    }

    fn int(&self, col: &str) -> Result<i64, StoreError> {
        get(self, col)
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        get(self, col)
    }
}

/// A column of any type rusqlite converts (a NULL only into an `Option`).
fn get<T: FromSql>(row: &Row<'_>, col: &str) -> Result<T, StoreError> {
    row.get(col).map_err(|e| bad_row(col, e))
}

/// A token record's columns, in [`crate::store::sql::TOKEN_COLUMNS`] order.
pub(super) struct TokenRow {
    signature: String,
    kind: &'static str,
    request_id: String,
    client_id: String,
    subject: String,
    scope: String,
    audience: String,
    issued_at: i64,
    expires_at: i64,
    active: i64,
    used_at: Option<i64>,
    data: String,
}

impl TokenRow {
    /// The columns of each record.
    pub(super) fn all(records: &[TokenRecord]) -> Result<Vec<TokenRow>, StoreError> {
        records.iter().map(TokenRow::new).collect()
    }

    fn new(r: &TokenRecord) -> Result<TokenRow, StoreError> {
        Ok(TokenRow {
            signature: r.signature.clone(),
            kind: r.kind.as_str(),
            request_id: r.request_id.clone(),
            client_id: r.client_id.clone(),
            subject: r.subject.clone(),
            scope: r.scope.join(" "),
            audience: to_json("audience", &r.audience)?,
            issued_at: r.issued_at,
            expires_at: r.expires_at,
            active: i64::from(r.active),
            used_at: r.used_at,
            data: to_json("token data", &r.data)?,
        })
    }

    /// Runs a one-row `INSERT` of the token columns.
    pub(super) fn insert(&self, stmt: &mut Statement<'_>) -> rusqlite::Result<usize> {
        stmt.execute(rusqlite::params![
            self.signature,
            self.kind,
            self.request_id,
            self.client_id,
            self.subject,
            self.scope,
            self.audience,
            self.issued_at,
            self.expires_at,
            self.active,
            self.used_at,
            self.data,
        ])
    }
}

/// A consent's columns in `CONSENT_COLUMNS` order (scope and audience as JSON arrays,
/// as `rows::bind_consent` writes them).
pub(super) struct ConsentRow {
    id: String,
    client_id: String,
    subject: String,
    login_session_id: Option<String>,
    granted_scope: String,
    granted_audience: String,
    remember: i64,
    remember_until: Option<i64>,
    handled_at: i64,
    data: String,
}

impl ConsentRow {
    pub(super) fn new(c: &ConsentRecord) -> Result<ConsentRow, StoreError> {
        Ok(ConsentRow {
            id: c.id.clone(),
            client_id: c.client_id.clone(),
            subject: c.subject.clone(),
            login_session_id: c.login_session_id.clone(),
            granted_scope: to_json("granted scope", &c.granted_scope)?,
            granted_audience: to_json("granted audience", &c.granted_audience)?,
            remember: i64::from(c.remember),
            remember_until: c.remember_until,
            handled_at: c.handled_at,
            data: to_json("consent data", &c.data)?,
        })
    }

    /// The consent's id.
    pub(super) fn id(&self) -> &str {
        &self.id
    }

    /// Runs the consent `INSERT`.
    pub(super) fn insert(&self, stmt: &mut Statement<'_>) -> rusqlite::Result<usize> {
        stmt.execute(rusqlite::params![
            self.id,
            self.client_id,
            self.subject,
            self.login_session_id,
            self.granted_scope,
            self.granted_audience,
            self.remember,
            self.remember_until,
            self.handled_at,
            self.data,
        ])
    }
}
