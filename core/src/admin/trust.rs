//! The JWT-bearer grant's trust relationships (Hydra's `/admin/trust/grants/jwt-bearer/issuers`):
//! which issuer may sign assertions (RFC 7523 §3) about which subject, with which public
//! key and at most which scope, until when.

use crate::error::{Error, ErrorCode};
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::{Store, TrustGrant, TrustQuery};
use serde_json::{json, Value};

/// The collection's path on the admin port (Hydra's `Location` names it without `/admin`).
const PATH: &str = "/admin/trust/grants/jwt-bearer/issuers";

/// Hydra's refusal of a trust request it cannot use (`missing_required_parameter`, 400).
fn missing(hint: &str) -> Error {
    Error::invalid_request(hint).into_code("missing_required_parameter")
}

/// RFC 3339 seconds, UTC (Hydra rounds the grant's times to seconds).
fn rfc3339(t: i64) -> Value {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .map_or(Value::Null, Value::String)
}

/// A grant as Hydra answers it (`trustedOAuth2JwtGrantIssuer`).
fn json_of(g: &TrustGrant) -> Value {
    json!({
        "id": g.id,
        "issuer": g.issuer,
        "subject": g.subject,
        "allow_any_subject": g.allow_any_subject,
        "scope": g.scope,
        "public_key": {"set": g.issuer, "kid": g.key_id},
        "created_at": rfc3339(g.created_at),
        "expires_at": rfc3339(g.expires_at),
    })
}

/// Reads Hydra's `trustOAuth2JwtGrantIssuer` body: unknown members ignored, `null` as
/// absent (as Go reads it).
/// A grant as the request describes it: everything but its id and creation time.
fn parse(body: &Value, now: i64) -> Result<TrustGrant, Error> {
    let obj = body.as_object().ok_or_else(|| Error::invalid_request("The body must be a JSON object."))?;
    let text = |name: &str| -> Result<String, Error> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(Error::invalid_request(format!("'{name}' must be a string."))),
        }
    };
    let issuer = text("issuer")?;
    if issuer.is_empty() {
        return Err(missing("Field 'issuer' is required."));
    }
    let subject = text("subject")?;
    let allow_any_subject = match obj.get("allow_any_subject") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Error::invalid_request("'allow_any_subject' must be a boolean.")),
    };
    // Hydra: exactly one of the two.
    if subject.is_empty() && !allow_any_subject {
        return Err(missing("One of 'subject' or 'allow_any_subject' field must be set."));
    }
    if !subject.is_empty() && allow_any_subject {
        return Err(missing("Both 'subject' and 'allow_any_subject' fields cannot be set at the same time."));
    }
    let scope: Vec<String> = match obj.get("scope") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| Error::invalid_request("'scope' must be an array of strings."))?,
    };
    if let Some(s) = scope.iter().find(|s| s.is_empty() || s.contains(char::is_whitespace)) {
        return Err(Error::invalid_request(format!("'{s}' is not a scope token (RFC 6749 §3.3).")));
    }
    let expires_at = match obj.get("expires_at") {
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(s)
            .map_err(|e| Error::invalid_request(format!("'expires_at' is not an RFC 3339 date-time: {e}.")))?
            .timestamp(),
        None | Some(Value::Null) => return Err(missing("Field 'expires_at' is required.")),
        Some(_) => return Err(Error::invalid_request("'expires_at' must be an RFC 3339 date-time.")),
    };
    if expires_at <= now {
        return Err(Error::invalid_request("'expires_at' must be in the future."));
    }
    let jwk = match obj.get("jwk") {
        Some(Value::Object(k)) => k.clone(),
        _ => return Err(missing("Field 'jwk' is required and must be a JSON Web Key.")),
    };
    if jwk.get("kid").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(missing("Field 'jwk.kid' is required."));
    }
    // Only the public members are kept: a private key sent here is never stored.
    let public = crate::keys::public_members(&Value::Object(jwk)).ok_or_else(|| {
        Error::invalid_request(
            "'jwk' is not a public key Latch can verify signatures with (RSA, EC P-256/P-384/P-521 or Ed25519).",
        )
    })?;
    Ok(TrustGrant {
        id: String::new(),
        key_id: public.get("kid").and_then(Value::as_str).unwrap_or_default().to_string(),
        issuer,
        subject,
        allow_any_subject,
        scope,
        jwk: public,
        created_at: now,
        expires_at,
    })
}

/// `POST /admin/trust/grants/jwt-bearer/issuers`: 201 and the grant.
pub async fn create<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let body: Value = req.json_body()?;
    let now = latch.platform.now();
    let grant = TrustGrant { id: latch.new_uuid(), ..parse(&body, now)? };
    latch.store.create_trust(&grant).await.map_err(|e| {
        let e = Error::from(e);
        if e.code == ErrorCode::Conflict {
            e.with_hint("A trust relationship of this issuer, subject and key id exists.")
        } else {
            e
        }
    })?;
    Ok(Response::json(201, &json_of(&grant))
        .with_header("location", format!("{}/{}", PATH.trim_start_matches("/admin"), grant.id)))
}

/// Hydra's ids are UUIDs; another id names no grant and is refused as Hydra does.
fn check_id(id: &str) -> Result<(), Error> {
    uuid::Uuid::parse_str(id).map(|_| ()).map_err(|_| Error::invalid_request("Unable to parse parameter id."))
}

/// `GET /admin/trust/grants/jwt-bearer/issuers/{id}`.
pub async fn get<S: Store, P: Platform>(latch: &Latch<S, P>, id: &str) -> Result<Response, Error> {
    check_id(id)?;
    let g = latch.store.get_trust(id).await?.ok_or_else(|| Error::not_found("No such trust relationship."))?;
    Ok(Response::json(200, &json_of(&g)))
}

/// `DELETE /admin/trust/grants/jwt-bearer/issuers/{id}`: 204; the key goes with it.
pub async fn delete<S: Store, P: Platform>(latch: &Latch<S, P>, id: &str) -> Result<Response, Error> {
    check_id(id)?;
    if !latch.store.delete_trust(id).await? {
        return Err(Error::not_found("No such trust relationship."));
    }
    Ok(Response::empty(204))
}

/// `GET /admin/trust/grants/jwt-bearer/issuers[?issuer=…]`: a page ordered by id, with
/// Hydra's `Link` header.
pub async fn list<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let q = req.query_params()?;
    let page = super::Page::of(&q)?;
    let issuer = q.get("issuer").filter(|i| !i.is_empty()).map(str::to_string);
    let query = TrustQuery { issuer: issuer.clone(), after_id: page.after.clone(), limit: page.size + 1 };
    let mut grants = latch.store.list_trusts(&query).await?;
    let has_more = grants.len() > page.size as usize;
    grants.truncate(page.size as usize);
    let last = grants.last().filter(|_| has_more).map(|g| g.id.as_str());
    let mut path = form_urlencoded::Serializer::new(format!("{PATH}?"));
    if let Some(i) = &issuer {
        path.append_pair("issuer", i);
    }
    let path = path.finish();
    let path = path.strip_suffix('?').unwrap_or(&path);
    let body: Vec<Value> = grants.iter().map(json_of).collect();
    Ok(Response::json(200, &Value::Array(body)).with_header("link", page.link(path, last)))
}
