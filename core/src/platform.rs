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
    /// Whether the 64-byte `signature` (R ‖ S) is an ECDSA P-256 SHA-256 signature (JWS
    /// `ES256`, RFC 7518 §3.4) of `message` by the point (`x`, `y`, 32 bytes each), if the
    /// host has a faster P-256 than the core's pure-Rust one (≈ 0.3 ms a verification on
    /// these machines, most of what a DPoP proof costs); `None` lets the core verify.
    fn es256_verify(&self, x: &[u8], y: &[u8], message: &[u8], signature: &[u8]) -> Option<bool> {
        let _ = (x, y, message, signature);
        None
    }
    /// Generates a signing key (the admin API's `POST /admin/keys/{set}` and
    /// [`crate::service::Latch::prepare_keys`]). The default is the core's pure-Rust
    /// generation; the Worker generates RSA in WebCrypto, since a 2048-bit key takes
    /// seconds of CPU in wasm.
    async fn generate_key(&self, alg: Alg, kid: &str) -> Result<SigningKey, Error> {
        SigningKey::generate(self, alg, kid)
    }
    /// Makes an outgoing HTTP request for the core (a client's `jwks_uri`): the host
    /// enforces `request.timeout_ms`, `request.max_body` and `request.public_only`, and
    /// follows no redirect. `Err` says why no answer came. The default makes no calls.
    async fn fetch(&self, request: &Outbound) -> Result<OutboundResponse, String> {
        Err(format!("this host makes no outgoing calls (asked for {})", request.url))
    }
    /// Waits `ms` milliseconds (between a token hook's attempts, [`crate::token_hook`]).
    /// The default returns at once: a host that cannot wait retries without a pause.
    async fn sleep_ms(&self, ms: u64) {
        let _ = ms;
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

/// An outgoing HTTP request the core asks its host to make ([`Platform::fetch`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbound {
    /// `GET`, `POST` or `DELETE`.
    pub method: &'static str,
    /// An absolute `https` (or, in dev mode, `http`) URL.
    pub url: String,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// The body (empty for `GET`).
    pub body: Vec<u8>,
    /// The whole exchange takes at most this long.
    pub timeout_ms: u64,
    /// A longer response body is an error.
    pub max_body: usize,
    /// Only public destinations: a host name that resolves to a loopback, private,
    /// link-local or otherwise non-public address is refused, and so is such an address
    /// in the URL (`clients.http.disallow_private_ip_ranges`).
    pub public_only: bool,
}

impl Outbound {
    /// How long Latch waits for a document a client's metadata names.
    pub const CLIENT_DOCUMENT_TIMEOUT_MS: u64 = 5_000;

    /// A `GET` of a document a client's metadata names (its `jwks_uri`, `request_uri`,
    /// `sector_identifier_uri`): no body, [`Self::CLIENT_DOCUMENT_TIMEOUT_MS`], at most
    /// `max_body` bytes, and only public destinations when `public_only`
    /// (`clients.http.disallow_private_ip_ranges`).
    pub fn client_document(url: String, accept: &str, max_body: usize, public_only: bool) -> Outbound {
        Outbound {
            method: "GET",
            url,
            headers: vec![("accept".into(), accept.into())],
            body: Vec::new(),
            timeout_ms: Self::CLIENT_DOCUMENT_TIMEOUT_MS,
            max_body,
            public_only,
        }
    }
}

/// The answer to an [`Outbound`] request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboundResponse {
    /// The HTTP status.
    pub status: u16,
    /// The body (at most the request's `max_body` bytes).
    pub body: Vec<u8>,
}

/// Whether `ip` is a public unicast address: not loopback, private (RFC 1918, RFC 4193),
/// link-local, shared (RFC 6598), documentation, multicast, broadcast, unspecified or
/// reserved. IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
pub fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        std::net::IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(std::net::IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                || first == 0x0064 && v6.segments()[1] == 0xff9b)
        }
    }
}

/// The destination of an [`Outbound`] request, checked as both hosts check it before
/// calling: an absolute http(s) URL and, with `public_only`, no non-public address
/// literal and no `localhost` name. (A host name's resolved addresses are the host's to
/// check: natively a filtering resolver; on the Worker, Cloudflare's edge does not route
/// to private networks.)
pub fn check_destination(url: &str, public_only: bool) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(format!("{url} is not an http(s) URL"));
    }
    let private = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => !is_public(ip.into()),
        Some(url::Host::Ipv6(ip)) => !is_public(ip.into()),
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")
        }
        None => true,
    };
    if public_only && private {
        return Err(format!("{url} names a non-public address (clients.http.disallow_private_ip_ranges)"));
    }
    Ok(parsed)
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

/// A deterministic platform for tests: a settable clock, a seeded xorshift stream, and
/// documents it serves to `GET` ([`FixedPlatform::serve`]; any other call fails).
///
/// Not cryptographically secure; never use outside tests and examples.
#[derive(Debug)]
pub struct FixedPlatform {
    now: Cell<i64>,
    state: Cell<u64>,
    served: std::cell::RefCell<std::collections::BTreeMap<String, String>>,
}

impl FixedPlatform {
    /// A platform at time `now` with random stream `seed`.
    pub fn new(now: i64, seed: u64) -> FixedPlatform {
        FixedPlatform { now: Cell::new(now), state: Cell::new(seed | 1), served: Default::default() }
    }
    /// Answers a `GET` of `url` with `body` (status 200) from now on.
    pub fn serve(&self, url: &str, body: &str) {
        self.served.borrow_mut().insert(url.to_string(), body.to_string());
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
    /// The clock moves instead (whole seconds, rounded up).
    async fn sleep_ms(&self, ms: u64) {
        self.advance(ms.div_ceil(1000) as i64);
    }
    async fn fetch(&self, request: &Outbound) -> Result<OutboundResponse, String> {
        match self.served.borrow().get(&request.url) {
            Some(body) if request.method == "GET" => {
                Ok(OutboundResponse { status: 200, body: body.clone().into_bytes() })
            }
            _ => Err(format!("{} is not served", request.url)),
        }
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

#[cfg(test)]
mod tests {
    use super::is_public;

    #[test]
    fn public_addresses_are_told_apart() {
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
