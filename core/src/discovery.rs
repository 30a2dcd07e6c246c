//! Discovery: OpenID Connect Discovery 1.0 §3 / RFC 8414 §2 metadata, and the JWK set
//! (RFC 7517 §5).

use crate::client_auth::AuthMethod;
use crate::config::Config;
use crate::error::Error;
use crate::grants::GrantType;
use crate::http::Response;
use crate::keys;
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::Store;
use serde_json::json;

/// `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`,
/// with the ID-token algorithms read from the ID-token key set (see [`id_token_algs`]).
pub async fn openid_configuration<S: Store, P: Platform>(latch: &Latch<S, P>) -> Result<Response, Error> {
    let keys = latch.key_set(keys::ID_TOKEN_SET).await?;
    Ok(metadata(&latch.config, &id_token_algs(&keys, latch.config.id_token_alg)))
}

/// The algorithms of an ID-token key set, newest key first, each once: the first is the
/// one new ID tokens are signed with (the newest key signs, see
/// [`Latch::signing_key`]); older keys' algorithms stay listed while their keys do, since
/// ID tokens they signed are still in use. OIDC Discovery 1.0 §3
/// `id_token_signing_alg_values_supported`; Hydra lists the algorithm of its signing key
/// there. An empty set (before the host prepared the keys) falls back to `default`.
pub fn id_token_algs(set: &[keys::SigningKey], default: keys::Alg) -> Vec<&'static str> {
    let mut algs: Vec<&'static str> = Vec::new();
    for key in set.iter().rev() {
        if !algs.contains(&key.alg.as_str()) {
            algs.push(key.alg.as_str());
        }
    }
    if algs.is_empty() {
        algs.push(default.as_str());
    }
    algs
}

/// The metadata document, given the ID-token algorithms (the signing one first; never
/// empty, see [`id_token_algs`]).
fn metadata(c: &Config, id_token_algs: &[&str]) -> Response {
    let mut doc = json!({
        "issuer": c.issuer,
        "authorization_endpoint": c.public_endpoint("/oauth2/auth"),
        "token_endpoint": c.public_endpoint("/oauth2/token"),
        "jwks_uri": c.public_endpoint("/.well-known/jwks.json"),
        "revocation_endpoint": c.public_endpoint("/oauth2/revoke"),
        // Not offered (absent from grant_types_supported), but Hydra's schema requires
        // it, and Ory's SDKs refuse a document without it.
        "device_authorization_endpoint": c.public_endpoint("/oauth2/device/auth"),
        "userinfo_endpoint": c.public_endpoint("/userinfo"),
        "end_session_endpoint": c.public_endpoint("/oauth2/sessions/logout"),
        "frontchannel_logout_supported": true,
        "frontchannel_logout_session_supported": true,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "subject_types_supported": c.subject_types,
        "response_types_supported": ["code", "code id_token", "id_token", "token id_token", "token", "token id_token code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": GrantType::advertised().map(GrantType::as_str).collect::<Vec<_>>(),
        "scopes_supported": ["offline_access", "offline", "openid"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash", "c_hash"],
        "token_endpoint_auth_methods_supported": AuthMethod::advertised(),
        "revocation_endpoint_auth_methods_supported": AuthMethod::advertised(),
        "token_endpoint_auth_signing_alg_values_supported": crate::client_auth::signing_algs(),
        "revocation_endpoint_auth_signing_alg_values_supported": crate::client_auth::signing_algs(),
        "id_token_signing_alg_values_supported": id_token_algs,
        "id_token_signed_response_alg": id_token_algs.get(..1).unwrap_or_default(),
        "userinfo_signing_alg_values_supported": ["none", "RS256"],
        "userinfo_signed_response_alg": ["none", "RS256"],
        "code_challenge_methods_supported": ["S256"],
        // RFC 9207 §3: every authorization response carries `iss`.
        "authorization_response_iss_parameter_supported": true,
        // RFC 9101 / OIDC Core §6: signed request objects, by value and by reference
        // (only from the client's registered request_uris).
        "request_parameter_supported": true,
        "request_uri_parameter_supported": true,
        "require_request_uri_registration": true,
        "request_object_signing_alg_values_supported": crate::jwt_assertion::ASYMMETRIC_ALGS,
        "claims_parameter_supported": false,
        // RFC 9126 §5.
        "pushed_authorization_request_endpoint": c.public_endpoint(crate::par::PATH),
        "require_pushed_authorization_requests": c.par.required,
        // RFC 9449 §5.1.
        "dpop_signing_alg_values_supported": crate::dpop::ALGS,
    });
    // FAPI 2.0: only what the profile lets a client use.
    if c.fapi2 {
        let algs = |all: &[&'static str]| -> Vec<&'static str> {
            all.iter().copied().filter(|a| crate::fapi::ALGS.contains(a)).collect()
        };
        let assertion_algs = algs(crate::jwt_assertion::ASYMMETRIC_ALGS);
        doc["response_types_supported"] = json!(["code"]);
        for field in ["token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"] {
            doc[field] = json!([AuthMethod::PrivateKeyJwt.as_str()]);
        }
        for field in [
            "token_endpoint_auth_signing_alg_values_supported",
            "revocation_endpoint_auth_signing_alg_values_supported",
            "request_object_signing_alg_values_supported",
        ] {
            doc[field] = json!(assertion_algs);
        }
        doc["dpop_signing_alg_values_supported"] = json!(algs(crate::dpop::ALGS));
    }
    // RFC 8414 §2 / OIDC Discovery §3: only while registration is open.
    if c.registration.enabled {
        doc["registration_endpoint"] = c.public_endpoint("/oauth2/register").into();
    }
    Response::json(200, &doc).with_header("cache-control", "public, max-age=60")
}

/// `GET /.well-known/jwks.json`: the public keys of the ID-token and access-token sets.
///
/// A stored key that no configured system secret opens is left out rather than failing
/// the whole set: the document holds only keys Latch can vouch for, so leaving one out
/// can only make a token it signed fail verification (fail closed), while a 5xx would
/// break verification of every token. Readiness reports such a key (503 on the admin
/// port, naming it), and a set whose newest key is one refuses to sign
/// ([`Latch::signing_key`]), so nothing is signed that this document does not cover.
pub async fn jwks<S: Store, P: Platform>(latch: &Latch<S, P>) -> Result<Response, Error> {
    let mut out = Vec::new();
    for set in [keys::ID_TOKEN_SET, keys::ACCESS_TOKEN_SET] {
        out.extend(latch.key_set(set).await?.iter().rev().map(|k| k.public_jwk()));
    }
    Ok(Response::json(200, &json!({ "keys": out })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Alg, SigningKey};
    use crate::platform::FixedPlatform;

    /// The lists discovery derives from the grant and client-authentication tables are
    /// what it always advertised, in the same order (a table row added or reordered
    /// shows here).
    #[test]
    fn advertised_grants_and_auth_methods_are_the_tables_rows() {
        let r = metadata(&Config::new("https://auth.example", b"0123456789abcdef"), &["RS256"]);
        let doc: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
        assert_eq!(
            doc["grant_types_supported"],
            json!([
                "authorization_code",
                "implicit",
                "client_credentials",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "urn:ietf:params:oauth:grant-type:device_code",
                "urn:ietf:params:oauth:grant-type:token-exchange"
            ])
        );
        for field in ["token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"] {
            assert_eq!(
                doc[field],
                json!(["client_secret_post", "client_secret_basic", "private_key_jwt", "client_secret_jwt", "none"]),
                "{field}"
            );
        }
    }

    /// The newest key's algorithm comes first (it signs new ID tokens), each algorithm
    /// once; an empty set falls back to the configured default.
    #[test]
    fn id_token_algs_follow_the_key_set() {
        let p = FixedPlatform::new(0, 7);
        let key = |alg, kid| SigningKey::generate(&p, alg, kid).expect("key");
        // (the key set, oldest first; the configured default; the expected list)
        type Case = (&'static [(Alg, &'static str)], Alg, &'static [&'static str]);
        let cases: [Case; 5] = [
            (&[], Alg::Rs256, &["RS256"]),
            (&[], Alg::Es256, &["ES256"]),
            (&[(Alg::Rs256, "a")], Alg::Es256, &["RS256"]),
            (&[(Alg::Rs256, "a"), (Alg::Es256, "b")], Alg::Rs256, &["ES256", "RS256"]),
            (&[(Alg::EdDsa, "a"), (Alg::Rs256, "b"), (Alg::EdDsa, "c")], Alg::Rs256, &["EdDSA", "RS256"]),
        ];
        for (set, default, want) in cases {
            let keys: Vec<SigningKey> = set.iter().map(|(alg, kid)| key(*alg, kid)).collect();
            assert_eq!(id_token_algs(&keys, default), want, "{set:?}");
        }
    }
}
