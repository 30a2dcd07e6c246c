//! Whole requests through `Latch::handle` (both ports) over the in-memory store: every
//! parser and handler the network reaches, with the invariants an attacker relies on
//! breaking. The in-memory store never fails, so any 5xx is a bug; a redirect always
//! says where; every header is one an adapter can send as is (no line break, so no
//! response splitting; nothing an adapter would have to drop).
#![no_main]

use futures_executor::block_on;
use latch_core::config::Config;
use latch_core::http::{Method, Request};
use latch_core::memory::MemoryStore;
use latch_core::platform::FixedPlatform;
use latch_core::{Latch, Port};
use libfuzzer_sys::fuzz_target;

/// The input is a request written as text, so real requests can seed the corpus
/// (`fuzz/seeds/request/`): a first line `A|P METHOD PATH[?QUERY]` (admin or public
/// port), header lines `name: value`, a blank line, the body.
fn parse(data: &[u8]) -> Option<(Port, Request)> {
    let text = std::str::from_utf8(data).ok()?;
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let mut first = lines.next()?.splitn(3, ' ');
    let port = if first.next()? == "A" { Port::Admin } else { Port::Public };
    let method = Method::parse(first.next()?);
    let mut req = Request::new(method, first.next().unwrap_or("/"));
    for line in lines {
        let (n, v) = line.split_once(':')?;
        req = req.header(n.trim(), v.trim_start());
    }
    req.body = body.as_bytes().to_vec();
    Some((port, req))
}

thread_local! {
    static LATCH: Latch<MemoryStore, FixedPlatform> = {
        let mut c = Config::new("https://auth.example", b"0123456789abcdef-fuzz-system-secret");
        c.pbkdf2_iterations = 1;
        c.login_url = "https://login.example/login".into();
        c.consent_url = "https://login.example/consent".into();
        let l = Latch::new(MemoryStore::new(), FixedPlatform::new(1_700_000_000, 7), c);
        // The signing keys, as a host prepares them at start-up (no request generates one).
        block_on(l.prepare_keys()).expect("signing keys");
        // A confidential client for every grant, with a loopback and a native redirect.
        let r = block_on(l.handle(Port::Admin, Request::new(Method::Post, "/admin/clients").json(&serde_json::json!({
            "client_id": "fuzz-client", "client_secret": "secret",
            "grant_types": ["authorization_code", "refresh_token", "client_credentials", "implicit"],
            "response_types": ["code", "id_token", "token", "code id_token"],
            "scope": "openid offline a b",
            "redirect_uris": ["https://rp.example/cb", "http://127.0.0.1/cb", "com.example.app:/cb"],
            "post_logout_redirect_uris": ["https://rp.example/bye"],
        })))).1;
        assert_eq!(r.status, 201, "seed client: {:?}", r.json_body());
        l
    };
}

// The set-up generates two RSA keys, seconds of work under AddressSanitizer and
// coverage: done at initialisation, before libFuzzer times any input (a loaded machine
// otherwise reports the first input as a timeout).
fuzz_target!(init: LATCH.with(|_| ()), |data: &[u8]| {
    let Some((port, req)) = parse(data) else { return };
    let (_, resp) = LATCH.with(|l| block_on(l.handle(port, req)));
    assert!(resp.status < 500, "5xx from the in-memory store: {} {:?}", resp.status, String::from_utf8_lossy(&resp.body));
    if (300..400).contains(&resp.status) {
        assert!(resp.headers.iter().any(|(n, _)| n == "location"), "a redirect without Location");
    }
    for (n, v) in &resp.headers {
        // What every adapter can send as is: visible ASCII, space and tab. A header an
        // adapter cannot encode would be dropped or fail there (a 302 without Location).
        let encodable = |s: &str| s.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
        assert!(encodable(n) && encodable(v), "a header no adapter can send: {n}: {v:?}");
    }
});
