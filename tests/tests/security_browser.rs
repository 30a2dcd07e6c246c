//! Attacks through the browser, over HTTP on every backend (and on the Worker through
//! the ignored `…_worker` tests, public HTTP only). Each test is an attack that must
//! fail; the threat it stands for is named on it:
//!
//! - **malicious relying party**: registers (or is given by a careless operator)
//!   redirect and logout URIs that run script on the issuer's origin (`javascript:`,
//!   `data:`, …) through a redirect or the form_post page;
//! - **web attacker steering a user's browser**: crafts authorization requests whose
//!   redirect URI a URL parser would rewrite into a registered one (tabs, newlines,
//!   userinfo, numeric IPs, dot-segments), sends request objects the server would
//!   silently ignore, or frames and sniffs Latch's HTML pages;
//! - **a page on the operator's machine reaching the admin port**: a cross-site form or
//!   `fetch` without preflight (no `Content-Type`, or `text/plain`) that would create a
//!   client with a secret the attacker knows, or accept a login.

use latch_tests::http::{location, params_of, Browser, Harness};
use reqwest::Method;
use serde_json::{json, Value};

const CB: &str = "http://127.0.0.1:5555/callback";

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The relying party every case starts from (one registered redirect URI).
async fn create_rp(h: &Harness) {
    h.create_client(json!({
        "client_id": h.id("browser-rp"), "client_secret": "secret",
        "grant_types": ["authorization_code", "client_credentials"], "response_types": ["code"],
        "scope": "openid offline", "redirect_uris": [CB]
    }))
    .await;
}

/// Malicious relying party: URIs that run script (or read files) when a browser is sent
/// there are refused on create, replace and patch, in every field a browser is sent to,
/// whatever their case or leading whitespace; a native app's private-use scheme is kept.
async fn script_schemes_are_refused_at_registration(h: &Harness) {
    let evil = [
        "javascript:alert(document.domain)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "\u{1}javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
    ];
    let ok = "http://127.0.0.1:5555/cb";
    for bad in evil {
        let cases = [
            json!({"redirect_uris": [bad]}),
            json!({"redirect_uris": [ok], "post_logout_redirect_uris": [bad]}),
            json!({"redirect_uris": [ok], "frontchannel_logout_uri": bad}),
            json!({"redirect_uris": [ok], "backchannel_logout_uri": bad}),
            json!({"redirect_uris": [ok], "client_uri": bad}),
            json!({"redirect_uris": [ok], "policy_uri": bad}),
            json!({"redirect_uris": [ok], "tos_uri": bad}),
            json!({"redirect_uris": [ok], "logo_uri": bad}),
        ];
        for (i, mut body) in cases.into_iter().enumerate() {
            let id = h.id(&format!("evil-{i}"));
            body["client_id"] = json!(id);
            let r = h.admin_json(Method::POST, "/admin/clients", &body).await;
            assert_eq!(r.status, 400, "create accepted {body}: {}", r.text);
            assert_eq!(r.json()["error"], "invalid_request", "{}", r.text);
            assert_eq!(h.admin_get(&format!("/admin/clients/{}", enc(&id))).await.status, 404);
        }
    }
    // Replace and patch go through the same checks.
    let id = h.id("evil-later");
    h.create_client(json!({"client_id": id, "redirect_uris": [ok]})).await;
    let path = format!("/admin/clients/{}", enc(&id));
    for bad in evil {
        let r = h.admin_json(Method::PUT, &path, &json!({"client_id": id, "redirect_uris": [bad]})).await;
        assert_eq!(r.status, 400, "replace accepted {bad:?}: {}", r.text);
        let r =
            h.admin_json(Method::PATCH, &path, &json!([{"op": "add", "path": "/redirect_uris/-", "value": bad}])).await;
        assert_eq!(r.status, 400, "patch accepted {bad:?}: {}", r.text);
        let r = h
            .admin_json(
                Method::PATCH,
                &path,
                &json!([{"op": "replace", "path": "/frontchannel_logout_uri", "value": bad}]),
            )
            .await;
        assert_eq!(r.status, 400, "patch accepted frontchannel {bad:?}: {}", r.text);
    }
    assert_eq!(h.admin_get(&path).await.json()["redirect_uris"], json!([ok]));
    // RFC 8252 §7.1: a native app's reverse-domain scheme stays allowed.
    h.create_client(json!({
        "client_id": h.id("native-app"), "token_endpoint_auth_method": "none",
        "redirect_uris": ["com.example.app:/oauth2redirect"], "post_logout_redirect_uris": ["com.example.app:/bye"]
    }))
    .await;
}

/// A page on the operator's machine reaching the admin port: a cross-site POST can
/// carry a body without `Content-Type` or as `text/plain` (no preflight); every JSON
/// write refuses it, and nothing is written.
async fn admin_writes_need_a_json_content_type(h: &Harness) {
    let id = h.id("csrf-client");
    let body = json!({"client_id": id, "client_secret": "attacker-knows-this", "grant_types": ["client_credentials"]})
        .to_string();
    let simple = |method: Method, path: &str, ct: Option<&str>, body: String| {
        let rb = h.admin_request(method, path).body(body);
        match ct {
            Some(ct) => rb.header("content-type", ct),
            None => rb,
        }
    };
    for ct in [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data")] {
        let r = h.send(simple(Method::POST, "/admin/clients", ct, body.clone())).await;
        assert_eq!(r.status, 415, "client created with content type {ct:?}: {}", r.text);
        assert_eq!(r.json()["error"], "unsupported_media_type", "{}", r.text);
        let set = h.id("csrf-keys");
        let r = h
            .send(simple(
                Method::POST,
                &format!("/admin/keys/{set}"),
                ct,
                json!({"alg": "ES256", "use": "sig"}).to_string(),
            ))
            .await;
        assert_eq!(r.status, 415, "key created with content type {ct:?}: {}", r.text);
    }
    assert_eq!(h.admin_get(&format!("/admin/clients/{}", enc(&id))).await.status, 404);
    // The other JSON writes, without a Content-Type.
    let rp = enc(&h.id("browser-rp"));
    for (method, path, body) in [
        (Method::PUT, format!("/admin/clients/{rp}"), json!({"redirect_uris": [CB]})),
        (
            Method::PATCH,
            format!("/admin/clients/{rp}"),
            json!([{"op": "replace", "path": "/client_name", "value": "x"}]),
        ),
        (Method::PUT, format!("/admin/clients/{rp}/lifespans"), json!({})),
    ] {
        let r = h.send(simple(method.clone(), &path, None, body.to_string())).await;
        assert_eq!(r.status, 415, "{method} {path} without Content-Type: {}", r.text);
    }
    let b = Browser::default();
    let to_login = location(&b.get(h, &auth_url(h, &format!("&redirect_uri={}", enc(CB)))).await);
    let challenge = params_of(&to_login)["login_challenge"].clone();
    let accept = format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}");
    let r = h.send(simple(Method::PUT, &accept, None, json!({"subject": "mallory"}).to_string())).await;
    assert_eq!(r.status, 415, "login accepted without Content-Type: {}", r.text);
    // The JSON media type, with parameters, and JSON Patch's own, still work.
    let r = h
        .send(simple(
            Method::PUT,
            &accept,
            Some("application/json; charset=utf-8"),
            json!({"subject": "alice"}).to_string(),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = h
        .send(simple(
            Method::PATCH,
            &format!("/admin/clients/{rp}"),
            Some("application/json-patch+json"),
            json!([{"op": "replace", "path": "/client_name", "value": "RP"}]).to_string(),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

fn auth_url(h: &Harness, extra: &str) -> String {
    format!(
        "{}/oauth2/auth?client_id={}&response_type=code&scope=openid&state=state-123456{extra}",
        h.public,
        enc(&h.id("browser-rp"))
    )
}

/// Web attacker: an error for a request without `redirect_uri` goes to the one
/// registered URI (RFC 6749 §4.1.2.1), never to a relative `?error=…` on the issuer.
async fn errors_without_redirect_uri_go_to_the_registered_one(h: &Harness) {
    let url = format!(
        "{}/oauth2/auth?client_id={}&response_type=token&scope=openid&state=state-123456",
        h.public,
        enc(&h.id("browser-rp"))
    );
    let to = location(&h.send(h.http.get(&url)).await);
    assert!(to.starts_with(&format!("{CB}#error=")) || to.starts_with(&format!("{CB}?error=")), "{to}");
    assert_eq!(params_of(&to)["state"], "state-123456");
    let r = h.send(h.http.get(format!("{url}&response_mode=form_post"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains(&format!("action=\"{CB}\"")), "{}", r.text);
}

/// Web attacker: `request` and `request_uri` are refused with OIDC's own errors at the
/// client's redirect URI, not silently ignored (OIDC Core §3.1.2.6, §6).
async fn unsigned_or_unregistered_request_objects_are_refused(h: &Harness) {
    for (param, value, code) in [
        ("request", "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.", "invalid_request_object"),
        ("request_uri", "https://rp.example/request.jwt", "invalid_request_uri"),
    ] {
        let url = auth_url(h, &format!("&redirect_uri={}&{param}={}", enc(CB), enc(value)));
        let to = location(&h.send(h.http.get(&url)).await);
        assert!(to.starts_with(&format!("{CB}?")), "{param}: {to}");
        let p = params_of(&to);
        assert_eq!(p.get("error").map(String::as_str), Some(code), "{param}: {to}");
        assert_eq!(p["state"], "state-123456");
    }
}

/// Web attacker: a loopback redirect URI matches only with its text unchanged but for
/// the port (RFC 8252 §7.3, RFC 9700 §2.1). Text a URL parser would rewrite into the
/// registered URI is refused before anything is issued (a newline in it once produced a
/// code and a 302 without `Location`).
async fn loopback_redirects_match_exactly_but_for_the_port(h: &Harness) {
    for ok in [CB, "http://127.0.0.1:61234/callback", "http://127.0.0.1/callback"] {
        let to = location(&h.send(h.http.get(auth_url(h, &format!("&redirect_uri={}", enc(ok))))).await);
        assert!(to.contains("login_challenge="), "{ok}: {to}");
    }
    for bad in [
        "http://127.0.0.1:61234/call\nback",
        "http://127.0.0.1:61234/call\tback",
        "http://127.0.0.1:61234/callback\r\n",
        "\thttp://127.0.0.1:61234/callback",
        "http://127.0.0.1:61234/x/../callback",
        "http://127.0.0.1:61234/./callback",
        "http://user@127.0.0.1:5555/callback",
        "http://2130706433:5555/callback",
        "http://127.1:5555/callback",
        "http://0x7f.0.0.1:5555/callback",
        "HTTP://127.0.0.1:5555/callback",
    ] {
        let r = h.send(h.http.get(auth_url(h, &format!("&redirect_uri={}", enc(bad))))).await;
        assert_eq!(r.status, 302, "{bad:?}: {} {}", r.status, r.text);
        let to = r.headers.get("location").cloned().unwrap_or_default();
        assert!(!to.contains("login_challenge"), "{bad:?} was taken for the registered URI: {to}");
        assert_eq!(params_of(&to).get("error").map(String::as_str), Some("invalid_request"), "{bad:?}: {to}");
    }
}

fn assert_locked_down(r: &latch_tests::http::Reply, what: &str) {
    let header = |n: &str| r.headers.get(n).cloned().unwrap_or_default();
    assert!(header("content-type").starts_with("text/html"), "{what}: {:?}", r.headers);
    let csp = header("content-security-policy");
    assert!(csp.starts_with("default-src 'none'"), "{what}: CSP {csp:?}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: CSP {csp:?}");
    assert!(!csp.contains("script-src 'unsafe-inline'"), "{what}: CSP {csp:?}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    // The form_post page sends its origin (only) with its POST: `Origin: null` would be
    // refused by relying parties that check Origin.
    let referrer = if what == "form_post" { "origin" } else { "no-referrer" };
    assert_eq!(header("referrer-policy"), referrer, "{what}");
    assert_eq!(header("cache-control"), "no-store", "{what}");
}

/// Web attacker: Latch's HTML pages cannot be framed, sniffed or made to run script
/// other than their own, and JSON answers are not sniffed or cached.
async fn html_pages_are_locked_down(h: &Harness) {
    for page in ["error?error=x&error_description=%3Cscript%3E", "login", "consent", "logout", "logout/callback"] {
        let r = h.public_get(&format!("/oauth2/fallbacks/{page}")).await;
        assert_locked_down(&r, page);
        assert!(!r.text.contains("<script>"), "{page}: {}", r.text);
    }
    // The form_post page: only its own script, by hash.
    let r = h.send(h.http.get(auth_url(h, "&response_mode=form_post&prompt=bogus"))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_locked_down(&r, "form_post");
    let csp = r.headers["content-security-policy"].clone();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    // JSON: RFC 6749 §5.1 no-store on token responses, and never sniffed as HTML.
    let rp = h.id("browser-rp");
    let t = h.public_form("/oauth2/token", Some((&rp, "secret")), &[("grant_type", "client_credentials")]).await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.headers.get("cache-control").map(String::as_str), Some("no-store"), "{:?}", t.headers);
    // Discovery stays cacheable (it is public), but no JSON is sniffed.
    for r in [&t, &h.public_get("/.well-known/openid-configuration").await] {
        assert_eq!(r.headers.get("x-content-type-options").map(String::as_str), Some("nosniff"), "{:?}", r.headers);
    }
}

/// Web attacker: the front-channel logout page frames only the clients' logout URIs
/// (`frame-src`), runs no script and cannot itself be framed.
async fn frontchannel_logout_page_is_locked_down(h: &Harness) {
    let id = h.id("fc-rp");
    h.create_client(json!({
        "client_id": id, "client_secret": "secret", "grant_types": ["authorization_code"], "scope": "openid",
        "redirect_uris": [CB], "frontchannel_logout_uri": "http://127.0.0.1:5555/fc-logout"
    }))
    .await;
    let b = Browser::default();
    let url = format!(
        "{}/oauth2/auth?client_id={}&response_type=code&scope=openid&state=state-123456&redirect_uri={}",
        h.public,
        enc(&id),
        enc(CB)
    );
    let to_login = location(&b.get(h, &url).await);
    let challenge = params_of(&to_login)["login_challenge"].clone();
    let accept = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
            &json!({"subject": h.id("fc-user"), "remember": true, "remember_for": 3600}),
        )
        .await;
    assert_eq!(accept.status, 200, "{}", accept.text);
    let to_consent = location(&b.get(h, accept.json()["redirect_to"].as_str().expect("redirect_to")).await);
    let cc = params_of(&to_consent)["consent_challenge"].clone();
    let accept = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={cc}"),
            &json!({"grant_scope": ["openid"]}),
        )
        .await;
    assert_eq!(accept.status, 200, "{}", accept.text);
    let back = location(&b.get(h, accept.json()["redirect_to"].as_str().expect("redirect_to")).await);
    assert!(params_of(&back).contains_key("code"), "{back}");
    let to_ui = location(&b.get(h, &format!("{}/oauth2/sessions/logout", h.public)).await);
    let challenge = params_of(&to_ui)["logout_challenge"].clone();
    let accept: Value = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/logout/accept?logout_challenge={challenge}"),
            &json!({}),
        )
        .await
        .json();
    let page = b.get(h, accept["redirect_to"].as_str().expect("redirect_to")).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("<iframe src=\"http://127.0.0.1:5555/fc-logout?"), "{}", page.text);
    assert_locked_down(&page, "front-channel logout");
    let csp = page.headers["content-security-policy"].clone();
    assert!(csp.contains("frame-src http://127.0.0.1:5555"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");
}

/// One attack on every backend: memory, SQLite, PostgreSQL, MySQL, and (ignored, run by
/// `scripts/edge-test`) the Worker. Each starts from a fresh server with [`create_rp`].
macro_rules! attack {
    ($name:ident) => {
        mod $name {
            use super::*;

            async fn on(h: Harness) {
                create_rp(&h).await;
                super::$name(&h).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[ignore = "needs a running Worker: scripts/edge-test runs it"]
            async fn worker() {
                on(Harness::worker()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                on(Harness::start("memory", &[]).await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = latch_tests::db::TestDb::sqlite().await;
                on(Harness::start(db.dsn(), &[]).await).await;
                db.drop_db().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = latch_tests::db::TestDb::postgres().await;
                on(Harness::start(db.dsn(), &[]).await).await;
                db.drop_db().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                let db = latch_tests::db::TestDb::mysql().await;
                on(Harness::start(db.dsn(), &[]).await).await;
                db.drop_db().await;
            }
        }
    };
}

attack!(script_schemes_are_refused_at_registration);
attack!(admin_writes_need_a_json_content_type);
attack!(errors_without_redirect_uri_go_to_the_registered_one);
attack!(unsigned_or_unregistered_request_objects_are_refused);
attack!(loopback_redirects_match_exactly_but_for_the_port);
attack!(html_pages_are_locked_down);
attack!(frontchannel_logout_page_is_locked_down);
