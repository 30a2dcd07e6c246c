//! Framework-neutral HTTP types and the wire-format helpers every endpoint shares.
//!
//! Adapters (`native`, `edge`) convert their framework's request into [`Request`] and
//! render [`Response`] back; nothing else about HTTP frameworks is known here.

use crate::error::{Error, ErrorCode};
use base64::Engine as _;
use std::collections::BTreeMap;

/// The largest request body an endpoint accepts (form or JSON). Larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// HTTP methods Latch routes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// HEAD (answered like GET without a body by adapters)
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// Anything else.
    Other,
}

impl Method {
    /// Parses a method name (case-sensitive, as HTTP says).
    pub fn parse(s: &str) -> Method {
        match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }
    /// The method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other => "OTHER",
        }
    }
}

/// A request as the core sees it.
#[derive(Clone, Debug)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path, percent-encoded as received, without the query.
    pub path: String,
    /// The raw query string (without `?`), if any.
    pub query: Option<String>,
    /// Headers with lower-cased names.
    pub headers: Vec<(String, String)>,
    /// The body bytes (adapters cap them at [`MAX_BODY_BYTES`] + 1 and let the core decide).
    pub body: Vec<u8>,
    /// The address the request came from, as the host knows it (the native server: the
    /// TCP peer; the Worker: Cloudflare's `CF-Connecting-IP`); `None` when unknown.
    pub peer: Option<std::net::IpAddr>,
}

impl Request {
    /// A request with no headers and no body, for tests and adapters.
    pub fn new(method: Method, path_and_query: &str) -> Request {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (path_and_query.to_string(), None),
        };
        Request { method, path, query, headers: Vec::new(), body: Vec::new(), peer: None }
    }
    /// Adds a header (name lower-cased).
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }
    /// Sets a form body and its content type.
    pub fn form(self, pairs: &[(&str, &str)]) -> Request {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let mut r = self.header("content-type", "application/x-www-form-urlencoded");
        r.body = body.into_bytes();
        r
    }
    /// Sets a JSON body and its content type.
    pub fn json(self, v: &serde_json::Value) -> Request {
        let mut r = self.header("content-type", "application/json");
        r.body = v.to_string().into_bytes();
        r
    }
    /// The first value of a header (name in lower case).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The query parameters; a repeated parameter is an `invalid_request`.
    pub fn query_params(&self) -> Result<Params, Error> {
        Params::parse(self.query.as_deref().unwrap_or("").as_bytes())
    }

    /// The body as `application/x-www-form-urlencoded` parameters (RFC 6749 §3.2, §4.1.3).
    ///
    /// Rejects another media type (415), an oversized body (413) and a repeated
    /// parameter (RFC 6749 §3.1: "Request and response parameters MUST NOT be included
    /// more than once").
    pub fn form_params(&self) -> Result<Params, Error> {
        self.check_body_size()?;
        let ct = self.media_type();
        if ct.as_deref() != Some("application/x-www-form-urlencoded") {
            return Err(Error::new(ErrorCode::UnsupportedMediaType)
                .with_hint("The request body must be sent as 'application/x-www-form-urlencoded'."));
        }
        Params::parse(&self.body)
    }

    /// The body as JSON of type `T`, with clear 4xx errors for every way it can be wrong.
    ///
    /// The body must be declared `application/json` (parameters such as `charset` are
    /// fine): a page on another site can make a browser POST a body without a
    /// `Content-Type`, or as `text/plain`, with no CORS preflight, but never as
    /// `application/json`. Every JSON write of the admin API reads its body here.
    pub fn json_body<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        self.json_body_as(&["application/json"])
    }

    /// [`Request::json_body`] for a JSON Patch (RFC 6902 §6: `application/json-patch+json`,
    /// or `application/json` as Hydra's SDKs send it).
    pub fn json_patch_body<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        self.json_body_as(&["application/json", "application/json-patch+json"])
    }

    fn json_body_as<T: serde::de::DeserializeOwned>(&self, types: &[&str]) -> Result<T, Error> {
        self.check_body_size()?;
        if !self.media_type().is_some_and(|t| types.contains(&t.as_str())) {
            return Err(Error::new(ErrorCode::UnsupportedMediaType)
                .with_hint(format!("The request body must be sent with 'Content-Type: {}'.", types.join("' or '"))));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::invalid_request(format!("The request body is not valid JSON for this endpoint: {e}.")))
    }

    fn check_body_size(&self) -> Result<(), Error> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(Error::new(ErrorCode::PayloadTooLarge)
                .with_hint(format!("The body may be at most {MAX_BODY_BYTES} bytes.")));
        }
        Ok(())
    }

    /// The media type of the body, lower-cased, without parameters.
    fn media_type(&self) -> Option<String> {
        self.header_value("content-type").map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
    }

    /// Client credentials from an `Authorization: Basic` header (RFC 6749 §2.3.1: the id
    /// and secret are form-urlencoded before base64). `Ok(None)` when absent.
    pub fn basic_auth(&self) -> Result<Option<(String, String)>, Error> {
        let Some(h) = self.header_value("authorization") else { return Ok(None) };
        let Some((scheme, rest)) = h.trim().split_once(' ') else { return Ok(None) };
        if !scheme.eq_ignore_ascii_case("basic") {
            return Ok(None);
        }
        let bad = || Error::invalid_client("The Authorization header is not a valid HTTP Basic credential.");
        let raw = base64::engine::general_purpose::STANDARD.decode(rest.trim()).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let (id, secret) = raw.split_once(':').ok_or_else(bad)?;
        // RFC 6749 §2.3.1: each part is application/x-www-form-urlencoded: '+' is a space,
        // then percent-decoding.
        let decode = |s: &str| -> Result<String, Error> {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad())
        };
        Ok(Some((decode(id)?, decode(secret)?)))
    }

    /// A bearer token from `Authorization: Bearer` (RFC 6750 §2.1).
    pub fn bearer_token(&self) -> Option<&str> {
        self.authorization("bearer")
    }
    /// The credential of an `Authorization` header of `scheme` (compared without regard
    /// to case): `Bearer` (RFC 6750 §2.1), `DPoP` (RFC 9449 §7.1).
    pub fn authorization(&self, scheme: &str) -> Option<&str> {
        let h = self.header_value("authorization")?;
        let (given, rest) = h.trim().split_once(' ')?;
        given.eq_ignore_ascii_case(scheme).then(|| rest.trim())
    }
}

/// Every request parameter Latch reads, on any endpoint. RFC 6749 §3.1: "Request and
/// response parameters MUST NOT be included more than once"; that binds the parameters
/// the server recognises, so one of these repeated is an `invalid_request`, while a
/// repeated parameter Latch does not read is ignored (its first value kept), as Hydra
/// does. A test keeps this list a superset of the names the core reads.
pub const RECOGNISED_PARAMETERS: &[&str] = &[
    "access_token",
    "acr_values",
    "actor_token",
    "actor_token_type",
    "all",
    "assertion",
    "audience",
    "challenge",
    "claims",
    "client",
    "client_assertion",
    "client_assertion_type",
    "client_id",
    "client_name",
    "client_secret",
    "code",
    "code_challenge",
    "code_challenge_method",
    "code_verifier",
    "consent_challenge",
    "consent_request_id",
    "consent_verifier",
    "device_challenge",
    "device_code",
    "device_verifier",
    "display",
    "dpop_jkt",
    "grant_type",
    "id_token_hint",
    "issuer",
    "login_challenge",
    "login_hint",
    "login_session_id",
    "login_verifier",
    "logout_challenge",
    "logout_verifier",
    "max_age",
    "nonce",
    "owner",
    "page_size",
    "page_token",
    "post_logout_redirect_uri",
    "prompt",
    "redirect_uri",
    "refresh_token",
    "registration",
    "request",
    "request_uri",
    "requested_token_type",
    "resource",
    "response_mode",
    "response_type",
    "scope",
    "sid",
    "state",
    "subject",
    "subject_token",
    "subject_token_type",
    "token",
    "token_type_hint",
    "ui_locales",
    "user_code",
];

/// The recognised parameters that may be repeated, read as one list ([`Params::list`]).
pub const REPEATABLE: &[&str] = &["audience", "resource"];

/// Parsed parameters; each recognised name appears once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Parameters from name-value pairs (the last of a repeated name wins): the
    /// authorization request that a request object (RFC 9101) makes.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Params {
        Params(pairs.into_iter().collect())
    }

    /// Parses `application/x-www-form-urlencoded` bytes (the WHATWG URL standard's
    /// parser, as `form_urlencoded::parse`), rejecting a repeated
    /// [`RECOGNISED_PARAMETERS`] name and keeping the first value of another.
    ///
    /// Hand-split rather than `form_urlencoded::parse`: that parser percent-decodes and
    /// checks UTF-8 byte by byte, a large share of a flow's instructions outside RSA
    /// (login and consent challenges are ≈ 900-byte parameters). Here a name or value
    /// without `%` or `+` (every base64url challenge, verifier and code) is found with
    /// one SIMD scan and checked as UTF-8 in one pass; the others are decoded as
    /// `form_urlencoded` does (`+` as a space, then `percent_encoding`'s decoder; its own
    /// per-component decoder is private), so the result is the same (tested against it
    /// below).
    pub fn parse(bytes: &[u8]) -> Result<Params, Error> {
        let mut m = BTreeMap::new();
        for pair in bytes.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (k, v) = match memchr::memchr(b'=', pair) {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let k = decode_component(k);
            match m.entry(k.into_owned()) {
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(decode_component(v).into_owned());
                }
                // RFC 8707 §2 and RFC 8693 §2.1: these may be repeated; their values are
                // kept as one space-separated list (a resource is a URI, which holds no
                // space; an audience is one token of Hydra's space-separated list).
                std::collections::btree_map::Entry::Occupied(mut e) if REPEATABLE.contains(&e.key().as_str()) => {
                    let v = decode_component(v);
                    let list = e.get_mut();
                    list.push(' ');
                    list.push_str(&v);
                }
                std::collections::btree_map::Entry::Occupied(e)
                    if RECOGNISED_PARAMETERS.contains(&e.key().as_str()) =>
                {
                    return Err(Error::invalid_request(format!(
                        "The parameter '{}' is included more than once.",
                        e.key()
                    )));
                }
                std::collections::btree_map::Entry::Occupied(_) => {}
            }
        }
        Ok(Params(m))
    }
    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
    /// A required parameter, or `invalid_request` naming it.
    pub fn require(&self, name: &str) -> Result<&str, Error> {
        self.get(name).ok_or_else(|| Error::invalid_request(format!("The '{name}' parameter is missing.")))
    }
    /// Every parameter, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }
    /// A space-delimited list parameter (scope, audience), split into items.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.get(name).map(|s| s.split(' ').filter(|x| !x.is_empty()).map(str::to_string).collect()).unwrap_or_default()
    }
}

/// One name or value of a form body: `+` is a space, then percent-decoding, then UTF-8
/// with invalid sequences replaced (WHATWG URL, application/x-www-form-urlencoded).
fn decode_component(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    if memchr::memchr2(b'%', b'+', raw).is_none() {
        if let Ok(s) = std::str::from_utf8(raw) {
            return s.into();
        }
    }
    let plus_as_space: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    percent_encoding::percent_decode(&plus_as_space).decode_utf8_lossy().into_owned().into()
}

/// A response as the core renders it.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers (names lower-case).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// What the host must do once the response is on its way (the core does no IO).
    /// Every host acts on each one: an adapter that ignores this field drops them.
    pub effects: Vec<Effect>,
}

/// Work a response leaves for its host, which the core cannot do itself (it does no IO).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// OIDC Back-Channel Logout 1.0 §2.5: POST `logout_token` as a form to the client's
    /// `backchannel_logout_uri`, without holding up the response (the native server:
    /// a task with a timeout; the Worker: `waitUntil`). Failures are the host's to log;
    /// a logout never fails because a client's endpoint did.
    BackchannelLogout(crate::platform::BackchannelLogout),
    /// Any other call made after the response, the same way (failures logged, never the
    /// response's): ending the identity provider's session ([`crate::identity_provider`]).
    Call {
        /// What the call is, for the host's log.
        what: &'static str,
        /// The request, as [`crate::platform::Platform::fetch`] takes it.
        request: crate::platform::Outbound,
    },
}

impl Response {
    /// A JSON response with the no-store headers token responses need (RFC 6749 §5.1).
    pub fn json(status: u16, v: &serde_json::Value) -> Response {
        Response::json_of(status, v)
    }
    /// [`Response::json`] of any serializable value (a typed body skips building a
    /// `Value` map on hot paths such as introspection).
    pub fn json_of<T: serde::Serialize + ?Sized>(status: u16, v: &T) -> Response {
        Response {
            status,
            headers: vec![
                ("content-type".into(), "application/json; charset=utf-8".into()),
                ("cache-control".into(), "no-store".into()),
                ("pragma".into(), "no-cache".into()),
                ("x-content-type-options".into(), "nosniff".into()),
            ],
            // Fails only for a map with non-string keys, which no body of ours has.
            body: serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec()),
            effects: Vec::new(),
        }
    }
    /// An HTML page, always with the headers that keep it inert: a Content-Security-Policy
    /// of `default-src 'none'` widened only by `policy`, no framing (`frame-ancestors
    /// 'none'`, `X-Frame-Options: DENY`), `nosniff`, no referrer (only the origin from a page that submits a form) and no
    /// caching. Every
    /// HTML page Latch serves is built here.
    pub fn html(status: u16, body: String, policy: &PagePolicy<'_>) -> Response {
        Response {
            status,
            headers: vec![
                ("content-type".into(), "text/html; charset=utf-8".into()),
                ("content-security-policy".into(), policy.content_security_policy()),
                ("x-frame-options".into(), "DENY".into()),
                ("x-content-type-options".into(), "nosniff".into()),
                // The form_post page's POST carries the issuer's origin (never its path or
                // query): with `no-referrer` browsers send `Origin: null`, which relying
                // parties that check Origin on POSTs refuse.
                ("referrer-policy".into(), if policy.submits_form { "origin" } else { "no-referrer" }.into()),
                ("cache-control".into(), "no-store".into()),
                ("pragma".into(), "no-cache".into()),
            ],
            body: body.into_bytes(),
            effects: Vec::new(),
        }
    }
    /// An empty response.
    pub fn empty(status: u16) -> Response {
        Response { status, headers: Vec::new(), body: Vec::new(), effects: Vec::new() }
    }
    /// An error rendered as RFC 6749 JSON; 401s from client authentication carry
    /// `WWW-Authenticate` (RFC 6749 §5.2).
    pub fn error(e: &Error, expose_debug: bool) -> Response {
        let mut r = Response::json(e.status(), &e.to_json(expose_debug));
        if e.code == ErrorCode::InvalidClient {
            r.headers.push(("www-authenticate".into(), "Basic realm=\"latch\"".into()));
        }
        if let Some(header) = &e.header {
            r.headers.push((header.0.to_string(), header.1.clone()));
        }
        // RFC 6750 §3: a protected resource answers a bad token with a Bearer challenge.
        if e.code == ErrorCode::InvalidToken {
            r.headers.push(("www-authenticate".into(), "Bearer error=\"invalid_token\"".into()));
        }
        r
    }
    /// Adds a `Set-Cookie` header (several may be set).
    pub fn with_cookie(mut self, set_cookie: String) -> Response {
        self.headers.push(("set-cookie".into(), set_cookie));
        self
    }
    /// Adds effects for the host to carry out ([`Response::effects`]).
    pub fn with_effects(mut self, effects: impl IntoIterator<Item = Effect>) -> Response {
        self.effects.extend(effects);
        self
    }
    /// Sets a header, replacing any of the same name.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.to_string(), value.into()));
        self
    }
    /// Checks that every header can be sent as it is on every host (visible ASCII,
    /// spaces and tabs: what both `http::HeaderValue` and a JavaScript `Headers` accept)
    /// and that a redirect has a `Location`. Hosts would otherwise drop or refuse such a
    /// header, and a 302 without its `Location` (after a code was issued) is worse than
    /// an error. Inputs that could lead here are refused with a 4xx before; this is the
    /// last line.
    pub fn check_sendable(&self) -> Result<(), String> {
        for (name, value) in &self.headers {
            let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
            if !name_ok || !value.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
                return Err(format!("the response header {name:?} cannot be sent: {value:?}"));
            }
        }
        if (300..400).contains(&self.status)
            && self.status != 304
            && !self.headers.iter().any(|(n, v)| n == "location" && !v.is_empty())
        {
            return Err(format!("a {} response has no Location", self.status));
        }
        Ok(())
    }
    /// The body parsed as JSON (tests).
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// What an HTML page may do besides showing itself: the sources its
/// Content-Security-Policy allows ([`Response::html`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct PagePolicy<'a> {
    /// The exact text of the page's inline scripts, allowed by their SHA-256 hashes.
    pub scripts: &'a [&'a str],
    /// URLs the page loads in frames: their origins go into `frame-src`, and only
    /// http(s) URLs count (the page's inline `style` attributes are then allowed too,
    /// to hide the frames).
    pub frames: &'a [String],
    /// Whether the page submits a form (the form_post page): then `form-action` is left
    /// open, as a form's target may redirect on.
    pub submits_form: bool,
}

impl PagePolicy<'_> {
    /// A page that loads `frames` (the front-channel logout page).
    pub fn frames(frames: &[String]) -> PagePolicy<'_> {
        PagePolicy { frames, ..Default::default() }
    }

    fn content_security_policy(&self) -> String {
        use sha2::Digest as _;
        let mut csp = String::from("default-src 'none'; base-uri 'none'; frame-ancestors 'none'");
        if !self.submits_form {
            csp.push_str("; form-action 'none'");
        }
        if !self.scripts.is_empty() {
            csp.push_str("; script-src");
            for s in self.scripts {
                let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(s.as_bytes()));
                csp.push_str(&format!(" 'sha256-{hash}'"));
            }
        }
        let mut origins: Vec<String> = self
            .frames
            .iter()
            .filter_map(|u| url::Url::parse(u).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .map(|u| u.origin().ascii_serialization())
            .collect();
        origins.sort();
        origins.dedup();
        if !origins.is_empty() {
            csp.push_str("; frame-src ");
            csp.push_str(&origins.join(" "));
            csp.push_str("; style-src 'unsafe-inline'");
        }
        csp
    }
}

/// The longest `X-Request-Id` kept; a longer one is replaced.
pub const MAX_REQUEST_ID: usize = 128;

/// A caller's `X-Request-Id` when it is safe to log and echo: 1 to [`MAX_REQUEST_ID`]
/// characters of `A-Z a-z 0-9 . _ : -` (UUIDs, ULIDs, Amazon's and Heroku's ids). Anything
/// else (spaces, quotes, `=`, control characters, ANSI escapes) could forge fields or
/// lines in a text log, so the request gets an id of its own instead.
pub fn acceptable_request_id(id: &str) -> Option<&str> {
    let ok = !id.is_empty()
        && id.len() <= MAX_REQUEST_ID
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    ok.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_form_parameters_are_rejected() {
        let r = Request::new(Method::Post, "/oauth2/token").header("content-type", "application/x-www-form-urlencoded");
        let mut r = r;
        r.body = b"grant_type=client_credentials&scope=a&scope=b".to_vec();
        let e = r.form_params().unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(e.hint.unwrap().contains("'scope'"));
    }

    /// RFC 6749 §3.1 binds the parameters the server recognises: another one repeated
    /// is ignored (its first value kept), as Hydra does; tracking pixels and proxies
    /// append their own (`utm_source`, `_ga`) to authorization URLs.
    #[test]
    fn a_repeated_unrecognised_parameter_is_ignored() {
        let p = Params::parse(b"utm_source=a&utm_source=b&scope=openid").unwrap();
        assert_eq!(p.get("utm_source"), Some("a"));
        assert_eq!(p.get("scope"), Some("openid"));
        for name in RECOGNISED_PARAMETERS.iter().filter(|n| !REPEATABLE.contains(n)) {
            let e = Params::parse(format!("{name}=a&{name}=b").as_bytes()).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidRequest, "{name}");
        }
        // RFC 8707 §2, RFC 8693 §2.1: these repeat, as one list.
        let p = Params::parse(b"resource=https%3A%2F%2Fa.example&resource=https://b.example&audience=x&audience=y+z")
            .unwrap();
        assert_eq!(p.list("resource"), ["https://a.example", "https://b.example"]);
        assert_eq!(p.list("audience"), ["x", "y", "z"]);
    }

    /// Every parameter name the core reads from a `Params` (a `.get`, `.require` or
    /// `.list` of a string literal, in any source file) is recognised, so none of them
    /// can be repeated. The scan also meets JSON members read with `.get`; a name that
    /// is neither a parameter nor listed here fails the test until it is listed below.
    #[test]
    fn every_parameter_the_core_reads_is_recognised() {
        const JSON_MEMBERS: &[&str] = &[
            "a",
            "alg",
            "allow_any_subject",
            "aud",
            "crv",
            "context",
            "consent_request",
            "d",
            "denied",
            "device",
            "error_debug",
            "error_description",
            "expires_at",
            "ext",
            "iss",
            "jti",
            "jwk",
            "keys",
            "kid",
            "kty",
            "secret_hash",
            "session",
            "sub",
            "use",
            "utm_source",
            "no_such_field",
            "id_subject",
            "cnf",
            "iat",
            "typ",
            "n",
            "crv",
            "x",
            "act",
            "exp",
        ];
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![src];
        let mut missing = Vec::new();
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for call in [".get(\"", ".require(\"", ".list(\""] {
                for (at, _) in text.match_indices(call) {
                    let rest = &text[at + call.len()..];
                    let Some(end) = rest.find('"') else { continue };
                    let name = &rest[..end];
                    let is_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                    if is_name
                        && rest[end..].starts_with("\")")
                        && !RECOGNISED_PARAMETERS.contains(&name)
                        && !JSON_MEMBERS.contains(&name)
                    {
                        missing.push(format!("{name} ({})", path.display()));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "parameters read but not in RECOGNISED_PARAMETERS: {missing:?}");
    }

    #[test]
    fn form_body_requires_form_media_type() {
        let r = Request::new(Method::Post, "/oauth2/token").json(&serde_json::json!({"grant_type": "x"}));
        assert_eq!(r.form_params().unwrap_err().code, ErrorCode::UnsupportedMediaType);
        let mut ok =
            Request::new(Method::Post, "/").header("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8");
        ok.body = b"a=1".to_vec();
        assert_eq!(ok.form_params().unwrap().get("a"), Some("1"));
    }

    #[test]
    fn oversized_bodies_are_413() {
        let mut r = Request::new(Method::Post, "/").header("content-type", "application/json");
        r.body = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(r.json_body::<serde_json::Value>().unwrap_err().code, ErrorCode::PayloadTooLarge);
    }

    #[test]
    fn basic_auth_is_form_decoded() {
        // RFC 6749 §2.3.1: "my client:" with secret "p@ss:w%rd" encoded, then base64.
        let enc = base64::engine::general_purpose::STANDARD.encode("my+client:p%40ss%3Aw%25rd");
        let r = Request::new(Method::Post, "/").header("authorization", &format!("Basic {enc}"));
        assert_eq!(r.basic_auth().unwrap(), Some(("my client".into(), "p@ss:w%rd".into())));
        let r = Request::new(Method::Post, "/").header("authorization", "Basic !!!");
        assert_eq!(r.basic_auth().unwrap_err().code, ErrorCode::InvalidClient);
        let r = Request::new(Method::Post, "/").header("authorization", "Bearer abc");
        assert_eq!(r.basic_auth().unwrap(), None);
        assert_eq!(r.bearer_token(), Some("abc"));
    }

    #[test]
    fn params_parse_as_form_urlencoded_does() {
        let cases: &[&[u8]] = &[
            b"",
            b"a=1&b=2",
            b"&&a=1&&",
            b"a",
            b"a=&=b",
            b"=",
            b"a=b=c",
            b"q=a+b%20c%2B%26",
            b"n%61me=v%zz%4",
            b"u=%C3%A9t%C3%A9&v=\xc3\xa9",
            b"bad=%FF%FE&raw=\xff",
            b"challenge=eyJ2IjoxLCJjIjoiYXV0aC1jb2RlLWNsaWVudCJ9_-x&state=s",
        ];
        for case in cases {
            let want: BTreeMap<String, String> =
                form_urlencoded::parse(case).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            assert_eq!(Params::parse(case).unwrap().0, want, "{}", String::from_utf8_lossy(case));
        }
    }

    #[test]
    fn empty_values_count_as_absent() {
        let p = Params::parse(b"scope=&audience=a%20b").unwrap();
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.list("audience"), vec!["a", "b"]);
        assert!(p.require("scope").is_err());
    }
}
