//! Signing keys and JSON Web Keys (RFC 7517, RFC 7518 §6): generation for `RS256`,
//! `ES256` and `EdDSA`, JWK import/export (through `jwt-compact`'s conversions), and
//! JWS compact signing (RFC 7515 §7.1).
//!
//! Signing is written here rather than through `jwt-compact`'s `AlgorithmExt::token`
//! because that path draws blinding noise from the operating system's RNG (`OsRng`),
//! which the core may not touch: PKCS#1 v1.5, RFC 6979 ECDSA and Ed25519 are all
//! deterministic without it, so signatures stay reproducible under a fixed platform.
//! Verification (no randomness involved) uses `jwt-compact` directly.

use crate::error::Error;
use crate::platform::{Platform, PlatformRng};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use jwt_compact::jwk::JsonWebKey;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The key set whose newest key signs ID tokens (Hydra's name, kept for compatibility).
pub const ID_TOKEN_SET: &str = "hydra.openid.id-token";
/// The key set whose newest key signs JWT access tokens.
pub const ACCESS_TOKEN_SET: &str = "hydra.jwt.access-token";
/// RSA modulus size for generated keys. 2048 bits is NIST's floor through 2030 and
/// signs eight times faster than Hydra's 4096.
pub const RSA_BITS: usize = 2048;

/// The JWS algorithms Latch generates and signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl Alg {
    /// Parses a JWS `alg` name.
    pub fn parse(s: &str) -> Option<Alg> {
        Some(match s {
            "RS256" => Alg::Rs256,
            "ES256" => Alg::Es256,
            "EdDSA" => Alg::EdDsa,
            _ => return None,
        })
    }
    /// The JWS `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
            Alg::EdDsa => "EdDSA",
        }
    }
}

enum Secret {
    Rsa(Box<rsa::RsaPrivateKey>),
    Es(p256::ecdsa::SigningKey),
    Ed(ed25519_compact::SecretKey),
}

/// A private signing key with its key id.
pub struct SigningKey {
    /// The key id (`kid`).
    pub kid: String,
    /// The algorithm.
    pub alg: Alg,
    secret: Secret,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("alg", &self.alg).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Generates a key. RSA generation takes about a second natively (more in wasm):
    /// keep it off request paths.
    pub fn generate<P: Platform + ?Sized>(platform: &P, alg: Alg, kid: &str) -> Result<SigningKey, Error> {
        let secret = match alg {
            Alg::Rs256 => Secret::Rsa(Box::new(
                rsa::RsaPrivateKey::new(&mut PlatformRng(platform), RSA_BITS)
                    .map_err(|e| Error::server(format!("RSA key generation failed: {e}")))?,
            )),
            Alg::Es256 => Secret::Es(p256::ecdsa::SigningKey::random(&mut PlatformRng(platform))),
            Alg::EdDsa => {
                let mut seed = [0u8; 32];
                platform.fill_random(&mut seed);
                Secret::Ed(ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(seed)).sk)
            }
        };
        Ok(SigningKey { kid: kid.to_string(), alg, secret })
    }

    /// Reads a private JWK (with `kid` and `alg`).
    pub fn from_jwk(v: &Value) -> Result<SigningKey, Error> {
        let bad = |why: String| Error::invalid_request(format!("The JSON Web Key is not usable: {why}."));
        let kid = v.get("kid").and_then(Value::as_str).unwrap_or("").to_string();
        let alg = v
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Alg::parse)
            .ok_or_else(|| bad("'alg' must be RS256, ES256 or EdDSA".into()))?;
        let jwk: JsonWebKey<'_> = serde_json::from_value(v.clone()).map_err(|e| bad(e.to_string()))?;
        let secret = match alg {
            Alg::Rs256 => Secret::Rsa(Box::new(rsa::RsaPrivateKey::try_from(&jwk).map_err(|e| bad(e.to_string()))?)),
            Alg::Es256 => Secret::Es(p256::ecdsa::SigningKey::try_from(&jwk).map_err(|e| bad(e.to_string()))?),
            Alg::EdDsa => Secret::Ed(ed25519_compact::SecretKey::try_from(&jwk).map_err(|e| bad(e.to_string()))?),
        };
        Ok(SigningKey { kid, alg, secret })
    }

    fn decorate(&self, jwk: JsonWebKey<'_>) -> Value {
        let mut v = serde_json::to_value(&jwk).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert("kid".into(), self.kid.clone().into());
            m.insert("alg".into(), self.alg.as_str().into());
            m.insert("use".into(), "sig".into());
        }
        v
    }

    /// The private JWK (for storage and the admin API).
    pub fn private_jwk(&self) -> Value {
        match &self.secret {
            Secret::Rsa(k) => self.decorate(JsonWebKey::from(k.as_ref())),
            Secret::Es(k) => self.decorate(JsonWebKey::from(k)),
            Secret::Ed(k) => self.decorate(JsonWebKey::from(k)),
        }
    }

    /// The public JWK (for `/.well-known/jwks.json`).
    pub fn public_jwk(&self) -> Value {
        match &self.secret {
            Secret::Rsa(k) => self.decorate(JsonWebKey::from(&k.to_public_key()).to_verifying_key()),
            Secret::Es(k) => self.decorate(JsonWebKey::from(k.verifying_key())),
            Secret::Ed(k) => self.decorate(JsonWebKey::from(&k.public_key())),
        }
    }

    /// Signs `claims` as a JWS compact serialization (RFC 7515 §7.1) with header
    /// `{"alg", "kid", "typ"}`. RS256 goes through [`Platform::rs256_sign`] when the host
    /// has a faster RSA than the core's pure-Rust one (the signature is the same: RSASSA-
    /// PKCS1-v1_5 is deterministic).
    pub async fn sign<P: Platform + ?Sized>(
        &self,
        platform: &P,
        typ: &str,
        claims: &Map<String, Value>,
    ) -> Result<String, Error> {
        let header = json!({"alg": self.alg.as_str(), "kid": self.kid, "typ": typ});
        let mut input = B64.encode(header.to_string());
        input.push('.');
        input.push_str(&B64.encode(Value::Object(claims.clone()).to_string()));
        let signature: Vec<u8> = match &self.secret {
            Secret::Rsa(k) => match platform.rs256_sign(k, input.as_bytes()).await {
                Some(signature) => signature,
                None => {
                    let digest = Sha256::digest(input.as_bytes());
                    k.sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest)
                        .map_err(|e| Error::server(format!("RSA signing failed: {e}")))?
                }
            },
            Secret::Es(k) => {
                use p256::ecdsa::signature::Signer;
                let sig: p256::ecdsa::Signature = k.sign(input.as_bytes());
                sig.to_bytes().to_vec()
            }
            Secret::Ed(k) => k.sign(input.as_bytes(), None).to_vec(),
        };
        input.push('.');
        input.push_str(&B64.encode(signature));
        Ok(input)
    }
}

/// A digest that identifies an RSA private key (its `n`, `e` and `d`), for hosts that
/// keep their own form of the key next to the core's ([`Platform::rs256_sign`]): the
/// native server's AWS-LC key pairs, the Worker's imported WebCrypto keys. A `kid` would
/// not do: a set can be replaced with another key under the same `kid`.
pub fn rsa_fingerprint(key: &rsa::RsaPrivateKey) -> [u8; 32] {
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};
    let mut h = Sha256::new();
    for part in [key.n(), key.e(), key.d()] {
        let bytes = part.to_bytes_be();
        h.update((bytes.len() as u32).to_be_bytes());
        h.update(bytes);
    }
    h.finalize().into()
}

/// Verifies a JWS against a public JWK (used by tests, for `id_token_hint` and by the
/// Worker's Cloudflare Access gate). Returns the claims when the signature is valid,
/// `exp`, `nbf` and `iat` included as Unix seconds; does not check times.
pub fn verify_jws(jwk: &Value, token: &str) -> Option<Map<String, Value>> {
    use jwt_compact::{AlgorithmExt, UntrustedToken};
    let untrusted = UntrustedToken::new(token).ok()?;
    let key: JsonWebKey<'_> = serde_json::from_value(jwk.clone()).ok()?;
    let claims = match untrusted.algorithm() {
        "RS256" => {
            let k = rsa::RsaPublicKey::try_from(&key).ok()?;
            jwt_compact::alg::Rsa::rs256()
                .validator::<Map<String, Value>>(&k)
                .validate(&untrusted)
                .ok()?
                .claims()
                .clone()
        }
        "ES256" => {
            let k = p256::ecdsa::VerifyingKey::try_from(&key).ok()?;
            jwt_compact::alg::Es256.validator::<Map<String, Value>>(&k).validate(&untrusted).ok()?.claims().clone()
        }
        "EdDSA" => {
            let k = ed25519_compact::PublicKey::try_from(&key).ok()?;
            jwt_compact::alg::Ed25519.validator::<Map<String, Value>>(&k).validate(&untrusted).ok()?.claims().clone()
        }
        _ => return None,
    };
    // jwt-compact parses the registered time claims into fields of their own.
    let mut out = claims.custom;
    for (name, time) in [("exp", claims.expiration), ("nbf", claims.not_before), ("iat", claims.issued_at)] {
        if let Some(t) = time {
            out.insert(name.into(), t.timestamp().into());
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::FixedPlatform;
    use futures_executor::block_on;

    #[test]
    fn every_alg_signs_and_verifies_through_its_public_jwk() {
        let p = FixedPlatform::new(0, 11);
        for alg in [Alg::Es256, Alg::EdDsa, Alg::Rs256] {
            let k = SigningKey::generate(&p, alg, "k1").unwrap();
            let mut claims = Map::new();
            claims.insert("sub".into(), "alice".into());
            claims.insert("exp".into(), 1_800_000_600.into());
            let jws = block_on(k.sign(&p, "JWT", &claims)).unwrap();
            let public = k.public_jwk();
            assert_eq!(public["kid"], "k1");
            assert_eq!(public["alg"], alg.as_str());
            assert!(public.get("d").is_none(), "{alg:?} public JWK leaks 'd'");
            let verified = verify_jws(&public, &jws).unwrap();
            assert_eq!(verified["sub"], "alice");
            assert_eq!(verified["exp"], 1_800_000_600, "the time claims come back as numbers");
            // Tampered payload fails.
            let mut parts: Vec<&str> = jws.split('.').collect();
            let forged = B64.encode(r#"{"sub":"mallory"}"#);
            parts[1] = &forged;
            assert!(verify_jws(&public, &parts.join(".")).is_none());
            // Private JWK round-trips to an equivalent key.
            let back = SigningKey::from_jwk(&k.private_jwk()).unwrap();
            assert_eq!(back.public_jwk(), public);
        }
    }

    #[test]
    fn signatures_are_deterministic() {
        let p = FixedPlatform::new(0, 12);
        let k = SigningKey::generate(&p, Alg::EdDsa, "k").unwrap();
        let c = Map::new();
        assert_eq!(block_on(k.sign(&p, "JWT", &c)).unwrap(), block_on(k.sign(&p, "JWT", &c)).unwrap());
    }
}
