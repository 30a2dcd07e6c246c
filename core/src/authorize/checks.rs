//! The checks of a fresh authorization request, as one ordered table.
//!
//! Two stages, because where an error goes depends on how far the request got (RFC 6749
//! §4.1.2.1): until the redirect URI is trusted ([`trust_redirect_uri`]: the client exists,
//! the URI is one it registered, and a browser may be sent there) a failure is shown on
//! the error page. After that every row of [`CHECKS`] runs in order, each reading its
//! parameters and filling in its part of the [`AuthorizeRequest`]; the first to fail
//! answers the client at its redirect URI. A new check is one function and one row, in
//! the place that decides which error wins when a request is wrong twice.

use crate::client::Client;
use crate::config::Config;
use crate::error::{Error, ErrorCode};
use crate::flow::AuthorizeRequest;
use crate::grants::GrantType;
use crate::http::Params;
use crate::keys::{self, SigningKey};
use crate::pkce;
use crate::redirect;
use crate::scope::scope_allowed;
use serde_json::Value;

/// fosite's minimum length of `state` and `nonce`, so they carry some entropy.
pub const MIN_PARAMETER_LENGTH: usize = 8;

/// A request under check: its parameters, its client and what the checks so far made of it.
pub struct Checking<'a> {
    /// The request's parameters (query or form).
    pub params: &'a Params,
    /// The client it names, whose redirect URI is trusted.
    pub client: &'a Client,
    /// The server's settings (PKCE enforcement).
    pub config: &'a Config,
    /// The ID-token signing keys: read only for a request with an `id_token_hint`.
    pub hint_keys: Option<&'a [SigningKey]>,
    /// The request as the checks so far have filled it in.
    pub request: AuthorizeRequest,
}

/// One check: `Ok` to go on, or the error the client receives.
pub type Check = fn(&mut Checking<'_>) -> Result<(), Error>;

/// Every check after the redirect URI is trusted, in the order they run.
pub const CHECKS: &[(&str, Check)] = &[
    ("response_type is known and registered (RFC 6749 §3.1.1)", response_type),
    ("response_mode suits the response (OAuth 2.0 Multiple Response Types §2.1, §5)", response_mode),
    ("the client may use the response's grants (OIDC Core §3.3)", grants_of_response),
    ("scope is allowed (RFC 6749 §3.3)", scope),
    ("audience and resource are allowed (Hydra's audience whitelist, RFC 8707 §2)", audience),
    ("state and nonce carry entropy", entropy),
    ("nonce is present for a front-channel ID token (OIDC Core §3.2.2.1)", nonce),
    ("PKCE: S256 only, required where configured (RFC 7636 §4.3)", pkce_challenge),
    ("dpop_jkt is a JWK thumbprint, for a code (RFC 9449 §10)", dpop_jkt),
    ("prompt holds known values, none alone (OIDC Core §3.1.2.1)", prompt),
    ("max_age is a non-negative integer (OIDC Core §3.1.2.1)", max_age),
    ("id_token_hint is an ID token this server issued (OIDC Core §3.1.2.1)", id_token_hint),
    ("the remaining hints are kept for the login UI (OIDC Core §3.1.2.1)", hints),
];

/// Runs [`CHECKS`] in order; the first failure is the answer.
pub fn run(c: &mut Checking<'_>) -> Result<(), Error> {
    CHECKS.iter().try_for_each(|(_, check)| check(c))
}

/// Why the redirect URI cannot be trusted: the error page's error.
pub fn trust_redirect_uri(client: &Client, given: Option<&str>) -> Result<(String, bool), Error> {
    // RFC 6749 §3.1.2.3: exact match with a registered URI; may be omitted only if exactly
    // one is registered.
    let (uri, given) = match given {
        Some(uri) if redirect::matches_registered(client, uri) => (uri.to_string(), true),
        Some(_) => return Err(Error::invalid_request(
            "The 'redirect_uri' parameter does not match any of the OAuth 2.0 Client's pre-registered redirect urls.",
        )),
        None if client.redirect_uris.len() == 1 => (client.redirect_uris[0].clone(), false),
        None => return Err(Error::invalid_request(
            "The 'redirect_uri' parameter is required when the OAuth 2.0 Client registered more than one redirect URI.",
        )),
    };
    // A client stored before registration refused such URIs: never send a browser there.
    if !redirect::redirect_target_allowed(&uri) {
        return Err(Error::invalid_request(
            "The OAuth 2.0 Client's redirect URI is not one a browser may be sent to; register an http(s) or private-use URI.",
        ));
    }
    Ok((uri, given))
}

fn response_type(c: &mut Checking<'_>) -> Result<(), Error> {
    let response_type = c
        .params
        .get("response_type")
        .ok_or_else(|| Error::invalid_request("The 'response_type' parameter is missing."))?;
    let mut types: Vec<String> = response_type.split(' ').filter(|s| !s.is_empty()).map(str::to_string).collect();
    types.sort();
    types.dedup();
    if types.is_empty() || !types.iter().all(|t| matches!(t.as_str(), "code" | "token" | "id_token")) {
        return Err(Error::new(ErrorCode::UnsupportedResponseType)
            .with_hint(format!("The response type '{response_type}' is not supported.")));
    }
    let registered = c.client.response_types.iter().any(|rt| {
        let mut v: Vec<&str> = rt.split(' ').filter(|s| !s.is_empty()).collect();
        v.sort();
        v == types.iter().map(String::as_str).collect::<Vec<_>>()
    });
    if !registered {
        return Err(Error::new(ErrorCode::UnsupportedResponseType)
            .with_hint(format!("The client is not allowed to request response_type '{response_type}'.")));
    }
    crate::fapi::response_types(c.config, &types)?;
    c.request.response_types = types;
    Ok(())
}

/// Whether the response carries tokens in the front channel.
fn implicit(r: &AuthorizeRequest) -> bool {
    r.wants("token") || r.wants("id_token")
}

fn response_mode(c: &mut Checking<'_>) -> Result<(), Error> {
    // Default query for code, fragment otherwise; never query for tokens (§5).
    let implicit = implicit(&c.request);
    c.request.response_mode = match c.params.get("response_mode") {
        None => if implicit { "fragment" } else { "query" }.to_string(),
        Some("query") if implicit => {
            return Err(Error::invalid_request(
                "Response mode 'query' cannot carry tokens; use 'fragment' or 'form_post'.",
            ))
        }
        Some(m @ ("query" | "fragment" | "form_post")) => m.to_string(),
        Some(m) => return Err(Error::invalid_request(format!("The response_mode '{m}' is not supported."))),
    };
    Ok(())
}

fn grants_of_response(c: &mut Checking<'_>) -> Result<(), Error> {
    // A hybrid request needs both grant types.
    for (wanted, grant) in
        [(c.request.wants("code"), GrantType::AuthorizationCode), (implicit(&c.request), GrantType::Implicit)]
    {
        let grant = grant.as_str();
        if wanted && !c.client.has_grant(grant) {
            return Err(Error::new(ErrorCode::UnauthorizedClient)
                .with_hint(format!("The client is not allowed to use grant type '{grant}'.")));
        }
    }
    Ok(())
}

fn scope(c: &mut Checking<'_>) -> Result<(), Error> {
    c.request.scope = c.params.list("scope");
    if let Some(s) = c.request.scope.iter().find(|s| !scope_allowed(c.client.scopes(), s)) {
        return Err(Error::new(ErrorCode::InvalidScope)
            .with_hint(format!("The OAuth 2.0 Client is not allowed to request scope '{s}'.")));
    }
    if c.request.wants("id_token") && !c.request.scope.iter().any(|s| s == "openid") {
        return Err(
            Error::new(ErrorCode::InvalidScope).with_hint("The 'id_token' response type requires the 'openid' scope.")
        );
    }
    Ok(())
}

fn audience(c: &mut Checking<'_>) -> Result<(), Error> {
    c.request.audience = crate::scope::requested_audience(&c.client.audience, c.params)?;
    Ok(())
}

fn entropy(c: &mut Checking<'_>) -> Result<(), Error> {
    for name in ["state", "nonce"] {
        if c.params.get(name).is_some_and(|v| v.len() < MIN_PARAMETER_LENGTH) {
            return Err(Error::invalid_request(format!(
                "Request parameter '{name}' must be at least {MIN_PARAMETER_LENGTH} characters long to ensure sufficient entropy."
            )));
        }
    }
    c.request.state = c.params.get("state").map(str::to_string);
    Ok(())
}

fn nonce(c: &mut Checking<'_>) -> Result<(), Error> {
    c.request.nonce = c.params.get("nonce").map(str::to_string);
    if c.request.wants("id_token") && c.request.nonce.is_none() {
        return Err(Error::invalid_request(
            "Parameter 'nonce' is required when using the implicit or hybrid flow with an ID token.",
        ));
    }
    Ok(())
}

fn pkce_challenge(c: &mut Checking<'_>) -> Result<(), Error> {
    // Only S256: plain offers nothing over no PKCE against an observed request.
    match (c.params.get("code_challenge"), c.params.get("code_challenge_method")) {
        (Some(ch), Some("S256")) if pkce::valid_verifier(ch) => c.request.code_challenge = Some(ch.to_string()),
        (Some(_), Some("S256")) => {
            return Err(Error::invalid_request(
                "The 'code_challenge' must be 43 to 128 characters of the base64url alphabet.",
            ))
        }
        (Some(_), m) => {
            return Err(Error::invalid_request(format!(
                "Code challenge method '{}' is not supported; use 'S256'.",
                m.unwrap_or("plain")
            )))
        }
        (None, Some(_)) => {
            return Err(Error::invalid_request("'code_challenge_method' was given without 'code_challenge'."))
        }
        (None, None) => {
            let required =
                c.config.pkce_enforced || (c.client.is_public() && c.config.pkce_enforced_for_public_clients);
            if required && c.request.wants("code") {
                return Err(Error::invalid_request(
                    "Clients must include a code_challenge when performing the authorize code flow, but it is missing.",
                ));
            }
        }
    }
    Ok(())
}

fn dpop_jkt(c: &mut Checking<'_>) -> Result<(), Error> {
    if let Some(jkt) = c.params.get("dpop_jkt") {
        crate::dpop::check_jkt_parameter(jkt)?;
        // §10: it binds the authorization code; a request without one binds nothing.
        if c.request.wants("code") {
            c.request.dpop_jkt = Some(jkt.to_string());
        }
    }
    Ok(())
}

fn prompt(c: &mut Checking<'_>) -> Result<(), Error> {
    c.request.prompt = c.params.list("prompt");
    let p = &c.request.prompt;
    if p.iter().any(|p| !matches!(p.as_str(), "none" | "login" | "consent" | "select_account")) {
        return Err(Error::invalid_request(
            "Parameter 'prompt' may only contain none, login, consent and select_account.",
        ));
    }
    if p.len() > 1 && p.iter().any(|p| p == "none") {
        return Err(Error::invalid_request("Parameter 'prompt' was set to 'none', but contains other values as well."));
    }
    Ok(())
}

fn max_age(c: &mut Checking<'_>) -> Result<(), Error> {
    if let Some(m) = c.params.get("max_age") {
        let m = m.parse::<i64>().ok().filter(|m| *m >= 0);
        c.request.max_age =
            Some(m.ok_or_else(|| Error::invalid_request("Parameter 'max_age' must be a non-negative integer."))?);
    }
    Ok(())
}

fn id_token_hint(c: &mut Checking<'_>) -> Result<(), Error> {
    let Some(hint) = c.params.get("id_token_hint") else { return Ok(()) };
    let claims =
        c.hint_keys.unwrap_or_default().iter().find_map(|k| keys::verify_jws(&k.public_jwk(), hint)).ok_or_else(
            || Error::invalid_request("Parameter 'id_token_hint' is not an ID token this server issued."),
        )?;
    c.request.id_token_hint_claims = Some(Value::Object(claims));
    Ok(())
}

fn hints(c: &mut Checking<'_>) -> Result<(), Error> {
    c.request.login_hint = c.params.get("login_hint").unwrap_or("").to_string();
    c.request.acr_values = c.params.list("acr_values");
    c.request.ui_locales = c.params.list("ui_locales");
    c.request.display = c.params.get("display").unwrap_or("").to_string();
    Ok(())
}
