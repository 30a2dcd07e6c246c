//! The quickstart compose files (`quickstart*.yml`) against the binary they run.
//!
//! `scripts/container-test` runs them under a real engine (README's compose section, as
//! written); this checks, without one, what a run there would only show as a symptom:
//! - the files parse and merge with a real Compose implementation (`docker-compose
//!   config`, Debian's `docker-compose` package), in every combination of the tutorial;
//! - every command, flag, environment variable, config file, port and scrape path they
//!   name exists in the binary and agrees with the others (the UI URLs point at the
//!   `consent` service's port, Prometheus scrapes the admin port, spans go to Jaeger's
//!   OTLP port, the Dockerfile exposes what compose publishes);
//! - the same topology runs without containers: the migration service's command, then the
//!   `latch` service's command with its merged environment and config file, against this
//!   machine's PostgreSQL and MariaDB (and the SQLite default), the `consent` service's
//!   command, the tutorial's CLI commands, a Prometheus scrape parsed by the Prometheus
//!   project's own parser (Python `prometheus_client`), and an OTLP collector stand-in
//!   that decodes the spans the server exports.
//!
//! Container-only names are relocated, nothing else: `postgresd`/`mysqld` become the
//! test database (the DSN's parameters and Go-style `tcp(...)` form are kept), `jaeger`
//! becomes the stand-in, container paths become the repository files mounted there,
//! and listeners move to free loopback ports through the environment (which wins over
//! the config file, as in Hydra).

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latch_tests::process::{free_port, Proc};

const LATCH: &str = env!("CARGO_BIN_EXE_latch");

/// The combinations of Hydra's tutorial (and ours).
const COMBOS: &[&[&str]] = &[
    &["quickstart.yml"],
    &["quickstart.yml", "quickstart-postgres.yml"],
    &["quickstart.yml", "quickstart-mysql.yml"],
    &["quickstart.yml", "quickstart-tracing.yml"],
    &["quickstart.yml", "quickstart-prometheus.yml"],
    &["quickstart.yml", "quickstart-postgres.yml", "quickstart-tracing.yml", "quickstart-prometheus.yml"],
    &["quickstart.yml", "quickstart-mysql.yml", "quickstart-tracing.yml", "quickstart-prometheus.yml"],
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the repository root").to_path_buf()
}

/// The merged configuration, as `docker-compose config` prints it.
fn compose(files: &[&str]) -> Value {
    let mut cmd = Command::new("docker-compose");
    cmd.current_dir(repo());
    for f in files {
        cmd.args(["-f", f]);
    }
    let out = cmd.arg("config").output().unwrap_or_else(|e| {
        panic!("docker-compose is required (Debian's docker-compose package; scripts/test installs it): {e}")
    });
    assert!(out.status.success(), "docker-compose config {files:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_norway::from_slice(&out.stdout).expect("docker-compose config prints YAML")
}

struct Service<'a>(&'a Value);

impl Service<'_> {
    fn args(&self) -> Vec<String> {
        match &self.0["command"] {
            Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
            Value::Array(a) => a.iter().map(|v| v.as_str().expect("a string argument").to_string()).collect(),
            other => panic!("command {other}"),
        }
    }
    fn env(&self) -> BTreeMap<String, String> {
        let Some(map) = self.0["environment"].as_object() else { return BTreeMap::new() };
        map.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect()
    }
    fn published(&self) -> Vec<u16> {
        let ports = self.0["ports"].as_array().cloned().unwrap_or_default();
        ports.iter().map(|p| p["published"].as_u64().expect("a published port") as u16).collect()
    }
    fn image(&self) -> &str {
        self.0["image"].as_str().unwrap_or("")
    }
    /// A path inside the container, as the repository file bind-mounted there.
    fn host_path(&self, container_path: &str) -> PathBuf {
        for v in self.0["volumes"].as_array().into_iter().flatten() {
            // Long syntax, or the short `source:target[:mode]` (kept as written for files).
            let (source, target, bind) = match v {
                Value::String(short) => {
                    let mut parts = short.split(':');
                    let (s, t) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                    (s, t, s.starts_with('/') || s.starts_with('.'))
                }
                _ => (v["source"].as_str().unwrap_or(""), v["target"].as_str().unwrap_or(""), v["type"] == "bind"),
            };
            if bind {
                if let Some(rest) = container_path.strip_prefix(target) {
                    return repo().join(format!("{source}{rest}"));
                }
            }
        }
        panic!("{container_path} is not in a bind mount of the service")
    }
}

fn service<'a>(c: &'a Value, name: &str) -> Service<'a> {
    let s = &c["services"][name];
    assert!(s.is_object(), "service {name} is missing");
    Service(s)
}

/// Runs `latch <args>` and returns (success, stdout + stderr).
fn run_latch(args: &[String], env: &BTreeMap<String, String>) -> (bool, String) {
    let out = Command::new(LATCH).args(args).env_clear().envs(env).output().expect("latch runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// `latch <args> --help`: the command and every flag before it parse.
fn help_of(args: &[String]) -> String {
    let mut with_help = args.to_vec();
    with_help.push("--help".into());
    let (ok, text) = run_latch(&with_help, &BTreeMap::new());
    assert!(ok && text.contains("Usage:"), "`latch {}` is not a command of the binary:\n{text}", args.join(" "));
    text
}

fn port_of(url: &str) -> u16 {
    url::Url::parse(url).ok().and_then(|u| u.port_or_known_default()).unwrap_or_else(|| panic!("no port in {url}"))
}

/// The `-c` file's path in a command.
fn config_arg(args: &[String]) -> Option<&str> {
    args.iter().position(|a| a == "-c" || a == "--config").map(|i| args[i + 1].as_str())
}

#[test]
fn compose_files_name_only_what_the_binary_has() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile");
    assert!(dockerfile.contains("ENTRYPOINT [\"latch\"]"), "the image runs latch");
    // The image users get is the Dockerfile's default (last) stage, the release build;
    // the `prebuilt` target (CI's host-built binary) shares every setting but the binary.
    let stages: Vec<&str> = dockerfile.lines().filter_map(|l| l.split_once(" AS ").map(|(_, s)| s.trim())).collect();
    assert_eq!(stages.last(), Some(&"runtime"), "the default target is the release image: {stages:?}");
    assert!(stages.contains(&"prebuilt"), "{stages:?}");
    let user = dockerfile.lines().rev().find_map(|l| l.strip_prefix("USER ")).expect("a USER line");
    let name = user.split(':').next().unwrap_or("").trim();
    assert!(!name.is_empty() && name != "root" && name != "0", "the image runs as root: USER {user}");
    let exposed: Vec<u16> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("EXPOSE "))
        .flat_map(|l| l.split_whitespace().map(|p| p.parse::<u16>().expect("a port")).collect::<Vec<_>>())
        .collect();

    for files in COMBOS {
        let c = compose(files);
        let latch = service(&c, "latch");
        let migrate = service(&c, "latch-migrate");
        let consent = service(&c, "consent");
        for s in [&latch, &migrate, &consent] {
            assert_eq!(s.image(), "latch:local", "{files:?}: every Latch service runs the image the Dockerfile builds");
            if std::env::var_os("LATCH_IMAGE_TARGET").is_none() {
                assert_eq!(s.0["build"]["target"], "runtime", "{files:?}: compose builds the image users run");
            }
        }

        // Commands and flags exist; the tutorial's commands run through `exec latch latch ...`.
        let mut latch_help = help_of(&latch.args());
        for tutorial in [&["token", "user"][..], &["create", "client"], &["perform", "client-credentials"]] {
            latch_help += &help_of(&tutorial.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        }
        let migrate_help = help_of(&migrate.args());
        let consent_help = help_of(&consent.args());

        // Every variable is a server setting or one a command documents.
        let known = |k: &str, help: &str| latch_native::config::is_read(k) || help.contains(k);
        for (name, s, help) in [("latch", &latch, &latch_help), ("latch-migrate", &migrate, &migrate_help)] {
            for k in s.env().keys() {
                assert!(known(k, help), "{files:?}: {name} sets {k}, which Latch does not read");
            }
        }
        for k in consent.env().keys() {
            assert!(consent_help.contains(k.as_str()), "{files:?}: consent sets {k}, which the app does not read");
        }

        // The config file exists, has only known keys, and with the environment makes valid settings.
        let config = config_arg(&latch.args()).expect("serve -c").to_string();
        assert_eq!(config_arg(&migrate.args()), Some(config.as_str()), "both read the same config file");
        let path = latch.host_path(&config);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let file = latch_native::config::read_file(&text, &path.display().to_string()).expect("config file");
        let env = latch.env();
        let dev = latch.args().iter().any(|a| a == "--dev");
        let settings = latch_native::config::from_env(
            &|k| env.get(k).cloned().or_else(|| file.get(k).cloned()),
            dev,
            env.get("DSN").map(String::as_str),
        )
        .unwrap_or_else(|e| panic!("{files:?}: the latch service's settings: {e}"));
        latch_native::store::dsn::parse(&settings.dsn).expect("the DSN parses");
        assert_eq!(migrate.env().get("DSN"), env.get("DSN"), "{files:?}: migrations run on the served database");

        // Ports agree.
        let published = latch.published();
        let public_port = settings.public_addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
        let admin_port = settings.admin_addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
        for (what, p) in [("public", public_port), ("admin", admin_port), ("token user", 5555)] {
            assert!(published.contains(&p), "{files:?}: the {what} port {p} is not published: {published:?}");
        }
        assert!(settings.public_addr.starts_with("0.0.0.0:"), "listens beyond the container's loopback");
        assert!(settings.admin_addr.starts_with("0.0.0.0:"));
        assert_eq!(port_of(&settings.core.issuer), public_port);
        let consent_args = consent.args();
        let consent_port: u16 =
            consent_args[consent_args.iter().position(|a| a == "--port").expect("--port") + 1].parse().unwrap();
        assert_eq!(consent.published(), vec![consent_port]);
        for url in [&settings.core.login_url, &settings.core.consent_url, &settings.core.logout_url] {
            assert_eq!(port_of(url), consent_port, "{files:?}: {url} is the consent service");
        }
        let admin_url = url::Url::parse(&consent.env()["LATCH_ADMIN_URL"]).unwrap();
        assert_eq!(admin_url.host_str(), Some("latch"));
        assert_eq!(admin_url.port(), Some(admin_port));
        for p in published.iter().chain(&consent.published()) {
            assert!(exposed.contains(p), "the Dockerfile does not EXPOSE {p}");
        }

        if files.contains(&"quickstart-tracing.yml") {
            let t = settings.tracing.as_ref().expect("tracing is on");
            let jaeger = service(&c, "jaeger");
            let target = url::Url::parse(&t.endpoint).unwrap();
            assert_eq!(target.host_str(), Some("jaeger"));
            assert!(jaeger.published().contains(&target.port().unwrap()), "Jaeger takes OTLP where spans go");
            assert_eq!(jaeger.env().get("COLLECTOR_OTLP_ENABLED").map(String::as_str), Some("true"));
        } else {
            assert!(settings.tracing.is_none());
        }
        if files.contains(&"quickstart-prometheus.yml") {
            let (path, target) = scrape_config(&c);
            assert_eq!(target, format!("latch:{admin_port}"), "Prometheus scrapes the admin port");
            assert!(path.starts_with("/admin/metrics/") || path.starts_with("/metrics/"), "{path}");
        }
    }
}

/// (metrics_path, target) of the Prometheus service's scrape job.
fn scrape_config(c: &Value) -> (String, String) {
    let prom = service(c, "prometheus");
    let args = prom.args();
    let file = args.iter().find_map(|a| a.strip_prefix("--config.file=")).expect("--config.file");
    let text = std::fs::read_to_string(prom.host_path(file)).expect("the Prometheus config");
    let cfg: Value = serde_norway::from_str(&text).expect("YAML");
    let job = &cfg["scrape_configs"][0];
    (
        job["metrics_path"].as_str().expect("metrics_path").to_string(),
        job["static_configs"][0]["targets"][0].as_str().expect("a target").to_string(),
    )
}

async fn wait_ready(url: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if reqwest::get(url).await.map(|r| r.status().is_success()).unwrap_or(false) {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("the process exited ({status}) before {url} answered:\n{err}");
        }
        assert!(Instant::now() < deadline, "{url} did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A span the stand-in collector received: (service.name, span name, trace id in hex).
type Received = Arc<Mutex<Vec<(String, String, String)>>>;

/// An OTLP/HTTP collector stand-in: decodes `ExportTraceServiceRequest`s (protobuf) on
/// `/v1/traces` with the OpenTelemetry project's own message definitions.
async fn otlp_stand_in() -> (u16, Received) {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message as _;
    let received: Received = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                let Ok(req) = ExportTraceServiceRequest::decode(body) else {
                    return axum::http::StatusCode::BAD_REQUEST;
                };
                let mut sink = sink.lock().expect("not poisoned");
                for rs in req.resource_spans {
                    let service = rs
                        .resource
                        .iter()
                        .flat_map(|r| &r.attributes)
                        .find(|a| a.key == "service.name")
                        .and_then(|a| a.value.as_ref())
                        .map(|v| format!("{:?}", v.value))
                        .unwrap_or_default();
                    for span in rs.scope_spans.iter().flat_map(|s| &s.spans) {
                        sink.push((service.clone(), span.name.clone(), hex::encode(&span.trace_id)));
                    }
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (port, received)
}

/// The compose DSN with the container's host, credentials and database replaced by the
/// test database's, keeping its parameters and its form (`tcp(...)` included).
fn relocate_dsn(compose_dsn: &str, local: &str) -> String {
    if compose_dsn.starts_with("sqlite") {
        return local.to_string();
    }
    let (_, params) = compose_dsn.split_once('?').unwrap_or((compose_dsn, ""));
    let local_url = url::Url::parse(local).expect("a URL DSN");
    let auth = match local_url.password() {
        Some(p) => format!("{}:{p}", local_url.username()),
        None => local_url.username().to_string(),
    };
    let addr = format!("{}:{}", local_url.host_str().unwrap(), local_url.port().unwrap());
    let addr = if compose_dsn.contains("@tcp(") { format!("tcp({addr})") } else { addr };
    let scheme = local_url.scheme();
    let mut extra: Vec<&str> = local.split_once('?').map(|(_, q)| q.split('&').collect()).unwrap_or_default();
    extra.extend(params.split('&').filter(|p| !p.is_empty()));
    let query = if extra.is_empty() { String::new() } else { format!("?{}", extra.join("&")) };
    format!("{scheme}://{auth}@{addr}{}{query}", local_url.path())
}

/// Parses a scrape with the Prometheus project's Python parser; returns (name, labels, value).
fn parse_scrape(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
    let script = "import sys, json\n\
                  from prometheus_client.parser import text_string_to_metric_families as families\n\
                  print(json.dumps([[s.name, s.labels, s.value] for f in families(sys.stdin.read()) for s in f.samples]))";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write as _;
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("written");
    let out = child.wait_with_output().expect("parsed");
    assert!(
        out.status.success(),
        "prometheus_client could not parse the scrape (pip install prometheus_client; scripts/test does):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

async fn topology(db_overlay: Option<&str>, db: &latch_tests::db::TestDb) {
    let mut files = vec!["quickstart.yml"];
    files.extend(db_overlay);
    files.extend(["quickstart-tracing.yml", "quickstart-prometheus.yml"]);
    let c = compose(&files);
    let (latch, migrate, consent) = (service(&c, "latch"), service(&c, "latch-migrate"), service(&c, "consent"));
    let (collector_port, spans) = otlp_stand_in().await;
    let (public, admin, ui) = (free_port(), free_port(), free_port());

    // The services' own environments, relocated.
    let mut env = latch.env();
    let dsn = relocate_dsn(&env["DSN"], db.dsn());
    env.insert("DSN".into(), dsn.clone());
    let jaeger = env["TRACING_PROVIDERS_OTLP_SERVER_URL"].clone();
    assert_eq!(jaeger, "jaeger:4318");
    env.insert("TRACING_PROVIDERS_OTLP_SERVER_URL".into(), format!("127.0.0.1:{collector_port}"));
    for (k, v) in [
        ("SERVE_PUBLIC_HOST", "127.0.0.1".to_string()),
        ("SERVE_PUBLIC_PORT", public.to_string()),
        ("SERVE_ADMIN_HOST", "127.0.0.1".to_string()),
        ("SERVE_ADMIN_PORT", admin.to_string()),
        ("URLS_SELF_ISSUER", format!("http://127.0.0.1:{public}")),
        ("URLS_LOGIN", format!("http://127.0.0.1:{ui}/login")),
        ("URLS_CONSENT", format!("http://127.0.0.1:{ui}/consent")),
        ("URLS_LOGOUT", format!("http://127.0.0.1:{ui}/logout")),
        ("OAUTH2_HASHERS_PBKDF2_ITERATIONS", "1000".to_string()),
    ] {
        env.insert(k.into(), v);
    }

    // The migration service, then the server.
    let mut migrate_env = migrate.env();
    migrate_env.insert("DSN".into(), dsn.clone());
    let (ok, out) = run_latch(&relocate_args(&migrate, migrate.args()), &migrate_env);
    assert!(ok, "{files:?}: the migration service failed:\n{out}");
    let mut server = Proc(
        Command::new(LATCH)
            .args(relocate_args(&latch, latch.args()))
            .env_clear()
            .envs(&env)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("latch serve"),
    );
    wait_ready(&format!("http://127.0.0.1:{admin}/health/ready"), &mut server.0).await;

    // The consent service, on its command with the port moved.
    let mut consent_args = consent.args();
    for (flag, value) in [("--host", "127.0.0.1".to_string()), ("--port", ui.to_string())] {
        let i = consent_args.iter().position(|a| a == flag).expect(flag);
        consent_args[i + 1] = value;
    }
    let mut consent_env = consent.env();
    assert_eq!(consent_env["LATCH_ADMIN_URL"], "http://latch:4445");
    consent_env.insert("LATCH_ADMIN_URL".into(), format!("http://127.0.0.1:{admin}"));
    let mut app = Proc(
        Command::new(LATCH)
            .args(&consent_args)
            .env_clear()
            .envs(&consent_env)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the consent app"),
    );
    wait_ready(&format!("http://127.0.0.1:{ui}/"), &mut app.0).await;

    // The tutorial's first half with the CLI.
    let cli = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (ok, out) = run_latch(&args, &BTreeMap::new());
        assert!(ok, "latch {args:?}:\n{out}");
        out
    };
    let admin_url = format!("http://127.0.0.1:{admin}/");
    let public_url = format!("http://127.0.0.1:{public}/");
    let created: Value = serde_json::from_str(&cli(&[
        "create",
        "client",
        "--endpoint",
        &admin_url,
        "--grant-type",
        "client_credentials",
        "--format",
        "json",
    ]))
    .expect("client JSON");
    let (id, secret) = (created["client_id"].as_str().unwrap(), created["client_secret"].as_str().unwrap());
    let token = cli(&["token", "client", "--endpoint", &public_url, "--client-id", id, "--client-secret", secret]);
    let token = token.trim();
    let introspected: Value =
        serde_json::from_str(&cli(&["introspect", "token", "--endpoint", &admin_url, "--format", "json", token]))
            .expect("introspection JSON");
    assert_eq!(introspected["active"], true, "{files:?}: {introspected}");
    assert_eq!(introspected["client_id"], id);

    // The consent service is the one the server sends users to, and it reaches the admin API.
    let cb = "http://127.0.0.1:5555/callback";
    cli(&[
        "create",
        "client",
        "--endpoint",
        &admin_url,
        "--id",
        "auth-code-client",
        "--secret",
        "secret",
        "--grant-type",
        "authorization_code,refresh_token",
        "--response-type",
        "code,id_token",
        "--scope",
        "openid,offline",
        "--redirect-uri",
        cb,
    ]);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let auth = http
        .get(format!("http://127.0.0.1:{public}/oauth2/auth"))
        .query(&[
            ("client_id", "auth-code-client"),
            ("response_type", "code"),
            ("scope", "openid offline"),
            ("redirect_uri", cb),
            ("state", "state-0123456789"),
        ])
        .send()
        .await
        .expect("authorize");
    assert_eq!(auth.status(), 302);
    let login = auth.headers()["location"].to_str().unwrap().to_string();
    assert!(login.starts_with(&format!("http://127.0.0.1:{ui}/login?login_challenge=")), "{login}");
    let page = http.get(&login).send().await.expect("login page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"challenge\"") && html.contains("name=\"password\""), "{html}");

    // A caller's trace continues into Latch's span.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let r = http
        .get(format!("http://127.0.0.1:{public}/.well-known/openid-configuration"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .expect("discovery");
    assert_eq!(r.status(), 200);

    // Prometheus's scrape, where the prometheus overlay points it.
    let (path, _) = scrape_config(&c);
    let scrape = http.get(format!("http://127.0.0.1:{admin}{path}")).send().await.expect("metrics");
    assert_eq!(scrape.status(), 200);
    let samples = parse_scrape(&scrape.text().await.unwrap());
    let tokens_issued = samples
        .iter()
        .find(|(name, labels, _)| {
            name == "http_requests_total"
                && labels.get("endpoint").map(String::as_str) == Some("/oauth2/token")
                && labels.get("method").map(String::as_str) == Some("POST")
                && labels.get("code").map(String::as_str) == Some("200")
        })
        .map(|(_, _, v)| *v);
    assert!(tokens_issued >= Some(1.0), "{files:?}: no successful token request counted: {samples:?}");
    assert!(samples.iter().any(|(n, _, _)| n == "http_requests_duration_seconds_bucket"), "the latency histogram");

    // Graceful shutdown flushes the last spans to the collector.
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = server.0.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "the server did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{files:?}: serve exited with {status}");
    let spans = spans.lock().expect("not poisoned").clone();
    assert!(
        spans.iter().any(|(service, name, _)| service.contains("\"latch\"") && name == "POST /oauth2/token"),
        "{files:?}: no token span from service latch: {spans:?}"
    );
    assert!(
        spans.iter().any(|(_, name, trace)| name == "GET /.well-known/openid-configuration" && trace == trace_id),
        "{files:?}: the traceparent was not continued: {spans:?}"
    );
    drop(app);
}

/// The command with its `-c` file moved to the repository file mounted there.
fn relocate_args(s: &Service, mut args: Vec<String>) -> Vec<String> {
    if let Some(i) = args.iter().position(|a| a == "-c" || a == "--config") {
        args[i + 1] = s.host_path(&args[i + 1]).display().to_string();
    }
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_topology_runs_without_containers_on_sqlite() {
    let db = latch_tests::db::TestDb::sqlite().await;
    topology(None, &db).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_topology_runs_without_containers_on_postgres() {
    let db = latch_tests::db::TestDb::postgres().await;
    topology(Some("quickstart-postgres.yml"), &db).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_topology_runs_without_containers_on_mysql() {
    let db = latch_tests::db::TestDb::mysql().await;
    topology(Some("quickstart-mysql.yml"), &db).await;
    db.drop_db().await;
}
