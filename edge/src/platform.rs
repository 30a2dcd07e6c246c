//! [`EdgePlatform`]: the Worker's clock (`Date.now()`), its random bytes
//! (`crypto.getRandomValues`, through getrandom's `js` backend), PBKDF2, RSA key
//! generation and RS256 signatures in WebCrypto (native code, outside the isolate's wasm).

use crate::webcrypto;
use latch_core::keys::{Alg, SigningKey};
use latch_core::platform::{Outbound, OutboundResponse, Platform};
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

    /// The Workers runtime's `fetch`, with the request's timeout (the whole exchange,
    /// body included) and body limit, and no redirect followed; the destination is
    /// checked by [`latch_core::platform::check_destination`].
    async fn fetch(&self, r: &Outbound) -> Result<OutboundResponse, String> {
        use futures::future::{select, Either};
        let exchange = std::pin::pin!(fetch_within_limits(r));
        let timeout = std::pin::pin!(worker::Delay::from(std::time::Duration::from_millis(r.timeout_ms)));
        match select(exchange, timeout).await {
            Either::Left((answer, _)) => answer,
            Either::Right(_) => Err(format!("{} did not answer within {} ms", r.url, r.timeout_ms)),
        }
    }

    async fn sleep_ms(&self, ms: u64) {
        worker::Delay::from(std::time::Duration::from_millis(ms)).await
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

/// [`Platform::fetch`] without its timeout.
async fn fetch_within_limits(r: &Outbound) -> Result<OutboundResponse, String> {
    use futures::StreamExt;
    latch_core::platform::check_destination(&r.url, r.public_only)?;
    let failed = |e: worker::Error| format!("{}: {e}", r.url);
    let headers = worker::Headers::new();
    for (n, v) in &r.headers {
        headers.set(n, v).map_err(failed)?;
    }
    let method = match r.method {
        "POST" => worker::Method::Post,
        "DELETE" => worker::Method::Delete,
        _ => worker::Method::Get,
    };
    let mut init = worker::RequestInit::new();
    init.with_method(method).with_headers(headers).with_redirect(worker::RequestRedirect::Manual);
    if !r.body.is_empty() {
        init.with_body(Some(worker::js_sys::Uint8Array::from(r.body.as_slice()).into()));
    }
    let request = worker::Request::new_with_init(&r.url, &init).map_err(failed)?;
    let mut response = worker::Fetch::Request(request).send().await.map_err(failed)?;
    let status = response.status_code();
    let mut body = Vec::new();
    let mut stream = response.stream().map_err(failed)?;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(failed)?;
        if body.len() + chunk.len() > r.max_body {
            return Err(format!("{} answered more than {} bytes", r.url, r.max_body));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(OutboundResponse { status, body })
}
