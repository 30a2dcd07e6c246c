//! RFC 6749 §4.1 (authorization code) with PKCE (RFC 7636), Hydra's login & consent
//! protocol, OpenID Connect ID tokens and refresh-token rotation, driven through
//! `Latch::handle` over the in-memory store: a scripted browser with a cookie jar, a
//! scripted login/consent app on the admin API, a fixed clock and seeded randomness.

use base64::Engine as _;
use futures_executor::block_on;
use latch_core::config::Config;
use latch_core::http::{Method, Request, Response};
use latch_core::memory::MemoryStore;
use latch_core::platform::FixedPlatform;
use latch_core::{pkce, Latch, Port};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;

const NOW: i64 = 1_700_000_000;
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CB: &str = "https://app.example/cb";

type L = Latch<MemoryStore, FixedPlatform>;

fn latch() -> L {
    let mut c = Config::new("https://auth.example", b"0123456789abcdef-system-secret");
    c.pbkdf2_iterations = 10;
    c.login_url = "https://login.example/login".into();
    c.consent_url = "https://login.example/consent".into();
    let l = Latch::new(MemoryStore::new(), FixedPlatform::new(NOW, 99), c);
    block_on(l.ensure_key(latch_core::keys::ID_TOKEN_SET, latch_core::keys::Alg::Es256)).unwrap();
    l
}

/// A browser: a cookie jar and a way to follow one redirect.
#[derive(Default)]
struct Browser {
    jar: RefCell<BTreeMap<String, String>>,
}

impl Browser {
    fn get(&self, l: &L, url: &str) -> Response {
        let path = url.strip_prefix("https://auth.example").expect("a Latch URL");
        let cookies: Vec<String> = self.jar.borrow().iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut req = Request::new(Method::Get, path);
        if !cookies.is_empty() {
            req = req.header("cookie", &cookies.join("; "));
        }
        let r = block_on(l.handle(Port::Public, req)).1;
        for (n, v) in &r.headers {
            if n == "set-cookie" {
                let pair = v.split(';').next().unwrap();
                let (k, val) = pair.split_once('=').unwrap();
                if v.contains("Max-Age=0") {
                    self.jar.borrow_mut().remove(k);
                } else {
                    self.jar.borrow_mut().insert(k.to_string(), val.to_string());
                }
            }
        }
        r
    }
}

fn location(r: &Response) -> String {
    assert_eq!(r.status, 302, "expected a redirect: {}", String::from_utf8_lossy(&r.body));
    r.headers.iter().find(|(n, _)| n == "location").unwrap().1.clone()
}

fn query_of(url: &str) -> BTreeMap<String, String> {
    let q = url.split_once(['?', '#']).map(|x| x.1).unwrap_or("");
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

fn admin(l: &L, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut req = Request::new(method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    block_on(l.handle(Port::Admin, req)).1
}

fn form(l: &L, path: &str, auth: Option<(&str, &str)>, pairs: &[(&str, &str)]) -> Response {
    let mut req = Request::new(Method::Post, path).form(pairs);
    if let Some((id, s)) = auth {
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{s}"));
        req = req.header("authorization", &format!("Basic {b}"));
    }
    block_on(l.handle(Port::Public, req)).1
}

fn setup(l: &L) {
    let r = admin(
        l,
        Method::Post,
        "/admin/clients",
        Some(json!({
            "client_id": "app", "client_secret": "app-secret",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code", "id_token", "code id_token"],
            "scope": "openid offline email", "redirect_uris": [CB]
        })),
    );
    assert_eq!(r.status, 201, "{:?}", r.json_body());
}

fn auth_url(extra: &str) -> String {
    format!(
        "https://auth.example/oauth2/auth?client_id=app&response_type=code&scope=openid+offline+email&redirect_uri={}&state=state-12345&nonce=nonce-12345&code_challenge={}&code_challenge_method=S256{extra}",
        form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>(),
        pkce::s256(VERIFIER)
    )
}

/// Runs the browser through login and consent; returns the final redirect to the client.
fn run_flow(l: &L, b: &Browser, url: &str, remember: bool) -> String {
    let to_login = location(&b.get(l, url));
    assert!(to_login.starts_with("https://login.example/login?login_challenge="));
    let challenge = query_of(&to_login)["login_challenge"].clone();
    let lr = admin(l, Method::Get, &format!("/admin/oauth2/auth/requests/login?login_challenge={challenge}"), None)
        .json_body();
    let asked = query_of(url);
    assert_eq!(lr["client"]["client_id"], asked["client_id"]);
    assert_eq!(lr["requested_scope"], json!(asked["scope"].split(' ').collect::<Vec<_>>()));
    let redirect = if lr["skip"] == true {
        admin(l, Method::Put, &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"), Some(json!({"subject": lr["subject"]})))
    } else {
        admin(
            l,
            Method::Put,
            &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
            Some(json!({"subject": "foo@bar.com", "remember": remember, "remember_for": 3600, "acr": "0", "amr": ["pwd"]})),
        )
    }
    .json_body()["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    let to_consent = location(&b.get(l, &redirect));
    assert!(to_consent.starts_with("https://login.example/consent?consent_challenge="), "{to_consent}");
    let cc = query_of(&to_consent)["consent_challenge"].clone();
    let cr =
        admin(l, Method::Get, &format!("/admin/oauth2/auth/requests/consent?consent_challenge={cc}"), None).json_body();
    assert_eq!(cr["subject"], "foo@bar.com");
    let redirect = admin(
        l,
        Method::Put,
        &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={cc}"),
        Some(json!({"grant_scope": cr["requested_scope"], "remember": remember, "remember_for": 0,
                    "session": {"id_token": {"email": "foo@bar.com"}, "access_token": {"tier": "gold"}}})),
    )
    .json_body()["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    location(&b.get(l, &redirect))
}

fn redeem(l: &L, code: &str) -> Response {
    form(
        l,
        "/oauth2/token",
        Some(("app", "app-secret")),
        &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
    )
}

#[test]
fn code_flow_with_pkce_gives_access_refresh_and_id_tokens() {
    let l = latch();
    setup(&l);
    let b = Browser::default();
    let back = run_flow(&l, &b, &auth_url(""), true);
    assert!(back.starts_with(CB));
    let q = query_of(&back);
    assert_eq!(q["state"], "state-12345");
    assert_eq!(q["scope"], "openid offline email");
    let r = redeem(&l, &q["code"]);
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    let t = r.json_body();
    assert!(t["refresh_token"].as_str().unwrap().starts_with("latch_rt_"));
    // The ID token verifies against the published JWKS and carries the flow's claims.
    let jwks = block_on(l.handle(Port::Public, Request::new(Method::Get, "/.well-known/jwks.json"))).1.json_body();
    let idt = t["id_token"].as_str().unwrap();
    let claims =
        jwks["keys"].as_array().unwrap().iter().find_map(|k| latch_core::keys::verify_jws(k, idt)).expect("verifies");
    assert_eq!(claims["sub"], "foo@bar.com");
    assert_eq!(claims["aud"], json!(["app"]));
    assert_eq!(claims["nonce"], "nonce-12345");
    assert_eq!(claims["iss"], "https://auth.example");
    assert_eq!(claims["email"], "foo@bar.com");
    assert_eq!(claims["acr"], "0");
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert_eq!(claims["auth_time"], NOW);
    assert!(claims["sid"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(
        claims["at_hash"],
        latch_core::oidc::half_hash(latch_core::keys::Alg::Es256, t["access_token"].as_str().unwrap())
    );
    // Introspection shows the consent's access-token session as ext.
    let i = form_admin_introspect(&l, t["access_token"].as_str().unwrap());
    assert_eq!(i["sub"], "foo@bar.com");
    assert_eq!(i["ext"], json!({"tier": "gold"}));
    // Userinfo.
    let req = Request::new(Method::Get, "/userinfo")
        .header("authorization", &format!("Bearer {}", t["access_token"].as_str().unwrap()));
    let u = block_on(l.handle(Port::Public, req)).1;
    assert_eq!(u.status, 200);
    assert_eq!(u.json_body()["sub"], "foo@bar.com");
    assert_eq!(u.json_body()["email"], "foo@bar.com");

    // A second redemption fails and revokes what the first one issued (RFC 6749 §4.1.2).
    let again = redeem(&l, &q["code"]);
    assert_eq!(again.json_body()["error"], "invalid_grant");
    assert_eq!(form_admin_introspect(&l, t["access_token"].as_str().unwrap()), json!({"active": false}));
}

fn form_admin_introspect(l: &L, token: &str) -> Value {
    block_on(l.handle(Port::Admin, Request::new(Method::Post, "/admin/oauth2/introspect").form(&[("token", token)])))
        .1
        .json_body()
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_grant() {
    let l = latch();
    setup(&l);
    let b = Browser::default();
    let back = run_flow(&l, &b, &auth_url(""), false);
    let t = redeem(&l, &query_of(&back)["code"]).json_body();
    let rt1 = t["refresh_token"].as_str().unwrap().to_string();
    let r = form(
        &l,
        "/oauth2/token",
        Some(("app", "app-secret")),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
    );
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    let t2 = r.json_body();
    let rt2 = t2["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt1, rt2);
    assert!(t2["id_token"].is_string());
    assert_eq!(form_admin_introspect(&l, &rt1)["active"], false, "rotated away");
    assert_eq!(form_admin_introspect(&l, &rt2)["active"], true);
    // Narrowing scope on refresh.
    let r = form(
        &l,
        "/oauth2/token",
        Some(("app", "app-secret")),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt2), ("scope", "openid")],
    );
    assert_eq!(r.json_body()["scope"], "openid");
    let rt3 = r.json_body()["refresh_token"].as_str().unwrap().to_string();
    // Reusing an old refresh token revokes the whole grant.
    let reuse = form(
        &l,
        "/oauth2/token",
        Some(("app", "app-secret")),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
    );
    assert_eq!(reuse.json_body()["error"], "invalid_grant");
    assert_eq!(form_admin_introspect(&l, &rt3)["active"], false);
    let dead = form(
        &l,
        "/oauth2/token",
        Some(("app", "app-secret")),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt3)],
    );
    assert_eq!(dead.json_body()["error"], "invalid_grant");
}

#[test]
fn remembered_login_and_consent_skip() {
    let l = latch();
    setup(&l);
    let b = Browser::default();
    run_flow(&l, &b, &auth_url(""), true);
    // Second authorization in the same browser: login and consent both report skip.
    let to_login = location(&b.get(&l, &auth_url("")));
    let challenge = query_of(&to_login)["login_challenge"].clone();
    let lr =
        admin(&l, Method::Get, &format!("/admin/oauth2/auth/requests/login?challenge={challenge}"), None).json_body();
    assert_eq!(lr["skip"], true);
    assert_eq!(lr["subject"], "foo@bar.com");
    // Accepting a skipped login with another subject is refused.
    let r = admin(
        &l,
        Method::Put,
        &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
        Some(json!({"subject": "eve"})),
    );
    assert_eq!(r.status, 400);
    let redirect = admin(
        &l,
        Method::Put,
        &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
        Some(json!({"subject": "foo@bar.com"})),
    )
    .json_body()["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    let to_consent = location(&b.get(&l, &redirect));
    let cc = query_of(&to_consent)["consent_challenge"].clone();
    let cr = admin(&l, Method::Get, &format!("/admin/oauth2/auth/requests/consent?consent_challenge={cc}"), None)
        .json_body();
    assert_eq!(cr["skip"], true);
    // prompt=none now works without UI interaction up to consent.
    let none = b.get(&l, &auth_url("&prompt=none"));
    assert!(location(&none).starts_with("https://login.example/login"));
    // prompt=login forces the login UI even with a session.
    let to_login = location(&b.get(&l, &auth_url("&prompt=login")));
    let lr = admin(
        &l,
        Method::Get,
        &format!("/admin/oauth2/auth/requests/login?login_challenge={}", query_of(&to_login)["login_challenge"]),
        None,
    )
    .json_body();
    assert_eq!(lr["skip"], false);
    // Consent sessions are listed and can be revoked.
    let list = admin(&l, Method::Get, "/admin/oauth2/auth/sessions/consent?subject=foo@bar.com", None).json_body();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["grant_scope"], json!(["openid", "offline", "email"]));
    assert_eq!(
        admin(&l, Method::Delete, "/admin/oauth2/auth/sessions/consent?subject=foo@bar.com&client=app", None).status,
        204
    );
    assert_eq!(
        admin(&l, Method::Get, "/admin/oauth2/auth/sessions/consent?subject=foo@bar.com", None).json_body(),
        json!([])
    );
}

#[test]
fn prompt_none_without_session_is_login_required() {
    let l = latch();
    setup(&l);
    let b = Browser::default();
    let r = location(&b.get(&l, &auth_url("&prompt=none")));
    let q = query_of(&r);
    assert!(r.starts_with(CB));
    assert_eq!(q["error"], "login_required");
    assert_eq!(q["state"], "state-12345");
}

#[test]
fn authorization_request_errors() {
    let l = latch();
    setup(&l);
    let b = Browser::default();
    let cb = form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>();
    // (query, goes to the client?, error)
    let cases = [
        ("client_id=nobody&response_type=code", false, "invalid_client"),
        ("client_id=app&response_type=code&redirect_uri=https%3A%2F%2Fevil.example%2Fcb", false, "invalid_request"),
        (&*format!("client_id=app&response_type=token&redirect_uri={cb}"), true, "unsupported_response_type"),
        (&*format!("client_id=app&response_type=code&redirect_uri={cb}&scope=admin"), true, "invalid_scope"),
        (&*format!("client_id=app&response_type=code&redirect_uri={cb}&state=short"), true, "invalid_request"),
        (
            &*format!(
                "client_id=app&response_type=code&redirect_uri={cb}&code_challenge={}&code_challenge_method=plain",
                "a".repeat(43)
            ),
            true,
            "invalid_request",
        ),
        (&*format!("client_id=app&response_type=code&redirect_uri={cb}&prompt=none+login"), true, "invalid_request"),
        (&*format!("client_id=app&response_type=id_token&redirect_uri={cb}&scope=openid"), true, "unauthorized_client"),
        (&*format!("client_id=app&response_type=code&redirect_uri={cb}&response_mode=magic"), true, "invalid_request"),
    ];
    for (q, to_client, error) in cases {
        let r = location(&b.get(&l, &format!("https://auth.example/oauth2/auth?{q}")));
        assert_eq!(r.starts_with(CB), to_client, "{q} -> {r}");
        assert_eq!(query_of(&r)["error"], error, "{q} -> {r}");
    }
}

#[test]
fn csrf_cookie_binds_the_flow_to_its_browser_and_verifiers_are_single_use() {
    let l = latch();
    setup(&l);
    let b = Browser::default();
    let to_login = location(&b.get(&l, &auth_url("")));
    let challenge = query_of(&to_login)["login_challenge"].clone();
    let redirect = admin(
        &l,
        Method::Put,
        &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
        Some(json!({"subject": "foo@bar.com"})),
    )
    .json_body()["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    // Another browser (no CSRF cookie) cannot use the verifier.
    let other = Browser::default();
    let r = location(&other.get(&l, &redirect));
    assert!(!r.starts_with(CB));
    assert_eq!(query_of(&r)["error"], "access_denied");
    // The right browser proceeds; completing consent twice is refused the second time.
    let to_consent = location(&b.get(&l, &redirect));
    let cc = query_of(&to_consent)["consent_challenge"].clone();
    let redirect = admin(
        &l,
        Method::Put,
        &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={cc}"),
        Some(json!({"grant_scope": ["openid"]})),
    )
    .json_body()["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    let jar = b.jar.borrow().clone();
    let first = location(&b.get(&l, &redirect));
    assert!(query_of(&first).contains_key("code"));
    *b.jar.borrow_mut() = jar;
    let second = location(&b.get(&l, &redirect));
    assert!(!second.starts_with(CB));
    assert_eq!(query_of(&second)["error"], "invalid_request");
    // A rejected consent reaches the client as an error.
    let to_login = location(&b.get(&l, &auth_url("&prompt=consent")));
    let ch = query_of(&to_login)["login_challenge"].clone();
    let redirect = admin(
        &l,
        Method::Put,
        &format!("/admin/oauth2/auth/requests/login/reject?login_challenge={ch}"),
        Some(json!({"error": "access_denied", "error_description": "The resource owner denied the request"})),
    )
    .json_body()["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    let r = location(&b.get(&l, &redirect));
    assert!(r.starts_with(CB));
    assert_eq!(query_of(&r)["error"], "access_denied");
    assert_eq!(query_of(&r)["state"], "state-12345");
}

#[test]
fn expired_challenge_and_code() {
    let l = latch();
    setup(&l);
    let b = Browser::default();
    let to_login = location(&b.get(&l, &auth_url("")));
    let challenge = query_of(&to_login)["login_challenge"].clone();
    l.platform.advance(1801);
    let r = admin(&l, Method::Get, &format!("/admin/oauth2/auth/requests/login?login_challenge={challenge}"), None);
    assert_eq!(r.status, 404);
    let back = run_flow(&l, &b, &auth_url(""), false);
    l.platform.advance(601);
    assert_eq!(redeem(&l, &query_of(&back)["code"]).json_body()["error"], "invalid_grant");
}

#[test]
fn pkce_is_checked() {
    let l = latch();
    setup(&l);
    let b = Browser::default();
    let back = run_flow(&l, &b, &auth_url(""), false);
    let code = query_of(&back)["code"].clone();
    let r = form(
        &l,
        "/oauth2/token",
        Some(("app", "app-secret")),
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
            ("code_verifier", &"x".repeat(43)),
        ],
    );
    assert_eq!(r.json_body()["error"], "invalid_grant");
    assert!(r.json_body()["error_description"].as_str().unwrap().contains("PKCE"));
}

#[test]
fn rp_initiated_logout_with_front_and_back_channel() {
    let l = latch();
    let r = admin(
        &l,
        Method::Post,
        "/admin/clients",
        Some(json!({
            "client_id": "rp", "client_secret": "rp-secret", "grant_types": ["authorization_code"],
            "scope": "openid", "redirect_uris": [CB], "post_logout_redirect_uris": ["https://app.example/bye"],
            "backchannel_logout_uri": "https://app.example/backchannel", "frontchannel_logout_uri": "https://app.example/front"
        })),
    );
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    let b = Browser::default();
    let url = format!(
        "https://auth.example/oauth2/auth?client_id=rp&response_type=code&scope=openid&redirect_uri={}&state=state-12345&nonce=nonce-12345",
        form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    );
    let back = run_flow(&l, &b, &url, true);
    let code = query_of(&back)["code"].clone();
    let t = form(
        &l,
        "/oauth2/token",
        Some(("rp", "rp-secret")),
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB)],
    )
    .json_body();
    let idt = t["id_token"].as_str().unwrap().to_string();

    // A post_logout_redirect_uri that is not registered is refused.
    let bad = b.get(&l, &format!("https://auth.example/oauth2/sessions/logout?id_token_hint={idt}&post_logout_redirect_uri=https://evil.example/"));
    assert!(location(&bad).contains("/oauth2/fallbacks/error"));
    // Without a hint, state and post_logout_redirect_uri are refused.
    let bad = b.get(&l, "https://auth.example/oauth2/sessions/logout?state=abcdefgh");
    assert!(location(&bad).contains("error=invalid_request"));

    let to_ui = location(&b.get(&l, &format!("https://auth.example/oauth2/sessions/logout?id_token_hint={idt}&post_logout_redirect_uri=https://app.example/bye&state=st4te-xyz")));
    assert!(to_ui.contains("/oauth2/fallbacks/logout?logout_challenge="), "{to_ui}");
    let challenge = query_of(&to_ui)["logout_challenge"].clone();
    let lr = admin(&l, Method::Get, &format!("/admin/oauth2/auth/requests/logout?logout_challenge={challenge}"), None)
        .json_body();
    assert_eq!(lr["subject"], "foo@bar.com");
    assert_eq!(lr["rp_initiated"], true);
    assert_eq!(lr["client"]["client_id"], "rp");
    let sid = lr["sid"].as_str().unwrap().to_string();
    let redirect = admin(
        &l,
        Method::Put,
        &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"),
        None,
    )
    .json_body()["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    let page = b.get(&l, &redirect);
    assert_eq!(page.status, 200, "front-channel page");
    let html = String::from_utf8(page.body.clone()).unwrap();
    assert!(html.contains("https://app.example/front?iss=https%3A%2F%2Fauth.example&amp;sid="), "{html}");
    assert!(html.contains("https://app.example/bye?state=st4te-xyz"));
    // The back-channel logout token went out, signed, with the right claims.
    let sent: Vec<_> = page
        .effects
        .iter()
        .map(|e| match e {
            latch_core::http::Effect::BackchannelLogout(d) => d.clone(),
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].url, "https://app.example/backchannel");
    let jwks = block_on(l.handle(Port::Public, Request::new(Method::Get, "/.well-known/jwks.json"))).1.json_body();
    let claims = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|k| latch_core::keys::verify_jws(k, &sent[0].logout_token))
        .expect("verifies");
    assert_eq!(claims["sid"], sid);
    assert_eq!(claims["aud"], json!(["rp"]));
    assert!(claims["events"]["http://schemas.openid.net/event/backchannel-logout"].is_object());
    assert!(claims.get("nonce").is_none());
    // The remembered login is gone: prompt=none is login_required again.
    let r = location(&b.get(&l, &format!("{url}&prompt=none")));
    assert_eq!(query_of(&r)["error"], "login_required");
}

#[test]
fn hybrid_and_implicit_flows_answer_in_the_fragment_or_form_post() {
    let l = latch();
    let r = admin(
        &l,
        Method::Post,
        "/admin/clients",
        Some(json!({
            "client_id": "spa", "client_secret": "spa-secret", "grant_types": ["authorization_code", "implicit"],
            "response_types": ["code id_token", "id_token", "token id_token"], "scope": "openid", "redirect_uris": [CB],
            "implicit_grant_access_token_lifespan": "7m", "authorization_code_grant_access_token_lifespan": "9m"
        })),
    );
    assert_eq!(r.status, 201, "{:?}", r.json_body());
    let cb = form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>();
    let b = Browser::default();
    // Hybrid `code id_token`: fragment by default, c_hash binds the ID token to the code.
    let back = run_flow(&l, &b, &format!("https://auth.example/oauth2/auth?client_id=spa&response_type=code+id_token&scope=openid&redirect_uri={cb}&state=state-12345&nonce=nonce-12345"), false);
    assert!(back.starts_with(&format!("{CB}#")), "{back}");
    let p = query_of(&back);
    let jwks = block_on(l.handle(Port::Public, Request::new(Method::Get, "/.well-known/jwks.json"))).1.json_body();
    let claims = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|k| latch_core::keys::verify_jws(k, &p["id_token"]))
        .expect("verifies");
    assert_eq!(claims["c_hash"], latch_core::oidc::half_hash(latch_core::keys::Alg::Es256, &p["code"]));
    assert_eq!(claims["nonce"], "nonce-12345");
    // Implicit `token id_token` with form_post: an auto-submitting form carries both.
    let b = Browser::default();
    let url = format!("https://auth.example/oauth2/auth?client_id=spa&response_type=token+id_token&scope=openid&redirect_uri={cb}&state=state-12345&nonce=nonce-12345&response_mode=form_post");
    let to_login = location(&b.get(&l, &url));
    let ch = query_of(&to_login)["login_challenge"].clone();
    let redirect = admin(
        &l,
        Method::Put,
        &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={ch}"),
        Some(json!({"subject": "alice"})),
    )
    .json_body()["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    let cc = query_of(&location(&b.get(&l, &redirect)))["consent_challenge"].clone();
    let redirect = admin(
        &l,
        Method::Put,
        &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={cc}"),
        Some(json!({"grant_scope": ["openid"]})),
    )
    .json_body()["redirect_to"]
        .as_str()
        .unwrap()
        .to_string();
    let page = b.get(&l, &redirect);
    assert_eq!(page.status, 200);
    let html = String::from_utf8(page.body).unwrap();
    assert!(html.contains(&format!("action=\"{CB}\"")), "{html}");
    for field in ["access_token", "id_token", "token_type", "state"] {
        assert!(html.contains(&format!("name=\"{field}\"")), "{field} missing: {html}");
    }
    // Tokens from the authorization endpoint live as the implicit grant's lifespan says.
    assert!(html.contains("name=\"expires_in\" value=\"420\""), "implicit lifespan: {html}");
    // A query response mode cannot carry tokens.
    let bad = location(&b.get(&l, &format!("https://auth.example/oauth2/auth?client_id=spa&response_type=id_token&scope=openid&redirect_uri={cb}&nonce=nonce-12345&response_mode=query")));
    assert_eq!(query_of(&bad)["error"], "invalid_request");
}
