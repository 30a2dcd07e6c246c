//! The harness of the core's black-box tests: a `Latch` over the in-memory store with a
//! fixed clock and seeded randomness, a scripted browser with a cookie jar, and a
//! flow-stepping login & consent app on the admin API, so a test says only what it
//! checks: `Harness::new().client(…).authorize(url).accept_login(…).accept_consent(…)`.
#![allow(dead_code)] // each test module uses its own part of the harness

use base64::Engine as _;
use futures_executor::block_on;
use latch_core::config::Config;
use latch_core::http::{Effect, Method, Request, Response};
use latch_core::memory::MemoryStore;
use latch_core::platform::{BackchannelLogout, FixedPlatform};
use latch_core::{pkce, Latch, Port};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// The fixed clock's time.
pub const NOW: i64 = 1_700_000_000;
/// The PKCE verifier of [`auth_url`] (RFC 7636 Appendix B).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// Every test client's redirect URI.
pub const CB: &str = "https://app.example/cb";
/// The issuer.
pub const ISSUER: &str = "https://auth.example";

pub type L = Latch<MemoryStore, FixedPlatform>;

thread_local! {
    /// The effects of every response this test's thread got, as a host carries them out.
    static EFFECTS: RefCell<Vec<Effect>> = const { RefCell::new(Vec::new()) };
}

/// Answers a request, recording its effects (see [`sent_logouts`]).
pub fn handle(l: &L, port: Port, req: Request) -> Response {
    let r = block_on(l.handle(port, req)).1;
    EFFECTS.with(|e| e.borrow_mut().extend(r.effects.iter().cloned()));
    r
}

/// The back-channel logouts the responses so far asked the host to send.
pub fn sent_logouts() -> Vec<BackchannelLogout> {
    EFFECTS.with(|e| {
        e.borrow()
            .iter()
            .filter_map(|e| match e {
                Effect::BackchannelLogout(d) => Some(d.clone()),
                Effect::Call { .. } => None,
            })
            .collect()
    })
}

/// A call a response asked the host to make: what, method, URL, headers.
pub type SentCall = (&'static str, &'static str, String, Vec<(String, String)>);

/// The other calls the responses so far asked the host to make.
pub fn sent_calls() -> Vec<SentCall> {
    EFFECTS.with(|e| {
        e.borrow()
            .iter()
            .filter_map(|e| match e {
                Effect::Call { what, request } => {
                    Some((*what, request.method, request.url.clone(), request.headers.clone()))
                }
                Effect::BackchannelLogout(_) => None,
            })
            .collect()
    })
}

/// A Latch with login, consent and logout UIs and an ES256 ID-token key.
pub fn latch(seed: u64) -> L {
    latch_with(seed, |_| {})
}

/// [`latch`] with settings changed.
pub fn latch_with(seed: u64, change: impl FnOnce(&mut Config)) -> L {
    let mut c = Config::new(ISSUER, b"0123456789abcdef-system-secret");
    c.pbkdf2_iterations = 10;
    c.login_url = "https://login.example/login".into();
    c.consent_url = "https://login.example/consent".into();
    c.logout_url = "https://login.example/logout".into();
    change(&mut c);
    let l = Latch::new(MemoryStore::new(), FixedPlatform::new(NOW, seed), c);
    block_on(l.ensure_key(latch_core::keys::ID_TOKEN_SET, latch_core::keys::Alg::Es256)).expect("a key");
    l
}

/// Creates a client through the admin API (Hydra's JSON).
pub fn create_client(l: &L, body: Value) {
    let r = admin(l, Method::Post, "/admin/clients", Some(body));
    assert_eq!(r.status, 201, "{:?}", r.json_body());
}

/// The client most tests use: `app`/`app-secret`, code and refresh grants, ID tokens in
/// the front channel too, scopes `openid offline email`.
pub fn app_client(l: &L) {
    create_client(
        l,
        json!({
            "client_id": "app", "client_secret": "app-secret",
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code", "id_token", "code id_token"],
            "scope": "openid offline email", "redirect_uris": [CB]
        }),
    );
}

/// A browser: a cookie jar, and one request at a time.
#[derive(Default, Clone)]
pub struct Browser {
    pub jar: RefCell<BTreeMap<String, String>>,
}

impl Browser {
    /// A browser holding these cookies.
    pub fn with(cookies: &[(&str, &str)]) -> Browser {
        let b = Browser::default();
        b.jar.borrow_mut().extend(cookies.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        b
    }

    /// `GET url` (a Latch URL) with the jar's cookies; keeps the cookies the answer sets.
    pub fn get(&self, l: &L, url: &str) -> Response {
        let path = url.strip_prefix(ISSUER).expect("a Latch URL");
        let cookies: Vec<String> = self.jar.borrow().iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut req = Request::new(Method::Get, path);
        if !cookies.is_empty() {
            req = req.header("cookie", &cookies.join("; "));
        }
        let r = handle(l, Port::Public, req);
        for (n, v) in &r.headers {
            if n == "set-cookie" {
                let (k, val) = v.split(';').next().and_then(|p| p.split_once('=')).expect("a cookie");
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

/// The `Location` of a 302.
pub fn location(r: &Response) -> String {
    assert_eq!(r.status, 302, "expected a redirect: {}", String::from_utf8_lossy(&r.body));
    r.headers.iter().find(|(n, _)| n == "location").expect("a Location").1.clone()
}

/// The query (or fragment) parameters of a URL.
pub fn query_of(url: &str) -> BTreeMap<String, String> {
    let q = url.split_once(['?', '#']).map(|x| x.1).unwrap_or("");
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// A request to the admin port, with a JSON body if given.
pub fn admin(l: &L, method: Method, path: &str, body: Option<Value>) -> Response {
    let mut req = Request::new(method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    handle(l, Port::Admin, req)
}

/// The `redirect_to` of an admin answer.
pub fn redirect_to(r: Response) -> String {
    assert_eq!(r.status, 200, "{:?}", r.json_body());
    r.json_body()["redirect_to"].as_str().expect("redirect_to").to_string()
}

/// A form POST to the public port, with HTTP Basic client credentials if given.
pub fn form(l: &L, path: &str, auth: Option<(&str, &str)>, pairs: &[(&str, &str)]) -> Response {
    let mut req = Request::new(Method::Post, path).form(pairs);
    if let Some((id, s)) = auth {
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{s}"));
        req = req.header("authorization", &format!("Basic {b}"));
    }
    block_on(l.handle(Port::Public, req)).1
}

/// Introspection on the admin port.
pub fn introspect(l: &L, token: &str) -> Value {
    let r = block_on(
        l.handle(Port::Admin, Request::new(Method::Post, "/admin/oauth2/introspect").form(&[("token", token)])),
    );
    r.1.json_body()
}

/// An authorization request of `app` for `openid offline email` with state, nonce and
/// PKCE ([`VERIFIER`]), plus `extra` (`&name=value…`).
pub fn auth_url(extra: &str) -> String {
    auth_url_of("app", "openid+offline+email", extra)
}

/// An authorization request of `client` for `scope` (`+`-separated) with state, nonce
/// and PKCE ([`VERIFIER`]), plus `extra`.
pub fn auth_url_of(client: &str, scope: &str, extra: &str) -> String {
    format!(
        "{ISSUER}/oauth2/auth?client_id={client}&response_type=code&scope={scope}&redirect_uri={}&state=state-12345&nonce=nonce-12345&code_challenge={}&code_challenge_method=S256{extra}",
        form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>(),
        pkce::s256(VERIFIER)
    )
}

/// The code exchange of `app` for `code`, with [`VERIFIER`].
pub fn redeem(l: &L, code: &str) -> Response {
    form(
        l,
        "/oauth2/token",
        Some(("app", "app-secret")),
        &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
    )
}

/// The claims of an ID token, verified against the published JWKS.
pub fn claims(l: &L, idt: &str) -> Value {
    let jwks = block_on(l.handle(Port::Public, Request::new(Method::Get, "/.well-known/jwks.json"))).1.json_body();
    let keys = jwks["keys"].as_array().expect("keys");
    Value::Object(keys.iter().find_map(|k| latch_core::keys::verify_jws(k, idt)).expect("verifies"))
}

/// A flow at the login UI: the browser was sent there with this challenge.
pub struct AtLogin<'a> {
    pub l: &'a L,
    pub b: &'a Browser,
    pub challenge: String,
    /// The login request as the admin API shows it.
    pub request: Value,
}

/// A flow at the consent UI.
pub struct AtConsent<'a> {
    pub l: &'a L,
    pub b: &'a Browser,
    pub challenge: String,
    /// The consent request as the admin API shows it.
    pub request: Value,
}

/// Sends the browser to `url`, which must redirect it to the login UI.
pub fn authorize<'a>(l: &'a L, b: &'a Browser, url: &str) -> AtLogin<'a> {
    let to = location(&b.get(l, url));
    let challenge = query_of(&to).get("login_challenge").cloned().unwrap_or_else(|| panic!("not the login UI: {to}"));
    let request =
        admin(l, Method::Get, &format!("/admin/oauth2/auth/requests/login?login_challenge={challenge}"), None);
    assert_eq!(request.status, 200, "{:?}", request.json_body());
    AtLogin { l, b, challenge, request: request.json_body() }
}

impl<'a> AtLogin<'a> {
    /// The login UI's answer to `PUT …/login/{verb}` with `body`: the verifier URL.
    pub fn decide(&self, verb: &str, body: Value) -> String {
        let path = format!("/admin/oauth2/auth/requests/login/{verb}?login_challenge={}", self.challenge);
        redirect_to(admin(self.l, Method::Put, &path, Some(body)))
    }

    /// Accepts with `body`; the browser returns to Latch with the verifier, and Latch's
    /// answer to that return is the result.
    pub fn accept_then(&self, body: Value) -> Response {
        self.b.get(self.l, &self.decide("accept", body))
    }

    /// Accepts with `body`, and the browser goes on to the consent UI.
    pub fn accept(self, body: Value) -> AtConsent<'a> {
        let to = location(&self.accept_then(body));
        at_consent(self.l, self.b, &to)
    }

    /// Accepts `subject` as Hydra's login apps do: the remembered subject when `skip`.
    pub fn accept_subject(self, subject: &str, remember: bool) -> AtConsent<'a> {
        let subject =
            if self.request["skip"] == true { self.request["subject"].as_str().unwrap_or(subject) } else { subject };
        let body = json!({"subject": subject, "remember": remember});
        self.accept(body)
    }

    /// Rejects with `body`; the browser's final redirect (to the client).
    pub fn reject(self, body: Value) -> String {
        let v = self.decide("reject", body);
        location(&self.b.get(self.l, &v))
    }
}

/// The consent request behind a redirect to the consent UI.
pub fn at_consent<'a>(l: &'a L, b: &'a Browser, to: &str) -> AtConsent<'a> {
    let challenge =
        query_of(to).get("consent_challenge").cloned().unwrap_or_else(|| panic!("not the consent UI: {to}"));
    let request =
        admin(l, Method::Get, &format!("/admin/oauth2/auth/requests/consent?consent_challenge={challenge}"), None);
    assert_eq!(request.status, 200, "{:?}", request.json_body());
    AtConsent { l, b, challenge, request: request.json_body() }
}

impl<'a> AtConsent<'a> {
    /// The consent UI's answer to `PUT …/consent/{verb}` with `body`: the verifier URL.
    pub fn decide(&self, verb: &str, body: Value) -> String {
        let path = format!("/admin/oauth2/auth/requests/consent/{verb}?consent_challenge={}", self.challenge);
        redirect_to(admin(self.l, Method::Put, &path, Some(body)))
    }

    /// Accepts with `body`; the browser's final redirect (to the client).
    pub fn accept(self, body: Value) -> String {
        let v = self.decide("accept", body);
        location(&self.b.get(self.l, &v))
    }

    /// Grants what was requested.
    pub fn grant_requested(self) -> String {
        let scope = self.request["requested_scope"].clone();
        self.accept(json!({"grant_scope": scope}))
    }

    /// Rejects with `body`; the browser's final redirect (to the client).
    pub fn reject(self, body: Value) -> String {
        let v = self.decide("reject", body);
        location(&self.b.get(self.l, &v))
    }
}

/// A complete flow of `app` in `b` as `foo@bar.com`, login and consent both remembered;
/// the redirect back to the client.
pub fn remember_login_and_consent(l: &L, b: &Browser) -> String {
    authorize(l, b, &auth_url(""))
        .accept(json!({"subject": "foo@bar.com", "remember": true}))
        .accept(json!({"grant_scope": ["openid", "offline", "email"], "remember": true}))
}

/// Login (remembered) and consent of `client` (secret `secret`, no PKCE) as `subject`
/// for `openid`; returns the ID token.
pub fn sign_in(l: &L, b: &Browser, client: &str, subject: &str) -> String {
    let url = format!(
        "{ISSUER}/oauth2/auth?client_id={client}&response_type=code&scope=openid&redirect_uri={}&state=state-12345&nonce=nonce-12345",
        form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    );
    let back = authorize(l, b, &url).accept_subject(subject, true).grant_requested();
    let code = query_of(&back)["code"].clone();
    let t = form(
        l,
        "/oauth2/token",
        Some((client, "secret")),
        &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", CB)],
    )
    .json_body();
    t["id_token"].as_str().unwrap_or_else(|| panic!("{t}")).to_string()
}

/// A host with the fixed clock and seeded randomness whose outgoing calls
/// ([`Platform::fetch`](latch_core::platform::Platform::fetch)) are answered: a `GET`
/// from a table of URL to body (404 for any other URL); a `POST` (a token hook) with
/// the next of `answers` (status and body, or a transport error; 204 when none is
/// left), kept in `posted`. Every call is counted.
pub struct Served {
    pub fixed: FixedPlatform,
    pub served: RefCell<BTreeMap<String, String>>,
    pub fetches: std::cell::Cell<u32>,
    pub answers: RefCell<std::collections::VecDeque<Result<(u16, String), String>>>,
    pub posted: RefCell<Vec<latch_core::platform::Outbound>>,
}

impl Served {
    /// At [`NOW`], with random stream `seed`, serving nothing yet.
    pub fn new(seed: u64) -> Served {
        Served {
            fixed: FixedPlatform::new(NOW, seed),
            served: Default::default(),
            fetches: Default::default(),
            answers: Default::default(),
            posted: Default::default(),
        }
    }
}

impl latch_core::platform::Platform for Served {
    fn now(&self) -> i64 {
        self.fixed.now()
    }
    fn fill_random(&self, buf: &mut [u8]) {
        self.fixed.fill_random(buf)
    }
    async fn sleep_ms(&self, ms: u64) {
        self.fixed.sleep_ms(ms).await
    }
    async fn fetch(
        &self,
        r: &latch_core::platform::Outbound,
    ) -> Result<latch_core::platform::OutboundResponse, String> {
        self.fetches.set(self.fetches.get() + 1);
        assert!(r.max_body > 0 && r.timeout_ms > 0, "every call is bounded");
        if r.method == "POST" {
            self.posted.borrow_mut().push(r.clone());
            return match self.answers.borrow_mut().pop_front() {
                Some(Ok((status, body))) => {
                    Ok(latch_core::platform::OutboundResponse { status, body: body.into_bytes() })
                }
                Some(Err(e)) => Err(e),
                None => Ok(latch_core::platform::OutboundResponse { status: 204, body: vec![] }),
            };
        }
        Ok(match self.served.borrow().get(&r.url) {
            Some(body) => latch_core::platform::OutboundResponse { status: 200, body: body.clone().into_bytes() },
            None => latch_core::platform::OutboundResponse { status: 404, body: b"{}".to_vec() },
        })
    }
}
