//! Cross-origin resource sharing (the Fetch standard's CORS protocol), as Hydra
//! configures it per port (`serve.public.cors.*`, `serve.admin.cors.*`) and extends it
//! on the public port with each client's `allowed_cors_origins`.
//!
//! Hand-written rather than a tower layer: the core answers both the native server and
//! the Worker, and the per-client check needs the store.
//!
//! - A preflight (`OPTIONS` with `Access-Control-Request-Method`) passes when the origin
//!   is one the port allows and the method and headers asked for are allowed: 204 with
//!   the origin echoed. Otherwise 204 without CORS headers, which the browser reads as a
//!   refusal. As in Hydra, a client's own origins do not pass a preflight (a preflight
//!   carries no credentials that would say which client it is for).
//! - An actual request gets `Access-Control-Allow-Origin` when the port allows its
//!   origin, or, on the public port's token, revocation, userinfo, discovery and JWKS
//!   endpoints, when the client it is for lists the origin.
//! - The endpoints a browser navigates to and that read the session cookies (the
//!   authorization and logout endpoints, the fallback pages) never get CORS headers:
//!   no page ever needs to read them, and a page on an allowed origin could otherwise
//!   read them with the user's cookies. Hydra wraps them too; Latch does not.

use crate::http::{Method, Request, Response};
use crate::router::{Endpoint, Port};

/// One port's CORS settings (Hydra's `serve.<port>.cors.*`, with Hydra's defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct CorsConfig {
    /// `enabled` (default false).
    pub enabled: bool,
    /// `allowed_origins`: origins or patterns with one `*` label; empty means every
    /// origin (Hydra's meaning).
    pub allowed_origins: Vec<String>,
    /// `allowed_methods`.
    pub allowed_methods: Vec<String>,
    /// `allowed_headers` (compared case-insensitively).
    pub allowed_headers: Vec<String>,
    /// `exposed_headers`.
    pub exposed_headers: Vec<String>,
    /// `allow_credentials` (default true).
    pub allow_credentials: bool,
    /// `max_age` in seconds; 0 sends no `Access-Control-Max-Age`.
    pub max_age: u64,
}

impl Default for CorsConfig {
    fn default() -> Self {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        CorsConfig {
            enabled: false,
            allowed_origins: Vec::new(),
            allowed_methods: list(&["POST", "GET", "PUT", "PATCH", "DELETE", "CONNECT", "HEAD", "OPTIONS", "TRACE"]),
            allowed_headers: list(&[
                "Accept",
                "Content-Type",
                "Content-Length",
                "Accept-Language",
                "Content-Language",
                "Authorization",
                // RFC 9449: browser clients send proofs and read nonces (beyond Hydra's list).
                "DPoP",
            ]),
            exposed_headers: list(&[
                "Cache-Control",
                "Expires",
                "Last-Modified",
                "Pragma",
                "Content-Length",
                "Content-Language",
                "Content-Type",
                "DPoP-Nonce",
                "WWW-Authenticate",
            ]),
            allow_credentials: true,
            max_age: 0,
        }
    }
}

/// Whether an endpoint may be answered with CORS headers at all (see the module doc).
pub fn applies_to(endpoint: &Endpoint) -> bool {
    !matches!(endpoint, Endpoint::Authorize | Endpoint::DeviceVerify | Endpoint::Logout | Endpoint::Fallback(_))
}

/// The public endpoints where a client's own `allowed_cors_origins` count (Hydra's).
pub fn per_client(port: Port, endpoint: &Endpoint) -> bool {
    port == Port::Public
        && matches!(
            endpoint,
            Endpoint::Token
                | Endpoint::PushedAuthorization
                | Endpoint::Revoke
                | Endpoint::Userinfo
                | Endpoint::Discovery
                | Endpoint::Jwks
        )
}

/// Whether `origin` matches one of `patterns`: an exact, case-insensitive match, `*`,
/// or a pattern whose one `*` stands for one DNS label (`https://*.example.com`);
/// `scheme://*` matches every origin of that scheme. A `*` that is not a whole label
/// (`https://*example.com`, which `https://evilexample.com` would match) is ignored,
/// as Hydra ignores it.
pub fn origin_matches(patterns: &[String], origin: &str) -> bool {
    let origin = origin.to_ascii_lowercase();
    patterns.iter().any(|p| {
        let p = p.to_ascii_lowercase();
        if p == "*" || p == origin {
            return true;
        }
        let Some((prefix, suffix)) = p.split_once('*') else { return false };
        if suffix.contains('*') || !(prefix.ends_with("://") || prefix.ends_with('.')) {
            return false;
        }
        if suffix.is_empty() && prefix.ends_with("://") {
            return origin.starts_with(prefix);
        }
        if !(suffix.starts_with('.') || suffix.starts_with(':')) {
            return false;
        }
        origin.len() > prefix.len() + suffix.len()
            && origin.starts_with(prefix)
            && origin.ends_with(suffix)
            && origin[prefix.len()..origin.len() - suffix.len()].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    })
}

/// Whether an `Origin` header is one Latch would echo: `scheme://host[:port]` in the
/// characters a serialized origin uses (the Fetch standard), or `null`, which is never
/// allowed. Anything else is treated as no origin at all.
pub fn plausible_origin(o: &str) -> bool {
    o.contains("://") && o.len() <= 2048 && o.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:/[]".contains(&b))
}

/// Whether an `allowed_origins` entry can match anything: `*`, or `http(s)://` and a
/// host (with at most one `*`), optionally a port, and nothing after.
pub fn valid_origin_pattern(p: &str) -> bool {
    if p == "*" {
        return true;
    }
    let Some((scheme, rest)) = p.split_once("://") else { return false };
    matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https")
        && !rest.is_empty()
        && rest.matches('*').count() <= 1
        && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:*[]".contains(&b))
}

impl CorsConfig {
    /// Whether the port's own list allows `origin` (an empty list allows every origin).
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.allowed_origins.is_empty() || origin_matches(&self.allowed_origins, origin)
    }

    fn allows_method(&self, method: &str) -> bool {
        self.allowed_methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }

    /// The answer to a preflight from `origin` for a path that exists (Fetch standard,
    /// CORS-preflight fetch): 204, with the CORS headers only when everything asked
    /// for is allowed.
    pub fn preflight(&self, origin: &str, req: &Request) -> Response {
        let mut r = Response::empty(204)
            .with_header("vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
        let method = req.header_value("access-control-request-method").unwrap_or("").trim();
        let headers: Vec<&str> = req
            .header_value("access-control-request-headers")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        let headers_ok = headers.iter().all(|h| self.allowed_headers.iter().any(|a| a.eq_ignore_ascii_case(h)));
        if !self.allows_origin(origin) || !self.allows_method(method) || !headers_ok {
            return r;
        }
        r = r.with_header("access-control-allow-origin", origin).with_header("access-control-allow-methods", method);
        if !headers.is_empty() {
            r = r.with_header("access-control-allow-headers", headers.join(", "));
        }
        if self.allow_credentials {
            r = r.with_header("access-control-allow-credentials", "true");
        }
        if self.max_age > 0 {
            r = r.with_header("access-control-max-age", self.max_age.to_string());
        }
        r
    }

    /// Adds the CORS headers of an allowed actual request from `origin`.
    pub fn allow(&self, origin: &str, method: Method, mut r: Response) -> Response {
        if !self.allows_method(method.as_str()) {
            return r;
        }
        r.headers.push(("access-control-allow-origin".into(), origin.into()));
        if self.allow_credentials {
            r.headers.push(("access-control-allow-credentials".into(), "true".into()));
        }
        if !self.exposed_headers.is_empty() {
            r.headers.push(("access-control-expose-headers".into(), self.exposed_headers.join(", ")));
        }
        r
    }
}

/// Adds `Vary: Origin` (a response that depends on the origin must say so to caches).
pub fn vary_origin(mut r: Response) -> Response {
    match r.headers.iter_mut().find(|(n, _)| n == "vary") {
        Some((_, v)) if !v.split(',').any(|x| x.trim().eq_ignore_ascii_case("origin")) => v.push_str(", Origin"),
        Some(_) => {}
        None => r.headers.push(("vary".into(), "Origin".into())),
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_patterns() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for (patterns, origin, want) in [
            (p(&["https://app.example"]), "https://app.example", true),
            (p(&["https://app.example"]), "HTTPS://APP.EXAMPLE", true),
            (p(&["https://app.example"]), "https://app.example:8443", false),
            (p(&["https://app.example"]), "https://app.example.evil", false),
            (p(&["*"]), "https://anything.example", true),
            (p(&["https://*.example.com"]), "https://a.example.com", true),
            (p(&["https://*.example.com"]), "https://a.b.example.com", false),
            (p(&["https://*.example.com"]), "https://example.com", false),
            (p(&["https://*.example.com"]), "http://a.example.com", false),
            (p(&["https://*.example.com"]), "https://evil.com/.example.com", false),
            // Not a whole label: ignored, or `evilexample.com` would pass.
            (p(&["https://*example.com"]), "https://evilexample.com", false),
            (p(&["https://*example.com"]), "https://example.com", false),
            (p(&["https://*"]), "https://any.example", true),
            (p(&["https://*"]), "http://any.example", false),
            (p(&["http://localhost:*"]), "http://localhost:3000", false),
            (p(&["http://*:3000"]), "http://localhost:3000", true),
            (p(&[]), "https://a.example", false),
        ] {
            assert_eq!(origin_matches(&patterns, origin), want, "{patterns:?} {origin}");
        }
    }

    #[test]
    fn preflights_echo_only_what_is_allowed() {
        let c = CorsConfig { enabled: true, allowed_origins: vec!["https://spa.example".into()], ..Default::default() };
        let ask = |origin: &str, method: &str, headers: &str| {
            let r = Request::new(Method::Options, "/oauth2/token")
                .header("origin", origin)
                .header("access-control-request-method", method)
                .header("access-control-request-headers", headers);
            c.preflight(origin, &r)
        };
        let h = |r: &Response, n: &str| r.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
        let ok = ask("https://spa.example", "POST", "content-type, authorization");
        assert_eq!(ok.status, 204);
        assert_eq!(h(&ok, "access-control-allow-origin").as_deref(), Some("https://spa.example"));
        assert_eq!(h(&ok, "access-control-allow-methods").as_deref(), Some("POST"));
        assert_eq!(h(&ok, "access-control-allow-headers").as_deref(), Some("content-type, authorization"));
        assert_eq!(h(&ok, "access-control-allow-credentials").as_deref(), Some("true"));
        assert_eq!(h(&ok, "access-control-max-age"), None);
        for refused in [
            ask("https://evil.example", "POST", ""),
            ask("https://spa.example", "FETCH", ""),
            ask("https://spa.example", "POST", "x-secret"),
        ] {
            assert_eq!(refused.status, 204);
            assert_eq!(h(&refused, "access-control-allow-origin"), None);
        }
    }
}
