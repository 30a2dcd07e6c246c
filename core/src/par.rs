//! Pushed authorization requests (RFC 9126): a client posts its authorization request
//! to `POST /oauth2/par`, authenticated as at the token endpoint, and gets a
//! `request_uri` to send the browser to the authorization endpoint with.
//!
//! Nothing is stored at the push: the `request_uri` is the checked parameters sealed
//! ([`crate::seal::Purpose::PushedRequest`]) with the client's id, an expiry and a
//! random id. The authorization endpoint opens it and marks that id used through
//! [`crate::store::ReplayStore::use_jti`] (a compare-and-set on a unique key), so a
//! `request_uri` is used once at most (§4), on every backend and across the Worker's
//! isolates (D1).

use crate::authorize;
use crate::client::Client;
use crate::client_auth;
use crate::error::{Error, ErrorCode};
use crate::http::{Params, Request, Response};
use crate::platform::Platform;
use crate::seal::{self, Purpose};
use crate::service::Latch;
use crate::store::Store;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The scheme of the `request_uri`s this endpoint hands out (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The path of the endpoint.
pub const PATH: &str = "/oauth2/par";

/// The longest `request_uri` handed out: a browser's URL must carry it, and Cloudflare
/// refuses URLs over 16 KiB (the checked parameters, a request object's merged in, are
/// far shorter in practice).
const MAX_REQUEST_URI: usize = 8 * 1024;

/// The parameters of client authentication (RFC 6749 §2.3.1, RFC 7523 §2.2): they
/// authenticate the push and are not part of the authorization request.
const CLIENT_AUTH_PARAMETERS: &[&str] = &["client_secret", "client_assertion", "client_assertion_type"];

/// What a `request_uri` holds, sealed.
#[derive(Serialize, Deserialize)]
struct Pushed {
    /// Names the single use (a random id).
    id: String,
    /// The client that pushed it (§4: only it may use it).
    client_id: String,
    /// Unix seconds after which it is refused (§2.2 `expires_in`).
    expires_at: i64,
    /// The authorization request, checked, with its request object's parameters merged in.
    params: Vec<(String, String)>,
}

/// Whether `request_uri` names a pushed request (rather than a request object's URL,
/// RFC 9101 §5.2).
pub fn is_pushed(request_uri: &str) -> bool {
    request_uri.starts_with(REQUEST_URI_PREFIX)
}

/// Whether this client's authorization requests must be pushed (§5, §6).
pub fn required<S, P>(latch: &Latch<S, P>, client: &Client) -> bool {
    latch.config.par.required || client.require_pushed_authorization_requests
}

/// `POST /oauth2/par` (RFC 9126 §2).
pub async fn push<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let params = req.form_params()?;
    // §2: authenticated as at the token endpoint (a public client by its id alone).
    let client = client_auth::authenticate(latch, req, &params).await?;
    // §2.1: a `client_id` given alongside must be the authenticated client's.
    if params.get("client_id").is_some_and(|id| id != client.client_id) {
        return Err(Error::invalid_request("The 'client_id' parameter does not match the authenticated client."));
    }
    // §2.1: "The request_uri authorization request parameter is one exception, and it
    // MUST NOT be provided."
    if params.get("request_uri").is_some() {
        return Err(Error::invalid_request("The 'request_uri' parameter cannot be pushed."));
    }

    // RFC 9449 §10.1: a proof at the push binds the code to its key, as `dpop_jkt`
    // does; both given, they must agree.
    let expected = crate::dpop::Expected { method: "POST", path: PATH, access_token: None };
    let proof = crate::dpop::check(latch, req, &expected).await?;
    if let (Some(proof), Some(jkt)) = (&proof, params.get("dpop_jkt")) {
        if proof.jkt != jkt {
            return Err(Error::new(ErrorCode::InvalidDpopProof)
                .with_hint("The 'dpop_jkt' parameter is not the thumbprint of the DPoP proof's key."));
        }
    }
    let request = Params::from_pairs(
        params
            .iter()
            .filter(|(k, _)| !CLIENT_AUTH_PARAMETERS.contains(&k.as_str()) && k.as_str() != "client_id")
            .map(|(k, v)| (k.clone(), v.clone()))
            .chain([("client_id".to_string(), client.client_id.clone())])
            .chain(proof.map(|p| ("dpop_jkt".to_string(), p.jkt))),
    );
    // §2.1: checked as the authorization endpoint will check it; every error is this
    // endpoint's answer (§2.3), never a redirect.
    let checked = authorize::check_request(latch, &client, &request).await?;
    // FAPI 2.0 §5.3.2.2: the push names the redirect URI (itself or in its request object).
    if latch.config.fapi2 && checked.get("redirect_uri").is_none() {
        return Err(Error::invalid_request("The 'redirect_uri' parameter is required (FAPI 2.0 Security Profile)."));
    }
    let now = latch.platform.now();
    let ttl = latch.config.par.ttl;
    let pushed = Pushed {
        id: B64.encode(latch.platform.random_bytes(16)),
        client_id: client.client_id.clone(),
        expires_at: now + ttl,
        params: checked.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    };
    let json = serde_json::to_vec(&pushed).map_err(|e| Error::server(e.to_string()))?;
    let sealed = seal::seal(&latch.platform, &latch.config.system_secrets, Purpose::PushedRequest, &json);
    if sealed.len() + REQUEST_URI_PREFIX.len() > MAX_REQUEST_URI {
        return Err(Error::invalid_request(format!(
            "The pushed request is too large: its request_uri would pass {MAX_REQUEST_URI} bytes."
        )));
    }
    // §2.2: 201 with the request URI and its lifetime.
    Ok(Response::json(201, &json!({ "request_uri": format!("{REQUEST_URI_PREFIX}{sealed}"), "expires_in": ttl })))
}

/// The authorization request pushed as `request_uri`, for `client` (§4): opened,
/// checked to be the client's and unexpired, and marked used, once. Its parameters
/// replace the query's (the query's others are ignored, as JAR's are, RFC 9101 §5).
pub(crate) async fn take<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    request_uri: &str,
) -> Result<Params, Error> {
    let invalid = |hint: &str| Error::new(ErrorCode::InvalidRequestUri).with_hint(hint.to_string());
    let sealed = request_uri.strip_prefix(REQUEST_URI_PREFIX).unwrap_or_default();
    let pushed: Pushed = seal::open(&latch.config.system_secrets, Purpose::PushedRequest, sealed)
        .and_then(|raw| serde_json::from_slice(&raw).ok())
        .ok_or_else(|| invalid("The 'request_uri' was not issued by this server."))?;
    // §4: the client of the query must be the one that pushed the request.
    if pushed.client_id != client.client_id {
        return Err(invalid("The 'request_uri' was pushed by another client."));
    }
    let now = latch.platform.now();
    if now >= pushed.expires_at {
        return Err(invalid("The 'request_uri' has expired."));
    }
    let marker = crate::jwt_assertion::jti_key("latch/pushed-authorization-request", &pushed.id);
    if !latch.store.use_jti(&marker, pushed.expires_at, now).await? {
        return Err(invalid("The 'request_uri' has been used already."));
    }
    Ok(Params::from_pairs(pushed.params))
}
