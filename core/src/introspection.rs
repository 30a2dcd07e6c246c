//! Token introspection (RFC 7662), on the admin port as in Hydra (no client
//! authentication: the admin port must not be exposed).

use crate::access_token;
use crate::error::Error;
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::{Store, TokenKind, TokenRecord};
use crate::token;
use serde_json::{json, Value};

/// `POST /admin/oauth2/introspect`.
pub async fn handle<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let params = req.form_params()?;
    let presented = params.require("token")?;
    let required_scope = params.list("scope");
    let inactive = || Ok(Response::json(200, &json!({"active": false})));
    let Some(record) = lookup(latch, presented).await? else { return inactive() };
    // RFC 7662 §2.2: active only if not revoked, not expired, and (Hydra) covering the
    // scope the resource server asked about.
    if !record.active || record.expires_at <= latch.platform.now() {
        return inactive();
    }
    if !required_scope.iter().all(|s| record.scope.iter().any(|g| g == s)) {
        return inactive();
    }
    Ok(Response::json_of(200, &render(latch, &record)))
}

/// Finds the record of a presented access or refresh token, after checking its MAC or
/// signature.
async fn lookup<S: Store, P: Platform>(latch: &Latch<S, P>, presented: &str) -> Result<Option<TokenRecord>, Error> {
    if let Some(sig) = token::verify(&latch.config.system_secrets, token::REFRESH_TOKEN_PREFIX, presented) {
        return Ok(latch.store.get_token(TokenKind::RefreshToken, &sig).await?);
    }
    match access_token::signature_of(latch, presented).await? {
        Some(sig) => Ok(latch.store.get_token(TokenKind::AccessToken, &sig).await?),
        None => Ok(None),
    }
}

/// RFC 7662 §2.2 response members of an active token, with Hydra's `token_use` and
/// `ext`.
#[derive(serde::Serialize)]
struct Active<'a> {
    active: bool,
    client_id: &'a str,
    sub: &'a str,
    exp: i64,
    iat: i64,
    nbf: i64,
    iss: &'a str,
    scope: String,
    token_type: &'static str,
    token_use: &'static str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    aud: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    ext: Option<&'a Value>,
    /// Hydra's: the `sub` of the grant's ID tokens when it is not the subject (a
    /// pairwise client, OIDC Core §8.1). (Hydra's `username` belongs to the password
    /// grant, which Latch does not offer, so it is never set.)
    #[serde(skip_serializing_if = "Option::is_none")]
    obfuscated_subject: Option<&'a str>,
    /// RFC 9449 §6.2: the DPoP key a bound token is bound to (`{"jkt": …}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<&'a Value>,
    /// RFC 8693 §4.1: who acts for the subject, in an exchanged token.
    #[serde(skip_serializing_if = "Option::is_none")]
    act: Option<&'a Value>,
}

fn render<'a, S, P>(latch: &'a Latch<S, P>, r: &'a TokenRecord) -> Active<'a> {
    Active {
        active: true,
        client_id: &r.client_id,
        sub: &r.subject,
        exp: r.expires_at,
        iat: r.issued_at,
        nbf: r.issued_at,
        iss: &latch.config.issuer,
        scope: r.scope.join(" "),
        // RFC 9449 §6.2: a bound token says so.
        token_type: if r.data.get("cnf").is_some() { crate::dpop::TOKEN_TYPE } else { "Bearer" },
        token_use: r.kind.as_str(),
        aud: &r.audience,
        ext: r.data.get("ext"),
        obfuscated_subject: r.data.get("session").and_then(|s| s.get("id_subject")).and_then(Value::as_str),
        cnf: r.data.get("cnf"),
        act: r.data.get("act"),
    }
}
