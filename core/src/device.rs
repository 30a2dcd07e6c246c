//! The device authorization grant (RFC 8628) as Hydra v25.4 ships it, up to the token
//! endpoint (whose side is [`crate::grants::device_code`]):
//!
//! ```text
//! device ──POST /oauth2/device/auth──► device_code, user_code          (DeviceRequest, UserCode rows)
//! browser ─GET /oauth2/device/verify──► urls.device.verification?device_challenge=…
//! device UI ──PUT …/requests/device/accept {user_code}──► redirect_to …/device/verify?device_verifier=…
//! browser ─GET /oauth2/device/verify?device_verifier=…──► login UI ──► consent UI
//!          (…?login_verifier, …?consent_verifier: the authorization endpoint's own steps)
//!          ──► consent stored with the approval (DeviceCode row) ──► urls.device.success
//! device ──POST /oauth2/token (device_code)──► authorization_pending … tokens
//! ```
//!
//! Storage: three rows of the token table, all of the flow's grant (`request_id`, fixed
//! when the device asks): the pending request under the device code's signature (its
//! `used_at` is the last poll), the user code under its HMAC, and, once the user has
//! decided, the approval (or denial) under [`approval_signature`]. The approval is stored
//! with the consent in one atomic write ([`crate::store::ConsentStore::complete_consent`]:
//! the consent's id is the grant's, so of two browsers approving one user code exactly
//! one wins), and it is consumed once ([`crate::store::TokenStore::consume_device_code`]).
//! Revoking the consent makes it inactive, so a device polling after the revocation gets
//! nothing: revocation is final here too.

use crate::cookie;
use crate::error::{Error, ErrorCode};
use crate::flow::{AuthorizeRequest, DeviceBinding, Flow};
use crate::http::{Params, Request, Response};
use crate::platform::Platform;
use crate::redirect::{self, error_page, with_param};
use crate::scope::{audience_allowed, scope_allowed};
use crate::seal::{self, Purpose};
use crate::service::Latch;
use crate::store::{Store, TokenKind, TokenRecord};
use crate::token;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The public path of the verification endpoint (RFC 8628 §3.2 `verification_uri`).
pub const VERIFY_PATH: &str = "/oauth2/device/verify";

/// How many user codes are drawn before giving up on a collision (Hydra's three).
const USER_CODE_ATTEMPTS: usize = 3;

/// The storage key of a user code: HMAC-SHA-256 under a key derived from the first
/// system secret, hex. A user code has few bits (RFC 8628 §6.1), so a leaked table
/// must not let anyone try them all offline; only the current secret keys it, as in
/// Hydra (a user code lives minutes).
pub fn user_code_signature(secrets: &[Vec<u8>], user_code: &str) -> String {
    let secret = secrets.first().map_or(&[][..], Vec::as_slice);
    let key = Sha256::new().chain_update(b"latch device user code v1\0").chain_update(secret).finalize();
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(user_code.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The storage key of a device request's approval, derived from the request's own (a
/// device code's signature): a poll reads both rows in one statement.
pub fn approval_signature(request_signature: &str) -> String {
    hex::encode(Sha256::new().chain_update(b"latch device approval\0").chain_update(request_signature).finalize())
}

/// A user code: `length` characters drawn uniformly from the configured set (rejection
/// sampling over random bytes, so no character is likelier than another).
pub fn new_user_code<P: Platform + ?Sized>(platform: &P, length: usize, characters: &[char]) -> String {
    // The settings never leave the set empty; a hand-built `Config` could.
    const DIGITS: [char; 10] = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
    let characters = if characters.is_empty() { &DIGITS[..] } else { characters };
    let n = characters.len().min(256);
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(length);
    while out.chars().count() < length {
        for b in platform.random_bytes(length * 2) {
            if (b as usize) < limit && out.chars().count() < length {
                out.push(characters[b as usize % n]);
            }
        }
    }
    out
}

/// `POST /oauth2/device/auth` (RFC 8628 §3.1–3.2).
pub async fn authorize<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let params = req.form_params()?;
    let client = crate::client_auth::authenticate(latch, req, &params).await?;
    // §3.1: `client_id` is required of a client that does not authenticate; one that
    // does may repeat it, and then it must be its own (Hydra requires it always).
    if params.get("client_id").is_some_and(|id| id != client.client_id) {
        return Err(Error::invalid_request("The 'client_id' parameter does not match the authenticated client."));
    }
    let grant = crate::grants::GrantType::DeviceCode.as_str();
    if !client.has_grant(grant) {
        return Err(Error::new(ErrorCode::UnauthorizedClient)
            .with_hint(format!("The client is not allowed to request grant type '{grant}'.")));
    }
    let (scope, audience) = requested(&client, &params)?;
    let c = &latch.config.device;
    let now = latch.platform.now();
    let expires_at = now + c.user_code_ttl;
    let request_id = latch.new_request_id();
    let device = token::mint(&latch.platform, &latch.config.system_secrets, token::DEVICE_CODE_PREFIX);
    let record = |kind: TokenKind, signature: String, data: Value| TokenRecord {
        signature,
        kind,
        request_id: request_id.clone(),
        client_id: client.client_id.clone(),
        subject: String::new(),
        scope: scope.clone(),
        audience: audience.clone(),
        issued_at: now,
        expires_at,
        active: true,
        used_at: None,
        data,
    };
    let mut user_code = String::new();
    for attempt in 1..=USER_CODE_ATTEMPTS {
        user_code = new_user_code(&latch.platform, c.user_code_length, &c.user_code_characters);
        let rows = [
            record(TokenKind::DeviceRequest, device.signature.clone(), json!({})),
            record(
                TokenKind::UserCode,
                user_code_signature(&latch.config.system_secrets, &user_code),
                json!({"device": device.signature}),
            ),
        ];
        match latch.store.insert_tokens(&rows).await {
            Ok(()) => break,
            // A user code in use already (its HMAC is a primary key): draw another.
            Err(crate::error::StoreError::Conflict(_)) if attempt < USER_CODE_ATTEMPTS => continue,
            Err(crate::error::StoreError::Conflict(_)) => {
                return Err(Error::server("No unused user code was drawn; make user codes longer."))
            }
            Err(e) => return Err(e.into()),
        }
    }
    let verification_uri = latch.config.public_endpoint(VERIFY_PATH);
    let mut body = json!({
        "device_code": device.token,
        "user_code": user_code,
        "verification_uri_complete": with_param(&verification_uri, "user_code", &user_code),
        "verification_uri": verification_uri,
        "expires_in": c.user_code_ttl,
    });
    if c.polling_interval > 0 {
        body["interval"] = c.polling_interval.into();
    }
    Ok(Response::json(200, &body))
}

/// The requested scope and audience, each allowed to the client (RFC 8628 §3.1,
/// RFC 6749 §3.3; RFC 8707 and Hydra for the audience).
fn requested(client: &crate::client::Client, params: &Params) -> Result<(Vec<String>, Vec<String>), Error> {
    let scope = params.list("scope");
    if let Some(s) = scope.iter().find(|s| !scope_allowed(client.scopes(), s)) {
        return Err(Error::new(ErrorCode::InvalidScope)
            .with_hint(format!("The OAuth 2.0 Client is not allowed to request scope '{s}'.")));
    }
    let audience = params.list("audience");
    if let Some(a) = audience.iter().find(|a| !audience_allowed(&client.audience, a)) {
        return Err(Error::invalid_request(format!(
            "Requested audience '{a}' has not been whitelisted by the OAuth 2.0 Client."
        )));
    }
    Ok((scope, audience))
}

/// Sealed as the `device_challenge`: the browser is at the verification page; awaits the
/// user code from the device UI.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct AwaitingUserCode {
    /// The CSRF value (also in the device CSRF cookie).
    #[serde(rename = "c")]
    csrf: String,
    /// The verification URL the browser came to, without its user code.
    #[serde(rename = "u")]
    request_url: String,
    /// When the browser came (Unix seconds).
    #[serde(rename = "t")]
    requested_at: i64,
}

/// Sealed as the `device_verifier`: the device UI matched a user code; awaits the
/// browser's return to start the login.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct AwaitingDeviceVerifier {
    #[serde(rename = "w")]
    challenge: AwaitingUserCode,
    /// The device authorization's grant id (the flow's id, the consent's).
    #[serde(rename = "i")]
    request_id: String,
    #[serde(rename = "d")]
    device: DeviceBinding,
    #[serde(rename = "cl")]
    client_id: String,
    #[serde(rename = "s")]
    scope: Vec<String>,
    #[serde(rename = "a")]
    audience: Vec<String>,
}

fn seal_as<S, P: Platform, T: Serialize>(latch: &Latch<S, P>, purpose: Purpose, v: &T) -> String {
    seal::seal(&latch.platform, &latch.config.system_secrets, purpose, &serde_json::to_vec(v).unwrap_or_default())
}

/// Opens a blob sealed for `purpose` that is younger than `ttl.login_consent_request`.
fn open_as<S, P: Platform, T: serde::de::DeserializeOwned>(
    latch: &Latch<S, P>,
    purpose: Purpose,
    name: &str,
    blob: &str,
    requested_at: fn(&T) -> i64,
) -> Result<T, Error> {
    let invalid = || {
        Error::new(ErrorCode::NotFound)
            .with_description("The requested resource could not be found.")
            .with_hint(format!("The {name} is invalid or has expired."))
    };
    let raw = seal::open(&latch.config.system_secrets, purpose, blob).ok_or_else(invalid)?;
    let v: T = serde_json::from_slice(&raw).map_err(|_| invalid())?;
    if latch.platform.now() > requested_at(&v) + latch.config.login_consent_ttl {
        return Err(invalid());
    }
    Ok(v)
}

/// `GET /oauth2/device/verify` (RFC 8628 §3.3): the browser's entry, and every return
/// to it (`device_verifier`; then the authorization endpoint's `login_verifier` and
/// `consent_verifier` steps, whose flow knows it is a device flow).
pub async fn verify<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let params = match req.query_params() {
        Ok(p) => p,
        Err(e) => return Ok(error_page(&latch.config, &e)),
    };
    if let Some(v) = params.get("device_verifier") {
        return Ok(after_user_code(latch, req, &params, v).await.unwrap_or_else(|e| error_page(&latch.config, &e)));
    }
    if params.get("login_verifier").is_some() || params.get("consent_verifier").is_some() {
        return crate::authorize::handle(latch, req).await;
    }
    // The verification URL without the user code: the code is never sealed or stored in
    // the clear (Hydra drops it too). Nor a `client_id`: the device's own is added once the
    // user code names the device (a link cannot pick it).
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("user_code") && k.as_str() != "client_id"))
        .finish();
    let base = latch.config.public_endpoint(VERIFY_PATH);
    let pending = AwaitingUserCode {
        csrf: B64.encode(latch.platform.random_bytes(24)),
        request_url: if query.is_empty() { base } else { format!("{base}?{query}") },
        requested_at: latch.platform.now(),
    };
    let ui = latch.config.ui_url(&latch.config.device.verification_url, "/oauth2/fallbacks/device");
    let mut location = with_param(&ui, "device_challenge", &seal_as(latch, Purpose::DeviceChallenge, &pending));
    if let Some(code) = params.get("user_code") {
        location = with_param(&location, "user_code", code);
    }
    Ok(redirect::found(&location).with_cookie(cookie::set(
        &latch.config.cookies,
        &latch.config.cookies.device_csrf,
        &pending.csrf,
        latch.config.login_consent_ttl,
        "/",
    )))
}

#[derive(Deserialize)]
struct AcceptUserCode {
    #[serde(default)]
    user_code: Option<String>,
}

/// `PUT /admin/oauth2/auth/requests/device/accept?device_challenge=` (Hydra's
/// `acceptUserCodeRequest`): the device UI sends the user code the user typed; the
/// answer sends the browser on to the login. The user code is compared exactly, as in
/// Hydra; it is used up only when the consent completes.
pub async fn accept_user_code<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let q = req.query_params()?;
    let challenge = q
        .get("device_challenge")
        .or_else(|| q.get("challenge"))
        .ok_or_else(|| Error::invalid_request("The 'device_challenge' query parameter is missing."))?;
    let pending: AwaitingUserCode =
        open_as(latch, Purpose::DeviceChallenge, "device challenge", challenge, |p: &AwaitingUserCode| p.requested_at)?;
    let body: AcceptUserCode = req.json_body()?;
    let user_code = body
        .user_code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::invalid_request("Field 'user_code' must not be empty."))?;
    let unknown =
        || Error::invalid_request("The 'user_code' could not be found or has expired or is otherwise malformed.");
    let now = latch.platform.now();
    let code = latch
        .store
        .get_token(TokenKind::UserCode, &user_code_signature(&latch.config.system_secrets, &user_code))
        .await?
        .filter(|r| r.active && r.expires_at > now)
        .ok_or_else(unknown)?;
    let signature = code.data.get("device").and_then(Value::as_str).ok_or_else(unknown)?;
    // The request must still be pending: not decided, not revoked.
    let records = latch.store.get_device_records(signature, &approval_signature(signature)).await?;
    let request = records
        .iter()
        .find(|r| r.kind == TokenKind::DeviceRequest && r.active && r.expires_at > now)
        .ok_or_else(unknown)?;
    if records.iter().any(|r| r.kind == TokenKind::DeviceCode) {
        return Err(unknown());
    }
    let verifier = AwaitingDeviceVerifier {
        request_id: request.request_id.clone(),
        device: DeviceBinding { signature: signature.to_string(), expires_at: request.expires_at },
        client_id: request.client_id.clone(),
        scope: request.scope.clone(),
        audience: request.audience.clone(),
        challenge: pending,
    };
    let to = with_param(&verifier.challenge.request_url, "client_id", &verifier.client_id);
    let to = with_param(&to, "device_verifier", &seal_as(latch, Purpose::DeviceVerifier, &verifier));
    Ok(Response::json(200, &json!({ "redirect_to": to })))
}

/// Back from the device UI with a `device_verifier`: check the browser is the one that
/// came (the CSRF cookie), then start the login as the authorization endpoint does.
async fn after_user_code<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    req: &Request,
    params: &Params,
    blob: &str,
) -> Result<Response, Error> {
    let v: AwaitingDeviceVerifier =
        open_as(latch, Purpose::DeviceVerifier, "device verifier", blob, |v: &AwaitingDeviceVerifier| {
            v.challenge.requested_at
        })?;
    cookie::check_csrf(req, &latch.config.cookies.device_csrf, &v.challenge.csrf)?;
    // Hydra: the client is named in the query, and must be the device's.
    match params.get("client_id") {
        None => return Err(Error::invalid_client("Query parameter 'client_id' is missing.")),
        Some(id) if id != v.client_id => {
            return Err(Error::invalid_client("Query parameter 'client_id' does not match the device's client."))
        }
        Some(_) => {}
    }
    let client = latch
        .client(&v.client_id)
        .await?
        .ok_or_else(|| Error::invalid_client("The OAuth 2.0 Client no longer exists."))?;
    let now = latch.platform.now();
    if v.device.expires_at <= now {
        return Err(Error::new(ErrorCode::ExpiredToken).with_hint("The user code has expired."));
    }
    let flow = Flow {
        id: v.request_id,
        request: AuthorizeRequest {
            client_id: v.client_id.clone(),
            scope: v.scope,
            audience: v.audience,
            ..Default::default()
        },
        request_url: with_param(&latch.config.public_endpoint(VERIFY_PATH), "client_id", &v.client_id),
        requested_at: now,
        login_csrf: B64.encode(latch.platform.random_bytes(24)),
        device: Some(v.device),
        ..Default::default()
    };
    let resp = crate::authorize::send_to_login(latch, req, &client, flow).await?;
    Ok(resp.with_cookie(cookie::clear(&latch.config.cookies, &latch.config.cookies.device_csrf, "/")))
}

/// The approval (or denial) record of a device flow's grant.
pub fn decision_record(flow: &Flow, device: &DeviceBinding, now: i64) -> TokenRecord {
    TokenRecord {
        signature: approval_signature(&device.signature),
        kind: TokenKind::DeviceCode,
        request_id: flow.id.clone(),
        client_id: flow.request.client_id.clone(),
        subject: flow.subject.clone(),
        scope: Vec::new(),
        audience: Vec::new(),
        issued_at: now,
        expires_at: device.expires_at,
        active: true,
        used_at: None,
        data: json!({}),
    }
}

/// The user denied the device (the login or consent UI rejected the request): the
/// device's next poll answers `access_denied` (RFC 8628 §3.5). A decision already stored
/// (an approval from another browser) stands.
pub async fn deny<S: Store, P: Platform>(latch: &Latch<S, P>, flow: &Flow, device: &DeviceBinding, error: &Error) {
    let mut record = decision_record(flow, device, latch.platform.now());
    record.active = false;
    record.data = json!({"denied": {"error": error.code.as_str(), "error_description": error.description()}});
    // Best effort: a conflict means the device was decided before; a store failure
    // leaves the request pending until it expires, which denies it too.
    let _ = latch.store.insert_tokens(std::slice::from_ref(&record)).await;
}

/// Where the browser lands once the device is authorized (`urls.device.success`).
pub fn success_url<S, P>(latch: &Latch<S, P>, client_id: &str) -> String {
    let url = latch.config.ui_url(&latch.config.device.success_url, "/oauth2/fallbacks/device/done");
    with_param(&url, "client_id", client_id)
}
