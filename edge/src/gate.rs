//! One Worker serves both of Latch's APIs on one origin: paths under `/admin/` go to
//! the admin API ([`Port::Admin`]) and require `Authorization: Bearer
//! <LATCH_ADMIN_TOKEN>`; every other path is the public API ([`Port::Public`]).
//!
//! Hydra v1's un-prefixed admin paths (`/clients`, `/oauth2/introspect`, `/keys/…`),
//! which the native admin listener also answers, are not served here: on one origin
//! they would sit beside the public API, so an un-prefixed path could not say which API
//! it means (`/health/ready` exists in both), and admin routes would answer on paths a
//! proxy or WAF rule guarding `/admin/*` does not cover. Everything admin is under
//! `/admin/`, where one rule can protect it.

use latch_core::http::Response;
use latch_core::Port;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The API a path belongs to.
pub fn port_of(path: &str) -> Port {
    if path == "/admin" || path.starts_with("/admin/") {
        Port::Admin
    } else {
        Port::Public
    }
}

/// Whether an `Authorization` header carries the admin token. The comparison runs in
/// constant time over SHA-256 digests, so neither the token's bytes nor its length leak
/// through timing. No configured token means no access.
pub fn admin_authorized(authorization: Option<&str>, token: Option<&str>) -> bool {
    let (Some(header), Some(token)) = (authorization, token.filter(|t| !t.is_empty())) else {
        return false;
    };
    let Some((scheme, presented)) = header.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let presented = Sha256::digest(presented.trim().as_bytes());
    let expected = Sha256::digest(token.as_bytes());
    bool::from(presented.ct_eq(&expected))
}

/// 401 in RFC 6749's error shape, with the RFC 6750 §3 challenge. `access`: whether a
/// Cloudflare Access assertion would also do.
pub fn unauthorized(access: bool) -> Response {
    let description = if access {
        "The admin API requires 'Authorization: Bearer <LATCH_ADMIN_TOKEN>' or a valid Cloudflare Access assertion (Cf-Access-Jwt-Assertion)."
    } else {
        "The admin API requires 'Authorization: Bearer <LATCH_ADMIN_TOKEN>'."
    };
    Response::json(401, &serde_json::json!({ "error": "unauthorized", "error_description": description }))
        .with_header("www-authenticate", "Bearer realm=\"latch-admin\"")
}

/// 503 when a Cloudflare Access assertion cannot be checked: the team's keys could not
/// be fetched and none are held (RFC 6749 §4.1.2.1's `temporarily_unavailable`).
pub fn access_keys_unavailable() -> Response {
    Response::json(
        503,
        &serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": "The Cloudflare Access keys could not be fetched; try again, or use the admin token.",
        }),
    )
    .with_header("retry-after", "5")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_paths_are_exactly_those_under_admin() {
        for p in ["/admin", "/admin/", "/admin/clients", "/admin/oauth2/introspect"] {
            assert_eq!(port_of(p), Port::Admin, "{p}");
        }
        for p in ["/", "/administrator", "/clients", "/oauth2/token", "/%61dmin/clients", "/Admin/clients"] {
            assert_eq!(port_of(p), Port::Public, "{p}");
        }
    }

    #[test]
    fn only_the_exact_bearer_token_passes() {
        let t = Some("s3cret-admin-token-xyz");
        assert!(admin_authorized(Some("Bearer s3cret-admin-token-xyz"), t));
        assert!(admin_authorized(Some("bearer  s3cret-admin-token-xyz "), t));
        assert!(!admin_authorized(Some("Bearer s3cret-admin-token-xy"), t));
        assert!(!admin_authorized(Some("Bearer s3cret-admin-token-xyzz"), t));
        assert!(!admin_authorized(Some("Basic s3cret-admin-token-xyz"), t));
        assert!(!admin_authorized(Some("s3cret-admin-token-xyz"), t));
        assert!(!admin_authorized(None, t));
        assert!(!admin_authorized(Some("Bearer "), Some("")), "no token configured is no access");
        assert!(!admin_authorized(Some("Bearer x"), None));
    }

    #[test]
    fn unauthorized_is_rfc6749_json() {
        for access in [false, true] {
            let r = unauthorized(access);
            assert_eq!(r.status, 401);
            assert_eq!(r.json_body()["error"], "unauthorized");
            let says_access = r.json_body()["error_description"].as_str().unwrap().contains("Cloudflare Access");
            assert_eq!(says_access, access);
            assert!(r.headers.iter().any(|(n, v)| n == "www-authenticate" && v.starts_with("Bearer")));
        }
        assert_eq!(access_keys_unavailable().status, 503);
    }
}
