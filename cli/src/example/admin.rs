//! The app's only link to Latch: the admin API's login, consent, logout and device requests.
//!
//! Paths are Hydra v2's: `GET /admin/oauth2/auth/requests/{login|consent|logout}` to read a
//! request, `PUT .../accept` and `PUT .../reject` to answer it, each with
//! `?{login|consent|logout}_challenge=...`. Accept and reject answer `{"redirect_to": URL}`,
//! where the browser must go next (logout reject answers 204 with no body).

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::AppError;
use crate::error::CliError;
use crate::http::{describe_error_body, Api};

/// Which kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Authenticate the user.
    Login,
    /// Grant scopes to the client.
    Consent,
    /// Confirm a logout.
    Logout,
    /// Match a device's user code (RFC 8628; accept only).
    Device,
}

impl Kind {
    /// The path segment: `login`, `consent` or `logout`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Login => "login",
            Kind::Consent => "consent",
            Kind::Logout => "logout",
            Kind::Device => "device",
        }
    }

    /// The query parameter carrying the challenge: `login_challenge`, ...
    pub fn challenge_param(self) -> String {
        format!("{}_challenge", self.name())
    }
}

/// A client of the admin API (endpoint, admin token and extra headers come from the flags).
#[derive(Debug)]
pub struct AdminApi {
    api: Api,
}

impl AdminApi {
    /// Wraps a connection to the admin API.
    pub fn new(api: Api) -> Self {
        AdminApi { api }
    }

    /// `GET .../requests/{kind}?{kind}_challenge=...`: the request, a JSON object.
    pub async fn get(&self, kind: Kind, challenge: &str) -> Result<Value, AppError> {
        match self.call(Method::GET, kind, None, challenge, None).await? {
            Some(request @ Value::Object(_)) => Ok(request),
            _ => Err(bad_answer(format!("the {} request is not a JSON object", kind.name()))),
        }
    }

    /// `PUT .../requests/{kind}/accept`: returns where to send the browser.
    pub async fn accept(&self, kind: Kind, challenge: &str, body: Option<&Value>) -> Result<String, AppError> {
        let answer = self.call(Method::PUT, kind, Some("accept"), challenge, body).await?;
        redirect_to(answer.as_ref())
            .ok_or_else(|| bad_answer(format!("accepting the {} request gave no redirect_to", kind.name())))
    }

    /// `PUT .../requests/{login|consent}/reject` with the error to report to the client:
    /// returns where to send the browser.
    pub async fn reject(&self, kind: Kind, challenge: &str, body: &Value) -> Result<String, AppError> {
        let answer = self.call(Method::PUT, kind, Some("reject"), challenge, Some(body)).await?;
        redirect_to(answer.as_ref())
            .ok_or_else(|| bad_answer(format!("rejecting the {} request gave no redirect_to", kind.name())))
    }

    /// `PUT .../requests/logout/reject`: the user stays logged in; Latch answers 204.
    pub async fn reject_logout(&self, challenge: &str) -> Result<(), AppError> {
        self.call(Method::PUT, Kind::Logout, Some("reject"), challenge, None).await.map(drop)
    }

    /// One admin API call; `Ok(None)` for an empty 2xx answer.
    async fn call(
        &self,
        method: Method,
        kind: Kind,
        action: Option<&str>,
        challenge: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>, AppError> {
        let mut segments = vec!["admin", "oauth2", "auth", "requests", kind.name()];
        segments.extend(action);
        let mut url = self.api.url(&segments).map_err(unreachable)?;
        url.query_pairs_mut().append_pair(&kind.challenge_param(), challenge);
        let mut req = self.api.request(method, url);
        if let Some(body) = body {
            req = req.json(body);
        }
        let (status, reply) = self.api.exchange(req).await.map_err(unreachable)?;
        let answer: Option<Value> = serde_json::from_str(&reply.body).ok();
        if status == StatusCode::GONE {
            // Hydra's "request already handled": carry on where it says.
            if let Some(to) = redirect_to(answer.as_ref()) {
                return Err(AppError::Gone(to));
            }
        }
        if !status.is_success() {
            return Err(admin_error(status.as_u16(), &reply.body, answer.as_ref()));
        }
        if reply.body.trim().is_empty() {
            return Ok(None);
        }
        answer.map(Some).ok_or_else(|| bad_answer("the admin API answered with invalid JSON".into()))
    }
}

/// The `redirect_to` of an answer.
fn redirect_to(answer: Option<&Value>) -> Option<String> {
    answer?.get("redirect_to")?.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// An error answer, from its `error` and `error_description` (or `error_hint`) when it has
/// them, else from whatever it says.
fn admin_error(status: u16, body: &str, answer: Option<&Value>) -> AppError {
    let field = |k: &str| answer.and_then(|a| a.get(k)).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (mut error, mut description) = (field("error"), field("error_description"));
    if description.is_empty() {
        description = field("error_hint");
    }
    if error.is_empty() {
        error = describe_error_body(body);
    }
    AppError::Admin { status: Some(status), error, description }
}

fn unreachable(e: CliError) -> AppError {
    AppError::Admin { status: None, error: "the admin API could not be reached".into(), description: e.to_string() }
}

fn bad_answer(description: String) -> AppError {
    AppError::Admin { status: None, error: "unexpected answer from the admin API".into(), description }
}

/// A string array field of a request (`requested_scope`, ...); absent or `null` is empty.
pub fn strings(request: &Value, key: &str) -> Vec<String> {
    request
        .get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A string field of a request, found by JSON pointer (`/subject`, `/oidc_context/login_hint`).
pub fn text<'a>(request: &'a Value, pointer: &str) -> &'a str {
    request.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// How to name the client to the user: its `client_name`, else its `client_id`.
pub fn client_label(request: &Value) -> String {
    [text(request, "/client/client_name"), text(request, "/client/client_id")]
        .into_iter()
        .find(|s| !s.trim().is_empty())
        .unwrap_or("an unnamed application")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_fields() {
        let body = r#"{"error":"Not Found","error_description":"Unable to locate the resource"}"#;
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            admin_error(404, body, Some(&v)),
            AppError::Admin {
                status: Some(404),
                error: "Not Found".into(),
                description: "Unable to locate the resource".into()
            }
        );
        let AppError::Admin { error, description, .. } = admin_error(500, "oops", None) else { panic!("not Admin") };
        assert_eq!((error.as_str(), description.as_str()), ("oops", ""));
    }

    #[test]
    fn request_fields() {
        let r = json!({"requested_scope": ["openid", 1, "email"], "client": {"client_id": "c1", "client_name": ""}});
        assert_eq!(strings(&r, "requested_scope"), ["openid", "email"]);
        assert!(strings(&r, "requested_access_token_audience").is_empty());
        assert_eq!(client_label(&r), "c1");
        assert_eq!(client_label(&json!({"client": {"client_id": "c1", "client_name": "App"}})), "App");
        assert_eq!(client_label(&json!({})), "an unnamed application");
        assert_eq!(redirect_to(Some(&json!({"redirect_to": "http://x/"}))), Some("http://x/".into()));
        assert_eq!(redirect_to(Some(&json!({"redirect_to": ""}))), None);
    }
}
