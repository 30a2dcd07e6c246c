//! JSON Web Key sets (`/admin/keys/{set}`): generate a key into a set (POST adds, so a
//! set rotates by adding), read a set or a key, delete either.

use crate::error::{Error, ErrorCode};
use crate::http::{Request, Response};
use crate::keys::{Alg, SigningKey};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::Store;
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
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
        Error::invalid_request(format!("Unsupported 'alg' '{}': use RS256, ES256 or EdDSA.", body.alg))
    })?;
    if let Some(u) = body.use_.as_deref() {
        if u != "sig" {
            return Err(Error::invalid_request("Only 'use': 'sig' keys can be generated."));
        }
    }
    let kid = body.kid.filter(|k| !k.is_empty()).unwrap_or_else(|| latch.new_uuid());
    let key = SigningKey::generate(&latch.platform, alg, &kid)?;
    latch.store_key(set, &key).await.map_err(|e| {
        if e.code == ErrorCode::Conflict {
            e.with_hint(format!("The key set '{set}' already has a key with kid '{kid}'."))
        } else {
            e
        }
    })?;
    Ok(Response::json(201, &json!({"keys": [key.private_jwk()]})))
}

/// `GET /admin/keys/{set}`: the set's keys, newest first; 404 when empty.
pub async fn get_set<S: Store, P: Platform>(latch: &Latch<S, P>, set: &str) -> Result<Response, Error> {
    let keys = latch.key_set(set).await?;
    if keys.is_empty() {
        return Err(Error::not_found(format!("The JSON Web Key Set '{set}' does not exist.")));
    }
    Ok(Response::json(200, &json!({"keys": keys.iter().rev().map(SigningKey::private_jwk).collect::<Vec<_>>()})))
}

/// `GET /admin/keys/{set}/{kid}`.
pub async fn get_key<S: Store, P: Platform>(latch: &Latch<S, P>, set: &str, kid: &str) -> Result<Response, Error> {
    let keys = latch.key_set(set).await?;
    let key = keys
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
    Ok(Response::empty(204))
}

/// `DELETE /admin/keys/{set}/{kid}`: 204, or 404.
pub async fn delete_key<S: Store, P: Platform>(latch: &Latch<S, P>, set: &str, kid: &str) -> Result<Response, Error> {
    let deleted = latch.store.delete_key(set, kid).await?;
    latch.invalidate_keys(set);
    if !deleted {
        return Err(Error::not_found(format!("The JSON Web Key '{kid}' does not exist in set '{set}'.")));
    }
    Ok(Response::empty(204))
}
