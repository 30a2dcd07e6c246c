//! Security attack tests: servers sharing one database, and system-secret rotation.
//! Each test is an attack (or an operator's routine) that must fail to do harm.
//!
//! - `replicas_*` (threat: holder of a leaked or revoked token, and a malicious relying
//!   party whose client was deleted or whose secret was changed): two servers on ONE
//!   PostgreSQL (or MySQL) database. A client deleted, or its secret changed, through
//!   server A must stop getting tokens from server B at once (the next request, no
//!   sleep), though B has just served it (its caches warm); a token revoked through A is
//!   inactive on B at once. On the Worker, every request may land on another isolate:
//!   the same suite over one origin.
//! - `replicas_see_key_changes_at_once_postgres` (threat: holder of a leaked signing
//!   key): a key deleted through A stops signing on B at once (PostgreSQL tells B; on
//!   MySQL and the Worker a key set may be reused for up to `KEY_CACHE_TTL`, see
//!   ARCHITECTURE.md, *Keys*).
//! - `secret_rotation_*` (threat: unauthenticated network client facing a server whose
//!   keys broke: a 500 storm instead of a clear refusal): started with system secrets
//!   [A], then [B, A] (keys are re-sealed under B), then [B] (everything works), then
//!   [C] (readiness is 503 on the admin port naming the set and kid; the JWK set answers;
//!   signing answers 503 `temporarily_unavailable`, never 500).

use latch_core::Port;
use latch_tests::db::TestDb;
use latch_tests::http::Harness;
use reqwest::Method;
use serde_json::{json, Value};

/// A client-credentials token request's status.
async fn token_status(h: &Harness, id: &str, secret: &str) -> (u16, Value) {
    let r = h.public_form("/oauth2/token", Some((id, secret)), &[("grant_type", "client_credentials")]).await;
    (r.status, r.json())
}

/// What B does right after A changed something: B served the client just before, so
/// whatever B caches is warm.
async fn replicas_agree(a: &Harness, b: &Harness, tag: &str) {
    // A client deleted through A gets no token from B.
    let gone = a.id(&format!("replica-deleted-{tag}"));
    a.create_client(json!({"client_id": gone, "client_secret": "secret-one", "grant_types": ["client_credentials"]}))
        .await;
    b.cc_token(&gone, "secret-one", &[]).await;
    b.cc_token(&gone, "secret-one", &[]).await;
    assert_eq!(a.admin_delete(&format!("/admin/clients/{gone}")).await.status, 204);
    let (status, body) = token_status(b, &gone, "secret-one").await;
    assert_eq!(status, 401, "B still issues tokens to a client deleted through A: {body}");
    assert_eq!(body["error"], "invalid_client");

    // A secret changed through A: the old one stops working on B, the new one works.
    let changed = a.id(&format!("replica-rotated-{tag}"));
    a.create_client(
        json!({"client_id": changed, "client_secret": "secret-old", "grant_types": ["client_credentials"]}),
    )
    .await;
    b.cc_token(&changed, "secret-old", &[]).await;
    let mut body = a.admin_get(&format!("/admin/clients/{changed}")).await.json();
    body["client_secret"] = json!("secret-new");
    let put = a.admin_json(Method::PUT, &format!("/admin/clients/{changed}"), &body).await;
    assert_eq!(put.status, 200, "{}", put.text);
    let (status, body) = token_status(b, &changed, "secret-old").await;
    assert_eq!(status, 401, "B still accepts the secret replaced through A: {body}");
    b.cc_token(&changed, "secret-new", &[]).await;

    // A client switched to another authentication method through A (here: its grant
    // types narrowed) is refused by B at once.
    let narrowed = a.id(&format!("replica-narrowed-{tag}"));
    a.create_client(
        json!({"client_id": narrowed, "client_secret": "secret-narrow", "grant_types": ["client_credentials"]}),
    )
    .await;
    b.cc_token(&narrowed, "secret-narrow", &[]).await;
    let patch = a
        .admin_json(
            Method::PATCH,
            &format!("/admin/clients/{narrowed}"),
            &json!([{"op": "replace", "path": "/grant_types", "value": ["authorization_code"]},
                    {"op": "replace", "path": "/redirect_uris", "value": ["https://rp.example/cb"]}]),
        )
        .await;
    assert_eq!(patch.status, 200, "{}", patch.text);
    let (status, body) = token_status(b, &narrowed, "secret-narrow").await;
    assert_ne!(status, 200, "B still grants client_credentials to a client that lost it through A: {body}");

    // A token revoked through A is inactive on B at once (B introspected it active first).
    let holder = a.id(&format!("replica-holder-{tag}"));
    a.create_client(
        json!({"client_id": holder, "client_secret": "secret-holder", "grant_types": ["client_credentials"]}),
    )
    .await;
    let token = b.cc_token(&holder, "secret-holder", &[]).await["access_token"].as_str().expect("token").to_string();
    assert_eq!(b.introspect(&token).await["active"], true);
    let revoked = a.public_form("/oauth2/revoke", Some((&holder, "secret-holder")), &[("token", &token)]).await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(b.introspect(&token).await["active"], false, "B still says a token revoked through A is active");
}

/// Two servers on one database.
async fn replicas_on(db: TestDb) {
    let a = Harness::start(db.dsn(), &[]).await;
    let b = Harness::start(db.dsn(), &[]).await;
    // Several rounds, each way: a notification that arrived late would show up here.
    for round in 0..3 {
        replicas_agree(&a, &b, &format!("ab{round}")).await;
        replicas_agree(&b, &a, &format!("ba{round}")).await;
    }
    drop((a, b));
    db.drop_db().await;
}

// Multi-threaded, as `latch serve` runs: each server's listener is polled on its own
// while the test waits for answers (a single thread would order them at random).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_agree_at_once_postgres() {
    replicas_on(TestDb::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_agree_at_once_mysql() {
    replicas_on(TestDb::mysql().await).await;
}

/// The Worker: requests may land on any isolate; nothing per isolate may keep a client
/// alive. Run by `scripts/edge-test`.
#[tokio::test]
#[ignore = "needs a Worker under wrangler dev: run scripts/edge-test"]
async fn replicas_agree_at_once_worker() {
    let (a, b) = (Harness::worker(), Harness::worker());
    replicas_agree(&a, &b, "w").await;
}

/// A key deleted through A stops signing on B at once (PostgreSQL only: see the module
/// doc). JWT access tokens, so that every token is signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_see_key_changes_at_once_postgres() {
    let db = TestDb::postgres().await;
    let env = [("STRATEGIES_ACCESS_TOKEN", "jwt")];
    let a = Harness::start(db.dsn(), &env).await;
    let b = Harness::start(db.dsn(), &env).await;
    let id = "replica-keys";
    a.create_client(json!({"client_id": id, "client_secret": "secret-keys", "grant_types": ["client_credentials"]}))
        .await;
    let kid_of = |token: &Value| {
        let jwt = token["access_token"].as_str().expect("token");
        let header = jwt.split('.').next().expect("header");
        use base64::Engine;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).expect("base64");
        serde_json::from_slice::<Value>(&raw).expect("json")["kid"].as_str().expect("kid").to_string()
    };
    let first = kid_of(&b.cc_token(id, "secret-keys", &[]).await);
    // A adds a key: B signs with it from the next request on.
    let added = a
        .admin_json(Method::POST, "/admin/keys/hydra.jwt.access-token", &json!({"alg": "ES256", "kid": "added"}))
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert_eq!(kid_of(&b.cc_token(id, "secret-keys", &[]).await), "added", "B signs with the key set it cached");
    // A deletes it: B stops signing with it at once, and stops publishing it.
    assert_eq!(a.admin_delete("/admin/keys/hydra.jwt.access-token/added").await.status, 204);
    assert_eq!(kid_of(&b.cc_token(id, "secret-keys", &[]).await), first, "B still signs with a key deleted through A");
    let jwks = b.public_get("/.well-known/jwks.json").await.json();
    assert!(!jwks["keys"].as_array().expect("keys").iter().any(|k| k["kid"] == "added"), "{jwks}");
    drop((a, b));
    db.drop_db().await;
}

/// Starts a server, waiting for the previous one on a SQLite file to let go of it.
async fn restart(dsn: &str, env: &[(&str, &str)]) -> Harness {
    let mut last = None;
    for _ in 0..100 {
        match Harness::try_start(dsn, env).await {
            Ok(h) => return h,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("server does not start: {last:?}");
}

fn kids(jwks: &Value) -> Vec<String> {
    let mut kids: Vec<String> =
        jwks["keys"].as_array().expect("keys").iter().map(|k| k["kid"].as_str().expect("kid").to_string()).collect();
    kids.sort();
    kids
}

const SECRET_A: &str = "rotation-secret-a-0123456789";
const SECRET_B: &str = "rotation-secret-b-0123456789";
const SECRET_C: &str = "rotation-secret-c-0123456789";

async fn secret_rotation_on(db: TestDb) {
    let env = |secrets: &'static str| [("SECRETS_SYSTEM", secrets), ("STRATEGIES_ACCESS_TOKEN", "jwt")];
    let id = "rotation-client";
    let h = restart(db.dsn(), &env(SECRET_A)).await;
    h.create_client(json!({"client_id": id, "client_secret": "secret-rot", "grant_types": ["client_credentials"]}))
        .await;
    h.cc_token(id, "secret-rot", &[]).await;
    let before = kids(&h.public_get("/.well-known/jwks.json").await.json());
    assert_eq!(before.len(), 2, "the two well-known sets: {before:?}");
    drop(h);

    // [B, A]: B is the new first secret; the keys are re-sealed under it.
    let rotated = format!("{SECRET_B},{SECRET_A}");
    let rotated: &'static str = Box::leak(rotated.into_boxed_str());
    let h = restart(db.dsn(), &env(rotated)).await;
    assert_eq!(kids(&h.public_get("/.well-known/jwks.json").await.json()), before);
    h.cc_token(id, "secret-rot", &[]).await;
    drop(h);

    // [B]: A retired. Everything still works, with the same keys.
    let h = restart(db.dsn(), &env(SECRET_B)).await;
    let jwks = h.public_get("/.well-known/jwks.json").await;
    assert_eq!(jwks.status, 200, "JWKS after retiring the old secret: {}", jwks.text);
    assert_eq!(kids(&jwks.json()), before, "the same keys, re-sealed");
    let ready = h.admin_get("/health/ready").await;
    assert_eq!(ready.status, 200, "{}", ready.text);
    let (status, body) = token_status(&h, id, "secret-rot").await;
    assert_eq!(status, 200, "signing after retiring the old secret: {body}");
    drop(h);

    // [C] only: no configured secret opens the keys. Readiness says so, naming them;
    // nothing answers 500.
    let h = restart(db.dsn(), &env(SECRET_C)).await;
    let ready = h.admin_get("/health/ready").await;
    assert_eq!(ready.status, 503, "readiness with unopenable keys: {}", ready.text);
    let why = ready.json()["errors"]["keys"].as_str().unwrap_or_default().to_string();
    for kid in &before {
        assert!(why.contains(kid.as_str()), "readiness names key {kid}: {}", ready.text);
    }
    assert!(why.contains("hydra.openid.id-token") && why.contains("SECRETS_SYSTEM"), "{why}");
    let public_ready = h.raw(Port::Public, Method::GET, "/health/ready", "text/plain", "").await;
    assert_eq!(public_ready.status, 503);
    assert!(!public_ready.text.contains(&before[0]), "the public port says only that keys are not ready");
    let jwks = h.public_get("/.well-known/jwks.json").await;
    assert_eq!(jwks.status, 200, "the JWK set answers with what it can vouch for: {}", jwks.text);
    assert!(kids(&jwks.json()).is_empty(), "{}", jwks.text);
    for _ in 0..3 {
        let (status, body) = token_status(&h, id, "secret-rot").await;
        assert_eq!(status, 503, "signing with an unopenable key: {body}");
        assert_eq!(body["error"], "temporarily_unavailable");
    }
    let keys = h.admin_get("/admin/keys/hydra.jwt.access-token").await;
    assert_eq!(keys.status, 503, "{}", keys.text);
    assert!(keys.text.contains("SECRETS_SYSTEM"), "{}", keys.text);
    drop(h);

    // Back to [B]: nothing was generated over the unopenable keys, so all is well again.
    let h = restart(db.dsn(), &env(SECRET_B)).await;
    assert_eq!(kids(&h.public_get("/.well-known/jwks.json").await.json()), before);
    assert_eq!(h.admin_get("/health/ready").await.status, 200);
    drop(h);
    db.drop_db().await;
}

#[tokio::test]
async fn secret_rotation_sqlite() {
    secret_rotation_on(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn secret_rotation_postgres() {
    secret_rotation_on(TestDb::postgres().await).await;
}

#[tokio::test]
async fn secret_rotation_mysql() {
    secret_rotation_on(TestDb::mysql().await).await;
}
