//! The authorization request (RFC 6749 §3.1, §4.1.1, §4.1.2.1; OIDC Core §3.1.2.1,
//! §3.1.2.6): which requests are refused, with which error, and where the error goes.
//! One row per check of `latch_core::authorize::checks::CHECKS`, plus the ones before
//! the redirect URI is trusted, and rows that are wrong twice to pin the table's order.

mod support;

use serde_json::json;
use support::*;

fn cb() -> String {
    form_urlencoded::byte_serialize(CB.as_bytes()).collect()
}

/// Before the redirect URI is trusted, errors go to the error page, never to the URI
/// given (§4.1.2.1); after it, to the client's redirect URI with its `state`.
#[test]
fn every_bad_request_gets_its_error_in_the_right_place() {
    let l = latch(99);
    app_client(&l);
    create_client(
        &l,
        json!({"client_id": "two", "client_secret": "two-secret", "grant_types": ["authorization_code"],
               "redirect_uris": [CB, "https://app.example/other"], "scope": "openid"}),
    );
    let cb = cb();
    let ok = format!("client_id=app&redirect_uri={cb}&state=state-12345");
    // (query, goes to the client?, error)
    let cases: Vec<(String, bool, &str)> = vec![
        ("response_type=code".into(), false, "invalid_request"),
        ("client_id=nobody&response_type=code".into(), false, "invalid_client"),
        (
            "client_id=app&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb".into(),
            false,
            "invalid_request",
        ),
        ("client_id=two&response_type=code".into(), false, "invalid_request"),
        (format!("{ok}&response_type=code&request=eyJ"), true, "invalid_request_object"),
        (format!("{ok}&response_type=code&request_uri=https%3A%2F%2Fapp.example%2Fr"), true, "invalid_request_uri"),
        (ok.clone(), true, "invalid_request"),
        (format!("{ok}&response_type=magic"), true, "unsupported_response_type"),
        (format!("{ok}&response_type=token"), true, "unsupported_response_type"),
        (format!("{ok}&response_type=code&response_mode=magic"), true, "invalid_request"),
        (
            format!("{ok}&response_type=id_token&scope=openid&nonce=nonce-12345&response_mode=query"),
            true,
            "invalid_request",
        ),
        (format!("{ok}&response_type=id_token&scope=openid"), true, "unauthorized_client"),
        (format!("{ok}&response_type=code&scope=admin"), true, "invalid_scope"),
        (format!("{ok}&response_type=code&audience=https%3A%2F%2Fapi.example"), true, "invalid_request"),
        (format!("client_id=app&redirect_uri={cb}&response_type=code&state=short"), true, "invalid_request"),
        (format!("{ok}&response_type=code&nonce=short"), true, "invalid_request"),
        (format!("{ok}&response_type=code&prompt=none+login"), true, "invalid_request"),
        (format!("{ok}&response_type=code&prompt=sometimes"), true, "invalid_request"),
        (format!("{ok}&response_type=code&max_age=-1"), true, "invalid_request"),
        (format!("{ok}&response_type=code&id_token_hint=eyJhbGciOiJub25lIn0.e30."), true, "invalid_request"),
        // Wrong twice: the earlier check of the table answers.
        // (A request object is read before any check of the table.)
        (format!("{ok}&response_type=magic&request=eyJ"), true, "invalid_request_object"),
        (format!("{ok}&response_type=code&scope=admin&prompt=sometimes"), true, "invalid_scope"),
    ];
    for (q, to_client, error) in cases {
        let r = location(&Browser::default().get(&l, &format!("{ISSUER}/oauth2/auth?{q}")));
        assert_eq!(r.starts_with(CB), to_client, "{q} -> {r}");
        let answer = query_of(&r);
        assert_eq!(answer["error"], error, "{q} -> {r}");
        if to_client && q.contains("state=state-12345") {
            assert_eq!(answer["state"], "state-12345", "{q} -> {r}");
        }
    }
}

/// The checks are named, each citing its section, and run in one order.
#[test]
fn the_checks_are_one_ordered_table() {
    let names: Vec<&str> = latch_core::authorize::checks::CHECKS.iter().map(|(name, _)| *name).collect();
    assert!(names.len() >= 10, "{names:?}");
    assert!(names.iter().all(|n| n.contains('§') || n.contains("Hydra") || n.contains("entropy")), "{names:?}");
    let at = |needle: &str| names.iter().position(|n| n.starts_with(needle)).unwrap_or_else(|| panic!("{needle}"));
    assert!(at("response_type") < at("response_mode"));
    assert!(at("response_mode") < at("scope"));
    assert!(at("scope") < at("PKCE"));
}

/// OIDC Core §3.1.2.1: `prompt=none` without a session answers `login_required` at once.
#[test]
fn prompt_none_without_a_session_is_login_required() {
    let l = latch(99);
    app_client(&l);
    let r = location(&Browser::default().get(&l, &auth_url("&prompt=none")));
    let q = query_of(&r);
    assert!(r.starts_with(CB));
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], "state-12345");
}

/// A remembered login lets the login UI skip, and a remembered consent the consent UI;
/// `prompt=login` forces the login UI, `prompt=none` goes through with both remembered.
#[test]
fn remembered_login_and_consent_skip() {
    let l = latch(99);
    app_client(&l);
    let b = Browser::default();
    remember_login_and_consent(&l, &b);
    let again = authorize(&l, &b, &auth_url(""));
    assert_eq!(again.request["skip"], true);
    assert_eq!(again.request["subject"], "foo@bar.com");
    // Hydra: on a skipped login the subject must be the remembered one.
    let path = format!("/admin/oauth2/auth/requests/login/accept?login_challenge={}", again.challenge);
    assert_eq!(admin(&l, latch_core::http::Method::Put, &path, Some(json!({"subject": "eve"}))).status, 400);
    let consent = again.accept(json!({"subject": "foo@bar.com"}));
    assert_eq!(consent.request["skip"], true);
    assert_eq!(authorize(&l, &b, &auth_url("&prompt=none")).request["skip"], true);
    assert_eq!(authorize(&l, &b, &auth_url("&prompt=login")).request["skip"], false);
}
