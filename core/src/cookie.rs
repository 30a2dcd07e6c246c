//! Cookies (RFC 6265): reading the `Cookie` header and writing `Set-Cookie`, always
//! `HttpOnly`, with `SameSite` and `Secure` as configured.
//!
//! No cookie value is, or derives from, anything a relying party or the login &
//! consent app sees: the CSRF cookies hold fresh random values (kept inside the sealed
//! flow), and the remembered-login cookie holds the login session id sealed for
//! [`Purpose::LoginSessionCookie`] with a fresh nonce ([`session_value`]), never the
//! bare id, which is public as the ID token's `sid` (OIDC Front-/Back-Channel Logout).

use crate::config::CookieConfig;
use crate::http::Request;
use crate::platform::Platform;
use crate::seal::{self, Purpose};

/// The value of cookie `name` in the request, if present.
pub fn get<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .filter(|(n, _)| n == "cookie")
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// A `Set-Cookie` value setting `name=value` for `max_age` seconds on `path`.
pub fn set(c: &CookieConfig, name: &str, value: &str, max_age: i64, path: &str) -> String {
    let mut s = format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite={}", c.same_site);
    // RFC 6265bis §4.1.2.7: SameSite=None requires Secure.
    if c.secure || c.same_site.eq_ignore_ascii_case("none") {
        s.push_str("; Secure");
    }
    s
}

/// Checks that the request carries cookie `name` with the CSRF value a sealed flow
/// expects (compared in constant time): the flow must finish in the browser that
/// started it.
pub fn check_csrf(req: &Request, name: &str, expected: &str) -> Result<(), crate::error::Error> {
    use subtle::ConstantTimeEq;
    match get(req, name) {
        Some(v) if bool::from(v.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
        _ => Err(crate::error::Error::new(crate::error::ErrorCode::AccessDenied)
            .with_description("The request is not allowed.")
            .with_hint("No CSRF value available in the session cookie, or it does not match: the flow must finish in the browser that started it.")),
    }
}

/// The remembered-login cookie's value for login session `sid`: `sid` sealed under the
/// system secret for this one purpose, so only Latch can make or read one, and knowing
/// the `sid` (every relying party of the session does) gives nothing.
pub fn session_value<P: Platform + ?Sized>(platform: &P, secrets: &[Vec<u8>], sid: &str) -> String {
    seal::seal(platform, secrets, Purpose::LoginSessionCookie, sid.as_bytes())
}

/// The login session id in the request's remembered-login cookie `name`, if the cookie
/// is one Latch sealed for that purpose (a bare `sid`, as versions before sealing set,
/// or a value sealed for anything else, is none).
pub fn session_id(req: &Request, name: &str, secrets: &[Vec<u8>]) -> Option<String> {
    let raw = seal::open(secrets, Purpose::LoginSessionCookie, get(req, name)?)?;
    String::from_utf8(raw).ok().filter(|s| !s.is_empty())
}

/// A `Set-Cookie` value that deletes `name`.
pub fn clear(c: &CookieConfig, name: &str, path: &str) -> String {
    set(c, name, "", 0, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    #[test]
    fn reads_among_many_and_writes_flags() {
        let r = Request::new(Method::Get, "/").header("cookie", "a=1; latch_session=abc; b=\"2\"");
        assert_eq!(get(&r, "latch_session"), Some("abc"));
        assert_eq!(get(&r, "b"), Some("2"));
        assert_eq!(get(&r, "c"), None);
        let mut c = crate::config::Config::new("https://x", b"s").cookies;
        assert_eq!(set(&c, "n", "v", 60, "/"), "n=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
        c.secure = false;
        assert_eq!(clear(&c, "n", "/"), "n=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax");
    }

    fn with_cookie(v: &str) -> Request {
        Request::new(Method::Get, "/").header("cookie", &format!("latch_session={v}"))
    }

    /// The session cookie is the sid sealed with a fresh nonce: not the sid, never twice
    /// the same, and only a value sealed for this purpose under a system secret opens.
    #[test]
    fn session_cookie_is_sealed_and_purpose_bound() {
        let p = crate::platform::FixedPlatform::new(0, 7);
        let secrets = vec![b"0123456789abcdef-system-secret".to_vec()];
        let sid = "0193a3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b";
        let (a, b) = (session_value(&p, &secrets, sid), session_value(&p, &secrets, sid));
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains(sid) && !a.contains("0193a3c4"));
        assert_eq!(session_id(&with_cookie(&a), "latch_session", &secrets).as_deref(), Some(sid));
        // After a secret rotation the old cookie still opens.
        let rotated = vec![b"a-new-system-secret-0123456789".to_vec(), secrets[0].clone()];
        assert_eq!(session_id(&with_cookie(&a), "latch_session", &rotated).as_deref(), Some(sid));
        // The bare sid (the cookie of earlier versions), a value sealed for another
        // purpose, another secret's value, a tampered one, or none: no session.
        let other = seal::seal(&p, &secrets, Purpose::LoginChallenge, sid.as_bytes());
        let foreign = session_value(&p, &[b"another-secret-0123456789".to_vec()], sid);
        let mut tampered = a.clone().into_bytes();
        tampered[30] = if tampered[30] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).expect("ascii");
        for v in [sid, other.as_str(), foreign.as_str(), tampered.as_str(), ""] {
            assert_eq!(session_id(&with_cookie(v), "latch_session", &secrets), None, "{v}");
        }
        assert_eq!(session_id(&Request::new(Method::Get, "/"), "latch_session", &secrets), None);
        // A sealed empty id is no session either.
        let empty = session_value(&p, &secrets, "");
        assert_eq!(session_id(&with_cookie(&empty), "latch_session", &secrets), None);
    }
}
