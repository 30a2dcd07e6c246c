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
//!
//! The sealed JSON is compact, because every challenge and verifier travels in URLs,
//! headers and admin responses and is opened once or twice per request: short keys, and
//! fields at their default left out (about 60 % of the full form's size). Each short
//! key has its long name as an alias (`acr` and `amr` keep theirs) and every struct
//! reads missing fields as defaults, so blobs sealed in the full form by an earlier
//! version still open.

use crate::error::{Error, ErrorCode};
use crate::seal::{self, Purpose};
use crate::Latch;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `skip_serializing_if` for a `false` flag: the sealed form leaves defaults out.
fn is_false(b: &bool) -> bool {
    !*b
}

/// `skip_serializing_if` for a zero number: the sealed form leaves defaults out.
fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

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
#[serde(default)]
pub struct AuthorizeRequest {
    /// The client.
    #[serde(rename = "c", alias = "client_id")]
    pub client_id: String,
    /// The redirect URI the response goes to.
    #[serde(rename = "r", alias = "redirect_uri")]
    pub redirect_uri: String,
    /// Whether the request named `redirect_uri` (then the token request must repeat it).
    #[serde(rename = "rg", alias = "redirect_uri_given", skip_serializing_if = "is_false")]
    pub redirect_uri_given: bool,
    /// The response types, as a set (`code`, `token`, `id_token`).
    #[serde(rename = "rt", alias = "response_types")]
    pub response_types: Vec<String>,
    /// `query`, `fragment` or `form_post`.
    #[serde(rename = "rm", alias = "response_mode")]
    pub response_mode: String,
    /// Requested scope.
    #[serde(rename = "s", alias = "scope")]
    pub scope: Vec<String>,
    /// Requested access-token audience.
    #[serde(rename = "a", alias = "audience", skip_serializing_if = "Vec::is_empty")]
    pub audience: Vec<String>,
    /// Opaque client state, echoed back.
    #[serde(rename = "st", alias = "state", skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// OIDC nonce, copied into the ID token.
    #[serde(rename = "n", alias = "nonce", skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// PKCE `S256` challenge.
    #[serde(rename = "cc", alias = "code_challenge", skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    /// `prompt` values.
    #[serde(rename = "p", alias = "prompt", skip_serializing_if = "Vec::is_empty")]
    pub prompt: Vec<String>,
    /// `max_age` in seconds.
    #[serde(rename = "ma", alias = "max_age", skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
    /// `login_hint`.
    #[serde(rename = "lh", alias = "login_hint", skip_serializing_if = "String::is_empty")]
    pub login_hint: String,
    /// `acr_values`.
    #[serde(rename = "av", alias = "acr_values", skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
    /// `ui_locales`.
    #[serde(rename = "ul", alias = "ui_locales", skip_serializing_if = "Vec::is_empty")]
    pub ui_locales: Vec<String>,
    /// `display`.
    #[serde(rename = "d", alias = "display", skip_serializing_if = "String::is_empty")]
    pub display: String,
    /// Claims of a verified `id_token_hint`.
    #[serde(rename = "ith", alias = "id_token_hint_claims", skip_serializing_if = "Option::is_none")]
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
#[serde(default)]
pub struct LoginAccepted {
    /// The authenticated subject.
    #[serde(rename = "s", alias = "subject")]
    pub subject: String,
    /// Remember the login for later requests.
    #[serde(rename = "r", alias = "remember", skip_serializing_if = "is_false")]
    pub remember: bool,
    /// For how long, in seconds (0: the server's `ttl.authentication_session`).
    #[serde(rename = "rf", alias = "remember_for", skip_serializing_if = "is_zero")]
    pub remember_for: i64,
    /// Authentication context class.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub acr: String,
    /// Authentication methods.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// Free context passed on to the consent request.
    #[serde(rename = "ctx", alias = "context", skip_serializing_if = "Value::is_null")]
    pub context: Value,
    /// When the user authenticated.
    #[serde(rename = "at", alias = "authenticated_at")]
    pub authenticated_at: i64,
}

/// What the consent UI accepted (Hydra's `acceptOAuth2ConsentRequest`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsentAccepted {
    /// Granted scope.
    #[serde(rename = "gs", alias = "grant_scope")]
    pub grant_scope: Vec<String>,
    /// Granted access-token audience.
    #[serde(rename = "ga", alias = "grant_audience", skip_serializing_if = "Vec::is_empty")]
    pub grant_audience: Vec<String>,
    /// Remember the decision.
    #[serde(rename = "r", alias = "remember", skip_serializing_if = "is_false")]
    pub remember: bool,
    /// For how long, in seconds (0: forever).
    #[serde(rename = "rf", alias = "remember_for", skip_serializing_if = "is_zero")]
    pub remember_for: i64,
    /// Extra access-token claims (`ext` in introspection).
    #[serde(rename = "at", alias = "access_token", skip_serializing_if = "Map::is_empty")]
    pub access_token: Map<String, Value>,
    /// Extra ID-token and userinfo claims.
    #[serde(rename = "it", alias = "id_token", skip_serializing_if = "Map::is_empty")]
    pub id_token: Map<String, Value>,
    /// Free context stored with the consent.
    #[serde(rename = "ctx", alias = "context", skip_serializing_if = "Value::is_null")]
    pub context: Value,
}

/// A rejection by the login or consent UI (Hydra's `rejectOAuth2Request`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Denied {
    /// The OAuth error code sent to the client (`request_denied` by default).
    #[serde(rename = "e", alias = "error", skip_serializing_if = "String::is_empty")]
    pub error: String,
    /// Its description.
    #[serde(rename = "ed", alias = "error_description", skip_serializing_if = "String::is_empty")]
    pub error_description: String,
    /// A hint.
    #[serde(rename = "eh", alias = "error_hint", skip_serializing_if = "String::is_empty")]
    pub error_hint: String,
    /// Debug detail.
    #[serde(rename = "edb", alias = "error_debug", skip_serializing_if = "String::is_empty")]
    pub error_debug: String,
    /// The HTTP status for non-redirect answers.
    #[serde(rename = "sc", alias = "status_code", skip_serializing_if = "is_zero")]
    pub status_code: u16,
}

/// The whole state of one authorization flow.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Flow {
    /// The flow id: also the consent request id and the `request_id` of every token
    /// the flow yields.
    #[serde(rename = "i", alias = "id")]
    pub id: String,
    /// The validated request.
    #[serde(rename = "q", alias = "request")]
    pub request: AuthorizeRequest,
    /// The authorization URL the browser returns to with each verifier.
    #[serde(rename = "u", alias = "request_url")]
    pub request_url: String,
    /// When the flow started (Unix seconds).
    #[serde(rename = "t", alias = "requested_at")]
    pub requested_at: i64,
    /// The login CSRF value (also in a cookie).
    #[serde(rename = "lc", alias = "login_csrf")]
    pub login_csrf: String,
    /// Whether a remembered login lets the login UI skip.
    #[serde(rename = "ls", alias = "login_skip", skip_serializing_if = "is_false")]
    pub login_skip: bool,
    /// The subject of the remembered login, or the one accepted.
    #[serde(rename = "s", alias = "subject", skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// The login session id (`sid`).
    #[serde(rename = "sid", alias = "session_id", skip_serializing_if = "String::is_empty")]
    pub session_id: String,
    /// When the remembered login authenticated (for `auth_time` on skip).
    #[serde(rename = "sat", alias = "session_authenticated_at", skip_serializing_if = "is_zero")]
    pub session_authenticated_at: i64,
    /// What the login UI accepted.
    #[serde(rename = "l", alias = "login", skip_serializing_if = "Option::is_none")]
    pub login: Option<LoginAccepted>,
    /// The consent CSRF value (also in a cookie).
    #[serde(rename = "cc", alias = "consent_csrf", skip_serializing_if = "String::is_empty")]
    pub consent_csrf: String,
    /// Whether a remembered consent lets the consent UI skip.
    #[serde(rename = "cs", alias = "consent_skip", skip_serializing_if = "is_false")]
    pub consent_skip: bool,
    /// What the consent UI accepted.
    #[serde(rename = "c", alias = "consent", skip_serializing_if = "Option::is_none")]
    pub consent: Option<ConsentAccepted>,
    /// A rejection, if any.
    #[serde(rename = "d", alias = "denied", skip_serializing_if = "Option::is_none")]
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A flow at the consent stage, as the benchmark's flows reach it.
    fn consent_stage() -> Flow {
        Flow {
            id: "0193a3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b".into(),
            request: AuthorizeRequest {
                client_id: "flow".into(),
                redirect_uri: "http://127.0.0.1:9/cb".into(),
                redirect_uri_given: true,
                response_types: vec!["code".into()],
                response_mode: "query".into(),
                scope: vec!["openid".into(), "offline".into()],
                state: Some("Zk9xW2hUvR4tYp8sLm3qAa".into()),
                nonce: Some("Nn5cVb7xQw2eRt9yUi4oPp".into()),
                code_challenge: Some("j8E2zKCRb3mFc_shhbZbePSWBW51jJMR5T0g5UhwSBY".into()),
                ..Default::default()
            },
            request_url: "http://127.0.0.1:4444/oauth2/auth?response_type=code&client_id=flow&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid+offline&state=Zk9xW2hUvR4tYp8sLm3qAa&nonce=Nn5cVb7xQw2eRt9yUi4oPp&code_challenge=j8E2zKCRb3mFc_shhbZbePSWBW51jJMR5T0g5UhwSBY&code_challenge_method=S256".into(),
            requested_at: 1_764_512_000,
            login_csrf: "c2VjcmV0LWNzcmYtdmFsdWUtZm9yLWxvZ2lu".into(),
            session_id: "0193a3c4-5d6e-7f80-9a1b-000000000001".into(),
            login: Some(LoginAccepted {
                subject: "foo@bar.com".into(),
                authenticated_at: 1_764_512_001,
                ..Default::default()
            }),
            consent_csrf: "c2VjcmV0LWNzcmYtdmFsdWUtZm9yLWNvbnNl".into(),
            ..Default::default()
        }
    }

    /// Every field set to something other than its default survives the compact form.
    #[test]
    fn compact_form_round_trips() {
        let mut full = consent_stage();
        full.request.audience = vec!["api".into()];
        full.request.prompt = vec!["login".into()];
        full.request.max_age = Some(0);
        full.request.login_hint = "foo".into();
        full.request.acr_values = vec!["1".into()];
        full.request.ui_locales = vec!["de".into()];
        full.request.display = "page".into();
        full.request.id_token_hint_claims = Some(json!({"sub": "foo"}));
        full.login_skip = true;
        full.subject = "foo@bar.com".into();
        full.session_authenticated_at = 7;
        full.login = Some(LoginAccepted {
            subject: "foo@bar.com".into(),
            remember: true,
            remember_for: 3600,
            acr: "2".into(),
            amr: vec!["pwd".into()],
            context: json!({"k": 1}),
            authenticated_at: 8,
        });
        full.consent_skip = true;
        full.consent = Some(ConsentAccepted {
            grant_scope: vec!["openid".into()],
            grant_audience: vec!["api".into()],
            remember: true,
            remember_for: 60,
            access_token: json!({"a": 1}).as_object().cloned().unwrap_or_default(),
            id_token: json!({"b": 2}).as_object().cloned().unwrap_or_default(),
            context: json!([1]),
        });
        full.denied = Some(Denied {
            error: "access_denied".into(),
            error_description: "d".into(),
            error_hint: "h".into(),
            error_debug: "g".into(),
            status_code: 403,
        });
        for flow in [Flow::default(), consent_stage(), full] {
            let json = serde_json::to_vec(&flow).expect("serializes");
            assert_eq!(serde_json::from_slice::<Flow>(&json).expect("parses"), flow);
        }
    }

    /// A blob sealed in the full form (every field, long names: what versions before the
    /// compact form wrote) opens to the same flow.
    #[test]
    fn full_form_still_opens() {
        let flow = consent_stage();
        let full = json!({
            "id": flow.id, "request_url": flow.request_url, "requested_at": flow.requested_at,
            "request": {
                "client_id": "flow", "redirect_uri": "http://127.0.0.1:9/cb", "redirect_uri_given": true,
                "response_types": ["code"], "response_mode": "query", "scope": ["openid", "offline"],
                "audience": [], "state": flow.request.state, "nonce": flow.request.nonce,
                "code_challenge": flow.request.code_challenge, "prompt": [], "max_age": null,
                "login_hint": "", "acr_values": [], "ui_locales": [], "display": "", "id_token_hint_claims": null
            },
            "login_csrf": flow.login_csrf, "login_skip": false, "subject": "", "session_id": flow.session_id,
            "session_authenticated_at": 0,
            "login": {"subject": "foo@bar.com", "remember": false, "remember_for": 0, "acr": "", "amr": [],
                      "context": null, "authenticated_at": 1_764_512_001},
            "consent_csrf": flow.consent_csrf, "consent_skip": false, "consent": null, "denied": null
        });
        assert_eq!(serde_json::from_value::<Flow>(full.clone()).expect("parses"), flow);
        // The compact form of the same flow is at most two thirds of the full form's size
        // (733 bytes against 1 199; the request URL, 330 bytes, is in both).
        let (compact, full) = (serde_json::to_vec(&flow).expect("compact"), serde_json::to_vec(&full).expect("full"));
        assert!(compact.len() * 3 <= full.len() * 2, "compact {} bytes, full {}", compact.len(), full.len());
    }
}
