//! One complete authorization-code flow, step by step, with its checks: eight requests
//! against Latch (Hydra's login & consent protocol) or node-oidc-provider, every answer
//! checked. Of one of three kinds ([`Kind`]): plain; PAR (RFC 9126: the authorization
//! request is pushed first, a ninth request, and the browser carries only its
//! `request_uri`); DPoP (RFC 9449: the token request carries a fresh proof of the
//! client's key, and the tokens must come back bound, `token_type` DPoP).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::{general_purpose::URL_SAFE_NO_PAD, DecodePaddingMode};
use base64::{alphabet, Engine};
use bytes::Bytes;
use hyper::header::{HeaderName, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use hyper::Method;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::dpop::DpopKey;
use crate::http::{Client, Origin, Response, Target};
use crate::jar::Jar;

/// A step that did not answer as expected; the message says which and why.
#[derive(Debug)]
pub struct FlowError(pub String);

/// The steps of a flow, in order: `Push` only in a PAR flow, then the eight of every flow.
#[derive(Clone, Copy)]
pub enum Step {
    Push,
    Authorize,
    LoginRead,
    LoginAccept,
    LoginReturn,
    ConsentRead,
    ConsentAccept,
    ConsentReturn,
    Token,
}

impl Step {
    pub const COUNT: usize = 9;
    pub const NAMES: [&'static str; Step::COUNT] = [
        "push",
        "authorize",
        "login_read",
        "login_accept",
        "login_return",
        "consent_read",
        "consent_accept",
        "consent_return",
        "token",
    ];
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Step::NAMES[*self as usize])
    }
}

/// Per-step times of one flow: each `lap` records the time since the previous one.
pub struct Laps {
    last: Instant,
    pub ms: [f64; Step::COUNT],
}

impl Laps {
    pub fn new(start: Instant) -> Self {
        Laps { last: start, ms: [0.0; Step::COUNT] }
    }

    fn lap(&mut self, step: Step) {
        let now = Instant::now();
        self.ms[step as usize] = (now - self.last).as_secs_f64() * 1e3;
        self.last = now;
    }
}

/// The server under test.
pub enum Server {
    /// Hydra's login & consent protocol: the public and the admin API.
    Latch { public: Origin, admin: Origin },
    /// node-oidc-provider with bench/node/flows-server.mjs.
    Node { url: Origin },
}

impl Server {
    /// The token endpoint's path under the (public) base URL.
    pub fn token_path(&self) -> &'static str {
        match self {
            Server::Latch { .. } => "/oauth2/token",
            Server::Node { .. } => "/token",
        }
    }

    /// The pushed authorization request endpoint's path (RFC 9126 §2; oidc-provider's
    /// default route `pushed_authorization_request`).
    fn par_path(&self) -> &'static str {
        match self {
            Server::Latch { .. } => "/oauth2/par",
            Server::Node { .. } => "/request",
        }
    }
}

/// What kind of flow each one is.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// The authorization request in the browser's query; a bearer token request.
    Plain,
    /// RFC 9126: the request pushed (client-authenticated as at the token endpoint),
    /// then the browser goes to the authorization endpoint with `client_id` and
    /// `request_uri` only.
    Par,
    /// RFC 9449: the worker's key (ES256), a fresh proof (new `jti`, current `iat`) with
    /// the token request, and `token_type` DPoP in the answer.
    Dpop,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Plain => "plain",
            Kind::Par => "par",
            Kind::Dpop => "dpop",
        }
    }
}

/// What every flow shares.
pub struct Config {
    pub server: Server,
    pub kind: Kind,
    /// The token endpoint's URL: the `htu` of DPoP proofs (RFC 9449 §4.2).
    pub token_htu: String,
    /// The base URL redirects are resolved against (public, or node's URL).
    pub base: Url,
    pub client_id: String,
    pub redirect_uri: String,
    pub redirect: Url,
    /// `Basic base64(encodeURIComponent(id):encodeURIComponent(secret))`.
    pub basic: String,
    pub subject: String,
    pub subjects: u64,
    pub trace: bool,
    /// Flows started so far (the turn of `--subjects N`).
    pub counter: AtomicU64,
}

impl Config {
    pub fn basic_auth(client_id: &str, client_secret: &str) -> String {
        let pair = format!("{}:{}", encode_uri_component(client_id), encode_uri_component(client_secret));
        format!("Basic {}", STANDARD.encode(pair))
    }

    /// The end-user of the next flow: --subject, or with --subjects N > 1 one of N
    /// users in turn (user0@bar.com …).
    fn next_subject(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) + 1;
        if self.subjects > 1 {
            format!("user{}@bar.com", n % self.subjects)
        } else {
            self.subject.clone()
        }
    }
}

/// Runs one flow; `laps` gets the time of each step. `dpop`: the client's key, which a
/// DPoP flow proves possession of at the token endpoint.
pub async fn run(cfg: &Config, http: &mut Client, laps: &mut Laps, dpop: Option<&DpopKey>) -> Result<(), FlowError> {
    match &cfg.server {
        Server::Latch { public, admin } => latch_flow(cfg, public, admin, http, laps, dpop).await,
        Server::Node { url } => node_flow(cfg, url, http, laps, dpop).await,
    }
}

const REDIRECT: &[u16] = &[302, 303];

async fn latch_flow(
    cfg: &Config,
    public: &Origin,
    admin: &Origin,
    http: &mut Client,
    laps: &mut Laps,
    dpop: Option<&DpopKey>,
) -> Result<(), FlowError> {
    use Step::*;
    let mut jar = Jar::default();
    let subject = cfg.next_subject();
    let a = AuthParams::new(cfg, "openid offline", None, dpop);
    let admin_flow = format!("{}/admin/oauth2/auth/requests", admin.prefix);
    let accept_json = [(ACCEPT, "application/json")];
    let json_headers = [(CONTENT_TYPE, "application/json"), (ACCEPT, "application/json")];

    let auth = authorization_path(cfg, http, laps, public, "/oauth2/auth", &a).await?;
    let res = jar.get(http, &Target::on(public, &auth)).await?;
    let lc = challenge(Authorize, &res, &cfg.base, "login_challenge")?;
    laps.lap(Authorize);

    let read = format!("{admin_flow}/login?login_challenge={lc}");
    let res = http.request(Method::GET, &Target::on(admin, &read), &accept_json, None).await?;
    expect_status(LoginRead, &res, &[200])?;
    let r: LoginRequest = json(LoginRead, &res)?;
    let client_id = r.client.and_then(|c| c.client_id);
    if r.skip != Some(false) || client_id.as_deref() != Some(&cfg.client_id) {
        return fail(format!("{LoginRead}: unexpected login request: {}", res_text(&res)));
    }
    laps.lap(LoginRead);

    let accept = format!("{admin_flow}/login/accept?login_challenge={lc}");
    let body = serde_json::json!({ "subject": subject }).to_string();
    let res = http.request(Method::PUT, &Target::on(admin, &accept), &json_headers, Some(body.into())).await?;
    let login_return = redirect_to(LoginAccept, &res)?;
    laps.lap(LoginAccept);

    let res = jar.get(http, &target(LoginReturn, &login_return)?).await?;
    let cc = challenge(LoginReturn, &res, &cfg.base, "consent_challenge")?;
    laps.lap(LoginReturn);

    let read = format!("{admin_flow}/consent?consent_challenge={cc}");
    let res = http.request(Method::GET, &Target::on(admin, &read), &accept_json, None).await?;
    expect_status(ConsentRead, &res, &[200])?;
    let r: ConsentRequest = json(ConsentRead, &res)?;
    if r.skip != Some(false) || r.subject.as_deref() != Some(&subject) {
        return fail(format!("{ConsentRead}: unexpected consent request: {}", res_text(&res)));
    }
    laps.lap(ConsentRead);

    let accept = format!("{admin_flow}/consent/accept?consent_challenge={cc}");
    let body = Bytes::from_static(br#"{"grant_scope":["openid","offline"]}"#);
    let res = http.request(Method::PUT, &Target::on(admin, &accept), &json_headers, Some(body)).await?;
    let consent_return = redirect_to(ConsentAccept, &res)?;
    laps.lap(ConsentAccept);

    let token = format!("{}{}", public.prefix, cfg.server.token_path());
    finish(cfg, http, &mut jar, laps, &consent_return, &Target::on(public, &token), &a, &subject).await
}

async fn node_flow(
    cfg: &Config,
    base: &Origin,
    http: &mut Client,
    laps: &mut Laps,
    dpop: Option<&DpopKey>,
) -> Result<(), FlowError> {
    use Step::*;
    let mut jar = Jar::default();
    let subject = cfg.next_subject();
    // oidc-provider grants offline_access only with prompt=consent (OIDC Core §11).
    let a = AuthParams::new(cfg, "openid offline_access", Some("consent"), dpop);

    let auth = authorization_path(cfg, http, laps, base, "/auth", &a).await?;
    let login = to_interaction(cfg, Authorize, &jar.get(http, &Target::on(base, &auth)).await?)?;
    laps.lap(Authorize);

    interaction(http, &mut jar, LoginRead, &login, "login").await?;
    laps.lap(LoginRead);

    let accept = format!("{login}/login?subject={}", encode_uri_component(&subject));
    let login_return = post(cfg, http, &mut jar, LoginAccept, &url(LoginAccept, &accept)?).await?;
    laps.lap(LoginAccept);

    let consent = to_interaction(cfg, LoginReturn, &jar.get(http, &target(LoginReturn, &login_return)?).await?)?;
    laps.lap(LoginReturn);

    interaction(http, &mut jar, ConsentRead, &consent, "consent").await?;
    laps.lap(ConsentRead);

    let accept = url(ConsentAccept, &format!("{consent}/consent"))?;
    let consent_return = post(cfg, http, &mut jar, ConsentAccept, &accept).await?;
    laps.lap(ConsentAccept);

    let token = format!("{}{}", base.prefix, cfg.server.token_path());
    finish(cfg, http, &mut jar, laps, &consent_return, &Target::on(base, &token), &a, &subject).await
}

/// The authorization endpoint's path and query for the flow's request (at `path` under
/// `origin`): the request itself; in a PAR flow (RFC 9126), the request pushed first
/// (step `push`: client_secret_basic as at the token endpoint, 201 with a `request_uri`
/// and a positive `expires_in`) and then only `client_id` and that `request_uri` (§4).
async fn authorization_path(
    cfg: &Config,
    http: &mut Client,
    laps: &mut Laps,
    origin: &Origin,
    path: &str,
    a: &AuthParams<'_>,
) -> Result<String, FlowError> {
    if cfg.kind != Kind::Par {
        return Ok(format!("{}{path}?{}", origin.prefix, a.query));
    }
    let step = Step::Push;
    let par = format!("{}{}", origin.prefix, cfg.server.par_path());
    let headers: [(HeaderName, &str); 3] = [
        (CONTENT_TYPE, "application/x-www-form-urlencoded"),
        (AUTHORIZATION, &cfg.basic),
        (ACCEPT, "application/json"),
    ];
    let res = http.request(Method::POST, &Target::on(origin, &par), &headers, Some(a.query.clone().into())).await?;
    expect_status(step, &res, &[201])?;
    let r: Pushed = json(step, &res)?;
    let request_uri = match r.request_uri {
        Some(uri) if !uri.is_empty() => uri,
        _ => return fail(format!("{step}: no request_uri: {}", res_text(&res))),
    };
    if !r.expires_in.is_some_and(|e| e > 0.0) {
        return fail(format!("{step}: no positive expires_in: {}", res_text(&res)));
    }
    laps.lap(step);
    let query = form_urlencoded::Serializer::new(String::with_capacity(64 + request_uri.len()))
        .append_pair("client_id", &cfg.client_id)
        .append_pair("request_uri", &request_uri)
        .finish();
    Ok(format!("{}{path}?{query}", origin.prefix))
}

/// The last two steps, the same on both servers: back to the authorization endpoint
/// after consent (a redirect to the callback with the code and the flow's `state`), then
/// the code exchange at `token`, whose answer must hold the flow's tokens.
#[allow(clippy::too_many_arguments)] // the flow's state, passed as the two flows hold it
async fn finish(
    cfg: &Config,
    http: &mut Client,
    jar: &mut Jar,
    laps: &mut Laps,
    consent_return: &Url,
    token: &Target<'_>,
    a: &AuthParams<'_>,
    subject: &str,
) -> Result<(), FlowError> {
    use Step::*;
    let res = jar.get(http, &target(ConsentReturn, consent_return)?).await?;
    let code = callback_code(cfg, ConsentReturn, &res, &a.state)?;
    laps.lap(ConsentReturn);

    // A DPoP flow's proof is made now, as a client makes it: a new jti, the current iat.
    let proof = a.dpop.map(|key| key.proof("POST", &cfg.token_htu));
    let res = token_request(cfg, http, token, &code, &a.verifier, proof.as_deref()).await?;
    check_tokens(cfg, &res, &a.nonce, subject)?;
    laps.lap(Token);
    Ok(())
}

// ------------------------------------------------------------------------------------
// Node's interaction app.

/// GET /interaction/{uid} with the browser's cookies: 200 and the expected prompt.
async fn interaction(http: &mut Client, jar: &mut Jar, step: Step, url: &Url, prompt: &str) -> Result<(), FlowError> {
    let res = jar.get(http, &target(step, url)?).await?;
    expect_status(step, &res, &[200])?;
    let r: Interaction = json(step, &res)?;
    if r.prompt.as_deref() != Some(prompt) {
        let got = r.prompt.as_deref().unwrap_or("undefined");
        return fail(format!("{step}: prompt is {got}, wanted {prompt}"));
    }
    Ok(())
}

/// An empty POST with the browser's cookies; returns where it redirects.
async fn post(cfg: &Config, http: &mut Client, jar: &mut Jar, step: Step, url: &Url) -> Result<Url, FlowError> {
    let res = jar.send(http, Method::POST, &target(step, url)?, Some(Bytes::new())).await?;
    expect_status(step, &res, REDIRECT)?;
    location(step, &res, &cfg.base)
}

/// A redirect to the interaction app.
fn to_interaction(cfg: &Config, step: Step, res: &Response) -> Result<Url, FlowError> {
    expect_status(step, res, REDIRECT)?;
    let loc = location(step, res, &cfg.base)?;
    if !loc.path().starts_with("/interaction/") {
        return fail(format!("{step}: redirected to {}", short(loc.as_str(), 300)));
    }
    Ok(loc)
}

// ------------------------------------------------------------------------------------
// Shared steps and checks.

/// The authorization request's parameters (PKCE S256, state, nonce) and its query; in a
/// DPoP flow, the client's key too.
struct AuthParams<'k> {
    verifier: String,
    state: String,
    nonce: String,
    query: String,
    dpop: Option<&'k DpopKey>,
}

impl<'k> AuthParams<'k> {
    fn new(cfg: &Config, scope: &str, prompt: Option<&str>, dpop: Option<&'k DpopKey>) -> Self {
        let verifier = random_b64::<32>();
        let state = random_b64::<16>();
        let nonce = random_b64::<16>();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let mut q = form_urlencoded::Serializer::new(String::with_capacity(256));
        q.append_pair("response_type", "code")
            .append_pair("client_id", &cfg.client_id)
            .append_pair("redirect_uri", &cfg.redirect_uri)
            .append_pair("scope", scope)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(p) = prompt {
            q.append_pair("prompt", p);
        }
        AuthParams { verifier, state, nonce, query: q.finish(), dpop }
    }
}

pub fn random_b64<const N: usize>() -> String {
    let mut b = [0u8; N];
    rand::thread_rng().fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A redirect whose Location carries the challenge `name`; returned URI-component encoded.
fn challenge(step: Step, res: &Response, base: &Url, name: &str) -> Result<String, FlowError> {
    expect_status(step, res, REDIRECT)?;
    match param(&location(step, res, base)?, name) {
        Some(c) if !c.is_empty() => Ok(encode_uri_component(&c)),
        _ => fail(format!("{step}: no {name} in {}", short(res.location().unwrap_or(""), 300))),
    }
}

/// A login or consent acceptance: 200 and `redirect_to`.
fn redirect_to(step: Step, res: &Response) -> Result<Url, FlowError> {
    expect_status(step, res, &[200])?;
    let r: Redirect = json(step, res)?;
    match r.redirect_to {
        Some(to) if !to.is_empty() => url(step, &to),
        _ => fail(format!("{step}: no redirect_to: {}", res_text(res))),
    }
}

/// The last redirect, to the client's redirect URI: the code, with the flow's state.
fn callback_code(cfg: &Config, step: Step, res: &Response, state: &str) -> Result<String, FlowError> {
    expect_status(step, res, REDIRECT)?;
    let loc = location(step, res, &cfg.base)?;
    let cb = &cfg.redirect;
    if loc.origin() != cb.origin() || loc.path() != cb.path() {
        let to = short(loc.as_str(), 300);
        return fail(format!("{step}: redirected to {to}, not to the redirect URI"));
    }
    if let Some(error) = param(&loc, "error").filter(|e| !e.is_empty()) {
        let desc = param(&loc, "error_description").unwrap_or_default();
        return fail(format!("{step}: the client got error={error}: {}", short(&desc, 300)));
    }
    if param(&loc, "state").as_deref() != Some(state) {
        return fail(format!("{step}: state mismatch"));
    }
    match param(&loc, "code") {
        Some(code) if !code.is_empty() => Ok(code.into_owned()),
        _ => fail(format!("{step}: no code in {}", short(loc.as_str(), 300))),
    }
}

/// POST to the token endpoint: client_secret_basic, the code and the PKCE verifier, and
/// the DPoP proof when there is one.
async fn token_request(
    cfg: &Config,
    http: &mut Client,
    target: &Target<'_>,
    code: &str,
    verifier: &str,
    dpop: Option<&str>,
) -> Result<Response, FlowError> {
    let body = form_urlencoded::Serializer::new(String::with_capacity(256))
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", &cfg.redirect_uri)
        .append_pair("code_verifier", verifier)
        .finish();
    let headers: [(HeaderName, &str); 4] = [
        (CONTENT_TYPE, "application/x-www-form-urlencoded"),
        (AUTHORIZATION, &cfg.basic),
        (ACCEPT, "application/json"),
        (DPOP, dpop.unwrap_or_default()),
    ];
    let n = if dpop.is_some() { 4 } else { 3 };
    http.request(Method::POST, target, &headers[..n], Some(body.into())).await
}

/// RFC 9449 §4.1's request header.
const DPOP: HeaderName = HeaderName::from_static("dpop");

/// 200 with an access, a refresh and an ID token whose nonce, audience and subject
/// are the flow's (the ID token is decoded, not verified); in a DPoP flow, token_type
/// DPoP (RFC 9449 §5.1, compared case-insensitively as RFC 6749 §5.1 has it).
fn check_tokens(cfg: &Config, res: &Response, nonce: &str, subject: &str) -> Result<(), FlowError> {
    let step = Step::Token;
    expect_status(step, res, &[200])?;
    let t: Tokens = json(step, res)?;
    for (name, token) in
        [("access_token", &t.access_token), ("refresh_token", &t.refresh_token), ("id_token", &t.id_token)]
    {
        if token.as_deref().is_none_or(str::is_empty) {
            return fail(format!("{step}: the response has no {name}: {}", res_text(res)));
        }
    }
    if cfg.kind == Kind::Dpop && !t.token_type.as_deref().is_some_and(|tt| tt.eq_ignore_ascii_case("DPoP")) {
        let got = t.token_type.as_deref().unwrap_or("none");
        return fail(format!("{step}: token_type is {}, wanted DPoP", short(got, 100)));
    }
    let id_token = t.id_token.unwrap_or_default();
    let Some((claims, payload)) = id_token_claims(&id_token) else {
        return fail(format!("{step}: the ID token is not a JWT: {}", short(&id_token, 300)));
    };
    let aud_ok = match &claims.aud {
        Some(serde_json::Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(&cfg.client_id)),
        Some(serde_json::Value::String(s)) => *s == cfg.client_id,
        _ => false,
    };
    if claims.nonce.as_deref() != Some(nonce) || !aud_ok || claims.sub.as_deref() != Some(subject) {
        let payload = String::from_utf8_lossy(&payload);
        return fail(format!("{step}: ID token claims do not match the flow: {}", short(&payload, 300)));
    }
    Ok(())
}

/// The ID token's payload, base64url-decoded (padding optional, as Node's decoder) and parsed.
fn id_token_claims(jwt: &str) -> Option<(Claims, Vec<u8>)> {
    const B64URL: GeneralPurpose = GeneralPurpose::new(
        &alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let payload = B64URL.decode(jwt.split('.').nth(1)?).ok()?;
    let claims = serde_json::from_slice(&payload).ok()?;
    Some((claims, payload))
}

// The parts of the JSON answers the checks read (serde skips the rest).

#[derive(Deserialize)]
struct LoginRequest {
    skip: Option<bool>,
    client: Option<ClientRef>,
}

#[derive(Deserialize)]
struct ClientRef {
    client_id: Option<String>,
}

#[derive(Deserialize)]
struct ConsentRequest {
    skip: Option<bool>,
    subject: Option<String>,
}

#[derive(Deserialize)]
struct Redirect {
    redirect_to: Option<String>,
}

#[derive(Deserialize)]
struct Interaction {
    prompt: Option<String>,
}

#[derive(Deserialize)]
struct Pushed {
    request_uri: Option<String>,
    expires_in: Option<f64>,
}

#[derive(Deserialize)]
struct Tokens {
    token_type: Option<String>,
    access_token: Option<String>,
    refresh_token: Option<String>,
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    nonce: Option<String>,
    aud: Option<serde_json::Value>,
    sub: Option<String>,
}

// ------------------------------------------------------------------------------------
// Helpers.

fn fail<T>(msg: String) -> Result<T, FlowError> {
    Err(FlowError(msg))
}

fn url(step: Step, s: &str) -> Result<Url, FlowError> {
    Url::parse(s).map_err(|e| FlowError(format!("{step}: bad URL {}: {e}", short(s, 300))))
}

/// Where a request to a URL from the server goes.
fn target(step: Step, u: &Url) -> Result<Target<'_>, FlowError> {
    Target::of(u).map_err(|e| FlowError(format!("{step}: {e}")))
}

fn expect_status(step: Step, res: &Response, wanted: &[u16]) -> Result<(), FlowError> {
    if wanted.contains(&res.status) {
        return Ok(());
    }
    let wanted: Vec<String> = wanted.iter().map(u16::to_string).collect();
    let detail = if res.body.is_empty() { res.location().unwrap_or("").into() } else { res.text() };
    let (status, wanted, detail) = (res.status, wanted.join("/"), short(&detail, 300));
    fail(format!("{step}: HTTP {status} (wanted {wanted}): {detail}"))
}

/// The Location header resolved against `base`.
fn location(step: Step, res: &Response, base: &Url) -> Result<Url, FlowError> {
    let Some(loc) = res.location() else {
        return fail(format!("{step}: HTTP {} without Location", res.status));
    };
    base.join(loc).map_err(|e| FlowError(format!("{step}: bad Location {}: {e}", short(loc, 300))))
}

/// The answer's JSON body, as much of it as `T` reads.
fn json<T: DeserializeOwned>(step: Step, res: &Response) -> Result<T, FlowError> {
    serde_json::from_slice(&res.body).map_err(|e| {
        let what = if e.is_data() { "unexpected JSON" } else { "not JSON" };
        FlowError(format!("{step}: {what}: {}", res_text(res)))
    })
}

fn res_text(res: &Response) -> String {
    short(&res.text(), 300)
}

/// The first value of a query parameter (URLSearchParams.get).
fn param<'a>(u: &'a Url, name: &str) -> Option<std::borrow::Cow<'a, str>> {
    u.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// JavaScript's encodeURIComponent: everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ) is
/// percent-encoded (as UTF-8).
pub fn encode_uri_component(s: &str) -> String {
    const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'!')
        .remove(b'~')
        .remove(b'*')
        .remove(b'\'')
        .remove(b'(')
        .remove(b')');
    utf8_percent_encode(s, URI_COMPONENT).to_string()
}

/// Whitespace runs collapsed to one space, cut to `n` characters with "…".
pub fn short(s: &str, n: usize) -> String {
    let mut out = String::with_capacity(s.len().min(n + 4));
    let mut count = 0;
    let mut in_space = false;
    for c in s.chars() {
        let c = if c.is_whitespace() {
            if in_space {
                continue;
            }
            in_space = true;
            ' '
        } else {
            in_space = false;
            c
        };
        if count == n {
            out.push('…');
            break;
        }
        out.push(c);
        count += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_component() {
        assert_eq!(encode_uri_component("foo@bar.com"), "foo%40bar.com");
        assert_eq!(encode_uri_component("a b/c~*'()!"), "a%20b%2Fc~*'()!");
        assert_eq!(encode_uri_component("é"), "%C3%A9");
    }

    #[test]
    fn shortening() {
        assert_eq!(short("a \n\t b", 10), "a b");
        assert_eq!(short("abcdef", 3), "abc…");
        assert_eq!(short("abc", 3), "abc");
    }

    fn config(kind: Kind) -> Config {
        let base = Url::parse("http://127.0.0.1:4444").unwrap();
        Config {
            server: Server::Node { url: Origin::new(&base).unwrap() },
            kind,
            token_htu: "http://127.0.0.1:4444/token".into(),
            base,
            client_id: "flow".into(),
            redirect_uri: "http://127.0.0.1:9/cb".into(),
            redirect: Url::parse("http://127.0.0.1:9/cb").unwrap(),
            basic: Config::basic_auth("flow", "flow-secret"),
            subject: "s".into(),
            subjects: 1,
            trace: false,
            counter: AtomicU64::new(0),
        }
    }

    fn token_response(token_type: &str) -> Response {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"nonce":"n","aud":"flow","sub":"s"}"#);
        let body = serde_json::json!({"token_type": token_type, "access_token": "a", "refresh_token": "r",
            "id_token": format!("h.{payload}.sig")});
        Response { status: 200, headers: Default::default(), body: body.to_string().into() }
    }

    #[test]
    fn dpop_flows_want_tokens_of_type_dpop() {
        for tt in ["DPoP", "dpop", "DPOP"] {
            assert!(check_tokens(&config(Kind::Dpop), &token_response(tt), "n", "s").is_ok(), "{tt}");
        }
        let e = check_tokens(&config(Kind::Dpop), &token_response("Bearer"), "n", "s").unwrap_err();
        assert_eq!(e.0, "token: token_type is Bearer, wanted DPoP");
        // The other kinds do not look at it.
        assert!(check_tokens(&config(Kind::Plain), &token_response("Bearer"), "n", "s").is_ok());
        assert!(check_tokens(&config(Kind::Par), &token_response("bearer"), "n", "s").is_ok());
    }

    #[test]
    fn id_token_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"nonce":"n","aud":["flow"],"sub":"s"}"#);
        let (c, _) = id_token_claims(&format!("h.{payload}.sig")).unwrap();
        assert_eq!(c.nonce.as_deref(), Some("n"));
        assert!(id_token_claims("nodots").is_none());
    }
}
