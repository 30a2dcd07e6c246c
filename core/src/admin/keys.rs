//! JSON Web Key sets (`/admin/keys/{set}`): generate a key into a set (POST adds, so a
//! set rotates by adding), import keys (PUT replaces a set or one key, as Hydra's
//! `setJsonWebKeySet` and `setJsonWebKey`), read a set or a key, delete either.

use crate::error::{Error, ErrorCode};
use crate::http::{Request, Response};
use crate::keys::{Alg, SigningKey};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::Store;
use serde::Deserialize;
use serde_json::{json, Value};

/// Hydra's `createJsonWebKeySet` body. Unknown members are ignored and `null` reads as
/// absent, as Hydra (Go's `encoding/json`) reads them.
#[derive(Deserialize)]
struct CreateKey {
    alg: String,
    #[serde(rename = "use", default)]
    use_: Option<String>,
    #[serde(default)]
    kid: Option<String>,
}

/// `POST /admin/keys/{set}` with `{"alg", "use", "kid"}`: 201 and the new key (private).
pub async fn create<S: Store, P: Platform>(latch: &Latch<S, P>, set: &str, req: &Request) -> Result<Response, Error> {
    let body: CreateKey = req.json_body()?;
    let alg = Alg::parse(&body.alg).ok_or_else(|| {
        Error::invalid_request(format!("Unsupported 'alg' '{}': use one of {}.", body.alg, Alg::names()))
    })?;
    if let Some(u) = body.use_.as_deref() {
        if u != "sig" {
            return Err(Error::invalid_request("Only 'use': 'sig' keys can be generated."));
        }
    }
    let kid = body.kid.filter(|k| !k.is_empty()).unwrap_or_else(|| latch.new_uuid());
    let key = latch.platform.generate_key(alg, &kid).await?;
    latch.store_key(set, &key).await.map_err(|e| {
        if e.code == ErrorCode::Conflict {
            e.with_hint(format!("The key set '{set}' already has a key with kid '{kid}'."))
        } else {
            e
        }
    })?;
    Ok(Response::json(201, &json!({"keys": [key.private_jwk()]})))
}

/// 503 naming the keys of a set that no configured system secret opens: the admin API
/// never lists a set as if they were not there (the operator can configure the secret
/// again, or delete them).
fn unreadable(set: &str, kids: &[&str]) -> Error {
    Error::new(ErrorCode::TemporarilyUnavailable).with_hint(format!(
        "The key(s) {} of set '{set}' cannot be opened with any of the configured system secrets (SECRETS_SYSTEM): configure the secret they were sealed under again (after the first), or delete them.",
        kids.iter().map(|k| format!("'{k}'")).collect::<Vec<_>>().join(", ")
    ))
}

/// `GET /admin/keys/{set}`: the set's keys, newest first; 404 when empty.
pub async fn get_set<S: Store, P: Platform>(latch: &Latch<S, P>, set: &str) -> Result<Response, Error> {
    let loaded = latch.loaded_keys(set).await?;
    if !loaded.unreadable.is_empty() {
        return Err(unreadable(set, &loaded.unreadable.iter().map(|(kid, _)| kid.as_str()).collect::<Vec<_>>()));
    }
    let keys = &loaded.keys;
    if keys.is_empty() {
        return Err(Error::not_found(format!("The JSON Web Key Set '{set}' does not exist.")));
    }
    Ok(Response::json(200, &json!({"keys": keys.iter().rev().map(SigningKey::private_jwk).collect::<Vec<_>>()})))
}

/// `GET /admin/keys/{set}/{kid}`.
pub async fn get_key<S: Store, P: Platform>(latch: &Latch<S, P>, set: &str, kid: &str) -> Result<Response, Error> {
    let loaded = latch.loaded_keys(set).await?;
    if loaded.unreadable.iter().any(|(k, _)| k == kid) {
        return Err(unreadable(set, &[kid]));
    }
    let key = loaded
        .keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| Error::not_found(format!("The JSON Web Key '{kid}' does not exist in set '{set}'.")))?;
    Ok(Response::json(200, &json!({"keys": [key.private_jwk()]})))
}

/// `DELETE /admin/keys/{set}`: 204, or 404 when there was no such set.
pub async fn delete_set<S: Store, P: Platform>(latch: &Latch<S, P>, set: &str) -> Result<Response, Error> {
    let n = latch.store.delete_key_set(set).await?;
    latch.invalidate_keys(set);
    if n == 0 {
        return Err(Error::not_found(format!("The JSON Web Key Set '{set}' does not exist.")));
    }
    latch.refill_key_set(set).await?;
    Ok(Response::empty(204))
}

/// `DELETE /admin/keys/{set}/{kid}`: 204, or 404.
pub async fn delete_key<S: Store, P: Platform>(latch: &Latch<S, P>, set: &str, kid: &str) -> Result<Response, Error> {
    let deleted = latch.store.delete_key(set, kid).await?;
    latch.invalidate_keys(set);
    if !deleted {
        return Err(Error::not_found(format!("The JSON Web Key '{kid}' does not exist in set '{set}'.")));
    }
    latch.refill_key_set(set).await?;
    Ok(Response::empty(204))
}

/// A JSON Web Key set as PUT sends it (RFC 7517 §5).
#[derive(Deserialize)]
struct KeySetBody {
    keys: Vec<Value>,
}

/// Reads a private signing key from a PUT body: it needs `kid`, an `alg` Latch signs
/// with and its private parts (a set here signs; a public key could not).
fn imported(jwk: &Value) -> Result<SigningKey, Error> {
    if jwk.get("kid").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(Error::invalid_request("Every JSON Web Key needs a 'kid'."));
    }
    if jwk.get("use").and_then(Value::as_str).is_some_and(|u| u != "sig") {
        return Err(Error::invalid_request("Only signing keys ('use': 'sig') can be stored in a key set."));
    }
    if jwk.get("d").is_none() {
        return Err(Error::invalid_request(
            "The JSON Web Key has no private part ('d'): a key set holds the keys Latch signs with.",
        ));
    }
    SigningKey::from_jwk(jwk)
}

/// `PUT /admin/keys/{set}` with `{"keys": [...]}`: the set becomes exactly these keys,
/// the first of them signing (a `GET` lists newest first, so a `GET` sent back as a
/// `PUT` keeps the same key signing). 200 and the set.
///
/// Every key is checked before anything is written. Keys are then written in reverse
/// order (so the first ends newest) and the kids that are gone deleted last, so a set
/// keeps keys to sign with meanwhile. The one exception is a kid that stays: the store
/// keys a set by kid, so its old key is deleted just before the new one is added, so a
/// set of one key replaced under the same kid is empty for that moment (a signature
/// then answers 503, see `Latch::signing_key`; `PUT …/{set}/{kid}` has the same moment). Not one transaction: a failure part-way leaves old and new keys,
/// and repeating the `PUT` finishes it.
pub async fn replace_set<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    set: &str,
    req: &Request,
) -> Result<Response, Error> {
    let body: KeySetBody = req.json_body()?;
    if body.keys.is_empty() {
        return Err(Error::invalid_request("'keys' is empty: use DELETE to remove a key set."));
    }
    let keys = body.keys.iter().map(imported).collect::<Result<Vec<_>, _>>()?;
    let mut seen = std::collections::HashSet::new();
    if let Some(k) = keys.iter().find(|k| !seen.insert(k.kid.as_str())) {
        return Err(Error::invalid_request(format!("The kid '{}' appears twice.", k.kid)));
    }
    let before: Vec<String> = latch.store.get_key_set(set).await?.into_iter().map(|k| k.kid).collect();
    for key in keys.iter().rev() {
        if before.contains(&key.kid) {
            latch.store.delete_key(set, &key.kid).await?;
        }
        latch.store_key(set, key).await?;
    }
    for kid in before.iter().filter(|kid| !keys.iter().any(|k| &k.kid == *kid)) {
        latch.store.delete_key(set, kid).await?;
    }
    latch.invalidate_keys(set);
    Ok(Response::json(200, &json!({"keys": keys.iter().map(SigningKey::private_jwk).collect::<Vec<_>>()})))
}

/// `PUT /admin/keys/{set}/{kid}` with one JWK whose `kid` is `{kid}`: the key replaces
/// the one with that kid (or joins the set) and becomes the newest, so it signs. 200
/// and the key.
pub async fn replace_key<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    set: &str,
    kid: &str,
    req: &Request,
) -> Result<Response, Error> {
    let jwk: Value = req.json_body()?;
    let key = imported(&jwk)?;
    if key.kid != kid {
        return Err(Error::invalid_request(format!(
            "The key's kid '{}' differs from the kid '{kid}' in the path.",
            key.kid
        )));
    }
    latch.store.delete_key(set, kid).await?;
    latch.store_key(set, &key).await?;
    Ok(Response::json(200, &key.private_jwk()))
}
