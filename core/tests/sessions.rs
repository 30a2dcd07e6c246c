//! Login sessions, their cookie and logout, through `Latch::handle` over the in-memory
//! store with a fixed clock and seeded randomness: the session cookie is no public
//! value (`sid`), a login verifier yields one remembered session at most, and a logout
//! ends only the session of the browser it comes from.

use futures_executor::block_on;
use latch_core::config::Config;
use latch_core::http::{Method, Request, Response};
use latch_core::memory::MemoryStore;
use latch_core::platform::FixedPlatform;
use latch_core::store::LoginSessionStore;
use latch_core::{Latch, Port};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;

const NOW: i64 = 1_700_000_000;
const CB: &str = "https://app.example/cb";
const SESSION: &str = "latch_session";

type L = Latch<MemoryStore, FixedPlatform>;

thread_local! {
    /// The effects (back-channel logouts) of every response this test's thread got, as a
    /// host would carry them out.
    static EFFECTS: RefCell<Vec<latch_core::http::Effect>> = const { RefCell::new(Vec::new()) };
}

/// Answers a request, recording its effects.
fn handle(l: &L, port: Port, req: Request) -> Response {
    let r = block_on(l.handle(port, req)).1;
    EFFECTS.with(|e| e.borrow_mut().extend(r.effects.iter().cloned()));
    r
}

/// How many back-channel logouts the responses so far asked the host to send.
fn sent_logouts() -> usize {
    EFFECTS.with(|e| e.borrow().iter().filter(|e| matches!(e, latch_core::http::Effect::BackchannelLogout(_))).count())
}

fn latch() -> L {
    let mut c = Config::new("https://auth.example", b"0123456789abcdef-system-secret");
    c.pbkdf2_iterations = 10;
    c.login_url = "https://login.example/login".into();
    c.consent_url = "https://login.example/consent".into();
    c.logout_url = "https://login.example/logout".into();
    let l = Latch::new(MemoryStore::new(), FixedPlatform::new(NOW, 41), c);
    block_on(l.ensure_key(latch_core::keys::ID_TOKEN_SET, latch_core::keys::Alg::Es256)).unwrap();
    for id in ["rp-a", "rp-b"] {
        let r = admin(
            &l,
            Method::Post,
            "/admin/clients",
            Some(json!({
                "client_id": id, "client_secret": "secret", "grant_types": ["authorization_code"],
                "scope": "openid", "redirect_uris": [CB], "post_logout_redirect_uris": ["https://app.example/bye"],
                "backchannel_logout_uri": format!("https://app.example/{id}/backchannel")
            })),
        );
        assert_eq!(r.status, 201, "{:?}", r.json_body());
    }
    l
}

#[derive(Default, Clone)]
struct Browser {
    jar: RefCell<BTreeMap<String, String>>,
}

impl Browser {
    fn with(cookies: &[(&str, &str)]) -> Browser {
        let b = Browser::default();
        b.jar.borrow_mut().extend(cookies.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        b
    }

    fn get(&self, l: &L, url: &str) -> Response {
        let path = url.strip_prefix("https://auth.example").expect("a Latch URL");
        let cookies: Vec<String> = self.jar.borrow().iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut req = Request::new(Method::Get, path);
        if !cookies.is_empty() {
            req = req.header("cookie", &cookies.join("; "));
        }
        let r = handle(l, Port::Public, req);
        for (n, v) in &r.headers {
            if n == "set-cookie" {
                let (k, val) = v.split(';').next().unwrap().split_once('=').unwrap();
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
    handle(l, Port::Admin, req)
}

fn redirect_to(r: Response) -> String {
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    r.json_body()["redirect_to"].as_str().unwrap().to_string()
}

fn auth_url(client: &str) -> String {
    format!(
        "https://auth.example/oauth2/auth?client_id={client}&response_type=code&scope=openid&redirect_uri={}&state=state-12345&nonce=nonce-12345",
        form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    )
}

/// The login request of a fresh authorization request in `b`: (challenge, request).
fn login_request(l: &L, b: &Browser, client: &str) -> (String, Value) {
    let c = query_of(&location(&b.get(l, &auth_url(client))))["login_challenge"].clone();
    let lr = admin(l, Method::Get, &format!("/admin/oauth2/auth/requests/login?login_challenge={c}"), None);
    (c, lr.json_body())
}

fn accept_login(l: &L, challenge: &str, subject: &str, remember: bool) -> String {
    redirect_to(admin(
        l,
        Method::Put,
        &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
        Some(json!({"subject": subject, "remember": remember})),
    ))
}

/// Login (remembered) and consent for `client` as `subject`; returns the ID token.
fn sign_in(l: &L, b: &Browser, client: &str, subject: &str) -> String {
    let (c, lr) = login_request(l, b, client);
    let subject = if lr["skip"] == true { lr["subject"].as_str().unwrap().to_string() } else { subject.into() };
    let to_consent = location(&b.get(l, &accept_login(l, &c, &subject, true)));
    let cc = query_of(&to_consent)["consent_challenge"].clone();
    let to = redirect_to(admin(
        l,
        Method::Put,
        &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={cc}"),
        Some(json!({"grant_scope": ["openid"]})),
    ));
    let code = query_of(&location(&b.get(l, &to)))["code"].clone();
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client}:secret"));
    let req = Request::new(Method::Post, "/oauth2/token")
        .form(&[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB)])
        .header("authorization", &format!("Basic {basic}"));
    let t = block_on(l.handle(Port::Public, req)).1.json_body();
    t["id_token"].as_str().unwrap_or_else(|| panic!("{t}")).to_string()
}

fn claims(l: &L, idt: &str) -> Value {
    let jwks = block_on(l.handle(Port::Public, Request::new(Method::Get, "/.well-known/jwks.json"))).1.json_body();
    Value::Object(
        jwks["keys"].as_array().unwrap().iter().find_map(|k| latch_core::keys::verify_jws(k, idt)).expect("verifies"),
    )
}

/// Logs out with `idt` as hint, the logout app accepting; returns the verifier URL, if
/// the logout got that far.
fn logout(l: &L, b: &Browser, idt: &str) -> Option<String> {
    let r = b.get(
        l,
        &format!("https://auth.example/oauth2/sessions/logout?id_token_hint={idt}&post_logout_redirect_uri=https://app.example/bye&state=st4te-xyz"),
    );
    let to = location(&r);
    let Some(challenge) = query_of(&to).get("logout_challenge").cloned() else {
        assert_eq!(to, "https://app.example/bye?state=st4te-xyz");
        return None;
    };
    let v = redirect_to(admin(
        l,
        Method::Put,
        &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"),
        None,
    ));
    let done = b.get(l, &v);
    assert!(matches!(done.status, 200 | 302));
    Some(v)
}

#[test]
fn the_sid_of_an_id_token_is_no_session_cookie() {
    let l = latch();
    let victim = Browser::default();
    let idt = sign_in(&l, &victim, "rp-a", "victim");
    let sid = claims(&l, &idt)["sid"].as_str().unwrap().to_string();
    let cookie = victim.jar.borrow()[SESSION].clone();
    assert!(!cookie.contains(&sid), "the session cookie carries the sid");
    assert_eq!(login_request(&l, &victim, "rp-b").1["skip"], true);
    // rp-a sends the sid as the cookie, for rp-b: no session.
    let lr = login_request(&l, &Browser::with(&[(SESSION, &sid)]), "rp-b").1;
    assert_eq!((lr["skip"].clone(), lr["subject"].clone()), (json!(false), json!("")), "{lr}");
    // Nor does a value sealed for another purpose.
    let (challenge, _) = login_request(&l, &Browser::default(), "rp-b");
    assert_eq!(login_request(&l, &Browser::with(&[(SESSION, &challenge)]), "rp-b").1["skip"], false);
}

#[test]
fn a_login_verifier_yields_one_remembered_session() {
    let l = latch();
    let b = Browser::default();
    let (c, _) = login_request(&l, &b, "rp-a");
    let verifier = accept_login(&l, &c, "foo", true);
    let copy = b.clone();
    assert!(location(&b.get(&l, &verifier)).starts_with("https://login.example/consent?"));
    // The replay, with the cookies as they were: refused, and no second session.
    let r = copy.get(&l, &verifier);
    assert!(location(&r).contains("/oauth2/fallbacks/error?error=invalid_request"), "{:?}", r.headers);
    assert!(!copy.jar.borrow().contains_key(SESSION));
    assert_eq!(login_request(&l, &copy, "rp-b").1["skip"], false);
    // The first use's session is the only one: revoking the subject's sessions deletes one.
    let deleted = block_on(l.store.delete_login_sessions_of_subject("foo")).unwrap();
    assert_eq!(deleted, 1);
}

#[test]
fn a_logout_ends_only_the_browsers_own_session() {
    let l = latch();
    let victim = Browser::default();
    let idt = sign_in(&l, &victim, "rp-a", "victim");
    // A fresh browser with the victim's ID token: nothing ends, nobody is told.
    logout(&l, &Browser::default(), &idt);
    assert_eq!(login_request(&l, &victim, "rp-b").1["skip"], true, "a fresh browser logged the victim out");
    assert_eq!(sent_logouts(), 0);
    // A browser holding another user's session: declined at once, both sessions live.
    let mallory = Browser::default();
    sign_in(&l, &mallory, "rp-b", "mallory");
    assert_eq!(logout(&l, &mallory, &idt), None);
    assert_eq!(login_request(&l, &victim, "rp-b").1["skip"], true);
    assert_eq!(login_request(&l, &mallory, "rp-b").1["subject"], "mallory");
    assert_eq!(sent_logouts(), 0);
    // The victim's own browser: the session ends, rp-a is told once.
    let before = victim.clone();
    let verifier = logout(&l, &victim, &idt).expect("through the logout UI");
    assert_eq!(login_request(&l, &victim, "rp-b").1["skip"], false);
    assert_eq!(sent_logouts(), 1);
    // A replay of the verifier (cookies as they were) tells nobody again.
    before.get(&l, &verifier);
    assert_eq!(sent_logouts(), 1);
}
