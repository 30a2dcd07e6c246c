//! Cookies (RFC 6265): reading the `Cookie` header and writing `Set-Cookie`, always
//! `HttpOnly`, with `SameSite` and `Secure` as configured.

use crate::config::CookieConfig;
use crate::http::Request;

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
}
