//! [`Latch`]: the store, the platform and the settings, and the one entry point
//! [`Latch::handle`] that adapters call with a neutral request.
//!
//! ```text
//!  adapter request ──► route() ──► endpoint handler ──► Response ──► adapter
//!                                    │   ▲
//!                          Store / Platform traits (the only way out)
//! ```

use crate::client::Client;
use crate::config::Config;
use crate::error::{Error, ErrorCode};
use crate::http::{Method, Request, Response};
use crate::keys::{Alg, SigningKey};
use crate::platform::Platform;
use crate::router::{route, Endpoint, Port};
use crate::seal::{self, Purpose};
use crate::secret::VerifiedSecretCache;
use crate::store::{Store, StoredKey};
use crate::{admin, authorize, discovery, introspection, logout, oidc, revocation, token_endpoint};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How long a loaded key set is reused before it is read again, in seconds. Where
/// nobody tells this process of key writes made elsewhere ([`Coherence::Shared`], or a
/// [`Coherence::Notified`] host whose channel is down), this bounds how long another
/// instance keeps signing with a key deleted elsewhere; where the host is notified, the
/// set is forgotten as soon as the change is heard of and this is only a backstop.
pub const KEY_CACHE_TTL: i64 = 60;
/// How long a client read for the token and authorization endpoints is reused, in
/// seconds, where clients are cached at all (see [`Coherence`]): a backstop, since a
/// cached client is forgotten at once when it changes.
pub const CLIENT_CACHE_TTL: i64 = 5;
/// At most this many cached clients; the cache is cleared when full.
pub const CLIENT_CACHE_CAPACITY: usize = 10_000;

/// How this process learns of writes that other processes make to the same store,
/// which decides what it may cache. A stale client would keep a deleted client (or an
/// old secret) working, so clients are cached only where every change is heard of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coherence {
    /// Only this process writes (the in-memory store, a SQLite file claimed by
    /// `latch serve`): every write goes through this [`Latch`], which forgets what it
    /// changes. Clients and key sets are cached.
    Exclusive,
    /// Other processes write, and the host hears of every change to a client or a key
    /// set (PostgreSQL `LISTEN/NOTIFY`) and calls [`Caches::forget_client`] and
    /// [`Caches::forget_key_set`]. Clients are cached only while the host's channel is up
    /// ([`Caches::set_connected`]; down until first called): while it is down nothing is
    /// served from the client cache, and key sets are re-read every [`KEY_CACHE_TTL`].
    Notified,
    /// Other processes write and nobody tells (MySQL; the Worker's isolates over D1):
    /// clients are never cached, key sets are re-read every [`KEY_CACHE_TTL`].
    Shared,
}

/// A key set as loaded: the keys that could be opened, and those that could not.
#[derive(Debug, Default)]
pub struct LoadedKeys {
    /// The keys that opened, oldest first.
    pub keys: Arc<Vec<SigningKey>>,
    /// The kids of the stored keys that could not be opened (sealed under a system
    /// secret no longer configured) or read, with why.
    pub unreadable: Vec<(String, String)>,
    /// The kid of the newest stored key when it is one of `unreadable`: the set cannot
    /// sign (an older key is never used instead: it is the one the operator rotated away from).
    pub newest_unreadable: Option<String>,
}

/// The per-process caches of clients and key sets, shared with the host so that it can
/// invalidate them (see [`Coherence`]).
///
/// Every invalidation bumps a generation; a value read from the store is cached only if
/// no invalidation happened while it was being read, so a read racing a change (here or
/// on another instance) never puts the old value back.
#[derive(Debug)]
pub struct Caches {
    coherence: Coherence,
    state: Mutex<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    /// Whether clients may be served from and stored in the cache.
    clients_on: bool,
    generation: u64,
    clients: HashMap<String, (i64, Arc<Client>)>,
    keys: HashMap<String, (i64, Arc<LoadedKeys>)>,
}

/// What a cache miss remembers, to store the value read only if nothing changed meanwhile.
#[derive(Clone, Copy)]
struct Ticket {
    generation: u64,
    clients_on: bool,
}

impl Caches {
    fn new(coherence: Coherence) -> Self {
        let state = CacheState { clients_on: coherence == Coherence::Exclusive, ..Default::default() };
        Caches { coherence, state: Mutex::new(state) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut CacheState) -> T) -> Option<T> {
        // A poisoned lock only means another request panicked mid-update: drop what is
        // cached rather than trust it.
        let mut g = match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                let mut g = poisoned.into_inner();
                g.clients.clear();
                g.keys.clear();
                g.generation += 1;
                self.state.clear_poison();
                g
            }
        };
        Some(f(&mut g))
    }

    /// What this process was told about other writers.
    pub fn coherence(&self) -> Coherence {
        self.coherence
    }

    /// [`Coherence::Notified`] hosts: the channel is up (`true`: clients may be cached
    /// again) or lost (`false`: nothing is served from the client cache until it is up
    /// again, since changes made meanwhile are not heard of). Either way everything cached
    /// is forgotten. Ignored under the other coherences.
    pub fn set_connected(&self, connected: bool) {
        if self.coherence != Coherence::Notified {
            return;
        }
        self.with(|g| {
            g.clients.clear();
            g.keys.clear();
            g.generation += 1;
            g.clients_on = connected;
        });
    }

    /// Forgets a client (it changed or went).
    pub fn forget_client(&self, id: &str) {
        self.with(|g| {
            g.clients.remove(id);
            g.generation += 1;
        });
    }

    /// Forgets a key set (a key was added, replaced, re-sealed or deleted).
    pub fn forget_key_set(&self, set: &str) {
        self.with(|g| {
            g.keys.remove(set);
            g.generation += 1;
        });
    }

    /// Forgets everything (the host cannot say what changed).
    pub fn clear(&self) {
        self.with(|g| {
            g.clients.clear();
            g.keys.clear();
            g.generation += 1;
        });
    }

    fn ticket(g: &CacheState) -> Ticket {
        Ticket { generation: g.generation, clients_on: g.clients_on }
    }

    fn client(&self, id: &str, now: i64) -> Result<Arc<Client>, Ticket> {
        self.with(|g| match g.clients.get(id) {
            Some((loaded, c)) if g.clients_on && now - loaded < CLIENT_CACHE_TTL => Ok(c.clone()),
            _ => Err(Self::ticket(g)),
        })
        .unwrap_or(Err(Ticket { generation: 0, clients_on: false }))
    }

    fn put_client(&self, id: &str, c: &Arc<Client>, now: i64, ticket: Ticket) {
        self.with(|g| {
            if ticket.clients_on && g.clients_on && g.generation == ticket.generation {
                if g.clients.len() >= CLIENT_CACHE_CAPACITY {
                    g.clients.clear();
                }
                g.clients.insert(id.to_string(), (now, c.clone()));
            }
        });
    }

    fn keys(&self, set: &str, now: i64) -> Result<Arc<LoadedKeys>, Ticket> {
        self.with(|g| match g.keys.get(set) {
            Some((loaded, k)) if now - loaded < KEY_CACHE_TTL => Ok(k.clone()),
            _ => Err(Self::ticket(g)),
        })
        .unwrap_or(Err(Ticket { generation: 0, clients_on: false }))
    }

    fn put_keys(&self, set: &str, keys: &Arc<LoadedKeys>, now: i64, ticket: Ticket) {
        self.with(|g| {
            if g.generation == ticket.generation {
                g.keys.insert(set.to_string(), (now, keys.clone()));
            }
        });
    }
}

/// What [`Latch::reseal_keys`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Keys (set, kid) that were sealed under an older system secret and are now sealed
    /// under the first.
    pub resealed: Vec<(String, String)>,
    /// Keys (set, kid) that no configured system secret opens, with why: they cannot sign
    /// and are left out of the JWK set; readiness fails while a well-known set has one.
    pub unreadable: Vec<(String, String, String)>,
}

/// What [`Latch::prepare_keys`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreparedKeys {
    /// What re-sealing did.
    pub reseal: ResealReport,
    /// Keys generated for well-known sets that had none: (set, kid, algorithm).
    pub generated: Vec<(String, String, Alg)>,
}

/// A server answer for a set whose signing key cannot be opened: 503 (the operator can
/// fix it by configuring the secret again), never a 500 of unknown cause. The detail
/// (the kid) is for the admin port's readiness and debug output.
fn unusable_key(set: &str, kid: &str) -> Error {
    Error::new(ErrorCode::TemporarilyUnavailable)
        .with_hint("The signing key cannot be used right now; the admin port's /health/ready says why.")
        .with_debug(format!(
            "key {set}/{kid} cannot be opened with any of the configured system secrets (SECRETS_SYSTEM)"
        ))
}

/// A Latch server: everything an endpoint needs.
pub struct Latch<S, P> {
    /// Where everything is stored.
    pub store: S,
    /// Time, randomness, key derivation.
    pub platform: P,
    /// Settings.
    pub config: Config,
    pub(crate) secrets: VerifiedSecretCache,
    /// A well-formed PBKDF2 hash with the configured iteration count that no secret
    /// matches: verified against when the client is unknown or has no secret, so that
    /// such a request costs what a wrong secret does (no client-id enumeration by timing).
    pub(crate) dummy_hash: String,
    caches: Arc<Caches>,
    /// Clients' `jwks_uri` key sets.
    pub(crate) remote_keys: crate::remote_keys::RemoteKeySets,
    /// Dynamic registrations per source address.
    pub(crate) registrations: crate::registration::RegistrationLimiter,
}

impl<S: Store, P: Platform> Latch<S, P> {
    /// A server over `store` and `platform` with `config`, whose store is this process's
    /// alone ([`Coherence::Exclusive`]); a host whose store other processes write too
    /// says so with [`Latch::with_coherence`].
    pub fn new(store: S, platform: P, config: Config) -> Self {
        let secrets = VerifiedSecretCache::new(&platform);
        let dummy_hash = crate::secret::dummy_hash(&platform, config.pbkdf2_iterations);
        Latch {
            store,
            platform,
            config,
            secrets,
            dummy_hash,
            caches: Arc::new(Caches::new(Coherence::Exclusive)),
            remote_keys: Default::default(),
            registrations: Default::default(),
        }
    }

    /// The same server, caching only what `coherence` allows (see [`Coherence`]).
    pub fn with_coherence(mut self, coherence: Coherence) -> Self {
        self.caches = Arc::new(Caches::new(coherence));
        self
    }

    /// The caches, for a host that hears of other instances' writes.
    pub fn caches(&self) -> Arc<Caches> {
        self.caches.clone()
    }

    /// Answers one request arriving on `port`. Returns the endpoint matched (for
    /// metrics labels; `None` when nothing matched) and the response. Never fails:
    /// every error is rendered as RFC 6749 JSON.
    pub async fn handle(&self, port: Port, req: Request) -> (Option<Endpoint>, Response) {
        let cors = self.config.cors(port);
        let origin = match req.header_value("origin") {
            Some(o) if cors.enabled && crate::cors::plausible_origin(o) => Some(o.to_string()),
            _ => None,
        };
        if let (Some(o), Method::Options, Some(asked)) =
            (&origin, req.method, req.header_value("access-control-request-method"))
        {
            // A CORS preflight of a route that exists (Fetch standard §4.8).
            if let Ok(endpoint) = route(port, Method::parse(asked.trim()), &req.path) {
                let answer =
                    if crate::cors::applies_to(&endpoint) { cors.preflight(o, &req) } else { Response::empty(204) };
                return (Some(endpoint), answer);
            }
        }
        let endpoint = match route(port, req.method, &req.path) {
            Ok(e) => e,
            Err(e) => return (None, self.error_response(&e)),
        };
        // Boxed: an `async fn`'s future is as large as the largest future it awaits, here
        // the token endpoint's (7.7 KB), and every layer above (the adapter's span, axum's
        // handler) copies its child into itself, several times per request. Boxed, the
        // handler's future is copied once, into the box.
        let result = Box::pin(self.dispatch(port, &endpoint, &req)).await;
        let response = result.unwrap_or_else(|e| self.error_response(&e));
        // Input that could make a header unsendable is refused with a 4xx before it gets
        // here; should anything else (a stored row, a setting) still do it, the answer is
        // a loud error, never a header the host silently drops (a 302 without Location).
        let response = match response.check_sendable() {
            Ok(()) => response,
            // What was done stays done: its effects (logouts) still go out.
            Err(why) => self.error_response(&Error::server(why)).with_effects(response.effects),
        };
        // With CORS on, an answer depends on `Origin`, with or without one: a cache must
        // not hand an answer without CORS headers to a page on an allowed origin.
        let response = if cors.enabled && crate::cors::applies_to(&endpoint) {
            crate::cors::vary_origin(response)
        } else {
            response
        };
        let response = match origin {
            Some(o) if crate::cors::applies_to(&endpoint) => {
                let allowed = cors.allows_origin(&o)
                    || (crate::cors::per_client(port, &endpoint) && self.client_allows_origin(&req, &o).await);
                if allowed {
                    cors.allow(&o, req.method, response)
                } else {
                    response
                }
            }
            _ => response,
        };
        (Some(endpoint), response)
    }

    /// Whether the client a public request is for lists `origin` in its
    /// `allowed_cors_origins` (Hydra's per-client CORS): the client named by the form's
    /// `client_id`, the Basic credentials' user, or the active access token presented.
    /// This only decides whether `origin` may read the answer; it authenticates nothing
    /// (the endpoint itself does), and a client's origins only ever open its own
    /// requests.
    async fn client_allows_origin(&self, req: &Request, origin: &str) -> bool {
        let form = req.form_params().ok();
        let mut client_id = form.as_ref().and_then(|p| p.get("client_id")).map(str::to_string);
        if client_id.is_none() {
            client_id = req.basic_auth().ok().flatten().map(|(id, _)| id);
        }
        if client_id.is_none() {
            let token = req
                .bearer_token()
                .map(str::to_string)
                .or_else(|| form.as_ref().and_then(|p| p.get("access_token")).map(str::to_string));
            if let Some(t) = token {
                if let Ok(Some(sig)) = crate::access_token::signature_of(self, &t).await {
                    if let Ok(Some(r)) = self.store.get_token(crate::store::TokenKind::AccessToken, &sig).await {
                        if r.active && r.expires_at > self.platform.now() {
                            client_id = Some(r.client_id);
                        }
                    }
                }
            }
        }
        let Some(id) = client_id else { return false };
        match self.client(&id).await {
            Ok(Some(c)) => crate::cors::origin_matches(&c.allowed_cors_origins, origin),
            _ => false,
        }
    }

    /// `/health/ready`: 200 when the store answers (with its migrations applied) and
    /// every key of the well-known sets opens, 503 otherwise. The reason is shown on the
    /// admin port only: a database error can name hosts and users, so the public port
    /// says only what is not ready, as Hydra does.
    async fn readiness(&self, port: Port) -> Response {
        let (what, why) = match self.store.ping().await {
            Err(e) => ("database", e.to_string()),
            Ok(()) => match self.key_problems().await {
                Ok(None) => return Response::json(200, &serde_json::json!({"status": "ok"})),
                Ok(Some(why)) => ("keys", why),
                Err(e) => ("keys", e.to_string()),
            },
        };
        let why = if port == Port::Admin { why } else { "not ready; the admin port's /health/ready says why".into() };
        Response::json(503, &serde_json::json!({"errors": {what: why}}))
    }

    /// Why the well-known key sets cannot serve, if they cannot: a key no configured
    /// system secret opens (named by set and kid).
    async fn key_problems(&self) -> Result<Option<String>, Error> {
        let mut problems = Vec::new();
        for set in [crate::keys::ID_TOKEN_SET, crate::keys::ACCESS_TOKEN_SET] {
            let loaded = self.loaded_keys(set).await?;
            for (kid, why) in &loaded.unreadable {
                problems.push(format!("key {set}/{kid}: {why}"));
            }
        }
        Ok((!problems.is_empty()).then(|| {
            format!(
                "{}; configure the system secret these keys were sealed under again (SECRETS_SYSTEM, after the first), or delete them",
                problems.join("; ")
            )
        }))
    }

    /// Renders an error with debug detail only when allowed.
    pub fn error_response(&self, e: &Error) -> Response {
        Response::error(e, self.config.expose_debug())
    }

    async fn dispatch(&self, port: Port, endpoint: &Endpoint, req: &Request) -> Result<Response, Error> {
        use Endpoint::*;
        match endpoint {
            Authorize => authorize::handle(self, req).await,
            Userinfo => oidc::userinfo(self, req).await,
            Logout => logout::handle(self, req).await,
            GetLogoutRequest => logout::get_request(self, req).await,
            AcceptLogoutRequest => logout::accept(self, req).await,
            RejectLogoutRequest => logout::reject(self, req).await,
            Fallback(page) => Ok(crate::fallback::page(page, req)),
            Token => token_endpoint::handle(self, req).await,
            Revoke => revocation::handle(self, req).await,
            DeviceAuthorization => crate::device::authorize(self, req).await,
            PushedAuthorization => crate::par::push(self, req).await,
            DeviceVerify => crate::device::verify(self, req).await,
            Register => crate::registration::register(self, req).await,
            GetRegistration(id) => crate::registration::get(self, id, req).await,
            ReplaceRegistration(id) => crate::registration::replace(self, id, req).await,
            DeleteRegistration(id) => crate::registration::delete(self, id, req).await,
            AcceptDeviceRequest => crate::device::accept_user_code(self, req).await,
            Discovery => discovery::openid_configuration(self).await,
            Jwks => discovery::jwks(self).await,
            HealthAlive => Ok(Response::json(200, &serde_json::json!({"status": "ok"}))),
            OpenApi => Ok(crate::openapi::document()),
            HealthReady => Ok(self.readiness(port).await),
            Version => Ok(Response::json(200, &serde_json::json!({"version": self.config.version}))),
            Metrics => Err(Error::not_found("Metrics are served by the host, not the protocol core.")),
            ListClients => admin::clients::list(self, req).await,
            CreateClient => admin::clients::create(self, req).await,
            GetClient(id) => admin::clients::get(self, id).await,
            ReplaceClient(id) => admin::clients::replace(self, id, req).await,
            PatchClient(id) => admin::clients::patch(self, id, req).await,
            DeleteClient(id) => admin::clients::delete(self, id).await,
            SetClientLifespans(id) => admin::clients::set_lifespans(self, id, req).await,
            Introspect => introspection::handle(self, req).await,
            DeleteTokens => admin::tokens::delete_client_tokens(self, req).await,
            GetKeySet(set) => admin::keys::get_set(self, set).await,
            CreateKey(set) => admin::keys::create(self, set, req).await,
            ReplaceKeySet(set) => admin::keys::replace_set(self, set, req).await,
            ReplaceKey(set, kid) => admin::keys::replace_key(self, set, kid, req).await,
            DeleteKeySet(set) => admin::keys::delete_set(self, set).await,
            GetKey(set, kid) => admin::keys::get_key(self, set, kid).await,
            DeleteKey(set, kid) => admin::keys::delete_key(self, set, kid).await,
            GetLoginRequest => admin::flows::get_login(self, req).await,
            AcceptLoginRequest => admin::flows::accept_login(self, req).await,
            RejectLoginRequest => admin::flows::reject_login(self, req).await,
            GetConsentRequest => admin::flows::get_consent(self, req).await,
            AcceptConsentRequest => admin::flows::accept_consent(self, req).await,
            RejectConsentRequest => admin::flows::reject_consent(self, req).await,
            ListConsentSessions => admin::flows::list_consent_sessions(self, req).await,
            RevokeConsentSessions => admin::flows::revoke_consent_sessions(self, req).await,
            RevokeLoginSessions => admin::flows::revoke_login_sessions(self, req).await,
            ListTrusts => admin::trust::list(self, req).await,
            CreateTrust => admin::trust::create(self, req).await,
            GetTrust(id) => admin::trust::get(self, id).await,
            DeleteTrust(id) => admin::trust::delete(self, id).await,
        }
    }

    /// A random identifier: UUID v4 from platform bytes.
    pub fn new_uuid(&self) -> String {
        let mut b = [0u8; 16];
        self.platform.fill_random(&mut b);
        uuid::Builder::from_random_bytes(b).into_uuid().to_string()
    }

    /// A new grant (request) id: a UUIDv7 (RFC 9562 §5.7), the millisecond then 74
    /// random bits, so that the token index on `request_id` grows at its end rather
    /// than at random (see [`crate::token`]). Only for ids that are no secret: a
    /// request id is handed to the login & consent app and listed by the admin API.
    pub fn new_request_id(&self) -> String {
        let mut b = [0u8; 10];
        self.platform.fill_random(&mut b);
        let millis = crate::platform::millis_48(&self.platform);
        uuid::Builder::from_unix_timestamp_millis(millis, &b).into_uuid().to_string()
    }

    /// The keys of a set that open, oldest first, unsealed; cached (see [`Caches`]). A
    /// key no configured system secret opens is left out (so the JWK set never fails
    /// for one key: it publishes what it can vouch for) and reported by readiness;
    /// [`Latch::signing_key`] refuses to sign when it is the newest.
    pub async fn key_set(&self, set: &str) -> Result<Arc<Vec<SigningKey>>, Error> {
        Ok(self.loaded_keys(set).await?.keys.clone())
    }

    /// A set as loaded, unreadable keys included; cached (see [`Caches`]).
    pub async fn loaded_keys(&self, set: &str) -> Result<Arc<LoadedKeys>, Error> {
        let now = self.platform.now();
        let ticket = match self.caches.keys(set, now) {
            Ok(keys) => return Ok(keys),
            Err(ticket) => ticket,
        };
        let stored = self.store.get_key_set(set).await?;
        let mut loaded = LoadedKeys::default();
        let mut keys = Vec::with_capacity(stored.len());
        for (i, k) in stored.iter().enumerate() {
            match self.open_key(k) {
                Ok(key) => keys.push(key),
                Err(why) => {
                    if i + 1 == stored.len() {
                        loaded.newest_unreadable = Some(k.kid.clone());
                    }
                    loaded.unreadable.push((k.kid.clone(), why));
                }
            }
        }
        loaded.keys = Arc::new(keys);
        let loaded = Arc::new(loaded);
        self.caches.put_keys(set, &loaded, now, ticket);
        Ok(loaded)
    }

    /// Unseals and parses one stored key; why not, if it cannot.
    fn open_key(&self, k: &StoredKey) -> Result<SigningKey, String> {
        let raw = seal::open(&self.config.system_secrets, Purpose::PrivateKey, &k.sealed)
            .ok_or("it cannot be opened with any of the configured system secrets (SECRETS_SYSTEM)")?;
        let jwk: serde_json::Value =
            serde_json::from_slice(&raw).map_err(|e| format!("its private JWK does not parse: {e}"))?;
        SigningKey::from_jwk(&jwk).map_err(|e| format!("its private JWK is not usable: {e}"))
    }

    /// Re-seals under the first system secret every stored key that an older one opens,
    /// so that the older secret can then be retired; reports the keys no configured secret
    /// opens. Each re-seal is a compare-and-set on the sealed value, so instances starting
    /// together re-seal each key once. Hosts call this at start-up (the Worker: on an
    /// isolate's first request).
    ///
    /// An instance still running without the first secret cannot open a key re-sealed
    /// under it (as it cannot open a key created under it): roll the new secret out as a
    /// later entry everywhere first, then make it the first.
    pub async fn reseal_keys(&self) -> Result<ResealReport, Error> {
        let mut report = ResealReport::default();
        let secrets = &self.config.system_secrets;
        for k in self.store.list_keys().await? {
            match seal::open_indexed(secrets, Purpose::PrivateKey, &k.sealed) {
                Some((0, _)) => {}
                Some((_, raw)) => {
                    let sealed = seal::seal(&self.platform, secrets, Purpose::PrivateKey, &raw);
                    if self.store.reseal_key(&k.set, &k.kid, &k.sealed, &sealed).await? {
                        report.resealed.push((k.set.clone(), k.kid.clone()));
                    }
                    self.invalidate_keys(&k.set);
                }
                None => report.unreadable.push((
                    k.set.clone(),
                    k.kid.clone(),
                    "it cannot be opened with any of the configured system secrets (SECRETS_SYSTEM)".into(),
                )),
            }
        }
        Ok(report)
    }

    /// A client for the hot paths (token, revocation and authorization endpoints),
    /// cached where [`Coherence`] allows, for at most [`CLIENT_CACHE_TTL`].
    pub async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, Error> {
        let now = self.platform.now();
        let ticket = match self.caches.client(id, now) {
            Ok(c) => return Ok(Some(c)),
            Err(ticket) => ticket,
        };
        let Some(c) = self.store.get_client(id).await? else {
            return Ok(None);
        };
        let c = Arc::new(c);
        self.caches.put_client(id, &c, now, ticket);
        Ok(Some(c))
    }

    /// Drops a client from the cache (around an admin write: before, and after it).
    pub fn forget_client(&self, id: &str) {
        self.caches.forget_client(id);
    }

    /// Forgets cached key sets (after an admin write).
    pub fn invalidate_keys(&self, set: &str) {
        self.caches.forget_key_set(set);
    }

    /// Seals and stores a key. The newest key of a set signs, so its creation time is
    /// made later than every existing key's, even within the same second.
    pub async fn store_key(&self, set: &str, key: &SigningKey) -> Result<(), Error> {
        let newest = self.store.get_key_set(set).await?.iter().map(|k| k.created_at).max();
        let created_at = newest.map_or(self.platform.now(), |n| self.platform.now().max(n + 1));
        let sealed = seal::seal(
            &self.platform,
            &self.config.system_secrets,
            Purpose::PrivateKey,
            key.private_jwk().to_string().as_bytes(),
        );
        self.store
            .add_key(&StoredKey {
                set: set.to_string(),
                kid: key.kid.clone(),
                alg: key.alg.as_str().to_string(),
                use_: "sig".into(),
                created_at,
                sealed,
            })
            .await?;
        self.invalidate_keys(set);
        Ok(())
    }

    /// Makes sure a set has a key, generating one with `alg` (through
    /// [`Platform::generate_key`]) if it has none; the kid generated, if one was.
    pub async fn ensure_key(&self, set: &str, alg: Alg) -> Result<Option<String>, Error> {
        if !self.store.get_key_set(set).await?.is_empty() {
            return Ok(None);
        }
        let kid = self.new_uuid();
        let key = self.platform.generate_key(alg, &kid).await?;
        self.store_key(set, &key).await?;
        Ok(Some(kid))
    }

    /// The sets Latch signs with, and the algorithm of a key generated for each.
    pub fn well_known_sets(&self) -> [(&'static str, Alg); 2] {
        [(crate::keys::ID_TOKEN_SET, self.config.id_token_alg), (crate::keys::ACCESS_TOKEN_SET, Alg::Rs256)]
    }

    /// Makes the signing keys ready, the same way on every host: re-seals keys under the
    /// first system secret ([`Latch::reseal_keys`]), then generates a key for each
    /// well-known set that has none ([`Latch::ensure_key`]). The native server calls it
    /// at start-up; the Worker, which has no start-up, before an isolate's first request
    /// that may sign; the admin API after deleting keys of a well-known set. No other
    /// path generates a key: [`Latch::signing_key`] answers 503 for an empty set.
    pub async fn prepare_keys(&self) -> Result<PreparedKeys, Error> {
        let reseal = self.reseal_keys().await?;
        let mut generated = Vec::new();
        for (set, alg) in self.well_known_sets() {
            if let Some(kid) = self.ensure_key(set, alg).await? {
                generated.push((set.to_string(), kid, alg));
            }
        }
        Ok(PreparedKeys { reseal, generated })
    }

    /// After an admin write that deleted keys of `set`: a well-known set gets a new key
    /// at once if it has none left (Hydra generates one on next use), so no signature
    /// finds it empty.
    pub async fn refill_key_set(&self, set: &str) -> Result<(), Error> {
        if let Some((set, alg)) = self.well_known_sets().into_iter().find(|(s, _)| *s == set) {
            self.ensure_key(set, alg).await?;
        }
        Ok(())
    }

    /// The newest key of a set. When the newest stored key cannot be opened, 503
    /// (`temporarily_unavailable`): an older key is never used in its place, and no key
    /// is generated over it. An empty set is 503 too: keys are generated only by
    /// [`Latch::prepare_keys`] (and the admin API), never on the way to a signature.
    pub async fn signing_key(&self, set: &str) -> Result<(Arc<Vec<SigningKey>>, usize), Error> {
        let loaded = self.loaded_keys(set).await?;
        if let Some(kid) = &loaded.newest_unreadable {
            return Err(unusable_key(set, kid));
        }
        let n = loaded.keys.len();
        if n == 0 {
            return Err(Error::new(ErrorCode::TemporarilyUnavailable)
                .with_hint("The signing keys are not ready yet.")
                .with_debug(format!("key set {set} is empty: the host prepares keys with Latch::prepare_keys")));
        }
        Ok((loaded.keys.clone(), n - 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::platform::FixedPlatform;
    use crate::store::KeyStore;
    use futures_executor::block_on;

    fn client(id: &str) -> Arc<Client> {
        Arc::new(Client { client_id: id.into(), ..Default::default() })
    }

    /// Notified caches serve nothing until the host's channel is up, and nothing once it
    /// is lost; an invalidation during a read keeps that read's value out.
    #[test]
    fn client_cache_follows_the_channel_and_never_stores_a_raced_read() {
        let c = Caches::new(Coherence::Notified);
        let t = c.client("a", 0).expect_err("empty");
        c.put_client("a", &client("a"), 0, t);
        assert!(c.client("a", 0).is_err(), "not cached before the channel is up");
        c.set_connected(true);
        let t = c.client("a", 0).expect_err("empty");
        c.put_client("a", &client("a"), 0, t);
        assert!(c.client("a", 1).is_ok(), "cached while the channel is up");
        assert!(c.client("a", CLIENT_CACHE_TTL).is_err(), "the time-to-live still bounds it");
        c.forget_client("a");
        assert!(c.client("a", 1).is_err(), "forgotten when notified");
        // A read that began before a change must not put the old value back.
        let t = c.client("a", 1).expect_err("empty");
        c.forget_client("a");
        c.put_client("a", &client("a"), 1, t);
        assert!(c.client("a", 1).is_err(), "the raced read was not cached");
        let t = c.client("a", 1).expect_err("empty");
        c.put_client("a", &client("a"), 1, t);
        assert!(c.client("a", 1).is_ok());
        c.set_connected(false);
        assert!(c.client("a", 1).is_err(), "emptied when the channel is lost");
        let t = c.client("a", 1).expect_err("empty");
        c.put_client("a", &client("a"), 1, t);
        assert!(c.client("a", 1).is_err(), "and not cached until it is back");
        // A read that began while the channel was down is not cached once it is up.
        c.set_connected(true);
        c.put_client("a", &client("a"), 1, t);
        assert!(c.client("a", 1).is_err());

        let shared = Caches::new(Coherence::Shared);
        shared.set_connected(true);
        let t = shared.client("a", 0).expect_err("empty");
        shared.put_client("a", &client("a"), 0, t);
        assert!(shared.client("a", 0).is_err(), "Shared never caches clients");
    }

    fn latch(store: MemoryStore, secrets: &[&[u8]]) -> Latch<MemoryStore, FixedPlatform> {
        let mut c = Config::new("https://auth.example", secrets[0]);
        c.system_secrets = secrets.iter().map(|s| s.to_vec()).collect();
        Latch::new(store, FixedPlatform::new(1_700_000_000, 5), c)
    }

    /// Keys are generated by `prepare_keys` (once per well-known set, with the configured
    /// ID-token algorithm) and after an admin delete empties a well-known set; a signature
    /// never generates one: before the keys are prepared it answers 503.
    #[test]
    fn keys_are_prepared_never_generated_on_the_way_to_a_signature() {
        use crate::keys::{ACCESS_TOKEN_SET, ID_TOKEN_SET};
        let mut l = latch(MemoryStore::new(), &[b"secret-a-0123456789abcdef"]);
        l.config.id_token_alg = Alg::EdDsa;
        let e = block_on(l.signing_key(ID_TOKEN_SET)).expect_err("no key yet");
        assert_eq!((e.code, e.status()), (ErrorCode::TemporarilyUnavailable, 503), "{e}");
        assert!(block_on(l.store.get_key_set(ID_TOKEN_SET)).expect("stored").is_empty(), "nothing generated");
        let prepared = block_on(l.prepare_keys()).expect("prepared");
        let generated: Vec<(&str, Alg)> = prepared.generated.iter().map(|(s, _, a)| (s.as_str(), *a)).collect();
        assert_eq!(generated, [(ID_TOKEN_SET, Alg::EdDsa), (ACCESS_TOKEN_SET, Alg::Rs256)]);
        assert_eq!(block_on(l.prepare_keys()).expect("again"), PreparedKeys::default(), "once");
        let (keys, newest) = block_on(l.signing_key(ID_TOKEN_SET)).expect("signs");
        assert_eq!(keys[newest].kid, prepared.generated[0].1);
        let delete = Request::new(crate::http::Method::Delete, &format!("/admin/keys/{ID_TOKEN_SET}"));
        assert_eq!(block_on(l.handle(Port::Admin, delete)).1.status, 204);
        let (keys, newest) = block_on(l.signing_key(ID_TOKEN_SET)).expect("refilled by the delete");
        assert_ne!(keys[newest].kid, prepared.generated[0].1);
        assert_eq!(keys[newest].alg, Alg::EdDsa);
    }

    /// Secret rotation (threat: none; an operator's routine that must not break signing):
    /// [A] → [B, A] re-seals under B → [B] signs; [C] alone reports the keys and refuses
    /// to sign with a 503, and the JWK set still answers.
    #[test]
    fn rotation_reseals_then_the_old_secret_can_go() {
        let (a, b, c): (&[u8], &[u8], &[u8]) =
            (b"secret-a-0123456789abcdef", b"secret-b-0123456789abcdef", b"secret-c-0123456789abcdef");
        let l = latch(MemoryStore::new(), &[a]);
        block_on(l.ensure_key(crate::keys::ID_TOKEN_SET, Alg::EdDsa)).expect("key");
        let kid = block_on(l.key_set(crate::keys::ID_TOKEN_SET)).expect("set")[0].kid.clone();
        assert_eq!(block_on(l.reseal_keys()).expect("reseal"), ResealReport::default(), "nothing to do");

        let l = latch(l.store, &[b, a]);
        let report = block_on(l.reseal_keys()).expect("reseal");
        assert_eq!(report.resealed, [(crate::keys::ID_TOKEN_SET.to_string(), kid.clone())]);
        assert!(report.unreadable.is_empty());
        assert_eq!(block_on(l.reseal_keys()).expect("again"), ResealReport::default(), "done once");

        let l = latch(l.store, &[b]);
        let (keys, newest) = block_on(l.signing_key(crate::keys::ID_TOKEN_SET)).expect("signs with B alone");
        assert_eq!(keys[newest].kid, kid);
        assert!(block_on(l.key_problems()).expect("problems").is_none());

        let l = latch(l.store, &[c]);
        let report = block_on(l.reseal_keys()).expect("reseal");
        assert_eq!(report.unreadable.len(), 1);
        assert_eq!(
            (report.unreadable[0].0.as_str(), report.unreadable[0].1.as_str()),
            (crate::keys::ID_TOKEN_SET, kid.as_str())
        );
        let e = block_on(l.signing_key(crate::keys::ID_TOKEN_SET)).expect_err("cannot sign");
        assert_eq!(e.status(), 503, "{e}");
        assert!(block_on(l.key_set(crate::keys::ID_TOKEN_SET)).expect("readable keys only").is_empty());
        let why = block_on(l.key_problems()).expect("problems").expect("a problem");
        assert!(why.contains(&kid) && why.contains(crate::keys::ID_TOKEN_SET), "{why}");
        assert_eq!(
            block_on(l.store.get_key_set(crate::keys::ID_TOKEN_SET)).expect("stored").len(),
            1,
            "nothing generated over it"
        );
    }
}
