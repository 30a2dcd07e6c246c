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
use crate::error::Error;
use crate::http::{Request, Response};
use crate::keys::{Alg, SigningKey};
use crate::platform::Platform;
use crate::router::{route, Endpoint, Port};
use crate::seal::{self, Purpose};
use crate::secret::VerifiedSecretCache;
use crate::store::{Store, StoredKey};
use crate::{admin, authorize, discovery, introspection, logout, oidc, revocation, token_endpoint};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How long a loaded key set is reused before it is read again, in seconds. Bounds how
/// long another instance keeps signing with a key deleted elsewhere.
pub const KEY_CACHE_TTL: i64 = 60;
/// How long a client read for the token and authorization endpoints is reused, in
/// seconds. Writes through this process's admin API take effect at once; a change made
/// through another instance sharing the database is seen here within this time.
pub const CLIENT_CACHE_TTL: i64 = 5;
/// At most this many cached clients; the cache is cleared when full.
pub const CLIENT_CACHE_CAPACITY: usize = 10_000;

/// A Latch server: everything an endpoint needs.
pub struct Latch<S, P> {
    /// Where everything is stored.
    pub store: S,
    /// Time, randomness, key derivation.
    pub platform: P,
    /// Settings.
    pub config: Config,
    pub(crate) secrets: VerifiedSecretCache,
    keys: Mutex<HashMap<String, CachedKeys>>,
    clients: Mutex<HashMap<String, (i64, Arc<Client>)>>,
}

/// A key set as loaded, with the time it was loaded.
type CachedKeys = (i64, Arc<Vec<SigningKey>>);

impl<S: Store, P: Platform> Latch<S, P> {
    /// A server over `store` and `platform` with `config`.
    pub fn new(store: S, platform: P, config: Config) -> Self {
        let secrets = VerifiedSecretCache::new(&platform);
        Latch {
            store,
            platform,
            config,
            secrets,
            keys: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Answers one request arriving on `port`. Returns the endpoint matched (for
    /// metrics labels; `None` when nothing matched) and the response. Never fails:
    /// every error is rendered as RFC 6749 JSON.
    pub async fn handle(&self, port: Port, req: Request) -> (Option<Endpoint>, Response) {
        let endpoint = match route(port, req.method, &req.path) {
            Ok(e) => e,
            Err(e) => return (None, self.error_response(&e)),
        };
        // Boxed: an `async fn`'s future is as large as the largest future it awaits, here
        // the token endpoint's (7.7 KB), and every layer above (the adapter's span, axum's
        // handler) copies its child into itself: unboxed, the native adapter's request
        // future was 34 KB, moved several times per request (memcpy was 10 % of a flow's
        // instructions outside RSA). Boxed, it is 1.4 KB and the handler's future is
        // copied once, into the box.
        let result = Box::pin(self.dispatch(port, &endpoint, &req)).await;
        let response = result.unwrap_or_else(|e| self.error_response(&e));
        // Input that could make a header unsendable is refused with a 4xx before it gets
        // here; should anything else (a stored row, a setting) still do it, the answer is
        // a loud error, never a header the host silently drops (a 302 without Location).
        let response = match response.check_sendable() {
            Ok(()) => response,
            Err(why) => self.error_response(&Error::server(why)),
        };
        (Some(endpoint), response)
    }

    /// `/health/ready`: 200 when the store answers (with its migrations applied), 503
    /// otherwise. The reason is shown on the admin port only: a database error can name
    /// hosts and users, so the public port says only that the database is not ready,
    /// as Hydra does.
    async fn readiness(&self, port: Port) -> Response {
        match self.store.ping().await {
            Ok(()) => Response::json(200, &serde_json::json!({"status": "ok"})),
            Err(e) if port == Port::Admin => {
                Response::json(503, &serde_json::json!({"errors": {"database": e.to_string()}}))
            }
            Err(_) => Response::json(
                503,
                &serde_json::json!({"errors": {"database": "not ready; the admin port's /health/ready says why"}}),
            ),
        }
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

    /// The keys of a set, oldest first, unsealed; cached for [`KEY_CACHE_TTL`].
    pub async fn key_set(&self, set: &str) -> Result<Arc<Vec<SigningKey>>, Error> {
        let now = self.platform.now();
        if let Some((loaded, keys)) = self.keys.lock().ok().and_then(|g| g.get(set).cloned()) {
            if now - loaded < KEY_CACHE_TTL {
                return Ok(keys);
            }
        }
        let stored = self.store.get_key_set(set).await?;
        let mut keys = Vec::with_capacity(stored.len());
        for k in &stored {
            let raw = seal::open(&self.config.system_secrets, Purpose::PrivateKey, &k.sealed).ok_or_else(|| {
                Error::server(format!("key {}/{} cannot be unsealed with the configured system secrets", k.set, k.kid))
            })?;
            let jwk: serde_json::Value = serde_json::from_slice(&raw).map_err(|e| Error::server(e.to_string()))?;
            keys.push(
                SigningKey::from_jwk(&jwk)
                    .map_err(|e| Error::server(format!("stored key {}/{}: {e}", k.set, k.kid)))?,
            );
        }
        let keys = Arc::new(keys);
        if let Ok(mut g) = self.keys.lock() {
            g.insert(set.to_string(), (now, keys.clone()));
        }
        Ok(keys)
    }

    /// A client for the hot paths (token, revocation and authorization endpoints),
    /// cached for [`CLIENT_CACHE_TTL`].
    pub async fn client(&self, id: &str) -> Result<Option<Arc<Client>>, Error> {
        let now = self.platform.now();
        if let Some((loaded, c)) = self.clients.lock().ok().and_then(|g| g.get(id).cloned()) {
            if now - loaded < CLIENT_CACHE_TTL {
                return Ok(Some(c));
            }
        }
        let Some(c) = self.store.get_client(id).await? else {
            self.forget_client(id);
            return Ok(None);
        };
        let c = Arc::new(c);
        if let Ok(mut g) = self.clients.lock() {
            if g.len() >= CLIENT_CACHE_CAPACITY {
                g.clear();
            }
            g.insert(id.to_string(), (now, c.clone()));
        }
        Ok(Some(c))
    }

    /// Drops a client from the cache (after an admin write).
    pub fn forget_client(&self, id: &str) {
        if let Ok(mut g) = self.clients.lock() {
            g.remove(id);
        }
    }

    /// Forgets cached key sets (after an admin write).
    pub fn invalidate_keys(&self, set: &str) {
        if let Ok(mut g) = self.keys.lock() {
            g.remove(set);
        }
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

    /// Makes sure a set has a key, generating one with `alg` if it has none. Hosts
    /// call this at start-up for the well-known sets, so RSA generation never runs on
    /// a request path.
    pub async fn ensure_key(&self, set: &str, alg: Alg) -> Result<(), Error> {
        if self.store.get_key_set(set).await?.is_empty() {
            let key = SigningKey::generate(&self.platform, alg, &self.new_uuid())?;
            self.store_key(set, &key).await?;
        }
        Ok(())
    }

    /// The newest key of a set, generating an RS256 key if the set is empty.
    pub async fn signing_key(&self, set: &str) -> Result<(Arc<Vec<SigningKey>>, usize), Error> {
        let mut keys = self.key_set(set).await?;
        if keys.is_empty() {
            self.ensure_key(set, Alg::Rs256).await?;
            keys = self.key_set(set).await?;
        }
        let n = keys.len();
        if n == 0 {
            return Err(Error::server(format!("key set {set} is empty")));
        }
        Ok((keys, n - 1))
    }
}
