//! One module per grant type handled at the token endpoint, the token response they
//! share (RFC 6749 §5.1, OIDC Core §3.1.3.3), and the grant table: every grant type
//! Latch knows is one row of [`grant_table!`], which the token endpoint's allow-list
//! and dispatch, client validation (`grant_types`, the lifespan fields), discovery's
//! `grant_types_supported` and the OpenAPI document (a test compares them) all read.
//!
//! Adding a grant: a row here, its arm in [`handle`] (the match is exhaustive), its
//! module, and its lifespan fields on [`Client`] when it has new ones.

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod jwt_bearer;
pub mod refresh_token;
pub mod token_exchange;

use crate::access_token::{self, Grant};
use crate::authorize::set_session;
use crate::client::Client;
use crate::dpop::Proof;
use crate::error::{Error, ErrorCode};
use crate::http::{Params, Response};
use crate::oidc::{self, GrantSession};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::{Store, TokenKind, TokenRecord};
use crate::token;
use crate::token_endpoint::lifespan;
use serde_json::{json, Map, Value};

/// Where a grant's tokens are issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssuedBy {
    /// The token endpoint (RFC 6749 §3.2), through [`handle`].
    TokenEndpoint,
    /// The authorization endpoint (the implicit grant, RFC 6749 §4.2).
    AuthorizationEndpoint,
    /// Nowhere: a client may register it (Hydra accepts it), Latch does not offer it,
    /// and discovery does not advertise it.
    NotOffered,
}

/// A client field holding a per-client lifespan (Hydra's `*_grant_*_lifespan`): its
/// name on the wire and how to read it.
#[derive(Clone, Copy)]
pub struct LifespanField {
    /// The field's JSON name.
    pub name: &'static str,
    /// Reads the field of a client.
    pub get: fn(&Client) -> Option<&str>,
    /// The field itself, to normalise it.
    pub get_mut: fn(&mut Client) -> &mut Option<String>,
}

/// The lifespan fields of one grant, by token kind (`None`: the grant issues no such
/// token, or has no per-client override of it).
#[derive(Clone, Copy)]
pub struct LifespanFields {
    /// The access token's.
    pub access: Option<LifespanField>,
    /// The ID token's.
    pub id: Option<LifespanField>,
    /// The refresh token's.
    pub refresh: Option<LifespanField>,
}

macro_rules! lifespan_field {
    (-) => {
        None
    };
    ($field:ident) => {
        Some(LifespanField {
            name: stringify!($field),
            get: |c: &Client| c.$field.as_deref(),
            get_mut: |c: &mut Client| &mut c.$field,
        })
    };
}

macro_rules! grant_table {
    ($( $(#[$doc:meta])* $variant:ident => ($wire:literal, $issued_by:ident, refreshable: $refreshable:literal,
        access: $access:tt, id: $id:tt, refresh: $refresh:tt), )*) => {
        /// The grant types Latch knows (RFC 7591 §2 `grant_types`), one per table row.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum GrantType { $( $(#[$doc])* $variant, )* }

        impl GrantType {
            /// Every row, in table order (the order discovery lists them in).
            pub const ALL: &'static [GrantType] = &[$( GrantType::$variant, )*];
            /// The `grant_type` string on the wire.
            pub fn as_str(self) -> &'static str { match self { $( Self::$variant => $wire, )* } }
            /// Where its tokens are issued.
            pub fn issued_by(self) -> IssuedBy { match self { $( Self::$variant => IssuedBy::$issued_by, )* } }
            /// Whether its tokens come with a refresh token (when `offline` or
            /// `offline_access` was granted and the client may use `refresh_token`).
            pub fn refreshable(self) -> bool { match self { $( Self::$variant => $refreshable, )* } }
            /// Its per-client lifespan fields.
            pub fn lifespan_fields(self) -> LifespanFields {
                match self { $( Self::$variant => LifespanFields {
                    access: lifespan_field!($access),
                    id: lifespan_field!($id),
                    refresh: lifespan_field!($refresh),
                }, )* }
            }
        }
    };
}

grant_table! {
    /// RFC 6749 §4.1.
    AuthorizationCode => ("authorization_code", TokenEndpoint, refreshable: true,
        access: authorization_code_grant_access_token_lifespan,
        id: authorization_code_grant_id_token_lifespan,
        refresh: authorization_code_grant_refresh_token_lifespan),
    /// RFC 6749 §4.2 (and the hybrid flows' tokens, OIDC Core §3.3, as in Hydra).
    Implicit => ("implicit", AuthorizationEndpoint, refreshable: false,
        access: implicit_grant_access_token_lifespan,
        id: implicit_grant_id_token_lifespan,
        refresh: -),
    /// RFC 6749 §4.4 (§4.4.3: "A refresh token SHOULD NOT be included").
    ClientCredentials => ("client_credentials", TokenEndpoint, refreshable: false,
        access: client_credentials_grant_access_token_lifespan, id: -, refresh: -),
    /// RFC 6749 §6.
    RefreshToken => ("refresh_token", TokenEndpoint, refreshable: true,
        access: refresh_token_grant_access_token_lifespan,
        id: refresh_token_grant_id_token_lifespan,
        refresh: refresh_token_grant_refresh_token_lifespan),
    /// RFC 7523 §2.1, with Hydra's trust relationships.
    JwtBearer => ("urn:ietf:params:oauth:grant-type:jwt-bearer", TokenEndpoint, refreshable: false,
        access: jwt_bearer_grant_access_token_lifespan, id: -, refresh: -),
    /// RFC 8628 §3.4 (the device's side is [`crate::device`]).
    DeviceCode => ("urn:ietf:params:oauth:grant-type:device_code", TokenEndpoint, refreshable: true,
        access: device_authorization_grant_access_token_lifespan,
        id: device_authorization_grant_id_token_lifespan,
        refresh: device_authorization_grant_refresh_token_lifespan),
    /// RFC 8693 §2 (beyond Hydra): a token for another.
    TokenExchange => ("urn:ietf:params:oauth:grant-type:token-exchange", TokenEndpoint, refreshable: false,
        access: -, id: -, refresh: -),
}

impl GrantType {
    /// The row of a wire name.
    pub fn parse(wire: &str) -> Option<GrantType> {
        Self::ALL.iter().copied().find(|g| g.as_str() == wire)
    }
    /// The grants discovery advertises (`grant_types_supported`): those Latch issues
    /// tokens for.
    pub fn advertised() -> impl Iterator<Item = GrantType> {
        Self::ALL.iter().copied().filter(|g| g.issued_by() != IssuedBy::NotOffered)
    }
    /// This grant's lifespan overrides as set on `client`.
    pub fn lifespans_of(self, client: &Client) -> Lifespans<'_> {
        let f = self.lifespan_fields();
        let get = |field: Option<LifespanField>| field.and_then(|f| (f.get)(client));
        Lifespans { access: get(f.access), refresh: get(f.refresh), id: get(f.id) }
    }
    /// Every lifespan field of every grant, in table order (access, ID, refresh).
    pub fn all_lifespan_fields() -> impl Iterator<Item = LifespanField> {
        Self::ALL.iter().flat_map(|g| {
            let f = g.lifespan_fields();
            [f.access, f.id, f.refresh].into_iter().flatten()
        })
    }
}

/// RFC 6749 §5.2 `unsupported_grant_type`.
pub fn unsupported(grant_type: &str) -> Error {
    Error::new(ErrorCode::UnsupportedGrantType).with_hint(format!("The grant type '{grant_type}' is not supported."))
}

/// Runs the token-endpoint handler of `grant` (RFC 6749 §3.2). The token endpoint
/// calls this only for grants whose row says [`IssuedBy::TokenEndpoint`]; the others
/// answer `unsupported_grant_type` here too (a test checks both agree).
pub async fn handle<S: Store, P: Platform>(
    grant: GrantType,
    latch: &Latch<S, P>,
    client: &Client,
    params: &Params,
    dpop: Option<&Proof>,
) -> Result<Response, Error> {
    match grant {
        GrantType::AuthorizationCode => authorization_code::handle(latch, client, params, dpop).await,
        GrantType::ClientCredentials => client_credentials::handle(latch, client, params, dpop).await,
        GrantType::RefreshToken => refresh_token::handle(latch, client, params, dpop).await,
        GrantType::JwtBearer => jwt_bearer::handle(latch, client, params, dpop).await,
        GrantType::DeviceCode => device_code::handle(latch, client, params, dpop).await,
        GrantType::TokenExchange => token_exchange::handle(latch, client, params, dpop).await,
        GrantType::Implicit => Err(unsupported(grant.as_str())),
    }
}

/// Lifespans that differ by grant (Hydra's per-client `*_lifespan` fields).
pub struct Lifespans<'a> {
    /// Access-token lifespan override.
    pub access: Option<&'a str>,
    /// Refresh-token lifespan override.
    pub refresh: Option<&'a str>,
    /// ID-token lifespan override.
    pub id: Option<&'a str>,
}

/// The tokens of one grant, minted but not stored yet: the response body (without the
/// ID token), the records to store (access and refresh), and the ID token still to
/// sign when `openid` was granted.
pub struct Minted {
    /// The token response so far.
    pub body: Value,
    /// The access token's record, then the refresh token's if one was minted.
    pub records: Vec<TokenRecord>,
    /// What the ID token will say, when one is due.
    pub id_token: Option<PendingIdToken>,
}

/// The claims' inputs of an ID token to sign (OIDC Core §3.1.3.6–3.1.3.7).
pub struct PendingIdToken {
    subject: String,
    client_id: String,
    session: GrantSession,
    nonce: Option<String>,
    access_token: String,
    ttl: i64,
}

impl PendingIdToken {
    /// Signs the ID token. A grant runs this concurrently with its store's
    /// compare-and-set ([`store_while_signing`]).
    pub async fn sign<S: Store, P: Platform>(&self, latch: &Latch<S, P>) -> Result<String, Error> {
        oidc::mint_id_token(
            latch,
            &self.subject,
            &self.client_id,
            &self.session,
            self.nonce.as_deref(),
            Some(&self.access_token),
            None,
            self.ttl,
        )
        .await
    }
}

/// Runs `store` (a grant's compare-and-set of its new tokens) and signs `id_token`
/// at the same time: the signature (an RSA private-key operation for RS256, the
/// largest CPU cost of a code exchange) is computed while the store commits, instead
/// of before it. The ID token goes into `body` only when the store succeeded; when the
/// store fails, the signature is dropped. When signing fails after the store
/// succeeded, the request fails and the stored tokens are never handed out (they
/// expire), as when fosite issues the ID token after the code's session is invalidated.
pub async fn store_while_signing<S: Store, P: Platform, T>(
    latch: &Latch<S, P>,
    body: &mut Value,
    id_token: Option<&PendingIdToken>,
    store: impl std::future::Future<Output = Result<T, crate::error::StoreError>>,
) -> Result<T, Error> {
    let sign = async {
        match id_token {
            Some(p) => p.sign(latch).await.map(Some),
            None => Ok(None),
        }
    };
    let (stored, signed) = futures_util::future::join(store, sign).await;
    let stored = stored?;
    if let Some(idt) = signed? {
        body["id_token"] = idt.into();
    }
    Ok(stored)
}

/// Mints the access token, a refresh token when `offline`/`offline_access` was granted
/// and the grant and the client may refresh, and the inputs of an ID token when `openid` was granted.
/// Nothing is stored or signed yet (see [`store_while_signing`]).
///
/// The token hooks run first ([`crate::token_hook`]): the tokens carry the claims they
/// answer, and a hook's refusal leaves nothing minted.
pub async fn mint_tokens<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    params: &Params,
    mut grant: Grant,
    mut session: GrantSession,
    nonce: Option<&str>,
    grant_type: GrantType,
) -> Result<Minted, Error> {
    crate::token_hook::run(latch, client, grant_type, params, &mut grant, &mut session, nonce).await?;
    let (grant, session) = (&grant, &session);
    let spans = grant_type.lifespans_of(client);
    let now = latch.platform.now();
    let at_ttl = lifespan(spans.access, latch.config.access_token_ttl);
    let mut issued = access_token::mint(latch, client, grant, at_ttl).await?;
    set_session(&mut issued.record, session);
    let mut body = json!({
        "access_token": issued.token,
        "token_type": access_token::token_type(grant),
        "expires_in": at_ttl,
        "scope": grant.scope.join(" "),
    });
    let mut records = vec![issued.record];
    let offline = grant.scope.iter().any(|s| s == "offline" || s == "offline_access");
    if offline && grant_type.refreshable() && client.has_grant(GrantType::RefreshToken.as_str()) {
        let rt_ttl = lifespan(spans.refresh, latch.config.refresh_token_ttl);
        let m = token::mint(&latch.platform, &latch.config.system_secrets, token::REFRESH_TOKEN_PREFIX);
        let mut data = Map::new();
        if !grant.ext.is_empty() {
            data.insert("ext".into(), Value::Object(grant.ext.clone()));
        }
        // RFC 9449 §5: a public client's refresh token is bound to its DPoP key (a
        // confidential client's is bound to the client by its authentication).
        if let (Some(jkt), true) = (&grant.jkt, client.is_public()) {
            data.insert("cnf".into(), crate::dpop::cnf(jkt));
        }
        let mut record = TokenRecord {
            signature: m.signature,
            kind: TokenKind::RefreshToken,
            request_id: grant.request_id.clone(),
            client_id: client.client_id.clone(),
            subject: grant.subject.clone(),
            scope: grant.scope.clone(),
            audience: grant.audience.clone(),
            issued_at: now,
            expires_at: now + rt_ttl,
            active: true,
            used_at: None,
            data: Value::Object(data),
        };
        set_session(&mut record, session);
        records.push(record);
        body["refresh_token"] = m.token.into();
    }
    let id_token = grant.scope.iter().any(|s| s == "openid").then(|| PendingIdToken {
        subject: grant.subject.clone(),
        client_id: client.client_id.clone(),
        session: session.clone(),
        nonce: nonce.map(str::to_string),
        access_token: issued.token.clone(),
        ttl: lifespan(spans.id, latch.config.id_token_ttl),
    });
    Ok(Minted { body, records, id_token })
}

/// What [`access_token_only`] issues a token of: the subject, scope and audience.
#[derive(Default)]
pub struct TokenOf {
    /// The subject.
    pub subject: String,
    /// Granted scope.
    pub scope: Vec<String>,
    /// Granted audience.
    pub audience: Vec<String>,
    /// For a token derived from an access token of Latch's (RFC 8693): that token's grant
    /// and storage key. The new token joins the grant, so a revocation of it reaches the
    /// new token too, and is stored only while the token is active
    /// ([`crate::store::TokenStore::insert_tokens_while_active`]).
    pub derived_from: Option<(String, String)>,
    /// Who acts for the subject (RFC 8693 §4.1).
    pub act: Option<Value>,
}

/// Issues and stores an access token alone (no refresh or ID token) for a grant of
/// `grant_type`, and answers it (RFC 6749 §5.1): the client credentials and JWT-bearer
/// grants. The token hooks run first, as in [`mint_tokens`] (their ID-token claims have
/// no token to go into).
pub async fn access_token_only<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    params: &Params,
    grant_type: GrantType,
    of: TokenOf,
    dpop: Option<&Proof>,
) -> Result<Value, Error> {
    let ttl = lifespan(grant_type.lifespans_of(client).access, latch.config.access_token_ttl);
    let mut grant = Grant {
        request_id: of.derived_from.as_ref().map(|(grant, _)| grant.clone()).unwrap_or_else(|| latch.new_request_id()),
        subject: of.subject,
        scope: of.scope,
        audience: of.audience,
        ext: Map::new(),
        jkt: dpop.map(|p| p.jkt.clone()),
        act: of.act,
    };
    let mut session = GrantSession::default();
    crate::token_hook::run(latch, client, grant_type, params, &mut grant, &mut session, None).await?;
    let issued = access_token::mint(latch, client, &grant, ttl).await?;
    let records = std::slice::from_ref(&issued.record);
    match &of.derived_from {
        None => latch.store.insert_tokens(records).await?,
        Some((_, signature)) => {
            let now = latch.platform.now();
            if !latch.store.insert_tokens_while_active(TokenKind::AccessToken, signature, now, records).await? {
                return Err(Error::invalid_request("The subject token was revoked or expired."));
            }
        }
    }
    Ok(json!({
        "access_token": issued.token,
        "expires_in": ttl,
        "scope": grant.scope.join(" "),
        "token_type": access_token::token_type(&grant),
    }))
}

/// RFC 6749 §5.2 `invalid_grant` with a hint.
pub fn invalid_grant(hint: impl Into<String>) -> Error {
    Error::new(crate::error::ErrorCode::InvalidGrant).with_hint(hint)
}

/// The end-user session stored with a code or token.
pub fn session_of(record: &TokenRecord) -> GrantSession {
    record.data.get("session").cloned().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
}

/// The access-token extra claims stored with a code or token.
pub fn ext_of(record: &TokenRecord) -> Map<String, Value> {
    record.data.get("ext").and_then(Value::as_object).cloned().unwrap_or_default()
}
