//! OAuth 2.0 Token Exchange (RFC 8693): a confidential client trades a token it holds
//! for an access token, of the same subject, for an audience it is allowed
//! (`audience`, or RFC 8707's `resource`), with a scope no wider than the token's.
//!
//! Subject tokens (`subject_token_type`, §3): access tokens Latch issued (to this client,
//! or naming it in their audience), ID tokens Latch issued to this client, and JWTs of a
//! trusted issuer (the JWT-bearer grant's trust relationships). An `actor_token` of the
//! same kinds makes the new token say who acts for the subject (`act`, §4.1), on top of
//! the subject token's own `act`. An access token given as subject joins that token's
//! grant and is stored only while that token is active
//! ([`crate::store::TokenStore::insert_tokens_while_active`]): revoking the grant, or
//! the consent it came from, reaches every token exchanged from it. A DPoP-bound
//! subject token is exchanged only with a proof of its key.

use super::{GrantType, TokenOf};
use crate::access_token;
use crate::client::Client;
use crate::dpop::Proof;
use crate::error::{Error, ErrorCode};
use crate::http::{Params, Response};
use crate::keys;
use crate::platform::Platform;
use crate::scope::scope_allowed;
use crate::service::Latch;
use crate::store::{Store, TokenKind};
use serde_json::{json, Value};

/// §3: an access token.
pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
/// §3: an ID token.
pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
/// §3: a JWT.
pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// What a presented token says.
struct Presented {
    /// Its subject.
    subject: String,
    /// The scope it carries (`None`: it says none, as an ID token).
    scope: Option<Vec<String>>,
    /// An access token's grant and storage key.
    grant: Option<(String, String)>,
    /// Its own `act`.
    act: Option<Value>,
}

/// §2.2.2: a token the request gives that is invalid or not acceptable.
fn unacceptable(role: &str, hint: impl std::fmt::Display) -> Error {
    Error::invalid_request(format!("The {role} is not acceptable: {hint}"))
}

/// The token exchange (§2.1).
pub async fn handle<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    params: &Params,
    dpop: Option<&Proof>,
) -> Result<Response, Error> {
    // An exchange acts on another's token: only a client that authenticates may.
    if client.is_public() {
        return Err(Error::new(ErrorCode::UnauthorizedClient)
            .with_hint("A public client may not exchange tokens; the client must authenticate."));
    }
    // §2.1: the requested type; only access tokens are issued.
    if let Some(t) = params.get("requested_token_type").filter(|t| *t != ACCESS_TOKEN) {
        return Err(Error::invalid_request(format!(
            "The requested_token_type '{t}' is not issued; only '{ACCESS_TOKEN}' is."
        )));
    }
    let subject = read(
        latch,
        client,
        "subject_token",
        params.require("subject_token")?,
        params.require("subject_token_type")?,
        dpop,
    )
    .await?;
    // §2.1: actor_token_type is required with actor_token and must not come without it.
    let actor = match (params.get("actor_token"), params.get("actor_token_type")) {
        (Some(token), Some(kind)) => Some(read(latch, client, "actor_token", token, kind, dpop).await?),
        (None, None) => None,
        _ => return Err(Error::invalid_request("'actor_token' and 'actor_token_type' come together.")),
    };
    // RFC 6749 §3.3: within the client's scope, and no wider than the subject token's.
    let requested = params.list("scope");
    let scope: Vec<String> = if requested.is_empty() {
        subject.scope.clone().unwrap_or_default().into_iter().filter(|s| scope_allowed(client.scopes(), s)).collect()
    } else {
        for s in &requested {
            let in_token = subject.scope.as_ref().is_none_or(|granted| granted.contains(s));
            if !scope_allowed(client.scopes(), s) || !in_token {
                return Err(Error::new(ErrorCode::InvalidScope)
                    .with_hint(format!("The scope '{s}' is not the client's or not the subject token's.")));
            }
        }
        requested
    };
    // §2.1 audience and RFC 8707 resource: only where the client may have tokens.
    let audience = crate::scope::requested_audience(&client.audience, params)?;
    // §4.1: the actor, on top of the chain the subject token already names.
    let act = actor.map(|a| {
        let mut act = json!({ "sub": a.subject });
        if let Some(prior) = subject.act.clone() {
            act["act"] = prior;
        }
        act
    });
    let of = TokenOf { subject: subject.subject, scope, audience, derived_from: subject.grant, act };
    let mut body = super::access_token_only(latch, client, params, GrantType::TokenExchange, of, dpop).await?;
    // §2.2.1.
    body["issued_token_type"] = ACCESS_TOKEN.into();
    Ok(Response::json(200, &body))
}

/// Reads a subject or actor token of type `kind` (§3) for `client`.
async fn read<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    role: &str,
    token: &str,
    kind: &str,
    dpop: Option<&Proof>,
) -> Result<Presented, Error> {
    let now = latch.platform.now();
    match kind {
        ACCESS_TOKEN => {
            let not_ours = || unacceptable(role, "it is not an access token this server issued.");
            let signature = access_token::signature_of(latch, token).await?.ok_or_else(not_ours)?;
            let record = latch.store.get_token(TokenKind::AccessToken, &signature).await?.ok_or_else(not_ours)?;
            if !record.active || record.expires_at <= now {
                return Err(unacceptable(role, "it is expired or revoked."));
            }
            // Only a token meant for this client: issued to it, or naming it as audience.
            if record.client_id != client.client_id && !record.audience.contains(&client.client_id) {
                return Err(unacceptable(role, "it was neither issued to this client nor names it in its audience."));
            }
            // RFC 9449: a bound token is useless without its key, exchanged or not.
            if let Some(jkt) = crate::dpop::bound_to(&record.data) {
                if dpop.map(|p| p.jkt.as_str()) != Some(jkt) {
                    return Err(Error::new(ErrorCode::InvalidDpopProof)
                        .with_hint(format!("The {role} is DPoP-bound: send a proof of its key.")));
                }
            }
            Ok(Presented {
                subject: record.subject.clone(),
                scope: Some(record.scope.clone()),
                grant: Some((record.request_id.clone(), signature)),
                act: record.data.get("act").cloned(),
            })
        }
        ID_TOKEN => {
            // A pairwise client's ID tokens name a subject only it knows (OIDC Core §8.1).
            if client.subject_type == "pairwise" {
                return Err(unacceptable(role, "a pairwise client's ID tokens are not exchanged."));
            }
            let keys = latch.key_set(keys::ID_TOKEN_SET).await?;
            let claims = keys
                .iter()
                .find_map(|k| keys::verify_jws(&k.public_jwk(), token))
                .ok_or_else(|| unacceptable(role, "it is not an ID token this server signed."))?;
            let text = |name: &str| claims.get(name).and_then(Value::as_str);
            if text("iss") != Some(latch.config.issuer.as_str()) {
                return Err(unacceptable(role, "its issuer is not this server."));
            }
            if claims.get("exp").and_then(Value::as_i64).is_none_or(|exp| exp <= now) {
                return Err(unacceptable(role, "it has expired."));
            }
            let audience_is_client = match claims.get("aud") {
                Some(Value::String(a)) => *a == client.client_id,
                Some(Value::Array(a)) => a.iter().any(|a| a.as_str() == Some(client.client_id.as_str())),
                _ => false,
            };
            if !audience_is_client {
                return Err(unacceptable(role, "it was not issued to this client."));
            }
            let subject = text("sub").ok_or_else(|| unacceptable(role, "it has no 'sub'."))?.to_string();
            Ok(Presented { subject, scope: None, grant: None, act: None })
        }
        JWT => {
            let trusted =
                super::jwt_bearer::verify_trusted(latch, token).await?.map_err(|hint| unacceptable(role, hint))?;
            trusted.use_once(latch).await?.map_err(|hint| unacceptable(role, hint))?;
            Ok(Presented { subject: trusted.subject, scope: Some(trusted.scope), grant: None, act: None })
        }
        other => {
            Err(unacceptable(role, format!("its type '{other}' is not one of {ACCESS_TOKEN}, {ID_TOKEN}, {JWT}.")))
        }
    }
}
