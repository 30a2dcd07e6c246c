//! `latch token user` (Hydra v1) and `latch perform authorization-code` (Hydra v2): an
//! example OAuth 2.0 client that runs the authorization code flow with PKCE through your
//! browser and prints the tokens it gets.
//!
//! The command serves these pages on `http://127.0.0.1:<port>/`:
//! * `/` links to the authorization endpoint with a fresh `state`, `nonce` and PKCE
//!   challenge ([`flow::Attempt`]);
//! * `/callback` (or the path of `--redirect`) is where the browser comes back: it reports
//!   an error response (RFC 6749 §4.1.2.1), checks `state` (§10.12), exchanges the code at the
//!   token endpoint with the PKCE verifier (RFC 7636 §4.5), decodes the ID token and checks
//!   its `nonce` (OpenID Connect Core §3.1.3.7), then shows and prints the tokens;
//! * `/login` and `/consent` are the example app's pages ([`crate::example`], user
//!   `foo@bar.com` / `foobar`), for `urls.login` and `urls.consent`, when the admin API is
//!   known (`--admin-endpoint`, else the example app's variables): they ask even for a
//!   remembered login or consent, and accept it at once with `--skip` (as Hydra's). Without
//!   an admin API they answer 503.
//!
//! The first callback ends the command: exit status 0 when tokens were received, 1 otherwise.
//! With `--no-shutdown` it keeps serving and starts a new attempt after every callback.
//!
//! The protocol steps are pure functions in [`flow`]; the HTML is in [`pages`]; what is
//! printed is rendered by [`crate::output`].

mod flow;
mod pages;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Form, Router};
use clap::Args;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use url::Url;

use crate::args::ConnectionArgs;
use crate::endpoint::{self, ApiKind, Env};
use crate::error::{CliError, Result};
use crate::example::{self, AdminApi, Csrf, Remembered};
use crate::http::Api;
use crate::output::{self, Mode};
use crate::token_cmds::{now_unix, request_token_at, ClientAuthArgs, ClientCredentials};
use flow::{Attempt, AuthRequest, CallbackError};

/// Flags of `latch token user` (Hydra v1); `perform authorization-code` adds `--format`.
#[derive(Debug, Clone, Args)]
pub struct AuthCodeArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// Client ID and secret. Without a secret the client is public: it authenticates with
    /// method `none`, sending only `client_id` in the token request.
    #[command(flatten)]
    pub auth: ClientAuthArgs,

    /// Port of the local server (home page, callback, login and consent pages) on 127.0.0.1;
    /// 0 picks a free one.
    #[arg(short = 'p', long, default_value_t = 4446)]
    pub port: u16,

    /// Address the local server listens on. Inside a container whose port is published
    /// (the quickstart's `latch` service), 0.0.0.0; the URLs it prints still say 127.0.0.1.
    #[arg(long, env = "LATCH_CALLBACK_BIND", default_value = "127.0.0.1", value_name = "ADDRESS")]
    pub bind: String,

    /// Scopes to request (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', default_value = "offline,openid")]
    pub scope: Vec<String>,

    /// Access token audiences to request (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub audience: Vec<String>,

    /// OpenID Connect prompt values, e.g. login, consent, none (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub prompt: Vec<String>,

    /// OpenID Connect max_age in seconds; a negative value (Hydra's -1) sends none.
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS")]
    pub max_age: Option<i64>,

    /// Redirect URI to send [default: http://127.0.0.1:<port>/callback]; its path is served
    /// as the callback.
    #[arg(long, value_name = "URL")]
    pub redirect: Option<String>,

    /// Authorization endpoint [default: <endpoint>/oauth2/auth].
    #[arg(long, value_name = "URL")]
    pub auth_url: Option<String>,

    /// Token endpoint [default: <endpoint>/oauth2/token].
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,

    /// Accepted for compatibility with Hydra; latch never opens a browser itself.
    #[arg(long)]
    pub no_open: bool,

    /// Keep serving after a callback, with a new state, nonce and PKCE pair each time.
    #[arg(long)]
    pub no_shutdown: bool,

    /// Send this state instead of a random one.
    #[arg(long)]
    pub state: Option<String>,

    /// Not supported (Hydra serves the callback over HTTPS with a self-signed certificate).
    #[arg(long)]
    pub https: bool,

    /// The response mode to ask for: `query` (the server's default) or `form_post` (the
    /// code comes back in a form POSTed to the callback, OAuth 2.0 Form Post Response
    /// Mode).
    #[arg(long, value_name = "MODE")]
    pub response_mode: Option<String>,

    /// Skip login and/or consent steps if possible: the built-in /login and /consent pages
    /// accept a remembered login or consent at once. Only effective if urls.login and
    /// urls.consent point to those pages; needs the admin API (--admin-endpoint).
    #[arg(long)]
    pub skip: bool,

    /// The admin API the built-in login and consent pages call [default: $LATCH_ADMIN_URL
    /// or $HYDRA_ADMIN_URL]; without one they answer 503.
    #[arg(long, value_name = "URL")]
    pub admin_endpoint: Option<String>,
}

/// Where the command writes.
pub struct Console<'a> {
    /// The result: the tokens (stdout).
    pub out: &'a mut (dyn Write + Send),
    /// Progress and warnings: stdout in the default format, stderr when the result must stay
    /// machine-readable (`--format json`, `-q`).
    pub info: &'a mut (dyn Write + Send),
}

/// Everything the running flow needs, resolved from the flags.
#[derive(Debug)]
struct FlowConfig {
    /// Client authentication at the token endpoint.
    creds: ClientCredentials,
    /// The non-secret authorization request parameters.
    request: AuthRequest,
    auth_url: Url,
    token_url: Url,
    /// `http://127.0.0.1:<port>/`.
    home: String,
    /// Path of the callback route.
    callback_path: String,
    /// `--state`.
    fixed_state: Option<String>,
    /// `--no-shutdown`.
    no_shutdown: bool,
    /// The admin API of the login and consent pages, when known.
    login_consent: Option<AdminApi>,
    /// `--skip`: the pages accept remembered requests at once.
    skip: bool,
}

/// Runs the flow: `perform authorization-code` with its `--format`, `token user` in the
/// default mode (Hydra's terminal layout).
pub async fn run(args: AuthCodeArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    check_flags(&args, env)?;
    let listener = TcpListener::bind((args.bind.as_str(), args.port))
        .await
        .map_err(|e| CliError::Io(format!("cannot listen on {}:{}: {e}", args.bind, args.port)))?;
    let port = local_port(&listener)?;
    let (cfg, api) = configure(&args, env, port)?;
    let (mut stdout, mut info_stdout, mut info_stderr) = (std::io::stdout(), std::io::stdout(), std::io::stderr());
    let info: &mut (dyn Write + Send) = if mode == Mode::default() { &mut info_stdout } else { &mut info_stderr };
    serve(listener, cfg, api, mode, Console { out: &mut stdout, info }).await
}

/// Refuses what this implementation does not do, before anything is bound.
fn check_flags(args: &AuthCodeArgs, env: Env<'_>) -> Result<()> {
    if args.https {
        return Err(CliError::Usage(
            "--https is not supported: the callback server speaks plain HTTP on the loopback interface \
             (which RFC 8252 §8.3 allows); register http://127.0.0.1:<port>/callback as a redirect URI"
                .into(),
        ));
    }
    if let Some(m) = args.response_mode.as_deref().filter(|m| !matches!(*m, "" | "query" | "form_post")) {
        return Err(CliError::Usage(format!(
            "--response-mode: '{m}' is not supported: use query or form_post (a fragment never reaches the callback server)"
        )));
    }
    args.auth.credentials_or_public()?;
    // The path does not depend on the port.
    redirect_and_callback_path(args, args.port)?;
    if args.skip && admin_endpoint(args, env)?.is_none() {
        return Err(CliError::Usage(format!(
            "--skip needs the admin API that the built-in login and consent pages call: pass --admin-endpoint \
             (for example --admin-endpoint http://127.0.0.1:4445/) or set one of {}",
            ADMIN_URL_ENV.join(", ")
        )));
    }
    Ok(())
}

/// Where the admin API of the built-in pages comes from when `--admin-endpoint` is
/// absent: the example app's variables but `ORY_SDK_URL`, which this command reads as
/// the public API.
const ADMIN_URL_ENV: [&str; 2] = ["LATCH_ADMIN_URL", "HYDRA_ADMIN_URL"];

/// The paths of the built-in login and consent pages.
const LOGIN_CONSENT_PATHS: [&str; 2] = ["/login", "/consent"];

/// The redirect URI to send (`--redirect` exactly as typed, else the default on `port`) and
/// the path of the callback route.
fn redirect_and_callback_path(args: &AuthCodeArgs, port: u16) -> Result<(String, String)> {
    // The redirect URI is sent exactly as typed: the server compares it as a string with the
    // registered one (RFC 6749 §3.1.2.3), and parsing would normalise it.
    let redirect_uri = args.redirect.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let redirect_uri = redirect_uri.map_or_else(|| format!("http://127.0.0.1:{port}/callback"), str::to_owned);
    let parsed = Url::parse(&redirect_uri)
        .map_err(|e| CliError::Usage(format!("--redirect: {redirect_uri:?} is not a valid URL: {e}")))?;
    let callback_path = match parsed.path() {
        "" | "/" => "/callback".to_owned(),
        path => path.to_owned(),
    };
    // The path becomes a route: keep to characters that cannot be route syntax.
    let routable = |c: char| c.is_ascii_alphanumeric() || "-._~/%".contains(c);
    if !callback_path.chars().all(routable) {
        return Err(CliError::Usage(format!("--redirect: cannot serve the path {callback_path:?} as the callback")));
    }
    if LOGIN_CONSENT_PATHS.contains(&callback_path.as_str()) {
        return Err(CliError::Usage(format!(
            "--redirect: the path {callback_path} is this server's {} page: use another callback path, \
             such as /callback",
            callback_path.trim_start_matches('/')
        )));
    }
    Ok((redirect_uri, callback_path))
}

/// The admin API of the login and consent pages: `--admin-endpoint`, else the first of the
/// example app's variables that is set; `None` when neither is.
fn admin_endpoint(args: &AuthCodeArgs, env: Env<'_>) -> Result<Option<Url>> {
    if let Some(raw) = args.admin_endpoint.as_deref().filter(|s| !s.trim().is_empty()) {
        return endpoint::parse_endpoint(raw, "--admin-endpoint").map(Some);
    }
    for var in ADMIN_URL_ENV {
        if let Some(raw) = env(var).filter(|s| !s.trim().is_empty()) {
            return endpoint::parse_endpoint(&raw, &format!("${var}")).map(Some);
        }
    }
    Ok(None)
}

fn local_port(listener: &TcpListener) -> Result<u16> {
    listener.local_addr().map(|a| a.port()).map_err(|e| CliError::Io(format!("cannot read the local address: {e}")))
}

/// Resolves the flags into the flow's configuration and the HTTP client for the token
/// endpoint. `port` is the port actually bound (it differs from `--port` for `--port 0`).
fn configure(args: &AuthCodeArgs, env: Env<'_>, port: u16) -> Result<(FlowConfig, Api)> {
    check_flags(args, env)?;
    let creds = args.auth.credentials_or_public()?;
    // The endpoint is only needed for the URLs not given explicitly.
    let endpoint_url = |segments: &[&str]| -> Result<Url> {
        let base = endpoint::resolve_endpoint(args.conn.endpoint.as_deref(), ApiKind::Public, env)?;
        endpoint::join(&base, segments)
    };
    let auth_url = match &args.auth_url {
        Some(raw) => endpoint::parse_endpoint(raw, "--auth-url")?,
        None => endpoint_url(&["oauth2", "auth"])?,
    };
    let token_url = match &args.token_url {
        Some(raw) => endpoint::parse_endpoint(raw, "--token-url")?,
        None => endpoint_url(&["oauth2", "token"])?,
    };
    let home = format!("http://127.0.0.1:{port}/");
    let (redirect_uri, callback_path) = redirect_and_callback_path(args, port)?;
    let request = AuthRequest {
        client_id: creds.id().to_owned(),
        redirect_uri,
        scopes: args.scope.clone(),
        audience: args.audience.clone(),
        prompt: args.prompt.clone(),
        max_age: args.max_age.and_then(|s| u64::try_from(s).ok()),
        response_mode: args.response_mode.clone().filter(|m| !m.is_empty()),
    };
    let api = Api::connect_to(&args.conn, ApiKind::Public, token_url.clone())?;
    // The pages reach the admin API with the same TLS setting, headers and admin token.
    let login_consent = match admin_endpoint(args, env)? {
        Some(base) => Some(AdminApi::new(Api::connect_to(&args.conn, ApiKind::Admin, base)?)),
        None => None,
    };
    let cfg = FlowConfig {
        creds,
        request,
        auth_url,
        token_url,
        home,
        callback_path,
        fixed_state: args.state.clone().filter(|s| !s.is_empty()),
        no_shutdown: args.no_shutdown,
        login_consent,
        skip: args.skip,
    };
    Ok((cfg, api))
}

/// How one callback ended, sent from the handler to the command's main loop.
#[derive(Debug)]
enum Outcome {
    /// Tokens received: the raw token response, when, and a warning (nonce, decoding).
    Tokens { raw: String, now: i64, warning: Option<String> },
    /// The flow failed; the message is printed (and is the command's error).
    Failed(String),
}

/// State shared by the handlers.
struct Shared {
    cfg: FlowConfig,
    api: Api,
    /// The current attempt; replaced after each callback with `--no-shutdown`.
    attempt: Mutex<Attempt>,
    outcomes: mpsc::UnboundedSender<Outcome>,
}

impl Shared {
    fn current(&self) -> Attempt {
        self.attempt.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    fn renew(&self) {
        *self.attempt.lock().unwrap_or_else(PoisonError::into_inner) = Attempt::new(self.cfg.fixed_state.as_deref());
    }
}

/// Serves the home page, the callback and the login and consent pages until the first
/// callback (or, with `--no-shutdown`, until Ctrl+C), printing to `console`.
async fn serve(listener: TcpListener, mut cfg: FlowConfig, api: Api, mode: Mode, console: Console<'_>) -> Result<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let home = cfg.home.clone();
    let no_shutdown = cfg.no_shutdown;
    let callback_url = format!("{}{}", home.trim_end_matches('/'), cfg.callback_path);
    let (pages, pages_line) = match cfg.login_consent.take() {
        Some(admin) => {
            let remembered = if cfg.skip { Remembered::Accept } else { Remembered::Ask };
            let line = format!(
                "Login and consent pages: {home}login and /consent (set urls.login and urls.consent to them)\n"
            );
            (example::login_and_consent(admin, Csrf::random(), remembered), line)
        }
        None => {
            let pages = LOGIN_CONSENT_PATHS.iter().fold(Router::new(), |r, path| r.route(path, any(no_admin_api)));
            (pages, String::new())
        }
    };
    let shared =
        Arc::new(Shared { attempt: Mutex::new(Attempt::new(cfg.fixed_state.as_deref())), cfg, api, outcomes: tx });
    // `check_flags` keeps the callback off the pages' paths (overlapping routes panic).
    let router = Router::new()
        .route("/", get(home_page))
        .route(&shared.cfg.callback_path, get(callback).post(callback_form))
        .with_state(Arc::clone(&shared))
        .merge(pages);

    say(
        console.info,
        &format!(
            "Setting up home route on {home}\nSetting up callback listener on {callback_url}\n{pages_line}\
             Press ctrl + c to end the process.\nOpen this address in your browser to start:\n\n\t{home}\n\n"
        ),
    );

    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });

    let result = loop {
        tokio::select! {
            outcome = rx.recv() => match outcome {
                Some(Outcome::Tokens { raw, now, warning }) => {
                    if let Some(w) = warning {
                        say(console.info, &format!("Warning: {w}\n"));
                    }
                    let printed = output::render_authorization_code(mode, &raw, now).and_then(|t| write(console.out, &t));
                    if printed.is_err() || !no_shutdown {
                        break printed;
                    }
                }
                Some(Outcome::Failed(message)) if no_shutdown => say(console.info, &format!("Error: {message}\n")),
                Some(Outcome::Failed(message)) => break Err(CliError::Flow(message)),
                None => break Err(CliError::Flow("the callback server stopped".into())),
            },
            Ok(()) = tokio::signal::ctrl_c() => {
                break if no_shutdown { Ok(()) } else { Err(CliError::Flow("interrupted before the flow completed".into())) };
            }
        }
    };
    // Graceful shutdown lets the last page reach the browser; do not wait for ever on a
    // connection the browser keeps open.
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    result
}

/// Writes progress text; failing to do so is not worth failing the flow.
fn say(w: &mut (dyn Write + Send), text: &str) {
    let _ = w.write_all(text.as_bytes()).and_then(|()| w.flush());
}

/// Writes the result; a closed pipe is not an error (as in [`output::emit`]).
fn write(w: &mut (dyn Write + Send), text: &str) -> Result<()> {
    match w.write_all(text.as_bytes()).and_then(|()| w.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(CliError::Io(format!("cannot write: {e}"))),
        _ => Ok(()),
    }
}

const NO_STORE: [(header::HeaderName, &str); 1] = [(header::CACHE_CONTROL, "no-store")];

/// `/login` and `/consent` when no admin API is known: what to pass.
async fn no_admin_api() -> Response {
    let how = format!(
        "Restart latch perform authorization-code with --admin-endpoint (for example --admin-endpoint \
         http://127.0.0.1:4445/), or set one of {}.",
        ADMIN_URL_ENV.join(", ")
    );
    let page = pages::error(
        "The login and consent pages need the admin API",
        &[("Why", "This server knows no admin API to read and accept login and consent requests with."), ("Fix", &how)],
        None,
    );
    (StatusCode::SERVICE_UNAVAILABLE, NO_STORE, Html(page)).into_response()
}

/// `GET /`: the page with the authorization link of the current attempt.
async fn home_page(State(s): State<Arc<Shared>>) -> Response {
    let url = flow::build_auth_url(&s.cfg.auth_url, &s.cfg.request, &s.current());
    let req = &s.cfg.request;
    (NO_STORE, Html(pages::home(url.as_str(), &req.client_id, &req.redirect_uri, &req.scopes.join(" "))))
        .into_response()
}

/// A failed callback: the page, its status, and the message for the terminal.
struct Failure {
    status: StatusCode,
    page: String,
    message: String,
}

/// `POST /callback` (`--response-mode form_post`): the same, with the parameters in the
/// form body.
async fn callback_form(State(s): State<Arc<Shared>>, Form(form): Form<HashMap<String, String>>) -> Response {
    callback(State(s), Query(form)).await
}

/// `GET /callback`: finishes the attempt and reports its outcome to the main loop.
async fn callback(State(s): State<Arc<Shared>>, Query(query): Query<HashMap<String, String>>) -> Response {
    let attempt = s.current();
    let (status, page, outcome) = match complete(&s, &attempt, &query).await {
        Ok((page, outcome)) => (StatusCode::OK, page, outcome),
        Err(f) => (f.status, f.page, Outcome::Failed(f.message)),
    };
    if s.cfg.no_shutdown {
        s.renew();
    }
    // The main loop may already be gone (a second callback during shutdown): nothing to do.
    let _ = s.outcomes.send(outcome);
    (status, NO_STORE, Html(page)).into_response()
}

/// The callback's steps: error response, state, code exchange, ID token.
async fn complete(
    s: &Shared,
    attempt: &Attempt,
    query: &HashMap<String, String>,
) -> Result<(String, Outcome), Failure> {
    let back = s.cfg.no_shutdown.then_some(s.cfg.home.as_str());
    let fail = |status, title: &str, details: &[(&str, &str)], message: String| Failure {
        status,
        page: pages::error(title, details, back),
        message,
    };

    // RFC 6749 §4.1.2.1: the authorization server redirected back with an error.
    if let Some(e) = CallbackError::from_query(query) {
        let details = [("Description", e.description.as_str()), ("Hint", &e.hint), ("Debug", &e.debug)];
        let message = format!("the authorization server answered with an error: {}", e.summary());
        return Err(fail(StatusCode::BAD_REQUEST, &e.error, &details, message));
    }

    // RFC 6749 §10.12: the state must be the one this attempt sent.
    let got = query.get("state").map(String::as_str).unwrap_or_default();
    if got != attempt.state {
        let message = format!("states do not match: expected {:?}, got {got:?}", attempt.state);
        let details = [("Expected state", attempt.state.as_str()), ("Received state", got)];
        return Err(fail(StatusCode::BAD_REQUEST, "States do not match", &details, message));
    }

    let Some(code) = query.get("code").filter(|c| !c.is_empty()) else {
        let message = "the callback carries neither a code nor an error".to_owned();
        return Err(fail(StatusCode::BAD_REQUEST, "No authorization code", &[], message));
    };

    // RFC 6749 §4.1.3 with the PKCE verifier (RFC 7636 §4.5).
    let params = flow::token_request_params(code, &s.cfg.request.redirect_uri, &attempt.verifier);
    let raw = match request_token_at(&s.api, s.cfg.token_url.clone(), &s.cfg.creds, params).await {
        Ok(raw) => raw,
        Err(e) => {
            let message = format!("unable to exchange the code for tokens: {e}");
            let details = [("Error", e.to_string())];
            let details: Vec<(&str, &str)> = details.iter().map(|(k, v)| (*k, v.as_str())).collect();
            return Err(fail(StatusCode::BAD_GATEWAY, "Unable to exchange the code for tokens", &details, message));
        }
    };
    // `request_token_at` already checked that this is JSON with an access token.
    let token: Value = serde_json::from_str(&raw).unwrap_or_default();
    let text = |key: &str| token.get(key).and_then(Value::as_str).unwrap_or_default();
    let now = now_unix();

    // The ID token is decoded to be shown, not verified; its nonce is checked
    // (OpenID Connect Core §3.1.3.7, step 11).
    let id_token = text("id_token");
    let (decoded, warning) = if id_token.is_empty() {
        (None, None)
    } else {
        match flow::decode_jwt_claims(id_token) {
            Ok(jwt) => {
                let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_default();
                let warning = flow::check_nonce(&jwt.claims, &attempt.nonce).err();
                (Some(Ok((pretty(&jwt.header), pretty(&jwt.claims)))), warning)
            }
            Err(why) => (Some(Err(why.clone())), Some(format!("the ID token could not be decoded: {why}"))),
        }
    };
    let expires = output::token_expiry_rfc3339(&token, now);
    let page = pages::tokens(&pages::TokenView {
        access_token: text("access_token"),
        refresh_token: text("refresh_token"),
        id_token,
        expires: &expires,
        // A decoding failure is shown in place of the claims; only a nonce problem goes on top.
        warning: if matches!(decoded, Some(Err(_))) { None } else { warning.clone() },
        id_token_decoded: decoded,
        back,
    });
    Ok((page, Outcome::Tokens { raw, now, warning }))
}
