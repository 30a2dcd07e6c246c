//! Cloudflare Access in front of the admin API: when the Worker is configured with a
//! team domain and an application audience (`CF_ACCESS_TEAM_DOMAIN`, `CF_ACCESS_AUD`),
//! a request to `/admin/…` that carries a valid `Cf-Access-Jwt-Assertion` header is let
//! through as an alternative to the bearer token.
//!
//! Cloudflare's "Validate JWTs" page says what a valid assertion is, and this checks
//! exactly that (nothing here trusts the header merely for being present: a request that
//! bypasses Access, e.g. on `workers.dev`, can carry any header it likes):
//! - an RS256 JWS (RFC 7515) signed by a key of the team's JWK set, published at
//!   `<team domain>/cdn-cgi/access/certs` and chosen by the header's `kid`;
//! - `iss` equal to the team domain (RFC 7519 §4.1.1);
//! - `aud` containing one of the configured application audience tags (§4.1.3);
//! - `exp` in the future and `nbf`/`iat` not in the future (§4.1.4–4.1.6), with
//!   [`LEEWAY_SECONDS`] of clock skew.
//!
//! The key set is fetched by the Worker ([`crate::worker_entry`]) and kept per isolate
//! ([`KeyCache`]): Cloudflare rotates Access keys every six weeks and keeps the previous
//! key valid for seven days, so an hour-old copy verifies every live token; an unknown
//! `kid` refetches, at most once per [`REFETCH_AFTER_SECONDS`].

use serde_json::{Map, Value};
use std::rc::Rc;

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: i64 = 30;
/// How long a fetched key set is used before it is fetched again.
pub const KEYS_MAX_AGE_SECONDS: i64 = 3600;
/// The least time between two fetches caused by an unknown `kid` (a forged `kid` must not
/// turn every request into an outbound fetch).
pub const REFETCH_AFTER_SECONDS: i64 = 5;
/// The header Cloudflare Access adds to the requests it lets through.
pub const HEADER: &str = "cf-access-jwt-assertion";

/// The Access application that guards the admin API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessConfig {
    /// `https://<team>.cloudflareaccess.com`, without a trailing slash: the JWT's `iss`.
    pub team_domain: String,
    /// The application's audience tags (`aud`); one must be in the JWT's `aud`.
    pub audiences: Vec<String>,
}

impl AccessConfig {
    /// Reads `CF_ACCESS_TEAM_DOMAIN` and `CF_ACCESS_AUD` (comma-separated tags): both or
    /// neither. A bare team name or host gets `https://`; `http://` is accepted only for
    /// a loopback host (a local stand-in in tests), the rule `URLS_SELF_ISSUER` follows.
    pub fn from_vars(team_domain: Option<String>, aud: Option<String>) -> Result<Option<Self>, String> {
        let (team, aud) = match (team_domain, aud) {
            (None, None) => return Ok(None),
            (Some(t), Some(a)) => (t, a),
            (Some(_), None) => return Err("CF_ACCESS_AUD: must be set with CF_ACCESS_TEAM_DOMAIN".into()),
            (None, Some(_)) => return Err("CF_ACCESS_TEAM_DOMAIN: must be set with CF_ACCESS_AUD".into()),
        };
        let bad = |why: &str| format!("CF_ACCESS_TEAM_DOMAIN: '{team}' {why}");
        let team = team.trim().trim_end_matches('/');
        let with_scheme = if team.contains("://") {
            team.to_owned()
        } else if team.contains('.') {
            format!("https://{team}")
        } else {
            format!("https://{team}.cloudflareaccess.com")
        };
        let url = url::Url::parse(&with_scheme).map_err(|e| bad(&format!("is not a URL: {e}")))?;
        let host = url.host_str().unwrap_or_default();
        match url.scheme() {
            "https" => {}
            "http" if latch_core::client::is_loopback_host(host) => {}
            _ => return Err(bad("must be https (http only for a loopback host)")),
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(bad("must be an origin, e.g. https://myteam.cloudflareaccess.com"));
        }
        let audiences: Vec<String> =
            aud.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect();
        if audiences.is_empty() {
            return Err("CF_ACCESS_AUD: names no audience tag".into());
        }
        Ok(Some(AccessConfig { team_domain: with_scheme.trim_end_matches('/').to_owned(), audiences }))
    }

    /// Where the team's JWK set is published.
    pub fn certs_url(&self) -> String {
        format!("{}/cdn-cgi/access/certs", self.team_domain)
    }
}

/// Why an assertion was refused (for the log; the client sees one 401).
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not a JWS with a `kid` and `alg: RS256`.
    Malformed,
    /// The key set has no key with this `kid`: fetch it again, then decide.
    UnknownKey(String),
    /// The signature does not verify under the key the `kid` names.
    BadSignature,
    /// A claim check failed; which one.
    Claim(&'static str),
}

/// The header's `kid`, when it is a JWS signed with RS256 (the only algorithm Access uses:
/// anything else, `none` included, is refused before a key is looked at).
fn rs256_kid(token: &str) -> Option<String> {
    let untrusted = jwt_compact::UntrustedToken::new(token).ok()?;
    (untrusted.algorithm() == "RS256").then(|| untrusted.header().key_id.clone()).flatten()
}

/// Verifies an Access assertion against the team's JWK set (`{"keys": [...]}`) at time
/// `now` (Unix seconds). Returns the claims (`email` for a user, `common_name` for a
/// service token) when every check above passes.
pub fn verify(config: &AccessConfig, keys: &Value, token: &str, now: i64) -> Result<Map<String, Value>, Refused> {
    let kid = rs256_kid(token).ok_or(Refused::Malformed)?;
    let jwk = keys["keys"]
        .as_array()
        .and_then(|ks| ks.iter().find(|k| k["kid"].as_str() == Some(kid.as_str())))
        .ok_or_else(|| Refused::UnknownKey(kid.clone()))?;
    // Only the public members: Cloudflare's entries are plain RSA JWKs, but a key set
    // with extra members must not make the parse fail.
    let public = serde_json::json!({ "kty": "RSA", "n": jwk["n"], "e": jwk["e"] });
    let claims = latch_core::keys::verify_jws(&public, token).ok_or(Refused::BadSignature)?;

    if claims.get("iss").and_then(Value::as_str).map(|i| i.trim_end_matches('/')) != Some(&config.team_domain) {
        return Err(Refused::Claim("iss"));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => config.audiences.iter().any(|c| c == a),
        Some(Value::Array(list)) => list.iter().any(|a| config.audiences.iter().any(|c| a.as_str() == Some(c))),
        _ => false,
    };
    if !aud_ok {
        return Err(Refused::Claim("aud"));
    }
    let time = |name| claims.get(name).and_then(Value::as_i64);
    match time("exp") {
        Some(exp) if exp + LEEWAY_SECONDS > now => {}
        _ => return Err(Refused::Claim("exp")),
    }
    if time("nbf").is_some_and(|nbf| nbf - LEEWAY_SECONDS > now) {
        return Err(Refused::Claim("nbf"));
    }
    if time("iat").is_some_and(|iat| iat - LEEWAY_SECONDS > now) {
        return Err(Refused::Claim("iat"));
    }
    Ok(claims)
}

/// Who an accepted assertion names, for the log line: a user's e-mail or a service
/// token's common name.
pub fn identity(claims: &Map<String, Value>) -> &str {
    ["email", "common_name", "sub"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(Value::as_str).filter(|s| !s.is_empty()))
        .unwrap_or("?")
}

/// The team's key set as one isolate holds it (shared, not copied, by the requests
/// that verify against it).
#[derive(Debug, Default)]
pub struct KeyCache {
    keys: Option<Rc<Value>>,
    fetched_at: i64,
    /// The last fetch, successful or not: fetches are at least
    /// [`REFETCH_AFTER_SECONDS`] apart, also while the team's endpoint fails.
    tried_at: Option<i64>,
}

impl KeyCache {
    /// The cached set if it is young enough to use without fetching.
    pub fn fresh(&self, now: i64) -> Option<Rc<Value>> {
        self.keys.clone().filter(|_| now - self.fetched_at < KEYS_MAX_AGE_SECONDS)
    }

    /// Whether a fetch may go out now (the set is stale or lacks a `kid`).
    pub fn may_refetch(&self, now: i64) -> bool {
        self.tried_at.is_none_or(|t| now - t >= REFETCH_AFTER_SECONDS)
    }

    /// Keeps a freshly fetched set; returns it.
    pub fn store(&mut self, keys: Value, now: i64) -> Rc<Value> {
        let keys = Rc::new(keys);
        self.keys = Some(keys.clone());
        (self.fetched_at, self.tried_at) = (now, Some(now));
        keys
    }

    /// Notes a fetch that failed (the held set, if any, stays in use).
    pub fn failed(&mut self, now: i64) {
        self.tried_at = Some(now);
    }

    /// The set held, however old (used when a fetch fails).
    pub fn any(&self) -> Option<Rc<Value>> {
        self.keys.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latch_core::keys::{Alg, SigningKey};
    use latch_core::platform::FixedPlatform;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;
    const TEAM: &str = "https://acme.cloudflareaccess.com";
    const AUD: &str = "32eafc7626e974616deaf0dc3ce63d7bcbed58a2731e84d06bc3cdf1b53c4228";

    fn config() -> AccessConfig {
        AccessConfig::from_vars(Some("acme".into()), Some(format!("other-app, {AUD}"))).unwrap().unwrap()
    }

    fn key(kid: &str, seed: u64) -> SigningKey {
        SigningKey::generate(&FixedPlatform::new(0, seed), Alg::Rs256, kid).unwrap()
    }

    /// Cloudflare's certs document: `keys` plus the same keys as PEM certificates.
    fn certs(keys: &[&SigningKey]) -> Value {
        json!({
            "keys": keys.iter().map(|k| { let mut j = k.public_jwk(); j["use"] = "sig".into(); j }).collect::<Vec<_>>(),
            "public_cert": { "kid": "x", "cert": "-----BEGIN CERTIFICATE-----..." },
            "public_certs": [],
        })
    }

    fn claims(over: Value) -> Map<String, Value> {
        let mut c = json!({
            "aud": [AUD], "email": "ops@acme.example", "exp": NOW + 600, "iat": NOW - 5, "nbf": NOW - 5,
            "iss": TEAM, "type": "app", "identity_nonce": "n", "sub": "7335d417-61da-459d-899c-0a01c76812b7",
            "country": "NL",
        });
        for (k, v) in over.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c.as_object().unwrap().clone()
    }

    fn jwt(k: &SigningKey, over: Value) -> String {
        futures_executor::block_on(k.sign(&FixedPlatform::new(0, 0), "JWT", &claims(over))).unwrap()
    }

    #[test]
    fn config_forms() {
        assert_eq!(AccessConfig::from_vars(None, None), Ok(None));
        for team in ["acme", "acme.cloudflareaccess.com", "https://acme.cloudflareaccess.com/"] {
            let c = AccessConfig::from_vars(Some(team.into()), Some("a".into())).unwrap().unwrap();
            assert_eq!(c.team_domain, TEAM, "{team}");
            assert_eq!(c.certs_url(), "https://acme.cloudflareaccess.com/cdn-cgi/access/certs");
        }
        assert_eq!(config().audiences, ["other-app", AUD]);
        let e = AccessConfig::from_vars(Some("acme".into()), None).unwrap_err();
        assert!(e.starts_with("CF_ACCESS_AUD"), "{e}");
        let e = AccessConfig::from_vars(None, Some("a".into())).unwrap_err();
        assert!(e.starts_with("CF_ACCESS_TEAM_DOMAIN"), "{e}");
        assert!(AccessConfig::from_vars(Some("acme".into()), Some(" , ".into())).is_err());
        for bad in ["http://acme.example", "https://acme.example/path", "https://acme.example/?q", "ftp://acme.example"]
        {
            assert!(AccessConfig::from_vars(Some(bad.into()), Some("a".into())).is_err(), "{bad}");
        }
        let local = AccessConfig::from_vars(Some("http://127.0.0.1:9".into()), Some("a".into())).unwrap();
        assert_eq!(local.unwrap().certs_url(), "http://127.0.0.1:9/cdn-cgi/access/certs");
    }

    #[test]
    fn a_valid_assertion_passes_and_names_who() {
        let (k1, k2) = (key("k1", 1), key("k2", 2));
        let c = verify(&config(), &certs(&[&k1, &k2]), &jwt(&k2, json!({})), NOW).unwrap();
        assert_eq!(identity(&c), "ops@acme.example");
        // A service token: no e-mail, a common name; `aud` as a string.
        let service = jwt(&k1, json!({ "email": null, "common_name": "ci.access", "aud": AUD, "sub": "" }));
        assert_eq!(identity(&verify(&config(), &certs(&[&k1]), &service, NOW).unwrap()), "ci.access");
        // Within the leeway.
        let late = jwt(&k1, json!({ "exp": NOW - LEEWAY_SECONDS + 1 }));
        assert!(verify(&config(), &certs(&[&k1]), &late, NOW).is_ok());
    }

    #[test]
    fn every_check_refuses() {
        let (k1, k2) = (key("k1", 1), key("k2", 2));
        let set = certs(&[&k1]);
        let cases: Vec<(String, Refused)> = vec![
            (jwt(&k2, json!({})), Refused::UnknownKey("k2".into())),
            // The right kid, another key's signature.
            (
                futures_executor::block_on(key("k1", 3).sign(&FixedPlatform::new(0, 0), "JWT", &claims(json!({}))))
                    .unwrap(),
                Refused::BadSignature,
            ),
            (jwt(&k1, json!({ "iss": "https://evil.cloudflareaccess.com" })), Refused::Claim("iss")),
            (jwt(&k1, json!({ "iss": null })), Refused::Claim("iss")),
            (jwt(&k1, json!({ "aud": ["another-app"] })), Refused::Claim("aud")),
            (jwt(&k1, json!({ "aud": null })), Refused::Claim("aud")),
            (jwt(&k1, json!({ "exp": NOW - LEEWAY_SECONDS })), Refused::Claim("exp")),
            (jwt(&k1, json!({ "exp": null })), Refused::Claim("exp")),
            (jwt(&k1, json!({ "nbf": NOW + LEEWAY_SECONDS + 1 })), Refused::Claim("nbf")),
            (jwt(&k1, json!({ "iat": NOW + LEEWAY_SECONDS + 1 })), Refused::Claim("iat")),
            ("not a jwt".into(), Refused::Malformed),
        ];
        for (token, want) in cases {
            assert_eq!(verify(&config(), &set, &token, NOW).unwrap_err(), want);
        }
        // alg "none" and HS256 with the public key as the secret are refused before any key.
        let good = jwt(&k1, json!({}));
        let body = good.split('.').nth(1).unwrap();
        for header in [r#"{"alg":"none","kid":"k1"}"#, r#"{"alg":"HS256","kid":"k1"}"#, r#"{"alg":"RS256"}"#] {
            use base64::Engine as _;
            let h = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header);
            assert_eq!(verify(&config(), &set, &format!("{h}.{body}."), NOW).unwrap_err(), Refused::Malformed);
        }
    }

    #[test]
    fn the_key_cache_ages_and_throttles() {
        let mut c = KeyCache::default();
        assert!(c.fresh(NOW).is_none() && c.may_refetch(NOW));
        c.store(json!({"keys": []}), NOW);
        assert!(c.fresh(NOW + KEYS_MAX_AGE_SECONDS - 1).is_some());
        assert!(c.fresh(NOW + KEYS_MAX_AGE_SECONDS).is_none());
        assert!(c.any().is_some());
        assert!(!c.may_refetch(NOW + REFETCH_AFTER_SECONDS - 1));
        assert!(c.may_refetch(NOW + REFETCH_AFTER_SECONDS));
        // A failed fetch also waits before the next one; the stale set is still held.
        let later = NOW + KEYS_MAX_AGE_SECONDS;
        c.failed(later);
        assert!(!c.may_refetch(later + REFETCH_AFTER_SECONDS - 1) && c.may_refetch(later + REFETCH_AFTER_SECONDS));
        assert!(c.fresh(later).is_none() && c.any().is_some());
        let mut empty = KeyCache::default();
        empty.failed(NOW);
        assert!(!empty.may_refetch(NOW + 1), "a failing endpoint is not asked on every request");
    }
}
