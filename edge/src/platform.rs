//! [`EdgePlatform`]: the Worker's clock (`Date.now()`), its random bytes
//! (`crypto.getRandomValues`, through getrandom's `js` backend), PBKDF2, RSA key
//! generation and RS256 signatures in WebCrypto (native code, outside the isolate's wasm).

use crate::webcrypto;
use latch_core::keys::{Alg, SigningKey};
use latch_core::platform::Platform;
use latch_core::Error;

/// Time, randomness and key derivation on a Worker.
#[derive(Debug, Default)]
pub struct EdgePlatform;

impl Platform for EdgePlatform {
    fn now(&self) -> i64 {
        (worker::js_sys::Date::now() / 1000.0) as i64
    }

    fn now_millis(&self) -> i64 {
        worker::js_sys::Date::now() as i64
    }

    fn fill_random(&self, buf: &mut [u8]) {
        // crypto.getRandomValues never fails for a buffer (getrandom chunks it to the
        // 64 KiB the API takes); without randomness no token can be issued safely.
        getrandom::getrandom(buf).expect("crypto.getRandomValues is unavailable")
    }

    /// WebCrypto's PBKDF2 (Workers accept at most 100 000 iterations there); the
    /// pure-Rust derivation covers anything WebCrypto refuses, with the same result.
    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
        match webcrypto::pbkdf2_sha256(password, salt, rounds).await {
            Ok(out) => out,
            Err(e) => {
                worker::console_warn!("WebCrypto PBKDF2 failed ({e}); deriving in wasm");
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, &mut out);
                out
            }
        }
    }

    /// RSA keys from WebCrypto (a 2048-bit key takes seconds of CPU in wasm); the
    /// other algorithms are cheap in wasm and come from the core.
    async fn generate_key(&self, alg: Alg, kid: &str) -> Result<SigningKey, Error> {
        match alg {
            // Every RSA algorithm's key is an RSA key pair: WebCrypto makes it, the
            // key's `alg` says how it signs (RS256 in WebCrypto, the others in wasm).
            alg if alg.is_rsa() => {
                let mut key = webcrypto::generate_rs256(kid).await.map_err(Error::server)?;
                key.alg = alg;
                Ok(key)
            }
            other => SigningKey::generate(self, other, kid),
        }
    }

    /// WebCrypto's RSA (native code, outside the wasm CPU budget); `None` (the core's
    /// pure-Rust RSA signs instead, with the same bytes) if WebCrypto refuses.
    async fn rs256_sign(&self, key: &rsa::RsaPrivateKey, message: &[u8]) -> Option<Vec<u8>> {
        match webcrypto::rs256_sign(key, message).await {
            Ok(signature) => Some(signature),
            Err(e) => {
                worker::console_warn!("WebCrypto RS256 failed ({e}); signing in wasm");
                None
            }
        }
    }
}
