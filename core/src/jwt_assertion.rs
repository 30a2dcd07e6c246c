//! JWTs presented as credentials (RFC 7523 §3): the JWT-bearer grant's `assertion`
//! (§2.1, [`crate::grants::jwt_bearer`]) and a client's `client_assertion` (§2.2,
//! `private_key_jwt` in [`crate::client_auth`]). Both read the claims before the
//! signature is verified (to find the key), verify against keys the server holds, then
//! check the claims by the same rules; they differ in which claims are required and
//! in the error they answer, so the checks return a hint and the caller picks the code.

use crate::keys;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// A compact JWS read without verifying it: what it claims to be, to find the key.
pub struct Unverified {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims as sent.
    pub claims: Map<String, Value>,
}

impl Unverified {
    /// Reads a compact JWS (three base64url parts, a JSON object in each of the first
    /// two). `None` when it is not one.
    pub fn read(token: &str) -> Option<Unverified> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
        use base64::Engine as _;
        let mut parts = token.split('.');
        let (h, c, _s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let object = |part: &str| match serde_json::from_slice(&B64.decode(part).ok()?).ok()? {
            Value::Object(m) => Some(m),
            _ => None,
        };
        Some(Unverified { header: object(h)?, claims: object(c)? })
    }
    /// The header's `alg`.
    pub fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or("")
    }
    /// The header's `kid`, when it names one.
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str).filter(|k| !k.is_empty())
    }
    /// A string claim.
    pub fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }
}

/// The JWS algorithms a presented assertion may be signed with (RFC 7518 §3.1's
/// asymmetric ones that [`keys::verify_jws`] verifies). `none` and the HMAC algorithms
/// are never accepted: a key the server would hold as a shared secret is a client
/// secret, which Latch stores only hashed.
pub const ASYMMETRIC_ALGS: &[&str] =
    &["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

/// Verifies `token` against the first of `keys` that fits it and returns the verified
/// claims. A key fits when its `kid` is the header's (if the header names one), its
/// `use` is `sig` or absent (RFC 7517 §4.2), and its `alg`, when it has one, is the
/// header's (so a key registered for one algorithm never verifies another).
pub fn verify(token: &str, header_alg: &str, kid: Option<&str>, keys: &[Value]) -> Option<Map<String, Value>> {
    if !ASYMMETRIC_ALGS.contains(&header_alg) {
        return None;
    }
    keys.iter()
        .filter(|k| kid.is_none_or(|kid| k.get("kid").and_then(Value::as_str) == Some(kid)))
        .filter(|k| k.get("use").and_then(Value::as_str).is_none_or(|u| u == "sig"))
        .filter(|k| k.get("alg").and_then(Value::as_str).is_none_or(|a| a == header_alg))
        .find_map(|k| keys::verify_jws(k, token))
}

/// What the claims of a verified assertion must satisfy.
pub struct Rules<'a> {
    /// `aud` must contain one of these (RFC 7523 §3 item 3).
    pub audiences: &'a [String],
    /// The time to check `exp`, `nbf` and `iat` against (Unix seconds).
    pub now: i64,
    /// Whether `iat` is required (§3 item 6 makes it optional; Hydra's JWT-bearer grant
    /// requires it unless `oauth2.grant.jwt.iat_optional`).
    pub iat_required: bool,
    /// Whether `jti` is required (§3 item 7).
    pub jti_required: bool,
    /// At most this many seconds between `iat` (or now) and `exp`, when set
    /// (`oauth2.grant.jwt.max_ttl`).
    pub max_ttl: Option<i64>,
}

/// What the checked claims say.
#[derive(Debug)]
pub struct Checked {
    /// `exp` (Unix seconds).
    pub expires_at: i64,
    /// `jti`, when sent.
    pub jti: Option<String>,
    /// Every `aud` value.
    pub audience: Vec<String>,
}

/// Checks the verified `claims` by `rules` (RFC 7523 §3). `Err` is the hint of the
/// refusal.
pub fn check(claims: &Map<String, Value>, rules: &Rules<'_>) -> Result<Checked, String> {
    let int = |name: &str| claims.get(name).and_then(Value::as_i64);
    // §3 item 3: "The JWT MUST contain an "aud" (audience) claim containing a value that
    // identifies the authorization server as an intended audience."
    let audience: Vec<String> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    };
    if !audience.iter().any(|a| rules.audiences.contains(a)) {
        return Err(format!(
            "The JWT's 'aud' claim must contain one of: {}.",
            rules.audiences.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ")
        ));
    }
    // §3 item 4: "The JWT MUST contain an "exp" (expiration time) claim [...] The
    // authorization server MUST reject any JWT with an expiration time that has passed."
    let Some(exp) = int("exp") else { return Err("The JWT must carry an 'exp' claim.".into()) };
    if exp <= rules.now {
        return Err("The JWT has expired ('exp' is in the past).".into());
    }
    // §3 item 5: "The authorization server MUST reject a JWT that is not valid at the
    // current time" (`nbf`).
    if int("nbf").is_some_and(|nbf| nbf > rules.now) {
        return Err("The JWT is not valid yet ('nbf' is in the future).".into());
    }
    let iat = int("iat");
    if iat.is_some_and(|iat| iat > rules.now) {
        return Err("The JWT was issued in the future ('iat').".into());
    }
    if rules.iat_required && iat.is_none() {
        return Err("The JWT must carry an 'iat' claim.".into());
    }
    if let Some(max) = rules.max_ttl {
        if exp - iat.unwrap_or(rules.now) > max {
            return Err(format!("The JWT's lifetime ('exp' minus 'iat') exceeds the {max} seconds allowed."));
        }
    }
    let jti = claims.get("jti").and_then(Value::as_str).filter(|j| !j.is_empty()).map(str::to_string);
    if rules.jti_required && jti.is_none() {
        return Err("The JWT must carry a 'jti' claim.".into());
    }
    Ok(Checked { expires_at: exp, jti, audience })
}

/// The key a used `jti` is remembered by (Hydra's: hex SHA-256 of the id), scoped to
/// the JWT's issuer so that two issuers' ids never collide.
pub fn jti_key(issuer: &str, jti: &str) -> String {
    let mut h = Sha256::new();
    h.update((issuer.len() as u64).to_be_bytes());
    h.update(issuer.as_bytes());
    h.update(jti.as_bytes());
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    /// Each rule of RFC 7523 §3 refuses the claims that break it, and only those.
    #[test]
    fn claims_are_checked_rule_by_rule() {
        let aud = vec!["https://as.example/oauth2/token".to_string()];
        let rules = Rules { audiences: &aud, now: 1000, iat_required: true, jti_required: true, max_ttl: Some(600) };
        let ok = json!({"aud": "https://as.example/oauth2/token", "exp": 1300, "iat": 1000, "jti": "j1"});
        let checked = check(&claims(ok.clone()), &rules).unwrap();
        assert_eq!((checked.expires_at, checked.jti.as_deref()), (1300, Some("j1")));
        for (change, why) in [
            (json!({"aud": "https://other.example/token"}), "aud"),
            (json!({"aud": ["x", "y"]}), "aud"),
            (json!({"aud": 5}), "aud"),
            (json!({"exp": 1000}), "expired"),
            (json!({"exp": "1300"}), "exp"),
            (json!({"nbf": 1001}), "nbf"),
            (json!({"iat": 1001}), "future"),
            (json!({"iat": null}), "iat"),
            (json!({"exp": 1700}), "lifetime"),
            (json!({"jti": ""}), "jti"),
            (json!({"jti": 7}), "jti"),
        ] {
            let mut c = claims(ok.clone());
            for (k, v) in change.as_object().unwrap() {
                if v.is_null() {
                    c.remove(k);
                } else {
                    c.insert(k.clone(), v.clone());
                }
            }
            let e = check(&c, &rules).expect_err(&format!("{change}"));
            assert!(e.contains(why), "{change}: {e}");
        }
        let lax = Rules { iat_required: false, jti_required: false, max_ttl: None, ..rules };
        let mut c = claims(json!({"aud": ["a", "https://as.example/oauth2/token"], "exp": 99_999}));
        assert!(check(&c, &lax).is_ok());
        c.insert("nbf".into(), 1000.into());
        assert!(check(&c, &lax).is_ok(), "nbf equal to now is valid");
    }

    /// Keys that do not fit the header never verify: another kid, an encryption key, a
    /// key registered for another algorithm; HMAC and `none` are refused outright.
    #[test]
    fn only_a_fitting_key_verifies() {
        use crate::keys::{Alg, SigningKey};
        use crate::platform::FixedPlatform;
        let p = FixedPlatform::new(0, 5);
        let k = SigningKey::generate(&p, Alg::Es256, "k1").unwrap();
        let jws = futures_executor::block_on(k.sign(&p, "JWT", &claims(json!({"sub": "a"})))).unwrap();
        let public = k.public_jwk();
        let with = |patch: Value| {
            let mut j = public.clone();
            for (n, v) in patch.as_object().unwrap() {
                j[n] = v.clone();
            }
            j
        };
        assert!(verify(&jws, "ES256", Some("k1"), std::slice::from_ref(&public)).is_some());
        assert!(verify(&jws, "ES256", None, &[with(json!({"use": "sig", "alg": "ES256"}))]).is_some());
        assert!(verify(&jws, "ES256", Some("k2"), std::slice::from_ref(&public)).is_none());
        assert!(verify(&jws, "ES256", None, &[with(json!({"use": "enc"}))]).is_none());
        assert!(verify(&jws, "ES256", None, &[with(json!({"alg": "ES384"}))]).is_none());
        assert!(verify(&jws, "HS256", None, std::slice::from_ref(&public)).is_none());
        assert!(verify(&jws, "none", None, std::slice::from_ref(&public)).is_none());
        let u = Unverified::read(&jws).unwrap();
        assert_eq!((u.alg(), u.kid(), u.claim("sub")), ("ES256", Some("k1"), Some("a")));
        assert!(Unverified::read("a.b").is_none() && Unverified::read("e30.e30.x.y").is_none());
    }

    /// The algorithms accepted are exactly those Latch signs with (and so verifies).
    #[test]
    fn the_accepted_algorithms_are_the_signing_ones() {
        let signing: Vec<&str> = crate::keys::Alg::ALL.into_iter().map(crate::keys::Alg::as_str).collect();
        assert_eq!(ASYMMETRIC_ALGS, signing.as_slice());
    }

    #[test]
    fn jti_keys_are_scoped_to_the_issuer() {
        assert_ne!(jti_key("a", "bc"), jti_key("ab", "c"));
        assert_eq!(jti_key("a", "b").len(), 64);
    }
}
