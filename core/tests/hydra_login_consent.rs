//! Hydra's login & consent protocol (the admin API's login and consent requests, their
//! challenges and verifiers): a flow is bound to its browser by CSRF cookies, every
//! challenge expires, every verifier works once, a rejection reaches the client, and
//! remembered consents are listed and revoked through the admin API.

mod support;

use futures_executor::block_on;
use latch_core::http::Method;
use latch_core::store::{ConsentStore, LoginSessionStore};
use serde_json::json;
use support::*;

const SESSION: &str = "latch_session";

/// The login verifier works only in the browser that started the flow (its CSRF
/// cookie), and the consent verifier completes the flow once.
#[test]
fn verifiers_are_bound_to_their_browser_and_work_once() {
    let l = latch(99);
    app_client(&l);
    let b = Browser::default();
    let verifier = authorize(&l, &b, &auth_url("")).decide("accept", json!({"subject": "foo@bar.com"}));
    // Another browser (no CSRF cookie) cannot use the verifier.
    let r = location(&Browser::default().get(&l, &verifier));
    assert!(!r.starts_with(CB));
    assert_eq!(query_of(&r)["error"], "access_denied");
    // The right browser proceeds; completing consent twice is refused the second time.
    let consent = at_consent(&l, &b, &location(&b.get(&l, &verifier)));
    let verifier = consent.decide("accept", json!({"grant_scope": ["openid"]}));
    let jar = b.jar.borrow().clone();
    let first = location(&b.get(&l, &verifier));
    assert!(query_of(&first).contains_key("code"));
    *b.jar.borrow_mut() = jar;
    let second = location(&b.get(&l, &verifier));
    assert!(!second.starts_with(CB));
    assert_eq!(query_of(&second)["error"], "invalid_request");
}

/// A rejection by the login UI reaches the client as its error, with the state.
#[test]
fn a_rejected_login_reaches_the_client() {
    let l = latch(99);
    app_client(&l);
    let b = Browser::default();
    let r = authorize(&l, &b, &auth_url("&prompt=consent"))
        .reject(json!({"error": "access_denied", "error_description": "The resource owner denied the request"}));
    assert!(r.starts_with(CB));
    assert_eq!(query_of(&r)["error"], "access_denied");
    assert_eq!(query_of(&r)["state"], "state-12345");
    let r = authorize(&l, &b, &auth_url("")).accept(json!({"subject": "foo@bar.com"})).reject(json!({}));
    assert_eq!(query_of(&r)["error"], "request_denied");
}

/// A challenge expires after `ttl.login_consent_request` (30 minutes by default).
#[test]
fn an_expired_challenge_is_not_found() {
    let l = latch(99);
    app_client(&l);
    let to = location(&Browser::default().get(&l, &auth_url("")));
    let challenge = query_of(&to)["login_challenge"].clone();
    l.platform.advance(1801);
    let r = admin(&l, Method::Get, &format!("/admin/oauth2/auth/requests/login?challenge={challenge}"), None);
    assert_eq!(r.status, 404);
}

/// A challenge of one stage does not open as another: the login challenge is no
/// consent challenge, and no verifier.
#[test]
fn a_challenge_opens_only_at_its_stage() {
    let l = latch(99);
    app_client(&l);
    let b = Browser::default();
    let login = authorize(&l, &b, &auth_url(""));
    let path = format!("/admin/oauth2/auth/requests/consent?consent_challenge={}", login.challenge);
    assert_eq!(admin(&l, Method::Get, &path, None).status, 404);
    let r = location(&b.get(&l, &format!("{ISSUER}/oauth2/auth?login_verifier={}", login.challenge)));
    assert!(!r.starts_with(CB), "{r}");
}

/// Hydra's alias `?challenge=` reads the same login request.
#[test]
fn the_challenge_alias_reads_the_same_request() {
    let l = latch(99);
    app_client(&l);
    let b = Browser::default();
    let login = authorize(&l, &b, &auth_url(""));
    let r = admin(&l, Method::Get, &format!("/admin/oauth2/auth/requests/login?challenge={}", login.challenge), None);
    assert_eq!(r.json_body(), login.request);
}

/// A login verifier yields one remembered session at most: its replay is refused.
#[test]
fn a_login_verifier_yields_one_remembered_session() {
    let l = latch(41);
    app_client(&l);
    let b = Browser::default();
    let verifier = authorize(&l, &b, &auth_url("")).decide("accept", json!({"subject": "foo", "remember": true}));
    let copy = b.clone();
    assert!(location(&b.get(&l, &verifier)).starts_with("https://login.example/consent?"));
    // The replay, with the cookies as they were: refused, and no second session.
    let r = copy.get(&l, &verifier);
    assert!(location(&r).contains("/oauth2/fallbacks/error?error=invalid_request"), "{:?}", r.headers);
    assert!(!copy.jar.borrow().contains_key(SESSION));
    assert_eq!(authorize(&l, &copy, &auth_url("")).request["skip"], false);
    // The first use's session is the only one: revoking the subject's sessions deletes one.
    assert_eq!(block_on(l.store.end_login_sessions_of_subject("foo")).unwrap(), 1);
}

/// Revocation is final: a consent verifier replayed (with the cookies as they were)
/// after its consent was revoked yields no second code, whichever way it was revoked;
/// the revoked consent is no longer listed, remembered or revoked again.
#[test]
fn a_revoked_consent_is_not_given_again_by_its_verifier() {
    for revoke in [
        "/admin/oauth2/auth/sessions/consent?subject=foo@bar.com&client=app",
        "/admin/oauth2/auth/sessions/consent?subject=foo@bar.com&all=true",
        "/admin/oauth2/auth/sessions/consent?consent_request_id=",
    ] {
        let l = latch(77);
        app_client(&l);
        let b = Browser::default();
        let consent = authorize(&l, &b, &auth_url("")).accept(json!({"subject": "foo@bar.com"}));
        let id = consent.request["consent_request_id"].as_str().expect("consent_request_id").to_string();
        let verifier = consent.decide("accept", json!({"grant_scope": ["openid"], "remember": true}));
        let jar = b.jar.borrow().clone();
        assert!(query_of(&location(&b.get(&l, &verifier))).contains_key("code"));
        let path = if revoke.ends_with('=') { format!("{revoke}{id}") } else { revoke.to_string() };
        assert_eq!(admin(&l, Method::Delete, &path, None).status, 204);
        *b.jar.borrow_mut() = jar;
        let replay = location(&b.get(&l, &verifier));
        assert!(!replay.starts_with(CB), "{revoke}: {replay}");
        assert_eq!(query_of(&replay)["error"], "invalid_request", "{revoke}");
        let list = admin(&l, Method::Get, "/admin/oauth2/auth/sessions/consent?subject=foo@bar.com", None);
        assert_eq!(list.json_body(), json!([]), "{revoke}");
        assert!(!block_on(l.store.revoke_consent(&id)).unwrap(), "{revoke}: revoked once only");
    }
}

/// Revocation is final for logins too: a login verifier replayed after its remembered
/// session was ended (logout, or the admin API by subject or sid) remembers nobody.
#[test]
fn an_ended_login_session_is_not_remembered_again_by_its_verifier() {
    for end in ["subject=foo", "sid="] {
        let l = latch(78);
        app_client(&l);
        let b = Browser::default();
        let verifier = authorize(&l, &b, &auth_url("")).decide("accept", json!({"subject": "foo", "remember": true}));
        let copy = b.clone();
        let to_consent = location(&b.get(&l, &verifier));
        assert!(to_consent.starts_with("https://login.example/consent?"));
        let consent = at_consent(&l, &b, &to_consent);
        let sid = consent.request["login_session_id"].as_str().expect("login_session_id").to_string();
        let path = if end == "sid=" { format!("sid={sid}") } else { end.to_string() };
        assert_eq!(admin(&l, Method::Delete, &format!("/admin/oauth2/auth/sessions/login?{path}"), None).status, 204);
        // A janitor pass right after the logout does not forget that the verifier was used.
        let pass = latch_core::janitor::Janitor {
            batch_size: 10,
            limit: 100,
            keep_if_younger: 0,
            login_consent_ttl: l.config.login_consent_ttl,
            kinds: latch_core::janitor::Kinds::ALL,
        };
        block_on(pass.run(&l.store, latch_core::platform::Platform::now(&l.platform))).expect("janitor");
        let r = copy.get(&l, &verifier);
        assert!(location(&r).contains("/oauth2/fallbacks/error?error=invalid_request"), "{end}: {:?}", r.headers);
        assert!(!copy.jar.borrow().contains_key(SESSION), "{end}");
        assert_eq!(authorize(&l, &copy, &auth_url("")).request["skip"], false, "{end}");
    }
}

/// Remembered consents are listed per subject and revoked per client.
#[test]
fn consent_sessions_are_listed_and_revoked() {
    let l = latch(99);
    app_client(&l);
    let b = Browser::default();
    remember_login_and_consent(&l, &b);
    let list = admin(&l, Method::Get, "/admin/oauth2/auth/sessions/consent?subject=foo@bar.com", None).json_body();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["grant_scope"], json!(["openid", "offline", "email"]));
    let revoke = "/admin/oauth2/auth/sessions/consent?subject=foo@bar.com&client=app";
    assert_eq!(admin(&l, Method::Delete, revoke, None).status, 204);
    let list = admin(&l, Method::Get, "/admin/oauth2/auth/sessions/consent?subject=foo@bar.com", None);
    assert_eq!(list.json_body(), json!([]));
    assert_eq!(authorize(&l, &b, &auth_url("")).accept(json!({"subject": "foo@bar.com"})).request["skip"], false);
}

/// Consent sessions page as Hydra v2's lists do: `page_size`, `page_token` and a `Link`
/// header whose `next` link reaches every consent once.
#[test]
fn consent_sessions_are_paginated() {
    let l = latch(98);
    for id in ["c1", "c2", "c3"] {
        create_client(
            &l,
            json!({"client_id": id, "client_secret": "secret", "grant_types": ["authorization_code"], "scope": "openid", "redirect_uris": [CB]}),
        );
    }
    let b = Browser::default();
    for id in ["c1", "c2", "c3"] {
        sign_in(&l, &b, id, "pat");
    }
    let mut path = "/admin/oauth2/auth/sessions/consent?subject=pat&page_size=2".to_string();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let r = admin(&l, Method::Get, &path, None);
        assert_eq!(r.status, 200, "{:?}", r.json_body());
        for c in r.json_body().as_array().unwrap() {
            seen.push(c["consent_request"]["client"]["client_id"].as_str().unwrap().to_string());
        }
        let link = r.headers.iter().find(|(n, _)| n == "link").map(|(_, v)| v.clone()).unwrap_or_default();
        assert!(link.contains("rel=\"first\""), "{link}");
        match link.split(',').find(|l| l.contains("rel=\"next\"")) {
            Some(next) => path = next.split(';').next().unwrap().trim().trim_matches(['<', '>']).to_string(),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, ["c1", "c2", "c3"]);
    let big = admin(&l, Method::Get, "/admin/oauth2/auth/sessions/consent?subject=pat&page_size=1000", None);
    assert_eq!(big.json_body().as_array().unwrap().len(), 3);
    assert_eq!(
        admin(&l, Method::Get, "/admin/oauth2/auth/sessions/consent?subject=pat&page_token=%%", None).status,
        400
    );
}

/// The login and consent UI's bodies read `null` as absent, as Hydra does: Ory's apps
/// send `"amr": null`, `"remember_for": null`, `"session": {"access_token": null}`.
#[test]
fn null_members_read_as_absent() {
    let l = latch(99);
    app_client(&l);
    let b = Browser::default();
    let login = json!({"subject": "foo@bar.com", "remember": null, "remember_for": null, "acr": null,
                       "amr": null, "context": null});
    let consent = authorize(&l, &b, &auth_url("")).accept(login);
    assert_eq!(consent.request["amr"], json!([]));
    let back = consent.accept(json!({"grant_scope": ["openid"], "grant_access_token_audience": null, "remember": null,
                                     "remember_for": null, "session": {"access_token": null, "id_token": null}}));
    let code = query_of(&back)["code"].clone();
    assert_eq!(redeem(&l, &code).status, 200);
    let r = authorize(&l, &b, &auth_url("")).reject(json!({"error": null, "status_code": null}));
    assert_eq!(query_of(&r)["error"], "request_denied");
}

/// Hydra's `extend_session_lifespan`: a skipped login that asks for it makes the
/// remembered session last `remember_for` from now again (its stored expiry and its
/// cookie); without it the session keeps its expiry; a session ended meanwhile is not
/// revived (the login is refused with `login_required`).
#[test]
fn a_skipped_login_may_extend_the_remembered_session() {
    let l = latch(101);
    app_client(&l);
    let b = Browser::default();
    remember_login_and_consent(&l, &b);
    let expiry = |sid: &str| block_on(l.store.get_login_session(sid)).expect("read").map(|s| s.expires_at);
    let session_cookie = |r: &latch_core::http::Response| {
        r.headers
            .iter()
            .find(|(n, v)| n == "set-cookie" && v.starts_with(&format!("{SESSION}=")))
            .map(|(_, v)| v.clone())
    };

    l.platform.advance(1000);
    let login = authorize(&l, &b, &auth_url(""));
    assert_eq!(login.request["skip"], true);
    let sid = login.request["session_id"].as_str().expect("the session").to_string();
    let first = expiry(&sid).expect("remembered");
    let r = login.accept_then(json!({"subject": "foo@bar.com"}));
    assert_eq!(expiry(&sid), Some(first), "not asked: unchanged");
    assert!(session_cookie(&r).is_none(), "and no new cookie");

    let login = authorize(&l, &b, &auth_url(""));
    let r = login.accept_then(json!({"subject": "foo@bar.com", "extend_session_lifespan": true, "remember_for": 7200}));
    assert_eq!(expiry(&sid), Some(NOW + 1000 + 7200), "extended from now");
    let cookie = session_cookie(&r).expect("the cookie is set again");
    assert!(cookie.contains("Max-Age=7200"), "{cookie}");

    // Ended between the login challenge and the accept: not revived.
    let login = authorize(&l, &b, &auth_url(""));
    assert!(block_on(l.store.end_login_session(&sid)).expect("end"));
    let ended = expiry(&sid).expect("an ended session's row stays until the janitor");
    assert!(ended <= NOW + 1000, "ended: expired");
    let to = location(&login.accept_then(json!({"subject": "foo@bar.com", "extend_session_lifespan": true})));
    assert!(to.starts_with(CB), "{to}");
    assert_eq!(query_of(&to)["error"], "login_required");
    assert_eq!(expiry(&sid), Some(ended), "still ended");
}
