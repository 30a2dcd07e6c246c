//! Dynamic client registration on the public port (RFC 7591, its management protocol
//! RFC 7592, OIDC Dynamic Client Registration 1.0), as Hydra offers it: off unless
//! `oidc.dynamic_client_registration.enabled`.
//!
//! - `POST /oauth2/register` (RFC 7591 §3.1): a client with a server-chosen id and
//!   secret, validated as the admin API validates, minus what only an operator may set
//!   (`metadata`, `access_token_strategy`, `skip_consent`, `skip_logout_consent`, the
//!   secret). Registrations are limited per source address ([`RegistrationLimiter`]).
//! - `GET|PUT|DELETE /oauth2/register/{id}` (RFC 7592 §2) with the client's
//!   registration access token as a bearer token; a PUT replaces the token. Every
//!   failure (unknown client, wrong or missing token) is the same 401, so the endpoint
//!   tells nobody which clients exist.
//! - The registration access token is an HMAC token under the system secret (prefix
//!   `latch_rat_`) of which only the signature's hash is kept, with the client; it does
//!   not expire and is good for nothing but its own client's registration.

use crate::admin::clients::{json_of, load, prepare};
use crate::client::Client;
use crate::error::{Error, ErrorCode};
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::service::Latch;
use crate::store::Store;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// The registration access token's prefix.
pub const REGISTRATION_TOKEN_PREFIX: &str = "latch_rat_";
/// Registrations accepted from one source address per [`WINDOW_SECONDS`].
pub const REGISTRATIONS_PER_WINDOW: u32 = 20;
/// The rate limit's window.
pub const WINDOW_SECONDS: i64 = 60;
/// At most this many addresses are remembered; a full table starts over.
const MAX_ADDRESSES: usize = 10_000;

/// Hydra's answer to a registration request while registration is off.
fn disabled() -> Error {
    Error::not_found("Dynamic registration is not enabled.")
}

/// RFC 7592 §2.1 / RFC 6750 §3.1: one answer for every failure to authenticate.
fn unauthorized() -> Error {
    Error::new(ErrorCode::InvalidToken)
        .with_hint("The requested OAuth 2.0 client does not exist or you provided incorrect credentials.")
}

/// Registrations per source address, in fixed windows, in this process's (on the
/// Worker: this isolate's) memory. Requests without a known address share one count.
#[derive(Debug, Default)]
pub struct RegistrationLimiter {
    windows: Mutex<HashMap<Option<IpAddr>, (i64, u32)>>,
}

impl RegistrationLimiter {
    /// Counts one registration from `peer` at `now`; false when over the limit.
    pub fn admit(&self, peer: Option<IpAddr>, now: i64) -> bool {
        let Ok(mut g) = self.windows.lock() else { return false };
        if g.len() >= MAX_ADDRESSES && !g.contains_key(&peer) {
            g.retain(|_, (start, _)| now - *start < WINDOW_SECONDS);
            if g.len() >= MAX_ADDRESSES {
                g.clear();
            }
        }
        let entry = g.entry(peer).or_insert((now, 0));
        if now - entry.0 >= WINDOW_SECONDS {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= REGISTRATIONS_PER_WINDOW
    }
}

/// Gives `c` a new registration access token (shown once, in `registration_access_token`)
/// and its management URL; only the token's signature hash is stored. Every client gets
/// one when created, as in Hydra.
pub fn issue_token<S: Store, P: Platform>(latch: &Latch<S, P>, c: &mut Client) {
    let m = crate::token::mint(&latch.platform, &latch.config.system_secrets, REGISTRATION_TOKEN_PREFIX);
    c.registration_access_token = Some(m.token);
    c.registration_access_token_signature = Some(m.signature);
    c.registration_client_uri = Some(client_uri(latch, &c.client_id));
}

/// What a client id escapes to in a path segment: everything but RFC 3986's unreserved
/// characters.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn client_uri<S: Store, P: Platform>(latch: &Latch<S, P>, id: &str) -> String {
    let escaped: String = percent_encoding::utf8_percent_encode(id, SEGMENT).collect();
    latch.config.public_endpoint(&format!("/oauth2/register/{escaped}"))
}

/// What a registrant may not set (Hydra's `ValidateDynamicRegistration`): `metadata` and
/// the access-token strategy are the operator's, and skipping consent would let any
/// registrant obtain tokens without asking the user.
fn check_registrant_fields(c: &Client) -> Result<(), Error> {
    if c.metadata.as_ref().is_some_and(|m| !m.is_null()) {
        return Err(Error::new(ErrorCode::InvalidClientMetadata)
            .with_hint("The 'metadata' of an OAuth 2.0 Client cannot be set through dynamic registration."));
    }
    if !c.access_token_strategy.is_empty() {
        return Err(Error::invalid_request("It is not allowed to choose your own access token strategy."));
    }
    if c.skip_consent {
        return Err(Error::invalid_request("It is not allowed to set 'skip_consent' through dynamic registration."));
    }
    if c.skip_logout_consent {
        return Err(Error::invalid_request(
            "It is not allowed to set 'skip_logout_consent' through dynamic registration.",
        ));
    }
    Ok(())
}

/// Beyond Hydra: a registrant's client may use the client credentials grant only with
/// scopes of `default_scope` and no `audience`. That grant asks no user, so a registrant
/// choosing its own scope and audience there would mint itself tokens for any API
/// (Hydra lets it); a user-facing grant stays free to ask for any scope, which the
/// user and the consent app then judge.
fn check_self_granted(c: &Client, default_scope: &[String]) -> Result<(), Error> {
    if !c.grant_types.iter().any(|g| g == crate::grants::GrantType::ClientCredentials.as_str()) {
        return Ok(());
    }
    if let Some(s) = c.scopes().find(|s| !default_scope.iter().any(|d| d == s)) {
        return Err(Error::new(ErrorCode::InvalidClientMetadata).with_hint(format!(
            "A registered client with the client_credentials grant may only have scopes of the default scope ({}); '{s}' is not one. Ask the operator to create such a client.",
            default_scope.join(" ")
        )));
    }
    if !c.audience.is_empty() {
        return Err(Error::new(ErrorCode::InvalidClientMetadata).with_hint(
            "A registered client with the client_credentials grant cannot have an 'audience'. Ask the operator to create such a client.",
        ));
    }
    Ok(())
}

/// The URLs Latch itself calls for a client (its key set, sector, request objects and
/// back-channel logout) may not name a loopback, private or link-local address when a
/// registrant gives them, whatever `clients.http.disallow_private_ip_ranges` says
/// (that setting, which also resolves names, is still needed for names that resolve to
/// such addresses). Dev mode allows them, for local development.
fn check_registrant_urls(c: &Client, dev: bool) -> Result<(), Error> {
    if dev {
        return Ok(());
    }
    let urls = [&c.jwks_uri, &c.sector_identifier_uri, &c.backchannel_logout_uri].into_iter().chain(&c.request_uris);
    for u in urls.filter(|u| !u.is_empty()) {
        if crate::platform::check_destination(u, true).is_err() {
            return Err(Error::new(ErrorCode::InvalidClientMetadata)
                .with_hint(format!("'{u}' is not a public http(s) URL, which a registered client's URLs must be.")));
        }
    }
    Ok(())
}

/// The body as a client, with what the registrant may set.
fn registrant_client(req: &Request, dev: bool) -> Result<(Client, bool), Error> {
    let v: serde_json::Value = req.json_body()?;
    let c = Client::from_json(v).map_err(|e| {
        Error::new(ErrorCode::InvalidClientMetadata).with_hint(format!("The request body is not a valid client: {e}."))
    })?;
    check_registrant_fields(&c)?;
    check_registrant_urls(&c, dev)?;
    let chose_secret = c.client_secret.as_ref().is_some_and(|s| !s.is_empty());
    Ok((c, chose_secret))
}

/// `POST /oauth2/register` (RFC 7591 §3): 201 with the client, its secret (unless it is
/// public), its registration access token and `registration_client_uri`.
pub async fn register<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let settings = &latch.config.registration;
    if !settings.enabled {
        return Err(disabled());
    }
    if !latch.registrations.admit(req.peer, latch.platform.now()) {
        return Err(Error::new(ErrorCode::TooManyRequests).with_hint(format!(
            "At most {REGISTRATIONS_PER_WINDOW} clients may be registered from one address per {WINDOW_SECONDS} s."
        )));
    }
    let (mut c, chose_secret) = registrant_client(req, latch.config.dev)?;
    if chose_secret {
        return Err(Error::invalid_request("It is not allowed to choose your own OAuth2 Client secret."));
    }
    // RFC 7591 §3.2.1: the server issues the identifier.
    c.client_id = latch.new_uuid();
    c.client_secret = None;
    if c.scope.trim().is_empty() {
        c.scope = settings.default_scope.join(" ");
    }
    let mut c = prepare(latch, c, None).await?;
    check_self_granted(&c, &settings.default_scope)?;
    issue_token(latch, &mut c);
    latch.store.create_client(&c).await?;
    let mut r = Response::json(201, &json_of(&c));
    if let Some(uri) = &c.registration_client_uri {
        r.headers.push(("location".into(), uri.clone()));
    }
    Ok(r)
}

/// The client at `id` when `req` carries its registration access token (RFC 7592
/// §2: `Authorization: Bearer`, or Hydra's `access_token` parameter).
async fn authenticated<S: Store, P: Platform>(latch: &Latch<S, P>, id: &str, req: &Request) -> Result<Client, Error> {
    if !latch.config.registration.enabled {
        return Err(disabled());
    }
    let presented = match req.bearer_token() {
        Some(t) => Some(t.to_string()),
        None => req.query_params()?.get("access_token").map(str::to_string),
    };
    let signature = presented
        .and_then(|t| crate::token::verify(&latch.config.system_secrets, REGISTRATION_TOKEN_PREFIX, &t))
        .ok_or_else(unauthorized)?;
    let client = load(latch, id).await.map_err(|e| if e.code == ErrorCode::NotFound { unauthorized() } else { e })?;
    let stored = client.registration_access_token_signature.as_deref().unwrap_or_default();
    let equal: bool = subtle::ConstantTimeEq::ct_eq(stored.as_bytes(), signature.as_bytes()).into();
    if stored.is_empty() || !equal {
        return Err(unauthorized());
    }
    Ok(client)
}

/// What a registrant is shown of its client: neither secret nor operator metadata.
fn view(c: &Client) -> serde_json::Value {
    let mut shown = c.public_view();
    shown.metadata = None;
    json_of(&shown)
}

/// `GET /oauth2/register/{id}` (RFC 7592 §2.1).
pub async fn get<S: Store, P: Platform>(latch: &Latch<S, P>, id: &str, req: &Request) -> Result<Response, Error> {
    let mut c = authenticated(latch, id, req).await?;
    c.registration_client_uri = Some(client_uri(latch, id));
    Ok(Response::json(200, &view(&c)))
}

/// `PUT /oauth2/register/{id}` (RFC 7592 §2.2): replaces the client's metadata (its
/// secret, the operator's metadata and access-token strategy are kept) and its
/// registration access token.
pub async fn replace<S: Store, P: Platform>(latch: &Latch<S, P>, id: &str, req: &Request) -> Result<Response, Error> {
    let previous = authenticated(latch, id, req).await?;
    let (mut c, chose_secret) = registrant_client(req, latch.config.dev)?;
    if chose_secret {
        return Err(
            Error::new(ErrorCode::AccessDenied).with_hint("It is not allowed to choose your own OAuth2 Client secret.")
        );
    }
    c.client_id = id.to_string();
    c.client_secret = None;
    c.metadata = previous.metadata.clone();
    c.access_token_strategy = previous.access_token_strategy.clone();
    if c.scope.trim().is_empty() {
        c.scope = latch.config.registration.default_scope.join(" ");
    }
    let mut c = prepare(latch, c, Some(&previous)).await?;
    check_self_granted(&c, &latch.config.registration.default_scope)?;
    issue_token(latch, &mut c);
    // The replacement is a compare-and-set on the version read: of two PUTs with one
    // token, one wins and the other is refused, so no answer hands out a token that
    // a concurrent rotation already replaced. Versions strictly increase.
    c.updated_at = c.updated_at.max(previous.updated_at + 1);
    latch.forget_client(id);
    let updated = latch.store.update_client_if_unchanged(&c, previous.updated_at).await?;
    latch.forget_client(id);
    if !updated {
        return Err(unauthorized());
    }
    Ok(Response::json(200, &view(&c)))
}

/// `DELETE /oauth2/register/{id}` (RFC 7592 §2.3): 204; the client's tokens, codes and
/// consents go with it, as with the admin API's delete.
pub async fn delete<S: Store, P: Platform>(latch: &Latch<S, P>, id: &str, req: &Request) -> Result<Response, Error> {
    authenticated(latch, id, req).await?;
    crate::admin::clients::delete(latch, id).await.map_err(|e| {
        if e.code == ErrorCode::NotFound {
            unauthorized()
        } else {
            e
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_are_limited_per_address_and_window() {
        let l = RegistrationLimiter::default();
        let a: Option<IpAddr> = Some("192.0.2.1".parse().unwrap());
        let b: Option<IpAddr> = Some("192.0.2.2".parse().unwrap());
        for _ in 0..REGISTRATIONS_PER_WINDOW {
            assert!(l.admit(a, 100));
        }
        assert!(!l.admit(a, 100 + WINDOW_SECONDS - 1), "over the limit in the window");
        assert!(l.admit(b, 100), "another address has its own count");
        assert!(l.admit(a, 100 + WINDOW_SECONDS), "a new window");
    }
}
