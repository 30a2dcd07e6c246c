//! OpenID Connect RP-Initiated Logout 1.0, Front-Channel Logout 1.0 and Back-Channel
//! Logout 1.0, with Latch's login session cookie: the cookie is no public value (`sid`),
//! and a logout ends only the session of the browser it comes from.

mod support;

use latch_core::http::Method;
use serde_json::json;
use support::*;

const SESSION: &str = "latch_session";

fn relying_parties(l: &L) {
    for id in ["rp-a", "rp-b"] {
        create_client(
            l,
            json!({
                "client_id": id, "client_secret": "secret", "grant_types": ["authorization_code"],
                "scope": "openid", "redirect_uris": [CB], "post_logout_redirect_uris": ["https://app.example/bye"],
                "backchannel_logout_uri": format!("https://app.example/{id}/backchannel"),
                "frontchannel_logout_uri": format!("https://app.example/{id}/front")
            }),
        );
    }
}

/// The login request a fresh authorization request of `client` in `b` shows.
fn login_request(l: &L, b: &Browser, client: &str) -> serde_json::Value {
    let url = format!(
        "{ISSUER}/oauth2/auth?client_id={client}&response_type=code&scope=openid&redirect_uri={}&state=state-12345",
        form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    );
    authorize(l, b, &url).request
}

fn logout_url(idt: &str) -> String {
    format!("{ISSUER}/oauth2/sessions/logout?id_token_hint={idt}&post_logout_redirect_uri=https://app.example/bye&state=st4te-xyz")
}

/// Logs out with `idt` as hint, the logout app accepting; returns the verifier URL, if
/// the logout got as far as the logout UI.
fn logout(l: &L, b: &Browser, idt: &str) -> Option<String> {
    let to = location(&b.get(l, &logout_url(idt)));
    let Some(challenge) = query_of(&to).get("logout_challenge").cloned() else {
        assert_eq!(to, "https://app.example/bye?state=st4te-xyz");
        return None;
    };
    let path = format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}");
    let v = redirect_to(admin(l, Method::Put, &path, None));
    let done = b.get(l, &v);
    assert!(matches!(done.status, 200 | 302));
    Some(v)
}

/// The whole logout: the request is checked, the logout UI reads it, the front-channel
/// page loads every RP's logout URI, the back-channel token goes out signed, and the
/// remembered login is gone.
#[test]
fn rp_initiated_logout_with_front_and_back_channel() {
    let l = latch(99);
    relying_parties(&l);
    let b = Browser::default();
    let idt = sign_in(&l, &b, "rp-a", "foo@bar.com");
    // A post_logout_redirect_uri that is not registered is refused.
    let bad = b.get(
        &l,
        &format!("{ISSUER}/oauth2/sessions/logout?id_token_hint={idt}&post_logout_redirect_uri=https://evil.example/"),
    );
    assert!(location(&bad).contains("/oauth2/fallbacks/error"));
    // Without a hint, state and post_logout_redirect_uri are refused.
    let bad = b.get(&l, &format!("{ISSUER}/oauth2/sessions/logout?state=abcdefgh"));
    assert!(location(&bad).contains("error=invalid_request"));

    let to_ui = location(&b.get(&l, &logout_url(&idt)));
    assert!(to_ui.starts_with("https://login.example/logout?logout_challenge="), "{to_ui}");
    let challenge = query_of(&to_ui)["logout_challenge"].clone();
    let lr = admin(&l, Method::Get, &format!("/admin/oauth2/auth/requests/logout?logout_challenge={challenge}"), None)
        .json_body();
    assert_eq!(lr["subject"], "foo@bar.com");
    assert_eq!(lr["rp_initiated"], true);
    assert_eq!(lr["client"]["client_id"], "rp-a");
    let sid = lr["sid"].as_str().unwrap().to_string();
    let path = format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}");
    let page = b.get(&l, &redirect_to(admin(&l, Method::Put, &path, None)));
    assert_eq!(page.status, 200, "front-channel page");
    let html = String::from_utf8(page.body.clone()).unwrap();
    assert!(html.contains("https://app.example/rp-a/front?iss=https%3A%2F%2Fauth.example&amp;sid="), "{html}");
    assert!(html.contains("https://app.example/bye?state=st4te-xyz"));
    // The back-channel logout token went out, signed, with the right claims.
    let sent = sent_logouts();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].url, "https://app.example/rp-a/backchannel");
    let c = claims(&l, &sent[0].logout_token);
    assert_eq!(c["sid"], sid);
    assert_eq!(c["aud"], json!(["rp-a"]));
    assert!(c["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(c.get("nonce").is_none());
    // The remembered login is gone: prompt=none is login_required again.
    let url = format!(
        "{ISSUER}/oauth2/auth?client_id=rp-a&response_type=code&scope=openid&redirect_uri={}&state=state-12345&prompt=none",
        form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    );
    assert_eq!(query_of(&location(&b.get(&l, &url)))["error"], "login_required");
}

/// The `sid` every relying party reads in its ID token names no session as a cookie.
#[test]
fn the_sid_of_an_id_token_is_no_session_cookie() {
    let l = latch(41);
    relying_parties(&l);
    let victim = Browser::default();
    let idt = sign_in(&l, &victim, "rp-a", "victim");
    let sid = claims(&l, &idt)["sid"].as_str().unwrap().to_string();
    let cookie = victim.jar.borrow()[SESSION].clone();
    assert!(!cookie.contains(&sid), "the session cookie carries the sid");
    assert_eq!(login_request(&l, &victim, "rp-b")["skip"], true);
    // rp-a sends the sid as the cookie, for rp-b: no session.
    let lr = login_request(&l, &Browser::with(&[(SESSION, &sid)]), "rp-b");
    assert_eq!((lr["skip"].clone(), lr["subject"].clone()), (json!(false), json!("")), "{lr}");
    // Nor does a value sealed for another purpose.
    let to = location(&Browser::default().get(&l, &auth_url_of("rp-b", "openid", "")));
    let challenge = query_of(&to)["login_challenge"].clone();
    assert_eq!(login_request(&l, &Browser::with(&[(SESSION, &challenge)]), "rp-b")["skip"], false);
}

/// A logout ends only the session of the browser it comes from, and tells the relying
/// parties once.
#[test]
fn a_logout_ends_only_the_browsers_own_session() {
    let l = latch(41);
    relying_parties(&l);
    let victim = Browser::default();
    let idt = sign_in(&l, &victim, "rp-a", "victim");
    // A fresh browser with the victim's ID token: nothing ends, nobody is told.
    logout(&l, &Browser::default(), &idt);
    assert_eq!(login_request(&l, &victim, "rp-b")["skip"], true, "a fresh browser logged the victim out");
    assert!(sent_logouts().is_empty());
    // A browser holding another user's session: declined at once, both sessions live.
    let mallory = Browser::default();
    sign_in(&l, &mallory, "rp-b", "mallory");
    assert_eq!(logout(&l, &mallory, &idt), None);
    assert_eq!(login_request(&l, &victim, "rp-b")["skip"], true);
    assert_eq!(login_request(&l, &mallory, "rp-b")["subject"], "mallory");
    assert!(sent_logouts().is_empty());
    // The victim's own browser: the session ends, rp-a is told once.
    let before = victim.clone();
    let verifier = logout(&l, &victim, &idt).expect("through the logout UI");
    assert_eq!(login_request(&l, &victim, "rp-b")["skip"], false);
    assert_eq!(sent_logouts().len(), 1);
    // A replay of the verifier (cookies as they were) tells nobody again.
    before.get(&l, &verifier);
    assert_eq!(sent_logouts().len(), 1);
}

/// With `urls.identity_provider.url` (Ory Kratos' admin API), a login accepted with
/// `identity_provider_session_id` is remembered with it, and ending that login session
/// (the logout, or the admin API by `sid`) also disables the identity provider's session
/// once, with the configured headers; a login without one, or without the setting,
/// calls nobody.
#[test]
fn a_logout_ends_the_identity_providers_session() {
    let kratos = |c: &mut latch_core::config::Config| {
        let vars = [
            ("URLS_IDENTITY_PROVIDER_URL", "http://kratos.internal:4434/"),
            ("URLS_IDENTITY_PROVIDER_HEADERS", r#"{"Authorization": "Bearer kratos-key"}"#),
        ];
        c.apply_settings(&|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).expect("settings");
    };
    for by_admin in [false, true] {
        let l = latch_with(77, kratos);
        relying_parties(&l);
        let b = Browser::default();
        let login = authorize(&l, &b, &auth_url_of("rp-a", "openid", ""));
        let consent = login.accept(json!({
            "subject": "foo@bar.com", "remember": true, "identity_provider_session_id": "kratos/../42"
        }));
        let sid = consent.request["login_session_id"].as_str().expect("sid").to_string();
        assert!(query_of(&consent.grant_requested()).contains_key("code"));
        let before = sent_calls().len();
        if by_admin {
            let r = admin(&l, Method::Delete, &format!("/admin/oauth2/auth/sessions/login?sid={sid}"), None);
            assert_eq!(r.status, 204);
            assert!(r.effects.iter().any(|e| matches!(e, latch_core::http::Effect::Call { .. })));
        } else {
            let to_ui = location(&b.get(&l, &format!("{ISSUER}/oauth2/sessions/logout")));
            let challenge = query_of(&to_ui)["logout_challenge"].clone();
            let path = format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}");
            b.get(&l, &redirect_to(admin(&l, Method::Put, &path, None)));
        }
        let calls = sent_calls()[before..].to_vec();
        assert_eq!(calls.len(), 1, "{calls:?}");
        let (what, method, url, headers) = &calls[0];
        assert_eq!((*what, *method), ("identity provider session end", "DELETE"));
        assert_eq!(url, "http://kratos.internal:4434/admin/sessions/kratos%2F..%2F42", "one path segment");
        assert_eq!(headers, &[("Authorization".to_string(), "Bearer kratos-key".to_string())]);
        // Ending it again calls nobody.
        let r = admin(&l, Method::Delete, &format!("/admin/oauth2/auth/sessions/login?sid={sid}"), None);
        assert_eq!((r.status, sent_calls().len()), (204, before + 1));
    }
    // A login without an identity provider session, and a server without the setting.
    for (configured, body) in [
        (true, json!({"subject": "foo@bar.com", "remember": true})),
        (false, json!({"subject": "foo@bar.com", "remember": true, "identity_provider_session_id": "k-1"})),
    ] {
        let l = if configured { latch_with(78, kratos) } else { latch(78) };
        relying_parties(&l);
        let b = Browser::default();
        let consent = authorize(&l, &b, &auth_url_of("rp-a", "openid", "")).accept(body);
        let sid = consent.request["login_session_id"].as_str().expect("sid").to_string();
        consent.grant_requested();
        let before = sent_calls().len();
        let r = admin(&l, Method::Delete, &format!("/admin/oauth2/auth/sessions/login?sid={sid}"), None);
        assert_eq!((r.status, sent_calls().len()), (204, before), "configured: {configured}");
    }
    // The login UI's id is bounded.
    let l = latch_with(79, kratos);
    relying_parties(&l);
    let b = Browser::default();
    let login = authorize(&l, &b, &auth_url_of("rp-a", "openid", ""));
    let path = format!("/admin/oauth2/auth/requests/login/accept?login_challenge={}", login.challenge);
    for bad in ["k".repeat(256), "..".into(), "a\nb".into()] {
        let r = admin(&l, Method::Put, &path, Some(json!({"subject": "foo", "identity_provider_session_id": bad})));
        assert_eq!(r.status, 400, "{bad:?}");
    }
}
