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

/// Mints the access token, a refresh token when `offline`/`offline_access` was granted
/// and the client may refresh, and an ID token when `openid` was granted. Returns the
/// response body and the records to store (access and refresh; not stored yet).
pub async fn mint_tokens<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    grant: &Grant,
    session: &GrantSession,
    nonce: Option<&str>,
    spans: &Lifespans<'_>,
) -> Result<(Value, Vec<TokenRecord>), Error> {
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
    if grant.scope.iter().any(|s| s == "openid") {
        let id_ttl = lifespan(spans.id, latch.config.id_token_ttl);
        let at = body["access_token"].as_str().map(str::to_string);
        let idt =
            oidc::mint_id_token(latch, &grant.subject, &client.client_id, session, nonce, at.as_deref(), None, id_ttl)
                .await?;
        body["id_token"] = idt.into();
    }
    Ok((body, records))
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
