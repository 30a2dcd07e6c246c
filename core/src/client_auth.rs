//! Client authentication at the token and revocation endpoints (RFC 6749 §2.3).
//!
//! Supported: `client_secret_basic` (§2.3.1, HTTP Basic), `client_secret_post`
//! (§2.3.1, credentials in the body), `private_key_jwt` (RFC 7523 §2.2, OIDC Core §9: a
//! JWT signed with a key of the client's `jwks` or `jwks_uri`), `client_secret_jwt`
//! (RFC 7523 §2.2, OIDC Core §9: a JWT signed with HMAC under the client's secret,
//! which Hydra does not offer; the secret of such a client is kept sealed besides its
//! hash, since the HMAC needs it) and `none` (public clients, RFC 7591 §2:
//! `client_id` only).

use crate::client::Client;
use crate::error::Error;
use crate::http::{Params, Request};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::Store;
use std::sync::Arc;

/// The client authentication methods (RFC 7591 §2 `token_endpoint_auth_method`), in
/// the order discovery lists them. Client validation, discovery's
/// `token_endpoint_auth_methods_supported` and `revocation_endpoint_auth_methods_supported`
/// and the OpenAPI document (a test compares it) read this table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// §2.3.1, the credentials in the body.
    ClientSecretPost,
    /// §2.3.1, HTTP Basic.
    ClientSecretBasic,
    /// RFC 7523 §2.2 and OIDC Core §9.
    PrivateKeyJwt,
    /// RFC 7523 §2.2 and OIDC Core §9, with HMAC under the client secret.
    ClientSecretJwt,
    /// A public client (RFC 6749 §2.1): `client_id` only.
    None,
}

impl AuthMethod {
    /// Every method (each variant once; `as_str` is exhaustive, a test checks the list).
    pub const ALL: [AuthMethod; 5] =
        [Self::ClientSecretPost, Self::ClientSecretBasic, Self::PrivateKeyJwt, Self::ClientSecretJwt, Self::None];
    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::ClientSecretJwt => "client_secret_jwt",
            Self::None => "none",
        }
    }
    /// Whether the token and revocation endpoints accept it (what discovery advertises):
    /// every method of the table.
    pub fn accepted(self) -> bool {
        true
    }
    /// The method of a wire name.
    pub fn parse(wire: &str) -> Option<AuthMethod> {
        Self::ALL.into_iter().find(|m| m.as_str() == wire)
    }
    /// The names of the accepted methods, in table order.
    pub fn advertised() -> Vec<&'static str> {
        Self::ALL.into_iter().filter(|m| m.accepted()).map(Self::as_str).collect()
    }
}

/// The credentials a request presented.
enum Presented {
    Basic(String, String),
    Post(String, String),
    None(String),
    Assertion,
}

/// RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in
/// each request."
fn presented(req: &Request, params: &Params) -> Result<Presented, Error> {
    let basic = req.basic_auth()?;
    let post_secret = params.get("client_secret");
    let assertion = params.get("client_assertion").is_some() || params.get("client_assertion_type").is_some();
    let methods = basic.is_some() as u8 + post_secret.is_some() as u8 + assertion as u8;
    if methods > 1 {
        return Err(Error::invalid_request("The client used more than one authentication method in one request."));
    }
    if let Some((id, secret)) = basic {
        if let Some(body_id) = params.get("client_id") {
            if body_id != id {
                return Err(Error::invalid_request(
                    "The 'client_id' parameter does not match the authenticated client.",
                ));
            }
        }
        return Ok(Presented::Basic(id, secret));
    }
    if assertion {
        return Ok(Presented::Assertion);
    }
    let id = params.get("client_id").ok_or_else(|| {
        Error::invalid_client(
            "The client did not authenticate: send HTTP Basic credentials or 'client_id' (and 'client_secret').",
        )
    })?;
    Ok(match post_secret {
        Some(s) => Presented::Post(id.to_string(), s.to_string()),
        None => Presented::None(id.to_string()),
    })
}

/// Authenticates the client of a token or revocation request.
pub async fn authenticate<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    req: &Request,
    params: &Params,
) -> Result<Arc<Client>, Error> {
    let presented = presented(req, params)?;
    let (id, secret, method) = match &presented {
        Presented::Basic(id, s) => (id.as_str(), Some(s.as_str()), AuthMethod::ClientSecretBasic),
        Presented::Post(id, s) => (id.as_str(), Some(s.as_str()), AuthMethod::ClientSecretPost),
        Presented::None(id) => (id.as_str(), None, AuthMethod::None),
        Presented::Assertion => return by_assertion(latch, params).await,
    };
    let method = method.as_str();
    // FAPI 2.0: no secrets and no public clients, whoever the client is.
    crate::fapi::client_authentication(&latch.config, method, None)?;
    let unknown =
        || Error::invalid_client("The requested OAuth 2.0 Client does not exist or the credentials are wrong.");
    // Every refusal of a presented secret pays one PBKDF2, so that an unknown client, a
    // client without a secret and a wrong secret cost the same: answer times do not tell
    // which client ids exist.
    let refuse = |e: Error| async move {
        if let Some(secret) = secret {
            let _ = crate::secret::verify_secret(&latch.platform, &latch.dummy_hash, secret).await;
        }
        Err(e)
    };
    let Some(client) = latch.client(id).await? else { return refuse(unknown()).await };
    if client.token_endpoint_auth_method != method {
        return refuse(Error::invalid_client(format!(
            "The OAuth 2.0 Client supports client authentication method '{}', but method '{method}' was requested. You must configure the OAuth 2.0 client's 'token_endpoint_auth_method' value to accept '{method}'.",
            client.token_endpoint_auth_method
        )))
        .await;
    }
    if let Some(secret) = secret {
        let Some(stored) = client.secret_hash.as_deref() else { return refuse(unknown()).await };
        if !latch.secrets.verify(&latch.platform, &client.client_id, stored, secret).await {
            return Err(unknown());
        }
    }
    Ok(client)
}

/// RFC 7521 §4.2: the one client assertion type Latch reads (RFC 7523 §2.2).
pub const JWT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The HMAC algorithms of `client_secret_jwt` (RFC 7518 §3.2).
pub const HMAC_ALGS: &[&str] = &["HS256", "HS384", "HS512"];

/// The JWS algorithms a client may register as `token_endpoint_auth_signing_alg`
/// (discovery's `token_endpoint_auth_signing_alg_values_supported`): the asymmetric ones
/// of `private_key_jwt`, then the HMAC ones of `client_secret_jwt`.
pub fn signing_algs() -> Vec<&'static str> {
    crate::jwt_assertion::ASYMMETRIC_ALGS.iter().chain(HMAC_ALGS).copied().collect()
}

/// The shortest secret each HMAC algorithm accepts, in bytes (RFC 7518 §3.2: "A key of
/// the same size as the hash output … or larger MUST be used").
pub fn min_secret_len(alg: &str) -> usize {
    match alg {
        "HS384" => 48,
        "HS512" => 64,
        _ => 32,
    }
}

/// Checks a compact JWS signed with HMAC under `secret` (`alg` one of [`HMAC_ALGS`],
/// compared in constant time) and returns its claims.
fn verify_hmac(token: &str, alg: &str, secret: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (signed, signature) = token.rsplit_once('.')?;
    let (_, payload) = signed.split_once('.')?;
    let signature = b64.decode(signature).ok()?;
    // One HMAC of the hash the algorithm names; `verify_slice` compares in constant time.
    fn verifies<M: hmac::Mac + hmac::digest::KeyInit>(secret: &[u8], signed: &[u8], signature: &[u8]) -> Option<bool> {
        let mut m = <M as hmac::digest::KeyInit>::new_from_slice(secret).ok()?;
        m.update(signed);
        Some(m.verify_slice(signature).is_ok())
    }
    let valid = match alg {
        "HS256" => verifies::<hmac::Hmac<sha2::Sha256>>(secret, signed.as_bytes(), &signature),
        "HS384" => verifies::<hmac::Hmac<sha2::Sha384>>(secret, signed.as_bytes(), &signature),
        "HS512" => verifies::<hmac::Hmac<sha2::Sha512>>(secret, signed.as_bytes(), &signature),
        _ => None,
    }?;
    if !valid {
        return None;
    }
    serde_json::from_slice(&b64.decode(payload).ok()?).ok()
}

/// `private_key_jwt` and `client_secret_jwt` (RFC 7523 §2.2, §3; OIDC Core §9): the
/// client is the one whose key (or secret) signed `client_assertion`, whose `iss` and
/// `sub` are its id.
async fn by_assertion<S: Store, P: Platform>(latch: &Latch<S, P>, params: &Params) -> Result<Arc<Client>, Error> {
    use crate::jwt_assertion::{self, Rules, Unverified};
    // RFC 7521 §4.2: `client_assertion_type` says how to read `client_assertion`.
    match params.get("client_assertion_type") {
        Some(JWT_ASSERTION_TYPE) => {}
        Some(other) => {
            return Err(Error::invalid_request(format!(
                "Unknown client_assertion_type '{other}': only '{JWT_ASSERTION_TYPE}' is supported."
            )))
        }
        None => return Err(Error::invalid_request("'client_assertion_type' is required with 'client_assertion'.")),
    }
    let assertion = params
        .get("client_assertion")
        .ok_or_else(|| Error::invalid_request("'client_assertion' is required with 'client_assertion_type'."))?;
    let jwt = Unverified::read(assertion)
        .ok_or_else(|| Error::invalid_client("The client assertion is not a JWT (a compact JWS)."))?;
    // RFC 7523 §3 item 2: `sub` is the client id; `client_id`, when sent, must agree.
    let id = params.get("client_id").or(jwt.claim("sub")).ok_or_else(|| {
        Error::invalid_client("The client assertion names no client: it must carry 'sub' (the client id).")
    })?;
    let unknown =
        || Error::invalid_client("The requested OAuth 2.0 Client does not exist or the credentials are wrong.");
    let client = latch.client(id).await?.ok_or_else(unknown)?;
    // Which of the two the client registered; a secret client's assertion is an HMAC
    // (HS256 by default), a key client's a signature (RS256 by default).
    let secret_jwt = client.token_endpoint_auth_method == AuthMethod::ClientSecretJwt.as_str();
    if !secret_jwt && client.token_endpoint_auth_method != AuthMethod::PrivateKeyJwt.as_str() {
        let method = AuthMethod::PrivateKeyJwt.as_str();
        return Err(Error::invalid_client(format!(
            "The OAuth 2.0 Client supports client authentication method '{}', but method '{method}' was requested. You must configure the OAuth 2.0 client's 'token_endpoint_auth_method' value to accept '{method}'.",
            client.token_endpoint_auth_method
        )));
    }
    // OIDC Core §9 / RFC 7591 §2: the algorithm the client registered.
    let alg = match client.token_endpoint_auth_signing_alg.as_str() {
        "" if secret_jwt => "HS256",
        "" => "RS256",
        a => a,
    };
    if jwt.alg() != alg {
        return Err(Error::invalid_client(format!(
            "The client assertion is signed with '{}', but the client's token_endpoint_auth_signing_alg is '{alg}'.",
            jwt.alg()
        )));
    }
    // FAPI 2.0: private_key_jwt alone, with the profile's algorithms.
    crate::fapi::client_authentication(&latch.config, &client.token_endpoint_auth_method, Some(alg))?;
    // RFC 7523 §3 item 9: the signature (or MAC).
    let claims = if secret_jwt {
        let secret = client
            .client_secret_sealed
            .as_deref()
            .and_then(|s| crate::seal::open(&latch.config.system_secrets, crate::seal::Purpose::ClientSecret, s))
            .ok_or_else(unknown)?;
        verify_hmac(assertion, alg, &secret).ok_or_else(|| {
            Error::invalid_client("The client assertion's MAC does not verify with the client's secret.")
        })?
    } else {
        let kid = jwt.kid();
        let keys = crate::remote_keys::of_client(latch, &client, kid).await?;
        jwt_assertion::verify(assertion, alg, kid, &keys).ok_or_else(|| {
            Error::invalid_client("The client assertion's signature does not verify with any of the client's keys.")
        })?
    };
    // §3 items 1 and 2: "iss" and "sub" are both the client id.
    for name in ["iss", "sub"] {
        if claims.get(name).and_then(serde_json::Value::as_str) != Some(client.client_id.as_str()) {
            return Err(Error::invalid_client(format!("The client assertion's '{name}' must be the client id.")));
        }
    }
    let now = latch.platform.now();
    let audiences = latch.config.token_audiences();
    let rules = Rules { audiences: &audiences, now, iat_required: false, jti_required: true, max_ttl: None };
    let checked = jwt_assertion::check(&claims, &rules).map_err(Error::invalid_client)?;
    crate::fapi::assertion_audience(&latch.config, claims.get("aud"))?;
    // §3 item 7: each assertion once (OIDC Core §9: "The JWT ID MUST NOT be reused").
    let jti = checked.jti.as_deref().unwrap_or_default();
    if !latch.store.use_jti(&jwt_assertion::jti_key(&client.client_id, jti), checked.expires_at, now).await? {
        return Err(Error::invalid_client(
            "The client assertion's 'jti' was used before: an assertion is accepted once.",
        ));
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::AuthMethod;
    use crate::config::Config;
    use crate::http::{Method, Request};
    use crate::memory::MemoryStore;
    use crate::platform::{FixedPlatform, Platform};
    use crate::service::Latch;
    use crate::Port;
    use futures_executor::block_on;
    use serde_json::json;
    use std::cell::Cell;

    /// A platform that counts PBKDF2 runs and remembers their iteration counts.
    struct Counting(FixedPlatform, Cell<u32>, Cell<u32>);
    impl Platform for Counting {
        fn now(&self) -> i64 {
            self.0.now()
        }
        fn fill_random(&self, b: &mut [u8]) {
            self.0.fill_random(b)
        }
        async fn pbkdf2_sha256(&self, p: &[u8], s: &[u8], r: u32) -> [u8; 32] {
            self.1.set(self.1.get() + 1);
            self.2.set(r);
            self.0.pbkdf2_sha256(p, s, r).await
        }
    }

    /// The table lists each method once and reads back by name.
    #[test]
    fn auth_method_table_round_trips() {
        for m in AuthMethod::ALL {
            assert_eq!(AuthMethod::parse(m.as_str()), Some(m));
            assert_eq!(AuthMethod::ALL.iter().filter(|x| **x == m).count(), 1, "{m:?}");
        }
        assert_eq!(
            AuthMethod::advertised(),
            ["client_secret_post", "client_secret_basic", "private_key_jwt", "client_secret_jwt", "none"]
        );
    }

    fn basic(id: &str, secret: &str) -> String {
        use base64::Engine;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")))
    }

    /// Client-id enumeration by timing (threat: unauthenticated network client): every
    /// refused secret costs one PBKDF2 with the configured iteration count, whether the
    /// client is unknown, has no secret, expects another method, or the secret is wrong.
    /// Counted, not timed: timing belongs in the benches.
    #[test]
    fn every_refused_secret_pays_one_pbkdf2() {
        let mut c = Config::new("https://auth.example", b"0123456789abcdef-system-secret");
        c.pbkdf2_iterations = 37;
        let l = Latch::new(
            MemoryStore::new(),
            Counting(FixedPlatform::new(1_700_000_000, 3), Cell::new(0), Cell::new(0)),
            c,
        );
        let admin = |body: serde_json::Value| {
            let r = block_on(l.handle(Port::Admin, Request::new(Method::Post, "/admin/clients").json(&body))).1;
            assert_eq!(r.status, 201, "{:?}", r.json_body());
        };
        admin(json!({"client_id": "svc", "client_secret": "right-secret", "grant_types": ["client_credentials"]}));
        admin(json!({"client_id": "post", "client_secret": "right-secret", "grant_types": ["client_credentials"],
                     "token_endpoint_auth_method": "client_secret_post"}));
        admin(
            json!({"client_id": "public", "grant_types": ["authorization_code"], "redirect_uris": ["https://rp.example/cb"],
                     "token_endpoint_auth_method": "none"}),
        );
        let token = |id: &str, secret: &str| {
            let req = Request::new(Method::Post, "/oauth2/token")
                .header("authorization", &basic(id, secret))
                .form(&[("grant_type", "client_credentials")]);
            let revoke = Request::new(Method::Post, "/oauth2/revoke")
                .header("authorization", &basic(id, secret))
                .form(&[("token", "whatever")]);
            let mut runs = Vec::new();
            for req in [req, revoke] {
                l.platform.1.set(0);
                l.platform.2.set(0);
                let r = block_on(l.handle(Port::Public, req)).1;
                runs.push((r.status, l.platform.1.get(), l.platform.2.get()));
            }
            runs
        };
        // The baseline: a wrong secret for a known client.
        assert_eq!(token("svc", "wrong"), [(401, 1, 37); 2]);
        for (id, why) in [
            ("nobody", "an unknown client"),
            ("public", "a client without a secret"),
            ("post", "a client expecting client_secret_post"),
        ] {
            assert_eq!(token(id, "wrong"), [(401, 1, 37); 2], "{why} must cost one PBKDF2 like a wrong secret");
        }
    }
}
