//! RFC 7636 (PKCE): the challenge at the authorization endpoint (§4.3, S256 only) and
//! the verifier at the token endpoint (§4.5, §4.6).

mod support;

use serde_json::json;
use support::*;

fn code_of(l: &L, url: &str) -> String {
    let back = authorize(l, &Browser::default(), url).accept(json!({"subject": "foo@bar.com"})).grant_requested();
    query_of(&back)["code"].clone()
}

fn exchange(l: &L, code: &str, verifier: Option<&str>) -> serde_json::Value {
    let mut pairs = vec![("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CB)];
    pairs.extend(verifier.map(|v| ("code_verifier", v)));
    form(l, "/oauth2/token", Some(("app", "app-secret")), &pairs).json_body()
}

/// §4.6: the verifier must hash to the challenge, and must be sent when there was one.
#[test]
fn the_verifier_must_match_the_challenge() {
    let l = latch(99);
    app_client(&l);
    let code = code_of(&l, &auth_url(""));
    let r = exchange(&l, &code, Some(&"x".repeat(43)));
    assert_eq!(r["error"], "invalid_grant");
    assert!(r["error_description"].as_str().unwrap().contains("PKCE"), "{r}");
    assert_eq!(exchange(&l, &code, None)["error"], "invalid_grant");
    assert_eq!(exchange(&l, &code, Some(VERIFIER))["token_type"], "bearer");
}

/// A verifier without a challenge is refused: the client believes the code is bound
/// when it is not.
#[test]
fn a_verifier_without_a_challenge_is_refused() {
    let l = latch(99);
    app_client(&l);
    let url = auth_url("")
        .replace(&format!("&code_challenge={}&code_challenge_method=S256", latch_core::pkce::s256(VERIFIER)), "");
    let code = code_of(&l, &url);
    assert_eq!(exchange(&l, &code, Some(VERIFIER))["error"], "invalid_grant");
}

/// §4.3 and `oauth2.pkce.enforced`: which challenges the authorization endpoint takes.
#[test]
fn the_authorization_endpoint_takes_s256_challenges_only() {
    let cb = form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>();
    let base = format!(
        "{ISSUER}/oauth2/auth?client_id=app&response_type=code&scope=openid&redirect_uri={cb}&state=state-12345"
    );
    let good = latch_core::pkce::s256(VERIFIER);
    // (query suffix, PKCE enforced, accepted)
    let cases = [
        (format!("&code_challenge={good}&code_challenge_method=S256"), false, true),
        (format!("&code_challenge={}&code_challenge_method=plain", "a".repeat(43)), false, false),
        (format!("&code_challenge={}", "a".repeat(43)), false, false),
        ("&code_challenge=short&code_challenge_method=S256".to_string(), false, false),
        ("&code_challenge_method=S256".to_string(), false, false),
        (String::new(), false, true),
        (String::new(), true, false),
        (format!("&code_challenge={good}&code_challenge_method=S256"), true, true),
    ];
    for (suffix, enforced, accepted) in cases {
        let l = latch_with(99, |c| c.pkce_enforced = enforced);
        app_client(&l);
        let to = location(&Browser::default().get(&l, &format!("{base}{suffix}")));
        let q = query_of(&to);
        assert_eq!(q.contains_key("login_challenge"), accepted, "{suffix} (enforced: {enforced}) -> {to}");
        if !accepted {
            assert!(to.starts_with(CB), "{to}");
            assert_eq!(q["error"], "invalid_request", "{suffix} -> {to}");
        }
    }
}
