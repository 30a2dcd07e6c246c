//! The login → consent → callback flow, kept out of storage: every step's state is a
//! sealed, purpose-bound, expiring blob (see [`crate::seal`]) that travels through the
//! browser and the login/consent UI, bound to a CSRF cookie. Storage is written only
//! when consent completes (and for remembered logins).
//!
//! ```text
//!            /oauth2/auth                       login UI              /oauth2/auth?login_verifier
//! client ──► [start] ──login_challenge──► AwaitingLogin ──accept──► AwaitingLoginVerifier ──┐
//!                                                                                            │
//!   ┌──────────────────────────── consent_challenge ◄────────────────────────────────────────┘
//!   ▼                       consent UI                 /oauth2/auth?consent_verifier
//! AwaitingConsent ──accept──► AwaitingConsentVerifier ──► code / tokens ──► client redirect_uri
//! ```
//!
//! Each stage is a [`Stage`], sealed under its own purpose, so a blob issued for one
//! stage is useless at another. A completed flow is recorded by its id (the consent
//! record, inserted once), so a replayed verifier cannot complete it twice.

use crate::error::{Error, ErrorCode};
use crate::seal::{self, Purpose};
use crate::Latch;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What a sealed flow waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The login UI to accept or reject (`login_challenge`).
    AwaitingLogin,
    /// The browser to come back to `/oauth2/auth` after login (`login_verifier`).
    AwaitingLoginVerifier,
    /// The consent UI to accept or reject (`consent_challenge`).
    AwaitingConsent,
    /// The browser to come back after consent (`consent_verifier`).
    AwaitingConsentVerifier,
}

impl Stage {
    fn purpose(self) -> Purpose {
        match self {
            Stage::AwaitingLogin => Purpose::LoginChallenge,
            Stage::AwaitingLoginVerifier => Purpose::LoginVerifier,
            Stage::AwaitingConsent => Purpose::ConsentChallenge,
            Stage::AwaitingConsentVerifier => Purpose::ConsentVerifier,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Stage::AwaitingLogin => "login challenge",
            Stage::AwaitingLoginVerifier => "login verifier",
            Stage::AwaitingConsent => "consent challenge",
            Stage::AwaitingConsentVerifier => "consent verifier",
        }
    }
}

/// A validated authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    /// The client.
    pub client_id: String,
    /// The redirect URI the response goes to.
    pub redirect_uri: String,
    /// Whether the request named `redirect_uri` (then the token request must repeat it).
    pub redirect_uri_given: bool,
    /// The response types, as a set (`code`, `token`, `id_token`).
    pub response_types: Vec<String>,
    /// `query`, `fragment` or `form_post`.
    pub response_mode: String,
    /// Requested scope.
    pub scope: Vec<String>,
    /// Requested access-token audience.
    pub audience: Vec<String>,
    /// Opaque client state, echoed back.
    pub state: Option<String>,
    /// OIDC nonce, copied into the ID token.
    pub nonce: Option<String>,
    /// PKCE `S256` challenge.
    pub code_challenge: Option<String>,
    /// `prompt` values.
    pub prompt: Vec<String>,
    /// `max_age` in seconds.
    pub max_age: Option<i64>,
    /// `login_hint`.
    pub login_hint: String,
    /// `acr_values`.
    pub acr_values: Vec<String>,
    /// `ui_locales`.
    pub ui_locales: Vec<String>,
    /// `display`.
    pub display: String,
    /// Claims of a verified `id_token_hint`.
    pub id_token_hint_claims: Option<Value>,
}

impl AuthorizeRequest {
    /// Whether the response includes `t` (`code`, `token`, `id_token`).
    pub fn wants(&self, t: &str) -> bool {
        self.response_types.iter().any(|r| r == t)
    }
}

/// What the login UI accepted (Hydra's `acceptOAuth2LoginRequest`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoginAccepted {
    /// The authenticated subject.
    pub subject: String,
    /// Remember the login for later requests.
    pub remember: bool,
    /// For how long, in seconds (0: the server's `ttl.authentication_session`).
    pub remember_for: i64,
    /// Authentication context class.
    pub acr: String,
    /// Authentication methods.
    pub amr: Vec<String>,
    /// Free context passed on to the consent request.
    pub context: Value,
    /// When the user authenticated.
    pub authenticated_at: i64,
}

/// What the consent UI accepted (Hydra's `acceptOAuth2ConsentRequest`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ConsentAccepted {
    /// Granted scope.
    pub grant_scope: Vec<String>,
    /// Granted access-token audience.
    pub grant_audience: Vec<String>,
    /// Remember the decision.
    pub remember: bool,
    /// For how long, in seconds (0: forever).
    pub remember_for: i64,
    /// Extra access-token claims (`ext` in introspection).
    pub access_token: Map<String, Value>,
    /// Extra ID-token and userinfo claims.
    pub id_token: Map<String, Value>,
    /// Free context stored with the consent.
    pub context: Value,
}

/// A rejection by the login or consent UI (Hydra's `rejectOAuth2Request`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Denied {
    /// The OAuth error code sent to the client (`request_denied` by default).
    pub error: String,
    /// Its description.
    pub error_description: String,
    /// A hint.
    pub error_hint: String,
    /// Debug detail.
    pub error_debug: String,
    /// The HTTP status for non-redirect answers.
    pub status_code: u16,
}

/// The whole state of one authorization flow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// The flow id: also the consent request id and the `request_id` of every token
    /// the flow yields.
    pub id: String,
    /// The validated request.
    pub request: AuthorizeRequest,
    /// The authorization URL the browser returns to with each verifier.
    pub request_url: String,
    /// When the flow started (Unix seconds).
    pub requested_at: i64,
    /// The login CSRF value (also in a cookie).
    pub login_csrf: String,
    /// Whether a remembered login lets the login UI skip.
    pub login_skip: bool,
    /// The subject of the remembered login, or the one accepted.
    pub subject: String,
    /// The login session id (`sid`).
    pub session_id: String,
    /// When the remembered login authenticated (for `auth_time` on skip).
    pub session_authenticated_at: i64,
    /// What the login UI accepted.
    pub login: Option<LoginAccepted>,
    /// The consent CSRF value (also in a cookie).
    pub consent_csrf: String,
    /// Whether a remembered consent lets the consent UI skip.
    pub consent_skip: bool,
    /// What the consent UI accepted.
    pub consent: Option<ConsentAccepted>,
    /// A rejection, if any.
    pub denied: Option<Denied>,
}

impl Flow {
    /// Seals the flow for `stage`.
    pub fn seal<S, P: crate::platform::Platform>(&self, latch: &Latch<S, P>, stage: Stage) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        seal::seal(&latch.platform, &latch.config.system_secrets, stage.purpose(), &json)
    }

    /// Opens a blob sealed for `stage`, checking its age against
    /// `ttl.login_consent_request`.
    pub fn open<S, P: crate::platform::Platform>(latch: &Latch<S, P>, stage: Stage, blob: &str) -> Result<Flow, Error> {
        let invalid = || {
            Error::new(ErrorCode::NotFound)
                .with_description("The requested resource could not be found.")
                .with_hint(format!("The {} is invalid or has expired.", stage.name()))
        };
        let raw = seal::open(&latch.config.system_secrets, stage.purpose(), blob).ok_or_else(invalid)?;
        let flow: Flow = serde_json::from_slice(&raw).map_err(|_| invalid())?;
        if latch.platform.now() > flow.requested_at + latch.config.login_consent_ttl {
            return Err(invalid());
        }
        Ok(flow)
    }

    /// `request_url` with one more query parameter.
    pub fn request_url_with(&self, name: &str, value: &str) -> String {
        crate::redirect::with_param(&self.request_url, name, value)
    }

    /// The subject the flow authenticated.
    pub fn authenticated_subject(&self) -> &str {
        self.login.as_ref().map(|l| l.subject.as_str()).unwrap_or(&self.subject)
    }
}
