//! [`EdgePlatform`]: the Worker's clock (`Date.now()`), its random bytes
//! (`crypto.getRandomValues`, through getrandom's `js` backend), PBKDF2, RSA key
//! generation and RS256 signatures in WebCrypto (native code, outside the isolate's wasm), and back-channel
//! logouts sent after the response with `ctx.waitUntil`.

use crate::webcrypto;
use latch_core::platform::{BackchannelLogout, Platform};
use std::cell::RefCell;

/// Time, randomness and key derivation on a Worker.
#[derive(Debug, Default)]
pub struct EdgePlatform {
    /// Back-channel logouts waiting to be handed to `ctx.waitUntil` by the request that
    /// produced them (see [`EdgePlatform::take_logouts`]).
    outbox: RefCell<Vec<BackchannelLogout>>,
}

impl EdgePlatform {
    /// The logouts queued since the last call. The fetch handler sends them with
    /// `ctx.waitUntil` after each request.
    pub fn take_logouts(&self) -> Vec<BackchannelLogout> {
        std::mem::take(&mut *self.outbox.borrow_mut())
    }
}

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

    fn send_backchannel_logouts(&self, deliveries: Vec<BackchannelLogout>) {
        self.outbox.borrow_mut().extend(deliveries);
    }
}
