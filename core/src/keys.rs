//! Signing keys and JSON Web Keys (RFC 7517, RFC 7518 §6): generation for every [`Alg`],
//! JWK import/export (through `jwt-compact`'s conversions and RustCrypto's JWK forms),
//! with an imported key's certificate chain ([`crate::x5c`]), and JWS compact signing
//! (RFC 7515 §7.1).
//!
//! Signing is written here rather than through `jwt-compact`'s `AlgorithmExt::token`
//! because that path draws blinding noise from the operating system's RNG (`OsRng`),
//! which the core may not touch: PKCS#1 v1.5, RFC 6979 ECDSA and Ed25519 are all
//! deterministic without it, so signatures stay reproducible under a fixed platform;
//! PSS draws its salt from the platform.
//! Verification (no randomness involved) uses `jwt-compact` directly.

use crate::error::Error;
use crate::platform::{Platform, PlatformRng};
use crate::x5c::X509Members;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use jwt_compact::jwk::JsonWebKey;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// The key set whose newest key signs ID tokens (Hydra's name, kept for compatibility).
pub const ID_TOKEN_SET: &str = "hydra.openid.id-token";
/// The key set whose newest key signs JWT access tokens.
pub const ACCESS_TOKEN_SET: &str = "hydra.jwt.access-token";
/// RSA modulus size for generated keys. 2048 bits is NIST's floor through 2030 and
/// signs eight times faster than Hydra's 4096.
pub const RSA_BITS: usize = 2048;

/// The JWS algorithms Latch generates and signs with (RFC 7518 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-byte salt (RFC 7518 §3.5).
    Ps256,
    /// RSASSA-PSS with SHA-384, MGF1 with SHA-384 and a 48-byte salt (RFC 7518 §3.5).
    Ps384,
    /// RSASSA-PSS with SHA-512, MGF1 with SHA-512 and a 64-byte salt (RFC 7518 §3.5).
    Ps512,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// ECDSA P-521 with SHA-512.
    Es512,
    /// Ed25519.
    EdDsa,
}

impl Alg {
    /// Every algorithm, for messages and tests.
    pub const ALL: [Alg; 10] = [
        Alg::Rs256,
        Alg::Rs384,
        Alg::Rs512,
        Alg::Ps256,
        Alg::Ps384,
        Alg::Ps512,
        Alg::Es256,
        Alg::Es384,
        Alg::Es512,
        Alg::EdDsa,
    ];

    /// Parses a JWS `alg` name.
    pub fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }
    /// The JWS `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::Es512 => "ES512",
            Alg::EdDsa => "EdDSA",
        }
    }
    /// Whether its keys are RSA keys.
    pub fn is_rsa(self) -> bool {
        matches!(self, Alg::Rs256 | Alg::Rs384 | Alg::Rs512 | Alg::Ps256 | Alg::Ps384 | Alg::Ps512)
    }
    /// The names, for messages ("RS256, RS384, …").
    pub fn names() -> String {
        Alg::ALL.map(Alg::as_str).join(", ")
    }
}

enum Secret {
    /// RS256, RS384, RS512, PS256, PS384 and PS512 (the key's `alg` picks the padding
    /// and hash).
    Rsa(Box<rsa::RsaPrivateKey>),
    Es(p256::ecdsa::SigningKey),
    Es384(p384::SecretKey),
    Es512(p521::SecretKey),
    Ed(ed25519_compact::SecretKey),
}

impl Secret {
    /// The public key as a DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), as a
    /// certificate holds it: RFC 3279 for RSA (`rsaEncryption`) and EC (`id-ecPublicKey`,
    /// a named curve, the uncompressed point), RFC 8410 for Ed25519.
    fn public_key_der(&self) -> Result<Vec<u8>, String> {
        use p256::pkcs8::EncodePublicKey;
        let der = match self {
            Secret::Rsa(k) => k.to_public_key().to_public_key_der(),
            Secret::Es(k) => p256::PublicKey::from(k.verifying_key()).to_public_key_der(),
            Secret::Es384(k) => k.public_key().to_public_key_der(),
            Secret::Es512(k) => k.public_key().to_public_key_der(),
            Secret::Ed(k) => return Ok(k.public_key().to_der()),
        };
        der.map(|d| d.into_vec()).map_err(|e| format!("its public key cannot be encoded ({e})"))
    }
}

/// A private signing key with its key id.
pub struct SigningKey {
    /// The key id (`kid`).
    pub kid: String,
    /// The algorithm.
    pub alg: Alg,
    secret: Secret,
    /// The certificate chain and thumbprints it was imported with (none when generated).
    x509: X509Members,
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
            Alg::Rs256 | Alg::Rs384 | Alg::Rs512 | Alg::Ps256 | Alg::Ps384 | Alg::Ps512 => Secret::Rsa(Box::new(
                rsa::RsaPrivateKey::new(&mut PlatformRng(platform), RSA_BITS)
                    .map_err(|e| Error::server(format!("RSA key generation failed: {e}")))?,
            )),
            Alg::Es256 => Secret::Es(p256::ecdsa::SigningKey::random(&mut PlatformRng(platform))),
            Alg::Es384 => Secret::Es384(p384::SecretKey::random(&mut PlatformRng(platform))),
            Alg::Es512 => Secret::Es512(p521::SecretKey::random(&mut PlatformRng(platform))),
            Alg::EdDsa => {
                let mut seed = [0u8; 32];
                platform.fill_random(&mut seed);
                Secret::Ed(ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(seed)).sk)
            }
        };
        Ok(SigningKey { kid: kid.to_string(), alg, secret, x509: X509Members::default() })
    }

    /// Reads a private JWK (with `kid` and `alg`), and its `x5c` certificate chain and
    /// `x5t`/`x5t#S256` thumbprints when it has them (see [`crate::x5c`]).
    pub fn from_jwk(v: &Value) -> Result<SigningKey, Error> {
        let bad = |why: String| Error::invalid_request(format!("The JSON Web Key is not usable: {why}."));
        let kid = v.get("kid").and_then(Value::as_str).unwrap_or("").to_string();
        let alg = v
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Alg::parse)
            .ok_or_else(|| bad(format!("'alg' must be one of {}", Alg::names())))?;
        // P-384 and P-521 keys through RustCrypto's own JWK form (RFC 7518 §6.2), which
        // jwt-compact does not cover; the rest through jwt-compact's conversions.
        let text = ec_members(v);
        let secret = match alg {
            Alg::Es384 => Secret::Es384(p384::SecretKey::from_jwk_str(&text).map_err(|e| bad(e.to_string()))?),
            Alg::Es512 => Secret::Es512(p521::SecretKey::from_jwk_str(&text).map_err(|e| bad(e.to_string()))?),
            _ => {
                let jwk: JsonWebKey<'_> = serde_json::from_value(v.clone()).map_err(|e| bad(e.to_string()))?;
                match alg {
                    Alg::Es256 => Secret::Es(p256::ecdsa::SigningKey::try_from(&jwk).map_err(|e| bad(e.to_string()))?),
                    Alg::EdDsa => {
                        Secret::Ed(ed25519_compact::SecretKey::try_from(&jwk).map_err(|e| bad(e.to_string()))?)
                    }
                    _ => Secret::Rsa(Box::new(rsa::RsaPrivateKey::try_from(&jwk).map_err(|e| bad(e.to_string()))?)),
                }
            }
        };
        if let Secret::Rsa(k) = &secret {
            pss_fits(alg, k).map_err(bad)?;
        }
        let x509 = X509Members::read(v, || secret.public_key_der()).map_err(bad)?;
        Ok(SigningKey { kid, alg, secret, x509 })
    }

    /// Reads a private key from PEM (PKCS#8; PKCS#1 for RSA; SEC1 for EC) or DER (the
    /// same structures), as Hydra's `import jwk` takes them. Its algorithm is `alg`
    /// when given (which must suit the key), else its type's usual one: RSA RS256, P-256
    /// ES256, P-384 ES384, P-521 ES512, Ed25519 EdDSA. A public key is refused: a key set
    /// holds the keys Latch signs with.
    ///
    /// PEM may carry the key's certificate chain after it (`CERTIFICATE` blocks, leaf
    /// first, as in `cat key.pem fullchain.pem`): it becomes the key's `x5c`.
    pub fn from_private_key(bytes: &[u8], alg: Option<Alg>, kid: &str) -> Result<SigningKey, Error> {
        use p256::pkcs8::DecodePrivateKey;
        use rsa::pkcs1::DecodeRsaPrivateKey;
        let pem = std::str::from_utf8(bytes).ok().map(str::trim).filter(|t| t.starts_with("-----BEGIN"));
        if pem.is_some_and(|t| t.contains("PUBLIC KEY-----")) {
            return Err(Error::invalid_request(
                "The key is a public key: a key set holds the private keys Latch signs with.",
            ));
        }
        let blocks = pem.map(pem_blocks).unwrap_or_default();
        let certificates: Vec<&str> = blocks.iter().filter(|(l, _)| *l == "CERTIFICATE").map(|(_, b)| *b).collect();
        // The private key's own block, when the text has other blocks too.
        let text = pem.map(|t| blocks.iter().find(|(l, _)| l.ends_with("PRIVATE KEY")).map_or(t, |(_, b)| *b));
        let rsa = match text {
            Some(t) => {
                rsa::RsaPrivateKey::from_pkcs8_pem(t).ok().or_else(|| rsa::RsaPrivateKey::from_pkcs1_pem(t).ok())
            }
            None => rsa::RsaPrivateKey::from_pkcs8_der(bytes)
                .ok()
                .or_else(|| rsa::RsaPrivateKey::from_pkcs1_der(bytes).ok()),
        };
        macro_rules! ec {
            ($curve:ident) => {
                match text {
                    Some(t) => {
                        $curve::SecretKey::from_pkcs8_pem(t).ok().or_else(|| $curve::SecretKey::from_sec1_pem(t).ok())
                    }
                    None => $curve::SecretKey::from_pkcs8_der(bytes)
                        .ok()
                        .or_else(|| $curve::SecretKey::from_sec1_der(bytes).ok()),
                }
            };
        }
        let (secret, usual) = if let Some(k) = rsa {
            (Secret::Rsa(Box::new(k)), Alg::Rs256)
        } else if let Some(k) = ec!(p256) {
            (Secret::Es(p256::ecdsa::SigningKey::from(k)), Alg::Es256)
        } else if let Some(k) = ec!(p384) {
            (Secret::Es384(k), Alg::Es384)
        } else if let Some(k) = ec!(p521) {
            (Secret::Es512(k), Alg::Es512)
        } else if let Some(k) = match text {
            Some(t) => ed25519_compact::SecretKey::from_pem(t).ok(),
            None => ed25519_compact::SecretKey::from_der(bytes).ok(),
        } {
            (Secret::Ed(k), Alg::EdDsa)
        } else {
            return Err(Error::invalid_request(
                "The key is neither a JSON Web Key nor a private key in PEM or DER (PKCS#8, PKCS#1 or SEC1) of RSA, P-256, P-384, P-521 or Ed25519.",
            ));
        };
        let alg = alg.unwrap_or(usual);
        if alg != usual && !(usual.is_rsa() && alg.is_rsa()) {
            return Err(Error::invalid_request(format!(
                "The key suits {}, not {}.",
                if usual.is_rsa() { rsa_names() } else { usual.as_str().to_string() },
                alg.as_str()
            )));
        }
        let unusable = |why: String| Error::invalid_request(format!("The key is not usable: {why}."));
        if let Secret::Rsa(k) = &secret {
            pss_fits(alg, k).map_err(unusable)?;
        }
        let x509 = X509Members::from_pem_blocks(&certificates, || secret.public_key_der()).map_err(unusable)?;
        Ok(SigningKey { kid: kid.to_string(), alg, secret, x509 })
    }

    fn decorate(&self, jwk: JsonWebKey<'_>) -> Value {
        self.decorate_value(serde_json::to_value(&jwk).unwrap_or(Value::Null))
    }

    fn decorate_value(&self, mut v: Value) -> Value {
        if let Value::Object(m) = &mut v {
            m.insert("kid".into(), self.kid.clone().into());
            m.insert("alg".into(), self.alg.as_str().into());
            m.insert("use".into(), "sig".into());
            self.x509.write(m);
        }
        v
    }

    /// The private JWK (for storage and the admin API), with the `x5c`, `x5t` and
    /// `x5t#S256` it was imported with.
    pub fn private_jwk(&self) -> Value {
        match &self.secret {
            Secret::Rsa(k) => self.decorate(JsonWebKey::from(k.as_ref())),
            Secret::Es(k) => self.decorate(JsonWebKey::from(k)),
            Secret::Es384(k) => self.decorate_value(ec_jwk(k.to_jwk_string().as_str())),
            Secret::Es512(k) => self.decorate_value(ec_jwk(k.to_jwk_string().as_str())),
            Secret::Ed(k) => self.decorate(JsonWebKey::from(k)),
        }
    }

    /// The public JWK (for `/.well-known/jwks.json`), with the `x5c`, `x5t` and
    /// `x5t#S256` it was imported with: they are public (RFC 7517 §4.7).
    pub fn public_jwk(&self) -> Value {
        match &self.secret {
            Secret::Rsa(k) => self.decorate(JsonWebKey::from(&k.to_public_key()).to_verifying_key()),
            Secret::Es(k) => self.decorate(JsonWebKey::from(k.verifying_key())),
            Secret::Es384(k) => self.decorate_value(ec_jwk(&k.public_key().to_jwk_string())),
            Secret::Es512(k) => self.decorate_value(ec_jwk(&k.public_key().to_jwk_string())),
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
        self.sign_with_header(platform, &header, claims).await
    }

    /// [`SigningKey::sign`] with a header of the caller's (which must name this key's
    /// `alg`): a DPoP proof's carries its public key (RFC 9449 §4.2).
    pub async fn sign_with_header<P: Platform + ?Sized>(
        &self,
        platform: &P,
        header: &Value,
        claims: &Map<String, Value>,
    ) -> Result<String, Error> {
        let mut input = B64.encode(header.to_string());
        input.push('.');
        input.push_str(&B64.encode(Value::Object(claims.clone()).to_string()));
        let rsa_failed = |e: rsa::Error| Error::server(format!("RSA signing failed: {e}"));
        let signature: Vec<u8> = match &self.secret {
            Secret::Rsa(k) => match self.alg {
                Alg::Rs384 => {
                    k.sign(rsa::Pkcs1v15Sign::new::<Sha384>(), &Sha384::digest(input.as_bytes())).map_err(rsa_failed)?
                }
                Alg::Rs512 => {
                    k.sign(rsa::Pkcs1v15Sign::new::<Sha512>(), &Sha512::digest(input.as_bytes())).map_err(rsa_failed)?
                }
                // RFC 7518 §3.5: MGF1 with the same hash and a salt as long as the hash
                // (what `Pss::new` sets up); the salt is random, so the platform's
                // randomness draws it.
                Alg::Ps256 => pss::<Sha256, P>(platform, k, &input).map_err(rsa_failed)?,
                Alg::Ps384 => pss::<Sha384, P>(platform, k, &input).map_err(rsa_failed)?,
                Alg::Ps512 => pss::<Sha512, P>(platform, k, &input).map_err(rsa_failed)?,
                _ => match platform.rs256_sign(k, input.as_bytes()).await {
                    Some(signature) => signature,
                    None => {
                        let digest = Sha256::digest(input.as_bytes());
                        k.sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest).map_err(rsa_failed)?
                    }
                },
            },
            Secret::Es(k) => {
                use p256::ecdsa::signature::Signer;
                let sig: p256::ecdsa::Signature = k.sign(input.as_bytes());
                sig.to_bytes().to_vec()
            }
            // RFC 7518 §3.4: R and S, each the curve's size, concatenated (RFC 6979 nonces).
            Secret::Es384(k) => {
                use p384::ecdsa::signature::Signer;
                let sig: p384::ecdsa::Signature = p384::ecdsa::SigningKey::from(k).sign(input.as_bytes());
                sig.to_bytes().to_vec()
            }
            Secret::Es512(k) => {
                use p521::ecdsa::signature::Signer;
                let signer = p521::ecdsa::SigningKey::from_bytes(&k.to_bytes())
                    .map_err(|e| Error::server(format!("P-521 key unusable: {e}")))?;
                let sig: p521::ecdsa::Signature = signer.sign(input.as_bytes());
                sig.to_bytes().to_vec()
            }
            Secret::Ed(k) => k.sign(input.as_bytes(), None).to_vec(),
        };
        input.push('.');
        input.push_str(&B64.encode(signature));
        Ok(input)
    }
}

/// The blocks of a PEM text (RFC 7468 §2), each with its label: from its
/// `-----BEGIN label-----` line through its `-----END label-----` line. A block left
/// open ends the list.
fn pem_blocks(text: &str) -> Vec<(&str, &str)> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let Some(label) = block["-----BEGIN ".len()..].split("-----").next() else { break };
        let end = format!("-----END {label}-----");
        let Some(at) = block.find(&end) else { break };
        let len = at + end.len();
        blocks.push((label, &block[..len]));
        rest = &block[len..];
    }
    blocks
}

/// The RSA algorithms' names, for messages ("RS256, …, PS384 or PS512").
fn rsa_names() -> String {
    let names: Vec<&str> = Alg::ALL.into_iter().filter(|a| a.is_rsa()).map(Alg::as_str).collect();
    match names.split_last() {
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Whether an RSA key is long enough to sign with `alg`. RFC 8017 §9.1.1 step 3: the
/// PSS encoding needs emLen >= hLen + sLen + 2 octets, emLen being the modulus' bits less
/// one, in octets; RFC 7518 §3.5 makes sLen = hLen. So a 1024-bit key cannot sign PS512.
fn pss_fits(alg: Alg, key: &rsa::RsaPrivateKey) -> Result<(), String> {
    use rsa::traits::PublicKeyParts;
    let hash_len = match alg {
        Alg::Ps256 => 32,
        Alg::Ps384 => 48,
        Alg::Ps512 => 64,
        _ => return Ok(()),
    };
    let bits = key.n().bits();
    if bits.saturating_sub(1).div_ceil(8) < 2 * hash_len + 2 {
        return Err(format!("a {bits}-bit RSA key is too short for {} (RFC 8017 §9.1.1)", alg.as_str()));
    }
    Ok(())
}

/// An RSASSA-PSS signature of `input` with hash `D` (RFC 7518 §3.5, RFC 8017 §8.1):
/// MGF1 with `D` and a salt of `D`'s output size, drawn from the platform.
fn pss<D, P>(platform: &P, key: &rsa::RsaPrivateKey, input: &str) -> Result<Vec<u8>, rsa::Error>
where
    D: Digest + sha2::digest::DynDigest + Send + Sync + 'static,
    P: Platform + ?Sized,
{
    key.sign_with_rng(&mut PlatformRng(platform), rsa::Pss::new::<D>(), &D::digest(input.as_bytes()))
}

/// A JWK that RustCrypto's `to_jwk_string` wrote, as a JSON value.
fn ec_jwk(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// An EC JWK with only the members RustCrypto's JWK reader takes (it refuses `kid`,
/// `alg`, `use` and any other): `kty`, `crv`, `x`, `y` and, for a private key, `d`.
fn ec_members(v: &Value) -> String {
    let kept: Map<String, Value> = ["kty", "crv", "x", "y", "d"]
        .into_iter()
        .filter_map(|k| v.get(k).map(|x| (k.to_string(), x.clone())))
        .collect();
    Value::Object(kept).to_string()
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

/// The public members of a JWK (RFC 7517 §4, RFC 7518 §6.2.1, §6.3.1, RFC 8037 §2)
/// with its `kid`, `alg` and `use`, when it is a key [`verify_jws`] verifies with: RSA,
/// EC on P-256, P-384 or P-521, or Ed25519. Private members are dropped, so a private
/// key sent where a public one is expected is never kept.
pub fn public_members(jwk: &Value) -> Option<Value> {
    let o = jwk.as_object()?;
    let kty = o.get("kty")?.as_str()?;
    let members: &[&str] = match (kty, o.get("crv").and_then(Value::as_str)) {
        ("RSA", _) => &["kty", "n", "e"],
        ("EC", Some("P-256" | "P-384" | "P-521")) => &["kty", "crv", "x", "y"],
        ("OKP", Some("Ed25519")) => &["kty", "crv", "x"],
        _ => return None,
    };
    let mut out = Map::new();
    for m in members.iter().chain(&["kid", "alg", "use"]) {
        if let Some(v) = o.get(*m) {
            if !v.is_string() {
                return None;
            }
            out.insert((*m).to_string(), v.clone());
        }
    }
    if members.iter().any(|m| !out.contains_key(*m)) {
        return None;
    }
    // The members must make a key: read it as the verifier will.
    let key = Value::Object(out.clone());
    let ok = match kty {
        "RSA" => serde_json::from_value::<JsonWebKey<'_>>(key.clone())
            .ok()
            .and_then(|k| rsa::RsaPublicKey::try_from(&k).ok())
            .is_some(),
        "OKP" => serde_json::from_value::<JsonWebKey<'_>>(key.clone())
            .ok()
            .and_then(|k| ed25519_compact::PublicKey::try_from(&k).ok())
            .is_some(),
        _ => {
            let text = ec_members(&key);
            match o.get("crv").and_then(Value::as_str) {
                Some("P-256") => p256::PublicKey::from_jwk_str(&text).is_ok(),
                Some("P-384") => p384::PublicKey::from_jwk_str(&text).is_ok(),
                _ => p521::PublicKey::from_jwk_str(&text).is_ok(),
            }
        }
    };
    ok.then_some(key)
}

/// Verifies a JWS against a public JWK (used by tests, for `id_token_hint` and by the
/// Worker's Cloudflare Access gate). Returns the claims when the signature is valid,
/// `exp`, `nbf` and `iat` included as Unix seconds; does not check times.
pub fn verify_jws(jwk: &Value, token: &str) -> Option<Map<String, Value>> {
    use jwt_compact::{AlgorithmExt, UntrustedToken};
    let untrusted = UntrustedToken::new(token).ok()?;
    let key: JsonWebKey<'_> = serde_json::from_value(jwk.clone()).ok()?;
    let rsa = |alg: jwt_compact::alg::Rsa| -> Option<_> {
        let k = rsa::RsaPublicKey::try_from(&key).ok()?;
        Some(alg.validator::<Map<String, Value>>(&k).validate(&untrusted).ok()?.claims().clone())
    };
    let claims = match untrusted.algorithm() {
        "RS256" => rsa(jwt_compact::alg::Rsa::rs256())?,
        "RS384" => rsa(jwt_compact::alg::Rsa::rs384())?,
        "RS512" => rsa(jwt_compact::alg::Rsa::rs512())?,
        "PS256" => rsa(jwt_compact::alg::Rsa::ps256())?,
        "PS384" => rsa(jwt_compact::alg::Rsa::ps384())?,
        "PS512" => rsa(jwt_compact::alg::Rsa::ps512())?,
        "ES384" | "ES512" => return verify_ec(jwk, untrusted.algorithm(), token),
        "Ed25519" => return verify_ed25519(jwk, token),
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

/// ES384 and ES512 (RFC 7518 §3.4), which jwt-compact does not cover: the signature
/// over the first two parts, against the JWK's curve point; the claims as sent.
fn verify_ec(jwk: &Value, alg: &str, token: &str) -> Option<Map<String, Value>> {
    let (input, signature) = token.rsplit_once('.')?;
    let signature = B64.decode(signature).ok()?;
    let header: Value = serde_json::from_slice(&B64.decode(input.split('.').next()?).ok()?).ok()?;
    if header.get("alg").and_then(Value::as_str) != Some(alg) {
        return None;
    }
    let text = ec_members(jwk);
    let ok = match alg {
        "ES384" => {
            use p384::ecdsa::signature::Verifier;
            let key = p384::ecdsa::VerifyingKey::from(p384::PublicKey::from_jwk_str(&text).ok()?);
            key.verify(input.as_bytes(), &p384::ecdsa::Signature::from_slice(&signature).ok()?).is_ok()
        }
        _ => {
            use p521::ecdsa::signature::Verifier;
            let point = p521::PublicKey::from_jwk_str(&text).ok()?;
            let key = p521::ecdsa::VerifyingKey::from_affine(*point.as_affine()).ok()?;
            key.verify(input.as_bytes(), &p521::ecdsa::Signature::from_slice(&signature).ok()?).is_ok()
        }
    };
    if !ok {
        return None;
    }
    let payload = B64.decode(input.split('.').nth(1)?).ok()?;
    serde_json::from_slice(&payload).ok()
}

/// `Ed25519` (RFC 9864's fully-specified name of EdDSA over Ed25519, which
/// openid-client and oauth4webapi now send), which jwt-compact knows only as `EdDSA`:
/// the signature over the first two parts; the claims as sent.
fn verify_ed25519(jwk: &Value, token: &str) -> Option<Map<String, Value>> {
    let (input, signature) = token.rsplit_once('.')?;
    if jwk.get("kty").and_then(Value::as_str) != Some("OKP")
        || jwk.get("crv").and_then(Value::as_str) != Some("Ed25519")
    {
        return None;
    }
    let x = B64.decode(jwk.get("x").and_then(Value::as_str)?).ok()?;
    let key = ed25519_compact::PublicKey::from_slice(&x).ok()?;
    let signature = ed25519_compact::Signature::from_slice(&B64.decode(signature).ok()?).ok()?;
    key.verify(input.as_bytes(), &signature).ok()?;
    let payload = B64.decode(input.split('.').nth(1)?).ok()?;
    serde_json::from_slice(&payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::FixedPlatform;
    use futures_executor::block_on;

    /// PEM and DER keys (Hydra's `import jwk`): each type's usual algorithm, or one that
    /// suits it; public keys and junk refused.
    #[test]
    fn private_keys_are_read_from_pem_and_der() {
        use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let p = FixedPlatform::new(0, 12);
        let rsa_key = rsa::RsaPrivateKey::new(&mut PlatformRng(&p), 1024).unwrap();
        let ec = p384::SecretKey::random(&mut PlatformRng(&p));
        let ed = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new([7; 32]));
        let rsa_pem = rsa_key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let rsa_pkcs1 = rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_pem(&rsa_key, LineEnding::LF).unwrap();
        for (bytes, alg, want) in [
            (rsa_pem.as_bytes().to_vec(), None, Alg::Rs256),
            (rsa_pkcs1.as_bytes().to_vec(), Some(Alg::Ps256), Alg::Ps256),
            (rsa_pkcs1.as_bytes().to_vec(), Some(Alg::Ps384), Alg::Ps384),
            (rsa_key.to_pkcs8_der().unwrap().as_bytes().to_vec(), Some(Alg::Rs512), Alg::Rs512),
            (ec.to_pkcs8_pem(LineEnding::LF).unwrap().as_bytes().to_vec(), None, Alg::Es384),
            (ec.to_sec1_der().unwrap().to_vec(), None, Alg::Es384),
            // `openssl ecparam -genkey` writes the curve's block before the key's.
            (
                format!(
                    "-----BEGIN EC PARAMETERS-----\nBgUrgQQAIg==\n-----END EC PARAMETERS-----\n{}",
                    ec.to_sec1_pem(LineEnding::LF).unwrap().as_str()
                )
                .into_bytes(),
                None,
                Alg::Es384,
            ),
            (ed.sk.to_pem().into_bytes(), None, Alg::EdDsa),
            (ed.sk.to_der(), Some(Alg::EdDsa), Alg::EdDsa),
        ] {
            let k = SigningKey::from_private_key(&bytes, alg, "k").unwrap_or_else(|e| panic!("{want:?}: {e}"));
            assert_eq!(k.alg, want);
            let jws = block_on(k.sign(&p, "JWT", &Map::new())).unwrap();
            assert!(verify_jws(&k.public_jwk(), &jws).is_some(), "{want:?}");
        }
        let public = ec.public_key().to_public_key_pem(LineEnding::LF).unwrap();
        assert!(SigningKey::from_private_key(public.as_bytes(), None, "k").is_err());
        assert!(SigningKey::from_private_key(rsa_pem.as_bytes(), Some(Alg::Es256), "k").is_err());
        let short = SigningKey::from_private_key(rsa_pem.as_bytes(), Some(Alg::Ps512), "k").unwrap_err();
        assert!(short.hint.unwrap_or_default().contains("1024-bit RSA key is too short for PS512"));
        let mut jwk = SigningKey::from_private_key(rsa_pem.as_bytes(), None, "k").unwrap().private_jwk();
        jwk["alg"] = "PS512".into();
        assert!(SigningKey::from_jwk(&jwk).is_err(), "nor through a JWK");
        assert!(SigningKey::from_private_key(b"not a key", None, "k").is_err());
    }

    #[test]
    fn every_alg_signs_and_verifies_through_its_public_jwk() {
        let p = FixedPlatform::new(0, 11);
        for alg in Alg::ALL {
            let k = SigningKey::generate(&p, alg, "k1").unwrap();
            let mut claims = Map::new();
            claims.insert("sub".into(), "alice".into());
            claims.insert("exp".into(), 1_800_000_600.into());
            let jws = block_on(k.sign(&p, "JWT", &claims)).unwrap();
            let public = k.public_jwk();
            assert_eq!(public["kid"], "k1");
            assert_eq!(public["alg"], alg.as_str());
            assert!(public.get("d").is_none(), "{alg:?} public JWK leaks 'd'");
            let verified = verify_jws(&public, &jws).unwrap_or_else(|| panic!("{alg:?} does not verify"));
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

    /// RFC 7518 §3.5: a PSS signature verifies only as the algorithm it was made with
    /// (the hash, MGF1's hash and the salt length all follow it), and only with its key.
    #[test]
    fn pss_signatures_verify_only_as_their_own_algorithm_and_key() {
        let p = FixedPlatform::new(0, 13);
        let rsa_key = rsa::RsaPrivateKey::new(&mut PlatformRng(&p), 2048).unwrap();
        let other = rsa::RsaPrivateKey::new(&mut PlatformRng(&p), 2048).unwrap();
        let pem = rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_pem(&rsa_key, rsa::pkcs8::LineEnding::LF).unwrap();
        let ps384 = SigningKey::from_private_key(pem.as_bytes(), Some(Alg::Ps384), "k").unwrap();
        let jws = block_on(ps384.sign(&p, "JWT", &Map::new())).unwrap();
        assert!(verify_jws(&ps384.public_jwk(), &jws).is_some());
        // The same signature under a header claiming PS512 (or PS256, or RS384).
        let (_, rest) = jws.split_once('.').unwrap();
        for alg in ["PS512", "PS256", "RS384"] {
            let header = B64.encode(json!({"alg": alg, "kid": "k", "typ": "JWT"}).to_string());
            assert!(verify_jws(&ps384.public_jwk(), &format!("{header}.{rest}")).is_none(), "{alg}");
        }
        let other = rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_pem(&other, rsa::pkcs8::LineEnding::LF).unwrap();
        let wrong = SigningKey::from_private_key(other.as_bytes(), Some(Alg::Ps384), "k").unwrap().public_jwk();
        assert!(verify_jws(&wrong, &jws).is_none(), "another key");
        // The salt is random: two signatures differ, and both verify.
        let again = block_on(ps384.sign(&p, "JWT", &Map::new())).unwrap();
        assert_ne!(again, jws);
        assert!(verify_jws(&ps384.public_jwk(), &again).is_some());
    }

    #[test]
    fn signatures_are_deterministic() {
        let p = FixedPlatform::new(0, 12);
        let k = SigningKey::generate(&p, Alg::EdDsa, "k").unwrap();
        let c = Map::new();
        assert_eq!(block_on(k.sign(&p, "JWT", &c)).unwrap(), block_on(k.sign(&p, "JWT", &c)).unwrap());
    }
}
