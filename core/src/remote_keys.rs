//! Clients' `jwks_uri` key sets (RFC 7591 §2, OIDC Core §10.1.1): fetched through the
//! host ([`Platform::fetch`], which enforces the timeout, the size limit and the
//! destination policy), kept an hour, fetched again when a key is missing, but at most
//! once a minute per URL, so that assertions naming unknown keys cannot make Latch
//! fetch a URL on every request (RFC 7523 §3 item 9 verification, without turning the
//! token endpoint into an amplifier).

use crate::error::Error;
use crate::platform::{Outbound, Platform};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How long a fetched set is used.
const TTL_SECONDS: i64 = 3600;
/// A set is fetched again for a missing key only when at least this old.
const REFETCH_AFTER_SECONDS: i64 = 60;
/// At most this many URLs are cached; a full cache starts over.
const MAX_ENTRIES: usize = 1024;
/// The longest key set accepted.
pub const MAX_BODY: usize = 1 << 20;

/// A fetched set and when it was fetched.
type Fetched = (i64, Arc<Vec<Value>>);

/// The cache of fetched key sets.
#[derive(Debug, Default)]
pub struct RemoteKeySets {
    state: Mutex<HashMap<String, Fetched>>,
}

impl RemoteKeySets {
    fn cached(&self, url: &str) -> Option<Fetched> {
        self.state.lock().ok()?.get(url).cloned()
    }

    fn remember(&self, url: &str, at: i64, keys: Arc<Vec<Value>>) {
        if let Ok(mut g) = self.state.lock() {
            if g.len() >= MAX_ENTRIES && !g.contains_key(url) {
                g.clear();
            }
            g.insert(url.to_string(), (at, keys));
        }
    }

    /// The keys at `url`, from the cache while fresh and `fits` them (it is asked whether
    /// the set has the key wanted), else fetched again (at most once a minute).
    pub async fn keys<P: Platform>(
        &self,
        platform: &P,
        url: &str,
        public_only: bool,
        fits: impl Fn(&[Value]) -> bool,
    ) -> Result<Arc<Vec<Value>>, Error> {
        let now = platform.now();
        if let Some((at, keys)) = self.cached(url) {
            let age = now - at;
            if age < TTL_SECONDS && (fits(&keys) || age < REFETCH_AFTER_SECONDS) {
                return Ok(keys);
            }
        }
        let keys = Arc::new(fetch(platform, url, public_only).await?);
        self.remember(url, now, keys.clone());
        Ok(keys)
    }
}

/// Fetches and reads a JWK Set (RFC 7517 §5).
async fn fetch<P: Platform>(platform: &P, url: &str, public_only: bool) -> Result<Vec<Value>, Error> {
    let bad = |why: String| Error::invalid_client(format!("The client's jwks_uri '{url}' could not be used: {why}."));
    let request =
        Outbound::client_document(url.to_string(), "application/json, application/jwk-set+json", MAX_BODY, public_only);
    let answer = platform.fetch(&request).await.map_err(bad)?;
    if !(200..300).contains(&answer.status) {
        return Err(bad(format!("it answered HTTP {}", answer.status)));
    }
    let set: Value = serde_json::from_slice(&answer.body).map_err(|e| bad(format!("its body is not JSON ({e})")))?;
    match set.get("keys") {
        Some(Value::Array(keys)) => Ok(keys.clone()),
        _ => Err(bad("its body is not a JWK Set (an object with a 'keys' array)".into())),
    }
}

/// The keys a client verifies with (RFC 7591 §2): its inline `jwks` when it has keys
/// (they win, as in Hydra), else its `jwks_uri`'s, fetched or cached; `kid` (the JWS's)
/// decides whether a cached set still has the key wanted. `Err` when it has neither.
pub async fn of_client<S: crate::store::Store, P: Platform>(
    latch: &crate::service::Latch<S, P>,
    client: &crate::client::Client,
    kid: Option<&str>,
) -> Result<Arc<Vec<Value>>, Error> {
    if let Some(keys) = client.jwks.as_ref().and_then(|s| s.get("keys")).and_then(Value::as_array) {
        if !keys.is_empty() {
            return Ok(Arc::new(keys.clone()));
        }
    }
    if client.jwks_uri.is_empty() {
        return Err(Error::invalid_client(
            "The OAuth 2.0 Client has no keys ('jwks' or 'jwks_uri') to verify its JWTs with.",
        ));
    }
    let has_key =
        |keys: &[Value]| keys.iter().any(|k| kid.is_none_or(|kid| k.get("kid").and_then(Value::as_str) == Some(kid)));
    let public_only = latch.config.disallow_private_ip_ranges;
    latch.remote_keys.keys(&latch.platform, &client.jwks_uri, public_only, has_key).await
}
