//! Redirect URI matching (RFC 6749 §3.1.2.3, RFC 8252 §7.3, RFC 9700 §2.1): a presented
//! URI matches only if it is one of the registered ones character for character, or an
//! http loopback IP literal registration with nothing but the port changed.
#![no_main]

use latch_core::client::Client;
use latch_core::redirect;
use libfuzzer_sys::fuzz_target;

/// The input is text, so seeds can be written by hand (`fuzz/seeds/redirect_uri/`):
/// the registered URIs one per line, the presented one on the last line.
struct Input {
    registered: Vec<String>,
    presented: String,
}

fn parse(data: &[u8]) -> Option<Input> {
    let text = std::str::from_utf8(data).ok()?;
    let (registered, presented) = text.rsplit_once('\n')?;
    Some(Input { registered: registered.split('\n').map(str::to_string).collect(), presented: presented.to_string() })
}

/// The registered URI with its port removed, if it is an http loopback IP literal.
fn without_port(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("http://")?;
    let (host, tail) = if let Some(r) = rest.strip_prefix("[::1]") {
        ("[::1]", r)
    } else if let Some(r) = rest.strip_prefix("127.0.0.1") {
        ("127.0.0.1", r)
    } else {
        return None;
    };
    let tail = match tail.strip_prefix(':') {
        Some(t) => {
            let digits = t.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            &t[digits..]
        }
        None => tail,
    };
    Some(format!("http://{host}{tail}"))
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = parse(data) else { return };
    let client = Client { redirect_uris: input.registered.clone(), ..Client::default() };
    if !redirect::matches_registered(&client, &input.presented) {
        return;
    }
    let exact = input.registered.iter().any(|r| *r == input.presented);
    let port_only = without_port(&input.presented)
        .is_some_and(|p| input.registered.iter().any(|r| without_port(r).as_deref() == Some(p.as_str())));
    assert!(exact || port_only, "{:?} matched {:?} by more than the port", input.presented, input.registered);
});
