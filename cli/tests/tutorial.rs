//! The first half of Hydra's 5-minute tutorial, typed as a new user would: the real
//! `latch` binary serves (`serve all --dev`) and the same binary, as a client, creates a
//! client, gets a token and introspects it, in Hydra v1's words and v2's. Run on SQLite,
//! PostgreSQL and MySQL.

use latch_tests::db::TestDb;
use latch_tests::process::free_port;
use serde_json::Value;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const LATCH: &str = env!("CARGO_BIN_EXE_latch");

struct Server {
    child: Child,
    public: String,
    admin: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(dsn: &str, dev: bool, extra_env: &[(&str, &str)]) -> Server {
    start_logging_to(dsn, dev, extra_env, None).await
}

/// [`start`], with the server's log (stderr) written to `log`.
async fn start_logging_to(dsn: &str, dev: bool, extra_env: &[(&str, &str)], log: Option<std::fs::File>) -> Server {
    let (p, a) = (free_port(), free_port());
    let mut cmd = Command::new(LATCH);
    cmd.args(["serve", "all", "--dsn", dsn]);
    if dev {
        cmd.arg("--dev");
    }
    cmd.env("SERVE_PUBLIC_PORT", p.to_string())
        .env("SERVE_ADMIN_PORT", a.to_string())
        .env("LOG_LEVEL", "warn")
        .env("OAUTH2_HASHERS_PBKDF2_ITERATIONS", "1000")
        .stdout(Stdio::null());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    if let Some(file) = log {
        cmd.env_remove("RUST_LOG").stderr(file);
    }
    let server = Server {
        child: cmd.spawn().expect("latch starts"),
        public: format!("http://127.0.0.1:{p}/"),
        admin: format!("http://127.0.0.1:{a}/"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("{}health/ready", server.admin)).await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(Instant::now() < deadline, "latch did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server
}

fn latch(args: &[&str]) -> Output {
    Command::new(LATCH)
        .args(args)
        .env_remove("LATCH_ADMIN_URL")
        .env_remove("LATCH_URL")
        .env_remove("ORY_SDK_URL")
        .output()
        .expect("latch runs")
}

fn stdout_ok(args: &[&str]) -> String {
    let o = latch(args);
    assert!(o.status.success(), "latch {args:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf-8 output")
}

async fn tutorial(dsn: &str) {
    let s = start(dsn, true, &[]).await;
    let (public, admin) = (s.public.as_str(), s.admin.as_str());

    // Step 2: Hydra v1's exact command and output.
    let out = stdout_ok(&[
        "clients",
        "create",
        "--endpoint",
        admin,
        "--id",
        "my-client",
        "--secret",
        "secret",
        "-g",
        "client_credentials",
    ]);
    assert_eq!(out, "OAuth 2.0 Client ID: my-client\nOAuth 2.0 Client Secret: secret\n");

    // Step 3: the access token and nothing else.
    let out =
        stdout_ok(&["token", "client", "--endpoint", public, "--client-id", "my-client", "--client-secret", "secret"]);
    let token = out.trim_end_matches('\n');
    assert_eq!(out.lines().count(), 1, "{out:?}");
    assert!(token.starts_with("latch_at_"), "{out:?}");

    // Step 4: the tutorial's exact introspection command, with and without client flags.
    for args in [
        vec![
            "token",
            "introspect",
            "--endpoint",
            admin,
            "--client-id",
            "my-client",
            "--client-secret",
            "secret",
            token,
        ],
        vec!["token", "introspect", "--endpoint", admin, token],
    ] {
        let v: Value = serde_json::from_str(&stdout_ok(&args)).expect("JSON");
        assert_eq!(v["active"], true);
        assert_eq!(v["client_id"], "my-client");
        assert_eq!(v["sub"], "my-client");
        assert_eq!(v["token_type"], "Bearer");
        assert_eq!(v["token_use"], "access_token");
        assert_eq!(v["iss"], public.trim_end_matches('/'));
        for k in ["exp", "iat", "scope"] {
            assert!(v.get(k).is_some(), "introspection lacks {k}: {v}");
        }
    }

    // Hydra v2's verb-noun forms, endpoint from the environment.
    let o = Command::new(LATCH)
        .args([
            "create",
            "client",
            "--format",
            "json",
            "--grant-type",
            "client_credentials",
            "--scope",
            "read,write",
            "--id",
            "v2-client",
            "--secret",
            "v2-secret",
        ])
        .env("ORY_SDK_URL", admin)
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let created: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(created["client_id"], "v2-client");
    assert_eq!(created["scope"], "read write");

    let out = stdout_ok(&[
        "perform",
        "client-credentials",
        "--endpoint",
        public,
        "--client-id",
        "v2-client",
        "--client-secret",
        "v2-secret",
        "--scope",
        "read",
        "--format",
        "json",
    ]);
    let tok: Value = serde_json::from_str(&out).expect("JSON");
    let t2 = tok["access_token"].as_str().expect("token").to_string();
    assert_eq!(tok["scope"], "read");

    let out = stdout_ok(&["introspect", "token", "--endpoint", admin, "--format", "json", &t2]);
    assert_eq!(serde_json::from_str::<Value>(&out).expect("JSON")["scope"], "read");
    let table = stdout_ok(&["introspect", "token", "--endpoint", admin, &t2]);
    assert!(table.contains("ACTIVE") && table.contains("true") && table.contains("v2-client"), "{table}");

    let out = stdout_ok(&["get", "client", "v2-client", "--endpoint", admin, "--format", "json"]);
    assert!(serde_json::from_str::<Value>(&out).expect("JSON").get("client_secret").is_none());
    let out = stdout_ok(&["list", "clients", "--endpoint", admin, "--format", "json"]);
    assert_eq!(serde_json::from_str::<Value>(&out).expect("JSON").as_array().map(Vec::len), Some(2));
    stdout_ok(&[
        "update",
        "client",
        "v2-client",
        "--endpoint",
        admin,
        "--name",
        "Renamed",
        "--grant-type",
        "client_credentials",
    ]);
    let out = stdout_ok(&["get", "client", "v2-client", "--endpoint", admin, "--format", "json"]);
    assert_eq!(serde_json::from_str::<Value>(&out).expect("JSON")["client_name"], "Renamed");

    // Revoke, then the token is inactive.
    stdout_ok(&[
        "revoke",
        "token",
        "--endpoint",
        public,
        "--client-id",
        "v2-client",
        "--client-secret",
        "v2-secret",
        &t2,
    ]);
    let out = stdout_ok(&["introspect", "token", "--endpoint", admin, "--format", "json", &t2]);
    assert_eq!(serde_json::from_str::<Value>(&out).expect("JSON"), serde_json::json!({"active": false}));

    // A wrong secret: a clear error on stderr, exit code 1, nothing on stdout.
    let o = latch(&["token", "client", "--endpoint", public, "--client-id", "my-client", "--client-secret", "wrong"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid_client"));

    // Delete: the client is gone.
    stdout_ok(&["delete", "client", "v2-client", "--endpoint", admin]);
    let o = latch(&["get", "client", "v2-client", "--endpoint", admin]);
    assert_eq!(o.status.code(), Some(1));
}

#[tokio::test]
async fn tutorial_on_sqlite() {
    let db = TestDb::sqlite().await;
    tutorial(db.dsn()).await;
    db.drop_db().await;
}

#[tokio::test]
async fn tutorial_on_postgres() {
    let db = TestDb::postgres().await;
    tutorial(db.dsn()).await;
    db.drop_db().await;
}

#[tokio::test]
async fn tutorial_on_mysql() {
    let db = TestDb::mysql().await;
    tutorial(db.dsn()).await;
    db.drop_db().await;
}

#[tokio::test]
async fn serve_refuses_an_insecure_setup_without_dev() {
    let o = Command::new(LATCH)
        .args(["serve", "all", "--dsn", "memory"])
        .env_remove("URLS_SELF_ISSUER")
        .env_remove("SECRETS_SYSTEM")
        .output()
        .expect("runs");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("URLS_SELF_ISSUER"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = Command::new(LATCH)
        .args(["serve", "all", "--dsn", "memory"])
        .env("URLS_SELF_ISSUER", "https://auth.example")
        .env_remove("SECRETS_SYSTEM")
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&o.stderr).contains("SECRETS_SYSTEM"));
}

#[tokio::test]
async fn migrate_then_serve_without_dev() {
    let db = TestDb::postgres().await;
    // Without migrations, a non-dev server refuses to start and says what to do.
    let o = Command::new(LATCH)
        .args(["serve", "all", "--dsn", db.dsn()])
        .env("URLS_SELF_ISSUER", "http://127.0.0.1:4444")
        .env("SECRETS_SYSTEM", "a-long-enough-system-secret")
        .env("SERVE_PUBLIC_PORT", free_port().to_string())
        .env("SERVE_ADMIN_PORT", free_port().to_string())
        .output()
        .expect("runs");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("migrate sql"), "{}", String::from_utf8_lossy(&o.stderr));
    // `migrate sql status` (and v1's `migrate status`) lists what `up` would apply.
    let status = |args: &[&str]| {
        let o = latch(args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let before = status(&["migrate", "sql", "status", db.dsn()]);
    assert!(before.contains("0001") && before.contains("Pending") && !before.contains("Applied"), "{before}");
    assert_eq!(status(&["migrate", "status", db.dsn()]), before);
    // Without a terminal, Hydra's confirmation needs --yes.
    let out = latch(&["migrate", "sql", db.dsn()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    let out = latch(&["migrate", "sql", db.dsn(), "--yes"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after = status(&["migrate", "sql", "status", db.dsn()]);
    assert!(after.contains("Applied") && !after.contains("Pending"), "{after}");
    // Migrated: the same non-dev server starts and answers.
    let s = start(
        db.dsn(),
        false,
        &[("URLS_SELF_ISSUER", "http://127.0.0.1:4444"), ("SECRETS_SYSTEM", "a-long-enough-system-secret")],
    )
    .await;
    let d: Value = reqwest::get(format!("{}.well-known/openid-configuration", s.public))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(d["issuer"], "http://127.0.0.1:4444");
    drop(s);
    db.drop_db().await;
}

/// `SECRETS_SYSTEM` rotation across restarts: with a new secret first and the old one
/// after it, tokens issued under the old one still introspect as active and the keys
/// sealed under it still open (the server starts and signs); tokens issued under the new
/// one verify too. Dropping the old secret makes its tokens inactive.
#[tokio::test]
async fn system_secrets_rotate_without_breaking_issued_tokens() {
    let db = TestDb::sqlite().await;
    let (old, new) = ("the-old-system-secret-0123", "the-new-system-secret-4567");
    let token_of = |s: &Server, id: &str| {
        stdout_ok(&["token", "client", "--endpoint", &s.public, "--client-id", id, "--client-secret", "secret"])
            .trim()
            .to_string()
    };
    let active = |s: &Server, token: &str| {
        let out = stdout_ok(&["introspect", "token", "--endpoint", &s.admin, "--format", "json", token]);
        serde_json::from_str::<Value>(&out).expect("json")["active"] == true
    };

    let s = start(db.dsn(), true, &[("SECRETS_SYSTEM", old)]).await;
    stdout_ok(&[
        "clients",
        "create",
        "--endpoint",
        &s.admin,
        "--id",
        "rot",
        "--secret",
        "secret",
        "-g",
        "client_credentials",
    ]);
    let issued_under_old = token_of(&s, "rot");
    assert!(active(&s, &issued_under_old));
    drop(s);

    let s = start(db.dsn(), true, &[("SECRETS_SYSTEM", &format!("{new},{old}"))]).await;
    assert!(active(&s, &issued_under_old), "the old secret still verifies");
    let issued_under_new = token_of(&s, "rot");
    assert!(active(&s, &issued_under_new));
    drop(s);

    let s = start(db.dsn(), true, &[("SECRETS_SYSTEM", new)]).await;
    assert!(active(&s, &issued_under_new), "the new secret signed it");
    assert!(!active(&s, &issued_under_old), "without the old secret its tokens are forgeries");
    drop(s);
    db.drop_db().await;
}

/// `LOG_FORMAT=json`: every line is a JSON object; a request's line carries its
/// `x-request-id` (echoed in the response), its route and status; no token, secret or
/// query string ever reaches the log.
#[tokio::test]
async fn json_logs_carry_request_ids_and_never_secrets() {
    let log = std::env::temp_dir().join(format!("latch-log-{}.jsonl", std::process::id()));
    let file = std::fs::File::create(&log).expect("log file");
    let server = start_logging_to("memory", true, &[("LOG_FORMAT", "json"), ("LOG_LEVEL", "info")], Some(file)).await;
    let (public, admin) = (server.public.clone(), server.admin.clone());
    let secret = "a-client-secret-that-must-not-be-logged";
    stdout_ok(&[
        "clients",
        "create",
        "--endpoint",
        &admin,
        "--id",
        "logged",
        "--secret",
        secret,
        "-g",
        "client_credentials",
    ]);
    let r = reqwest::Client::new()
        .post(format!("{public}oauth2/token?leaky=query-value-never-logged"))
        .header("x-request-id", "req-0123456789")
        .basic_auth("logged", Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request");
    assert_eq!(r.headers()["x-request-id"], "req-0123456789", "the id is echoed");
    let token: Value = r.json().await.expect("json");
    let token = token["access_token"].as_str().expect("a token").to_string();
    assert!(stdout_ok(&["token", "introspect", "--endpoint", &admin, &token]).contains("\"active\": true"));
    drop(server); // stops it: the log is complete

    let text = std::fs::read_to_string(&log).expect("log read");
    let _ = std::fs::remove_file(&log);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    let line = lines
        .iter()
        .find(|l| l["fields"]["request_id"] == "req-0123456789")
        .unwrap_or_else(|| panic!("no line with the request id:\n{text}"));
    assert_eq!(line["fields"]["endpoint"], "/oauth2/token");
    assert_eq!(line["fields"]["status"], 200);
    for leak in [secret, token.as_str(), "query-value-never-logged"] {
        assert!(!text.contains(leak), "{leak} was logged:\n{text}");
    }
}

/// `/health/ready` follows the database: 200 while it answers; once it is gone, 503 on
/// both ports, with the reason on the admin port only (a database error can name hosts
/// and users). `/health/alive` stays 200: the process itself is fine.
#[tokio::test]
async fn readiness_follows_the_database_and_hides_the_reason_on_the_public_port() {
    let db = TestDb::postgres().await;
    let s = start(db.dsn(), true, &[]).await;
    let get = |url: String| async move {
        let r = reqwest::get(url).await.expect("answer");
        (r.status().as_u16(), r.json::<Value>().await.expect("json"))
    };
    assert_eq!(get(format!("{}health/ready", s.public)).await.0, 200);
    db.drop_db().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let admin = loop {
        let r = get(format!("{}health/ready", s.admin)).await;
        if r.0 == 503 {
            break r.1;
        }
        assert!(Instant::now() < deadline, "readiness still {r:?} with the database gone");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let reason = admin["errors"]["database"].as_str().expect("a reason").to_string();
    let (status, public) = get(format!("{}health/ready", s.public)).await;
    assert_eq!(status, 503);
    let public_reason = public["errors"]["database"].as_str().expect("a reason");
    assert_ne!(public_reason, reason, "the public port hides the database's words");
    assert!(!public_reason.contains("latch_test") && !public_reason.contains("postgres"), "{public_reason}");
    assert_eq!(get(format!("{}health/alive", s.public)).await.0, 200);
}

#[tokio::test]
async fn serve_reads_a_config_file_and_names_a_bad_key() {
    let dir = std::env::temp_dir().join(format!("latch-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.yml");
    std::fs::write(&bad, "urls:\n  self:\n    isuer: http://127.0.0.1:4444\n").expect("write");
    let o = Command::new(LATCH).args(["serve", "all", "--dev", "-c"]).arg(&bad).output().expect("runs");
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("'urls.self.isuer'"), "{}", String::from_utf8_lossy(&o.stderr));

    let (p, a) = (free_port(), free_port());
    let good = dir.join("latch.yml");
    std::fs::write(
        &good,
        format!(
            "dsn: memory\nurls:\n  self:\n    issuer: http://127.0.0.1:{p}\nsecrets:\n  system: [a-long-enough-system-secret]\nserve:\n  public:\n    port: {p}\n  admin:\n    port: {a}\nlog:\n  level: warn\n"
        ),
    )
    .expect("write");
    let mut child =
        Command::new(LATCH).args(["serve", "all", "-c"]).arg(&good).stdout(Stdio::null()).spawn().expect("starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let discovery: Value = loop {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{p}/.well-known/openid-configuration")).await {
            if r.status() == 200 {
                break r.json().await.expect("json");
            }
        }
        assert!(Instant::now() < deadline, "latch did not start from its config file");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(discovery["issuer"], format!("http://127.0.0.1:{p}"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn janitor_runs_from_the_command_line() {
    let db = TestDb::sqlite().await;
    let o = latch(&["janitor", db.dsn()]);
    assert!(!o.status.success(), "an unmigrated database is refused");
    assert!(String::from_utf8_lossy(&o.stderr).contains("migrate"), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(latch(&["migrate", "sql", db.dsn(), "--yes"]).status.success());
    let out = stdout_ok(&["janitor", db.dsn(), "--batch-size", "10", "--keep-if-younger", "1h"]);
    assert_eq!(out, "Deleted 0 expired tokens and codes, 0 expired login sessions and 0 revoked consents.\n");
    let o = latch(&["janitor", db.dsn(), "--keep-if-younger", "soon"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--keep-if-younger"));
    // Hydra's flags: the kinds to clean, and lifespans Latch's rows do not need.
    let o = latch(&["janitor", db.dsn(), "--tokens", "--requests", "--grants", "--access-lifespan", "1h"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--access-lifespan has no effect"));
    let o = latch(&["janitor", db.dsn(), "--tokens", "--refresh-lifespan", "soon"]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("--refresh-lifespan"));
    db.drop_db().await;
}

#[tokio::test]
async fn quickstart_starts_the_server_and_the_example_app_together() {
    let (p, a, app) = (free_port(), free_port(), free_port());
    let mut child = Command::new(LATCH)
        .args(["quickstart", "--app-port", &app.to_string()])
        .env("DSN", "memory")
        .env("SERVE_PUBLIC_PORT", p.to_string())
        .env("SERVE_ADMIN_PORT", a.to_string())
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = reqwest::get(format!("http://127.0.0.1:{a}/health/ready")).await.is_ok_and(|r| r.status() == 200);
        let app_up = reqwest::get(format!("http://127.0.0.1:{app}/")).await.is_ok_and(|r| r.status() == 200);
        if ready && app_up {
            break;
        }
        assert!(Instant::now() < deadline, "quickstart did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server sends logins to the example app.
    let admin = format!("http://127.0.0.1:{a}/");
    stdout_ok(&[
        "clients",
        "create",
        "--endpoint",
        &admin,
        "--id",
        "qs",
        "--secret",
        "secret",
        "-g",
        "authorization_code",
        "-c",
        "http://127.0.0.1:5555/callback",
        "-a",
        "openid",
    ]);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let r = http
        .get(format!("http://127.0.0.1:{p}/oauth2/auth?client_id=qs&response_type=code&scope=openid&state=state-1234"))
        .send()
        .await
        .expect("authorize");
    let to = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(to.starts_with(&format!("http://127.0.0.1:{app}/login?login_challenge=")), "{to}");
    let login = reqwest::get(&to).await.expect("login page").text().await.expect("html");
    assert!(login.contains("foo@bar.com") || login.contains("password"), "{login}");
    let _ = child.kill();
    let out = child.wait_with_output().expect("output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("http://127.0.0.1:{p}")) && text.contains("latch clients create"), "{text}");
}

/// Hydra's key commands against the real server: `create jwk`, `get jwk`, and `import
/// jwk` / `keys import` from files and standard input, with `--public`.
#[tokio::test]
async fn jwk_commands_create_get_and_import() {
    let db = TestDb::sqlite().await;
    let s = start(db.dsn(), true, &[]).await;
    let e = s.admin.as_str();
    let kids = |set: &Value| -> Vec<String> {
        set["keys"].as_array().expect("keys").iter().map(|k| k["kid"].as_str().expect("kid").to_owned()).collect()
    };
    stdout_ok(&["create", "jwk", "source", "k-es", "--alg", "ES256", "--endpoint", e]);
    stdout_ok(&["create", "jwk", "source", "k-ed", "--alg", "EdDSA", "--endpoint", e]);
    let source: Value =
        serde_json::from_str(&stdout_ok(&["get", "jwk", "source", "--format", "json", "--endpoint", e]))
            .expect("get jwk prints JSON");
    assert_eq!(kids(&source), ["k-ed", "k-es"], "newest first");
    assert!(source["keys"][0]["d"].is_string(), "private parts without --public");

    // The whole set from a file: both keys arrive, private parts kept.
    let dir = std::env::temp_dir().join(format!("latch-jwk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("set.json");
    std::fs::write(&file, source.to_string()).expect("write");
    let printed: Value = serde_json::from_str(&stdout_ok(&[
        "import",
        "jwk",
        "copy",
        file.to_str().expect("path"),
        "--format",
        "json",
        "--public",
        "--endpoint",
        e,
    ]))
    .expect("import prints JSON");
    assert_eq!(kids(&printed), ["k-ed", "k-es"]);
    assert!(printed["keys"][0].get("d").is_none(), "--public prints no private part");
    let copy: Value =
        serde_json::from_str(&stdout_ok(&["get", "jwk", "copy", "--format", "json", "--endpoint", e])).expect("JSON");
    let mut got = kids(&copy);
    got.sort();
    assert_eq!(got, ["k-ed", "k-es"]);
    assert!(copy["keys"][0]["d"].is_string(), "the private parts were stored");

    // One JWK from standard input with v1's `keys import`: it joins the set.
    let mut child = Command::new(LATCH)
        .args(["keys", "import", "copy", "-", "--endpoint", e])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("latch runs");
    let es = source["keys"][1].clone();
    let mut renamed = es.clone();
    renamed["kid"] = "k-es-2".into();
    use std::io::Write as _;
    child.stdin.take().expect("stdin").write_all(renamed.to_string().as_bytes()).expect("write stdin");
    let o = child.wait_with_output().expect("latch ends");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let copy: Value =
        serde_json::from_str(&stdout_ok(&["get", "jwk", "copy", "--format", "json", "--endpoint", e])).expect("JSON");
    assert_eq!(kids(&copy)[0], "k-es-2", "the imported key is the newest");
    assert_eq!(kids(&copy).len(), 3);

    // A public key cannot sign: refused with the server's reason, nothing stored.
    let mut public = es;
    public.as_object_mut().expect("object").remove("d");
    public["kid"] = "k-public".into();
    std::fs::write(&file, public.to_string()).expect("write");
    let o = latch(&["import", "jwk", "copy", file.to_str().expect("path"), "--endpoint", e]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("private part"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = latch(&["import", "jwk", "copy", dir.join("missing.json").to_str().expect("path"), "--endpoint", e]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("missing.json"));

    // A private key in PEM (and DER) as Hydra's `import jwk` takes it, from a file or
    // standard input: it gets a new kid and the algorithm of its type or of --alg.
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let ec = p256::SecretKey::from_slice(&[7u8; 32]).expect("a P-256 key");
    let pem_file = dir.join("key.pem");
    std::fs::write(&pem_file, ec.to_pkcs8_pem(LineEnding::LF).expect("PEM").as_bytes()).expect("write");
    let der_file = dir.join("key.der");
    std::fs::write(&der_file, ec.to_pkcs8_der().expect("DER").as_bytes()).expect("write");
    let imported: Value = serde_json::from_str(&stdout_ok(&[
        "import",
        "jwk",
        "pem-set",
        pem_file.to_str().expect("path"),
        der_file.to_str().expect("path"),
        "--format",
        "json",
        "--endpoint",
        e,
    ]))
    .expect("JSON");
    assert_eq!(kids(&imported).len(), 2, "{imported}");
    assert!(imported["keys"].as_array().unwrap().iter().all(|k| k["alg"] == "ES256" && k["crv"] == "P-256"));
    let o = latch(&["import", "jwk", "pem-set", pem_file.to_str().expect("path"), "--alg", "RS256", "--endpoint", e]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("ES256"));
    std::fs::write(&pem_file, ec.public_key().to_public_key_pem(LineEnding::LF).expect("PEM")).expect("write");
    let o = latch(&["import", "jwk", "pem-set", pem_file.to_str().expect("path"), "--endpoint", e]);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("public key"));

    // Hydra v2: `get jwk` and `delete jwk` take several sets (`delete jwk a b` deletes
    // sets a and b, never key b of set a).
    let both: Value =
        serde_json::from_str(&stdout_ok(&["get", "jwk", "source", "copy", "--format", "json", "--endpoint", e]))
            .expect("JSON");
    assert_eq!(kids(&both).len(), kids(&source).len() + 3, "{both}");
    stdout_ok(&["delete", "jwk", "source", "copy", "--endpoint", e]);
    for set in ["source", "copy"] {
        assert!(!latch(&["get", "jwk", set, "--endpoint", e]).status.success(), "{set} is gone");
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
    drop(s);
    db.drop_db().await;
}

/// Hydra v2's `import oauth2-client <file>...`: each file a JSON array of clients (or one
/// client), standard input without files; an existing id fails (clients are not
/// updated), the others are still created, and the exit status says some failed.
#[tokio::test]
async fn import_oauth2_client_creates_clients_from_files() {
    let db = TestDb::sqlite().await;
    let s = start(db.dsn(), true, &[]).await;
    let e = s.admin.as_str();
    let dir = std::env::temp_dir().join(format!("latch-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let many = dir.join("many.json");
    std::fs::write(
        &many,
        r#"[{"client_id": "imp-a", "client_secret": "secret-a", "grant_types": ["client_credentials"], "from_newer_hydra": 1},
            {"client_id": "imp-b", "grant_types": ["client_credentials"], "client_uri": null}]"#,
    )
    .expect("write");
    let one = dir.join("one.json");
    std::fs::write(&one, r#"{"client_id": "imp-c", "grant_types": ["client_credentials"]}"#).expect("write");
    let out: Value = serde_json::from_str(&stdout_ok(&[
        "import",
        "oauth2-client",
        many.to_str().expect("path"),
        one.to_str().expect("path"),
        "--format",
        "json",
        "--endpoint",
        e,
    ]))
    .expect("JSON");
    let ids: Vec<&str> = out.as_array().expect("array").iter().map(|c| c["client_id"].as_str().expect("id")).collect();
    assert_eq!(ids, ["imp-a", "imp-b", "imp-c"]);
    assert_eq!(out[0]["client_secret"], "secret-a");
    assert!(out[1]["client_secret"].as_str().is_some_and(|s| s.len() >= 26), "a generated secret is shown once");
    // Again: every id exists now; nothing is updated and the command fails.
    let o = latch(&["import", "oauth2-client", one.to_str().expect("path"), "--endpoint", e]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("one.json"), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::remove_dir_all(&dir).expect("clean up");
    drop(s);
    db.drop_db().await;
}
