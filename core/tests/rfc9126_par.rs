//! RFC 9126: pushed authorization requests. A push is authenticated and checked as the
//! authorization endpoint checks a request; its `request_uri` is used once, by its own
//! client, before it expires, and its parameters replace the query's.

mod support;

use latch_core::http::{Method, Request};
use latch_core::Port;
use serde_json::{json, Value};
use support::*;

fn push(l: &L, auth: Option<(&str, &str)>, pairs: &[(&str, &str)]) -> (u16, Value) {
    let r = form(l, "/oauth2/par", auth, pairs);
    (r.status, r.json_body())
}

/// The parameters of [`auth_url`]'s request, to push.
fn app_request<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![
        ("response_type", "code"),
        ("scope", "openid offline email"),
        ("redirect_uri", CB),
        ("state", "state-12345"),
        ("nonce", "nonce-12345"),
        ("code_challenge", CHALLENGE_OF_VERIFIER.as_str()),
        ("code_challenge_method", "S256"),
    ];
    v.extend_from_slice(extra);
    v
}

/// The PKCE challenge of [`VERIFIER`].
static CHALLENGE_OF_VERIFIER: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| latch_core::pkce::s256(VERIFIER));

fn pushed_uri(l: &L) -> String {
    let (status, body) = push(l, Some(("app", "app-secret")), &app_request(&[]));
    assert_eq!(status, 201, "{body}");
    body["request_uri"].as_str().expect("request_uri").to_string()
}

fn auth_with(client: &str, request_uri: &str, extra: &str) -> String {
    let uri: String = form_urlencoded::byte_serialize(request_uri.as_bytes()).collect();
    format!("{ISSUER}/oauth2/auth?client_id={client}&request_uri={uri}{extra}")
}

/// The error a browser sent to `url` is shown (error page or client redirect).
fn error_at(l: &L, url: &str) -> String {
    let to = location(&Browser::default().get(l, url));
    query_of(&to).get("error").cloned().unwrap_or_else(|| panic!("no error: {to}"))
}

#[test]
fn a_pushed_request_runs_the_whole_code_flow() {
    let l = latch(1);
    app_client(&l);
    let (status, body) = push(&l, Some(("app", "app-secret")), &app_request(&[]));
    // §2.2: 201, a request_uri of the URN form, and its lifetime.
    assert_eq!(status, 201, "{body}");
    let uri = body["request_uri"].as_str().unwrap();
    assert!(uri.starts_with("urn:ietf:params:oauth:request_uri:"), "{uri}");
    assert_eq!(body["expires_in"], 60);
    let b = Browser::default();
    let at_login = authorize(&l, &b, &auth_with("app", uri, ""));
    assert_eq!(at_login.request["requested_scope"], json!(["openid", "offline", "email"]));
    assert_eq!(at_login.request["client"]["client_id"], "app");
    let to = at_login.accept_subject("alice", false).grant_requested();
    let q = query_of(&to);
    assert!(to.starts_with(CB), "{to}");
    assert_eq!(q["state"], "state-12345");
    assert_eq!(q["iss"], ISSUER);
    let tokens = redeem(&l, &q["code"]);
    assert_eq!(tokens.status, 200, "{:?}", tokens.json_body());
    let idt = claims(&l, tokens.json_body()["id_token"].as_str().unwrap());
    assert_eq!(idt["nonce"], "nonce-12345");
}

#[test]
fn a_request_uri_is_used_once() {
    let l = latch(2);
    app_client(&l);
    let uri = pushed_uri(&l);
    let b = Browser::default();
    let _ = authorize(&l, &b, &auth_with("app", &uri, ""));
    // §4: single use.
    assert_eq!(error_at(&l, &auth_with("app", &uri, "")), "invalid_request_uri");
}

#[test]
fn a_request_uri_expires() {
    let l = latch(3);
    app_client(&l);
    let uri = pushed_uri(&l);
    l.platform.advance(60);
    assert_eq!(error_at(&l, &auth_with("app", &uri, "")), "invalid_request_uri");
}

#[test]
fn only_the_client_that_pushed_may_use_its_request_uri() {
    let l = latch(4);
    app_client(&l);
    create_client(
        &l,
        json!({"client_id": "other", "client_secret": "other-secret", "grant_types": ["authorization_code"],
               "response_types": ["code"], "scope": "openid offline email", "redirect_uris": [CB]}),
    );
    let uri = pushed_uri(&l);
    assert_eq!(error_at(&l, &auth_with("other", &uri, "")), "invalid_request_uri");
    // Refused without being used up: its own client still can.
    let _ = authorize(&l, &Browser::default(), &auth_with("app", &uri, ""));
}

#[test]
fn a_request_uri_not_issued_here_is_refused() {
    let l = latch(5);
    app_client(&l);
    let uri = pushed_uri(&l);
    let mut forged = uri.clone().into_bytes();
    let last = forged.len() - 3;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_eq!(error_at(&l, &auth_with("app", &forged, "")), "invalid_request_uri");
    assert_eq!(error_at(&l, &auth_with("app", "urn:ietf:params:oauth:request_uri:nothing", "")), "invalid_request_uri");
    // Sealed for another purpose (a login challenge) it opens as nothing either.
    let b = Browser::default();
    let at_login = authorize(&l, &b, &auth_url(""));
    let wrong = format!("urn:ietf:params:oauth:request_uri:{}", at_login.challenge);
    assert_eq!(error_at(&l, &auth_with("app", &wrong, "")), "invalid_request_uri");
}

#[test]
fn the_querys_other_parameters_are_ignored() {
    let l = latch(6);
    app_client(&l);
    let (status, body) = push(
        &l,
        Some(("app", "app-secret")),
        &[
            ("response_type", "code"),
            ("scope", "openid"),
            ("redirect_uri", CB),
            ("state", "pushed-state"),
            ("code_challenge", CHALLENGE_OF_VERIFIER.as_str()),
            ("code_challenge_method", "S256"),
        ],
    );
    assert_eq!(status, 201, "{body}");
    let uri = body["request_uri"].as_str().unwrap();
    let b = Browser::default();
    let at_login =
        authorize(&l, &b, &auth_with("app", uri, "&scope=openid+offline+email&state=query-state&prompt=none"));
    assert_eq!(at_login.request["requested_scope"], json!(["openid"]));
    let to = at_login.accept_subject("alice", false).grant_requested();
    assert_eq!(query_of(&to)["state"], "pushed-state");
}

/// Parameters replaced in a push.
type Change<'a> = &'a [(&'a str, &'a str)];

#[test]
fn a_push_is_checked_as_an_authorization_request() {
    let l = latch(7);
    app_client(&l);
    let cases: &[(Change, u16, &str)] = &[
        // RFC 6749 §3.1.2.3: the redirect URI must be registered; a push answers, never redirects.
        (&[("redirect_uri", "https://evil.example/cb")], 400, "invalid_request"),
        (&[("scope", "openid admin")], 400, "invalid_scope"),
        (&[("response_type", "token")], 400, "unsupported_response_type"),
        (&[("code_challenge_method", "plain")], 400, "invalid_request"),
        // §2.1: request_uri cannot be pushed.
        (&[("request_uri", "https://rp.example/r.jwt")], 400, "invalid_request"),
        // §2.1: client_id, if sent, is the authenticated client's.
        (&[("client_id", "other")], 400, "invalid_request"),
    ];
    for (change, status, error) in cases {
        let mut pairs = app_request(&[]);
        for (k, v) in change.iter() {
            pairs.retain(|(n, _)| n != k);
            pairs.push((k, v));
        }
        let (got, body) = push(&l, Some(("app", "app-secret")), &pairs);
        assert_eq!((got, body["error"].as_str().unwrap_or_default()), (*status, *error), "{change:?}: {body}");
    }
    // Authenticated as at the token endpoint.
    let (status, body) = push(&l, Some(("app", "wrong")), &app_request(&[]));
    assert_eq!((status, body["error"].as_str().unwrap()), (401, "invalid_client"));
    let (status, body) = push(&l, None, &app_request(&[("client_id", "app")]));
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (401, "invalid_client"),
        "a confidential client needs its secret"
    );
}

#[test]
fn a_request_too_large_for_a_url_is_refused() {
    let l = latch(11);
    app_client(&l);
    let (fits, too_long) = ("h".repeat(4000), "h".repeat(9000));
    let (status, _) = push(&l, Some(("app", "app-secret")), &app_request(&[("login_hint", fits.as_str())]));
    assert_eq!(status, 201);
    let (status, body) = push(&l, Some(("app", "app-secret")), &app_request(&[("login_hint", too_long.as_str())]));
    assert_eq!((status, body["error"].as_str().unwrap()), (400, "invalid_request"), "{body}");
    assert!(body["error_description"].as_str().unwrap().contains("too large"), "{body}");
}

#[test]
fn a_public_client_pushes_with_its_id() {
    let l = latch(8);
    create_client(
        &l,
        json!({"client_id": "spa", "token_endpoint_auth_method": "none", "grant_types": ["authorization_code"],
               "response_types": ["code"], "scope": "openid", "redirect_uris": [CB]}),
    );
    let mut pairs = app_request(&[("client_id", "spa")]);
    pairs.retain(|(k, _)| *k != "scope");
    pairs.push(("scope", "openid"));
    let (status, body) = push(&l, None, &pairs);
    assert_eq!(status, 201, "{body}");
    let _ = authorize(&l, &Browser::default(), &auth_with("spa", body["request_uri"].as_str().unwrap(), ""));
}

#[test]
fn a_client_that_requires_pushing_refuses_the_rest() {
    let l = latch(9);
    create_client(
        &l,
        json!({"client_id": "app", "client_secret": "app-secret", "grant_types": ["authorization_code"],
               "response_types": ["code"], "scope": "openid offline email", "redirect_uris": [CB],
               "require_pushed_authorization_requests": true}),
    );
    let shown = admin(&l, Method::Get, "/admin/clients/app", None).json_body();
    assert_eq!(shown["require_pushed_authorization_requests"], true);
    // §5: the redirect URI is registered, so the refusal goes back to the client.
    let to = location(&Browser::default().get(&l, &auth_url("")));
    assert!(to.starts_with(CB), "{to}");
    assert_eq!(query_of(&to)["error"], "invalid_request");
    let _ = authorize(&l, &Browser::default(), &auth_with("app", &pushed_uri(&l), ""));
    // A request object by reference is not a pushed request.
    assert_eq!(error_at(&l, &auth_with("app", "https://rp.example/r.jwt", "")), "invalid_request");
}

#[test]
fn the_server_can_require_pushing_of_every_client() {
    let l = latch_with(10, |c| c.par.required = true);
    app_client(&l);
    let discovery = support::handle(&l, Port::Public, Request::new(Method::Get, "/.well-known/openid-configuration"));
    let d = discovery.json_body();
    assert_eq!(d["pushed_authorization_request_endpoint"], format!("{ISSUER}/oauth2/par"));
    assert_eq!(d["require_pushed_authorization_requests"], true);
    assert_eq!(error_at(&l, &auth_url("")), "invalid_request");
    let _ = authorize(&l, &Browser::default(), &auth_with("app", &pushed_uri(&l), ""));
    // Hydra's clients are shown as before: the flag only when set.
    let shown = admin(&l, Method::Get, "/admin/clients/app", None).json_body();
    assert!(shown.get("require_pushed_authorization_requests").is_none(), "{shown}");
}
