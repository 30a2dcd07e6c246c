//! Attacks by an **unauthenticated network client** on the native server's listeners,
//! its logs and its database connections. Each test is an attack that must fail.
//!
//! - Connections that send nothing, or their header a byte at a time (slowloris), are
//!   closed after the header timeout, and both ports' `/health/alive` answer at once
//!   meanwhile (`slow_and_silent_connections_are_closed_*`).
//! - A body sent a byte at a time is answered 408 after the read timeout
//!   (`a_body_sent_slowly_is_cut_off_*`); a client that sends requests and never reads
//!   the answers is disconnected after the write timeout
//!   (`a_client_that_never_reads_is_disconnected_*`).
//! - Connections over a port's cap are closed at once, and a flood of the public port
//!   leaves the admin port answering (`connections_over_the_cap_are_refused_*`).
//! - An `X-Request-Id` that could forge log fields or lines, or is very long, is neither
//!   logged nor echoed: the request gets an id of its own (`request_ids_are_bounded_*`).
//! - A database server that goes away is answered 503 within a second and a half per
//!   request (readiness too), and service comes back without a restart once it returns
//!   (`a_database_outage_is_answered_fast_*`); a SQLite file locked by another process
//!   likewise (`a_locked_sqlite_file_is_answered_fast`).
//! - No token answered 200 is lost when the server is killed with SIGKILL
//!   (`tokens_answered_200_survive_a_kill_sqlite`, on the real serving function in a child
//!   process).
//!
//! On the Worker, Cloudflare terminates the connections (timeouts, caps) and D1 is the
//! database: only the request-id test applies there (`request_ids_are_bounded_worker`).
//!
//! Timeouts are set small through the configuration (1–2 s) to keep the tests fast;
//! every loop is bounded; all traffic is on loopback.

use latch_tests::db::TestDb;
use latch_tests::http::Harness;
use latch_tests::process::{free_port, Proc};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// `host:port` of a harness URL.
fn addr(url: &str) -> String {
    url.trim_start_matches("http://").trim_end_matches('/').to_string()
}

/// A client of its own (no pooled connection from earlier requests).
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client")
}

/// GET `url` on a new connection; its status and how long it took.
async fn timed_get(url: &str) -> (u16, Duration) {
    let started = Instant::now();
    let status = match fresh_client().get(url).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    };
    (status, started.elapsed())
}

/// What became of a connection the attacker held.
#[derive(Debug, PartialEq)]
enum Fate {
    /// The server closed it (EOF or reset), this long after it was opened.
    Closed(Duration),
    /// Still open at the end of the watch.
    Open,
}

/// Holds a connection open for at most `watch`, writing `drip` one byte every `every`
/// (nothing if empty), and reports whether and when the server closed it. What the
/// server sends (a 408) is read and ignored.
async fn hold(mut s: TcpStream, drip: Vec<u8>, every: Duration, watch: Duration) -> Fate {
    let opened = Instant::now();
    let mut buf = [0u8; 4096];
    let mut next = 0;
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        if opened.elapsed() > watch {
            return Fate::Open;
        }
        tokio::select! {
            r = s.read(&mut buf) => match r {
                Ok(0) | Err(_) => return Fate::Closed(opened.elapsed()),
                Ok(_) => {}
            },
            _ = tick.tick() => {
                if next < drip.len() {
                    if s.write_all(&drip[next..next + 1]).await.is_err() {
                        return Fate::Closed(opened.elapsed());
                    }
                    next += 1;
                }
            }
        }
    }
}

/// A request head that never ends (a slowloris drip).
fn endless_head() -> Vec<u8> {
    let mut head = b"GET /health/alive HTTP/1.1\r\nHost: latch\r\nX-Padding: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 4000));
    head
}

const FLOOD_TIMEOUTS: &[(&str, &str)] = &[
    ("SERVE_PUBLIC_TIMEOUT_READ_HEADER", "1s"),
    ("SERVE_ADMIN_TIMEOUT_READ_HEADER", "1s"),
    ("SERVE_PUBLIC_TIMEOUT_IDLE", "3s"),
    ("SERVE_ADMIN_TIMEOUT_IDLE", "3s"),
];

/// Silent and slowloris connections on both ports are closed after the 1 s header
/// timeout; `/health/alive` answers on both ports throughout; a keep-alive connection
/// may idle longer than the header timeout (up to the idle timeout) between requests.
async fn slow_and_silent_connections_are_closed(dsn: &str) {
    let h = Harness::start(dsn, FLOOD_TIMEOUTS).await;
    let mut held = Vec::new();
    for (url, n) in [(&h.public, 30), (&h.admin, 10)] {
        for i in 0..n {
            let s = TcpStream::connect(addr(url)).await.expect("connect");
            let drip = if i % 2 == 0 { Vec::new() } else { endless_head() };
            held.push(tokio::spawn(hold(s, drip, Duration::from_millis(200), Duration::from_secs(6))));
        }
    }
    // A keep-alive connection that waits 1.5 s (past the header timeout, within the idle
    // timeout) before its second request.
    let keep_alive = tokio::spawn({
        let public = addr(&h.public);
        async move {
            let mut s = TcpStream::connect(public).await.expect("connect");
            let req = b"GET /health/alive HTTP/1.1\r\nHost: latch\r\n\r\n";
            let mut buf = [0u8; 1024];
            s.write_all(req).await.expect("first request");
            let n = s.read(&mut buf).await.expect("first answer");
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
            tokio::time::sleep(Duration::from_millis(1500)).await;
            s.write_all(req).await.expect("second request");
            let n = s.read(&mut buf).await.expect("second answer");
            String::from_utf8_lossy(&buf[..n]).to_string()
        }
    });
    // During the flood both ports answer at once.
    for _ in 0..5 {
        for url in [&h.public, &h.admin] {
            let (status, took) = timed_get(&format!("{url}/health/alive")).await;
            assert_eq!(status, 200, "{url} during the flood");
            assert!(took < Duration::from_millis(800), "{url}/health/alive took {took:?} during the flood");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let second = keep_alive.await.expect("keep-alive task");
    assert!(second.starts_with("HTTP/1.1 200"), "an idle keep-alive connection is closed too early: {second:?}");
    for (i, task) in held.into_iter().enumerate() {
        match task.await.expect("holder") {
            Fate::Closed(after) => {
                assert!(after < Duration::from_millis(3500), "connection {i} closed after {after:?}")
            }
            Fate::Open => panic!("connection {i} is still open after 6 s: no header timeout"),
        }
    }
}

latch_tests::on_every_backend!(slow_and_silent_connections_are_closed, slow_and_silent_connections_are_closed);

/// A token request whose body comes a byte at a time is answered 408 once the 1 s read
/// timeout has passed, and the connection is closed.
async fn a_body_sent_slowly_is_cut_off(dsn: &str) {
    let h = Harness::start(dsn, &[("SERVE_PUBLIC_TIMEOUT_READ", "1s")]).await;
    let mut s = TcpStream::connect(addr(&h.public)).await.expect("connect");
    s.write_all(
        b"POST /oauth2/token HTTP/1.1\r\nHost: latch\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 200\r\n\r\ngrant_type=",
    )
    .await
    .expect("head");
    let started = Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let closed = loop {
        if started.elapsed() > Duration::from_secs(6) {
            break false;
        }
        tokio::select! {
            r = s.read(&mut buf) => match r {
                Ok(0) | Err(_) => break true,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            },
            _ = tick.tick() => { let _ = s.write_all(b"c").await; }
        }
    };
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "after {:?}: {answer:?}", started.elapsed());
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(closed, "the connection stays open after the 408");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
}

latch_tests::on_every_backend!(a_body_sent_slowly_is_cut_off, a_body_sent_slowly_is_cut_off);

/// A client pipelines more requests than the socket buffers hold answers for and never
/// reads: once the server's writes have made no progress for the 1 s write timeout, it
/// closes the connection (the client's next write fails).
async fn a_client_that_never_reads_is_disconnected(dsn: &str) {
    let h = Harness::start(dsn, &[("SERVE_PUBLIC_TIMEOUT_WRITE", "1s")]).await;
    let one = h.public_get("/.well-known/openid-configuration").await;
    assert_eq!(one.status, 200);
    // Enough answers for about 24 MB, more than loopback's socket buffers hold.
    let count = (24 * 1024 * 1024 / (one.text.len() + 200)).min(40_000);
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small receive buffer");
    let mut s = socket.connect(addr(&h.public).parse().expect("addr")).await.expect("connect");
    let request = b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: latch\r\n\r\n";
    let started = Instant::now();
    let _ = tokio::time::timeout(Duration::from_secs(3), s.write_all(&request.repeat(count))).await;
    // Never read; keep writing until the server has closed the connection (a write fails)
    // or 15 s have passed.
    let closed = loop {
        if started.elapsed() > Duration::from_secs(15) {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        match s.try_write(request) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break true,
        }
    };
    assert!(closed, "the connection is still open after {:?}: no write timeout", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_disconnected_memory() {
    a_client_that_never_reads_is_disconnected("memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_disconnected_sqlite() {
    let db = TestDb::sqlite().await;
    a_client_that_never_reads_is_disconnected(db.dsn()).await;
    db.drop_db().await;
}

/// With a public cap of 16, the 17th and later connections are closed as soon as they
/// are accepted, the admin port (its own cap) answers at once throughout, and the
/// public port answers again once the flood lets go.
async fn connections_over_the_cap_are_refused(dsn: &str) {
    let h = Harness::start(
        dsn,
        &[
            ("SERVE_PUBLIC_MAX_CONNECTIONS", "16"),
            ("SERVE_PUBLIC_TIMEOUT_READ_HEADER", "30s"),
            ("SERVE_PUBLIC_TIMEOUT_IDLE", "30s"),
        ],
    )
    .await;
    let mut flood = Vec::new();
    for _ in 0..16 {
        flood.push(TcpStream::connect(addr(&h.public)).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut over = Vec::new();
    for _ in 0..20 {
        let s = TcpStream::connect(addr(&h.public)).await.expect("the kernel accepts");
        over.push(tokio::spawn(hold(s, Vec::new(), Duration::from_millis(100), Duration::from_secs(3))));
    }
    for _ in 0..5 {
        let (status, took) = timed_get(&format!("{}/health/alive", h.admin)).await;
        assert_eq!(status, 200, "the admin port during a public flood");
        assert!(took < Duration::from_millis(800), "admin /health/alive took {took:?}");
    }
    for (i, task) in over.into_iter().enumerate() {
        match task.await.expect("holder") {
            Fate::Closed(after) => {
                assert!(after < Duration::from_secs(1), "over-cap connection {i} closed after {after:?}")
            }
            Fate::Open => panic!("over-cap connection {i} is held open: no connection cap"),
        }
    }
    drop(flood);
    let started = Instant::now();
    loop {
        let (status, _) = timed_get(&format!("{}/health/alive", h.public)).await;
        if status == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(3), "the public port does not come back: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_refused_memory() {
    connections_over_the_cap_are_refused("memory").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_refused_sqlite() {
    let db = TestDb::sqlite().await;
    connections_over_the_cap_are_refused(db.dsn()).await;
    db.drop_db().await;
}

/// Request ids: a well-formed one is echoed; one that is too long or carries characters
/// that could forge fields or lines in a text log (spaces, quotes, `=`, tabs, escapes)
/// is replaced by a fresh id, echoed and logged instead.
async fn request_ids_are_bounded(h: &Harness) {
    let echoed = |r: &latch_tests::http::Reply| r.headers.get("x-request-id").cloned().unwrap_or_default();
    let get = |id: &str| h.http.get(format!("{}/health/alive", h.public)).header("x-request-id", id);
    let fine = "req-1234_abc:5.6";
    assert_eq!(echoed(&h.send(get(fine)).await), fine);
    let max = "a".repeat(128);
    assert_eq!(echoed(&h.send(get(&max)).await), max, "128 characters are kept");
    for bad in [
        "a".repeat(129),
        "x".repeat(8000),
        "abc status=500 port=Admin".to_string(),
        "id\"quoted\"".to_string(),
        "tab\tseparated".to_string(),
        "semi;colon".to_string(),
    ] {
        let r = h.send(get(&bad)).await;
        assert_eq!(r.status, 200);
        let id = echoed(&r);
        assert_ne!(id, bad, "{bad:?} is echoed");
        assert!(!id.is_empty() && id.len() <= 128, "{id:?}");
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b)), "{id:?}");
    }
    if !h.is_worker() {
        // An ANSI escape (no HTTP client library sends one): through a raw socket.
        let mut s = TcpStream::connect(addr(&h.public)).await.expect("connect");
        s.write_all(b"GET /health/alive HTTP/1.1\r\nHost: latch\r\nX-Request-Id: \x1b[31mred\x1b[0m\r\nConnection: close\r\n\r\n")
            .await
            .expect("request");
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer).to_lowercase();
        assert!(!answer.contains('\x1b'), "the escape is echoed: {answer:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_bounded_memory() {
    request_ids_are_bounded(&Harness::start("memory", &[]).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_bounded_sqlite() {
    let db = TestDb::sqlite().await;
    request_ids_are_bounded(&Harness::start(db.dsn(), &[]).await).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_bounded_postgres() {
    let db = TestDb::postgres().await;
    request_ids_are_bounded(&Harness::start(db.dsn(), &[]).await).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_bounded_mysql() {
    let db = TestDb::mysql().await;
    request_ids_are_bounded(&Harness::start(db.dsn(), &[]).await).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a running Worker: scripts/edge-test runs it"]
async fn request_ids_are_bounded_worker() {
    request_ids_are_bounded(&Harness::worker()).await;
}

/// A TCP forwarder on loopback to a database server, which the test stops (closing its
/// listener and every forwarded connection) and starts again on the same port.
struct Proxy {
    port: u16,
    target: String,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let mut proxy = Proxy { port, target, task: None };
        proxy.run(listener);
        proxy
    }

    fn run(&mut self, listener: TcpListener) {
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            // Dropped with the task: every forwarded connection closes with it.
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                conns.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                while conns.try_join_next().is_some() {}
            }
        }));
    }

    /// The database is gone: connections are refused, and the open ones are closed.
    async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// The database is back, on the same address.
    async fn resume(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.expect("bind the proxy's port again");
        self.run(listener);
    }

    /// `dsn` pointed at the proxy.
    fn dsn(&self, dsn: &str) -> String {
        let mut url = url::Url::parse(dsn).expect("dsn");
        url.set_port(Some(self.port)).expect("port");
        url.to_string()
    }
}

/// `host:port` of a server DSN.
fn target_of(dsn: &str) -> String {
    let url = url::Url::parse(dsn).expect("dsn");
    format!("{}:{}", url.host_str().expect("host"), url.port().expect("port"))
}

/// Issues a client-credentials token; the status, the body and how long it took.
async fn timed_token(h: &Harness, id: &str) -> (u16, Value, Duration) {
    let started = Instant::now();
    let r = h.public_form("/oauth2/token", Some((id, "secret")), &[("grant_type", "client_credentials")]).await;
    (r.status, r.json(), started.elapsed())
}

/// The database server goes away behind the proxy: token requests, introspection and
/// readiness are answered 503 within 1.5 s each (never 200 for anything not stored),
/// and once it is back the same server answers 200 again, without a restart.
async fn a_database_outage_is_answered_fast(db: &TestDb) {
    let mut proxy = Proxy::start(target_of(db.dsn())).await;
    let h = Harness::start(&proxy.dsn(db.dsn()), &[]).await;
    let id = h.id("outage");
    h.create_client(json!({"client_id": id, "client_secret": "secret", "grant_types": ["client_credentials"]})).await;
    let before = h.cc_token(&id, "secret", &[]).await["access_token"].as_str().expect("token").to_string();
    assert_eq!(h.introspect(&before).await["active"], true);

    proxy.stop().await;
    for round in 0..4 {
        let (status, body, took) = timed_token(&h, &id).await;
        assert_eq!(status, 503, "round {round}: {body}");
        assert_eq!(body["error"], "temporarily_unavailable");
        assert!(took < Duration::from_millis(1500), "round {round}: the token request took {took:?}");
        for url in [&h.admin, &h.public] {
            let (status, took) = timed_get(&format!("{url}/health/ready")).await;
            assert_eq!(status, 503, "round {round}: {url}/health/ready");
            assert!(took < Duration::from_millis(1500), "round {round}: {url}/health/ready took {took:?}");
        }
        let started = Instant::now();
        let r = h.admin_form("/admin/oauth2/introspect", &[("token", &before)]).await;
        assert_eq!(r.status, 503, "round {round}: introspection without a database: {}", r.text);
        assert!(started.elapsed() < Duration::from_millis(1500), "introspection took {:?}", started.elapsed());
    }

    proxy.resume().await;
    let started = Instant::now();
    loop {
        let (status, _) = timed_get(&format!("{}/health/ready", h.admin)).await;
        if status == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "not ready 5 s after the database came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body, _) = timed_token(&h, &id).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(h.introspect(body["access_token"].as_str().expect("token")).await["active"], true);
    assert_eq!(h.introspect(&before).await["active"], true);
    drop(h);
    proxy.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_answered_fast_postgres() {
    let db = TestDb::postgres().await;
    a_database_outage_is_answered_fast(&db).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_answered_fast_mysql() {
    let db = TestDb::mysql().await;
    a_database_outage_is_answered_fast(&db).await;
    db.drop_db().await;
}

/// Another process holds the SQLite file's write lock: token requests are answered 503
/// within 1.5 s (not after a 5 s busy wait each), and 200 once the lock is let go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_sqlite_file_is_answered_fast() {
    use sqlx::Connection as _;
    let db = TestDb::sqlite().await;
    let h = Harness::start(db.dsn(), &[]).await;
    h.create_client(json!({"client_id": "locked", "client_secret": "secret", "grant_types": ["client_credentials"]}))
        .await;
    h.cc_token("locked", "secret", &[]).await;
    let mut other = sqlx::SqliteConnection::connect(db.dsn()).await.expect("a second connection");
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.expect("take the write lock");
    for round in 0..3 {
        let (status, body, took) = timed_token(&h, "locked").await;
        assert_eq!(status, 503, "round {round}: {body}");
        assert!(took < Duration::from_millis(1500), "round {round}: took {took:?}");
    }
    sqlx::query("ROLLBACK").execute(&mut other).await.expect("let go");
    let (status, body, _) = timed_token(&h, "locked").await;
    assert_eq!(status, 200, "{body}");
    other.close().await.expect("close");
    drop(h);
    db.drop_db().await;
}

/// Not a test: the server that `tokens_answered_200_survive_a_kill_sqlite` runs in a child
/// process (this test binary again), through `latch_native::serve` as `latch serve all`
/// runs it. Does nothing unless that test started it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of tokens_answered_200_survive_a_kill_sqlite"]
async fn child_server() {
    let Ok(dsn) = std::env::var("LATCH_TEST_CHILD_DSN") else { return };
    let opts = latch_native::ServeOptions {
        mode: latch_native::ServeMode::All,
        dev: true,
        dsn: Some(dsn),
        config: Vec::new(),
        defaults: Vec::new(),
    };
    latch_native::serve(opts).await.expect("serve");
}

/// Starts [`child_server`] on `dsn` and waits until it is ready.
async fn start_child(dsn: &str, public: u16, admin: u16) -> Proc {
    let child = std::process::Command::new(std::env::current_exe().expect("this test binary"))
        .args(["--exact", "child_server", "--ignored", "--nocapture", "--test-threads=1"])
        .env("LATCH_TEST_CHILD_DSN", dsn)
        .env("SERVE_PUBLIC_PORT", public.to_string())
        .env("SERVE_ADMIN_PORT", admin.to_string())
        .env("URLS_SELF_ISSUER", format!("http://127.0.0.1:{public}"))
        .env("OAUTH2_HASHERS_PBKDF2_ITERATIONS", "1000")
        .env("LOG_LEVEL", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the child server");
    let child = Proc(child);
    let started = Instant::now();
    loop {
        let (status, _) = timed_get(&format!("http://127.0.0.1:{admin}/health/ready")).await;
        if status == 200 {
            return child;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the child server is not ready after 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Tokens are issued by 16 concurrent clients to a server on a SQLite file, which is
/// killed with SIGKILL while they run; restarted on the same file, it finds every token
/// it had answered 200 for active.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_answered_200_survive_a_kill_sqlite() {
    let db = TestDb::sqlite().await;
    let (public, admin) = (free_port(), free_port());
    let mut child = start_child(db.dsn(), public, admin).await;
    let http = fresh_client();
    let r = http
        .post(format!("http://127.0.0.1:{admin}/admin/clients"))
        .json(&json!({"client_id": "killed", "client_secret": "secret", "grant_types": ["client_credentials"]}))
        .send()
        .await
        .expect("create client");
    assert_eq!(r.status(), 201);
    let issued = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for _ in 0..16 {
        let issued = issued.clone();
        workers.push(tokio::spawn(async move {
            let http = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                let sent = http
                    .post(format!("http://127.0.0.1:{public}/oauth2/token"))
                    .basic_auth("killed", Some("secret"))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await;
                let Ok(r) = sent else { break };
                if r.status() != 200 {
                    continue;
                }
                let Ok(body) = r.json::<Value>().await else { break };
                if let Some(t) = body["access_token"].as_str() {
                    issued.lock().expect("tokens").push(t.to_string());
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.0.kill().expect("SIGKILL");
    let _ = child.0.wait();
    for w in workers {
        w.await.expect("worker");
    }
    let issued = std::mem::take(&mut *issued.lock().expect("tokens"));
    assert!(issued.len() >= 50, "only {} tokens before the kill", issued.len());

    let child = start_child(db.dsn(), public, admin).await;
    let mut lost = Vec::new();
    for t in &issued {
        let r = http
            .post(format!("http://127.0.0.1:{admin}/admin/oauth2/introspect"))
            .form(&[("token", t.as_str())])
            .send()
            .await
            .expect("introspect");
        let body: Value = r.json().await.expect("json");
        if body["active"] != true {
            lost.push(body);
        }
    }
    assert!(lost.is_empty(), "{} of {} tokens answered 200 are lost: {:?}", lost.len(), issued.len(), &lost[..1]);
    drop(child);
    db.drop_db().await;
}
