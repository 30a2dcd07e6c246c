//! Attacks on revocation, over HTTP on every backend: each test is an attack that must
//! fail. Threats (of the project's list) each covers:
//!
//! - *holder of a leaked or revoked token*: a rotated refresh token presented again within
//!   the grace period (`oauth2.grant.refresh_token.rotation_grace_period`) after the grant
//!   was revoked, by `/oauth2/revoke` of its refresh or its access token, by deleting the
//!   consent session, or by a replayed code (`revoked_grant_stays_revoked_in_grace`); the
//!   previous access token after a refresh (`refresh_retires_the_previous_access_token`).
//! - *malicious relying party* (or a leaked client's tokens): tokens and codes of a deleted
//!   client, and a client created again with the same id refreshing or redeeming what was
//!   issued to the one before (`deleted_client_leaves_nothing_usable`); a refresh issuing a
//!   scope the client is no longer allowed, or refreshing after it lost the
//!   `refresh_token` grant (`refresh_rechecks_the_client`).
//!
//! The grace-period attack runs natively only (the Worker runs without a grace period
//! unless configured so); the other three also run against the Worker through public
//! HTTP only (`…_worker`, ignored: `scripts/edge-test` runs them).

use latch_tests::http::{location, params_of, Browser, Harness, Reply};
use reqwest::Method;
use serde_json::{json, Value};

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const CB: &str = "http://127.0.0.1:5555/callback";

/// The native servers' settings: those of `tests/http_code_flow.rs` (which
/// `scripts/edge-test` gives the Worker) and a grace period.
const GRACE: [(&str, &str); 4] = [
    ("URLS_LOGIN", "http://login.test/login"),
    ("URLS_CONSENT", "http://login.test/consent"),
    ("TTL_ACCESS_TOKEN", "1h"),
    ("OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_PERIOD", "5m"),
];

/// A confidential relying party allowed the code flow with refresh tokens.
async fn create_client(h: &Harness, name: &str) -> String {
    let id = h.id(name);
    h.create_client(json!({
        "client_id": id, "client_secret": "secret",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "scope": "openid offline", "redirect_uris": [CB]
    }))
    .await;
    id
}

fn auth_url(h: &Harness, client: &str) -> String {
    format!(
        "{}/oauth2/auth?client_id={client}&response_type=code&scope=openid+offline&redirect_uri={}&state=state-123456&nonce=nonce-123456&code_challenge={CHALLENGE}&code_challenge_method=S256",
        h.public,
        url::form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
    )
}

/// A whole authorization up to the code (the login & consent app's part through the
/// admin API, as in `tests/http_code_flow.rs`); returns the code.
async fn authorize(h: &Harness, client: &str, subject: &str) -> String {
    let b = Browser::default();
    let to_login = location(&b.get(h, &auth_url(h, client)).await);
    let challenge = params_of(&to_login)["login_challenge"].clone();
    let accept = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/login/accept?login_challenge={challenge}"),
            &json!({"subject": subject, "remember": false, "acr": "0"}),
        )
        .await;
    assert_eq!(accept.status, 200, "{}", accept.text);
    let to_consent = location(&b.get(h, accept.json()["redirect_to"].as_str().expect("redirect_to")).await);
    let cc = params_of(&to_consent)["consent_challenge"].clone();
    let cr = h.admin_get(&format!("/admin/oauth2/auth/requests/consent?consent_challenge={cc}")).await.json();
    let accept = h
        .admin_json(
            Method::PUT,
            &format!("/admin/oauth2/auth/requests/consent/accept?consent_challenge={cc}"),
            &json!({"grant_scope": cr["requested_scope"], "remember": false}),
        )
        .await;
    assert_eq!(accept.status, 200, "{}", accept.text);
    let back = location(&b.get(h, accept.json()["redirect_to"].as_str().expect("redirect_to")).await);
    params_of(&back)["code"].clone()
}

async fn redeem(h: &Harness, client: &str, code: &str) -> Reply {
    h.public_form(
        "/oauth2/token",
        Some((client, "secret")),
        &[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", CB), ("code_verifier", VERIFIER)],
    )
    .await
}

async fn refresh(h: &Harness, client: &str, rt: &str) -> Reply {
    h.public_form("/oauth2/token", Some((client, "secret")), &[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .await
}

/// The token response of a fresh grant: access and refresh token.
async fn grant(h: &Harness, client: &str, subject: &str) -> Value {
    let code = authorize(h, client, subject).await;
    let t = redeem(h, client, &code).await;
    assert_eq!(t.status, 200, "{}", t.text);
    t.json()
}

fn field(v: &Value, name: &str) -> String {
    v[name].as_str().unwrap_or_else(|| panic!("no {name} in {v}")).to_string()
}

/// Whether introspection calls the token active.
async fn active(h: &Harness, token: &str) -> bool {
    h.introspect(token).await["active"] == true
}

/// The refresh that must fail: `invalid_grant`, and if a token response came back
/// anyway, none of its tokens may be active.
async fn assert_refused(h: &Harness, client: &str, rt: &str, what: &str) {
    let r = refresh(h, client, rt).await;
    if r.status == 200 {
        let t = r.json();
        let (at, rt) = (field(&t, "access_token"), field(&t, "refresh_token"));
        panic!(
            "{what}: the revoked grant issued fresh tokens (access token active: {}, refresh token active: {})",
            active(h, &at).await,
            active(h, &rt).await
        );
    }
    assert_eq!((r.status, r.json()["error"].clone()), (400, json!("invalid_grant")), "{what}: {}", r.text);
}

/// Rotates once and returns (the rotated-away refresh token, the new token response).
async fn rotated(h: &Harness, client: &str, subject: &str) -> (String, Value) {
    let t = grant(h, client, subject).await;
    let old = field(&t, "refresh_token");
    let r = refresh(h, client, &old).await;
    assert_eq!(r.status, 200, "{}", r.text);
    (old, r.json())
}

/// Holder of a revoked token: within the grace period, the rotated-away refresh token of
/// a grant revoked any way at all gets nothing (RFC 7009 §2.1, RFC 9700 §4.14.2). The
/// grace period covers a rotation whose grant is still live, and only that.
async fn revoked_grant_stays_revoked_in_grace(h: &Harness) {
    let client = create_client(h, "grace-rp").await;
    let subject = h.id("grace-user");

    // The grace period itself works: a live grant's rotated token is honoured again.
    let (old, _) = rotated(h, &client, &subject).await;
    let again = refresh(h, &client, &old).await;
    assert_eq!(again.status, 200, "a live grant within the grace period: {}", again.text);

    // 1. /oauth2/revoke of the newest refresh token.
    let (old, new) = rotated(h, &client, &subject).await;
    let r =
        h.public_form("/oauth2/revoke", Some((&client, "secret")), &[("token", &field(&new, "refresh_token"))]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        !active(h, &field(&new, "access_token")).await,
        "revoking the refresh token revokes the grant's access token"
    );
    assert_refused(h, &client, &old, "after /oauth2/revoke of the refresh token").await;

    // 2. /oauth2/revoke of the newest access token (fosite revokes the whole grant).
    let (old, new) = rotated(h, &client, &subject).await;
    let r =
        h.public_form("/oauth2/revoke", Some((&client, "secret")), &[("token", &field(&new, "access_token"))]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!active(h, &field(&new, "refresh_token")).await, "revoking the access token revokes the grant");
    assert_refused(h, &client, &old, "after /oauth2/revoke of the access token").await;

    // 3. Deleting the consent session (the user or the operator withdraws the grant).
    let (old, new) = rotated(h, &client, &subject).await;
    let path = format!("/admin/oauth2/auth/sessions/consent?subject={subject}&client={client}");
    assert_eq!(h.admin_delete(&path).await.status, 204);
    assert!(!active(h, &field(&new, "refresh_token")).await);
    assert_refused(h, &client, &old, "after the consent session was deleted").await;

    // 4. A replayed code revokes the grant (RFC 6749 §4.1.2).
    let code = authorize(h, &client, &subject).await;
    let t = redeem(h, &client, &code).await.json();
    let old = field(&t, "refresh_token");
    let new = refresh(h, &client, &old).await.json();
    assert_eq!(redeem(h, &client, &code).await.json()["error"], "invalid_grant");
    assert!(!active(h, &field(&new, "refresh_token")).await, "the replay revoked the grant");
    assert_refused(h, &client, &old, "after a code replay").await;

    // 5. 20 grace re-issues racing a revocation: once it answered, nothing is active.
    let (old, new) = rotated(h, &client, &subject).await;
    let racers = futures::future::join_all((0..20).map(|_| refresh(h, &client, &old)));
    let newest = field(&new, "refresh_token");
    let form = [("token", newest.as_str())];
    let revoke = h.public_form("/oauth2/revoke", Some((&client, "secret")), &form);
    let (replies, revoked) = futures::join!(racers, revoke);
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    for r in replies.iter().filter(|r| r.status == 200) {
        let t = r.json();
        assert!(!active(h, &field(&t, "access_token")).await, "a re-issue's access token survived the revocation");
        assert!(!active(h, &field(&t, "refresh_token")).await, "a re-issue's refresh token survived the revocation");
    }
    assert!(replies.iter().all(|r| r.status == 200 || r.json()["error"] == "invalid_grant"), "{replies:?}");
    assert_refused(h, &client, &old, "after the race").await;
}

/// Malicious relying party or a leaked client's tokens: deleting a client revokes
/// everything issued to it, and a client created again with the same id (and secret)
/// can neither refresh nor redeem anything of its predecessor's.
async fn deleted_client_leaves_nothing_usable(h: &Harness) {
    let client = create_client(h, "deleted-rp").await;
    let subject = h.id("deleted-user");
    let t = grant(h, &client, &subject).await;
    let (at, rt) = (field(&t, "access_token"), field(&t, "refresh_token"));
    let pending = authorize(h, &client, &subject).await;
    assert!(active(h, &at).await && active(h, &rt).await);

    assert_eq!(h.admin_delete(&format!("/admin/clients/{client}")).await.status, 204);
    assert!(!active(h, &at).await, "a deleted client's access token is inactive");
    assert!(!active(h, &rt).await, "a deleted client's refresh token is inactive");

    // The same id again, same secret: a new client, not the old one.
    assert_eq!(create_client(h, "deleted-rp").await, client);
    assert_refused(h, &client, &rt, "the re-created client refreshing the old client's token").await;
    let r = redeem(h, &client, &pending).await;
    assert_eq!((r.status, r.json()["error"].clone()), (400, json!("invalid_grant")), "an old code: {}", r.text);
    let consents = h.admin_get(&format!("/admin/oauth2/auth/sessions/consent?subject={subject}")).await.json();
    assert!(
        consents
            .as_array()
            .is_some_and(|c| c.iter().all(|c| c["consent_request"]["client"]["client_id"] != client.as_str())),
        "the deleted client's consents are gone: {consents}"
    );
}

/// Holder of a leaked access token: a refresh retires the grant's previous access token
/// (fosite revokes it by request id), in the same step as the rotation.
async fn refresh_retires_the_previous_access_token(h: &Harness, rp: &str) {
    let client = create_client(h, rp).await;
    let t = grant(h, &client, &h.id("retire-user")).await;
    let r = refresh(h, &client, &field(&t, "refresh_token")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!active(h, &field(&t, "access_token")).await, "the access token before the refresh is still active");
    assert!(active(h, &field(&r.json(), "access_token")).await);
}

/// Malicious relying party: a refresh issues only what the client is allowed now: not a
/// scope taken from it since (`invalid_scope`), and nothing once it lost the
/// `refresh_token` grant (`unauthorized_client`), as fosite's refresh handler.
async fn refresh_rechecks_the_client(h: &Harness) {
    let client = create_client(h, "recheck-rp").await;
    let t = grant(h, &client, &h.id("recheck-user")).await;
    let rt = field(&t, "refresh_token");
    let patch = |ops: Value| {
        let path = format!("/admin/clients/{client}");
        async move {
            let r = h.send(h.admin_request(Method::PATCH, &path).json(&ops)).await;
            assert_eq!(r.status, 200, "{}", r.text);
        }
    };
    patch(json!([{"op": "replace", "path": "/scope", "value": "offline"}])).await;
    let r = refresh(h, &client, &rt).await;
    assert_eq!((r.status, r.json()["error"].clone()), (400, json!("invalid_scope")), "a scope taken away: {}", r.text);
    // Narrowed to what it may still ask for, the refresh works and carries only that.
    let r = h
        .public_form(
            "/oauth2/token",
            Some((&client, "secret")),
            &[("grant_type", "refresh_token"), ("refresh_token", &rt), ("scope", "offline")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let t = r.json();
    assert_eq!(t["scope"], "offline");
    assert!(t.get("id_token").is_none(), "no ID token without openid: {t}");
    let rt = field(&t, "refresh_token");
    assert_eq!(h.introspect(&rt).await["scope"], "offline", "the new refresh token lost the scope too");

    patch(json!([{"op": "replace", "path": "/grant_types", "value": ["authorization_code"]}])).await;
    let r = refresh(h, &client, &rt).await;
    assert_eq!((r.status, r.json()["error"].clone()), (400, json!("unauthorized_client")), "{}", r.text);
}

async fn native(dsn: &str) {
    let h = Harness::start(dsn, &GRACE).await;
    revoked_grant_stays_revoked_in_grace(&h).await;
    deleted_client_leaves_nothing_usable(&h).await;
    refresh_retires_the_previous_access_token(&h, "retire-rp").await;
    refresh_rechecks_the_client(&h).await;
}

latch_tests::on_every_backend!(revocation_attacks, native);

/// The attacks that need no grace period, against the Worker (public HTTP only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running Worker: scripts/edge-test runs it"]
async fn revocation_attacks_worker() {
    let h = Harness::worker();
    deleted_client_leaves_nothing_usable(&h).await;
    refresh_retires_the_previous_access_token(&h, "retire-rp").await;
    refresh_rechecks_the_client(&h).await;
}
