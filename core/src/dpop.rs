//! DPoP (RFC 9449): proofs of possession of a client's key, checked where a token is
//! asked for (the token endpoint, PAR) and where one is used (userinfo), and the tokens
//! bound to that key (`cnf.jkt`, RFC 7638 thumbprints).
//!
//! A proof is checked as §4.3 lists: one `DPoP` header; a JWS typed `dpop+jwt`, signed
//! with one of [`ALGS`] by the public key in its own `jwk` header; `htm` and `htu` this
//! request's; `iat` within [`MAX_AGE`] (and at most [`MAX_SKEW`] ahead); `ath` the
//! presented access token's hash at a resource; the server's nonce when nonces are
//! required; and its `jti` used once ([`crate::store::ReplayStore::use_jti`], a
//! compare-and-set on a unique key: on the Worker that is D1, so it holds across
//! isolates), remembered for as long as the proof could be accepted.
//!
//! Nonces (§8) are stateless: an HMAC of the current [`NONCE_PERIOD`] under a key
//! derived from the system secret, so every server and isolate gives and accepts the
//! same ones, the current and the previous period's; nothing a client sends goes into
//! them but the time.

use crate::error::{Error, ErrorCode};
use crate::http::Request;
use crate::jwt_assertion::Unverified;
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::Store;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The proof's header name (lower-cased, as requests carry them).
pub const HEADER: &str = "dpop";
/// The response header of a fresh nonce (§8.1).
pub const NONCE_HEADER: &str = "dpop-nonce";
/// The token type of bound access tokens (§5.1, §7.1).
pub const TOKEN_TYPE: &str = "DPoP";
/// The JWS algorithms of proofs (`dpop_signing_alg_values_supported`, §5.1): asymmetric
/// only (§4.2). Ed25519 under both its names: `EdDSA` (RFC 8037) and `Ed25519` (RFC
/// 9864, what openid-client and oauth4webapi send).
pub const ALGS: &[&str] = &["ES256", "EdDSA", "Ed25519", "RS256", "PS256"];
/// How old a proof's `iat` may be, in seconds (§4.3 item 11, §11.1).
pub const MAX_AGE: i64 = 300;
/// How far ahead of the server's clock a proof's `iat` may be, in seconds.
pub const MAX_SKEW: i64 = 60;
/// How long one nonce is given out, in seconds; it is accepted for one period more.
pub const NONCE_PERIOD: i64 = 120;
/// The longest `jti` accepted (§4.2 asks for 96 bits of randomness; this bounds storage).
const MAX_JTI: usize = 256;
/// The private members of a JWK (RFC 7518 §6): a `jwk` header holding one is refused.
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What a checked proof shows: the thumbprint of its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// RFC 7638 SHA-256 thumbprint of the proof's key, base64url (`cnf.jkt`, §6.1).
    pub jkt: String,
}

/// The request a proof must be made for.
pub struct Expected<'a> {
    /// `htm`: the request's method.
    pub method: &'a str,
    /// `htu`: the endpoint's path under the public URL (the query and fragment are never part of it).
    pub path: &'a str,
    /// At a protected resource, the access token presented with the proof (`ath`, §4.3 item 10).
    pub access_token: Option<&'a str>,
}

fn invalid(hint: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidDpopProof).with_hint(hint)
}

/// The request's DPoP proof, checked for `expected`: `None` without a `DPoP` header.
pub async fn check<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    req: &Request,
    expected: &Expected<'_>,
) -> Result<Option<Proof>, Error> {
    let mut headers = req.headers.iter().filter(|(n, _)| n == HEADER);
    let Some((_, jws)) = headers.next() else { return Ok(None) };
    // §4.3 item 1: "there is not more than one DPoP HTTP request header field".
    if headers.next().is_some() {
        return Err(invalid("More than one DPoP header was sent."));
    }
    let now = latch.platform.now();
    let (jkt, claims) = verify(&latch.config, &latch.platform, jws.trim())?;
    check_claims(latch, &claims, expected, now)?;
    // §11.1: a proof is used once. Remembered until it could no longer be accepted.
    let jti = claims.get("jti").and_then(Value::as_str).unwrap_or_default();
    let iat = claims.get("iat").and_then(Value::as_i64).unwrap_or(now);
    let key = crate::jwt_assertion::jti_key(&format!("latch/dpop/{jkt}"), jti);
    if !latch.store.use_jti(&key, iat.max(now) + MAX_AGE, now).await? {
        return Err(invalid("The DPoP proof was used before."));
    }
    Ok(Some(Proof { jkt }))
}

/// §4.3 items 2–7: a JWS typed `dpop+jwt`, of an allowed algorithm, signed by the
/// public key of its own `jwk` header. That key's thumbprint and the claims.
fn verify<P: Platform>(
    config: &crate::config::Config,
    platform: &P,
    jws: &str,
) -> Result<(String, Map<String, Value>), Error> {
    let proof = Unverified::read(jws).ok_or_else(|| invalid("The DPoP proof is not a signed JWT."))?;
    if proof.header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(invalid("The DPoP proof's 'typ' must be 'dpop+jwt'."));
    }
    let alg = proof.alg();
    if !ALGS.contains(&alg) {
        return Err(invalid(format!("The DPoP proof must be signed with one of {}.", ALGS.join(", "))));
    }
    crate::fapi::signature_alg(config, ErrorCode::InvalidDpopProof, "DPoP proof", alg)?;
    let jwk = proof
        .header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("The DPoP proof's header has no 'jwk'."))?;
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(invalid("The DPoP proof's 'jwk' must be a public key."));
    }
    let fits = match jwk.get("kty").and_then(Value::as_str) {
        Some("EC") => alg == "ES256" && jwk.get("crv").and_then(Value::as_str) == Some("P-256"),
        Some("OKP") => {
            (alg == "EdDSA" || alg == "Ed25519") && jwk.get("crv").and_then(Value::as_str) == Some("Ed25519")
        }
        // 2048 to 4096 bits: shorter is weak, longer only makes the check costly.
        Some("RSA") => {
            let bytes = jwk.get("n").and_then(Value::as_str).and_then(|n| B64.decode(n).ok()).map_or(0, |n| n.len());
            (alg == "RS256" || alg == "PS256") && (256..=512).contains(&bytes)
        }
        _ => false,
    };
    if !fits {
        return Err(invalid(format!("The DPoP proof's 'jwk' is not a key for '{alg}'.")));
    }
    let jwk = Value::Object(jwk.clone());
    let bad_signature = || invalid("The DPoP proof's signature does not verify.");
    let claims = match es256_by_host(platform, &jwk, jws) {
        Some(true) => proof.claims,
        Some(false) => return Err(bad_signature()),
        None => crate::keys::verify_jws(&jwk, jws).ok_or_else(bad_signature)?,
    };
    let jkt = thumbprint(&jwk).ok_or_else(|| invalid("The DPoP proof's 'jwk' is incomplete."))?;
    Ok((jkt, claims))
}

/// An ES256 proof's signature checked by the host ([`Platform::es256_verify`]), when it
/// offers to; `None`: not ES256, or the core verifies.
fn es256_by_host<P: Platform>(platform: &P, jwk: &Value, jws: &str) -> Option<bool> {
    if jwk.get("kty").and_then(Value::as_str) != Some("EC") {
        return None;
    }
    let coordinate = |name: &str| jwk.get(name).and_then(Value::as_str).and_then(|c| B64.decode(c).ok());
    let (x, y) = (coordinate("x")?, coordinate("y")?);
    let (input, signature) = jws.rsplit_once('.')?;
    let Ok(signature) = B64.decode(signature) else { return Some(false) };
    platform.es256_verify(&x, &y, input.as_bytes(), &signature)
}

/// §4.3 items 8–12: `jti`, `htm`, `htu`, `iat`, the nonce and `ath`.
fn check_claims<S, P: Platform>(
    latch: &Latch<S, P>,
    claims: &Map<String, Value>,
    expected: &Expected<'_>,
    now: i64,
) -> Result<(), Error> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    match text("jti") {
        Some(j) if !j.is_empty() && j.len() <= MAX_JTI => {}
        _ => return Err(invalid("The DPoP proof has no usable 'jti'.")),
    }
    if text("htm") != Some(expected.method) {
        return Err(invalid(format!("The DPoP proof's 'htm' must be '{}'.", expected.method)));
    }
    let htu = text("htu").ok_or_else(|| invalid("The DPoP proof has no 'htu'."))?;
    if !endpoint_urls(latch, expected.path).iter().any(|u| same_target(htu, u)) {
        return Err(invalid(format!(
            "The DPoP proof's 'htu' must be '{}'.",
            latch.config.public_endpoint(expected.path)
        )));
    }
    let iat = claims.get("iat").and_then(Value::as_i64).ok_or_else(|| invalid("The DPoP proof has no 'iat'."))?;
    if iat < now - MAX_AGE || iat > now + MAX_SKEW {
        return Err(invalid("The DPoP proof's 'iat' is too far from the server's time."));
    }
    // §8: with nonces required, the proof must carry a current one.
    if latch.config.dpop.require_nonce && !text("nonce").is_some_and(|n| nonce_is_current(latch, n, now)) {
        return Err(Error::new(ErrorCode::UseDpopNonce)
            .with_hint("Send the DPoP proof again with the nonce of the DPoP-Nonce header.")
            .with_header(NONCE_HEADER, nonce(latch, now)));
    }
    // §4.3 item 10 / §7: at a resource, the proof names the token it goes with.
    if let Some(token) = expected.access_token {
        let ath = B64.encode(Sha256::digest(token.as_bytes()));
        if text("ath") != Some(ath.as_str()) {
            return Err(invalid("The DPoP proof's 'ath' is not the access token's hash."));
        }
    }
    Ok(())
}

/// The URLs an endpoint is known by: under the public URL and under the issuer.
fn endpoint_urls<S, P>(latch: &Latch<S, P>, path: &str) -> Vec<String> {
    let mut urls = vec![latch.config.public_endpoint(path)];
    let under_issuer = format!("{}{path}", latch.config.issuer.trim_end_matches('/'));
    if !urls.contains(&under_issuer) {
        urls.push(under_issuer);
    }
    urls
}

/// §4.3 item 9: `htu` names `url`, ignoring its query and fragment, the case of the
/// scheme and host, and a default port (RFC 3986 §6.2.2–6.2.3, as §4.3 asks).
fn same_target(htu: &str, url: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(htu), url::Url::parse(url)) else { return false };
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
        && a.path() == b.path()
}

/// RFC 7638 §3: the SHA-256 thumbprint of a public JWK, over its required members in
/// lexicographic order, base64url. `None` when a required member is missing.
pub fn thumbprint(jwk: &Value) -> Option<String> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str);
    // serde_json's maps are sorted (no `preserve_order`), and `json!` writes them
    // compactly: the canonical form RFC 7638 §3.3 asks for.
    let canonical = match member("kty")? {
        "EC" => json!({"crv": member("crv")?, "kty": "EC", "x": member("x")?, "y": member("y")?}),
        "OKP" => json!({"crv": member("crv")?, "kty": "OKP", "x": member("x")?}),
        "RSA" => json!({"e": member("e")?, "kty": "RSA", "n": member("n")?}),
        _ => return None,
    };
    Some(B64.encode(Sha256::digest(canonical.to_string().as_bytes())))
}

/// The nonce given out at `now` (§8.1).
pub fn nonce<S, P>(latch: &Latch<S, P>, now: i64) -> String {
    nonce_of(&latch.config.system_secrets[0], now.div_euclid(NONCE_PERIOD))
}

fn nonce_is_current<S, P>(latch: &Latch<S, P>, nonce: &str, now: i64) -> bool {
    let period = now.div_euclid(NONCE_PERIOD);
    latch.config.system_secrets.iter().any(|s| [period, period - 1].iter().any(|p| nonce_of(s, *p) == nonce))
}

fn nonce_of(secret: &[u8], period: i64) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"latch/dpop-nonce\0");
    mac.update(&period.to_be_bytes());
    B64.encode(&mac.finalize().into_bytes()[..16])
}

/// A protected resource's answer to a failed DPoP request (§7.1): 401 with a `DPoP`
/// challenge naming the error and the algorithms, and the nonce header a
/// `use_dpop_nonce` carries.
pub fn challenge<S, P>(latch: &Latch<S, P>, e: &Error) -> crate::http::Response {
    let mut body = e.to_json(latch.config.expose_debug());
    body["status_code"] = 401.into();
    let mut r = crate::http::Response::json(401, &body);
    if let Some(header) = &e.header {
        r.headers.push((header.0.to_string(), header.1.clone()));
    }
    // A header value is visible ASCII; a quoted string holds no quote or backslash.
    let hint: String = e
        .hint
        .as_deref()
        .unwrap_or(e.description())
        .chars()
        .map(|c| if c == '"' || c == '\\' { '\'' } else { c })
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect();
    r.with_header(
        "www-authenticate",
        format!("DPoP error=\"{}\", error_description=\"{hint}\", algs=\"{}\"", e.wire_code(), ALGS.join(" ")),
    )
}

/// The `cnf` claim of a token bound to `jkt` (RFC 9449 §6.1, RFC 7800 §3.1).
pub fn cnf(jkt: &str) -> Value {
    json!({ "jkt": jkt })
}

/// The `cnf.jkt` a token's stored data names, if it is bound.
pub fn bound_to(data: &Value) -> Option<&str> {
    data.pointer("/cnf/jkt").and_then(Value::as_str)
}

/// §10: a `dpop_jkt` authorization parameter is a thumbprint (base64url of 32 bytes).
pub fn check_jkt_parameter(jkt: &str) -> Result<(), Error> {
    match B64.decode(jkt) {
        Ok(b) if b.len() == 32 => Ok(()),
        _ => Err(Error::invalid_request("The 'dpop_jkt' parameter must be a base64url SHA-256 JWK thumbprint.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_are_rfc_7638s() {
        // RFC 7638 §3.1's example key and thumbprint.
        let jwk = json!({"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        assert_eq!(thumbprint(&jwk).as_deref(), Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
        assert_eq!(thumbprint(&json!({"kty": "EC", "crv": "P-256", "x": "a"})), None, "no y");
        assert_eq!(thumbprint(&json!({"kty": "oct", "k": "a"})), None);
    }

    #[test]
    fn htu_ignores_query_fragment_case_and_default_port() {
        let url = "https://auth.example/oauth2/token";
        for same in ["https://auth.example/oauth2/token", "HTTPS://Auth.Example:443/oauth2/token?x=1#f"] {
            assert!(same_target(same, url), "{same}");
        }
        for other in [
            "http://auth.example/oauth2/token",
            "https://auth.example:8443/oauth2/token",
            "https://auth.example/oauth2/token/",
            "https://evil.example/oauth2/token",
            "/oauth2/token",
        ] {
            assert!(!same_target(other, url), "{other}");
        }
    }

    #[test]
    fn dpop_jkt_must_look_like_a_thumbprint() {
        assert!(check_jkt_parameter("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").is_ok());
        for bad in ["", "abc", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs=", "!!!"] {
            assert!(check_jkt_parameter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nonces_rotate_and_the_previous_one_is_still_taken() {
        let secrets = [b"0123456789abcdef-system-secret".to_vec()];
        let at = |t: i64| nonce_of(&secrets[0], t.div_euclid(NONCE_PERIOD));
        assert_eq!(at(0), at(NONCE_PERIOD - 1));
        assert_ne!(at(0), at(NONCE_PERIOD));
        assert_ne!(nonce_of(&secrets[0], 1), nonce_of(b"another-secret-0123456789", 1));
    }
}
