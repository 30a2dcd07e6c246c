//! Records to bound parameters ([`Arg`]) and D1 rows back to records.
//!
//! The encoding is the native SQL store's (`native/src/store/rows.rs`): scope is
//! space-joined, audiences, `amr`, granted scope and audience are JSON arrays, `data`
//! columns hold JSON text, booleans are 0/1, times are Unix seconds. D1 returns
//! numbers as JavaScript numbers, exact up to 2^53, far beyond any time Latch stores.
//!
//! Decoding never panics: a row that does not fit is a [`StoreError::Backend`].

use latch_core::client::Client;
use latch_core::error::StoreError;
use latch_core::store::{ConsentRecord, LoginSession, StoredKey, TokenKind, TokenRecord};
use serde::Deserialize;

/// One bound parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// TEXT.
    Text(String),
    /// INTEGER (sent as a JavaScript number: D1 takes no BigInt).
    Int(i64),
    /// NULL.
    Null,
}

impl From<&str> for Arg {
    fn from(s: &str) -> Arg {
        Arg::Text(s.to_owned())
    }
}
impl From<String> for Arg {
    fn from(s: String) -> Arg {
        Arg::Text(s)
    }
}
impl From<i64> for Arg {
    fn from(n: i64) -> Arg {
        Arg::Int(n)
    }
}
impl From<bool> for Arg {
    fn from(b: bool) -> Arg {
        Arg::Int(i64::from(b))
    }
}
impl<T: Into<Arg>> From<Option<T>> for Arg {
    fn from(v: Option<T>) -> Arg {
        v.map_or(Arg::Null, Into::into)
    }
}

/// The largest integer a JavaScript number holds exactly.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("cannot serialize {what}: {e}")))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| bad_row(what, e))
}

/// A row that cannot be turned back into a record.
pub fn bad_row(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("unreadable {what}: {detail}"))
}

/// The columns of `INSERT_CLIENT` (id first), or of `UPDATE_CLIENT` (id last). The
/// clear-text `client_secret` is never stored: only its hash, in its own column.
pub fn client_args(client: &Client, id_last: bool) -> Result<Vec<Arg>, StoreError> {
    let stored = Client { client_secret: None, ..client.clone() };
    let mut args = vec![
        Arg::from(client.client_name.as_str()),
        Arg::from(client.owner.as_str()),
        Arg::from(to_json("client", &stored)?),
        Arg::from(client.secret_hash.clone()),
        Arg::from(client.created_at),
        Arg::from(client.updated_at),
    ];
    if id_last {
        args.push(client.client_id.as_str().into());
    } else {
        args.insert(0, client.client_id.as_str().into());
    }
    Ok(args)
}

/// A client row (`CLIENT_COLUMNS`).
#[derive(Debug, Deserialize)]
pub struct ClientRow {
    data: String,
    secret_hash: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl ClientRow {
    /// The client; the timestamps and hash come from their own columns.
    pub fn into_client(self) -> Result<Client, StoreError> {
        let mut client: Client = from_json("client", &self.data)?;
        client.secret_hash = self.secret_hash;
        client.created_at = self.created_at;
        client.updated_at = self.updated_at;
        Ok(client)
    }
}

/// A token record's columns in `TOKEN_COLUMNS` order.
pub fn token_args(r: &TokenRecord) -> Result<Vec<Arg>, StoreError> {
    Ok(vec![
        r.signature.as_str().into(),
        r.kind.as_str().into(),
        r.request_id.as_str().into(),
        r.client_id.as_str().into(),
        r.subject.as_str().into(),
        r.scope.join(" ").into(),
        to_json("audience", &r.audience)?.into(),
        r.issued_at.into(),
        r.expires_at.into(),
        r.active.into(),
        r.used_at.into(),
        to_json("token data", &r.data)?.into(),
    ])
}

/// A token row (`TOKEN_COLUMNS`).
#[derive(Debug, Deserialize)]
pub struct TokenRow {
    signature: String,
    kind: String,
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
    /// The record.
    pub fn into_record(self) -> Result<TokenRecord, StoreError> {
        let kind = TokenKind::parse(&self.kind)
            .ok_or_else(|| bad_row("kind", format!("unknown token kind {:?}", self.kind)))?;
        Ok(TokenRecord {
            signature: self.signature,
            kind,
            request_id: self.request_id,
            client_id: self.client_id,
            subject: self.subject,
            scope: self.scope.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            audience: from_json("audience", &self.audience)?,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            active: self.active != 0,
            used_at: self.used_at,
            data: from_json("token data", &self.data)?,
        })
    }
}

/// A key's columns in `KEY_COLUMNS` order.
pub fn key_args(k: &StoredKey) -> Vec<Arg> {
    vec![
        k.set.as_str().into(),
        k.kid.as_str().into(),
        k.alg.as_str().into(),
        k.use_.as_str().into(),
        k.created_at.into(),
        k.sealed.as_str().into(),
    ]
}

/// A key row (`KEY_COLUMNS`); also the form the key-set cache keeps in KV.
#[derive(Debug, Deserialize, serde::Serialize)]
pub struct KeyRow {
    set_id: String,
    kid: String,
    alg: String,
    key_use: String,
    created_at: i64,
    sealed: String,
}

impl KeyRow {
    /// The key.
    pub fn into_key(self) -> StoredKey {
        StoredKey {
            set: self.set_id,
            kid: self.kid,
            alg: self.alg,
            use_: self.key_use,
            created_at: self.created_at,
            sealed: self.sealed,
        }
    }
}

/// A login session's columns in `LOGIN_SESSION_COLUMNS` order.
pub fn login_session_args(s: &LoginSession) -> Result<Vec<Arg>, StoreError> {
    Ok(vec![
        s.id.as_str().into(),
        s.subject.as_str().into(),
        s.authenticated_at.into(),
        s.expires_at.into(),
        s.acr.as_str().into(),
        to_json("amr", &s.amr)?.into(),
    ])
}

/// A login session row.
#[derive(Debug, Deserialize)]
pub struct LoginSessionRow {
    id: String,
    subject: String,
    authenticated_at: i64,
    expires_at: i64,
    acr: String,
    amr: String,
}

impl LoginSessionRow {
    /// The session.
    pub fn into_session(self) -> Result<LoginSession, StoreError> {
        Ok(LoginSession {
            id: self.id,
            subject: self.subject,
            authenticated_at: self.authenticated_at,
            expires_at: self.expires_at,
            acr: self.acr,
            amr: from_json("amr", &self.amr)?,
        })
    }
}

/// A consent's columns in `CONSENT_COLUMNS` order.
pub fn consent_args(c: &ConsentRecord) -> Result<Vec<Arg>, StoreError> {
    Ok(vec![
        c.id.as_str().into(),
        c.client_id.as_str().into(),
        c.subject.as_str().into(),
        c.login_session_id.as_deref().into(),
        to_json("granted scope", &c.granted_scope)?.into(),
        to_json("granted audience", &c.granted_audience)?.into(),
        c.remember.into(),
        c.remember_until.into(),
        c.handled_at.into(),
        to_json("consent data", &c.data)?.into(),
    ])
}

/// A consent row.
#[derive(Debug, Deserialize)]
pub struct ConsentRow {
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
    /// The consent.
    pub fn into_consent(self) -> Result<ConsentRecord, StoreError> {
        Ok(ConsentRecord {
            id: self.id,
            client_id: self.client_id,
            subject: self.subject,
            login_session_id: self.login_session_id,
            granted_scope: from_json("granted scope", &self.granted_scope)?,
            granted_audience: from_json("granted audience", &self.granted_audience)?,
            remember: self.remember != 0,
            remember_until: self.remember_until,
            handled_at: self.handled_at,
            data: from_json("consent data", &self.data)?,
        })
    }
}

/// A row of `d1_migrations`.
#[derive(Debug, Deserialize)]
pub struct MigrationRow {
    /// The migration file's name.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// What D1 would hand back for bound `args` under `columns`.
    fn row(columns: &str, args: &[Arg]) -> Value {
        let values = args.iter().map(|a| match a {
            Arg::Text(s) => json!(s),
            Arg::Int(n) => json!(n),
            Arg::Null => Value::Null,
        });
        Value::Object(columns.split(',').map(|c| c.trim().to_owned()).zip(values).collect())
    }

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
        let v = row(super::super::sql::TOKEN_COLUMNS, &token_args(&r).unwrap());
        let back: TokenRow = serde_json::from_value(v).unwrap();
        assert_eq!(back.into_record().unwrap(), r);
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
        let v = row(super::super::sql::CONSENT_COLUMNS, &consent_args(&c).unwrap());
        let back: ConsentRow = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back.into_consent().unwrap(), c);
        let mut broken = v;
        broken["data"] = json!("{not json");
        let back: ConsentRow = serde_json::from_value(broken).unwrap();
        assert!(matches!(back.into_consent(), Err(StoreError::Backend(_))));
    }

    #[test]
    fn client_args_never_carry_the_clear_secret() {
        let c = Client {
            client_id: "id".into(),
            client_secret: Some("clear".into()),
            secret_hash: Some("$pbkdf2$x".into()),
            ..Client::default()
        };
        let args = client_args(&c, false).unwrap();
        assert_eq!(args[0], Arg::from("id"));
        assert!(!format!("{args:?}").contains("clear"));
        assert_eq!(client_args(&c, true).unwrap().last(), Some(&Arg::from("id")));
    }
}
