//! The authorization endpoint (`/oauth2/auth`; RFC 6749 §3.1, §4.1.1, §4.2.1; OIDC
//! Core §3.1.2) and its three entries:
//!
//! * a fresh request: validate it, look for a remembered login, and send the browser
//!   to the login UI with a `login_challenge` ([`start`]);
//! * back with a `login_verifier`: remember the login if asked, look for a remembered
//!   consent, and send the browser to the consent UI ([`after_login`]);
//! * back with a `consent_verifier`: record the consent and answer the client with a
//!   code and/or tokens ([`after_consent`]).
//!
//! Until the redirect URI is known to be registered, errors go to the error page
//! (`urls.error`), never to an unchecked URI (RFC 6749 §4.1.2.1).

use crate::access_token::{self, Grant};
use crate::client::Client;
use crate::cookie;
use crate::error::{Error, ErrorCode};
use crate::flow::{
    AuthorizeRequest, AwaitingConsent, AwaitingConsentVerifier, AwaitingLogin, AwaitingLoginVerifier, CodeBinding,
    Decision, Denied, Flow, Stage,
};
use crate::http::{Method, Params, Request, Response};
use crate::keys;
use crate::oidc::{self, GrantSession};
use crate::platform::Platform;
use crate::redirect::{self, error_page, error_to_client, with_param};
use crate::service::Latch;
use crate::store::{ConsentRecord, LoginSession, Store, TokenKind, TokenRecord};
use crate::token;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub mod checks;
pub mod request_object;

pub use checks::MIN_PARAMETER_LENGTH;

/// `GET|POST /oauth2/auth`.
pub async fn handle<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let params = match req.method {
        Method::Post => req.form_params(),
        _ => req.query_params(),
    };
    let params = match params {
        Ok(p) => p,
        Err(e) => return Ok(error_page(&latch.config, &e)),
    };
    if let Some(v) = params.get("login_verifier") {
        return Ok(after_login(latch, req, v).await);
    }
    if let Some(v) = params.get("consent_verifier") {
        return Ok(after_consent(latch, req, v).await);
    }
    Ok(start(latch, req, &params).await)
}

/// Why a request failed, and where the answer goes.
enum Failure {
    /// The redirect URI is not trusted: show the error page.
    Page(Error),
    /// Back to the client, at its (trusted) redirect URI: the one given, or the one
    /// registered when the request omitted it (RFC 6749 §4.1.2.1, §3.1.2.3).
    Client(Error, String),
}

fn login_csrf_cookie<S, P>(latch: &Latch<S, P>, client_id: &str) -> String {
    format!("{}_{}", latch.config.cookies.login_csrf, &hex::encode(Sha256::digest(client_id.as_bytes()))[..8])
}

fn consent_csrf_cookie<S, P>(latch: &Latch<S, P>, client_id: &str) -> String {
    format!("{}_{}", latch.config.cookies.consent_csrf, &hex::encode(Sha256::digest(client_id.as_bytes()))[..8])
}

fn random_token<P: Platform>(p: &P) -> String {
    B64.encode(p.random_bytes(24))
}

/// The browser's remembered login: the stored, unexpired login session its session
/// cookie names, if Latch sealed that cookie ([`cookie::session_id`]). A bare `sid` (what
/// every relying party of the session reads in its ID token) names none.
pub async fn browser_session<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    req: &Request,
) -> Result<Option<LoginSession>, Error> {
    let Some(sid) = cookie::session_id(req, &latch.config.cookies.session, &latch.config.system_secrets) else {
        return Ok(None);
    };
    let now = latch.platform.now();
    Ok(latch.store.get_login_session(&sid).await?.filter(|s| s.expires_at > now))
}

/// The login session id (`sid`) a flow's login creates: derived from the flow id, so a
/// replayed login verifier names the same session, and storing it a second time
/// conflicts (one remembered session per login at most). `sid` is public (ID tokens,
/// logout tokens, admin answers); the cookie holds it sealed.
fn login_session_id(flow_id: &str) -> String {
    let digest = Sha256::new().chain_update(b"latch/login-session-id\0").chain_update(flow_id.as_bytes()).finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(b).into_uuid().to_string()
}

/// A fresh authorization request.
async fn start<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request, params: &Params) -> Response {
    let (client, request) = match validate(latch, params).await {
        Ok(v) => v,
        Err(Failure::Page(e)) => return error_page(&latch.config, &e),
        Err(Failure::Client(e, uri)) => {
            // validate() only returns Client errors once the redirect URI is trusted.
            let mode = response_mode_of(params);
            return error_to_client(
                &latch.config.issuer,
                &uri,
                &mode,
                &e,
                params.get("state"),
                latch.config.expose_debug(),
            );
        }
    };
    let (redirect_uri, response_mode, state) =
        (request.redirect_uri.clone(), request.response_mode.clone(), request.state.clone());
    let respond_error = |e: Error| {
        error_to_client(
            &latch.config.issuer,
            &redirect_uri,
            &response_mode,
            &e,
            state.as_deref(),
            latch.config.expose_debug(),
        )
    };
    let flow = Flow {
        id: latch.new_request_id(),
        request_url: request_url(latch, params),
        requested_at: latch.platform.now(),
        login_csrf: random_token(&latch.platform),
        request,
        ..Default::default()
    };
    match send_to_login(latch, req, &client, flow).await {
        Ok(resp) => resp,
        Err(e) => respond_error(e),
    }
}

/// Sends the browser to the login UI with the flow's `login_challenge`: the end of a
/// fresh authorization request, and of a device verification (RFC 8628 §3.3). A
/// remembered login lets the login UI skip, unless the request forbids it.
pub(crate) async fn send_to_login<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    req: &Request,
    client: &Client,
    mut flow: Flow,
) -> Result<Response, Error> {
    let now = latch.platform.now();
    let request = &flow.request;
    let forced_login = request.prompt.iter().any(|p| p == "login" || p == "select_account");
    if let Some(s) = browser_session(latch, req).await? {
        let too_old = request.max_age.is_some_and(|m| now - s.authenticated_at > m);
        let hint_mismatch = request
            .id_token_hint_claims
            .as_ref()
            .and_then(|c| c.get("sub"))
            .and_then(Value::as_str)
            .is_some_and(|sub| !crate::oidc::knows_as(&latch.config, client, &s.subject, sub));
        if !forced_login && !too_old && !hint_mismatch {
            flow.login_skip = true;
            flow.subject = s.subject.clone();
            flow.session_id = s.id.clone();
            flow.session_authenticated_at = s.authenticated_at;
        }
    }
    // OIDC Core §3.1.2.1: prompt=none without a usable session is login_required.
    if flow.request.prompt.iter().any(|p| p == "none") && !flow.login_skip {
        return Err(Error::new(ErrorCode::LoginRequired)
            .with_hint("Prompt 'none' was requested, but no previous login session was found."));
    }
    let pending = AwaitingLogin { flow };
    let challenge = pending.seal(latch);
    let login_url = latch.config.ui_url(&latch.config.login_url, "/oauth2/fallbacks/login");
    let location = with_param(&login_url, "login_challenge", &challenge);
    Ok(redirect::found(&location).with_cookie(cookie::set(
        &latch.config.cookies,
        &login_csrf_cookie(latch, &client.client_id),
        &pending.flow.login_csrf,
        latch.config.login_consent_ttl,
        "/",
    )))
}

/// Checks every parameter (RFC 6749 §4.1.1, §3.1.2; RFC 7636 §4.3; OIDC Core §3.1.2.1):
/// the client and its redirect URI first, then the ordered table of [`checks::CHECKS`].
/// A pushed request (RFC 9126 §4) is checked again here, as any other.
async fn validate<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    params: &Params,
) -> Result<(std::sync::Arc<Client>, AuthorizeRequest), Failure> {
    let client_id = params
        .get("client_id")
        .ok_or_else(|| Failure::Page(Error::invalid_request("The 'client_id' parameter is missing.")))?;
    let client = latch
        .client(client_id)
        .await
        .map_err(Failure::Page)?
        .ok_or_else(|| Failure::Page(Error::invalid_client("The requested OAuth 2.0 Client does not exist.")))?;
    let pushed = match params.get("request_uri").filter(|u| crate::par::is_pushed(u)) {
        // RFC 9126 §4: the pushed parameters in place of the query's. A request URI that
        // does not open names no redirect URI worth trusting: the error page.
        Some(uri) => Some(crate::par::take(latch, &client, uri).await.map_err(Failure::Page)?),
        // RFC 9126 §5: a client (or server) that requires pushing refuses the rest.
        None if crate::par::required(latch, &client) => {
            return Err(to_redirect_uri_of(&client, params, Error::invalid_request(
                "Authorization requests of this client must be pushed first (RFC 9126), and use the 'request_uri' they were given.",
            )))
        }
        None => None,
    };
    let params = pushed.as_ref().unwrap_or(params);
    let (request, _) = checked(latch, &client, params).await?;
    Ok((client, request))
}

/// A pushed request's parameters checked as [`validate`] checks a fresh one, every
/// failure an error of the push (RFC 9126 §2.1, §2.3); the parameters to keep, its
/// request object's merged in.
pub(crate) async fn check_request<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    params: &Params,
) -> Result<Params, Error> {
    match checked(latch, client, params).await {
        Ok((_, merged)) => Ok(merged.unwrap_or_else(|| params.clone())),
        Err(Failure::Page(e) | Failure::Client(e, _)) => Err(e),
    }
}

/// [`validate`] once the client is known: the request object (RFC 9101) merged in, the
/// redirect URI trusted, then the checks. Also the merged parameters, when a request
/// object was merged.
async fn checked<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    client: &Client,
    params: &Params,
) -> Result<(AuthorizeRequest, Option<Params>), Failure> {
    // RFC 9101: a request object's parameters join the query's before any check. Its
    // failure goes back to the client when the query's redirect URI is trusted.
    let merged =
        request_object::resolve(latch, client, params).await.map_err(|e| to_redirect_uri_of(client, params, e))?;
    let params = merged.as_ref().unwrap_or(params);
    let (redirect_uri, given) =
        checks::trust_redirect_uri(client, params.get("redirect_uri")).map_err(Failure::Page)?;
    // From here on the redirect URI is trusted: errors go back to the client.
    let fail = |e: Error| Failure::Client(e, redirect_uri.clone());
    let hint_keys = match params.get("id_token_hint") {
        Some(_) => Some(latch.key_set(keys::ID_TOKEN_SET).await.map_err(fail)?),
        None => None,
    };
    let mut checking = checks::Checking {
        params,
        client,
        config: &latch.config,
        hint_keys: hint_keys.as_deref().map(Vec::as_slice),
        request: AuthorizeRequest {
            client_id: client.client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            redirect_uri_given: given,
            ..Default::default()
        },
    };
    checks::run(&mut checking).map_err(fail)?;
    Ok((checking.request, merged))
}

/// A failure before the request's own parameters are known: to the redirect URI of
/// `params` when it is trusted, else the error page.
fn to_redirect_uri_of(client: &Client, params: &Params, e: Error) -> Failure {
    match checks::trust_redirect_uri(client, params.get("redirect_uri")) {
        Ok((uri, _)) => Failure::Client(e, uri),
        Err(_) => Failure::Page(e),
    }
}

fn response_mode_of(params: &Params) -> String {
    match params.get("response_mode") {
        Some(m @ ("fragment" | "form_post")) => m.to_string(),
        _ => {
            let rt = params.get("response_type").unwrap_or("");
            if rt.contains("token") { "fragment" } else { "query" }.to_string()
        }
    }
}

/// The public URL of this authorization request, without any verifier.
fn request_url<S, P>(latch: &Latch<S, P>, params: &Params) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter(|(k, _)| !matches!(k.as_str(), "login_verifier" | "consent_verifier")))
        .finish();
    format!("{}?{query}", latch.config.public_endpoint("/oauth2/auth"))
}

/// Back from the login UI.
async fn after_login<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request, verifier: &str) -> Response {
    let AwaitingLoginVerifier { mut flow, login } = match AwaitingLoginVerifier::open(latch, verifier) {
        Ok(f) => f,
        Err(e) => return error_page(&latch.config, &e),
    };
    let r = flow.request.clone();
    let device = flow.device.clone();
    let to_client = |e: Error| answer_error(latch, &r, device.is_some(), &e);
    let csrf_name = login_csrf_cookie(latch, &r.client_id);
    if let Err(e) = cookie::check_csrf(req, &csrf_name, &flow.login_csrf) {
        return error_page(&latch.config, &e);
    }
    let login = match login {
        Decision::Accepted(login) => login,
        Decision::Denied(d) => {
            let e = denied_error(&d);
            if let Some(device) = &device {
                crate::device::deny(latch, &flow, device, &e).await;
            }
            return to_client(e).with_cookie(cookie::clear(&latch.config.cookies, &csrf_name, "/"));
        }
    };
    let now = latch.platform.now();
    let mut cookies = vec![cookie::clear(&latch.config.cookies, &csrf_name, "/")];
    let remembered_for = |remember_for: i64| {
        if remember_for > 0 {
            remember_for.min(latch.config.authentication_session_ttl)
        } else {
            latch.config.authentication_session_ttl
        }
    };
    if flow.login_skip {
        flow.subject = login.subject.clone();
        // Hydra's `extend_session_lifespan`: the remembered session, and its cookie, last
        // `remember_for` from now. A session ended since the flow started is not revived:
        // the login is refused, as it would be had it ended before.
        if login.extend_session_lifespan {
            let ttl = remembered_for(login.remember_for);
            match latch.store.extend_login_session(&flow.session_id, &flow.subject, now + ttl, now).await {
                Ok(true) => {
                    let value = cookie::session_value(&latch.platform, &latch.config.system_secrets, &flow.session_id);
                    cookies.push(cookie::set(&latch.config.cookies, &latch.config.cookies.session, &value, ttl, "/"));
                }
                Ok(false) => {
                    return to_client(
                        Error::new(ErrorCode::LoginRequired).with_hint("The login session ended during the login."),
                    )
                    .with_cookie(cookies.swap_remove(0))
                }
                Err(e) => return to_client(e.into()),
            }
        }
    } else {
        flow.subject = login.subject.clone();
        flow.session_id = login_session_id(&flow.id);
        flow.session_authenticated_at = now;
        if login.remember {
            let ttl = remembered_for(login.remember_for);
            let session = LoginSession {
                id: flow.session_id.clone(),
                subject: login.subject.clone(),
                authenticated_at: now,
                expires_at: now + ttl,
                acr: login.acr.clone(),
                amr: login.amr.clone(),
                identity_provider_session_id: login.identity_provider_session_id.clone(),
            };
            // Single use of the login verifier: its session exists already if it was used.
            if let Err(e) = latch.store.create_login_session(&session).await {
                let e: Error = e.into();
                if e.code == ErrorCode::Conflict {
                    return error_page(
                        &latch.config,
                        &Error::invalid_request("The login verifier has already been used."),
                    );
                }
                return to_client(e);
            }
            let value = cookie::session_value(&latch.platform, &latch.config.system_secrets, &flow.session_id);
            cookies.push(cookie::set(&latch.config.cookies, &latch.config.cookies.session, &value, ttl, "/"));
        } else {
            cookies.push(cookie::clear(&latch.config.cookies, &latch.config.cookies.session, "/"));
        }
    }
    // A remembered consent covering the request lets the consent UI skip (never with
    // prompt=consent; never for a public client's device, as in Hydra: anyone can start
    // a device flow in its name, RFC 8628 §5.4).
    let forced = r.prompt.iter().any(|p| p == "consent")
        || (device.is_some() && latch.client(&r.client_id).await.ok().flatten().is_none_or(|c| c.is_public()));
    let mut consent_skip = false;
    if !forced {
        match latch.store.remembered_consents(&flow.subject, &r.client_id, now).await {
            Ok(previous) => {
                consent_skip = previous.iter().any(|c| {
                    r.scope.iter().all(|s| c.granted_scope.contains(s))
                        && r.audience.iter().all(|a| c.granted_audience.contains(a))
                })
            }
            Err(e) => return to_client(e.into()),
        }
    }
    if r.prompt.iter().any(|p| p == "none") && !consent_skip {
        return to_client(
            Error::new(ErrorCode::ConsentRequired)
                .with_hint("Prompt 'none' was requested, but no previous consent was found."),
        );
    }
    let pending = AwaitingConsent { flow, login, consent_csrf: random_token(&latch.platform), consent_skip };
    let challenge = pending.seal(latch);
    let consent_url = latch.config.ui_url(&latch.config.consent_url, "/oauth2/fallbacks/consent");
    cookies.push(cookie::set(
        &latch.config.cookies,
        &consent_csrf_cookie(latch, &r.client_id),
        &pending.consent_csrf,
        latch.config.login_consent_ttl,
        "/",
    ));
    let mut resp = redirect::found(&with_param(&consent_url, "consent_challenge", &challenge));
    for c in cookies {
        resp = resp.with_cookie(c);
    }
    resp
}

/// An error of a flow past its start: back to the client's redirect URI, or, for a
/// device flow (which has none), on the error page.
fn answer_error<S, P>(latch: &Latch<S, P>, r: &crate::flow::AuthorizeRequest, device: bool, e: &Error) -> Response {
    if device {
        return error_page(&latch.config, e);
    }
    let issuer = &latch.config.issuer;
    error_to_client(issuer, &r.redirect_uri, &r.response_mode, e, r.state.as_deref(), latch.config.expose_debug())
}

fn denied_error(d: &Denied) -> Error {
    let mut e =
        Error::new(ErrorCode::AccessDenied).into_code(if d.error.is_empty() { "request_denied" } else { &d.error });
    if !d.error_description.is_empty() {
        e = e.with_description(d.error_description.clone());
    }
    if !d.error_hint.is_empty() {
        e = e.with_hint(d.error_hint.clone());
    }
    if !d.error_debug.is_empty() {
        e = e.with_debug(d.error_debug.clone());
    }
    e
}

/// Back from the consent UI: record the consent and answer the client.
async fn after_consent<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request, verifier: &str) -> Response {
    let AwaitingConsentVerifier { pending, consent } = match AwaitingConsentVerifier::open(latch, verifier) {
        Ok(f) => f,
        Err(e) => return error_page(&latch.config, &e),
    };
    let (flow, login) = (&pending.flow, &pending.login);
    let r = flow.request.clone();
    let to_client = |e: Error| answer_error(latch, &r, flow.device.is_some(), &e);
    let csrf_name = consent_csrf_cookie(latch, &r.client_id);
    if let Err(e) = cookie::check_csrf(req, &csrf_name, &pending.consent_csrf) {
        return error_page(&latch.config, &e);
    }
    let clear = cookie::clear(&latch.config.cookies, &csrf_name, "/");
    let consent = match consent {
        Decision::Accepted(consent) => consent,
        Decision::Denied(d) => {
            let e = denied_error(&d);
            if let Some(device) = &flow.device {
                crate::device::deny(latch, flow, device, &e).await;
            }
            return to_client(e).with_cookie(clear);
        }
    };
    let client = match latch.client(&r.client_id).await {
        Ok(Some(c)) => c,
        Ok(None) => return error_page(&latch.config, &Error::invalid_client("The OAuth 2.0 Client no longer exists.")),
        Err(e) => return to_client(e),
    };
    let now = latch.platform.now();
    // OIDC Core §8: the subject this client knows the user by.
    let id_subject =
        match crate::oidc::subject_for(&latch.config, &client, &flow.subject, &login.force_subject_identifier) {
            Ok(s) if s != flow.subject => s,
            Ok(_) => String::new(),
            Err(e) => return to_client(e).with_cookie(clear),
        };
    let session = GrantSession {
        auth_time: if flow.login_skip {
            flow.session_authenticated_at
        } else {
            login.authenticated_at.max(flow.session_authenticated_at)
        },
        acr: login.acr.clone(),
        amr: login.amr.clone(),
        sid: flow.session_id.clone(),
        rat: flow.requested_at,
        id_token: consent.id_token.clone(),
        id_subject,
    };
    let consent_record = ConsentRecord {
        id: flow.id.clone(),
        client_id: r.client_id.clone(),
        subject: flow.subject.clone(),
        login_session_id: Some(flow.session_id.clone()).filter(|s| !s.is_empty()),
        granted_scope: consent.grant_scope.clone(),
        granted_audience: consent.grant_audience.clone(),
        remember: consent.remember,
        remember_until: (consent.remember_for > 0).then(|| now + consent.remember_for),
        handled_at: now,
        data: json!({
            "session": {"access_token": consent.access_token, "id_token": consent.id_token},
            "context": consent.context,
            "consent_request": consent_request_json(&pending, &client),
            // For this client's logout tokens (Back-Channel Logout §2.4: its `sub`).
            "id_subject": session.id_sub(&flow.subject),
        }),
    };
    // A device flow ends here: the approval is stored with the consent, and the device
    // exchanges it at the token endpoint (RFC 8628 §3.4).
    if let Some(device) = &flow.device {
        let mut approval = crate::device::decision_record(flow, device, now);
        approval.scope = consent.grant_scope.clone();
        approval.audience = consent.grant_audience.clone();
        approval.data = CodeBinding::default().record_data(&session, &consent.access_token);
        if let Err(e) = latch.store.complete_consent(&consent_record, std::slice::from_ref(&approval)).await {
            let e: Error = e.into();
            let e = if e.code == ErrorCode::Conflict {
                Error::invalid_request("The device was already authorized, or denied.")
            } else {
                e
            };
            return error_page(&latch.config, &e).with_cookie(clear);
        }
        return redirect::found(&crate::device::success_url(latch, &r.client_id)).with_cookie(clear);
    }
    // Mint what the response type asks for.
    let mut records = Vec::new();
    let mut out: Vec<(&str, String)> = Vec::new();
    let mut code = None;
    if r.wants("code") {
        let m = token::mint(&latch.platform, &latch.config.system_secrets, token::AUTH_CODE_PREFIX);
        records.push(TokenRecord {
            signature: m.signature,
            kind: TokenKind::AuthorizationCode,
            request_id: flow.id.clone(),
            client_id: r.client_id.clone(),
            subject: flow.subject.clone(),
            scope: consent.grant_scope.clone(),
            audience: consent.grant_audience.clone(),
            issued_at: now,
            expires_at: now + latch.config.auth_code_ttl,
            active: true,
            used_at: None,
            data: CodeBinding::of(&r).record_data(&session, &consent.access_token),
        });
        code = Some(m.token.clone());
        out.push(("code", m.token));
    }
    // Tokens from the authorization endpoint take the implicit grant's lifespans, as in
    // Hydra (fosite's implicit handler), whatever else the response carries.
    let spans = crate::grants::GrantType::Implicit.lifespans_of(&client);
    let mut access = None;
    if r.wants("token") {
        let grant = Grant {
            request_id: flow.id.clone(),
            subject: flow.subject.clone(),
            scope: consent.grant_scope.clone(),
            audience: consent.grant_audience.clone(),
            ext: consent.access_token.clone(),
            // RFC 9449 binds tokens at the token endpoint only.
            jkt: None,
            act: None,
        };
        let ttl = crate::token_endpoint::lifespan(spans.access, latch.config.access_token_ttl);
        match access_token::mint(latch, &client, &grant, ttl).await {
            Ok(mut issued) => {
                set_session(&mut issued.record, &session);
                records.push(issued.record);
                access = Some(issued.token.clone());
                out.push(("access_token", issued.token));
                out.push(("token_type", "bearer".into()));
                out.push(("expires_in", ttl.to_string()));
            }
            Err(e) => return to_client(e),
        }
    }
    if r.wants("id_token") {
        let ttl = crate::token_endpoint::lifespan(spans.id, latch.config.id_token_ttl);
        match oidc::mint_id_token(
            latch,
            &flow.subject,
            &r.client_id,
            &session,
            r.nonce.as_deref(),
            access.as_deref(),
            code.as_deref(),
            ttl,
        )
        .await
        {
            Ok(t) => out.push(("id_token", t)),
            Err(e) => return to_client(e),
        }
    }
    // One atomic write: the consent (single use of this flow) and its code or tokens.
    if let Err(e) = latch.store.complete_consent(&consent_record, &records).await {
        let e: Error = e.into();
        let e = if e.code == ErrorCode::Conflict {
            Error::invalid_request("The consent verifier has already been used.")
        } else {
            e
        };
        return error_page(&latch.config, &e);
    }
    out.push(("scope", consent.grant_scope.join(" ")));
    out.push(("state", r.state.clone().unwrap_or_default()));
    // RFC 9207 §2: the response names its issuer (a mix-up defence for clients of
    // several authorization servers).
    out.push(("iss", latch.config.issuer.clone()));
    redirect::respond(&r.redirect_uri, &r.response_mode, &out).with_cookie(clear)
}

/// Stores the end-user session with a token so refresh and userinfo can use it.
pub fn set_session(record: &mut TokenRecord, session: &GrantSession) {
    if let Value::Object(m) = &mut record.data {
        m.insert("session".into(), serde_json::to_value(session).unwrap_or_default());
    }
}

/// The consent request as the admin API shows it.
pub fn consent_request_json(pending: &AwaitingConsent, client: &Client) -> Value {
    let (flow, login) = (&pending.flow, &pending.login);
    let r = &flow.request;
    json!({
        "challenge": "",
        "consent_request_id": flow.id,
        "requested_scope": r.scope,
        "requested_access_token_audience": r.audience,
        "skip": pending.consent_skip,
        "subject": login.subject,
        "oidc_context": oidc_context(r),
        "client": client.public_view(),
        "request_url": flow.request_url,
        "login_challenge": flow.id,
        "login_session_id": flow.session_id,
        "acr": login.acr,
        "amr": login.amr,
        "context": login.context,
    })
}

/// Hydra's `oidc_context` object.
pub fn oidc_context(r: &AuthorizeRequest) -> Value {
    let mut m = Map::new();
    m.insert("acr_values".into(), json!(r.acr_values));
    m.insert("display".into(), json!(r.display));
    m.insert("login_hint".into(), json!(r.login_hint));
    m.insert("ui_locales".into(), json!(r.ui_locales));
    if let Some(c) = &r.id_token_hint_claims {
        m.insert("id_token_hint_claims".into(), c.clone());
    }
    Value::Object(m)
}
