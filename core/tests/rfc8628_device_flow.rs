//! RFC 8628, the device authorization grant, as Hydra v25.4 ships it: the device asks
//! (`/oauth2/device/auth`), the user's browser goes through `/oauth2/device/verify`, the
//! device UI (admin accept of the user code), login and consent, and the device polls
//! the token endpoint: `authorization_pending`, `slow_down`, then tokens once;
//! `access_denied`, `expired_token`; and a revoked consent yields nothing.

mod support;

use futures_executor::block_on;
use latch_core::config::Config;
use latch_core::http::{Method, Response};
use serde_json::{json, Value};
use support::*;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A public client (a TV app) that may use the device grant and refresh.
fn tv_client(l: &L) {
    create_client(
        l,
        json!({
            "client_id": "tv", "token_endpoint_auth_method": "none",
            "grant_types": [DEVICE_GRANT, "refresh_token"], "scope": "openid offline email",
        }),
    );
}

fn device_auth(l: &L, client: &str, scope: &str) -> Response {
    form(l, "/oauth2/device/auth", None, &[("client_id", client), ("scope", scope)])
}

fn poll(l: &L, client: &str, device_code: &str) -> Response {
    form(l, "/oauth2/token", None, &[("grant_type", DEVICE_GRANT), ("device_code", device_code), ("client_id", client)])
}

fn error_of(r: &Response) -> String {
    r.json_body()["error"].as_str().unwrap_or("").to_string()
}

/// The browser opens `verification_uri_complete`, the device UI accepts the user code,
/// and the browser arrives at the login UI.
fn verify_in_browser<'a>(l: &'a L, b: &'a Browser, auth: &Value) -> AtLogin<'a> {
    let to = location(&b.get(l, auth["verification_uri_complete"].as_str().expect("verification_uri_complete")));
    let q = query_of(&to);
    assert!(to.starts_with(&format!("{ISSUER}/oauth2/fallbacks/device?")), "{to}");
    assert_eq!(q["user_code"], auth["user_code"].as_str().unwrap(), "the user code is handed to the device UI");
    let accept = format!("/admin/oauth2/auth/requests/device/accept?device_challenge={}", q["device_challenge"]);
    let next = redirect_to(admin(l, Method::Put, &accept, Some(json!({"user_code": auth["user_code"]}))));
    assert!(next.starts_with(&format!("{ISSUER}/oauth2/device/verify?")), "{next}");
    assert_eq!(query_of(&next)["client_id"], "tv");
    authorize(l, b, &next)
}

/// The whole flow; the tokens are issued once, and a second exchange revokes them.
#[test]
fn a_device_is_authorized_through_the_browser_and_gets_tokens_once() {
    let l = latch(8628);
    tv_client(&l);
    let r = device_auth(&l, "tv", "openid offline");
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    assert!(r.headers.iter().any(|(n, v)| n == "cache-control" && v == "no-store"));
    let auth = r.json_body();
    assert_eq!(auth["verification_uri"], format!("{ISSUER}/oauth2/device/verify"));
    assert_eq!((auth["expires_in"].as_i64(), auth["interval"].as_i64()), (Some(600), Some(5)));
    let user_code = auth["user_code"].as_str().unwrap();
    assert_eq!(user_code.len(), 8, "Hydra's 'high' preset");
    let device_code = auth["device_code"].as_str().unwrap().to_string();

    // §3.5: pending; polling faster than the interval is slow_down.
    assert_eq!(error_of(&poll(&l, "tv", &device_code)), "authorization_pending");
    assert_eq!(error_of(&poll(&l, "tv", &device_code)), "slow_down");
    l.platform.advance(5);
    assert_eq!(error_of(&poll(&l, "tv", &device_code)), "authorization_pending");

    let b = Browser::default();
    let login = verify_in_browser(&l, &b, &auth);
    assert_eq!(login.request["requested_scope"], json!(["openid", "offline"]));
    assert_eq!(login.request["client"]["client_id"], "tv");
    let consent = login.accept(json!({"subject": "foo@bar.com"}));
    let done = consent.grant_requested();
    assert_eq!(done, format!("{ISSUER}/oauth2/fallbacks/device/done?client_id=tv"));
    assert_eq!(b.get(&l, &done).status, 200, "the fallback success page");

    l.platform.advance(5);
    let r = poll(&l, "tv", &device_code);
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    let tokens = r.json_body();
    assert_eq!(tokens["scope"], "openid offline");
    assert!(tokens["refresh_token"].is_string(), "offline granted and the client may refresh");
    let idt = claims(&l, tokens["id_token"].as_str().expect("openid granted: an ID token"));
    assert_eq!((idt["sub"].as_str(), idt["aud"][0].as_str()), (Some("foo@bar.com"), Some("tv")));
    let at = tokens["access_token"].as_str().unwrap();
    assert_eq!(introspect(&l, at)["active"], true);
    assert_eq!(introspect(&l, at)["sub"], "foo@bar.com");

    // The refresh token works like any other.
    let rt = tokens["refresh_token"].as_str().unwrap();
    let r =
        form(&l, "/oauth2/token", None, &[("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", "tv")]);
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    let refreshed = r.json_body()["access_token"].as_str().unwrap().to_string();

    // A second exchange is refused and revokes what the first got (RFC 6749 §4.1.2's rule
    // for codes).
    l.platform.advance(5);
    assert_eq!(error_of(&poll(&l, "tv", &device_code)), "invalid_grant");
    assert_eq!(introspect(&l, &refreshed)["active"], false);

    // The user code is used up.
    let to = location(&b.get(&l, auth["verification_uri_complete"].as_str().unwrap()));
    let accept =
        format!("/admin/oauth2/auth/requests/device/accept?device_challenge={}", query_of(&to)["device_challenge"]);
    let r = admin(&l, Method::Put, &accept, Some(json!({"user_code": user_code})));
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_request"));
}

/// Revocation is final: a consent revoked after the user approved, before the device
/// polled, yields no token.
#[test]
fn a_consent_revoked_before_the_poll_yields_nothing() {
    let l = latch(8629);
    tv_client(&l);
    let auth = device_auth(&l, "tv", "openid").json_body();
    let b = Browser::default();
    verify_in_browser(&l, &b, &auth).accept(json!({"subject": "foo@bar.com"})).grant_requested();
    let r = admin(&l, Method::Delete, "/admin/oauth2/auth/sessions/consent?subject=foo@bar.com&client=tv", None);
    assert_eq!(r.status, 204);
    let r = poll(&l, "tv", auth["device_code"].as_str().unwrap());
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_grant"), "{:?}", r.json_body());
}

/// A rejection by the login or the consent UI reaches the device as `access_denied`.
#[test]
fn a_rejection_is_access_denied() {
    for at_consent in [false, true] {
        let l = latch(8630);
        tv_client(&l);
        let auth = device_auth(&l, "tv", "openid").json_body();
        let b = Browser::default();
        let login = verify_in_browser(&l, &b, &auth);
        let page = if at_consent {
            login.accept(json!({"subject": "foo@bar.com"})).reject(json!({"error_description": "No, thanks"}))
        } else {
            login.reject(json!({"error": "access_denied"}))
        };
        // No redirect URI: the browser sees the error page.
        assert!(page.starts_with(&format!("{ISSUER}/oauth2/fallbacks/error?")), "{page}");
        let r = poll(&l, "tv", auth["device_code"].as_str().unwrap());
        assert_eq!((r.status, error_of(&r).as_str()), (403, "access_denied"), "{:?}", r.json_body());
    }
}

/// The codes expire after `ttl.device_user_code`.
#[test]
fn expired_codes_are_expired_token_and_unknown_to_the_device_ui() {
    let l = latch(8631);
    tv_client(&l);
    let auth = device_auth(&l, "tv", "openid").json_body();
    let b = Browser::default();
    let to = location(&b.get(&l, auth["verification_uri"].as_str().unwrap()));
    assert!(!query_of(&to).contains_key("user_code"), "no user code was given");
    l.platform.advance(601);
    assert_eq!(error_of(&poll(&l, "tv", auth["device_code"].as_str().unwrap())), "expired_token");
    let accept =
        format!("/admin/oauth2/auth/requests/device/accept?device_challenge={}", query_of(&to)["device_challenge"]);
    let r = admin(&l, Method::Put, &accept, Some(json!({"user_code": auth["user_code"]})));
    assert_eq!((r.status, error_of(&r).as_str()), (400, "invalid_request"));
}

/// Whose device code it is, and what a client may ask for.
#[test]
fn only_the_devices_client_polls_and_only_allowed_clients_ask() {
    let l = latch(8632);
    tv_client(&l);
    create_client(
        &l,
        json!({"client_id": "other", "token_endpoint_auth_method": "none", "grant_types": [DEVICE_GRANT], "scope": "openid"}),
    );
    create_client(
        &l,
        json!({"client_id": "web", "client_secret": "web-secret", "grant_types": ["authorization_code"], "redirect_uris": [CB]}),
    );
    let auth = device_auth(&l, "tv", "openid").json_body();
    let code = auth["device_code"].as_str().unwrap();
    assert_eq!(error_of(&poll(&l, "other", code)), "invalid_grant");
    assert_eq!(error_of(&poll(&l, "tv", "latch_dc_forged.AAAA")), "invalid_grant");
    let r = form(&l, "/oauth2/device/auth", Some(("web", "web-secret")), &[("scope", "openid")]);
    assert_eq!((r.status, error_of(&r).as_str()), (400, "unauthorized_client"));
    assert_eq!(error_of(&device_auth(&l, "tv", "openid admin")), "invalid_scope");
    assert_eq!(device_auth(&l, "nobody", "openid").status, 401);
    // An authenticated client that names another in the form is refused.
    let r = form(&l, "/oauth2/device/auth", Some(("web", "web-secret")), &[("client_id", "tv")]);
    assert_eq!(r.status, 400);
}

/// The device verifier works only in the browser that came to the verification page
/// (its CSRF cookie), and only with the device's client named.
#[test]
fn the_device_verifier_is_bound_to_its_browser() {
    let l = latch(8633);
    tv_client(&l);
    let auth = device_auth(&l, "tv", "openid").json_body();
    let b = Browser::default();
    let to = location(&b.get(&l, auth["verification_uri"].as_str().unwrap()));
    let accept =
        format!("/admin/oauth2/auth/requests/device/accept?device_challenge={}", query_of(&to)["device_challenge"]);
    let next = redirect_to(admin(&l, Method::Put, &accept, Some(json!({"user_code": auth["user_code"]}))));
    let elsewhere = location(&Browser::default().get(&l, &next));
    assert!(elsewhere.starts_with(&format!("{ISSUER}/oauth2/fallbacks/error?")), "{elsewhere}");
    let without_client = next.replace("client_id=tv&", "").replace("&client_id=tv", "");
    let r = location(&b.get(&l, &without_client));
    assert!(r.starts_with(&format!("{ISSUER}/oauth2/fallbacks/error?")), "{r}");
    // A link to the verification page cannot name the client: the device's is the one added.
    let to = location(&b.get(&l, &format!("{ISSUER}/oauth2/device/verify?client_id=other&foo=bar")));
    let accept2 =
        format!("/admin/oauth2/auth/requests/device/accept?device_challenge={}", query_of(&to)["device_challenge"]);
    let next2 = redirect_to(admin(&l, Method::Put, &accept2, Some(json!({"user_code": auth["user_code"]}))));
    assert_eq!(next2.matches("client_id=").count(), 1, "{next2}");
    assert_eq!(query_of(&next2)["client_id"], "tv");
    assert_eq!(query_of(&next2)["foo"], "bar", "other parameters are kept");
    // A wrong or empty user code is refused, and the admin API never answers 500.
    for body in [json!({"user_code": "nope"}), json!({"user_code": ""}), json!({})] {
        let r = admin(&l, Method::Put, &accept, Some(body));
        assert_eq!(r.status, 400, "{:?}", r.json_body());
    }
    let r = admin(
        &l,
        Method::Put,
        "/admin/oauth2/auth/requests/device/accept?device_challenge=forged",
        Some(json!({"user_code": "x"})),
    );
    assert_eq!(r.status, 404);
}

/// A confidential client's device with a remembered consent skips the consent UI; a
/// public client's never does (anyone can start a device flow in its name).
#[test]
fn a_public_clients_device_never_skips_consent() {
    let l = latch(8634);
    tv_client(&l);
    let b = Browser::default();
    for round in 0..2 {
        let auth = device_auth(&l, "tv", "openid").json_body();
        let consent = verify_in_browser(&l, &b, &auth).accept(json!({"subject": "foo@bar.com", "remember": true}));
        assert_eq!(consent.request["skip"], false, "round {round}");
        consent.accept(json!({"grant_scope": ["openid"], "remember": true}));
    }
}

/// `oauth2.device_authorization.*` and `ttl.device_user_code`, by Hydra's environment names.
#[test]
fn settings_shape_the_codes() {
    let apply = |pairs: &[(&str, &str)]| {
        let mut c = Config::new(ISSUER, b"0123456789abcdef-system-secret");
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        c.apply_settings(&|k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())).map(|()| c)
    };
    let c = apply(&[("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_ENTROPY_PRESET", "low")]).unwrap();
    assert_eq!((c.device.user_code_length, c.device.user_code_characters.len()), (9, 10));
    let c = apply(&[
        ("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_LENGTH", "6"),
        ("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_CHARACTER_SET", "BCDFGHJKLMNP"),
        ("OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL", "10s"),
        ("TTL_DEVICE_USER_CODE", "15m"),
        ("URLS_DEVICE_VERIFICATION", "https://login.example/device"),
    ])
    .unwrap();
    assert_eq!((c.device.user_code_length, c.device.polling_interval, c.device.user_code_ttl), (6, 10, 900));
    assert!(apply(&[("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_ENTROPY_PRESET", "extreme")]).is_err());
    assert!(apply(&[("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_LENGTH", "6")]).is_err(), "a length needs a set");
    assert!(
        apply(&[
            ("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_LENGTH", "6"),
            ("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_CHARACTER_SET", "ABCABCABC")
        ])
        .is_err(),
        "fewer than 8 distinct characters"
    );

    // The configured shape, the configured page.
    let l = latch_with(8635, |c| {
        c.device.user_code_length = 6;
        c.device.user_code_characters = "BCDFGHJKLMNP".chars().collect();
        c.device.verification_url = "https://login.example/device".into();
    });
    tv_client(&l);
    let auth = device_auth(&l, "tv", "openid").json_body();
    let code = auth["user_code"].as_str().unwrap();
    assert!(code.len() == 6 && code.chars().all(|ch| "BCDFGHJKLMNP".contains(ch)), "{code}");
    let to = location(&Browser::default().get(&l, auth["verification_uri"].as_str().unwrap()));
    assert!(to.starts_with("https://login.example/device?device_challenge="), "{to}");
}

/// Discovery advertises the endpoint and the grant (Ory's SDKs read both).
#[test]
fn discovery_advertises_the_device_grant() {
    let l = latch(8636);
    let d = block_on(l.handle(
        latch_core::router::Port::Public,
        latch_core::http::Request::new(Method::Get, "/.well-known/openid-configuration"),
    ))
    .1
    .json_body();
    assert_eq!(d["device_authorization_endpoint"], format!("{ISSUER}/oauth2/device/auth"));
    assert!(d["grant_types_supported"].as_array().unwrap().iter().any(|g| g == DEVICE_GRANT));
}
