//! `latch migrate from-hydra` with the real binary: a scratch PostgreSQL database gets
//! the part of Hydra v2's schema the command reads (tests/fixtures/hydra-v2-schema.postgres.sql)
//! and rows written the way Hydra writes them: a client whose secret is hashed with
//! PBKDF2 in Hydra's encoding, one hashed with BCrypt as Go's `x/crypto/bcrypt` writes
//! it, one with an Argon2 hash (skipped), a private JWK sealed with Hydra's system secret
//! (AES-256-GCM), a consent session, a login session, and an access and a refresh token
//! of that consent (Hydra's opaque format, one session sealed, one plain). Then a dry run
//! writes nothing, the migration copies everything into a fresh Latch database, Latch
//! serves it (with a system secret of its own first and Hydra's after it), Hydra's tokens
//! introspect and refresh, and a second run finds everything already present.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE};
use base64::Engine as _;
use latch_core::keys::{Alg, SigningKey};
use latch_core::platform::FixedPlatform;
use latch_tests::db::TestDb;
use latch_tests::process::{free_port, Proc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Connection;

const LATCH: &str = env!("CARGO_BIN_EXE_latch");
const NID: &str = "5a1e0c9e-3e9b-4a43-9c1e-6d1f5b1b2c3d";
const HYDRA_SECRET: &str = "hydra-system-secret-for-the-test";
const LATCH_SECRET: &str = "latch-system-secret-of-its-own";
const SCHEMA: &str = include_str!("fixtures/hydra-v2-schema.postgres.sql");

fn latch(args: &[&str]) -> Output {
    Command::new(LATCH)
        .args(args)
        .env_remove("DSN")
        .env_remove("SECRETS_SYSTEM")
        .env_remove("HYDRA_SECRETS_SYSTEM")
        .output()
        .expect("latch runs")
}

/// Hydra's PBKDF2 encoding (`oryx/hasherx`): standard base64 without padding.
fn hydra_pbkdf2(secret: &str, iterations: u32) -> String {
    let salt = *b"sixteen byte slt";
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(secret.as_bytes(), &salt, iterations, &mut key);
    format!("$pbkdf2-sha256$i={iterations},l=32${}${}", STANDARD_NO_PAD.encode(salt), STANDARD_NO_PAD.encode(key))
}

/// Hydra's JWK sealing (`aead/aesgcm.go`): AES-256-GCM under SHA-256 of the system
/// secret, nonce ‖ ciphertext ‖ tag in padded base64url.
fn hydra_seal(plaintext: &[u8]) -> String {
    let cipher = Aes256Gcm::new_from_slice(&Sha256::digest(HYDRA_SECRET.as_bytes())).unwrap();
    let nonce = [7u8; 12];
    let mut out = nonce.to_vec();
    out.extend(cipher.encrypt(Nonce::from_slice(&nonce), plaintext).unwrap());
    URL_SAFE.encode(out)
}

const CLIENT_COLUMNS: &str = "id, nid, client_name, client_secret, scope, owner, policy_uri, tos_uri, client_uri, \
    logo_uri, sector_identifier_uri, jwks, jwks_uri, token_endpoint_auth_method, metadata, redirect_uris, grant_types, \
    response_types, audience, allowed_cors_origins, contacts, request_uris, client_credentials_grant_access_token_lifespan";

async fn insert_client(db: &mut sqlx::PgConnection, id: &str, hash: &str, auth_method: &str) {
    let sql = format!(
        "INSERT INTO hydra_client ({CLIENT_COLUMNS}) VALUES ($1, $2::uuid, $1, $3, 'read write offline', '', '', '', '', \
         '', '', '{{}}', '', $4, '{{}}', '[]', '[\"client_credentials\", \"refresh_token\"]', '[\"token\"]', '[]', '[]', \
         '[]', '[]', 3600000000000)"
    );
    sqlx::query(&sql).bind(id).bind(NID).bind(hash).bind(auth_method).execute(db).await.unwrap();
}

/// A token as Hydra mints it (fosite's HMAC strategy): 32 random bytes and the
/// HMAC-SHA-512/256 of them under SHA-256 of the system secret, unpadded base64url. Returns
/// the token and its signature (the part after the dot).
fn hydra_token(prefix: &str, key: [u8; 32]) -> (String, String) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::Mac as _;
    let mut mac =
        <hmac::Hmac<sha2::Sha512_256> as hmac::Mac>::new_from_slice(&Sha256::digest(HYDRA_SECRET.as_bytes())).unwrap();
    mac.update(&key);
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    (format!("{prefix}{}.{signature}", URL_SAFE_NO_PAD.encode(key)), signature)
}

/// Hydra's `oauth2.Session` of a token of alice's consent.
fn hydra_session() -> String {
    serde_json::json!({
        "id_token": {
            "id_token_claims": {"sub": "alice", "auth_time": "2026-01-02T03:04:05Z", "rat": "2026-01-02T03:04:00Z",
                "acr": "", "amr": ["pwd"], "ext": {"sid": "login-session-1"}},
            "headers": {"extra": {}},
            "expires_at": {},
            "subject": "alice"
        },
        "extra": {"team": "blue"},
        "kid": "",
        "client_id": "pbkdf2-client",
        "consent_challenge": "consent-1"
    })
    .to_string()
}

/// Inserts a token row as Hydra's persister does; returns the token.
async fn insert_token(
    db: &mut sqlx::PgConnection,
    table: &str,
    prefix: &str,
    key: u8,
    stored_signature: fn(&str) -> String,
    session_data: String,
    expires: &str,
) -> String {
    let (token, signature) = hydra_token(prefix, [key; 32]);
    sqlx::query(&format!(
        "INSERT INTO {table} (signature, request_id, requested_at, client_id, granted_scope, session_data, subject, \
         active, granted_audience, challenge_id, nid, expires_at) VALUES ($1, 'hydra-request-1', now() - interval '10 minutes', \
         'pbkdf2-client', 'read|offline', $2, 'alice', true, '', 'consent-1', $3::uuid, now() AT TIME ZONE 'UTC' + interval '{expires}')"
    ))
    .bind(stored_signature(&signature))
    .bind(session_data)
    .bind(NID)
    .execute(db)
    .await
    .unwrap();
    token
}

fn sha384_hex(s: &str) -> String {
    hex::encode(sha2::Sha384::digest(s.as_bytes()))
}

/// The Hydra database: the schema fixture and one of each thing the command copies.
async fn hydra_database(db: &TestDb, key: &SigningKey) -> (String, String) {
    let mut c = sqlx::PgConnection::connect(db.dsn()).await.unwrap();
    sqlx::raw_sql(SCHEMA).execute(&mut c).await.expect("the schema fixture loads");
    insert_client(&mut c, "pbkdf2-client", &hydra_pbkdf2("pbkdf2-secret", 25_000), "client_secret_basic").await;
    let bcrypt_hash = bcrypt::hash_with_salt("bcrypt-secret", 10, *b"0123456789abcdef")
        .unwrap()
        .format_for_version(bcrypt::Version::TwoA);
    assert!(bcrypt_hash.starts_with("$2a$10$"), "{bcrypt_hash}");
    insert_client(&mut c, "bcrypt-client", &bcrypt_hash, "client_secret_post").await;
    let argon = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA";
    insert_client(&mut c, "argon-client", argon, "client_secret_basic").await;
    // Registered before the tokens below were issued, as they would have been.
    sqlx::query("UPDATE hydra_client SET created_at = now() - interval '1 day'").execute(&mut c).await.unwrap();
    sqlx::query(
        "INSERT INTO hydra_jwk (sid, kid, keydata, created_at, pk, nid) \
         VALUES ('hydra.openid.id-token', $1, $2, now() - interval '1 day', gen_random_uuid(), $3::uuid)",
    )
    .bind(&key.kid)
    .bind(hydra_seal(key.private_jwk().to_string().as_bytes()))
    .bind(NID)
    .execute(&mut c)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO hydra_oauth2_authentication_session (id, authenticated_at, subject, nid, expires_at, \
         identity_provider_session_id) \
         VALUES ('login-session-1', now() - interval '1 hour', 'alice', $1::uuid, now() + interval '30 days', \
         'kratos-session-1')",
    )
    .bind(NID)
    .execute(&mut c)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO hydra_oauth2_flow (login_challenge, subject, request_url, client_id, requested_at, oidc_context, \
         login_session_id, state, acr, forced_subject_identifier, context, consent_challenge_id, consent_skip, \
         consent_remember, consent_remember_for, consent_handled_at, session_access_token, session_id_token, nid, \
         requested_scope, requested_at_audience, amr, granted_scope, granted_at_audience) \
         VALUES ('login-challenge-1', 'alice', 'https://auth.example/oauth2/auth?client_id=pbkdf2-client', 'pbkdf2-client', \
         now() - interval '1 hour', '{}', 'login-session-1', 6, '', '', '{}', 'consent-1', false, true, 86400, \
         now() - interval '1 hour', '{\"team\":\"blue\"}', '{}', $1::uuid, '[\"read\"]', '[]', '[]', '[\"read\"]', '[]')",
    )
    .bind(NID)
    .execute(&mut c)
    .await
    .unwrap();
    // The access token is stored under the SHA-384 hex of its signature, its session
    // sealed (encrypt_at_rest, Hydra's default); the refresh token under its signature,
    // its session plain JSON (as with encrypt_at_rest off).
    let at = insert_token(
        &mut c,
        "hydra_oauth2_access",
        "ory_at_",
        1,
        sha384_hex,
        hydra_seal(hydra_session().as_bytes()),
        "1 hour",
    )
    .await;
    let rt =
        insert_token(&mut c, "hydra_oauth2_refresh", "ory_rt_", 2, |s| s.to_string(), hydra_session(), "30 days").await;
    // An expired and a revoked one, which are gone for Hydra too: not copied.
    insert_token(&mut c, "hydra_oauth2_access", "ory_at_", 3, sha384_hex, hydra_session(), "-1 minute").await;
    sqlx::query("UPDATE hydra_oauth2_refresh SET active = false WHERE signature = $1")
        .bind(hydra_token("ory_rt_", [4; 32]).1)
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    (at, rt)
}

/// Whether nothing of Latch's schema is in the database: every migration still pending.
async fn untouched(target: &TestDb) -> bool {
    let store = latch_native::store::SqlStore::connect(target.dsn()).await.unwrap();
    let pending = store.pending_migrations().await.unwrap();
    store.close().await;
    pending > 0 && pending == migrations_in_total(target).await
}

/// How many migrations a fresh database of the target's kind has pending.
async fn migrations_in_total(target: &TestDb) -> usize {
    let fresh = if target.dsn().starts_with("mysql") {
        TestDb::mysql().await
    } else if target.dsn().starts_with("postgres") {
        TestDb::postgres().await
    } else {
        TestDb::sqlite().await
    };
    let store = latch_native::store::SqlStore::connect(fresh.dsn()).await.unwrap();
    let n = store.pending_migrations().await.unwrap();
    store.close().await;
    fresh.drop_db().await;
    n
}

fn run_migration(hydra: &str, target: &str, extra: &[&str]) -> String {
    let mut args =
        vec!["migrate", "from-hydra", hydra, "--dsn", target, "--hydra-secret", HYDRA_SECRET, "--secret", LATCH_SECRET];
    args.extend_from_slice(extra);
    let out = latch(&args);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "latch {args:?} failed:\n{stdout}\n{stderr}");
    stdout.into_owned()
}

struct Served {
    _proc: Proc,
    public: String,
    admin: String,
}

async fn serve(dsn: &str) -> Served {
    let (p, a) = (free_port(), free_port());
    let child = Command::new(LATCH)
        .args(["serve", "all", "--dsn", dsn])
        .env("SERVE_PUBLIC_PORT", p.to_string())
        .env("SERVE_ADMIN_PORT", a.to_string())
        .env("URLS_SELF_ISSUER", format!("http://127.0.0.1:{p}"))
        // Latch's own secret first; Hydra's after it, so Hydra's tokens keep verifying.
        .env("SECRETS_SYSTEM", format!("{LATCH_SECRET},{HYDRA_SECRET}"))
        .env("LOG_LEVEL", "warn")
        .arg("--dev")
        .stdout(Stdio::null())
        .spawn()
        .expect("latch serve starts");
    let served =
        Served { _proc: Proc(child), public: format!("http://127.0.0.1:{p}"), admin: format!("http://127.0.0.1:{a}") };
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(format!("{}/health/ready", served.admin)).await.map(|r| r.status() == 200).ok() != Some(true) {
        assert!(Instant::now() < deadline, "latch did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    served
}

#[tokio::test]
async fn hydra_database_moves_to_latch_on_postgres() {
    moves_to(TestDb::postgres().await).await;
}

#[tokio::test]
async fn hydra_database_moves_to_latch_on_mysql() {
    moves_to(TestDb::mysql().await).await;
}

#[tokio::test]
async fn hydra_database_moves_to_latch_on_sqlite() {
    moves_to(TestDb::sqlite().await).await;
}

async fn moves_to(target: TestDb) {
    let key = SigningKey::generate(&FixedPlatform::new(1_700_000_000, 20), Alg::Rs256, "hydra-kid-1").unwrap();
    let hydra = TestDb::postgres().await;
    let (hydra_at, hydra_rt) = hydra_database(&hydra, &key).await;

    // A dry run reads and reports, and writes nothing: not even Latch's schema.
    let dry = run_migration(hydra.dsn(), target.dsn(), &["--dry-run"]);
    assert!(dry.starts_with("Dry run: nothing was written.\n"), "{dry}");
    assert!(dry.contains(&format!("Hydra network (nid): {NID}\n")), "{dry}");
    assert!(dry.contains("clients: 2 would copy, 0 already present, 1 skipped\n"), "{dry}");
    assert!(dry.contains("JSON Web Keys: 1 would copy, 0 already present, 0 skipped\n"), "{dry}");
    assert!(dry.contains("login sessions: 1 would copy, 0 already present, 0 skipped\n"), "{dry}");
    assert!(dry.contains("consent sessions: 1 would copy, 0 already present, 0 skipped\n"), "{dry}");
    assert!(dry.contains("access tokens: 1 would copy, 0 already present, 0 skipped\n"), "{dry}");
    assert!(dry.contains("refresh tokens: 1 would copy, 0 already present, 0 skipped\n"), "{dry}");
    assert!(untouched(&target).await, "the dry run wrote to the Latch database");

    let first = run_migration(hydra.dsn(), target.dsn(), &[]);
    assert!(first.contains("clients: 2 copied, 0 already present, 1 skipped\n"), "{first}");
    assert!(first.contains("  skipped argon-client: its secret hash is Argon2"), "{first}");
    assert!(first.contains("JSON Web Keys: 1 copied, 0 already present, 0 skipped\n"), "{first}");
    assert!(first.contains("login sessions: 1 copied, 0 already present, 0 skipped\n"), "{first}");
    assert!(first.contains("consent sessions: 1 copied, 0 already present, 0 skipped\n"), "{first}");
    assert!(first.contains("access tokens: 1 copied, 0 already present, 0 skipped\n"), "{first}");
    assert!(first.contains("refresh tokens: 1 copied, 0 already present, 0 skipped\n"), "{first}");

    {
        use latch_core::store::LoginSessionStore as _;
        let store = target.store().await;
        let session = store.get_login_session("login-session-1").await.unwrap().expect("the login session");
        assert_eq!(session.identity_provider_session_id, "kratos-session-1", "Kratos' session id is kept");
        store.close().await;
    }

    {
        let latch = serve(target.dsn()).await;
        let http = reqwest::Client::new();
        let token = |id: &str, secret: &str, basic: bool| {
            let req = http.post(format!("{}/oauth2/token", latch.public));
            let mut form = vec![("grant_type", "client_credentials".to_string()), ("scope", "read".into())];
            let req = if basic {
                req.basic_auth(id, Some(secret))
            } else {
                form.push(("client_id", id.into()));
                form.push(("client_secret", secret.into()));
                req
            };
            req.form(&form).send()
        };
        // The original secrets, against the copied PBKDF2 and BCrypt hashes.
        for (id, secret, basic) in [("pbkdf2-client", "pbkdf2-secret", true), ("bcrypt-client", "bcrypt-secret", false)]
        {
            let res = token(id, secret, basic).await.unwrap();
            assert_eq!(res.status(), 200, "{id}: {}", res.text().await.unwrap());
            let body: Value = res.json().await.unwrap();
            assert!(body["access_token"].as_str().is_some_and(|t| !t.is_empty()), "{id}: {body}");
            assert_eq!(body["expires_in"], 3600, "{id}: Hydra's per-client lifespan came along");
            let wrong = token(id, "not-the-secret", basic).await.unwrap();
            assert_eq!(wrong.status(), 401, "{id}");
        }
        // Hydra's signing key, served under its kid, re-sealed under Latch's secret.
        let jwks: Value =
            reqwest::get(format!("{}/.well-known/jwks.json", latch.public)).await.unwrap().json().await.unwrap();
        let served: Vec<&Value> =
            jwks["keys"].as_array().unwrap().iter().filter(|k| k["kid"] == "hydra-kid-1").collect();
        assert_eq!(served.len(), 1, "{jwks}");
        let public = key.public_jwk();
        assert_eq!((&served[0]["n"], &served[0]["e"], &served[0]["kty"]), (&public["n"], &public["e"], &public["kty"]));
        // The consent session, as the admin API lists it.
        let consents: Value = reqwest::get(format!("{}/admin/oauth2/auth/sessions/consent?subject=alice", latch.admin))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let list = consents.as_array().unwrap();
        assert_eq!(list.len(), 1, "{consents}");
        assert_eq!(list[0]["consent_request_id"], "consent-1");
        assert_eq!(list[0]["grant_scope"], serde_json::json!(["read"]));
        assert_eq!(list[0]["session"]["access_token"]["team"], "blue");
        assert_eq!(list[0]["remember"], true);
        let by_session = reqwest::get(format!(
            "{}/admin/oauth2/auth/sessions/consent?subject=alice&login_session_id=login-session-1",
            latch.admin
        ))
        .await
        .unwrap();
        let by_session: Value = by_session.json().await.unwrap();
        assert_eq!(by_session.as_array().map(Vec::len), Some(1), "{by_session}");

        // Hydra's access token introspects as Hydra showed it.
        let introspect = |token: String| {
            http.post(format!("{}/admin/oauth2/introspect", latch.admin)).form(&[("token", token)]).send()
        };
        let info: Value = introspect(hydra_at.clone()).await.unwrap().json().await.unwrap();
        assert_eq!(info["active"], true, "{info}");
        assert_eq!(
            (&info["sub"], &info["client_id"], &info["scope"]),
            (&"alice".into(), &"pbkdf2-client".into(), &"read offline".into())
        );
        assert_eq!(info["ext"]["team"], "blue", "{info}");
        assert_eq!(info["token_use"], "access_token");
        let forged = format!("{}x", &hydra_at[..hydra_at.len() - 1]);
        let info: Value = introspect(forged).await.unwrap().json().await.unwrap();
        assert_eq!(info["active"], false, "a token whose MAC does not verify");
        // Hydra's refresh token refreshes: Latch's tokens come back, Hydra's are retired.
        let res = http
            .post(format!("{}/oauth2/token", latch.public))
            .basic_auth("pbkdf2-client", Some("pbkdf2-secret"))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", hydra_rt.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let body: Value = res.json().await.unwrap();
        let new_at = body["access_token"].as_str().unwrap().to_string();
        assert!(
            new_at.starts_with("latch_at_") && body["refresh_token"].as_str().unwrap().starts_with("latch_rt_"),
            "{body}"
        );
        let info: Value = introspect(new_at).await.unwrap().json().await.unwrap();
        assert_eq!(
            (&info["active"], &info["sub"], &info["ext"]["team"]),
            (&true.into(), &"alice".into(), &"blue".into()),
            "{info}"
        );
        let info: Value = introspect(hydra_at.clone()).await.unwrap().json().await.unwrap();
        assert_eq!(info["active"], false, "the refresh revoked the grant's earlier access token");
        // Again (while Latch serves): everything is there already, and nothing changes;
        // Hydra's tokens, retired by the refresh, stay retired.
        let second = run_migration(hydra.dsn(), target.dsn(), &[]);
        assert!(second.contains("clients: 0 copied, 2 already present, 1 skipped\n"), "{second}");
        assert!(second.contains("JSON Web Keys: 0 copied, 1 already present, 0 skipped\n"), "{second}");
        assert!(second.contains("login sessions: 0 copied, 1 already present, 0 skipped\n"), "{second}");
        assert!(second.contains("consent sessions: 0 copied, 1 already present, 0 skipped\n"), "{second}");
        assert!(second.contains("access tokens: 0 copied, 1 already present, 0 skipped\n"), "{second}");
        assert!(second.contains("refresh tokens: 0 copied, 1 already present, 0 skipped\n"), "{second}");
        // A dry run over the migrated database says the same.
        let dry_again = run_migration(hydra.dsn(), target.dsn(), &["--dry-run"]);
        assert!(dry_again.contains("clients: 0 would copy, 2 already present, 1 skipped\n"), "{dry_again}");

        // The tokens belong to the consent: revoking it revokes them.
        let res = http
            .delete(format!("{}/admin/oauth2/auth/sessions/consent?subject=alice&client=pbkdf2-client", latch.admin))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204);
        let info: Value =
            introspect(body["access_token"].as_str().unwrap().into()).await.unwrap().json().await.unwrap();
        assert_eq!(info["active"], false, "{info}");
    }

    target.drop_db().await;
    hydra.drop_db().await;
}

#[tokio::test]
async fn several_networks_need_nid() {
    let hydra = TestDb::postgres().await;
    let mut c = sqlx::PgConnection::connect(hydra.dsn()).await.unwrap();
    sqlx::raw_sql(SCHEMA).execute(&mut c).await.unwrap();
    insert_client(&mut c, "one", &hydra_pbkdf2("secret-one", 1000), "client_secret_basic").await;
    sqlx::query(&format!(
        "INSERT INTO hydra_client ({CLIENT_COLUMNS}) SELECT 'two', '00000000-0000-4000-8000-000000000002'::uuid, client_name, \
         client_secret, scope, owner, policy_uri, tos_uri, client_uri, logo_uri, sector_identifier_uri, jwks, jwks_uri, \
         token_endpoint_auth_method, metadata, redirect_uris, grant_types, response_types, audience, allowed_cors_origins, \
         contacts, request_uris, client_credentials_grant_access_token_lifespan FROM hydra_client WHERE id = 'one'"
    ))
    .execute(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();
    let target = TestDb::sqlite().await;
    let out = latch(&["migrate", "from-hydra", hydra.dsn(), "--dsn", target.dsn(), "--dry-run"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("holds 2 networks") && stderr.contains("--nid"), "{stderr}");
    let out = latch(&[
        "migrate",
        "from-hydra",
        hydra.dsn(),
        "--dsn",
        target.dsn(),
        "--nid",
        "00000000-0000-4000-8000-000000000002",
        "--secret",
        LATCH_SECRET,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("clients: 1 copied, 0 already present, 0 skipped\n"), "{stdout}");
    let store = target.store().await;
    use latch_core::store::ClientStore as _;
    assert!(store.get_client("two").await.unwrap().is_some());
    assert!(store.get_client("one").await.unwrap().is_none(), "only the network asked for");
    store.close().await;
    target.drop_db().await;
    hydra.drop_db().await;
}
