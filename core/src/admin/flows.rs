//! The login and consent admin API (Hydra v2 §2): read a request by its challenge,
//! accept or reject it. Each answer is `{"redirect_to": …}`: the browser goes back to
//! the authorization endpoint with a verifier. Nothing is stored here; the flow state
//! travels sealed (see [`crate::flow`]).

use crate::authorize::{consent_request_json, oidc_context};
use crate::error::{Error, ErrorCode};
use crate::flow::{
    AwaitingConsent, AwaitingConsentVerifier, AwaitingLogin, AwaitingLoginVerifier, ConsentAccepted, Decision, Denied,
    LoginAccepted, Stage,
};
use crate::http::{Request, Response};
use crate::platform::Platform;
use crate::scope::{audience_allowed, scope_allowed};
use crate::service::Latch;
use crate::store::Store;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The challenge from `?login_challenge=` (or `consent_challenge`), or Hydra's alias `?challenge=`.
fn challenge(req: &Request, name: &str) -> Result<String, Error> {
    let q = req.query_params()?;
    q.get(name)
        .or_else(|| q.get("challenge"))
        .map(str::to_string)
        .ok_or_else(|| Error::invalid_request(format!("The '{name}' query parameter is missing.")))
}

/// The client of a flow, through the short-lived client cache: the login and consent
/// UI read it on every step, and a flow already checked it at its start.
async fn client_json<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    id: &str,
) -> Result<std::sync::Arc<crate::client::Client>, Error> {
    latch.client(id).await?.ok_or_else(|| Error::not_found("The OAuth 2.0 Client of this request no longer exists."))
}

/// A member of a login or consent UI's body that may be absent or `null`: both read as
/// the default, as Hydra (Go's `encoding/json`) reads them. Ory's example apps send
/// `"amr": null`, `"remember_for": null`, `"session": {"access_token": null}`.
fn or_default<'de, D: serde::Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

fn redirect_to(url: String) -> Response {
    Response::json(200, &json!({ "redirect_to": url }))
}

/// `GET /admin/oauth2/auth/requests/login?login_challenge=`.
pub async fn get_login<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let c = challenge(req, "login_challenge")?;
    let AwaitingLogin { flow } = AwaitingLogin::open(latch, &c)?;
    let client = client_json(latch, &flow.request.client_id).await?;
    let r = &flow.request;
    Ok(Response::json(
        200,
        &json!({
            "challenge": c,
            "requested_scope": r.scope,
            "requested_access_token_audience": r.audience,
            "skip": flow.login_skip,
            "subject": flow.subject,
            "oidc_context": oidc_context(r),
            "client": client.public_view(),
            "request_url": flow.request_url,
            "session_id": flow.session_id,
        }),
    ))
}

#[derive(Deserialize)]
struct AcceptLogin {
    subject: String,
    #[serde(default, deserialize_with = "or_default")]
    remember: bool,
    #[serde(default, deserialize_with = "or_default")]
    remember_for: i64,
    #[serde(default, deserialize_with = "or_default")]
    acr: String,
    #[serde(default, deserialize_with = "or_default")]
    amr: Vec<String>,
    #[serde(default, deserialize_with = "or_default")]
    context: Value,
    #[serde(default, deserialize_with = "or_default")]
    extend_session_lifespan: bool,
    #[serde(default, deserialize_with = "or_default")]
    force_subject_identifier: String,
    #[serde(default, deserialize_with = "or_default")]
    identity_provider_session_id: String,
}

/// `PUT /admin/oauth2/auth/requests/login/accept?login_challenge=`.
pub async fn accept_login<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let c = challenge(req, "login_challenge")?;
    let AwaitingLogin { flow } = AwaitingLogin::open(latch, &c)?;
    let body: AcceptLogin = req.json_body()?;
    let ips = &body.identity_provider_session_id;
    // "." and ".." would be read as path steps in the identity provider's URL.
    if ips.len() > crate::identity_provider::MAX_SESSION_ID_LEN
        || ips.chars().any(char::is_control)
        || matches!(ips.as_str(), "." | "..")
    {
        return Err(Error::invalid_request(format!(
            "Field 'identity_provider_session_id' must be at most {} characters, without control characters, and not '.' or '..'.",
            crate::identity_provider::MAX_SESSION_ID_LEN
        )));
    }
    if body.subject.is_empty() {
        return Err(Error::invalid_request("Field 'subject' must not be empty."));
    }
    if body.remember_for < 0 {
        return Err(Error::invalid_request("Field 'remember_for' must not be negative."));
    }
    // Hydra: on a skipped login the subject must be the remembered one.
    if flow.login_skip && body.subject != flow.subject {
        return Err(Error::invalid_request(format!(
            "Field 'subject' does not match subject from previous authentication: expected '{}'.",
            flow.subject
        )));
    }
    let login = LoginAccepted {
        subject: body.subject,
        remember: body.remember || flow.login_skip,
        remember_for: body.remember_for,
        acr: body.acr,
        amr: body.amr,
        context: body.context,
        authenticated_at: latch.platform.now(),
        force_subject_identifier: body.force_subject_identifier,
        extend_session_lifespan: body.extend_session_lifespan,
        identity_provider_session_id: body.identity_provider_session_id,
    };
    let decided = AwaitingLoginVerifier { flow, login: Decision::Accepted(login) };
    Ok(redirect_to(decided.flow.request_url_with("login_verifier", &decided.seal(latch))))
}

#[derive(Deserialize)]
struct Reject {
    #[serde(default, deserialize_with = "or_default")]
    error: String,
    #[serde(default, deserialize_with = "or_default")]
    error_description: String,
    #[serde(default, deserialize_with = "or_default")]
    error_hint: String,
    #[serde(default, deserialize_with = "or_default")]
    error_debug: String,
    #[serde(default, deserialize_with = "or_default")]
    status_code: u16,
}

impl From<Reject> for Denied {
    fn from(r: Reject) -> Denied {
        Denied {
            error: if r.error.is_empty() { "request_denied".into() } else { r.error },
            error_description: r.error_description,
            error_hint: r.error_hint,
            error_debug: r.error_debug,
            status_code: if r.status_code == 0 { 400 } else { r.status_code },
        }
    }
}

/// `PUT /admin/oauth2/auth/requests/login/reject?login_challenge=`.
pub async fn reject_login<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let AwaitingLogin { flow } = AwaitingLogin::open(latch, &challenge(req, "login_challenge")?)?;
    let body: Reject = req.json_body()?;
    let decided = AwaitingLoginVerifier { flow, login: Decision::Denied(body.into()) };
    Ok(redirect_to(decided.flow.request_url_with("login_verifier", &decided.seal(latch))))
}

/// `GET /admin/oauth2/auth/requests/consent?consent_challenge=`.
pub async fn get_consent<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let c = challenge(req, "consent_challenge")?;
    let pending = AwaitingConsent::open(latch, &c)?;
    let client = client_json(latch, &pending.flow.request.client_id).await?;
    let mut v = consent_request_json(&pending, &client);
    v["challenge"] = c.into();
    Ok(Response::json(200, &v))
}

#[derive(Deserialize, Default)]
struct Session {
    #[serde(default, deserialize_with = "or_default")]
    access_token: Map<String, Value>,
    #[serde(default, deserialize_with = "or_default")]
    id_token: Map<String, Value>,
}

#[derive(Deserialize)]
struct AcceptConsent {
    #[serde(default, deserialize_with = "or_default")]
    grant_scope: Vec<String>,
    #[serde(default, deserialize_with = "or_default")]
    grant_access_token_audience: Vec<String>,
    #[serde(default, deserialize_with = "or_default")]
    session: Option<Session>,
    #[serde(default, deserialize_with = "or_default")]
    remember: bool,
    #[serde(default, deserialize_with = "or_default")]
    remember_for: i64,
    #[serde(default, deserialize_with = "or_default")]
    context: Value,
}

/// `PUT /admin/oauth2/auth/requests/consent/accept?consent_challenge=`.
pub async fn accept_consent<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let c = challenge(req, "consent_challenge")?;
    let pending = AwaitingConsent::open(latch, &c)?;
    let body: AcceptConsent = req.json_body()?;
    if body.remember_for < 0 {
        return Err(Error::invalid_request("Field 'remember_for' must not be negative."));
    }
    let client = client_json(latch, &pending.flow.request.client_id).await?;
    for s in &body.grant_scope {
        if !scope_allowed(client.scopes(), s) {
            return Err(Error::new(ErrorCode::InvalidScope)
                .with_hint(format!("The OAuth 2.0 Client is not allowed to be granted scope '{s}'.")));
        }
    }
    for a in &body.grant_access_token_audience {
        if !audience_allowed(&client.audience, a) {
            return Err(Error::invalid_request(format!(
                "The OAuth 2.0 Client is not allowed to be granted audience '{a}'."
            )));
        }
    }
    let session = body.session.unwrap_or_default();
    let consent = ConsentAccepted {
        grant_scope: body.grant_scope,
        grant_audience: body.grant_access_token_audience,
        remember: body.remember,
        remember_for: body.remember_for,
        access_token: session.access_token,
        id_token: session.id_token,
        context: body.context,
    };
    let decided = AwaitingConsentVerifier { pending, consent: Decision::Accepted(consent) };
    Ok(redirect_to(decided.pending.flow.request_url_with("consent_verifier", &decided.seal(latch))))
}

/// `PUT /admin/oauth2/auth/requests/consent/reject?consent_challenge=`.
pub async fn reject_consent<S: Store, P: Platform>(latch: &Latch<S, P>, req: &Request) -> Result<Response, Error> {
    let pending = AwaitingConsent::open(latch, &challenge(req, "consent_challenge")?)?;
    let body: Reject = req.json_body()?;
    let decided = AwaitingConsentVerifier { pending, consent: Decision::Denied(body.into()) };
    Ok(redirect_to(decided.pending.flow.request_url_with("consent_verifier", &decided.seal(latch))))
}

/// `GET /admin/oauth2/auth/sessions/consent?subject=[&login_session_id=]`.
pub async fn list_consent_sessions<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    req: &Request,
) -> Result<Response, Error> {
    let q = req.query_params()?;
    let subject = q.require("subject")?;
    let page = super::Page::of(&q)?;
    let list = latch.store.list_consents(subject, q.get("login_session_id")).await?;
    // Hydra v2's keyset pagination, over the subject's consents (newest first); a token
    // naming a consent that went meanwhile starts where it would have been.
    let start = match &page.after {
        None => 0,
        Some(after) => list.iter().position(|c| &c.id == after).map_or(list.len(), |i| i + 1),
    };
    let end = (start + page.size as usize).min(list.len());
    let shown = &list[start.min(end)..end];
    let last = shown.last().filter(|_| end < list.len()).map(|c| c.id.as_str());
    let mut path = form_urlencoded::Serializer::new(String::from("/admin/oauth2/auth/sessions/consent?"));
    path.append_pair("subject", subject);
    if let Some(sid) = q.get("login_session_id") {
        path.append_pair("login_session_id", sid);
    }
    let link = page.link(&path.finish(), last);
    let out: Vec<Value> = shown
        .iter()
        .map(|c| {
            json!({
                "consent_request_id": c.id,
                "grant_scope": c.granted_scope,
                "grant_access_token_audience": c.granted_audience,
                "session": c.data.get("session").cloned().unwrap_or(json!({})),
                "remember": c.remember,
                "remember_for": c.remember_until.map(|u| (u - c.handled_at).max(0)).unwrap_or(0),
                "handled_at": chrono::DateTime::from_timestamp(c.handled_at, 0).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                "context": c.data.get("context").cloned().unwrap_or(Value::Null),
                "consent_request": c.data.get("consent_request").cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(Response::json(200, &Value::Array(out)).with_header("link", link))
}

/// `DELETE /admin/oauth2/auth/sessions/consent?subject=&client=` or `&all=true`, or
/// `?consent_request_id=` (one consent, as Hydra v2): forgets the consents and revokes
/// every token issued under them. 204 whether or not there was anything to forget.
pub async fn revoke_consent_sessions<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    req: &Request,
) -> Result<Response, Error> {
    let q = req.query_params()?;
    if let Some(id) = q.get("consent_request_id") {
        latch.store.revoke_consent(id).await?;
        return Ok(Response::empty(204));
    }
    let subject = q.require("subject")?;
    let all = q.get("all") == Some("true");
    let client = q.get("client");
    if client.is_none() && !all {
        return Err(Error::invalid_request("Either 'client' or 'all=true' must be given."));
    }
    latch.store.revoke_consents(subject, if all { None } else { client }).await?;
    Ok(Response::empty(204))
}

/// `DELETE /admin/oauth2/auth/sessions/login?subject=` or `?sid=`: forgets remembered logins.
pub async fn revoke_login_sessions<S: Store, P: Platform>(
    latch: &Latch<S, P>,
    req: &Request,
) -> Result<Response, Error> {
    let q = req.query_params()?;
    let mut backchannel = Vec::new();
    match (q.get("subject"), q.get("sid")) {
        (Some(subject), _) => {
            latch.store.end_login_sessions_of_subject(subject).await?;
        }
        (None, Some(sid)) => {
            // Hydra: revoking by sid also sends the back-channel logouts of that session.
            let subject = latch.store.get_login_session(sid).await?.map(|s| s.subject);
            match subject {
                Some(subject) => {
                    backchannel = crate::logout::end_session(latch, &subject, sid).await?.backchannel;
                }
                None => {
                    latch.store.end_login_session(sid).await?;
                }
            }
        }
        (None, None) => return Err(Error::invalid_request("Either 'subject' or 'sid' must be given.")),
    }
    Ok(Response::empty(204).with_effects(backchannel))
}
