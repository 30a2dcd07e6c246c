//! Discovery: OpenID Connect Discovery 1.0 §3 / RFC 8414 §2 metadata, and the JWK set
//! (RFC 7517 §5).

use crate::config::Config;
use crate::error::Error;
use crate::http::Response;
use crate::keys;
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::Store;
use serde_json::json;

/// `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
pub fn openid_configuration(c: &Config) -> Response {
    let doc = json!({
        "issuer": c.issuer,
        "authorization_endpoint": c.public_endpoint("/oauth2/auth"),
        "token_endpoint": c.public_endpoint("/oauth2/token"),
        "jwks_uri": c.public_endpoint("/.well-known/jwks.json"),
        "revocation_endpoint": c.public_endpoint("/oauth2/revoke"),
        "userinfo_endpoint": c.public_endpoint("/userinfo"),
        "end_session_endpoint": c.public_endpoint("/oauth2/sessions/logout"),
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "subject_types_supported": ["public"],
        "response_types_supported": ["code", "code id_token", "id_token", "token id_token", "token", "token id_token code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": ["authorization_code", "implicit", "client_credentials", "refresh_token"],
        "scopes_supported": ["offline_access", "offline", "openid"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash", "c_hash"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "id_token_signed_response_alg": [c.id_token_alg.as_str()],
        "userinfo_signing_alg_values_supported": ["none", "RS256"],
        "userinfo_signed_response_alg": ["none", "RS256"],
        "code_challenge_methods_supported": ["S256"],
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "claims_parameter_supported": false,
    });
    Response::json(200, &doc).with_header("cache-control", "public, max-age=60")
}

/// `GET /.well-known/jwks.json`: the public keys of the ID-token and access-token sets.
pub async fn jwks<S: Store, P: Platform>(latch: &Latch<S, P>) -> Result<Response, Error> {
    let mut out = Vec::new();
    for set in [keys::ID_TOKEN_SET, keys::ACCESS_TOKEN_SET] {
        out.extend(latch.key_set(set).await?.iter().rev().map(|k| k.public_jwk()));
    }
    Ok(Response::json(200, &json!({ "keys": out })))
}
