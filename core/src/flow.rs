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
//! Each stage is a type of its own ([`AwaitingLogin`], [`AwaitingLoginVerifier`],
//! [`AwaitingConsent`], [`AwaitingConsentVerifier`]) holding exactly what that stage has:
//! the login UI's decision exists only once the login stage is over, the accepted login
//! is not optional at the consent stage. Each is sealed under its own purpose (the
//! [`Stage`] trait), so a blob issued for one stage is useless at another, and one that
//! opens but lacks what its stage must have is refused like a forged one. A completed
//! flow is recorded by its id (the consent record, inserted once), so a replayed
//! verifier cannot complete it twice.
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
    /// The DPoP key the code is bound to (RFC 9449 §10 `dpop_jkt`).
    #[serde(rename = "dj", alias = "dpop_jkt", skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
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
    /// The subject a pairwise client is to know the user by, as the login UI chose it
    /// (Hydra's `force_subject_identifier`); empty: computed (OIDC Core §8.1).
    #[serde(rename = "fsi", default, skip_serializing_if = "String::is_empty")]
    pub force_subject_identifier: String,
    /// On a skipped login, the remembered session lasts `remember_for` (or
    /// `ttl.authentication_session`) from now again (Hydra's `extend_session_lifespan`).
    #[serde(rename = "x", alias = "extend_session_lifespan", skip_serializing_if = "is_false")]
    pub extend_session_lifespan: bool,
    /// The identity provider's session the user logged in with (Hydra's
    /// `identity_provider_session_id`), kept with a remembered login and ended with it.
    #[serde(rename = "ips", default, skip_serializing_if = "String::is_empty")]
    pub identity_provider_session_id: String,
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

/// What every stage of one authorization flow carries.
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
    /// The device authorization this flow approves (RFC 8628 §3.3), when it is a device
    /// flow: it ends at the device verification's success page, not at a redirect URI.
    #[serde(rename = "dv", alias = "device", skip_serializing_if = "Option::is_none")]
    pub device: Option<DeviceBinding>,
}

/// What a device flow knows of the device authorization it approves.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceBinding {
    /// The pending request's storage key (the device code's signature).
    #[serde(rename = "s")]
    pub signature: String,
    /// When the device code expires (Unix seconds): its approval expires with it.
    #[serde(rename = "e")]
    pub expires_at: i64,
}

impl Flow {
    /// `request_url` with one more query parameter.
    pub fn request_url_with(&self, name: &str, value: &str) -> String {
        crate::redirect::with_param(&self.request_url, name, value)
    }
}

/// What an authorization code remembers of its request: stored in the code's record
/// and checked when the code is redeemed (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core
/// §3.1.3.3 for the nonce).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CodeBinding {
    /// The redirect URI the code was sent to.
    pub redirect_uri: String,
    /// Whether the authorization request named it (then the token request must repeat it).
    pub redirect_uri_given: bool,
    /// The PKCE `S256` challenge.
    pub code_challenge: Option<String>,
    /// The nonce, copied into the ID token.
    pub nonce: Option<String>,
    /// RFC 9449 §10: the code is redeemed only with a DPoP proof of this key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
}

impl CodeBinding {
    /// What a request binds its code to.
    pub fn of(r: &AuthorizeRequest) -> Self {
        CodeBinding {
            redirect_uri: r.redirect_uri.clone(),
            redirect_uri_given: r.redirect_uri_given,
            code_challenge: r.code_challenge.clone(),
            nonce: r.nonce.clone(),
            dpop_jkt: r.dpop_jkt.clone(),
        }
    }

    /// The code record's data: this binding beside the grant's session and the extra
    /// access-token claims (`session` and `ext`, as every token record of a grant has).
    pub fn record_data(&self, session: &crate::oidc::GrantSession, ext: &Map<String, Value>) -> Value {
        #[derive(Serialize)]
        struct CodeData<'a> {
            #[serde(flatten)]
            binding: &'a CodeBinding,
            session: &'a crate::oidc::GrantSession,
            ext: &'a Map<String, Value>,
        }
        serde_json::to_value(CodeData { binding: self, session, ext }).unwrap_or_default()
    }

    /// The binding stored in a code's record; `None` if the record does not hold one.
    pub fn from_record_data(data: &Value) -> Option<Self> {
        CodeBinding::deserialize(data).ok()
    }
}

/// What the login or consent UI decided.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision<T> {
    /// Accepted, with what the UI said.
    Accepted(T),
    /// Rejected, with the error for the client.
    Denied(Denied),
}

/// Sealed as the `login_challenge`: awaits the login UI's decision.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AwaitingLogin {
    /// The flow so far.
    pub flow: Flow,
}

/// Sealed as the `login_verifier`: awaits the browser's return with the login UI's decision.
#[derive(Clone, Debug, PartialEq)]
pub struct AwaitingLoginVerifier {
    /// The flow so far.
    pub flow: Flow,
    /// The login UI's decision.
    pub login: Decision<LoginAccepted>,
}

/// Sealed as the `consent_challenge`: the login is accepted; awaits the consent UI.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AwaitingConsent {
    /// The flow so far.
    pub flow: Flow,
    /// What the login UI accepted.
    pub login: LoginAccepted,
    /// The consent CSRF value (also in a cookie).
    pub consent_csrf: String,
    /// Whether a remembered consent lets the consent UI skip.
    pub consent_skip: bool,
}

/// Sealed as the `consent_verifier`: awaits the browser's return with the consent UI's decision.
#[derive(Clone, Debug, PartialEq)]
pub struct AwaitingConsentVerifier {
    /// The consent stage this decision ends.
    pub pending: AwaitingConsent,
    /// The consent UI's decision.
    pub consent: Decision<ConsentAccepted>,
}

/// The sealed form of every stage, as written: the common part and what the stages add,
/// each field left out at its default (short keys; the long names still read).
#[doc(hidden)]
#[derive(Serialize)]
pub struct SealedRef<'a> {
    #[serde(flatten)]
    flow: &'a Flow,
    #[serde(rename = "l", skip_serializing_if = "Option::is_none")]
    login: Option<&'a LoginAccepted>,
    #[serde(rename = "cc", skip_serializing_if = "str::is_empty")]
    consent_csrf: &'a str,
    #[serde(rename = "cs", skip_serializing_if = "is_false")]
    consent_skip: bool,
    #[serde(rename = "c", skip_serializing_if = "Option::is_none")]
    consent: Option<&'a ConsentAccepted>,
    #[serde(rename = "d", skip_serializing_if = "Option::is_none")]
    denied: Option<&'a Denied>,
}

/// The sealed form as read back; [`Stage::from_sealed`] checks it has what its stage must.
#[doc(hidden)]
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Sealed {
    #[serde(flatten)]
    flow: Flow,
    #[serde(rename = "l", alias = "login")]
    login: Option<LoginAccepted>,
    #[serde(rename = "cc", alias = "consent_csrf")]
    consent_csrf: String,
    #[serde(rename = "cs", alias = "consent_skip")]
    consent_skip: bool,
    #[serde(rename = "c", alias = "consent")]
    consent: Option<ConsentAccepted>,
    #[serde(rename = "d", alias = "denied")]
    denied: Option<Denied>,
}

impl<'a> SealedRef<'a> {
    fn of(flow: &'a Flow) -> Self {
        SealedRef { flow, login: None, consent_csrf: "", consent_skip: false, consent: None, denied: None }
    }
    fn consent_stage(c: &'a AwaitingConsent) -> Self {
        SealedRef {
            login: Some(&c.login),
            consent_csrf: &c.consent_csrf,
            consent_skip: c.consent_skip,
            ..SealedRef::of(&c.flow)
        }
    }
}

/// The decision a sealed stage carries: exactly one of accepted and denied.
fn decision<T>(accepted: Option<T>, denied: Option<Denied>) -> Option<Decision<T>> {
    match (accepted, denied) {
        (Some(a), None) => Some(Decision::Accepted(a)),
        (None, Some(d)) => Some(Decision::Denied(d)),
        _ => None,
    }
}

fn split<T>(d: &Decision<T>) -> (Option<&T>, Option<&Denied>) {
    match d {
        Decision::Accepted(a) => (Some(a), None),
        Decision::Denied(d) => (None, Some(d)),
    }
}

/// A stage of the flow: what it is sealed as, and how it is written and read back.
pub trait Stage: Sized {
    /// The seal's purpose: a blob of one stage never opens as another.
    const PURPOSE: Purpose;
    /// How errors name its blob.
    const NAME: &'static str;
    /// The common part.
    fn flow(&self) -> &Flow;
    #[doc(hidden)]
    fn to_sealed(&self) -> SealedRef<'_>;
    #[doc(hidden)]
    fn from_sealed(s: Sealed) -> Option<Self>;

    /// Seals this stage.
    fn seal<S, P: crate::platform::Platform>(&self, latch: &Latch<S, P>) -> String {
        let json = serde_json::to_vec(&self.to_sealed()).unwrap_or_default();
        seal::seal(&latch.platform, &latch.config.system_secrets, Self::PURPOSE, &json)
    }

    /// Opens a blob sealed for this stage, checking its age against
    /// `ttl.login_consent_request`.
    fn open<S, P: crate::platform::Platform>(latch: &Latch<S, P>, blob: &str) -> Result<Self, Error> {
        let invalid = || {
            Error::new(ErrorCode::NotFound)
                .with_description("The requested resource could not be found.")
                .with_hint(format!("The {} is invalid or has expired.", Self::NAME))
        };
        let raw = seal::open(&latch.config.system_secrets, Self::PURPOSE, blob).ok_or_else(invalid)?;
        let sealed: Sealed = serde_json::from_slice(&raw).map_err(|_| invalid())?;
        if latch.platform.now() > sealed.flow.requested_at + latch.config.login_consent_ttl {
            return Err(invalid());
        }
        Self::from_sealed(sealed).ok_or_else(invalid)
    }
}

impl Stage for AwaitingLogin {
    const PURPOSE: Purpose = Purpose::LoginChallenge;
    const NAME: &'static str = "login challenge";
    fn flow(&self) -> &Flow {
        &self.flow
    }
    fn to_sealed(&self) -> SealedRef<'_> {
        SealedRef::of(&self.flow)
    }
    fn from_sealed(s: Sealed) -> Option<Self> {
        (s.login.is_none() && s.consent.is_none() && s.denied.is_none()).then_some(AwaitingLogin { flow: s.flow })
    }
}

impl Stage for AwaitingLoginVerifier {
    const PURPOSE: Purpose = Purpose::LoginVerifier;
    const NAME: &'static str = "login verifier";
    fn flow(&self) -> &Flow {
        &self.flow
    }
    fn to_sealed(&self) -> SealedRef<'_> {
        let (login, denied) = split(&self.login);
        SealedRef { login, denied, ..SealedRef::of(&self.flow) }
    }
    fn from_sealed(s: Sealed) -> Option<Self> {
        if s.consent.is_some() {
            return None;
        }
        Some(AwaitingLoginVerifier { login: decision(s.login, s.denied)?, flow: s.flow })
    }
}

impl Stage for AwaitingConsent {
    const PURPOSE: Purpose = Purpose::ConsentChallenge;
    const NAME: &'static str = "consent challenge";
    fn flow(&self) -> &Flow {
        &self.flow
    }
    fn to_sealed(&self) -> SealedRef<'_> {
        SealedRef::consent_stage(self)
    }
    fn from_sealed(s: Sealed) -> Option<Self> {
        if s.consent.is_some() || s.denied.is_some() {
            return None;
        }
        Some(AwaitingConsent {
            login: s.login?,
            flow: s.flow,
            consent_csrf: s.consent_csrf,
            consent_skip: s.consent_skip,
        })
    }
}

impl Stage for AwaitingConsentVerifier {
    const PURPOSE: Purpose = Purpose::ConsentVerifier;
    const NAME: &'static str = "consent verifier";
    fn flow(&self) -> &Flow {
        &self.pending.flow
    }
    fn to_sealed(&self) -> SealedRef<'_> {
        let (consent, denied) = split(&self.consent);
        SealedRef { consent, denied, ..SealedRef::consent_stage(&self.pending) }
    }
    fn from_sealed(mut s: Sealed) -> Option<Self> {
        let consent = decision(s.consent.take(), s.denied.take())?;
        Some(AwaitingConsentVerifier { pending: AwaitingConsent::from_sealed(s)?, consent })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A flow at the consent stage, as the benchmark's flows reach it.
    fn consent_stage() -> AwaitingConsent {
        AwaitingConsent {
            flow: Flow {
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
                ..Default::default()
            },
            login: LoginAccepted { subject: "foo@bar.com".into(), authenticated_at: 1_764_512_001, ..Default::default() },
            consent_csrf: "c2VjcmV0LWNzcmYtdmFsdWUtZm9yLWNvbnNl".into(),
            consent_skip: false,
        }
    }

    /// The stage's sealed JSON read back as the same stage.
    fn round_trip<T: Stage + PartialEq + std::fmt::Debug>(state: &T) {
        let json = serde_json::to_vec(&state.to_sealed()).expect("serializes");
        let sealed: Sealed = serde_json::from_slice(&json).expect("parses");
        assert_eq!(T::from_sealed(sealed).as_ref(), Some(state), "{}", String::from_utf8_lossy(&json));
    }

    /// Every field set to something other than its default survives the compact form, at
    /// every stage.
    #[test]
    fn compact_form_round_trips() {
        let mut full = consent_stage();
        let r = &mut full.flow.request;
        r.audience = vec!["api".into()];
        r.prompt = vec!["login".into()];
        r.max_age = Some(0);
        r.login_hint = "foo".into();
        r.acr_values = vec!["1".into()];
        r.ui_locales = vec!["de".into()];
        r.display = "page".into();
        r.id_token_hint_claims = Some(json!({"sub": "foo"}));
        full.flow.login_skip = true;
        full.flow.subject = "foo@bar.com".into();
        full.flow.session_authenticated_at = 7;
        full.login = LoginAccepted {
            subject: "foo@bar.com".into(),
            remember: true,
            remember_for: 3600,
            acr: "2".into(),
            amr: vec!["pwd".into()],
            context: json!({"k": 1}),
            authenticated_at: 8,
            force_subject_identifier: "pairwise-foo".into(),
            extend_session_lifespan: true,
            identity_provider_session_id: "kratos-1".into(),
        };
        full.consent_skip = true;
        let accepted = ConsentAccepted {
            grant_scope: vec!["openid".into()],
            grant_audience: vec!["api".into()],
            remember: true,
            remember_for: 60,
            access_token: json!({"a": 1}).as_object().cloned().unwrap_or_default(),
            id_token: json!({"b": 2}).as_object().cloned().unwrap_or_default(),
            context: json!([1]),
        };
        let denied = Denied {
            error: "access_denied".into(),
            error_description: "d".into(),
            error_hint: "h".into(),
            error_debug: "g".into(),
            status_code: 403,
        };
        round_trip(&AwaitingLogin::default());
        round_trip(&AwaitingLogin { flow: full.flow.clone() });
        round_trip(&AwaitingLoginVerifier { flow: full.flow.clone(), login: Decision::Accepted(full.login.clone()) });
        round_trip(&AwaitingLoginVerifier { flow: full.flow.clone(), login: Decision::Denied(denied.clone()) });
        round_trip(&consent_stage());
        round_trip(&full);
        round_trip(&AwaitingConsentVerifier { pending: full.clone(), consent: Decision::Accepted(accepted) });
        round_trip(&AwaitingConsentVerifier { pending: full, consent: Decision::Denied(denied) });
    }

    /// A blob that lacks what its stage must have, or has what only a later stage has,
    /// does not open as that stage.
    #[test]
    fn each_stage_has_exactly_its_parts() {
        let parse = |v: serde_json::Value| serde_json::from_value::<Sealed>(v).expect("parses");
        let login = json!({"s": "foo", "at": 1});
        let denied = json!({"e": "access_denied"});
        let consent = json!({"gs": ["openid"]});
        assert!(AwaitingLogin::from_sealed(parse(json!({"l": login}))).is_none());
        assert!(AwaitingLoginVerifier::from_sealed(parse(json!({}))).is_none());
        assert!(AwaitingLoginVerifier::from_sealed(parse(json!({"l": login, "d": denied}))).is_none());
        assert!(AwaitingConsent::from_sealed(parse(json!({}))).is_none());
        assert!(AwaitingConsent::from_sealed(parse(json!({"l": login, "c": consent}))).is_none());
        assert!(AwaitingConsentVerifier::from_sealed(parse(json!({"c": consent}))).is_none());
        assert!(AwaitingConsentVerifier::from_sealed(parse(json!({"l": login}))).is_none());
        assert!(AwaitingConsentVerifier::from_sealed(parse(json!({"l": login, "c": consent}))).is_some());
    }

    /// A blob sealed in the full form (every field, long names: what versions before the
    /// compact form wrote) opens to the same stage.
    #[test]
    fn full_form_still_opens() {
        let stage = consent_stage();
        let flow = &stage.flow;
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
            "consent_csrf": stage.consent_csrf, "consent_skip": false, "consent": null, "denied": null
        });
        let sealed = serde_json::from_value::<Sealed>(full.clone()).expect("parses");
        assert_eq!(AwaitingConsent::from_sealed(sealed), Some(stage.clone()));
        // The compact form of the same stage is at most two thirds of the full form's size
        // (the request URL, 330 bytes, is in both).
        let compact = serde_json::to_vec(&stage.to_sealed()).expect("compact");
        let full = serde_json::to_vec(&full).expect("full");
        assert!(compact.len() * 3 <= full.len() * 2, "compact {} bytes, full {}", compact.len(), full.len());
    }
}
