//! Request objects (RFC 9101, OIDC Core §6): an authorization request's parameters sent
//! as a JWT signed by the client, by value (`request`) or by reference (`request_uri`,
//! fetched through the host). The object's parameters take precedence over the query's
//! (OIDC Core §6.3.3, as fosite merges them), so the checks of a fresh request then run
//! on one set of parameters, whichever way they came.

use crate::client::Client;
use crate::error::{Error, ErrorCode};
use crate::http::Params;
use crate::jwt_assertion::{self, Unverified, ASYMMETRIC_ALGS};
use crate::platform::{Outbound, Platform};
use crate::service::Latch;
use crate::store::Store;
use serde_json::Value;

/// The longest request object fetched from a `request_uri`.
const MAX_REQUEST_OBJECT: usize = 64 * 1024;

/// The claims of a request object that are about the JWT, not authorization parameters.
const JWT_CLAIMS: &[&str] = &["iss", "aud", "exp", "nbf", "iat", "jti", "sub"];

fn invalid(hint: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidRequestObject).with_hint(hint)
}

fn invalid_uri(hint: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidRequestUri).with_hint(hint)
}

/// The request's parameters with its request object's merged in, when it has one
/// (`None`: it has none).
pub async fn resolve<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    params: &Params,
) -> Result<Option<Params>, Error> {
    let jwt = match (params.get("request"), params.get("request_uri")) {
        (None, None) => return Ok(None),
        // RFC 9101 §5: one or the other.
        (Some(_), Some(_)) => {
            return Err(Error::invalid_request("The 'request' and 'request_uri' parameters cannot both be used."))
        }
        (Some(jwt), None) => jwt.to_string(),
        (None, Some(uri)) => fetch(latch, client, uri).await?,
    };
    let object =
        Unverified::read(&jwt).ok_or_else(|| invalid("The request object is not a signed JWT (a compact JWS)."))?;
    // OIDC Core §6.1 / RFC 9101 §6.1: signed with the client's registered algorithm.
    // Unsigned (`alg: none`) objects are refused: they would bind nothing.
    let alg = object.alg();
    let registered = client.request_object_signing_alg.as_str();
    if !ASYMMETRIC_ALGS.contains(&alg) || (!registered.is_empty() && alg != registered) {
        return Err(invalid(format!(
            "The request object must be signed with {}.",
            if registered.is_empty() {
                format!("one of {}", ASYMMETRIC_ALGS.join(", "))
            } else {
                format!("'{registered}'")
            }
        )));
    }
    crate::fapi::signature_alg(&latch.config, ErrorCode::InvalidRequestObject, "request object", alg)?;
    let keys = crate::remote_keys::of_client(latch, client, object.kid())
        .await
        .map_err(|e| invalid(e.hint.unwrap_or_default()))?;
    let claims = jwt_assertion::verify(&jwt, alg, object.kid(), &keys)
        .ok_or_else(|| invalid("The request object's signature does not verify with any of the client's keys."))?;
    check_claims(latch, client, params, &claims)?;
    // RFC 9101 §4: "request" and "request_uri" MUST NOT be in the object: one would
    // smuggle a second request (a pushed one's request_uri among them) past these checks.
    if claims.contains_key("request") || claims.contains_key("request_uri") {
        return Err(invalid("A request object may not carry 'request' or 'request_uri'."));
    }
    // OIDC Core §6.3.3: the object's parameters win; the query's others stay.
    let mut merged: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "request" | "request_uri"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (name, value) in claims.iter().filter(|(k, _)| !JWT_CLAIMS.contains(&k.as_str())) {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Null => continue,
            // `claims` (OIDC Core §5.5) and `max_age` as their JSON text.
            other => other.to_string(),
        };
        merged.push((name.clone(), text));
    }
    Ok(Some(Params::from_pairs(merged)))
}

/// RFC 9101 §6.3 and OIDC Core §6.3: who issued it, for whom, when.
fn check_claims<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    params: &Params,
    claims: &serde_json::Map<String, Value>,
) -> Result<(), Error> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    // RFC 9101 §5: the query's `client_id` is the object's.
    if claims.get("client_id").is_some_and(|c| c.as_str() != Some(client.client_id.as_str())) {
        return Err(invalid("The request object's 'client_id' is not the request's."));
    }
    // RFC 9101 §6.3: "iss" (when present) is the client, "aud" the authorization server.
    if claims.get("iss").is_some_and(|i| i.as_str() != Some(client.client_id.as_str())) {
        return Err(invalid("The request object's 'iss' must be the client id."));
    }
    if let Some(aud) = claims.get("aud") {
        let issuer = latch.config.issuer.as_str();
        let ours = match aud {
            Value::String(a) => a.trim_end_matches('/') == issuer.trim_end_matches('/'),
            Value::Array(all) => {
                all.iter().filter_map(Value::as_str).any(|a| a.trim_end_matches('/') == issuer.trim_end_matches('/'))
            }
            _ => false,
        };
        if !ours {
            return Err(invalid(format!("The request object's 'aud' must be the issuer '{issuer}'.")));
        }
    }
    let now = latch.platform.now();
    let int = |name: &str| claims.get(name).and_then(Value::as_i64);
    if int("exp").is_some_and(|exp| exp <= now) {
        return Err(invalid("The request object has expired."));
    }
    if int("nbf").is_some_and(|nbf| nbf > now) {
        return Err(invalid("The request object is not valid yet ('nbf')."));
    }
    // OIDC Core §6.1: a response_type in both must agree.
    if let (Some(q), Some(o)) = (params.get("response_type"), text("response_type")) {
        if q != o {
            return Err(invalid("The request object's 'response_type' differs from the request's."));
        }
    }
    Ok(())
}

/// OIDC Core §6.2: fetches a `request_uri` the client registered (`request_uris`; Latch
/// fetches no other, so a request cannot make it call anywhere), through the host with a
/// timeout and a size limit.
async fn fetch<S: Store, P: Platform>(latch: &Latch<S, P>, client: &Client, uri: &str) -> Result<String, Error> {
    // OIDC Core §6.2: the fragment, if any, is not part of what is fetched, but the
    // registered value may carry one; compare without it.
    let bare = |u: &str| u.split('#').next().unwrap_or(u).to_string();
    if !client.request_uris.iter().any(|r| bare(r) == bare(uri)) {
        return Err(invalid_uri("The 'request_uri' is not one of the OAuth 2.0 Client's registered request_uris."));
    }
    let request = Outbound::client_document(
        bare(uri),
        "application/oauth-authz-req+jwt, application/jwt",
        MAX_REQUEST_OBJECT,
        latch.config.disallow_private_ip_ranges,
    );
    let answer = latch
        .platform
        .fetch(&request)
        .await
        .map_err(|e| invalid_uri(format!("The 'request_uri' could not be fetched: {e}.")))?;
    if !(200..300).contains(&answer.status) {
        return Err(invalid_uri(format!("The 'request_uri' answered HTTP {}.", answer.status)));
    }
    String::from_utf8(answer.body)
        .map(|s| s.trim().to_string())
        .map_err(|_| invalid_uri("The 'request_uri' did not answer a JWT."))
}
