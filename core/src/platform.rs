//! What the core needs from its host and may not take for itself: the time, random
//! bytes, slow key derivation (which the Worker delegates to WebCrypto), and optionally
//! a faster RSA signature (the native server's from AWS-LC, the Worker's from WebCrypto).
//!
//! The native server passes the system clock and the OS RNG; the Worker passes
//! `Date.now()` and `crypto.getRandomValues`; tests pass [`FixedPlatform`], a settable
//! clock and a seeded generator, so every token byte is reproducible.

use crate::error::Error;
use crate::keys::{Alg, SigningKey};
use std::cell::Cell;

/// Time, randomness and key derivation, supplied by the host.
///
/// No `Send` bound: Worker futures are `!Send`. Native code names a concrete
/// platform type, so its futures stay `Send`.
#[allow(async_fn_in_trait)] // no Send bound on purpose; see the module doc
pub trait Platform {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
    /// Milliseconds since the Unix epoch. Only orders storage keys
    /// ([`crate::token`], [`crate::service::Latch::new_request_id`]), so a host whose
    /// clock has seconds only may keep the default.
    fn now_millis(&self) -> i64 {
        self.now().saturating_mul(1000)
    }
    /// Fills `buf` with cryptographically secure random bytes.
    fn fill_random(&self, buf: &mut [u8]);
    /// PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2) of `password` with `salt`, 32 bytes out.
    ///
    /// The default is the pure-Rust implementation; the Worker overrides it with
    /// WebCrypto, which runs natively outside the isolate's CPU budget.
    async fn pbkdf2_sha256(&self, password: &[u8], salt: &[u8], rounds: u32) -> [u8; 32] {
        let mut out = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, &mut out);
        out
    }
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2; JWS `RS256`, RFC 7518 §3.3) of
    /// `message` under `key`, if the host has a faster RSA than the core's pure-Rust
    /// `rsa` crate (≈ 2 ms per 2048-bit signature, 6–7× OpenSSL's); `None` lets the core
    /// sign. The signature is deterministic, so either way it is the same bytes. Async
    /// because the Worker's is WebCrypto's `subtle.sign`.
    async fn rs256_sign(&self, key: &rsa::RsaPrivateKey, message: &[u8]) -> Option<Vec<u8>> {
        let _ = (key, message);
        None
    }
    /// Generates a signing key (the admin API's `POST /admin/keys/{set}` and
    /// [`crate::service::Latch::prepare_keys`]). The default is the core's pure-Rust
    /// generation; the Worker generates RSA in WebCrypto, since a 2048-bit key takes
    /// seconds of CPU in wasm.
    async fn generate_key(&self, alg: Alg, kid: &str) -> Result<SigningKey, Error> {
        SigningKey::generate(self, alg, kid)
    }
    /// `n` random bytes.
    fn random_bytes(&self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.fill_random(&mut v);
        v
    }
}

/// The platform's millisecond clock as the 48 bits that token keys and UUIDv7 carry. A
/// clock before 1970 or after the year 10889 saturates: the key is then merely
/// unordered, never wrong.
pub(crate) fn millis_48<P: Platform + ?Sized>(platform: &P) -> u64 {
    platform.now_millis().clamp(0, (1 << 48) - 1) as u64
}

/// One back-channel logout request to send (as [`crate::http::Effect::BackchannelLogout`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackchannelLogout {
    /// The client's `backchannel_logout_uri`.
    pub url: String,
    /// The signed logout token (OIDC Back-Channel Logout §2.4).
    pub logout_token: String,
}

/// An adapter that lets RNG-hungry crates (RSA and EC key generation) draw from a
/// [`Platform`].
pub struct PlatformRng<'a, P: Platform + ?Sized>(pub &'a P);

impl<P: Platform + ?Sized> rand_core::RngCore for PlatformRng<'_, P> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.0.fill_random(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.fill_random(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_random(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill_random(dest);
        Ok(())
    }
}

// The platform's generator is cryptographically secure by the trait's contract.
impl<P: Platform + ?Sized> rand_core::CryptoRng for PlatformRng<'_, P> {}

/// A deterministic platform for tests: a settable clock and a seeded xorshift stream.
///
/// Not cryptographically secure; never use outside tests and examples.
#[derive(Debug)]
pub struct FixedPlatform {
    now: Cell<i64>,
    state: Cell<u64>,
}

impl FixedPlatform {
    /// A platform at time `now` with random stream `seed`.
    pub fn new(now: i64, seed: u64) -> FixedPlatform {
        FixedPlatform { now: Cell::new(now), state: Cell::new(seed | 1) }
    }
    /// Moves the clock forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.now.set(self.now.get() + secs);
    }
}

impl Platform for FixedPlatform {
    fn now(&self) -> i64 {
        self.now.get()
    }
    fn fill_random(&self, buf: &mut [u8]) {
        for b in buf {
            // xorshift64*: deterministic, good enough to make distinct test tokens.
            let mut x = self.state.get();
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.state.set(x);
            *b = (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8;
        }
    }
}
