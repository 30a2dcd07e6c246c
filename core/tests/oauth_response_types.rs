//! OAuth 2.0 Multiple Response Type Encoding Practices and Form Post Response Mode, with
//! OIDC Core §3.2 (implicit) and §3.3 (hybrid): where the answer goes, and what binds
//! the front channel's ID token to what it came with.

mod support;

use serde_json::json;
use support::*;

fn spa(l: &L) {
    create_client(
        l,
        json!({
            "client_id": "spa", "client_secret": "spa-secret", "grant_types": ["authorization_code", "implicit"],
            "response_types": ["code id_token", "id_token", "token id_token"], "scope": "openid", "redirect_uris": [CB],
            "implicit_grant_access_token_lifespan": "7m", "authorization_code_grant_access_token_lifespan": "9m"
        }),
    );
}

fn url(response_type: &str, extra: &str) -> String {
    let cb = form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>();
    format!("{ISSUER}/oauth2/auth?client_id=spa&response_type={response_type}&scope=openid&redirect_uri={cb}&state=state-12345&nonce=nonce-12345{extra}")
}

/// Hybrid `code id_token`: the fragment by default; `c_hash` binds the ID token to the code.
#[test]
fn hybrid_answers_in_the_fragment_with_c_hash() {
    let l = latch(99);
    spa(&l);
    let back = authorize(&l, &Browser::default(), &url("code+id_token", ""))
        .accept(json!({"subject": "alice"}))
        .grant_requested();
    assert!(back.starts_with(&format!("{CB}#")), "{back}");
    let p = query_of(&back);
    let c = claims(&l, &p["id_token"]);
    assert_eq!(c["c_hash"], latch_core::oidc::half_hash(latch_core::keys::Alg::Es256, &p["code"]));
    assert_eq!(c["nonce"], "nonce-12345");
}

/// Implicit `token id_token` with `form_post`: an auto-submitting form carries both, and
/// the access token lives as the implicit grant's lifespan says.
#[test]
fn implicit_with_form_post_is_an_auto_submitting_form() {
    let l = latch(99);
    spa(&l);
    let b = Browser::default();
    let consent =
        authorize(&l, &b, &url("token+id_token", "&response_mode=form_post")).accept(json!({"subject": "alice"}));
    let page = b.get(&l, &consent.decide("accept", json!({"grant_scope": ["openid"]})));
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains(&format!("action=\"{CB}\"")), "{html}");
    for field in ["access_token", "id_token", "token_type", "state"] {
        assert!(html.contains(&format!("name=\"{field}\"")), "{field} missing: {html}");
    }
    assert!(html.contains("name=\"expires_in\" value=\"420\""), "implicit lifespan: {html}");
}

/// §5: the query cannot carry tokens.
#[test]
fn the_query_response_mode_cannot_carry_tokens() {
    let l = latch(99);
    spa(&l);
    let bad = location(&Browser::default().get(&l, &url("id_token", "&response_mode=query")));
    assert_eq!(query_of(&bad)["error"], "invalid_request");
}
