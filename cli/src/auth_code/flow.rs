//! The pure half of the authorization code flow: the per-attempt secrets (state, nonce, PKCE),
//! the authorization request URL, the token request, and reading what comes back (the
//! callback's error parameters, the ID token's claims and nonce). Only
//! [`Attempt::new`] touches randomness; everything else is a function of its inputs.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use latch_core::pkce;
use rand::rngs::OsRng;
use rand::RngCore as _;
use serde_json::Value;
use url::Url;

/// Random octets behind each state, nonce and PKCE verifier. 32 octets is what RFC 7636 §4.1
/// recommends for the verifier (base64url: 43 characters, 256 bits of entropy).
pub const RANDOM_OCTETS: usize = 32;

/// `octets` random bytes from the operating system, base64url-encoded without padding.
pub fn random_urlsafe(octets: usize) -> String {
    let mut buf = vec![0u8; octets];
    OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A fresh PKCE pair `(code_verifier, code_challenge)`: a verifier of [`RANDOM_OCTETS`]
/// random octets in base64url (RFC 7636 §4.1) and its S256 challenge (§4.2, core's
/// [`pkce::s256`], the one the server checks with).
pub fn pkce_pair() -> (String, String) {
    let verifier = random_urlsafe(RANDOM_OCTETS);
    let challenge = pkce::s256(&verifier);
    (verifier, challenge)
}

/// The secrets of one authorization attempt. A new attempt is made for every authorization
/// link, so a state, nonce or verifier is never used twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// `state` (RFC 6749 §10.12, CSRF protection of the redirect URI).
    pub state: String,
    /// `nonce` (OpenID Connect Core §3.1.2.1, replay protection of the ID token).
    pub nonce: String,
    /// PKCE `code_verifier`, sent only to the token endpoint.
    pub verifier: String,
    /// PKCE `code_challenge` (S256), sent with the authorization request.
    pub challenge: String,
}

impl Attempt {
    /// Random state (unless `--state` fixed one), nonce and PKCE pair.
    pub fn new(fixed_state: Option<&str>) -> Self {
        let (verifier, challenge) = pkce_pair();
        Attempt {
            state: fixed_state.map_or_else(|| random_urlsafe(RANDOM_OCTETS), str::to_owned),
            nonce: random_urlsafe(RANDOM_OCTETS),
            verifier,
            challenge,
        }
    }
}

/// What goes into the authorization request besides the attempt's secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthRequest {
    /// `client_id`.
    pub client_id: String,
    /// `redirect_uri`: where the browser comes back to (our callback).
    pub redirect_uri: String,
    /// Scopes, sent space-separated (RFC 6749 §3.3).
    pub scopes: Vec<String>,
    /// Requested access token audiences, sent space-separated (Hydra's `audience`).
    pub audience: Vec<String>,
    /// OpenID Connect `prompt` values, sent space-separated (Core §3.1.2.1).
    pub prompt: Vec<String>,
    /// OpenID Connect `max_age` in seconds.
    pub max_age: Option<u64>,
    /// `response_mode` (OAuth 2.0 Multiple Response Type Encoding Practices §2.1).
    pub response_mode: Option<String>,
}

/// Joins the non-empty trimmed items with spaces.
fn space_joined(items: &[String]) -> String {
    items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The authorization request URL (RFC 6749 §4.1.1 with PKCE, RFC 7636 §4.3, and OpenID
/// Connect's `nonce`). A query already in `endpoint` is kept (RFC 6749 §3.1); `audience`,
/// `prompt` and `max_age` are only added when given.
pub fn build_auth_url(endpoint: &Url, req: &AuthRequest, attempt: &Attempt) -> Url {
    let mut url = endpoint.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", &req.client_id)
            .append_pair("redirect_uri", &req.redirect_uri)
            .append_pair("scope", &space_joined(&req.scopes))
            .append_pair("state", &attempt.state)
            .append_pair("nonce", &attempt.nonce)
            .append_pair("code_challenge", &attempt.challenge)
            .append_pair("code_challenge_method", "S256");
        let audience = space_joined(&req.audience);
        if !audience.is_empty() {
            q.append_pair("audience", &audience);
        }
        let prompt = space_joined(&req.prompt);
        if !prompt.is_empty() {
            q.append_pair("prompt", &prompt);
        }
        if let Some(max_age) = req.max_age {
            q.append_pair("max_age", &max_age.to_string());
        }
        if let Some(mode) = &req.response_mode {
            q.append_pair("response_mode", mode);
        }
    }
    url
}

/// The token request's form (RFC 6749 §4.1.3 plus `code_verifier`, RFC 7636 §4.5); client
/// authentication is added by the caller.
pub fn token_request_params(code: &str, redirect_uri: &str, verifier: &str) -> Vec<(String, String)> {
    [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri), ("code_verifier", verifier)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// An error response at the redirect URI (RFC 6749 §4.1.2.1), with Hydra's extra
/// `error_hint` and `error_debug`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackError {
    /// `error`, e.g. `access_denied`.
    pub error: String,
    /// `error_description`.
    pub description: String,
    /// `error_hint` (Hydra).
    pub hint: String,
    /// `error_debug` (Hydra, only with `oauth2.expose_internal_errors`).
    pub debug: String,
}

impl CallbackError {
    /// The error in the callback's query, if it carries a non-empty `error`.
    pub fn from_query(query: &HashMap<String, String>) -> Option<Self> {
        let get = |k: &str| query.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
        let error = get("error");
        if error.is_empty() {
            return None;
        }
        Some(CallbackError {
            error,
            description: get("error_description"),
            hint: get("error_hint"),
            debug: get("error_debug"),
        })
    }

    /// One line for the terminal: `error: description (hint)`.
    pub fn summary(&self) -> String {
        let mut out = self.error.clone();
        for (sep, part) in [(": ", &self.description), (" (", &self.hint), (" debug: ", &self.debug)] {
            if !part.is_empty() {
                out.push_str(sep);
                out.push_str(part);
                if sep == " (" {
                    out.push(')');
                }
            }
        }
        out
    }
}

/// The header and claims of a compact-serialised JWT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedJwt {
    /// The JOSE header.
    pub header: Value,
    /// The claims set.
    pub claims: Value,
}

/// Decodes (does NOT verify) a JWS in compact serialisation (RFC 7515 §7.1:
/// `BASE64URL(header) . BASE64URL(payload) . BASE64URL(signature)`); header and payload must
/// be JSON objects (RFC 7519 §7.2). Checking the signature is the relying party's job, not
/// this tool's: it shows what the server issued.
pub fn decode_jwt_claims(jwt: &str) -> Result<DecodedJwt, String> {
    let parts: Vec<&str> = jwt.trim().split('.').collect();
    let [header, payload, _signature] = parts.as_slice() else {
        return Err(format!("expected 3 dot-separated parts, found {}", parts.len()));
    };
    let decode = |part: &str, what: &str| -> Result<Value, String> {
        // base64url without padding (RFC 7515 §2); tolerate padding some encoders add.
        let bytes = URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|e| format!("the {what} is not base64url: {e}"))?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(_) => Err(format!("the {what} is not a JSON object")),
            Err(e) => Err(format!("the {what} is not JSON: {e}")),
        }
    };
    Ok(DecodedJwt { header: decode(header, "header")?, claims: decode(payload, "payload")? })
}

/// Checks the ID token's `nonce` claim against the one sent (OpenID Connect Core §3.1.3.7,
/// step 11); the error is a warning to show.
pub fn check_nonce(claims: &Value, expected: &str) -> Result<(), String> {
    match claims.get("nonce").and_then(Value::as_str) {
        Some(nonce) if nonce == expected => Ok(()),
        Some(nonce) => Err(format!("the ID token's nonce {nonce:?} is not the one sent ({expected:?})")),
        None => Err(format!("the ID token has no nonce claim, but nonce {expected:?} was sent")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// RFC 7636 Appendix B: the 32 example octets, their base64url verifier and its S256
    /// challenge, copied from the RFC.
    const RFC7636_OCTETS: [u8; 32] = [
        116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191,
        240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];
    const RFC7636_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const RFC7636_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    // Whether `verifier` is a valid code verifier (RFC 7636 §4.1), by core's rule.
    use pkce::valid_verifier as is_valid_verifier;

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(URL_SAFE_NO_PAD.encode(RFC7636_OCTETS), RFC7636_VERIFIER);
        assert_eq!(pkce::s256(RFC7636_VERIFIER), RFC7636_CHALLENGE);
        assert!(is_valid_verifier(RFC7636_VERIFIER));
    }

    #[test]
    fn verifier_rules() {
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&"~._-".repeat(32)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(43))));
        assert!(!is_valid_verifier(&format!("{}=", "a".repeat(43))));
    }

    #[test]
    fn pkce_pairs_are_valid_and_fresh() {
        let (v1, c1) = pkce_pair();
        let (v2, _) = pkce_pair();
        assert!(is_valid_verifier(&v1), "{v1}");
        assert_eq!(v1.len(), 43);
        assert_eq!(c1, pkce::s256(&v1));
        assert_ne!(v1, v2);
    }

    #[test]
    fn attempts_are_random_unless_state_is_fixed() {
        let a = Attempt::new(None);
        let b = Attempt::new(None);
        assert_ne!(a.state, b.state);
        assert_ne!(a.nonce, b.nonce);
        // 32 octets of base64url: 43 characters.
        assert_eq!((a.state.len(), a.nonce.len()), (43, 43));
        assert_eq!(a.challenge, pkce::s256(&a.verifier));
        let fixed = Attempt::new(Some("my-state"));
        assert_eq!(fixed.state, "my-state");
        assert_ne!(fixed.nonce, a.nonce);
    }

    fn attempt() -> Attempt {
        Attempt {
            state: "st".into(),
            nonce: "no".into(),
            verifier: RFC7636_VERIFIER.into(),
            challenge: RFC7636_CHALLENGE.into(),
        }
    }

    fn query(url: &Url) -> Vec<(String, String)> {
        url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn auth_url_minimal() {
        let endpoint = Url::parse("http://127.0.0.1:4444/oauth2/auth").unwrap();
        let req = AuthRequest {
            client_id: "my client".into(),
            redirect_uri: "http://127.0.0.1:4446/callback".into(),
            scopes: vec!["offline".into(), "openid".into()],
            ..AuthRequest::default()
        };
        let url = build_auth_url(&endpoint, &req, &attempt());
        assert_eq!(url.path(), "/oauth2/auth");
        assert_eq!(
            query(&url),
            pairs(&[
                ("response_type", "code"),
                ("client_id", "my client"),
                ("redirect_uri", "http://127.0.0.1:4446/callback"),
                ("scope", "offline openid"),
                ("state", "st"),
                ("nonce", "no"),
                ("code_challenge", RFC7636_CHALLENGE),
                ("code_challenge_method", "S256"),
            ])
        );
        // Spaces are form-encoded, so the scope travels as one parameter.
        assert!(url.as_str().contains("scope=offline+openid"), "{url}");
    }

    #[test]
    fn auth_url_optional_parameters_and_existing_query() {
        let endpoint = Url::parse("https://idp.example/authorize?tenant=a").unwrap();
        let req = AuthRequest {
            client_id: "c".into(),
            redirect_uri: "http://127.0.0.1:1/cb".into(),
            scopes: vec!["openid".into(), " ".into()],
            audience: vec!["https://api1".into(), "https://api2".into()],
            prompt: vec!["login".into(), "consent".into()],
            max_age: Some(0),
            response_mode: Some("form_post".into()),
        };
        let q = query(&build_auth_url(&endpoint, &req, &attempt()));
        assert_eq!(q.iter().find(|(n, _)| n == "response_mode").map(|(_, v)| v.as_str()), Some("form_post"));
        assert_eq!(q[0], ("tenant".to_owned(), "a".to_owned()));
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("scope"), Some("openid"));
        assert_eq!(get("audience"), Some("https://api1 https://api2"));
        assert_eq!(get("prompt"), Some("login consent"));
        assert_eq!(get("max_age"), Some("0"));
    }

    #[test]
    fn token_request() {
        assert_eq!(
            token_request_params("the-code", "http://127.0.0.1:4446/callback", "ver"),
            pairs(&[
                ("grant_type", "authorization_code"),
                ("code", "the-code"),
                ("redirect_uri", "http://127.0.0.1:4446/callback"),
                ("code_verifier", "ver"),
            ])
        );
    }

    #[test]
    fn callback_errors() {
        let q = |p: &[(&str, &str)]| p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(CallbackError::from_query(&q(&[("code", "x"), ("state", "s")])), None);
        assert_eq!(CallbackError::from_query(&q(&[("error", "")])), None);
        let e = CallbackError::from_query(&q(&[
            ("error", "access_denied"),
            ("error_description", "The resource owner denied the request"),
            ("error_hint", "Make sure that the user consented."),
        ]))
        .unwrap();
        assert_eq!(e.error, "access_denied");
        assert_eq!(
            e.summary(),
            "access_denied: The resource owner denied the request (Make sure that the user consented.)"
        );
        let bare = CallbackError { error: "server_error".into(), ..CallbackError::default() };
        assert_eq!(bare.summary(), "server_error");
    }

    fn jwt(header: &Value, claims: &Value) -> String {
        format!("{}.{}.c2ln", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()))
    }

    #[test]
    fn decodes_header_and_claims() {
        let token = jwt(&json!({"alg": "RS256", "kid": "k1"}), &json!({"sub": "foo@bar.com", "nonce": "n"}));
        let d = decode_jwt_claims(&token).unwrap();
        assert_eq!(d.header["kid"], "k1");
        assert_eq!(d.claims["sub"], "foo@bar.com");
    }

    #[test]
    fn rejects_malformed_jwts() {
        assert!(decode_jwt_claims("a.b").unwrap_err().contains("3 dot-separated parts"));
        assert!(decode_jwt_claims("!!.e30.x").unwrap_err().contains("header is not base64url"));
        let not_json = format!("e30.{}.x", URL_SAFE_NO_PAD.encode("nope"));
        assert!(decode_jwt_claims(&not_json).unwrap_err().contains("payload is not JSON"));
        let array = format!("e30.{}.x", URL_SAFE_NO_PAD.encode("[1]"));
        assert!(decode_jwt_claims(&array).unwrap_err().contains("not a JSON object"));
        // Padding is tolerated: "e30" is "{}".
        assert_eq!(decode_jwt_claims("e30=.e30.x").unwrap().claims, json!({}));
    }

    #[test]
    fn nonce_check() {
        assert_eq!(check_nonce(&json!({"nonce": "abc"}), "abc"), Ok(()));
        assert!(check_nonce(&json!({"nonce": "abd"}), "abc").unwrap_err().contains("not the one sent"));
        assert!(check_nonce(&json!({}), "abc").unwrap_err().contains("no nonce claim"));
    }
}
