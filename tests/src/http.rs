//! The black-box HTTP harness: a real Latch server (the same axum app and listeners
//! `latch serve` runs, [`latch_native::listener::serve`]) on ephemeral loopback ports over a chosen backend, or a running Cloudflare
//! Worker (`wrangler dev`, started by `scripts/edge-test`), and a small client.

use latch_core::Port;
use serde_json::Value;
use std::collections::HashMap;

/// A running server and what a test needs to talk to it.
pub struct Harness {
    /// `http://127.0.0.1:<port>` of the public API.
    pub public: String,
    /// `http://127.0.0.1:<port>` of the admin API (the Worker's one origin: its admin
    /// API is the paths under `/admin/`).
    pub admin: String,
    /// A client that does not follow redirects.
    pub http: reqwest::Client,
    /// The bearer token every admin request carries (the Worker's `LATCH_ADMIN_TOKEN`).
    admin_token: Option<String>,
    /// Prepended to the ids a suite chooses (clients, subjects, key sets), unique per
    /// harness on a Worker, whose database other suites share; empty natively, where
    /// every harness has a database of its own.
    prefix: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A server response, read whole.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers (lower-case names).
    pub headers: HashMap<String, String>,
    /// Body text.
    pub text: String,
    /// Every `Set-Cookie` header, in order.
    pub set_cookies: Vec<String>,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

impl Harness {
    /// Starts a server in `--dev` over `dsn` with extra environment settings.
    pub async fn start(dsn: &str, env: &[(&str, &str)]) -> Harness {
        Self::try_start(dsn, env).await.expect("server starts")
    }

    /// [`Harness::start`], answering why the server did not start instead of panicking
    /// (e.g. a SQLite file still claimed by a server being dropped).
    pub async fn try_start(dsn: &str, env: &[(&str, &str)]) -> Result<Harness, latch_native::Error> {
        let public_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind public");
        let admin_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind admin");
        let public = format!("http://{}", public_listener.local_addr().expect("addr"));
        let admin = format!("http://{}", admin_listener.local_addr().expect("addr"));
        let mut vars: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        vars.entry("URLS_SELF_ISSUER".into()).or_insert_with(|| public.clone());
        // Low PBKDF2 cost keeps client creation fast in tests; production uses 25 000.
        vars.entry("OAUTH2_HASHERS_PBKDF2_ITERATIONS".into()).or_insert_with(|| "1000".into());
        let settings = latch_native::config::from_env(&|k| vars.get(k).cloned(), true, Some(dsn)).expect("settings");
        let server = latch_native::build(&settings, true).await?;
        let mut tasks = Vec::new();
        for (listener, port, limits) in [
            (public_listener, Port::Public, &settings.public_listener),
            (admin_listener, Port::Admin, &settings.admin_listener),
        ] {
            // The serving function of `latch serve`: its timeouts and connection caps.
            let serve =
                latch_native::listener::serve(listener, server.clone(), port, limits.clone(), std::future::pending());
            tasks.push(tokio::spawn(async move {
                let _ = serve.await;
            }));
        }
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Ok(Harness { public, admin, http, admin_token: None, prefix: String::new(), tasks })
    }

    /// A harness on an already running Worker: `LATCH_TEST_WORKER_URL` (its one origin,
    /// public API and `/admin/…`) and `LATCH_TEST_WORKER_ADMIN_TOKEN` (its
    /// `LATCH_ADMIN_TOKEN`, sent as a bearer token with every admin request).
    /// `scripts/edge-test` starts the Worker and sets both.
    pub fn worker() -> Harness {
        Self::worker_at("LATCH_TEST_WORKER_URL")
    }

    /// [`Harness::worker`] on the Worker whose URL is in the variable `url_var` (another
    /// Worker with other settings; same admin token).
    pub fn worker_at(url_var: &str) -> Harness {
        let need = |k: &str| {
            std::env::var(k).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| {
                panic!("{k} is not set: the Worker suites run against a Worker under `wrangler dev`; run scripts/edge-test")
            })
        };
        let url = need(url_var).trim_end_matches('/').to_string();
        let admin_token = need("LATCH_TEST_WORKER_ADMIN_TOKEN");
        // Unique per harness: the time in nanoseconds and a process-wide counter.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let prefix = format!("w{:x}-{n}-", nanos % (1 << 40));
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        Harness { public: url.clone(), admin: url, http, admin_token: Some(admin_token), prefix, tasks: Vec::new() }
    }

    /// Whether this harness talks to a Worker (one origin, admin API only under
    /// `/admin/`, a database shared with the other suites).
    pub fn is_worker(&self) -> bool {
        self.admin_token.is_some()
    }

    /// `name` made unique to this harness (unchanged natively): for client ids,
    /// subjects and key set names.
    pub fn id(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// A request to the admin API, with the admin bearer token when there is one.
    pub fn admin_request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let rb = self.http.request(method, format!("{}{path}", self.admin));
        match &self.admin_token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// Sends a request and reads the whole reply.
    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Reply {
        let r = rb.send().await.expect("request sent");
        let status = r.status().as_u16();
        let headers =
            r.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
        let set_cookies =
            r.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect();
        let text = r.text().await.expect("body read");
        Reply { status, headers, text, set_cookies }
    }

    /// A GET on the admin port.
    pub async fn admin_get(&self, path: &str) -> Reply {
        self.send(self.admin_request(reqwest::Method::GET, path)).await
    }
    /// A JSON request on the admin port.
    pub async fn admin_json(&self, method: reqwest::Method, path: &str, body: &Value) -> Reply {
        self.send(self.admin_request(method, path).json(body)).await
    }
    /// A raw request on either port.
    pub async fn raw(
        &self,
        port: Port,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let rb = if port == Port::Public {
            self.http.request(method, format!("{}{path}", self.public))
        } else {
            self.admin_request(method, path)
        };
        self.send(rb.header("content-type", content_type).body(body)).await
    }
    /// A DELETE on the admin port.
    pub async fn admin_delete(&self, path: &str) -> Reply {
        self.send(self.admin_request(reqwest::Method::DELETE, path)).await
    }
    /// A GET on the public port.
    pub async fn public_get(&self, path: &str) -> Reply {
        self.send(self.http.get(format!("{}{path}", self.public))).await
    }
    /// A form POST on the public port, with optional HTTP Basic credentials.
    pub async fn public_form(&self, path: &str, basic: Option<(&str, &str)>, form: &[(&str, &str)]) -> Reply {
        let mut rb = self.http.post(format!("{}{path}", self.public)).form(form);
        if let Some((id, secret)) = basic {
            rb = rb.basic_auth(id, Some(secret));
        }
        self.send(rb).await
    }
    /// A form POST on the admin port.
    pub async fn admin_form(&self, path: &str, form: &[(&str, &str)]) -> Reply {
        self.send(self.admin_request(reqwest::Method::POST, path).form(form)).await
    }

    /// Creates a client (asserting 201) and returns its JSON (with the secret).
    pub async fn create_client(&self, body: Value) -> Value {
        let r = self.admin_json(reqwest::Method::POST, "/admin/clients", &body).await;
        assert_eq!(r.status, 201, "create client: {}", r.text);
        r.json()
    }

    /// A client-credentials token (asserting 200).
    pub async fn cc_token(&self, id: &str, secret: &str, extra: &[(&str, &str)]) -> Value {
        let mut form = vec![("grant_type", "client_credentials")];
        form.extend_from_slice(extra);
        let r = self.public_form("/oauth2/token", Some((id, secret)), &form).await;
        assert_eq!(r.status, 200, "token: {}", r.text);
        r.json()
    }

    /// Introspects a token on the admin port.
    pub async fn introspect(&self, token: &str) -> Value {
        let r = self.admin_form("/admin/oauth2/introspect", &[("token", token)]).await;
        assert_eq!(r.status, 200, "introspect: {}", r.text);
        r.json()
    }
}

/// A browser for flow tests: a cookie jar that follows Latch's `Set-Cookie`s.
#[derive(Default)]
pub struct Browser {
    jar: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
}

impl Browser {
    /// GETs `url` with the jar's cookies, and updates the jar from the reply.
    pub async fn get(&self, h: &Harness, url: &str) -> Reply {
        let cookie = self.cookie_header();
        let mut rb = h.http.get(url);
        if !cookie.is_empty() {
            rb = rb.header("cookie", cookie);
        }
        let r = h.send(rb).await;
        self.absorb(&r);
        r
    }

    fn cookie_header(&self) -> String {
        let jar = self.jar.lock().expect("jar");
        jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn absorb(&self, r: &Reply) {
        let mut jar = self.jar.lock().expect("jar");
        for c in &r.set_cookies {
            let Some((k, v)) = c.split(';').next().and_then(|p| p.split_once('=')) else { continue };
            if c.contains("Max-Age=0") {
                jar.remove(k);
            } else {
                jar.insert(k.to_string(), v.to_string());
            }
        }
    }

    /// A copy of the jar (to replay a request as the same browser later).
    pub fn snapshot(&self) -> std::collections::BTreeMap<String, String> {
        self.jar.lock().expect("jar").clone()
    }

    /// Restores a copy of the jar.
    pub fn restore(&self, jar: std::collections::BTreeMap<String, String>) {
        *self.jar.lock().expect("jar") = jar;
    }
}

/// The `Location` of a redirect reply.
pub fn location(r: &Reply) -> String {
    assert_eq!(r.status, 302, "expected a redirect, got {}: {}", r.status, r.text);
    r.headers.get("location").cloned().expect("a Location header")
}

/// The query (or fragment) parameters of a URL.
pub fn params_of(url: &str) -> std::collections::BTreeMap<String, String> {
    let q = url.split_once(['?', '#']).map(|x| x.1).unwrap_or("");
    url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}
