//! The Worker's `fetch` handler and the per-isolate server it shares across requests.
//!
//! The [`Latch`] (with its key and verified-secret caches; no client cache, see
//! [`Coherence::Shared`]) is built on the
//! first request an isolate sees and kept for the isolate's life; a configuration
//! error is answered with 500 on every request until it is fixed (and not cached).

use crate::access::{self, AccessConfig, KeyCache, Refused};
use crate::config::{self, EdgeSettings};
use crate::platform::EdgePlatform;
use crate::store::D1Store;
use crate::{gate, http};
use futures::lock::Mutex;
use latch_core::http::{Effect, Method, Response};
use latch_core::janitor::Janitor;
use latch_core::platform::BackchannelLogout;
use latch_core::platform::Platform;
use latch_core::router::route;
use latch_core::{Coherence, Endpoint, Latch, Port};
use std::cell::RefCell;
use std::rc::Rc;
use worker::js_sys::{Date, Reflect};
use worker::{console_error, console_log, console_warn, event, Context, Env, ScheduleContext, ScheduledEvent};

/// Everything one isolate shares across requests.
pub struct Server {
    /// The protocol over D1 and the Worker platform.
    pub latch: Latch<D1Store, EdgePlatform>,
    admin_token: Option<String>,
    /// The Cloudflare Access application whose JWT also opens the admin API, and its
    /// team's key set as this isolate last fetched it.
    access: Option<AccessConfig>,
    access_keys: RefCell<KeyCache>,
    /// Whether the well-known key sets are known to have a key (checked once per isolate).
    keys_ready: Mutex<bool>,
}

thread_local! {
    static SERVER: RefCell<Option<Rc<Server>>> = const { RefCell::new(None) };
}

/// The isolate's server, built from `env` on first use.
fn server(env: &Env) -> Result<Rc<Server>, String> {
    if let Some(s) = SERVER.with(|s| s.borrow().clone()) {
        return Ok(s);
    }
    let get = |k: &str| Reflect::get(env, &k.into()).ok().and_then(|v| v.as_string());
    let EdgeSettings { core, admin_token, access, warnings } = config::from_vars(&get)?;
    for warning in &warnings {
        console_warn!("{warning}");
    }
    let db = env.d1("DB").map_err(|e| format!("DB: the D1 binding is missing: {e}"))?;
    // KV is optional: without the binding, key sets are read from D1 (once a minute per
    // isolate, through the core's key cache).
    let store = match env.kv("KV") {
        Ok(kv) => D1Store::new(db).with_kv(kv),
        Err(_) => D1Store::new(db),
    };
    let server = Rc::new(Server {
        // Isolates share no memory and hear of no other isolate's writes: no client
        // cache (a deleted client or a changed secret takes effect at once everywhere).
        latch: Latch::new(store, EdgePlatform, core).with_coherence(Coherence::Shared),
        admin_token,
        access,
        access_keys: RefCell::default(),
        keys_ready: Mutex::new(false),
    });
    SERVER.with(|s| *s.borrow_mut() = Some(server.clone()));
    Ok(server)
}

impl Server {
    /// Makes sure the well-known sets have a key before anything signs. A native server
    /// does this at start-up; a Worker has no start-up, so the first request of each
    /// isolate that may sign runs the core's [`Latch::prepare_keys`] (two reads), and only
    /// a new deployment's first request generates (RSA in WebCrypto, through the
    /// platform). A failure is retried by the next request.
    async fn ensure_keys(&self) {
        let mut ready = self.keys_ready.lock().await;
        if *ready {
            return;
        }
        match self.latch.prepare_keys().await {
            Ok(prepared) => {
                for (set, kid) in &prepared.reseal.resealed {
                    console_log!("re-sealed key {set}/{kid} under the first system secret");
                }
                for (set, kid, why) in &prepared.reseal.unreadable {
                    console_error!("signing key {set}/{kid} is unusable: {why}");
                }
                for (set, kid, alg) in &prepared.generated {
                    console_log!("generated the first {} key of {set} (kid {kid})", alg.as_str());
                }
                *ready = true;
            }
            Err(e) => console_warn!("preparing the signing keys: {e}"),
        }
    }
}

/// Why an admin request was let through (for the log line).
enum Admitted {
    Token,
    Access(String),
}

impl Server {
    /// The admin gate: the bearer token, or else (when configured) a Cloudflare Access
    /// assertion that [`access::verify`] accepts. `Err` is the answer to send.
    async fn admit(&self, req: &latch_core::http::Request) -> Result<Admitted, Response> {
        if gate::admin_authorized(req.header_value("authorization"), self.admin_token.as_deref()) {
            return Ok(Admitted::Token);
        }
        let (Some(config), Some(assertion)) = (&self.access, req.header_value(access::HEADER)) else {
            return Err(gate::unauthorized(self.access.is_some()));
        };
        let now = self.latch.platform.now();
        // Each borrow ends within its statement: `refresh_access_keys` borrows mutably.
        let held = self.access_keys.borrow().fresh(now);
        let may_fetch = self.access_keys.borrow().may_refetch(now);
        let keys = match held {
            Some(keys) => Some(keys),
            None if may_fetch => self.refresh_access_keys(config, now).await,
            None => self.access_keys.borrow().any(),
        };
        let Some(mut keys) = keys else {
            return Err(gate::access_keys_unavailable());
        };
        let mut verdict = access::verify(config, &keys, assertion, now);
        let may_fetch = self.access_keys.borrow().may_refetch(now);
        if matches!(verdict, Err(Refused::UnknownKey(_))) && may_fetch {
            if let Some(fetched) = self.refresh_access_keys(config, now).await {
                keys = fetched;
                verdict = access::verify(config, &keys, assertion, now);
            }
        }
        match verdict {
            Ok(claims) => Ok(Admitted::Access(access::identity(&claims).to_owned())),
            Err(why) => {
                console_warn!("admin: Cloudflare Access assertion refused: {why:?} (now {now})");
                Err(gate::unauthorized(true))
            }
        }
    }

    /// Fetches the team's key set and keeps it; on failure, whatever set is held.
    async fn refresh_access_keys(&self, config: &AccessConfig, now: i64) -> Option<Rc<serde_json::Value>> {
        let failure = match fetch_json(&config.certs_url()).await {
            Ok(keys) if keys["keys"].is_array() => return Some(self.access_keys.borrow_mut().store(keys, now)),
            Ok(_) => "it holds no `keys`".to_owned(),
            Err(e) => e,
        };
        console_error!("Cloudflare Access: fetching {} failed: {failure}", config.certs_url());
        self.access_keys.borrow_mut().failed(now);
        self.access_keys.borrow().any()
    }
}

async fn fetch_json(url: &str) -> Result<serde_json::Value, String> {
    let url = worker::Url::parse(url).map_err(|e| e.to_string())?;
    let mut resp = worker::Fetch::Url(url).send().await.map_err(|e| e.to_string())?;
    if resp.status_code() != 200 {
        return Err(format!("status {}", resp.status_code()));
    }
    resp.json().await.map_err(|e| e.to_string())
}

/// Endpoints that never sign anything: no need to look at the keys first.
fn needs_keys(endpoint: &Endpoint) -> bool {
    !matches!(endpoint, Endpoint::HealthAlive | Endpoint::HealthReady | Endpoint::Version | Endpoint::OpenApi)
}

/// The janitor pass of each cron run: batches of 500 rows (one bounded statement, so D1
/// is never busy long), at most 20 000 rows of each kind (a cron run has a CPU budget
/// too); ended logins and revoked consents outlive the configured verifiers' lifespan.
pub fn janitor(login_consent_ttl: i64) -> Janitor {
    Janitor {
        batch_size: 500,
        limit: 20_000,
        keep_if_younger: 0,
        login_consent_ttl,
        kinds: latch_core::janitor::Kinds::ALL,
    }
}

/// The cron trigger of wrangler.toml: one core janitor pass, as `latch janitor` runs
/// natively.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let server = match server(&env) {
        Ok(s) => s,
        Err(e) => return console_error!("configuration error: {e}"),
    };
    let pass = janitor(server.latch.config.login_consent_ttl);
    match pass.run(&server.latch.store, server.latch.platform.now()).await {
        Ok(r) => console_log!(
            "janitor: deleted {} expired tokens, {} login sessions and {} revoked consents",
            r.tokens,
            r.login_sessions,
            r.revoked_consents
        ),
        Err(e) => console_error!("janitor: {e}"),
    }
}

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(mut req: worker::Request, env: Env, ctx: Context) -> worker::Result<worker::Response> {
    let started = Date::now();
    let server = match server(&env) {
        Ok(s) => s,
        Err(e) => {
            console_error!("configuration error: {e}");
            let body = serde_json::json!({
                "error": "server_error",
                "error_description": "The Worker is misconfigured; its log names the setting.",
            });
            return http::to_worker(Response::json(500, &body), "", false);
        }
    };
    // The caller's id only when it is safe to log and echo (the same rule as natively).
    let request_id = req
        .headers()
        .get("x-request-id")
        .ok()
        .flatten()
        .filter(|id| latch_core::http::acceptable_request_id(id).is_some())
        .unwrap_or_else(|| server.latch.new_uuid());
    let core_req = http::from_worker(&mut req).await?;
    let (method, port) = (core_req.method, gate::port_of(&core_req.path));
    let path = core_req.path.clone();

    let admitted = match port {
        Port::Admin => Some(server.admit(&core_req).await),
        Port::Public => None,
    };
    let (endpoint, response) = if let Some(Err(refusal)) = &admitted {
        (None, refusal.clone())
    } else {
        #[cfg(feature = "conformance")]
        if port == Port::Admin && path == crate::conformance_route::PATH {
            return http::to_worker(crate::conformance_route::run(&server.latch.store).await, &request_id, false);
        }
        #[cfg(feature = "conformance")]
        if port == Port::Admin && path == crate::conformance_route::OPS_PATH {
            return http::to_worker(crate::conformance_route::ops(&server.latch.store), &request_id, false);
        }
        if route(port, method, &path).is_ok_and(|e| needs_keys(&e)) {
            server.ensure_keys().await;
        }
        server.latch.handle(port, core_req).await
    };

    // The core does no IO: what the response leaves to do goes out after it.
    let mut response = response;
    let effects = std::mem::take(&mut response.effects);
    if !effects.is_empty() {
        ctx.wait_until(carry_out(effects));
    }
    // The path only: query strings and bodies can carry tokens and secrets.
    let label = endpoint.as_ref().map(Endpoint::pattern).unwrap_or("unmatched");
    let by = match admitted {
        Some(Ok(Admitted::Access(who))) => format!(", admin via Cloudflare Access: {who}"),
        _ => String::new(),
    };
    console_log!(
        "{} {path} -> {} ({label}, {:.1} ms, request {request_id}{by})",
        method.as_str(),
        response.status,
        Date::now() - started
    );
    http::to_worker(response, &request_id, method == Method::Head)
}

/// Carries out a response's effects after it: OIDC Back-Channel Logout requests (§2.5),
/// and the core's other calls through the platform's `fetch` (its timeout and limits);
/// failures are logged (without tokens, bodies or headers) and never affect the response.
async fn carry_out(effects: Vec<Effect>) {
    futures::future::join_all(effects.into_iter().map(|e| async move {
        match e {
            Effect::BackchannelLogout(d) => match post_logout(&d).await {
                Ok(status) if (200..300).contains(&status) => {}
                Ok(status) => console_warn!("back-channel logout to {} refused: {status}", d.url),
                Err(e) => console_warn!("back-channel logout to {} failed: {e}", d.url),
            },
            Effect::Call { what, request } => match EdgePlatform.fetch(&request).await {
                Ok(r) if (200..300).contains(&r.status) => {}
                Ok(r) => console_warn!("{what} at {} refused: {}", request.url, r.status),
                Err(e) => console_warn!("{what} failed: {e}"),
            },
        }
    }))
    .await;
}

async fn post_logout(d: &BackchannelLogout) -> worker::Result<u16> {
    let body = form_urlencoded::Serializer::new(String::new()).append_pair("logout_token", &d.logout_token).finish();
    let headers = worker::Headers::new();
    headers.set("content-type", "application/x-www-form-urlencoded")?;
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::Post).with_headers(headers).with_body(Some(body.into()));
    let req = worker::Request::new_with_init(&d.url, &init)?;
    Ok(worker::Fetch::Request(req).send().await?.status_code())
}
