//! Records into bound values ([`Value`], in the column order of
//! [`crate::statements`]) and rows back into records ([`Row`]), once for every backend:
//! scope is space-joined; audiences, `amr`, granted scope and audience are JSON arrays
//! (so every value, even one with a space or an empty one, reads back as it was); `data`
//! columns hold JSON text; booleans are 0/1; times are Unix seconds.
//!
//! Decoding never panics: a row that does not fit (a NULL where none belongs, JSON that
//! does not parse, an unknown token kind) is a [`StoreError::Backend`].

use crate::statements::{CONSENT_COLUMN_COUNT, TOKEN_COLUMN_COUNT};
use latch_core::client::Client;
use latch_core::error::StoreError;
use latch_core::store::{ConsentRecord, LoginSession, StoredKey, TokenKind, TokenRecord, TrustGrant};
use std::borrow::Cow;

/// One bound value. A NULL keeps its column's type (PostgreSQL checks the type of every
/// parameter, even a NULL one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// BIGINT (INTEGER), or NULL.
    Int(Option<i64>),
    /// TEXT, or NULL; borrowed from the record where it is stored as is.
    Text(Option<Cow<'a, str>>),
    /// A boolean column: SMALLINT 0 or 1.
    Flag(bool),
    /// TEXT that is one of a fixed set of names (a token kind): never copied, not even
    /// into a write handed to another thread.
    Name(&'static str),
}

impl Value<'_> {
    /// The value without borrows (for a write handed to another thread).
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Int(n) => Value::Int(n),
            Value::Text(s) => Value::Text(s.map(|s| Cow::Owned(s.into_owned()))),
            Value::Flag(b) => Value::Flag(b),
            Value::Name(s) => Value::Name(s),
        }
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Value<'a> {
        Value::Text(Some(Cow::Borrowed(s)))
    }
}
impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value::Text(Some(Cow::Owned(s)))
    }
}
impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(s: Option<&'a str>) -> Value<'a> {
        Value::Text(s.map(Cow::Borrowed))
    }
}
impl From<i64> for Value<'_> {
    fn from(n: i64) -> Self {
        Value::Int(Some(n))
    }
}
impl From<Option<i64>> for Value<'_> {
    fn from(n: Option<i64>) -> Self {
        Value::Int(n)
    }
}

/// A row's columns, read by name. Each backend implements it for its rows (rusqlite's,
/// sqlx's, D1's JSON objects), so each record is decoded by one function for all.
pub trait Row {
    /// A text column.
    fn text(&self, col: &str) -> Result<String, StoreError>;
    /// A nullable text column.
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    /// An integer column.
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    /// A nullable integer column.
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
}

/// A row that cannot be turned back into a record.
pub fn bad_row(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("unreadable {what}: {detail}"))
}

/// Serializes a value for a JSON text column.
fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("cannot serialize {what}: {e}")))
}

/// A JSON text column.
fn json<T: serde::de::DeserializeOwned, R: Row + ?Sized>(row: &R, col: &str) -> Result<T, StoreError> {
    serde_json::from_str(&row.text(col)?).map_err(|e| bad_row(col, e))
}

/// A client's columns in [`crate::statements::CLIENT_WRITE_COLUMNS`] order (the id first,
/// as the insert binds them). The clear-text `client_secret` is never stored: only its
/// hash is, in its own column.
pub fn client(c: &Client) -> Result<[Value<'_>; 7], StoreError> {
    let stored = Client { client_secret: None, ..c.clone() };
    Ok([
        c.client_id.as_str().into(),
        c.client_name.as_str().into(),
        c.owner.as_str().into(),
        to_json("client", &stored)?.into(),
        c.secret_hash.as_deref().into(),
        c.created_at.into(),
        c.updated_at.into(),
    ])
}

/// [`client`]'s columns as the update binds them: the id last.
pub fn client_update(c: &Client) -> Result<[Value<'_>; 7], StoreError> {
    let mut values = client(c)?;
    values.rotate_left(1);
    Ok(values)
}

/// [`client_update`]'s values, then the `updated_at` the stored row must still have
/// (`Queries::update_client_if_unchanged`).
pub fn client_update_if(c: &Client, expected_updated_at: i64) -> Result<[Value<'_>; 8], StoreError> {
    let [a, b, d, e, f, g, id] = client_update(c)?;
    Ok([a, b, d, e, f, g, id, expected_updated_at.into()])
}

/// A client from `CLIENT_COLUMNS`. The timestamps come from their integer columns, so
/// they survive exactly.
pub fn decode_client<R: Row + ?Sized>(row: &R) -> Result<Client, StoreError> {
    let mut client: Client = json(row, "data")?;
    client.secret_hash = row.opt_text("secret_hash")?;
    client.created_at = row.int("created_at")?;
    client.updated_at = row.int("updated_at")?;
    Ok(client)
}

/// A token record's columns in `TOKEN_COLUMNS` order.
pub fn token(r: &TokenRecord) -> Result<[Value<'_>; TOKEN_COLUMN_COUNT], StoreError> {
    Ok([
        r.signature.as_str().into(),
        Value::Name(r.kind.as_str()),
        r.request_id.as_str().into(),
        r.client_id.as_str().into(),
        r.subject.as_str().into(),
        r.scope.join(" ").into(),
        to_json("audience", &r.audience)?.into(),
        r.issued_at.into(),
        r.expires_at.into(),
        Value::Flag(r.active),
        r.used_at.into(),
        to_json("token data", &r.data)?.into(),
    ])
}

/// A token record from the `TOKEN_COLUMNS`.
pub fn decode_token<R: Row + ?Sized>(row: &R) -> Result<TokenRecord, StoreError> {
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

/// A signing key's columns in `KEY_COLUMNS` order.
pub fn key(k: &StoredKey) -> [Value<'_>; 6] {
    [
        k.set.as_str().into(),
        k.kid.as_str().into(),
        k.alg.as_str().into(),
        k.use_.as_str().into(),
        k.created_at.into(),
        k.sealed.as_str().into(),
    ]
}

/// A signing key from `KEY_COLUMNS`.
pub fn decode_key<R: Row + ?Sized>(row: &R) -> Result<StoredKey, StoreError> {
    Ok(StoredKey {
        set: row.text("set_id")?,
        kid: row.text("kid")?,
        alg: row.text("alg")?,
        use_: row.text("key_use")?,
        created_at: row.int("created_at")?,
        sealed: row.text("sealed")?,
    })
}

/// A login session's columns in `LOGIN_SESSION_COLUMNS` order.
pub fn login_session(s: &LoginSession) -> Result<[Value<'_>; 7], StoreError> {
    Ok([
        s.id.as_str().into(),
        s.subject.as_str().into(),
        s.authenticated_at.into(),
        s.expires_at.into(),
        s.acr.as_str().into(),
        to_json("amr", &s.amr)?.into(),
        s.identity_provider_session_id.as_str().into(),
    ])
}

/// A login session from `LOGIN_SESSION_COLUMNS`.
pub fn decode_login_session<R: Row + ?Sized>(row: &R) -> Result<LoginSession, StoreError> {
    Ok(LoginSession {
        id: row.text("id")?,
        subject: row.text("subject")?,
        authenticated_at: row.int("authenticated_at")?,
        expires_at: row.int("expires_at")?,
        acr: row.text("acr")?,
        amr: json(row, "amr")?,
        identity_provider_session_id: row.text("identity_provider_session_id")?,
    })
}

/// A consent's columns in `CONSENT_COLUMNS` order.
pub fn consent(c: &ConsentRecord) -> Result<[Value<'_>; CONSENT_COLUMN_COUNT], StoreError> {
    Ok([
        c.id.as_str().into(),
        c.client_id.as_str().into(),
        c.subject.as_str().into(),
        c.login_session_id.as_deref().into(),
        to_json("granted scope", &c.granted_scope)?.into(),
        to_json("granted audience", &c.granted_audience)?.into(),
        Value::Flag(c.remember),
        c.remember_until.into(),
        c.handled_at.into(),
        to_json("consent data", &c.data)?.into(),
    ])
}

/// A consent from `CONSENT_COLUMNS`.
pub fn decode_consent<R: Row + ?Sized>(row: &R) -> Result<ConsentRecord, StoreError> {
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

/// A trust grant's columns in `TRUST_COLUMNS` order.
pub fn trust(g: &TrustGrant) -> Result<[Value<'_>; crate::statements::TRUST_COLUMN_COUNT], StoreError> {
    Ok([
        g.id.as_str().into(),
        g.issuer.as_str().into(),
        g.subject.as_str().into(),
        Value::Flag(g.allow_any_subject),
        to_json("trust scope", &g.scope)?.into(),
        g.key_id.as_str().into(),
        to_json("trust key", &g.jwk)?.into(),
        g.created_at.into(),
        g.expires_at.into(),
        g.natural_key().into(),
    ])
}

/// A trust grant from `TRUST_COLUMNS`.
pub fn decode_trust<R: Row + ?Sized>(row: &R) -> Result<TrustGrant, StoreError> {
    Ok(TrustGrant {
        id: row.text("id")?,
        issuer: row.text("issuer")?,
        subject: row.text("subject")?,
        allow_any_subject: row.int("allow_any_subject")? != 0,
        scope: json(row, "scope")?,
        key_id: row.text("key_id")?,
        jwk: json(row, "jwk")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
    })
}

/// The `id` column of a row.
pub fn decode_id<R: Row + ?Sized>(row: &R) -> Result<String, StoreError> {
    row.text("id")
}

/// A row as a JSON object (D1's rows; also the form the Worker caches key sets in). D1
/// hands integers over as JavaScript numbers, exact up to 2^53, far beyond any time
/// Latch stores.
pub type JsonRow = serde_json::Map<String, serde_json::Value>;

impl Row for JsonRow {
    fn text(&self, col: &str) -> Result<String, StoreError> {
        self.opt_text(col)?.ok_or_else(|| bad_row(col, "NULL"))
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self.get(col) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(bad_row(col, format!("not text: {other}"))),
        }
    }

    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.opt_int(col)?.ok_or_else(|| bad_row(col, "NULL"))
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        match self.get(col) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Number(n)) => match n.as_i64() {
                Some(n) => Ok(Some(n)),
                // A JavaScript number arrives as a float: integral ones are integers.
                None => n
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER as f64)
                    .map(|f| Some(f as i64))
                    .ok_or_else(|| bad_row(col, format!("not an integer: {n}"))),
            },
            Some(other) => Err(bad_row(col, format!("not an integer: {other}"))),
        }
    }
}

/// The largest integer a JavaScript number holds exactly.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Values as a JSON row under `columns` (what D1 hands back for them).
pub fn json_row(columns: &str, values: &[Value<'_>]) -> JsonRow {
    let json = values.iter().map(|v| match v {
        Value::Int(n) => n.map_or(serde_json::Value::Null, Into::into),
        Value::Text(s) => s.as_deref().map_or(serde_json::Value::Null, Into::into),
        Value::Flag(b) => i64::from(*b).into(),
        Value::Name(s) => (*s).into(),
    });
    columns.split(',').map(|c| c.trim().to_owned()).zip(json).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statements::{CONSENT_COLUMNS, KEY_COLUMNS, LOGIN_SESSION_COLUMNS, TOKEN_COLUMNS};
    use serde_json::json;

    #[test]
    fn tokens_round_trip() {
        let r = TokenRecord {
            signature: "sig".into(),
            kind: TokenKind::RefreshToken,
            request_id: "req".into(),
            client_id: "c".into(),
            subject: "u ü".into(),
            scope: vec!["openid".into(), "offline".into()],
            audience: vec!["https://api".into(), "a b".into()],
            issued_at: -5,
            expires_at: 4_000_000_000,
            active: false,
            used_at: Some(1_700_000_123),
            data: json!({"ext": {"n": 1.5}}),
        };
        let values = token(&r).unwrap();
        let row = json_row(TOKEN_COLUMNS, &values);
        assert_eq!(decode_token(&row).unwrap(), r);
        // A write handed to another thread copies the record's strings, never its kind.
        let owned = values.map(Value::into_owned);
        assert_eq!(owned[1], Value::Name("refresh_token"));
        assert_eq!(owned[0], Value::from("sig"));
    }

    #[test]
    fn consents_round_trip_and_bad_rows_are_errors() {
        let c = ConsentRecord {
            id: "id".into(),
            client_id: "c".into(),
            subject: "s".into(),
            login_session_id: None,
            granted_scope: vec!["a b".into(), String::new()],
            granted_audience: vec![],
            remember: true,
            remember_until: None,
            handled_at: 7,
            data: json!({"context": [1]}),
        };
        let values = consent(&c).unwrap();
        assert_eq!(values[3], Value::Text(None), "a NULL keeps its type");
        let mut row = json_row(CONSENT_COLUMNS, &values);
        assert_eq!(decode_consent(&row).unwrap(), c);
        row.insert("data".into(), json!("{not json"));
        assert!(matches!(decode_consent(&row), Err(StoreError::Backend(_))));
        row.remove("handled_at");
        assert!(matches!(decode_consent(&row), Err(StoreError::Backend(_))));
    }

    #[test]
    fn keys_and_sessions_round_trip() {
        let k = StoredKey {
            set: "s".into(),
            kid: "k".into(),
            alg: "RS256".into(),
            use_: "sig".into(),
            created_at: 3,
            sealed: "x".into(),
        };
        assert_eq!(decode_key(&json_row(KEY_COLUMNS, &key(&k))).unwrap(), k);
        let s = LoginSession {
            id: "i".into(),
            subject: "u".into(),
            authenticated_at: 1,
            expires_at: 2,
            acr: "0".into(),
            amr: vec!["pwd".into()],
            identity_provider_session_id: "kratos-session".into(),
        };
        assert_eq!(decode_login_session(&json_row(LOGIN_SESSION_COLUMNS, &login_session(&s).unwrap())).unwrap(), s);
    }

    #[test]
    fn client_values_never_carry_the_clear_secret() {
        let c = Client {
            client_id: "id".into(),
            client_secret: Some("clear".into()),
            secret_hash: Some("$pbkdf2$x".into()),
            created_at: 5,
            ..Client::default()
        };
        let values = client(&c).unwrap();
        assert_eq!(values[0], Value::from("id"));
        assert!(!format!("{values:?}").contains("clear"));
        assert_eq!(client_update(&c).unwrap().last(), Some(&Value::from("id")));
        let row = json_row("id, client_name, owner, data, secret_hash, created_at, updated_at", &values);
        let back = decode_client(&row).unwrap();
        assert_eq!((back.client_secret, back.secret_hash, back.created_at), (None, c.secret_hash, 5));
    }

    #[test]
    fn json_integers_may_arrive_as_floats() {
        let row: JsonRow = serde_json::from_value(json!({"a": 1.0e9, "b": 1.5, "c": null})).unwrap();
        assert_eq!(row.int("a").unwrap(), 1_000_000_000);
        assert!(row.int("b").is_err());
        assert_eq!(row.opt_int("c").unwrap(), None);
        assert!(row.int("c").is_err());
    }
}
