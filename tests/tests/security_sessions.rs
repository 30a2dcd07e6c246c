//! Attacks on login sessions, their cookies and logout, over HTTP on every backend
//! (memory, SQLite, PostgreSQL, MySQL) and, through the ignored `…_worker` tests, the
//! Cloudflare Worker (public HTTP only). Each attack must fail:
//!
//! * `sid_is_no_session_cookie` (threat: a **malicious relying party**): an RP reads
//!   `sid` from its own ID token and sends it as the session cookie to the
//!   authorization endpoint for another client; it must not get `skip: true` for the
//!   user. Neither does a raw `sid`, nor a value Latch sealed for another purpose.
//! * `no_cookie_carries_what_a_relying_party_sees` (threat: a **malicious relying
//!   party**): every cookie Latch sets during login, consent and logout is `HttpOnly`,
//!   `Path=/`, `SameSite`, with a `Max-Age`, and its value is none of (and contains
//!   none of) the challenges, verifiers, codes, `sid`, flow ids, state or nonce that
//!   relying parties and the login & consent app see.
//! * `logout_hint_of_someone_else` (threats: a **malicious relying party**, a **web
//!   attacker steering a user's browser**): `id_token_hint` with another user's ID
//!   token, from a browser with no session or with another user's session, ends
//!   nobody's session and sends no back-channel logout; a replayed logout verifier
//!   sends no second one.
//! * `login_verifier_replay` (threat: a **web attacker steering a user's browser**, or
//!   anyone holding a copy of the browser's history and cookies): a login verifier
//!   yields at most one remembered session, and replaying login or consent verifiers
//!   yields no second code.

use latch_tests::http::{location, params_of, Browser, Harness, Reply};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const CB: &str = "http://127.0.0.1:5555/callback";
const BYE: &str = "http://127.0.0.1:5555/bye";

/// The settings of every server of this suite (those of `http_code_flow.rs`, which
/// `scripts/edge-test` gives the Worker).
const SETTINGS: [(&str, &str); 3] = [
    ("URLS_LOGIN", "http://login.test/login"),
    ("URLS_CONSENT", "http://login.test/consent"),
    ("TTL_ACCESS_TOKEN", "1h"),
];

/// A relying party's back-channel logout endpoint: the bodies it received.
struct Sink {
    url: String,
    received: Arc<Mutex<Vec<String>>>,
    server: tokio::task::JoinHandle<Result<(), std::io::Error>>,
}

impl Sink {
    async fn start() -> Sink {
        let received: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = received.clone();
        let app = axum::Router::new().route(
            "/backchannel",
            axum::routing::post(move |body: String| {
                let sink = sink.clone();
                async move {
                    sink.lock().expect("lock").push(body);
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/backchannel", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        Sink { url, received, server }
    }

    fn count(&self) -> usize {
        self.received.lock().expect("lock").len()
    }

    /// Waits until `n` logout tokens arrived (at most 10 s).
    async fn wait_for(&self, n: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while self.count() < n {
            assert!(std::time::Instant::now() < deadline, "{} back-channel logouts arrived, not {n}", self.count());
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Asserts that no more than `n` logout tokens arrive within a second.
    async fn assert_stays_at(&self, n: usize) {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        assert_eq!(self.count(), n, "unexpected back-channel logouts: {:?}", self.received.lock().expect("lock"));
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Two relying parties, both with a back-channel logout endpoint at `sink`.
async fn create_clients(h: &Harness, sink: &Sink) {
    for name in ["rp-a", "rp-b"] {
        h.create_client(json!({
            "client_id": h.id(name), "client_secret": "secret",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "scope": "openid offline", "redirect_uris": [CB], "post_logout_redirect_uris": [BYE],
            "backchannel_logout_uri": sink.url
        }))
        .await;
    }
}

fn auth_url(h: &Harness, client: &str, extra: &str) -> String {
    format!(
        "{}/oauth2/auth?client_id={}&response_type=code&scope=openid+offline&redirect_uri={}&state=state-123456&nonce=nonce-123456&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        h.public,
        h.id(client),
        url::form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    )
}

/// A browser that also records every reply's `Set-Cookie`s.
#[derive(Default)]
struct Recorder {
    browser: Browser,
    set_cookies: Mutex<Vec<String>>,
}

impl Recorder {
    async fn get(&self, h: &Harness, url: &str) -> Reply {
        let r = self.browser.get(h, url).await;
        self.set_cookies.lock().expect("lock").extend(r.set_cookies.iter().cloned());
        r
    }
}

/// What one flow showed to relying parties and the login & consent app.
#[derive(Default)]
struct Seen {
    values: Vec<String>,
}

impl Seen {
    fn add(&mut self, v: &str) {
        if !v.is_empty() {
            self.values.push(v.to_string());
        }
    }
}

/// A GET that yields the login challenge of a fresh authorization request.
async fn login_challenge(h: &Harness, b: &Recorder, client: &str, extra: &str) -> String {
    let to_login = location(&b.get(h, &auth_url(h, client, extra)).await);
    assert!(to_login.starts_with("http://login.test/login?login_challenge="), "{to_login}");
    params_of(&to_login)["login_challenge"].clone()
}

/// The login request (as the login app reads it) of a fresh authorization request.
async fn login_request(h: &Harness, b: &Recorder, client: &str) -> Value {
    let c = login_challenge(h, b, client, "").await;
    let lr = h.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={c}")).await;
    assert_eq!(lr.status, 200, "{}", lr.text);
    lr.json()
}

/// The login app accepts `challenge` for `subject`; returns the login verifier URL.
async fn accept_login(h: &Harness, challenge: &str, subject: &str, remember: bool) -> String {
    let a = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
            &json!({"subject": subject, "remember": remember, "remember_for": 3600}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()["redirect_to"].as_str().expect("redirect_to").to_string()
}

/// The consent app accepts `consent_challenge`; returns the consent verifier URL.
async fn accept_consent(h: &Harness, cc: &str, seen: &mut Seen) -> String {
    let cr = h.admin_get(&format!("/admin/oauth2/auth/requests/consent?consent_challenge={cc}")).await.json();
    for k in ["consent_request_id", "login_challenge", "login_session_id"] {
        seen.add(cr[k].as_str().unwrap_or(""));
    }
    let a = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={cc}"),
            &json!({"grant_scope": cr["requested_scope"], "remember": true}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    a.json()["redirect_to"].as_str().expect("redirect_to").to_string()
}

/// The whole code flow for `client` as `subject` in browser `b`; returns the tokens.
async fn flow(h: &Harness, b: &Recorder, client: &str, subject: &str, seen: &mut Seen) -> Value {
    let c = login_challenge(h, b, client, "").await;
    seen.add(&c);
    let lr = h.admin_get(&format!("/admin/oauth2/auth/requests/login?login_challenge={c}")).await.json();
    seen.add(lr["session_id"].as_str().unwrap_or(""));
    let sub = if lr["skip"] == true { lr["subject"].as_str().expect("subject").to_string() } else { subject.into() };
    let to = accept_login(h, &c, &sub, true).await;
    seen.add(&params_of(&to)["login_verifier"]);
    let to_consent = location(&b.get(h, &to).await);
    let cc = params_of(&to_consent)["consent_challenge"].clone();
    seen.add(&cc);
    let to = accept_consent(h, &cc, seen).await;
    seen.add(&params_of(&to)["consent_verifier"]);
    let back = location(&b.get(h, &to).await);
    assert!(back.starts_with(CB), "{back}");
    let code = params_of(&back)["code"].clone();
    seen.add(&code);
    let t = h
        .public_form(
            "/oauth2/token",
            Some((&h.id(client), "secret")),
            &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
        )
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    let t = t.json();
    let claims = id_token_claims(h, &t).await;
    seen.add(claims["sid"].as_str().expect("an ID token with sid"));
    for k in ["access_token", "refresh_token", "id_token"] {
        seen.add(t[k].as_str().unwrap_or(""));
    }
    t
}

async fn id_token_claims(h: &Harness, tokens: &Value) -> Value {
    let jwks = h.public_get("/.well-known/jwks.json").await.json();
    let idt = tokens["id_token"].as_str().expect("id_token");
    let claims = jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find_map(|k| latch_core::keys::verify_jws(k, idt))
        .expect("the ID token verifies");
    Value::Object(claims)
}

/// The name of the remembered-login cookie in a browser's jar (the one cookie that is
/// no CSRF cookie).
fn session_cookie(b: &Recorder) -> (String, String) {
    let jar = b.browser.snapshot();
    let mut s = jar.into_iter().filter(|(k, _)| !k.contains("csrf"));
    let found = s.next().expect("a session cookie");
    assert!(s.next().is_none(), "one session cookie");
    found
}

/// A browser whose jar holds exactly `cookies`.
fn browser_with(cookies: &[(&str, &str)]) -> Recorder {
    let b = Recorder::default();
    b.browser.restore(cookies.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>());
    b
}

/// Malicious RP: the `sid` of its ID token, a raw `sid`, or another sealed value as the
/// session cookie never lets the login UI skip.
async fn sid_is_no_session_cookie(h: &Harness, sink: &Sink) {
    let victim = Recorder::default();
    let tokens = flow(h, &victim, "rp-a", &h.id("victim"), &mut Seen::default()).await;
    let sid = id_token_claims(h, &tokens).await["sid"].as_str().expect("sid").to_string();
    let (name, value) = session_cookie(&victim);
    assert_ne!(value, sid, "the session cookie is the sid every relying party sees");
    assert!(!value.contains(&sid), "the session cookie carries the sid");
    // The victim's own browser is remembered, for the other client too.
    let lr = login_request(h, &victim, "rp-b").await;
    assert_eq!((lr["skip"].clone(), lr["subject"].clone()), (json!(true), json!(h.id("victim"))), "{lr}");

    // rp-a (the attacker) sends the sid as the session cookie, for rp-b.
    let attacker = browser_with(&[(name.as_str(), sid.as_str())]);
    let lr = login_request(h, &attacker, "rp-b").await;
    assert_eq!(lr["skip"], false, "the sid of an ID token took over the session: {lr}");
    assert_eq!(lr["subject"], "", "{lr}");
    let none = location(&attacker.get(h, &auth_url(h, "rp-b", "&prompt=none")).await);
    assert_eq!(params_of(&none)["error"], "login_required", "{none}");
    // A value sealed for another purpose (a login challenge) is no session either, and
    // neither is the victim's cookie with its last character changed.
    let sealed = login_challenge(h, &Recorder::default(), "rp-b", "").await;
    let mut tampered = value.clone();
    let last = if tampered.pop() == Some('A') { 'B' } else { 'A' };
    tampered.push(last);
    for v in [sealed.as_str(), tampered.as_str(), "", "x"] {
        let lr = login_request(h, &browser_with(&[(name.as_str(), v)]), "rp-b").await;
        assert_eq!(lr["skip"], false, "cookie {v:?} gave a session: {lr}");
    }
    // After the sid is revoked, the victim's real cookie stops working (and rp-a hears of it).
    let before = sink.count();
    assert_eq!(h.admin_delete(&format!("/admin/oauth2/auth/sessions/login?sid={sid}")).await.status, 204);
    sink.wait_for(before + 1).await;
    let lr = login_request(h, &victim, "rp-b").await;
    assert_eq!(lr["skip"], false, "{lr}");
}

/// Every cookie of a login, consent and logout: its flags, and a value that is none of
/// what a relying party or the login & consent app sees.
async fn no_cookie_carries_what_a_relying_party_sees(h: &Harness, sink: &Sink) {
    let b = Recorder::default();
    let mut seen = Seen::default();
    for v in ["state-123456", "nonce-123456", CHALLENGE, VERIFIER] {
        seen.add(v);
    }
    flow(h, &b, "rp-a", &h.id("audited"), &mut seen).await;
    let tokens = flow(h, &b, "rp-b", &h.id("audited"), &mut seen).await;
    let before = sink.count();
    let idt = tokens["id_token"].as_str().expect("id_token");
    let to_ui = location(
        &b.get(
            h,
            &format!(
                "{}/oauth2/sessions/logout?id_token_hint={idt}&post_logout_redirect_uri={BYE}&state=state-logout1",
                h.public
            ),
        )
        .await,
    );
    let challenge = params_of(&to_ui)["logout_challenge"].clone();
    seen.add(&challenge);
    let lr = h.admin_get(&format!("/admin/oauth2/auth/requests/logout?logout_challenge={challenge}")).await.json();
    seen.add(lr["sid"].as_str().unwrap_or(""));
    let a = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"),
            &json!({}),
        )
        .await;
    let to = a.json()["redirect_to"].as_str().expect("redirect_to").to_string();
    seen.add(&params_of(&to)["logout_verifier"]);
    let done = b.get(h, &to).await;
    assert!(matches!(done.status, 200 | 302), "{}", done.text);
    sink.wait_for(before + 2).await;
    for body in sink.received.lock().expect("lock").iter() {
        for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
            if k == "logout_token" {
                seen.add(&v);
            }
        }
    }
    let cookies = b.set_cookies.lock().expect("lock").clone();
    assert!(cookies.len() >= 6, "{cookies:?}");
    for c in &cookies {
        let mut parts = c.split(';').map(str::trim);
        let (name, value) = parts.next().and_then(|p| p.split_once('=')).expect("name=value");
        let attrs: Vec<String> = parts.map(str::to_ascii_lowercase).collect();
        assert!(attrs.iter().any(|a| a == "httponly"), "{c}");
        assert!(attrs.iter().any(|a| a == "path=/"), "{c}");
        assert!(attrs.iter().any(|a| a.starts_with("samesite=lax")), "{c}");
        assert!(attrs.iter().any(|a| a.starts_with("max-age=")), "{c}");
        if value.is_empty() {
            continue;
        }
        assert!(value.len() >= 32, "a short cookie value: {c}");
        for s in &seen.values {
            assert!(
                !value.contains(s.as_str()) && !s.contains(value),
                "cookie {name} carries {s:?}, which others see: {c}"
            );
        }
    }
}

/// Logs `b` out with `idt` as the hint, playing a logout app that accepts whatever it
/// is shown; returns where the browser ended.
async fn logout(h: &Harness, b: &Recorder, idt: &str) -> Reply {
    let r = b
        .get(
            h,
            &format!(
                "{}/oauth2/sessions/logout?id_token_hint={idt}&post_logout_redirect_uri={BYE}&state=state-logout1",
                h.public
            ),
        )
        .await;
    let Some(challenge) = r.headers.get("location").and_then(|l| params_of(l).get("logout_challenge").cloned()) else {
        return r;
    };
    let a = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"),
            &json!({}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    b.get(h, a.json()["redirect_to"].as_str().expect("redirect_to")).await
}

/// Malicious RP / web attacker: a logout with someone else's ID token as the hint.
async fn logout_hint_of_someone_else(h: &Harness, sink: &Sink) {
    let victim = Recorder::default();
    let tokens = flow(h, &victim, "rp-a", &h.id("victim-2"), &mut Seen::default()).await;
    let idt = tokens["id_token"].as_str().expect("id_token").to_string();
    let before = sink.count();

    // From a fresh browser.
    let fresh = Recorder::default();
    let r = logout(h, &fresh, &idt).await;
    assert!(matches!(r.status, 200 | 302), "{}", r.text);
    let lr = login_request(h, &victim, "rp-b").await;
    assert_eq!(lr["skip"], true, "a fresh browser logged the victim out: {lr}");
    sink.assert_stays_at(before).await;

    // From a browser holding another user's session.
    let mallory = Recorder::default();
    flow(h, &mallory, "rp-b", &h.id("mallory"), &mut Seen::default()).await;
    let r = logout(h, &mallory, &idt).await;
    assert!(matches!(r.status, 200 | 302), "{}", r.text);
    let lr = login_request(h, &victim, "rp-b").await;
    assert_eq!(lr["skip"], true, "another user's browser logged the victim out: {lr}");
    let lr = login_request(h, &mallory, "rp-b").await;
    assert_eq!((lr["skip"].clone(), lr["subject"].clone()), (json!(true), json!(h.id("mallory"))), "{lr}");
    sink.assert_stays_at(before).await;

    // The victim's own browser logs out: one back-channel logout to rp-a.
    let jar = victim.browser.snapshot();
    let r = b_logout_and_verifier(h, &victim, &idt).await;
    sink.wait_for(before + 1).await;
    let lr = login_request(h, &victim, "rp-b").await;
    assert_eq!(lr["skip"], false, "the victim's own logout did not end the session: {lr}");
    // Replaying the logout verifier (with the cookies as they were) sends no second one.
    let replay = browser_with(&[]);
    replay.browser.restore(jar);
    let again = replay.get(h, &r).await;
    assert!(matches!(again.status, 200 | 302), "{}", again.text);
    sink.assert_stays_at(before + 1).await;
}

/// The victim's own RP-initiated logout, through the logout UI; returns the verifier URL.
async fn b_logout_and_verifier(h: &Harness, b: &Recorder, idt: &str) -> String {
    let to_ui = location(
        &b.get(
            h,
            &format!(
                "{}/oauth2/sessions/logout?id_token_hint={idt}&post_logout_redirect_uri={BYE}&state=state-logout1",
                h.public
            ),
        )
        .await,
    );
    let challenge = params_of(&to_ui)["logout_challenge"].clone();
    let a = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"),
            &json!({}),
        )
        .await;
    let to = a.json()["redirect_to"].as_str().expect("redirect_to").to_string();
    let done = b.get(h, &to).await;
    assert!(matches!(done.status, 200 | 302), "{}", done.text);
    to
}

/// Web attacker: a login verifier replayed (with the browser's cookies of that moment)
/// yields no second remembered session, and replayed verifiers no second code.
async fn login_verifier_replay(h: &Harness) {
    let b = Recorder::default();
    let c = login_challenge(h, &b, "rp-a", "").await;
    let to = accept_login(h, &c, &h.id("replayed"), true).await;
    let jar = b.browser.snapshot();
    let first = location(&b.get(h, &to).await);
    assert!(first.starts_with("http://login.test/consent?"), "{first}");
    // The replay, in a copy of the browser as it was before the verifier's first use.
    let replay = browser_with(&[]);
    replay.browser.restore(jar.clone());
    let r = replay.get(h, &to).await;
    assert!(
        !replay.browser.snapshot().keys().any(|k| !k.contains("csrf")),
        "the replayed login verifier set another session cookie: {:?}",
        r.set_cookies
    );
    let lr = login_request(h, &replay, "rp-b").await;
    assert_eq!(lr["skip"], false, "the replayed login verifier created another remembered session: {lr}");
    assert!(
        !r.headers.get("location").is_some_and(|l| l.starts_with("http://login.test/consent?")),
        "the replayed login verifier was accepted: {:?}",
        r.headers.get("location")
    );

    // Without `remember`, a replayed login verifier and a replayed consent verifier
    // still give one code in all.
    let b = Recorder::default();
    let c = login_challenge(h, &b, "rp-a", "").await;
    let to = accept_login(h, &c, &h.id("replayed-2"), false).await;
    let jar = b.browser.snapshot();
    let mut codes = 0;
    for _ in 0..2 {
        let copy = browser_with(&[]);
        copy.browser.restore(jar.clone());
        let r = copy.get(h, &to).await;
        let Some(cc) = r.headers.get("location").and_then(|l| params_of(l).get("consent_challenge").cloned()) else {
            continue;
        };
        let verifier = accept_consent(h, &cc, &mut Seen::default()).await;
        let jar2 = copy.browser.snapshot();
        for _ in 0..2 {
            copy.browser.restore(jar2.clone());
            let back = copy.get(h, &verifier).await;
            if back.headers.get("location").is_some_and(|l| l.starts_with(CB) && params_of(l).contains_key("code")) {
                codes += 1;
            }
        }
    }
    assert_eq!(codes, 1, "replayed verifiers gave {codes} codes");
    let consents =
        h.admin_get(&format!("/admin/oauth2/auth/sessions/consent?subject={}", h.id("replayed-2"))).await.json();
    assert_eq!(consents.as_array().map(Vec::len), Some(1), "{consents}");
}

async fn run(h: &Harness) {
    let sink = Sink::start().await;
    create_clients(h, &sink).await;
    sid_is_no_session_cookie(h, &sink).await;
    no_cookie_carries_what_a_relying_party_sees(h, &sink).await;
    logout_hint_of_someone_else(h, &sink).await;
    login_verifier_replay(h).await;
}

async fn suite(dsn: &str) {
    run(&Harness::start(dsn, &SETTINGS).await).await;
}

/// The same attacks against the Worker under `wrangler dev` (public HTTP and the
/// `/admin/` API only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running Worker: scripts/edge-test runs it"]
async fn security_sessions_worker() {
    run(&Harness::worker()).await;
}

latch_tests::on_every_backend!(security_sessions, suite);
