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
        "subject_types_supported": ["public"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["client_credentials"],
        "scopes_supported": ["offline_access", "offline", "openid"],
        "claims_supported": ["sub"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "userinfo_signing_alg_values_supported": ["none", "RS256"],
        "code_challenge_methods_supported": ["S256"],
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
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
