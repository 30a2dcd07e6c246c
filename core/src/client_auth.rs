//! Client authentication at the token and revocation endpoints (RFC 6749 §2.3).
//!
//! Supported: `client_secret_basic` (§2.3.1, HTTP Basic), `client_secret_post`
//! (§2.3.1, credentials in the body) and `none` (public clients, RFC 7591 §2:
//! `client_id` only). `private_key_jwt` (RFC 7523 §2.2) is recognised and answered
//! with a clear error until it is built: the `client_assertion` branch below is where
//! it goes.

use crate::client::Client;
use crate::error::Error;
use crate::http::{Params, Request};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::Store;

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
    /// RFC 7523 §2.2: registrable, not accepted yet.
    PrivateKeyJwt,
    /// A public client (RFC 6749 §2.1): `client_id` only.
    None,
}

impl AuthMethod {
    /// Every method (each variant once; `as_str` is exhaustive, a test checks the list).
    pub const ALL: [AuthMethod; 4] = [Self::ClientSecretPost, Self::ClientSecretBasic, Self::PrivateKeyJwt, Self::None];
    /// Its name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }
    /// Whether the token and revocation endpoints accept it (what discovery advertises).
    pub fn accepted(self) -> bool {
        self != Self::PrivateKeyJwt
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
) -> Result<std::sync::Arc<Client>, Error> {
    let presented = presented(req, params)?;
    let (id, secret, method) = match &presented {
        Presented::Basic(id, s) => (id.as_str(), Some(s.as_str()), AuthMethod::ClientSecretBasic),
        Presented::Post(id, s) => (id.as_str(), Some(s.as_str()), AuthMethod::ClientSecretPost),
        Presented::None(id) => (id.as_str(), None, AuthMethod::None),
        Presented::Assertion => {
            return Err(Error::invalid_client(format!(
                "The '{}' authentication method is not supported yet.",
                AuthMethod::PrivateKeyJwt.as_str()
            )))
        }
    };
    let method = method.as_str();
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
        assert_eq!(AuthMethod::advertised(), ["client_secret_post", "client_secret_basic", "none"]);
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
