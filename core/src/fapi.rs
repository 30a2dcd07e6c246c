//! The FAPI 2.0 Security Profile's server rules behind one switch
//! (`oauth2.profile: fapi2`). [`apply`] turns on, and tightens, the settings that
//! already exist for each rule; the rules no setting has are checked where they apply,
//! each calling into this module:
//!
//! | rule (FAPI 2.0 Security Profile, final) | where |
//! |---|---|
//! | PAR, and only PAR, for authorization requests (§5.3.2.2) | `par.required` ([`crate::par`]) |
//! | PKCE with S256 (§5.3.2.2) | `pkce_enforced`; `plain` is never taken |
//! | authorization codes live at most 60 s (§5.3.2.2) | `auth_code_ttl` |
//! | `response_type=code` only: no implicit or hybrid (§5.3.2.2) | [`response_types`], in the authorization checks |
//! | the redirect URI is given at the push (§5.3.2.2) | [`crate::par::push`] |
//! | `iss` in every authorization response (§5.3.2.2, RFC 9207) | always, in [`crate::redirect`] |
//! | confidential clients only, authenticated by `private_key_jwt` (§5.3.2.1) | [`client_authentication`] |
//! | a client assertion's `aud` is the issuer, as a string (§5.3.2.1) | [`assertion_audience`] |
//! | sender-constrained access tokens, by DPoP (§5.3.2.1) | [`crate::token_endpoint`] |
//! | a refresh token may be used again when its answer was lost (§5.3.2.1) | `refresh_grace_period` |
//! | PS256, ES256 or EdDSA for every signature (§5.4) | [`ALGS`]: ID tokens, client assertions, DPoP proofs, request objects |

use crate::config::Config;
use crate::error::{Error, ErrorCode};

/// The signing algorithms the profile allows (§5.4: PS256, ES256, EdDSA with Ed25519,
/// also named `Ed25519` by RFC 9864).
pub const ALGS: &[&str] = &["PS256", "ES256", "EdDSA", "Ed25519"];

/// The longest an authorization code lives under the profile, in seconds (§5.3.2.2).
pub const MAX_CODE_LIFETIME: i64 = 60;

/// The grace period given to a refresh token's reuse when none is configured, in
/// seconds: rotation is allowed only where a retry with the previous token succeeds.
pub const REFRESH_RETRY_GRACE: i64 = 60;

/// Sets and tightens the settings the profile asks for. Called once every setting is read.
pub fn apply(c: &mut Config) {
    c.par.required = true;
    c.pkce_enforced = true;
    c.auth_code_ttl = c.auth_code_ttl.min(MAX_CODE_LIFETIME);
    if c.refresh_grace_period == 0 {
        c.refresh_grace_period = REFRESH_RETRY_GRACE;
    }
    // RS256, the default, is not among the profile's algorithms.
    if !ALGS.contains(&c.id_token_alg.as_str()) {
        c.id_token_alg = crate::keys::Alg::Es256;
    }
}

fn refused(code: ErrorCode, hint: String) -> Error {
    Error::new(code).with_hint(format!("{hint} (FAPI 2.0 Security Profile)"))
}

/// §5.3.2.1: only confidential clients, authenticated with `private_key_jwt` signed
/// with one of [`ALGS`].
pub fn client_authentication(config: &Config, method: &str, alg: Option<&str>) -> Result<(), Error> {
    if !config.fapi2 {
        return Ok(());
    }
    if method != crate::client_auth::AuthMethod::PrivateKeyJwt.as_str() {
        return Err(refused(
            ErrorCode::InvalidClient,
            format!("Clients must authenticate with 'private_key_jwt', not '{method}'."),
        ));
    }
    match alg {
        Some(a) if !ALGS.contains(&a) => Err(refused(
            ErrorCode::InvalidClient,
            format!("The client assertion must be signed with PS256, ES256 or EdDSA, not '{a}'."),
        )),
        _ => Ok(()),
    }
}

/// §5.3.2.1: a client assertion's `aud` is the issuer identifier, as one string (not
/// the token endpoint's URL, not a list), so an assertion made for another server or
/// endpoint is never accepted here.
pub fn assertion_audience(config: &Config, aud: Option<&serde_json::Value>) -> Result<(), Error> {
    if config.fapi2 && aud.and_then(serde_json::Value::as_str) != Some(config.issuer.as_str()) {
        return Err(refused(
            ErrorCode::InvalidClient,
            format!("The client assertion's 'aud' must be the issuer '{}', as a string.", config.issuer),
        ));
    }
    Ok(())
}

/// §5.3.2.2: `response_type=code` only.
pub fn response_types(config: &Config, types: &[String]) -> Result<(), Error> {
    if config.fapi2 && types != ["code"] {
        return Err(refused(
            ErrorCode::UnsupportedResponseType,
            "Only the authorization code flow (response_type=code) is offered.".to_string(),
        ));
    }
    Ok(())
}

/// §5.4: a signature's algorithm (a DPoP proof's, a request object's).
pub fn signature_alg(config: &Config, code: ErrorCode, what: &str, alg: &str) -> Result<(), Error> {
    if config.fapi2 && !ALGS.contains(&alg) {
        return Err(refused(code, format!("The {what} must be signed with PS256, ES256 or EdDSA, not '{alg}'.")));
    }
    Ok(())
}
