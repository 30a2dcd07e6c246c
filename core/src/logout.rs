//! Logout: OpenID Connect RP-Initiated Logout 1.0 (`/oauth2/sessions/logout`), Hydra's
//! logout challenge through the admin API, Front-Channel Logout 1.0 (iframes) and
//! Back-Channel Logout 1.0 (signed `logout_token` POSTs, sent by the host).
//!
//! ```text
//! RP ──► /oauth2/sessions/logout ──logout_challenge──► AwaitingLogoutConsent (logout UI)
//!                                                        │ accept
//!        /oauth2/sessions/logout?logout_verifier ◄───────┘
//!          └─► forget the login session, notify clients, redirect to post_logout_redirect_uri
//! ```

use crate::cookie;
use crate::error::Error;
use crate::http::{Effect, Method, Request, Response};
use crate::keys;
use crate::platform::{BackchannelLogout, Platform};
use crate::redirect::{self, error_page, html_escape};
use crate::seal::{self, Purpose};
use crate::service::Latch;
use crate::store::Store;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// The sealed state of one logout.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LogoutFlow {
    /// Flow id.
    pub id: String,
    /// Whose session ends.
    pub subject: String,
    /// The login session id.
    pub sid: String,
    /// The relying party that asked, if any.
    pub client_id: String,
    /// Where to go afterwards (already checked against the client's registration).
    pub post_logout_redirect_uri: String,
    /// The RP's state, echoed back.
    pub state: String,
    /// Whether an RP started it (with `id_token_hint`).
    pub rp_initiated: bool,
    /// When it started.
    pub requested_at: i64,
    /// CSRF value, also in a cookie.
    pub csrf: String,
    /// The URL the logout started at.
    pub request_url: String,
}

fn open(latch: &Latch<impl Store, impl Platform>, purpose: Purpose, blob: &str) -> Result<LogoutFlow, Error> {
    let invalid = || Error::not_found("The logout challenge or verifier is invalid or has expired.");
    let raw = seal::open(&latch.config.system_secrets, purpose, blob).ok_or_else(invalid)?;
    let f: LogoutFlow = serde_json::from_slice(&raw).map_err(|_| invalid())?;
    if latch.platform.now() > f.requested_at + latch.config.login_consent_ttl {
        return Err(invalid());
    }
    Ok(f)
}

fn seal_flow(latch: &Latch<impl Store, impl Platform>, purpose: Purpose, f: &LogoutFlow) -> String {
    seal::seal(&latch.platform, &latch.config.system_secrets, purpose, &serde_json::to_vec(f).unwrap_or_default())
}

fn done_url<S, P>(latch: &Latch<S, P>, f: &LogoutFlow) -> String {
    if f.post_logout_redirect_uri.is_empty() {
        return latch.config.ui_url(&latch.config.post_logout_redirect_url, "/oauth2/fallbacks/logout/callback");
    }
    if f.state.is_empty() {
        return f.post_logout_redirect_uri.clone();
    }
    let sep = if f.post_logout_redirect_uri.contains('?') { '&' } else { '?' };
    let st: String = form_urlencoded::byte_serialize(f.state.as_bytes()).collect();
    format!("{}{sep}state={st}", f.post_logout_redirect_uri)
}

/// `GET|POST /oauth2/sessions/logout`.
pub async fn handle<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let params = match req.method {
        Method::Post => req.form_params(),
        _ => req.query_params(),
    };
    let params = match params {
        Ok(p) => p,
        Err(e) => return Ok(error_page(&latch.config, &e)),
    };
    let result = match params.get("logout_verifier") {
        Some(v) => complete(latch, req, v).await,
        None => start(latch, req, &params).await,
    };
    Ok(result.unwrap_or_else(|e| error_page(&latch.config, &e)))
}

/// RP-Initiated Logout §2–§3: check the hint and the redirect, then ask the logout UI.
async fn start<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    req: &Request,
    params: &crate::http::Params,
) -> Result<Response, Error> {
    let now = latch.platform.now();
    let mut f = LogoutFlow {
        id: latch.new_uuid(),
        requested_at: now,
        csrf: B64.encode(latch.platform.random_bytes(24)),
        state: params.get("state").unwrap_or("").to_string(),
        ..Default::default()
    };
    // The browser's own session: the only one a logout from this browser may end.
    let session = crate::authorize::browser_session(latch, req).await?;
    match params.get("id_token_hint") {
        Some(hint) => {
            let keys = latch.key_set(keys::ID_TOKEN_SET).await?;
            // §2: an expired ID token is still a fine hint; only its signature and issuer count.
            let claims = keys.iter().find_map(|k| keys::verify_jws(&k.public_jwk(), hint)).ok_or_else(|| {
                Error::invalid_request("Parameter 'id_token_hint' is not an ID token this server issued.")
            })?;
            if claims.get("iss").and_then(Value::as_str) != Some(latch.config.issuer.as_str()) {
                return Err(Error::invalid_request("The 'id_token_hint' was issued by another issuer."));
            }
            f.subject = claims.get("sub").and_then(Value::as_str).unwrap_or("").to_string();
            f.sid = claims.get("sid").and_then(Value::as_str).unwrap_or("").to_string();
            if f.subject.is_empty() {
                return Err(Error::invalid_request("The 'id_token_hint' carries no 'sub' claim."));
            }
            let auds: Vec<String> = match claims.get("aud") {
                Some(Value::String(a)) => vec![a.clone()],
                Some(Value::Array(a)) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
                _ => vec![],
            };
            let mut client = None;
            for a in &auds {
                if let Some(c) = latch.store.get_client(a).await? {
                    client = Some(c);
                    break;
                }
            }
            let client = client.ok_or_else(|| Error::invalid_request("The 'id_token_hint' names no known client."))?;
            if let Some(uri) = params.get("post_logout_redirect_uri") {
                // §3: must exactly match a registered post_logout_redirect_uri.
                if !client.post_logout_redirect_uris.iter().any(|p| p == uri) {
                    return Err(Error::invalid_request(
                        "The 'post_logout_redirect_uri' is not registered for the client of the 'id_token_hint'.",
                    ));
                }
                f.post_logout_redirect_uri = uri.to_string();
            }
            f.client_id = client.client_id.clone();
            f.rp_initiated = true;
            // §2, §6: the hint says whom the RP wants logged out, but only the browser's
            // own session may end. A browser holding another user's session: decline, as
            // for a session that does not exist (Hydra: straight to the redirect). A
            // browser holding the hinted user's session: that session. A browser
            // showing none (a cross-site POST carries no SameSite=Lax cookie): the
            // hinted session, if it exists, and completion ends it only if the browser
            // then holds it.
            // The hint's `sub` is the subject as this client knows it (pairwise, OIDC
            // Core §8.1); what follows speaks of the real one.
            let hinted_sub = f.subject.clone();
            let names = |subject: &str| crate::oidc::knows_as(&latch.config, &client, subject, &hinted_sub);
            match session {
                Some(s) if names(&s.subject) => {
                    f.sid = s.id;
                    f.subject = s.subject;
                }
                Some(_) => return Ok(redirect::found(&done_url(latch, &f))),
                None => {
                    let hinted = match f.sid.as_str() {
                        "" => None,
                        sid => latch.store.get_login_session(sid).await?,
                    };
                    match hinted {
                        Some(s) if names(&s.subject) && s.expires_at > now => f.subject = s.subject,
                        _ => return Ok(redirect::found(&done_url(latch, &f))),
                    }
                }
            }
        }
        None => {
            if params.get("post_logout_redirect_uri").is_some() || params.get("state").is_some() {
                return Err(Error::invalid_request(
                    "Logout parameters 'post_logout_redirect_uri' and 'state' require an 'id_token_hint'.",
                ));
            }
            let Some(s) = session else {
                // No session and nobody to tell: nothing to log out of.
                return Ok(redirect::found(&done_url(latch, &f)));
            };
            f.subject = s.subject;
            f.sid = s.id;
        }
    }
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params.iter()).finish();
    f.request_url = format!("{}?{query}", latch.config.public_endpoint("/oauth2/sessions/logout"));
    let challenge = seal_flow(latch, Purpose::LogoutChallenge, &f);
    let ui = latch.config.ui_url(&latch.config.logout_url, "/oauth2/fallbacks/logout");
    Ok(redirect::found(&redirect::with_param(&ui, "logout_challenge", &challenge)).with_cookie(cookie::set(
        &latch.config.cookies,
        &latch.config.cookies.logout_csrf,
        &f.csrf,
        latch.config.login_consent_ttl,
        "/",
    )))
}

/// Back from the logout UI: end the session and tell the clients.
async fn complete<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    req: &Request,
    verifier: &str,
) -> Result<Response, Error> {
    let f = open(latch, Purpose::LogoutVerifier, verifier)?;
    cookie::check_csrf(req, &latch.config.cookies.logout_csrf, &f.csrf)?;
    // Only the session this browser holds ends (Hydra: a browser whose session changed
    // since the logout began goes to the redirect with nothing done).
    let held = cookie::session_id(req, &latch.config.cookies.session, &latch.config.system_secrets);
    let own = !f.sid.is_empty() && held.as_deref() == Some(f.sid.as_str());
    let Ended { frontchannel, backchannel } =
        if own { end_session(latch, &f.subject, &f.sid).await? } else { Ended::default() };
    let done = done_url(latch, &f);
    let mut cookies = vec![cookie::clear(&latch.config.cookies, &latch.config.cookies.logout_csrf, "/")];
    if own {
        cookies.push(cookie::clear(&latch.config.cookies, &latch.config.cookies.session, "/"));
    }
    let mut resp = if frontchannel.is_empty() {
        redirect::found(&done)
    } else {
        // Front-Channel Logout §3: the OP renders the RPs' logout URIs in iframes.
        let frames: String = frontchannel
            .iter()
            .map(|u| format!("<iframe src=\"{}\" style=\"display:none\"></iframe>", html_escape(u)))
            .collect();
        let body = format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Logging out</title><meta http-equiv=\"refresh\" content=\"2;url={0}\"></head><body>{frames}<p>Logging out… <a href=\"{0}\">continue</a></p></body></html>",
            html_escape(&done)
        );
        Response::html(200, body, &crate::http::PagePolicy::frames(&frontchannel))
    };
    for c in cookies {
        resp = resp.with_cookie(c);
    }
    Ok(resp.with_effects(backchannel))
}

/// What ending a login session leaves to do.
#[derive(Debug, Default)]
pub struct Ended {
    /// The front-channel logout URLs to load (Front-Channel Logout 1.0 §3).
    pub frontchannel: Vec<String>,
    /// The back-channel logout tokens to send (Back-Channel Logout 1.0 §2.5) and the
    /// identity provider's session to end, as effects of the response the host carries out.
    pub backchannel: Vec<Effect>,
}

/// Forgets login session `sid` of `subject`, signs back-channel logout tokens for every
/// client that got consent in that session, and returns them with the front-channel
/// URLs to load.
/// Only the call that ended the session notifies anyone: a session already ended (a
/// replayed logout verifier, a concurrent logout) is nobody's to announce again. With
/// `urls.identity_provider.url`, the identity provider's session the login came from
/// ends too ([`crate::identity_provider`]).
pub async fn end_session<S: Store, P: Platform>(latch: &Latch<S, P>, subject: &str, sid: &str) -> Result<Ended, Error> {
    if sid.is_empty() {
        return Ok(Ended::default());
    }
    // Read before it ends (one read, and only when an identity provider is configured).
    let provider_session = match &latch.config.identity_provider {
        Some(_) => latch.store.get_login_session(sid).await?.map(|s| s.identity_provider_session_id),
        None => None,
    };
    if !latch.store.end_login_session(sid).await? {
        return Ok(Ended::default());
    }
    let mut deliveries = Vec::new();
    if let (Some(ip), Some(id)) = (&latch.config.identity_provider, provider_session.filter(|id| !id.is_empty())) {
        deliveries.push(ip.end_session(&id));
    }
    if subject.is_empty() {
        return Ok(Ended { frontchannel: Vec::new(), backchannel: deliveries });
    }
    let consents = latch.store.list_consents(subject, Some(sid)).await?;
    let mut client_ids: Vec<&str> = consents.iter().map(|c| c.client_id.as_str()).collect();
    client_ids.sort();
    client_ids.dedup();
    let mut frames = Vec::new();
    for id in client_ids {
        let Some(client) = latch.store.get_client(id).await? else { continue };
        if !client.backchannel_logout_uri.is_empty() {
            // §2.4: `sub` as this client knows the user (pairwise, OIDC Core §8.1).
            let known_as = consents
                .iter()
                .filter(|c| c.client_id == id)
                .find_map(|c| c.data.get("id_subject").and_then(Value::as_str))
                .unwrap_or(subject);
            deliveries.push(Effect::BackchannelLogout(BackchannelLogout {
                url: client.backchannel_logout_uri.clone(),
                logout_token: logout_token(latch, &client.client_id, known_as, sid).await?,
            }));
        }
        if !client.frontchannel_logout_uri.is_empty() {
            let u = &client.frontchannel_logout_uri;
            let sep = if u.contains('?') { '&' } else { '?' };
            let q = form_urlencoded::Serializer::new(String::new())
                .append_pair("iss", &latch.config.issuer)
                .append_pair("sid", sid)
                .finish();
            frames.push(format!("{u}{sep}{q}"));
        }
    }
    Ok(Ended { frontchannel: frames, backchannel: deliveries })
}

/// Back-Channel Logout §2.4: `iss`, `aud`, `iat`, `jti`, `events`, `sid`, `sub`; no `nonce`.
async fn logout_token<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client_id: &str,
    subject: &str,
    sid: &str,
) -> Result<String, Error> {
    let (keys, newest) = latch.signing_key(keys::ID_TOKEN_SET).await?;
    let now = latch.platform.now();
    let mut c = Map::new();
    c.insert("iss".into(), latch.config.issuer.clone().into());
    c.insert("aud".into(), json!([client_id]));
    c.insert("iat".into(), now.into());
    c.insert("exp".into(), (now + 120).into());
    c.insert("jti".into(), latch.new_uuid().into());
    c.insert("sub".into(), subject.into());
    c.insert("sid".into(), sid.into());
    c.insert("events".into(), json!({"http://schemas.openid.net/event/backchannel-logout": {}}));
    keys[newest].sign(&latch.platform, "logout+jwt", &c).await
}

/// `GET /admin/oauth2/auth/requests/logout?logout_challenge=`.
pub async fn get_request<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let c = challenge(req)?;
    let f = open(latch, Purpose::LogoutChallenge, &c)?;
    let client = if f.client_id.is_empty() {
        None
    } else {
        latch.store.get_client(&f.client_id).await?.map(|c| c.public_view())
    };
    let ts =
        |t: i64| chrono::DateTime::from_timestamp(t, 0).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    Ok(Response::json(
        200,
        &json!({
            "challenge": c,
            "subject": f.subject,
            "sid": f.sid,
            "request_url": f.request_url,
            "rp_initiated": f.rp_initiated,
            "client": client,
            "requested_at": ts(f.requested_at),
            "expires_at": ts(f.requested_at + latch.config.login_consent_ttl),
        }),
    ))
}

fn challenge(req: &Request) -> Result<String, Error> {
    let q = req.query_params()?;
    q.get("logout_challenge")
        .or_else(|| q.get("challenge"))
        .map(str::to_string)
        .ok_or_else(|| Error::invalid_request("The 'logout_challenge' query parameter is missing."))
}

/// `PUT /admin/oauth2/auth/requests/logout/accept?logout_challenge=`.
pub async fn accept<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let f = open(latch, Purpose::LogoutChallenge, &challenge(req)?)?;
    let verifier = seal_flow(latch, Purpose::LogoutVerifier, &f);
    let enc: String = form_urlencoded::byte_serialize(verifier.as_bytes()).collect();
    Ok(Response::json(
        200,
        &json!({"redirect_to": format!("{}?logout_verifier={enc}", latch.config.public_endpoint("/oauth2/sessions/logout"))}),
    ))
}

/// `PUT /admin/oauth2/auth/requests/logout/reject?logout_challenge=`: 204, nothing ends.
pub async fn reject<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    open(latch, Purpose::LogoutChallenge, &challenge(req)?)?;
    Ok(Response::empty(204))
}
