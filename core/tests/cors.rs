//! CORS as Hydra configures it (`serve.<port>.cors.*`) with per-client
//! `allowed_cors_origins` on the public token, revocation, userinfo, discovery and JWKS
//! endpoints; and, beyond Hydra, never on the endpoints a browser navigates to with
//! its session cookies (authorization, logout, fallbacks).

mod support;

use latch_core::cors::CorsConfig;
use latch_core::http::{Method, Request, Response};
use latch_core::Port;
use serde_json::json;
use support::*;

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn cors_latch(origins: &[&str]) -> L {
    latch_with(7, |c| {
        c.cors_public = CorsConfig {
            enabled: true,
            allowed_origins: origins.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
    })
}

fn from(origin: &str, req: Request) -> Request {
    req.header("origin", origin)
}

fn spa_client(l: &L) {
    create_client(
        l,
        json!({"client_id": "spa", "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
               "scope": "openid offline", "redirect_uris": ["https://app.example/cb"], "allowed_cors_origins": ["https://app.example"]}),
    );
}

#[test]
fn disabled_means_no_cors_headers() {
    let l = latch(1);
    let r = handle(&l, Port::Public, from("https://app.example", Request::new(Method::Get, "/.well-known/jwks.json")));
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    let pre = Request::new(Method::Options, "/oauth2/token").header("access-control-request-method", "POST");
    assert_eq!(handle(&l, Port::Public, from("https://app.example", pre)).status, 405);
}

#[test]
fn the_port_list_opens_preflights_and_requests() {
    let l = cors_latch(&["https://spa.example", "https://*.tenant.example"]);
    for origin in ["https://spa.example", "https://a.tenant.example"] {
        let pre = Request::new(Method::Options, "/oauth2/token")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type");
        let r = handle(&l, Port::Public, from(origin, pre));
        assert_eq!(r.status, 204);
        assert_eq!(header(&r, "access-control-allow-origin"), Some(origin));
        assert_eq!(header(&r, "access-control-allow-headers"), Some("authorization, content-type"));
        let r = handle(&l, Port::Public, from(origin, Request::new(Method::Get, "/.well-known/openid-configuration")));
        assert_eq!(header(&r, "access-control-allow-origin"), Some(origin));
        assert_eq!(header(&r, "access-control-allow-credentials"), Some("true"));
        assert!(header(&r, "vary").is_some_and(|v| v.contains("Origin")), "{:?}", r.headers);
    }
    for evil in ["https://evil.example", "https://spa.example.evil.example", "https://a.b.tenant.example", "null"] {
        let pre = Request::new(Method::Options, "/oauth2/token").header("access-control-request-method", "POST");
        let r = handle(&l, Port::Public, from(evil, pre));
        assert_eq!(header(&r, "access-control-allow-origin"), None, "{evil}");
        let r = handle(&l, Port::Public, from(evil, Request::new(Method::Get, "/.well-known/jwks.json")));
        assert_eq!(header(&r, "access-control-allow-origin"), None, "{evil}");
    }
    // Without an `Origin`, the answer still says it varies by one (RFC 9110 §12.5.5), so
    // a cache never serves a page on an allowed origin an answer without CORS headers.
    let r = handle(&l, Port::Public, Request::new(Method::Get, "/.well-known/openid-configuration"));
    assert!(header(&r, "vary").is_some_and(|v| v.contains("Origin")), "{:?}", r.headers);
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    // The admin port has its own settings: off here.
    let r = handle(&l, Port::Admin, from("https://spa.example", Request::new(Method::Get, "/admin/clients")));
    assert_eq!(header(&r, "access-control-allow-origin"), None);
}

/// A client's `allowed_cors_origins` open its own requests to the token, revocation and
/// userinfo endpoints (Hydra's per-client CORS), identified by `client_id`, Basic
/// credentials or its access token; another origin stays closed.
#[test]
fn a_clients_origins_open_its_own_requests() {
    let l = cors_latch(&["https://other.example"]);
    spa_client(&l);
    let token = |origin: &str| {
        let req = Request::new(Method::Post, "/oauth2/token").form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", "nope"),
        ]);
        handle(&l, Port::Public, from(origin, req))
    };
    let r = token("https://app.example");
    assert_eq!(r.status, 400);
    assert_eq!(header(&r, "access-control-allow-origin"), Some("https://app.example"));
    assert_eq!(header(&token("https://evil.example"), "access-control-allow-origin"), None);
    // Not on endpoints outside Hydra's list, such as the admin port's.
    let r = handle(&l, Port::Public, from("https://app.example", Request::new(Method::Get, "/health/alive")));
    assert_eq!(header(&r, "access-control-allow-origin"), None);

    // Userinfo, identified by the access token.
    let b = Browser::default();
    let url = format!(
        "{ISSUER}/oauth2/auth?client_id=spa&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=state-12345&code_challenge={}&code_challenge_method=S256",
        latch_core::pkce::s256(VERIFIER)
    );
    let back = authorize(&l, &b, &url).accept_subject("alice", false).grant_requested();
    let code = query_of(&back)["code"].clone();
    let t = handle(
        &l,
        Port::Public,
        Request::new(Method::Post, "/oauth2/token").form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "spa"),
            ("code", &code),
            ("redirect_uri", "https://app.example/cb"),
            ("code_verifier", VERIFIER),
        ]),
    )
    .json_body();
    let at = t["access_token"].as_str().unwrap_or_else(|| panic!("{t}"));
    let ui = |origin: &str| {
        let req = Request::new(Method::Get, "/userinfo").header("authorization", &format!("Bearer {at}"));
        handle(&l, Port::Public, from(origin, req))
    };
    assert_eq!(header(&ui("https://app.example"), "access-control-allow-origin"), Some("https://app.example"));
    assert_eq!(header(&ui("https://evil.example"), "access-control-allow-origin"), None);
}

/// The authorization and logout endpoints and the fallback pages read the session
/// cookies: no origin may read their answers, even with every origin allowed.
#[test]
fn cookie_reading_endpoints_never_answer_cors() {
    let l = cors_latch(&[]);
    app_client(&l);
    for (method, path) in [
        (Method::Get, auth_url("")),
        (Method::Get, format!("{ISSUER}/oauth2/sessions/logout")),
        (Method::Get, format!("{ISSUER}/oauth2/fallbacks/error?error=x")),
    ] {
        let path = path.strip_prefix(ISSUER).unwrap_or(&path).to_string();
        let (p, q) =
            path.split_once('?').map(|(p, q)| (p.to_string(), Some(q.to_string()))).unwrap_or((path.clone(), None));
        let mut req = Request::new(method, &p);
        req.query = q;
        let r = handle(&l, Port::Public, from("https://anyone.example", req));
        assert_eq!(header(&r, "access-control-allow-origin"), None, "{path}");
        let pre = Request::new(Method::Options, &p).header("access-control-request-method", "GET");
        let r = handle(&l, Port::Public, from("https://anyone.example", pre));
        assert_eq!((r.status, header(&r, "access-control-allow-origin")), (204, None), "{path}");
    }
    // Everything else is open to every origin (an empty list, Hydra's meaning).
    let r =
        handle(&l, Port::Public, from("https://anyone.example", Request::new(Method::Get, "/.well-known/jwks.json")));
    assert_eq!(header(&r, "access-control-allow-origin"), Some("https://anyone.example"));
}
