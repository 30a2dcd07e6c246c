//! CSRF protection of the app's forms: a signed double-submit cookie.
//!
//! * Each browser gets a cookie [`COOKIE_NAME`] holding 32 random bytes (`HttpOnly`,
//!   `SameSite=Lax`, `Path=/`), set when it first loads a page with a form.
//! * Every form carries a hidden field [`FIELD_NAME`] holding HMAC-SHA-256 of that cookie
//!   value under a key drawn when the process starts.
//! * A POST is accepted only when the field is the MAC of the cookie it came with, compared in
//!   constant time. Another site can make the browser send the cookie, but can neither read it
//!   nor compute the MAC; a cookie planted by a neighbouring subdomain is useless without the
//!   key.
//!
//! Restarting the app changes the key, so forms opened before then are refused (reload them).

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::AppendHeaders;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore as _;
use sha2::Sha256;

use super::AppError;

/// Name of the CSRF cookie.
pub const COOKIE_NAME: &str = "latch_csrf";

/// Name of the hidden form field.
pub const FIELD_NAME: &str = "_csrf";

/// Random bytes in the cookie and in the key.
const SECRET_LEN: usize = 32;

/// The per-process CSRF key.
pub struct Csrf {
    key: [u8; SECRET_LEN],
}

/// What a page with a form needs: the hidden field's value, and a `Set-Cookie` header when
/// the browser had no (valid) cookie yet.
#[derive(Debug)]
pub struct CsrfToken {
    /// Value of the hidden [`FIELD_NAME`] field.
    pub field: String,
    /// The cookie to set, if a new one was made.
    pub set_cookie: Option<HeaderValue>,
}

impl CsrfToken {
    /// The `Set-Cookie` header (if any), as a response part.
    pub fn header(&self) -> AppendHeaders<Option<(HeaderName, HeaderValue)>> {
        AppendHeaders(self.set_cookie.clone().map(|v| (SET_COOKIE, v)))
    }
}

impl std::fmt::Debug for Csrf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Csrf { key: <redacted> }")
    }
}

fn random_secret() -> [u8; SECRET_LEN] {
    let mut bytes = [0u8; SECRET_LEN];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

impl Csrf {
    /// A fresh random key.
    pub fn random() -> Self {
        Csrf { key: random_secret() }
    }

    /// A fixed key (tests).
    #[cfg(test)]
    pub fn with_key(key: [u8; SECRET_LEN]) -> Self {
        Csrf { key }
    }

    fn mac(&self, cookie: &str) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC-SHA-256 accepts keys of any length");
        mac.update(cookie.as_bytes());
        mac
    }

    /// The form token for this browser: reuses its cookie when it has a valid one (so several
    /// open tabs keep working), else makes a new cookie.
    pub fn token(&self, headers: &HeaderMap) -> CsrfToken {
        let existing = cookie_value(headers, COOKIE_NAME).filter(|v| is_valid_cookie(v)).map(str::to_owned);
        let (cookie, set_cookie) = match existing {
            Some(cookie) => (cookie, None),
            None => {
                let cookie = URL_SAFE_NO_PAD.encode(random_secret());
                // base64url characters are always a valid header value.
                let header =
                    HeaderValue::from_str(&format!("{COOKIE_NAME}={cookie}; Path=/; HttpOnly; SameSite=Lax")).ok();
                (cookie, header)
            }
        };
        CsrfToken { field: URL_SAFE_NO_PAD.encode(self.mac(&cookie).finalize().into_bytes()), set_cookie }
    }

    /// Checks a submitted form's token against the request's cookie.
    pub fn verify(&self, headers: &HeaderMap, field: Option<&str>) -> Result<(), AppError> {
        let cookie = cookie_value(headers, COOKIE_NAME)
            .ok_or_else(|| AppError::Csrf("The CSRF cookie is missing (are cookies enabled for this site?).".into()))?;
        let field =
            field.filter(|f| !f.is_empty()).ok_or_else(|| AppError::Csrf("The form carries no CSRF token.".into()))?;
        let mismatch = || AppError::Csrf("The form's CSRF token does not match the CSRF cookie.".into());
        let submitted = URL_SAFE_NO_PAD.decode(field).map_err(|_| mismatch())?;
        // `verify_slice` compares in constant time.
        self.mac(cookie).verify_slice(&submitted).map_err(|_| mismatch())
    }
}

/// A cookie made by [`Csrf::token`]: 32 bytes in base64url.
fn is_valid_cookie(value: &str) -> bool {
    URL_SAFE_NO_PAD.decode(value).is_ok_and(|b| b.len() == SECRET_LEN)
}

/// The value of the first cookie called `name` in the request's `Cookie` headers.
fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(&format!("other=1; {COOKIE_NAME}={value}")).unwrap());
        h
    }

    /// The cookie value from a `Set-Cookie` header.
    fn cookie_of(token: &CsrfToken) -> String {
        let header = token.set_cookie.as_ref().expect("a new cookie").to_str().unwrap().to_owned();
        header.split(';').next().unwrap().split_once('=').unwrap().1.to_owned()
    }

    #[test]
    fn new_browser_gets_a_hardened_cookie() {
        let csrf = Csrf::with_key([7; 32]);
        let t = csrf.token(&HeaderMap::new());
        let header = t.set_cookie.as_ref().unwrap().to_str().unwrap();
        assert!(header.starts_with("latch_csrf="), "{header}");
        assert!(header.ends_with("; Path=/; HttpOnly; SameSite=Lax"), "{header}");
        assert!(is_valid_cookie(&cookie_of(&t)));
        // The field is the MAC, not the cookie itself.
        assert_ne!(t.field, cookie_of(&t));
        assert!(csrf.verify(&with_cookie(&cookie_of(&t)), Some(&t.field)).is_ok());
    }

    #[test]
    fn existing_cookie_is_reused() {
        let csrf = Csrf::with_key([7; 32]);
        let cookie = cookie_of(&csrf.token(&HeaderMap::new()));
        let again = csrf.token(&with_cookie(&cookie));
        assert!(again.set_cookie.is_none());
        assert!(csrf.verify(&with_cookie(&cookie), Some(&again.field)).is_ok());
        // A malformed cookie is replaced.
        assert!(csrf.token(&with_cookie("short")).set_cookie.is_some());
    }

    #[test]
    fn rejections() {
        let csrf = Csrf::with_key([7; 32]);
        let t = csrf.token(&HeaderMap::new());
        let cookie = cookie_of(&t);
        let err = |r: Result<(), AppError>| match r {
            Err(AppError::Csrf(m)) => m,
            other => panic!("expected a CSRF error, got {other:?}"),
        };
        assert!(err(csrf.verify(&HeaderMap::new(), Some(&t.field))).contains("cookie is missing"));
        assert!(err(csrf.verify(&with_cookie(&cookie), None)).contains("no CSRF token"));
        assert!(err(csrf.verify(&with_cookie(&cookie), Some(""))).contains("no CSRF token"));
        // Another browser's cookie, a token from another key, or garbage: mismatch.
        let other_cookie = cookie_of(&csrf.token(&HeaderMap::new()));
        assert!(err(csrf.verify(&with_cookie(&other_cookie), Some(&t.field))).contains("does not match"));
        let other_key = Csrf::with_key([8; 32]).token(&with_cookie(&cookie));
        assert!(err(csrf.verify(&with_cookie(&cookie), Some(&other_key.field))).contains("does not match"));
        assert!(err(csrf.verify(&with_cookie(&cookie), Some("!!"))).contains("does not match"));
        // The double-submit must not accept the cookie value itself as the token.
        assert!(err(csrf.verify(&with_cookie(&cookie), Some(&cookie))).contains("does not match"));
    }

    #[test]
    fn cookie_header_parsing() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; b=2"));
        h.append(COOKIE, HeaderValue::from_static("latch_csrf=xyz"));
        assert_eq!(cookie_value(&h, "b"), Some("2"));
        assert_eq!(cookie_value(&h, COOKIE_NAME), Some("xyz"));
        assert_eq!(cookie_value(&h, "c"), None);
    }
}
