//! The app against a fake admin API (an axum router that answers like Latch's and records
//! every PUT it receives), driven by reqwest as a browser: a cookie jar, redirects not
//! followed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use url::Url;

use super::{app, login_and_consent, AdminApi, Csrf, Remembered};
use crate::args::ConnectionArgs;
use crate::endpoint::ApiKind;
use crate::http::Api;

const LATCH: &str = "http://latch.test";

/// One PUT seen by the fake admin API.
#[derive(Debug, Clone, PartialEq)]
struct Put {
    /// `login/accept`, `consent/reject`, ...
    path: String,
    /// The raw query, e.g. `login_challenge=login-1`.
    query: String,
    /// The JSON body, `Null` when there was none.
    body: Value,
}

#[derive(Debug, Default)]
struct Recorded {
    puts: Vec<Put>,
    /// `Authorization` header of every request.
    authorization: Vec<String>,
}

type Rec = Arc<Mutex<Recorded>>;

fn record_auth(rec: &Rec, headers: &HeaderMap) {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    rec.lock().unwrap().authorization.push(auth);
}

fn client(trusted: bool) -> Value {
    json!({"client_id": "app-1", "client_name": "Example App", "skip_consent": trusted})
}

fn not_found() -> Response {
    let body = json!({"error": "Not Found", "error_description": "Unable to locate the requested resource"});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

async fn get_login(State(rec): State<Rec>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    record_auth(&rec, &headers);
    let challenge = q.get("login_challenge").cloned().unwrap_or_default();
    match challenge.as_str() {
        "login-1" => Json(json!({
            "challenge": "login-1", "skip": false, "subject": "", "client": client(false),
            "oidc_context": {"login_hint": "hint@example.com"},
            "requested_scope": ["openid"], "request_url": format!("{LATCH}/oauth2/auth?client_id=app-1"),
        }))
        .into_response(),
        "login-skip" => Json(json!({
            "challenge": "login-skip", "skip": true, "subject": "alice@example.com", "client": client(false),
        }))
        .into_response(),
        "login-gone" => {
            (StatusCode::GONE, Json(json!({"redirect_to": format!("{LATCH}/oauth2/auth?already=handled")})))
                .into_response()
        }
        _ => not_found(),
    }
}

async fn get_consent(State(rec): State<Rec>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    record_auth(&rec, &headers);
    let challenge = q.get("consent_challenge").cloned().unwrap_or_default();
    let (skip, trusted, scopes, audience) = match challenge.as_str() {
        "consent-1" => (false, false, json!(["openid", "offline", "email", "profile"]), json!(["https://api.example"])),
        "consent-skip" => (true, false, json!(["openid", "email"]), json!([])),
        "consent-trusted" => (false, true, json!(["openid", "profile"]), json!(["https://api.example"])),
        _ => return not_found(),
    };
    Json(json!({
        "challenge": challenge, "skip": skip, "subject": "foo@bar.com", "client": client(trusted),
        "requested_scope": scopes, "requested_access_token_audience": audience,
    }))
    .into_response()
}

async fn get_logout(State(rec): State<Rec>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>) -> Response {
    record_auth(&rec, &headers);
    match q.get("logout_challenge").map(String::as_str) {
        Some("logout-1") => {
            Json(json!({"challenge": "logout-1", "subject": "foo@bar.com", "sid": "sid-1", "rp_initiated": false}))
                .into_response()
        }
        _ => not_found(),
    }
}

async fn put_any(
    State(rec): State<Rec>,
    Path((kind, action)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: String,
) -> Response {
    record_auth(&rec, &headers);
    let body = if body.is_empty() { Value::Null } else { serde_json::from_str(&body).unwrap_or(json!("not JSON")) };
    rec.lock().unwrap().puts.push(Put { path: format!("{kind}/{action}"), query: query.unwrap_or_default(), body });
    match (kind.as_str(), action.as_str()) {
        ("logout", "reject") => StatusCode::NO_CONTENT.into_response(),
        ("logout", "accept") => {
            Json(json!({"redirect_to": format!("{LATCH}/oauth2/sessions/logout?logout_verifier=v")})).into_response()
        }
        _ => Json(json!({"redirect_to": format!("{LATCH}/oauth2/auth?{kind}_{action}=ok")})).into_response(),
    }
}

fn fake_admin(rec: Rec) -> Router {
    Router::new()
        .route("/admin/oauth2/auth/requests/login", get(get_login))
        .route("/admin/oauth2/auth/requests/consent", get(get_consent))
        .route("/admin/oauth2/auth/requests/logout", get(get_logout))
        .route("/admin/oauth2/auth/requests/{kind}/{action}", put(put_any))
        .with_state(rec)
}

async fn spawn(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/")
}

/// Starts the fake admin API and the app (with an admin token); returns the app's base URL.
async fn start() -> (String, Rec) {
    let rec = Rec::default();
    let admin_base = spawn(fake_admin(rec.clone())).await;
    (start_app(&admin_base).await, rec)
}

async fn start_app(admin_base: &str) -> String {
    spawn(app(admin_api(admin_base), Csrf::random(), Remembered::Accept)).await
}

fn admin_api(admin_base: &str) -> AdminApi {
    let conn = ConnectionArgs { admin_token: Some("s3cret".into()), ..ConnectionArgs::default() };
    AdminApi::new(Api::connect_to(&conn, ApiKind::Admin, Url::parse(admin_base).unwrap()).unwrap())
}

/// The fake admin API and only the login and consent pages (as `perform
/// authorization-code` serves them), set to `remembered`.
async fn start_login_and_consent(remembered: Remembered) -> (String, Rec) {
    let rec = Rec::default();
    let admin_base = spawn(fake_admin(rec.clone())).await;
    (spawn(login_and_consent(admin_api(&admin_base), Csrf::random(), remembered)).await, rec)
}

/// An answer as the browser sees it.
struct Page {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The value of the first `<input name="NAME" value="...">`.
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start =
            self.body.find(&marker).unwrap_or_else(|| panic!("no field {name} in {}", self.body)) + marker.len();
        self.body[start..].split('"').next().unwrap_or_default().to_owned()
    }
}

/// A browser: keeps cookies, does not follow redirects.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(base: &str) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { http, base: base.trim_end_matches('/').to_owned(), cookies: Vec::new() }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = if self.cookies.is_empty() {
            req
        } else {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            req.header(COOKIE, jar.join("; "))
        };
        let res = req.send().await.unwrap();
        for set in res.headers().get_all(SET_COOKIE) {
            let pair = set.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(name, _)| name != k);
            self.cookies.push((k.to_owned(), v.to_owned()));
        }
        Page { status: res.status(), headers: res.headers().clone(), body: res.text().await.unwrap() }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }
}

fn puts(rec: &Rec) -> Vec<Put> {
    rec.lock().unwrap().puts.clone()
}

fn put_of(path: &str, query: &str, body: Value) -> Put {
    Put { path: path.into(), query: query.into(), body }
}

// ------------------------------------------------------------------------------------------
// Login

#[tokio::test]
async fn login_form_shows_client_hint_and_sets_csrf_cookie() {
    let (base, rec) = start().await;
    let mut b = Browser::new(&base);
    let page = b.get("/login?login_challenge=login-1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<strong>Example App</strong>"), "{}", page.body);
    assert_eq!(page.field("email"), "hint@example.com");
    assert_eq!(page.field("challenge"), "login-1");
    assert!(page.body.contains("name=\"remember\""), "{}", page.body);
    assert!(page.body.contains(">Log in</button>") && page.body.contains(">Deny access</button>"));
    assert_eq!(page.field("_csrf").len(), 43, "HMAC-SHA-256 in base64url");

    let cookie = page.headers.get(SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(cookie.starts_with("latch_csrf="), "{cookie}");
    for attr in ["; Path=/", "; HttpOnly", "; SameSite=Lax"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert_eq!(page.headers.get("x-frame-options").map(|v| v.as_bytes()), Some(&b"DENY"[..]));
    assert_eq!(page.headers.get("cache-control").map(|v| v.as_bytes()), Some(&b"no-store"[..]));

    // A second page reuses the cookie: no new Set-Cookie.
    let again = b.get("/login?login_challenge=login-1").await;
    assert!(again.headers.get(SET_COOKIE).is_none());
    assert!(puts(&rec).is_empty());
    assert_eq!(rec.lock().unwrap().authorization, ["Bearer s3cret", "Bearer s3cret"]);
}

/// Opens the login form and posts it with the given fields (plus challenge and CSRF).
async fn post_login(base: &str, fields: &[(&str, &str)]) -> Page {
    let mut b = Browser::new(base);
    let form = b.get("/login?login_challenge=login-1").await;
    let csrf = form.field("_csrf");
    let mut all = vec![("_csrf", csrf.as_str()), ("challenge", "login-1")];
    all.extend_from_slice(fields);
    b.post("/login", &all).await
}

#[tokio::test]
async fn wrong_password_shows_the_form_again() {
    let (base, rec) = start().await;
    let page = post_login(&base, &[("email", "foo@bar.com"), ("password", "wrong"), ("submit", "login")]).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("The username / password combination is not correct."), "{}", page.body);
    assert_eq!(page.field("email"), "foo@bar.com");
    assert_eq!(page.field("challenge"), "login-1");
    assert!(puts(&rec).is_empty());

    let page = post_login(&base, &[("email", "bar@foo.com"), ("password", "foobar"), ("submit", "login")]).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(puts(&rec).is_empty());
}

#[tokio::test]
async fn correct_login_accepts_without_remember() {
    let (base, rec) = start().await;
    let page = post_login(&base, &[("email", "foo@bar.com"), ("password", "foobar"), ("submit", "login")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), format!("{LATCH}/oauth2/auth?login_accept=ok"));
    assert_eq!(
        puts(&rec),
        [put_of(
            "login/accept",
            "login_challenge=login-1",
            json!({"subject": "foo@bar.com", "remember": false, "remember_for": 3600, "acr": "0"})
        )]
    );
}

#[tokio::test]
async fn correct_login_accepts_with_remember() {
    let (base, rec) = start().await;
    let fields = [("email", "foo@bar.com"), ("password", "foobar"), ("remember", "1"), ("submit", "login")];
    let page = post_login(&base, &fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        puts(&rec),
        [put_of(
            "login/accept",
            "login_challenge=login-1",
            json!({"subject": "foo@bar.com", "remember": true, "remember_for": 3600, "acr": "0"})
        )]
    );
}

#[tokio::test]
async fn deny_rejects_the_login() {
    let (base, rec) = start().await;
    // Denying needs no credentials.
    let page = post_login(&base, &[("submit", "deny")]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), format!("{LATCH}/oauth2/auth?login_reject=ok"));
    assert_eq!(
        puts(&rec),
        [put_of(
            "login/reject",
            "login_challenge=login-1",
            json!({"error": "access_denied", "error_description": "The resource owner denied the request"})
        )]
    );
}

#[tokio::test]
async fn skip_accepts_the_known_subject_at_once() {
    let (base, rec) = start().await;
    let page = Browser::new(&base).get("/login?login_challenge=login-skip").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), format!("{LATCH}/oauth2/auth?login_accept=ok"));
    assert!(!page.body.contains("<form"));
    assert_eq!(
        puts(&rec),
        [put_of("login/accept", "login_challenge=login-skip", json!({"subject": "alice@example.com"}))]
    );
}

#[tokio::test]
async fn asking_shows_the_form_for_a_remembered_login() {
    let (base, rec) = start_login_and_consent(Remembered::Ask).await;
    let mut b = Browser::new(&base);
    let page = b.get("/login?login_challenge=login-skip").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<form") && page.body.contains(">Log in</button>"), "{}", page.body);
    // The remembered user is the one Latch accepts: pre-filled.
    assert_eq!(page.field("email"), "alice@example.com");
    assert!(page.headers.get(SET_COOKIE).is_some_and(|c| c.to_str().unwrap_or("").starts_with("latch_csrf=")));
    assert_eq!(page.headers.get("x-frame-options").map(|v| v.as_bytes()), Some(&b"DENY"[..]));
    assert!(puts(&rec).is_empty(), "nothing accepted before the form is submitted");

    // Submitting it accepts as any login does; the CSRF check still applies.
    let csrf = page.field("_csrf");
    let form = [("challenge", "login-skip"), ("email", "foo@bar.com"), ("password", "foobar"), ("submit", "login")];
    assert_eq!(b.post("/login", &form).await.status, StatusCode::FORBIDDEN);
    let mut with_csrf = form.to_vec();
    with_csrf.push(("_csrf", &csrf));
    let done = b.post("/login", &with_csrf).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        puts(&rec),
        [put_of(
            "login/accept",
            "login_challenge=login-skip",
            json!({"subject": "foo@bar.com", "remember": false, "remember_for": 3600, "acr": "0"})
        )]
    );
}

#[tokio::test]
async fn asking_shows_the_consent_form_even_when_remembered_or_trusted() {
    let (base, rec) = start_login_and_consent(Remembered::Ask).await;
    for challenge in ["consent-skip", "consent-trusted"] {
        let page = Browser::new(&base).get(&format!("/consent?consent_challenge={challenge}")).await;
        assert_eq!(page.status, StatusCode::OK, "{challenge}: {}", page.body);
        assert!(page.body.contains("name=\"grant_scope\" value=\"openid\" checked"), "{}", page.body);
        assert_eq!(page.field("challenge"), challenge);
    }
    assert!(puts(&rec).is_empty());
}

#[tokio::test]
async fn login_and_consent_alone_accepts_remembered_requests_when_told() {
    let (base, rec) = start_login_and_consent(Remembered::Accept).await;
    let page = Browser::new(&base).get("/login?login_challenge=login-skip").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers.get("cache-control").map(|v| v.as_bytes()), Some(&b"no-store"[..]));
    let page = Browser::new(&base).get("/consent?consent_challenge=consent-skip").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(puts(&rec).iter().map(|p| p.path.as_str()).collect::<Vec<_>>(), ["login/accept", "consent/accept"]);
    // Only those two pages.
    for path in ["/", "/logout?logout_challenge=logout-1", "/device"] {
        assert_eq!(Browser::new(&base).get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}

// ------------------------------------------------------------------------------------------
// Consent

#[tokio::test]
async fn consent_grants_the_ticked_requested_scopes() {
    let (base, rec) = start().await;
    let mut b = Browser::new(&base);
    let page = b.get("/consent?consent_challenge=consent-1").await;
    assert_eq!(page.status, StatusCode::OK);
    for scope in ["openid", "offline", "email", "profile"] {
        let checkbox = format!("name=\"grant_scope\" value=\"{scope}\" checked");
        assert!(page.body.contains(&checkbox), "{checkbox} missing in {}", page.body);
    }
    assert!(page.body.contains("Example App") && page.body.contains("https://api.example"), "{}", page.body);
    assert!(page.body.contains("name=\"remember\""), "{}", page.body);
    assert!(puts(&rec).is_empty());

    let csrf = page.field("_csrf");
    let form = [
        ("_csrf", csrf.as_str()),
        ("challenge", "consent-1"),
        ("grant_scope", "email"),
        ("grant_scope", "openid"),
        ("grant_scope", "admin"), // not requested: dropped
        ("remember", "1"),
        ("submit", "allow"),
    ];
    let done = b.post("/consent", &form).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), format!("{LATCH}/oauth2/auth?consent_accept=ok"));
    assert_eq!(
        puts(&rec),
        [put_of(
            "consent/accept",
            "consent_challenge=consent-1",
            json!({
                "grant_scope": ["openid", "email"],
                "grant_access_token_audience": ["https://api.example"],
                "remember": true,
                "remember_for": 3600,
                "session": {"access_token": {}, "id_token": {"email": "foo@bar.com", "email_verified": true}},
            })
        )]
    );
}

#[tokio::test]
async fn consent_without_remember_and_with_profile() {
    let (base, rec) = start().await;
    let mut b = Browser::new(&base);
    let csrf = b.get("/consent?consent_challenge=consent-1").await.field("_csrf");
    let form = [("_csrf", csrf.as_str()), ("challenge", "consent-1"), ("grant_scope", "profile"), ("submit", "allow")];
    assert_eq!(b.post("/consent", &form).await.status, StatusCode::SEE_OTHER);
    let body = &puts(&rec)[0].body;
    assert_eq!(body["grant_scope"], json!(["profile"]));
    assert_eq!(body["remember"], json!(false));
    assert_eq!(body["session"]["id_token"], json!({"name": "Foo Bar"}));
}

#[tokio::test]
async fn consent_skip_and_skip_consent_grant_everything_requested() {
    let (base, rec) = start().await;
    let page = Browser::new(&base).get("/consent?consent_challenge=consent-skip").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), format!("{LATCH}/oauth2/auth?consent_accept=ok"));
    let page = Browser::new(&base).get("/consent?consent_challenge=consent-trusted").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        puts(&rec),
        [
            put_of(
                "consent/accept",
                "consent_challenge=consent-skip",
                json!({
                    "grant_scope": ["openid", "email"],
                    "grant_access_token_audience": [],
                    "session": {"access_token": {}, "id_token": {"email": "foo@bar.com", "email_verified": true}},
                })
            ),
            put_of(
                "consent/accept",
                "consent_challenge=consent-trusted",
                json!({
                    "grant_scope": ["openid", "profile"],
                    "grant_access_token_audience": ["https://api.example"],
                    "session": {"access_token": {}, "id_token": {"name": "Foo Bar"}},
                })
            ),
        ]
    );
}

#[tokio::test]
async fn consent_deny_rejects() {
    let (base, rec) = start().await;
    let mut b = Browser::new(&base);
    let csrf = b.get("/consent?consent_challenge=consent-1").await.field("_csrf");
    let form = [("_csrf", csrf.as_str()), ("challenge", "consent-1"), ("grant_scope", "openid"), ("submit", "deny")];
    let page = b.post("/consent", &form).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), format!("{LATCH}/oauth2/auth?consent_reject=ok"));
    assert_eq!(
        puts(&rec),
        [put_of(
            "consent/reject",
            "consent_challenge=consent-1",
            json!({"error": "access_denied", "error_description": "The resource owner denied the request"})
        )]
    );
}

// ------------------------------------------------------------------------------------------
// CSRF

#[tokio::test]
async fn csrf_missing_or_mismatched_is_forbidden() {
    let (base, rec) = start().await;
    let login = [("email", "foo@bar.com"), ("password", "foobar"), ("submit", "login"), ("challenge", "login-1")];

    // A token but no cookie (a cross-site post from a browser that never saw the form).
    let mut victim = Browser::new(&base);
    let token = victim.get("/login?login_challenge=login-1").await.field("_csrf");
    let mut fields = login.to_vec();
    fields.push(("_csrf", &token));
    for path in ["/login", "/consent", "/logout"] {
        let page = Browser::new(&base).post(path, &fields).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(page.body.contains("CSRF cookie is missing"), "{path}: {}", page.body);
    }

    // A cookie but no token.
    let page = victim.post("/login", &login).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("no CSRF token"), "{}", page.body);

    // Another browser's token with this browser's cookie.
    let mut attacker = Browser::new(&base);
    let other = attacker.get("/login?login_challenge=login-1").await.field("_csrf");
    assert_ne!(other, token);
    let mut fields = login.to_vec();
    fields.push(("_csrf", &other));
    let page = victim.post("/login", &fields).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(page.body.contains("does not match"), "{}", page.body);

    assert!(puts(&rec).is_empty());
    // The right token still works afterwards.
    let mut fields = login.to_vec();
    fields.push(("_csrf", &token));
    assert_eq!(victim.post("/login", &fields).await.status, StatusCode::SEE_OTHER);
}

// ------------------------------------------------------------------------------------------
// Logout

#[tokio::test]
async fn logout_yes_accepts_and_no_rejects() {
    let (base, rec) = start().await;
    let mut b = Browser::new(&base);
    let page = b.get("/logout?logout_challenge=logout-1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Do you want to log out <strong>foo@bar.com</strong>?"), "{}", page.body);
    let csrf = page.field("_csrf");

    let yes = b.post("/logout", &[("_csrf", &csrf), ("challenge", "logout-1"), ("submit", "yes")]).await;
    assert_eq!(yes.status, StatusCode::SEE_OTHER);
    assert_eq!(yes.location(), format!("{LATCH}/oauth2/sessions/logout?logout_verifier=v"));

    let no = b.post("/logout", &[("_csrf", &csrf), ("challenge", "logout-1"), ("submit", "no")]).await;
    assert_eq!(no.status, StatusCode::OK);
    assert!(no.body.contains("You stayed logged in"), "{}", no.body);

    let neither = b.post("/logout", &[("_csrf", &csrf), ("challenge", "logout-1")]).await;
    assert_eq!(neither.status, StatusCode::BAD_REQUEST);

    assert_eq!(
        puts(&rec),
        [
            put_of("logout/accept", "logout_challenge=logout-1", Value::Null),
            put_of("logout/reject", "logout_challenge=logout-1", Value::Null),
        ]
    );
}

// ------------------------------------------------------------------------------------------
// Errors

#[tokio::test]
async fn gone_follows_redirect_to() {
    let (base, rec) = start().await;
    let page = Browser::new(&base).get("/login?login_challenge=login-gone").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), format!("{LATCH}/oauth2/auth?already=handled"));
    assert!(puts(&rec).is_empty());
}

#[tokio::test]
async fn admin_errors_become_error_pages() {
    let (base, _) = start().await;
    for path in ["/login?login_challenge=nope", "/consent?consent_challenge=nope", "/logout?logout_challenge=nope"] {
        let page = Browser::new(&base).get(path).await;
        assert_eq!(page.status, StatusCode::BAD_GATEWAY, "{path}");
        assert!(page.body.contains("<dd>404</dd>"), "{path}: {}", page.body);
        assert!(page.body.contains("<dd>Not Found</dd>"), "{path}: {}", page.body);
        assert!(page.body.contains("Unable to locate the requested resource"), "{path}: {}", page.body);
    }

    // An admin API that is not there at all.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let base = start_app(&closed).await;
    let page = Browser::new(&base).get("/login?login_challenge=login-1").await;
    assert_eq!(page.status, StatusCode::BAD_GATEWAY);
    assert!(page.body.contains("could not be reached"), "{}", page.body);
}

#[tokio::test]
async fn missing_challenge_is_a_bad_request() {
    let (base, rec) = start().await;
    let mut b = Browser::new(&base);
    for path in ["/login", "/consent?consent_challenge=", "/logout"] {
        let page = b.get(path).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{path}");
        assert!(page.body.contains("_challenge query parameter"), "{path}: {}", page.body);
    }
    assert!(rec.lock().unwrap().authorization.is_empty(), "no admin call without a challenge");
}

#[tokio::test]
async fn index_explains_the_setup() {
    let (base, _) = start().await;
    let page = Browser::new(&base).get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    assert!(page.body.contains(&format!("urls.login:   http://{host}/login")), "{}", page.body);
    assert!(page.body.contains("foo@bar.com"), "{}", page.body);
}
