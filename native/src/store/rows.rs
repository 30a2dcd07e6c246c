//! Turning records into bound parameters and rows back into records. The decoding is
//! shared with SQLite's rusqlite path ([`super::lite`]) through [`Columns`].
//!
//! Decoding never panics: a row that does not fit (a NULL where none belongs, JSON that
//! does not parse, an unknown token kind) is a [`StoreError::Backend`].
//!
//! MySQL reports TEXT columns as BLOBs, which sqlx's `Any` driver hands over as bytes,
//! so text columns are read as a string or, failing that, as UTF-8 bytes.

use super::error::bad_row;
use latch_core::client::Client;
use latch_core::error::StoreError;
use latch_core::store::{ConsentRecord, LoginSession, StoredKey, TokenKind, TokenRecord};
use sqlx::any::{Any, AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::Row;

/// A query on the `Any` driver.
pub(crate) type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// A row's columns, read by name: sqlx's rows (every dialect) and rusqlite's (SQLite's
/// serving path, [`super::lite`]) alike, so each record is decoded by one function for
/// both paths and neither can drift from the other.
pub(crate) trait Columns {
    /// A text column.
    fn text(&self, col: &str) -> Result<String, StoreError>;
    /// A nullable text column.
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    /// An integer column.
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    /// A nullable integer column.
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
}

impl Columns for AnyRow {
    fn text(&self, col: &str) -> Result<String, StoreError> {
        match self.try_get::<String, _>(col) {
            Ok(s) => Ok(s),
            Err(first) => self
                .try_get::<Vec<u8>, _>(col)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| bad_row(col, first)),
        }
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self.try_get::<Option<String>, _>(col) {
            Ok(s) => Ok(s),
            Err(first) => match self.try_get::<Option<Vec<u8>>, _>(col) {
                Ok(None) => Ok(None),
                Ok(Some(bytes)) => String::from_utf8(bytes).map(Some).map_err(|e| bad_row(col, e)),
                Err(_) => Err(bad_row(col, first)),
            },
        }
    }

    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.try_get::<i64, _>(col).map_err(|e| bad_row(col, e))
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        self.try_get::<Option<i64>, _>(col).map_err(|e| bad_row(col, e))
    }
}

/// A JSON text column.
fn json<T: serde::de::DeserializeOwned, R: Columns + ?Sized>(row: &R, col: &str) -> Result<T, StoreError> {
    serde_json::from_str(&row.text(col)?).map_err(|e| bad_row(col, e))
}

/// Serializes a value for a JSON text column (also for [`super::lite`]).
pub(crate) fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("cannot serialize {what}: {e}")))
}

/// A client's stored columns.
pub(crate) struct ClientRow {
    pub(crate) data: String,
    pub(crate) secret_hash: Option<String>,
}

impl ClientRow {
    /// The columns of a client. The clear-text `client_secret` is never stored: only
    /// its hash is, in its own column.
    pub(crate) fn new(client: &Client) -> Result<ClientRow, StoreError> {
        let stored = Client { client_secret: None, ..client.clone() };
        Ok(ClientRow { data: to_json("client", &stored)?, secret_hash: client.secret_hash.clone() })
    }
}

/// A client from `data, secret_hash, created_at, updated_at`. The timestamps come from
/// their integer columns, so they survive exactly.
pub(crate) fn client<R: Columns + ?Sized>(row: &R) -> Result<Client, StoreError> {
    let mut client: Client = json(row, "data")?;
    client.secret_hash = row.opt_text("secret_hash")?;
    client.created_at = row.int("created_at")?;
    client.updated_at = row.int("updated_at")?;
    Ok(client)
}

/// Binds one token record's columns in [`super::sql::TOKEN_COLUMNS`] order.
pub(crate) fn bind_token<'q>(q: AnyQuery<'q>, r: &'q TokenRecord) -> Result<AnyQuery<'q>, StoreError> {
    Ok(q.bind(r.signature.as_str())
        .bind(r.kind.as_str())
        .bind(r.request_id.as_str())
        .bind(r.client_id.as_str())
        .bind(r.subject.as_str())
        .bind(r.scope.join(" "))
        .bind(to_json("audience", &r.audience)?)
        .bind(r.issued_at)
        .bind(r.expires_at)
        .bind(i16::from(r.active))
        .bind(r.used_at)
        .bind(to_json("token data", &r.data)?))
}

/// A token record from the [`super::sql::TOKEN_COLUMNS`].
pub(crate) fn token<R: Columns + ?Sized>(row: &R) -> Result<TokenRecord, StoreError> {
    let kind = row.text("kind")?;
    Ok(TokenRecord {
        signature: row.text("signature")?,
        kind: TokenKind::parse(&kind).ok_or_else(|| bad_row("kind", format!("unknown token kind {kind:?}")))?,
        request_id: row.text("request_id")?,
        client_id: row.text("client_id")?,
        subject: row.text("subject")?,
        scope: row.text("scope")?.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        audience: json(row, "audience")?,
        issued_at: row.int("issued_at")?,
        expires_at: row.int("expires_at")?,
        active: row.int("active")? != 0,
        used_at: row.opt_int("used_at")?,
        data: json(row, "data")?,
    })
}

/// A signing key from `set_id, kid, alg, key_use, created_at, sealed`.
pub(crate) fn key<R: Columns + ?Sized>(row: &R) -> Result<StoredKey, StoreError> {
    Ok(StoredKey {
        set: row.text("set_id")?,
        kid: row.text("kid")?,
        alg: row.text("alg")?,
        use_: row.text("key_use")?,
        created_at: row.int("created_at")?,
        sealed: row.text("sealed")?,
    })
}

/// Binds a login session's columns in `LOGIN_SESSION_COLUMNS` order.
pub(crate) fn bind_login_session<'q>(q: AnyQuery<'q>, s: &'q LoginSession) -> Result<AnyQuery<'q>, StoreError> {
    Ok(q.bind(s.id.as_str())
        .bind(s.subject.as_str())
        .bind(s.authenticated_at)
        .bind(s.expires_at)
        .bind(s.acr.as_str())
        .bind(to_json("amr", &s.amr)?))
}

/// A login session from its columns.
pub(crate) fn login_session<R: Columns + ?Sized>(row: &R) -> Result<LoginSession, StoreError> {
    Ok(LoginSession {
        id: row.text("id")?,
        subject: row.text("subject")?,
        authenticated_at: row.int("authenticated_at")?,
        expires_at: row.int("expires_at")?,
        acr: row.text("acr")?,
        amr: json(row, "amr")?,
    })
}

/// Binds a consent's columns in `CONSENT_COLUMNS` order. Scope and audience are JSON
/// arrays, so every value (even one with a space, or an empty one) reads back as it was.
pub(crate) fn bind_consent<'q>(q: AnyQuery<'q>, c: &'q ConsentRecord) -> Result<AnyQuery<'q>, StoreError> {
    Ok(q.bind(c.id.as_str())
        .bind(c.client_id.as_str())
        .bind(c.subject.as_str())
        .bind(c.login_session_id.as_deref())
        .bind(to_json("granted scope", &c.granted_scope)?)
        .bind(to_json("granted audience", &c.granted_audience)?)
        .bind(i16::from(c.remember))
        .bind(c.remember_until)
        .bind(c.handled_at)
        .bind(to_json("consent data", &c.data)?))
}

/// A consent from its columns.
pub(crate) fn consent<R: Columns + ?Sized>(row: &R) -> Result<ConsentRecord, StoreError> {
    Ok(ConsentRecord {
        id: row.text("id")?,
        client_id: row.text("client_id")?,
        subject: row.text("subject")?,
        login_session_id: row.opt_text("login_session_id")?,
        granted_scope: json(row, "granted_scope")?,
        granted_audience: json(row, "granted_audience")?,
        remember: row.int("remember")? != 0,
        remember_until: row.opt_int("remember_until")?,
        handled_at: row.int("handled_at")?,
        data: json(row, "data")?,
    })
}

/// The `id` column of a row.
pub(crate) fn id<R: Columns + ?Sized>(row: &R) -> Result<String, StoreError> {
    row.text("id")
}
