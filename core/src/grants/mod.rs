//! One module per grant type handled at the token endpoint, and the token response
//! they share (RFC 6749 §5.1, OIDC Core §3.1.3.3).

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use crate::access_token::{self, Grant};
use crate::authorize::set_session;
use crate::client::Client;
use crate::error::Error;
use crate::oidc::{self, GrantSession};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::{Store, TokenKind, TokenRecord};
use crate::token;
use crate::token_endpoint::lifespan;
use serde_json::{json, Map, Value};

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
/// and the client may refresh, and the inputs of an ID token when `openid` was granted.
/// Nothing is stored or signed yet (see [`store_while_signing`]).
pub async fn mint_tokens<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    grant: &Grant,
    session: &GrantSession,
    nonce: Option<&str>,
    spans: &Lifespans<'_>,
) -> Result<Minted, Error> {
    let now = latch.platform.now();
    let at_ttl = lifespan(spans.access, latch.config.access_token_ttl);
    let mut issued = access_token::mint(latch, client, grant, at_ttl).await?;
    set_session(&mut issued.record, session);
    let mut body = json!({
        "access_token": issued.token,
        "token_type": "bearer",
        "expires_in": at_ttl,
        "scope": grant.scope.join(" "),
    });
    let mut records = vec![issued.record];
    let offline = grant.scope.iter().any(|s| s == "offline" || s == "offline_access");
    if offline && client.has_grant("refresh_token") {
        let rt_ttl = lifespan(spans.refresh, latch.config.refresh_token_ttl);
        let m = token::mint(&latch.platform, &latch.config.system_secrets, token::REFRESH_TOKEN_PREFIX);
        let mut data = Map::new();
        if !grant.ext.is_empty() {
            data.insert("ext".into(), Value::Object(grant.ext.clone()));
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

/// RFC 6749 §5.2 `invalid_grant` with a hint.
pub fn invalid_grant(hint: &str) -> Error {
    Error::new(crate::error::ErrorCode::InvalidGrant).with_hint(hint.to_string())
}

/// The end-user session stored with a code or token.
pub fn session_of(record: &TokenRecord) -> GrantSession {
    record.data.get("session").cloned().and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default()
}

/// The access-token extra claims stored with a code or token.
pub fn ext_of(record: &TokenRecord) -> Map<String, Value> {
    record.data.get("ext").and_then(Value::as_object).cloned().unwrap_or_default()
}
