//! The native [`Platform`]: the system clock, the operating system's RNG, PBKDF2
//! on tokio's blocking pool so a slow hash never stalls the reactor, and RS256
//! signatures through AWS-LC (`aws-lc-rs`).

use latch_core::http::Effect;
use latch_core::platform::{Outbound, OutboundResponse, Platform};
use rand::RngCore;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Parsed AWS-LC RSA keys by a digest of the private key, so each key is converted and
/// checked once (`RsaKeyPair::from_der` validates the key, which costs about as much as
/// a signature). Signing keys are few; the map is cleared if it ever grows past this.
const RSA_CACHE_MAX: usize = 64;

fn rsa_cache() -> &'static Mutex<HashMap<[u8; 32], Arc<aws_lc_rs::rsa::KeyPair>>> {
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], Arc<aws_lc_rs::rsa::KeyPair>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The AWS-LC form of `key`, from the cache or converted now (PKCS#1 DER). `None` when
/// AWS-LC refuses the key (then the core signs with its own RSA).
fn aws_lc_key(key: &rsa::RsaPrivateKey) -> Option<Arc<aws_lc_rs::rsa::KeyPair>> {
    let id = latch_core::keys::rsa_fingerprint(key);
    if let Some(k) = rsa_cache().lock().ok()?.get(&id) {
        return Some(k.clone());
    }
    use rsa::pkcs1::EncodeRsaPrivateKey;
    let der = key.to_pkcs1_der().ok()?;
    let parsed = Arc::new(aws_lc_rs::rsa::KeyPair::from_der(der.as_bytes()).ok()?);
    let mut cache = rsa_cache().lock().ok()?;
    if cache.len() >= RSA_CACHE_MAX {
        cache.clear();
    }
    cache.insert(id, parsed.clone());
    Some(parsed)
}

/// System time and OS-seeded randomness.
#[derive(Clone, Copy, Debug, Default)]
pub struct NativePlatform;

impl Platform for NativePlatform {
    fn now(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    }

    fn now_millis(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }

    /// rand's `ThreadRng`: ChaCha12 per thread, seeded from the OS and reseeded from it
    /// every 64 KiB, a CSPRNG (rand's documentation). It spares a `getrandom` system
    /// call per token, request id and salt, which showed in profiles of the hot paths.
    fn fill_random(&self, buf: &mut [u8]) {
        rand::thread_rng().fill_bytes(buf)
    }

    /// AWS-LC's RSA (assembly Montgomery multiplication, with AVX-512 IFMA where the CPU
    /// has it; blinded with the OS RNG), several times as fast as the pure-Rust `rsa`
    /// crate and faster than ring. PKCS#1 v1.5 signatures are
    /// deterministic, so the bytes equal the core's (a unit test below checks it).
    async fn rs256_sign(&self, key: &rsa::RsaPrivateKey, message: &[u8]) -> Option<Vec<u8>> {
        let pair = aws_lc_key(key)?;
        let mut signature = vec![0u8; pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        pair.sign(&aws_lc_rs::signature::RSA_PKCS1_SHA256, &rng, message, &mut signature).ok()?;
        Some(signature)
    }

    /// AWS-LC's P-256 (assembly field arithmetic): several times as fast as the pure-Rust
    /// `p256` crate on a DPoP proof's verification.
    fn es256_verify(&self, x: &[u8], y: &[u8], message: &[u8], signature: &[u8]) -> Option<bool> {
        if x.len() != 32 || y.len() != 32 {
            return None;
        }
        let mut point = Vec::with_capacity(65);
        point.push(4); // SEC 1 §2.3.3: an uncompressed point.
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED, point);
        Some(key.verify(message, signature).is_ok())
    }

    async fn sleep_ms(&self, ms: u64) {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await
    }

    /// reqwest, with the request's limits and destination policy (`crate::outbound`).
    async fn fetch(&self, request: &Outbound) -> Result<OutboundResponse, String> {
        crate::outbound::fetch(request).await
    }

    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
        let (password, salt) = (password.to_vec(), salt.to_vec());
        let derive = move || {
            let mut out = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(&password, &salt, rounds, &mut out);
            out
        };
        match tokio::runtime::Handle::try_current() {
            // A panic inside the closure is impossible (pure arithmetic); a JoinError can
            // only mean the runtime is shutting down, and then the answer no longer matters.
            Ok(h) => h.spawn_blocking(derive).await.unwrap_or([0u8; 32]),
            Err(_) => derive(),
        }
    }
}

/// Carries out a response's effects ([`Effect`]): each back-channel logout token goes
/// out on its own task with a 10 s timeout, to public addresses only when `public_only`
/// (`clients.http.disallow_private_ip_ranges`), and so does every other call as the core
/// made it; failures are logged (without bodies or headers) and never block the response.
pub fn carry_out(effects: Vec<Effect>, public_only: bool) {
    if effects.is_empty() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(count = effects.len(), "no runtime: back-channel logouts not sent");
        return;
    };
    for effect in effects {
        let (what, request) = match effect {
            Effect::BackchannelLogout(d) => {
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("logout_token", &d.logout_token)
                    .finish()
                    .into_bytes();
                let request = Outbound {
                    method: "POST",
                    url: d.url,
                    headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
                    body,
                    timeout_ms: 10_000,
                    max_body: 64 * 1024,
                    public_only,
                };
                ("back-channel logout", request)
            }
            Effect::Call { what, request } => (what, request),
        };
        runtime.spawn(async move {
            // The URL only: the body and headers may carry tokens and keys.
            match crate::outbound::fetch(&request).await {
                Ok(r) if (200..300).contains(&r.status) => tracing::debug!(url = %request.url, "{what} delivered"),
                Ok(r) => tracing::warn!(url = %request.url, status = r.status, "{what} refused"),
                Err(e) => tracing::warn!(url = %request.url, error = %e, "{what} failed"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latch_core::keys::{verify_jws, Alg, SigningKey};
    use latch_core::platform::FixedPlatform;
    use serde_json::{Map, Value};

    /// The futures here never wait on IO (AWS-LC signs synchronously).
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("a runtime").block_on(f)
    }

    /// AWS-LC's P-256 takes what the core's `p256` signs and refuses what it would.
    #[test]
    fn aws_lc_verifies_es256_as_the_core_does() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap();
        let fixed = FixedPlatform::new(1_800_000_000, 9);
        let key = SigningKey::generate(&fixed, Alg::Es256, "k").unwrap();
        let jws = block_on(key.sign(&fixed, "JWT", &Map::new())).unwrap();
        let jwk = key.public_jwk();
        let (x, y) = (b64(jwk["x"].as_str().unwrap()), b64(jwk["y"].as_str().unwrap()));
        let (input, signature) = jws.rsplit_once('.').unwrap();
        let mut signature = b64(signature);
        assert_eq!(NativePlatform.es256_verify(&x, &y, input.as_bytes(), &signature), Some(true));
        assert!(verify_jws(&jwk, &jws).is_some());
        signature[10] ^= 1;
        assert_eq!(NativePlatform.es256_verify(&x, &y, input.as_bytes(), &signature), Some(false));
        let other = SigningKey::generate(&FixedPlatform::new(0, 11), Alg::Es256, "k").unwrap().public_jwk();
        let ox = b64(other["x"].as_str().unwrap());
        assert_eq!(
            NativePlatform.es256_verify(&ox, &y, input.as_bytes(), &b64(jws.rsplit_once('.').unwrap().1)),
            Some(false),
            "a point off the curve"
        );
        assert_eq!(
            NativePlatform.es256_verify(&x[..31], &y, input.as_bytes(), &signature),
            None,
            "not a P-256 point: the core decides"
        );
    }

    #[test]
    fn aws_lc_signs_the_same_bytes_as_the_core() {
        let fixed = FixedPlatform::new(1_800_000_000, 7);
        let key = SigningKey::generate(&fixed, Alg::Rs256, "k").unwrap();
        let mut claims = Map::new();
        claims.insert("sub".into(), Value::from("alice"));
        let by_core = block_on(key.sign(&fixed, "JWT", &claims)).unwrap();
        let by_aws_lc = block_on(key.sign(&NativePlatform, "JWT", &claims)).unwrap();
        assert_eq!(by_aws_lc, by_core, "PKCS#1 v1.5 is deterministic: AWS-LC and the rsa crate must agree");
        assert_eq!(verify_jws(&key.public_jwk(), &by_aws_lc).unwrap()["sub"], "alice");
        // The second signature comes from the cache, and is the same.
        assert_eq!(block_on(key.sign(&NativePlatform, "JWT", &claims)).unwrap(), by_core);
    }

    #[test]
    fn other_algorithms_do_not_touch_aws_lc() {
        let fixed = FixedPlatform::new(1_800_000_000, 8);
        for alg in [Alg::Es256, Alg::EdDsa] {
            let key = SigningKey::generate(&fixed, alg, "k").unwrap();
            let jws = block_on(key.sign(&NativePlatform, "JWT", &Map::new())).unwrap();
            assert!(verify_jws(&key.public_jwk(), &jws).is_some(), "{alg:?}");
        }
    }
}
