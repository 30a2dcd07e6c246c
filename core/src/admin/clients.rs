//! `/admin/clients`: create, read, list (keyset pagination with a `Link` header, as
//! Hydra v2), replace (PUT), JSON-Patch (PATCH, RFC 6902) and delete OAuth 2.0 clients.

use crate::client::Client;
use crate::error::{Error, ErrorCode};
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::secret::hash_secret;
use crate::service::Latch;
use crate::store::{ClientQuery, Store};

/// Length of generated secrets (Hydra's).
pub const GENERATED_SECRET_LEN: usize = 26;
/// Length of the secrets generated for `client_secret_jwt` clients: 64 characters, as
/// many bytes as HS512 asks for (RFC 7518 §3.2).
pub const JWT_SECRET_LEN: usize = 64;

/// The body as a client ([`Client::from_json`]).
fn parse_client(req: &Request) -> Result<Client, Error> {
    let invalid = "The request was invalid or contained invalid client metadata.";
    let v: serde_json::Value = req.json_body().map_err(|e| e.with_description(invalid))?;
    Client::from_json(v).map_err(|e| {
        Error::invalid_request(format!("The request body is not a valid client: {e}.")).with_description(invalid)
    })
}

/// A client as answered: never the registration access token's storage key.
pub(crate) fn json_of(c: &Client) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        for field in crate::client::HIDDEN_FIELDS {
            o.remove(*field);
        }
    }
    v
}

/// A random secret of `len` characters from RFC 3986's unreserved set.
fn generate_secret<P: Platform>(p: &P, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut b = [0u8; 1];
        p.fill_random(&mut b);
        // Rejection sampling keeps the distribution uniform (256 = 3 * 66 + 58).
        if (b[0] as usize) < ALPHABET.len() * 3 {
            out.push(ALPHABET[b[0] as usize % ALPHABET.len()] as char);
        }
    }
    out
}

/// OIDC Core §8 and Registration §2: the client's `subject_type` must be one the server
/// offers; a pairwise client needs opaque access tokens (a JWT access token would show
/// it the real subject) and a sector (§8.1: its `sector_identifier_uri`, or its one
/// redirect URI's host). Hydra checks the sector only at login; Latch refuses the
/// client when it is written, so the mistake surfaces to the operator, not the user.
fn check_subject_type(config: &crate::config::Config, c: &Client) -> Result<(), Error> {
    let invalid = "The request was invalid or contained invalid client metadata.";
    let bad = |hint: String| Error::invalid_request(hint).with_description(invalid);
    if !config.subject_types.contains(&c.subject_type) {
        return Err(bad(format!(
            "Subject type '{}' is not supported by this server; it supports {}.",
            c.subject_type,
            config.subject_types.join(", ")
        )));
    }
    if c.subject_type == "pairwise" {
        if c.access_token_strategy == "jwt" {
            return Err(bad(
                "A pairwise client needs opaque access tokens: a JWT access token shows the client the real subject."
                    .into(),
            ));
        }
        crate::oidc::sector_of(c).map_err(bad)?;
    }
    Ok(())
}

/// OIDC Core §8.1 and Registration §5: a `sector_identifier_uri` is an `https` URL
/// (`http` in dev mode) whose JSON array lists every redirect URI of the client; Latch
/// fetches it when the client is written (without redirects, with a timeout, a size
/// limit and `clients.http.disallow_private_ip_ranges`), as Hydra does. An unchanged
/// sector and unchanged redirect URIs are not fetched again.
async fn check_sector_identifier<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    c: &Client,
    previous: Option<&Client>,
) -> Result<(), Error> {
    let uri = &c.sector_identifier_uri;
    let unchanged = previous.is_some_and(|p| p.sector_identifier_uri == *uri && p.redirect_uris == c.redirect_uris);
    if uri.is_empty() || unchanged {
        return Ok(());
    }
    let bad = |hint: String| Error::new(ErrorCode::InvalidClientMetadata).with_hint(hint);
    let https = url::Url::parse(uri).is_ok_and(|u| u.scheme() == "https" || (latch.config.dev && u.scheme() == "http"));
    if !https {
        return Err(bad("Value sector_identifier_uri must be an HTTPS URL but it is not.".into()));
    }
    let request = crate::platform::Outbound::client_document(
        uri.clone(),
        "application/json",
        crate::http::MAX_BODY_BYTES,
        latch.config.disallow_private_ip_ranges,
    );
    let answer = latch
        .platform
        .fetch(&request)
        .await
        .map_err(|e| bad(format!("Unable to fetch the sector_identifier_uri '{uri}': {e}.")))?;
    let listed: Vec<String> = (200..300)
        .contains(&answer.status)
        .then(|| serde_json::from_slice(&answer.body).ok())
        .flatten()
        .ok_or_else(|| bad(format!("Unable to decode values from sector_identifier_uri '{uri}': a JSON array of redirect URIs is expected.")))?;
    match c.redirect_uris.iter().find(|r| !listed.contains(r)) {
        Some(r) => Err(bad(format!("Redirect URL \"{r}\" does not match values from sector_identifier_uri."))),
        None => Ok(()),
    }
}

/// Validates, hashes any new secret, and stamps times. `previous` is the stored client
/// on update (its secret hash is kept when no new secret is given).
pub(crate) async fn prepare<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    mut c: Client,
    previous: Option<&Client>,
) -> Result<Client, Error> {
    c.validate(latch.config.dev)?;
    check_subject_type(&latch.config, &c)?;
    check_sector_identifier(latch, &c, previous).await?;
    let now = latch.platform.now();
    c.created_at = previous.map(|p| p.created_at).unwrap_or(now);
    c.updated_at = now;
    c.registration_access_token = None;
    c.registration_client_uri = None;
    c.registration_access_token_signature = previous.and_then(|p| p.registration_access_token_signature.clone());
    c.client_secret_expires_at = 0;
    let secret_jwt = c.token_endpoint_auth_method == crate::client_auth::AuthMethod::ClientSecretJwt.as_str();
    if c.is_public() {
        c.secret_hash = None;
    } else if let Some(secret) = &c.client_secret {
        c.secret_hash = Some(hash_secret(&latch.platform, secret, latch.config.pbkdf2_iterations).await);
    } else if let Some(hash) = previous.and_then(|p| p.secret_hash.clone()) {
        c.secret_hash = Some(hash);
    } else {
        let len = if secret_jwt { JWT_SECRET_LEN } else { GENERATED_SECRET_LEN };
        let secret = generate_secret(&latch.platform, len);
        c.secret_hash = Some(hash_secret(&latch.platform, &secret, latch.config.pbkdf2_iterations).await);
        c.client_secret = Some(secret);
    }
    // `client_secret_jwt`: the secret is the HMAC key, so it is kept sealed (only for
    // such a client), at least as long as RFC 7518 §3.2 asks of the algorithm.
    c.client_secret_sealed = None;
    if secret_jwt {
        let alg = c.token_endpoint_auth_signing_alg.as_str();
        let need = crate::client_auth::min_secret_len(alg);
        match (&c.client_secret, previous.and_then(|p| p.client_secret_sealed.clone())) {
            (Some(secret), _) if secret.len() < need => {
                return Err(Error::invalid_request(format!(
                    "Field 'client_secret' must be at least {need} characters with client_secret_jwt and {alg} (RFC 7518 §3.2)."
                ))
                .with_description("The request was invalid or contained invalid client metadata."))
            }
            (Some(secret), _) => {
                c.client_secret_sealed = Some(crate::seal::seal(
                    &latch.platform,
                    &latch.config.system_secrets,
                    crate::seal::Purpose::ClientSecret,
                    secret.as_bytes(),
                ))
            }
            (None, Some(sealed)) => c.client_secret_sealed = Some(sealed),
            (None, None) => {
                return Err(Error::invalid_request(
                    "Field 'client_secret' must be given to switch to client_secret_jwt: Latch keeps only a hash of the current one.",
                )
                .with_description("The request was invalid or contained invalid client metadata."))
            }
        }
    }
    Ok(c)
}

/// `POST /admin/clients`: 201 with the client and, once, its secret.
pub async fn create<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let mut c = parse_client(req)?;
    if c.client_id.is_empty() {
        c.client_id = latch.new_uuid();
    }
    let mut c = prepare(latch, c, None).await?;
    crate::registration::issue_token(latch, &mut c);
    latch.store.create_client(&c).await.map_err(|e| match Error::from(e) {
        e if e.code == ErrorCode::Conflict => {
            e.with_hint(format!("An OAuth 2.0 Client with id '{}' already exists.", c.client_id))
        }
        e => e,
    })?;
    Ok(Response::json(201, &json_of(&c)))
}

pub(crate) async fn load<S: Store, P: Platform>(latch: &Latch<S, P>, id: &str) -> Result<Client, Error> {
    latch
        .store
        .get_client(id)
        .await?
        .ok_or_else(|| Error::not_found(format!("The OAuth 2.0 Client '{id}' does not exist.")))
}

/// `GET /admin/clients/{id}`: the client without its secret.
pub async fn get<S: Store, P: Platform>(latch: &Latch<S, P>, id: &str) -> Result<Response, Error> {
    Ok(Response::json(200, &json_of(&load(latch, id).await?.public_view())))
}

/// `GET /admin/clients?page_size=&page_token=&client_name=&owner=`.
pub async fn list<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let q = req.query_params()?;
    let page = super::Page::of(&q)?;
    let page_size = page.size;
    let query = ClientQuery {
        after_id: page.after.clone(),
        limit: page_size + 1,
        client_name: q.get("client_name").map(str::to_string),
        owner: q.get("owner").map(str::to_string),
    };
    let mut clients = latch.store.list_clients(&query).await?;
    let has_more = clients.len() > page_size as usize;
    clients.truncate(page_size as usize);
    let body: Vec<_> = clients.iter().map(|c| json_of(&c.public_view())).collect();
    let last = clients.last().filter(|_| has_more).map(|c| c.client_id.as_str());
    // The links keep the filters, so following `next` pages through the same list.
    let mut path = form_urlencoded::Serializer::new(String::from("/admin/clients?"));
    for name in ["client_name", "owner"] {
        if let Some(v) = q.get(name) {
            path.append_pair(name, v);
        }
    }
    let path = path.finish();
    let path = path.strip_suffix('?').unwrap_or(&path);
    Ok(Response::json(200, &serde_json::Value::Array(body)).with_header("link", page.link(path, last)))
}

/// `PUT /admin/clients/{id}`: replaces the client; keeps the secret unless one is given.
pub async fn replace<S: Store, P: Platform>(latch: &Latch<S, P>, id: &str, req: &Request) -> Result<Response, Error> {
    let mut c = parse_client(req)?;
    // The path names the client, whatever the body says (as Hydra: a GET of one client
    // may be PUT to another's path, and the id never changes).
    c.client_id = id.to_string();
    let previous = load(latch, id).await?;
    save(latch, id, c, &previous).await
}

/// `PATCH /admin/clients/{id}` with an RFC 6902 JSON Patch; `/client_id` cannot change.
pub async fn patch<S: Store, P: Platform>(latch: &Latch<S, P>, id: &str, req: &Request) -> Result<Response, Error> {
    let ops: json_patch::Patch = req.json_patch_body()?;
    for op in &ops.0 {
        let path = match op {
            json_patch::PatchOperation::Add(o) => o.path.to_string(),
            json_patch::PatchOperation::Remove(o) => o.path.to_string(),
            json_patch::PatchOperation::Replace(o) => o.path.to_string(),
            json_patch::PatchOperation::Move(o) => o.path.to_string(),
            json_patch::PatchOperation::Copy(o) => o.path.to_string(),
            json_patch::PatchOperation::Test(o) => o.path.to_string(),
        };
        if path == "/client_id" || path.starts_with("/client_id/") {
            return Err(Error::invalid_request("The 'client_id' of an OAuth 2.0 Client cannot be changed."));
        }
    }
    let previous = load(latch, id).await?;
    let mut doc = json_of(&previous.public_view());
    json_patch::patch(&mut doc, &ops)
        .map_err(|e| Error::invalid_request(format!("The JSON Patch could not be applied: {e}.")))?;
    let patched =
        Client::from_json(doc).map_err(|e| Error::invalid_request(format!("The patched client is not valid: {e}.")))?;
    save(latch, id, patched, &previous).await
}

/// `PUT /admin/clients/{id}/lifespans` (Hydra's `setOAuth2ClientLifespans`): the body
/// holds the client's token lifespans, which replace all of them (a field left out, null
/// or empty goes back to the server's default); 200 and the client.
pub async fn set_lifespans<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    id: &str,
    req: &Request,
) -> Result<Response, Error> {
    let body: serde_json::Map<String, serde_json::Value> = req.json_body()?;
    if let Some(k) = body.keys().find(|k| !crate::client::lifespan_fields().any(|f| f.name == k.as_str())) {
        return Err(Error::invalid_request(format!("'{k}' is not a token lifespan of an OAuth 2.0 Client.")));
    }
    let previous = load(latch, id).await?;
    let mut doc = json_of(&previous.public_view());
    if let Some(obj) = doc.as_object_mut() {
        for field in crate::client::lifespan_fields().map(|f| f.name) {
            match body.get(field) {
                Some(v) if !v.is_null() && v != "" => obj.insert(field.into(), v.clone()),
                _ => obj.remove(field),
            };
        }
    }
    let updated: Client = serde_json::from_value(doc)
        .map_err(|e| Error::invalid_request(format!("The lifespans are not valid: {e}.")))?;
    save(latch, id, updated, &previous).await
}

/// Checks `updated` against the stored `previous` (secret kept unless a new one is
/// given), writes it, forgets the cached copy and answers it: 200, or 404 when the
/// client went in the meantime.
async fn save<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    id: &str,
    updated: Client,
    previous: &Client,
) -> Result<Response, Error> {
    let c = prepare(latch, updated, Some(previous)).await?;
    latch.forget_client(id);
    let updated = latch.store.update_client(&c).await?;
    // Again after the write: a request that read the old client meanwhile cannot cache it.
    latch.forget_client(id);
    if !updated {
        return Err(Error::not_found(format!("The OAuth 2.0 Client '{id}' does not exist.")));
    }
    Ok(Response::json(200, &json_of(&c)))
}

/// `DELETE /admin/clients/{id}`: 204, or 404. The store deletes, with the client, every
/// token, code and consent issued to it (Hydra's cascades), in one atomic step.
pub async fn delete<S: Store, P: Platform>(latch: &Latch<S, P>, id: &str) -> Result<Response, Error> {
    latch.forget_client(id);
    let deleted = latch.store.delete_client(id).await?;
    latch.forget_client(id);
    if !deleted {
        return Err(Error::not_found(format!("The OAuth 2.0 Client '{id}' does not exist.")));
    }
    Ok(Response::empty(204))
}
