//! `latch example login-consent`: an example login & consent app, the counterpart of ORY's
//! hydra-login-consent-node, and a starting point for your own.
//!
//! Latch never shows a login or consent screen itself. When an application sends a user to
//! `/oauth2/auth`, Latch redirects the browser to the app configured as `urls.login`, with a
//! `login_challenge`. The app:
//!
//! 1. fetches the login request from Latch's admin API, authenticates the user its own way
//!    and accepts (or rejects) the request; Latch answers with a `redirect_to` URL and the app
//!    sends the browser there ([`login`]);
//! 2. is then called at `urls.consent` with a `consent_challenge`: it asks the user which
//!    scopes to grant and accepts or rejects the same way ([`consent`]);
//! 3. is called at `urls.logout` with a `logout_challenge` when a user logs out, to confirm
//!    it ([`logout`]);
//! 4. is called at `urls.device.verification` with a `device_challenge` when a user signs a
//!    device in (RFC 8628): it asks for the code the device shows and sends it to Latch,
//!    which goes on with the login and consent above ([`device`]); `urls.device.success`
//!    can be its `/device/done`.
//!
//! The app only ever talks to the admin API ([`admin`]); it stores nothing. Its forms are
//! protected against CSRF ([`csrf`]); its HTML is in [`pages`].
//!
//! To try it:
//!
//! ```text
//! URLS_LOGIN=http://127.0.0.1:3000/login URLS_CONSENT=http://127.0.0.1:3000/consent \
//! URLS_LOGOUT=http://127.0.0.1:3000/logout latch serve all --dev --dsn memory
//! latch example login-consent --endpoint http://127.0.0.1:4445/
//! latch perform authorization-code --endpoint http://127.0.0.1:4444/ --client-id ... --client-secret ...
//! ```
//!
//! The demo knows a single user, `foo@bar.com` / `foobar` ([`login::DEMO_EMAIL`]).

mod admin;
mod consent;
mod csrf;
mod device;
mod login;
mod logout;
mod pages;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clap::{Args, Subcommand};
use tokio::net::TcpListener;

use crate::args::ConnectionArgs;
use crate::endpoint::{self, ApiKind, Env};
use crate::error::{CliError, Result};
use crate::http::Api;
use crate::output::emit;

pub use admin::AdminApi;
pub use csrf::Csrf;

/// What the login and consent pages do when Latch says the user needs not be asked: a
/// remembered login or consent (`skip: true`), or a client marked `skip_consent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remembered {
    /// Accept at once, without a page (`latch example login-consent`, as
    /// hydra-login-consent-node; `perform authorization-code --skip`).
    Accept,
    /// Show the login or consent form anyway (`perform authorization-code` without `--skip`,
    /// as Hydra's): submitting it accepts as usual (a remembered login with the same user).
    Ask,
}

/// `latch example ...`
#[derive(Debug, Subcommand)]
pub enum ExampleCmd {
    /// Run the example login & consent app (the counterpart of hydra-login-consent-node).
    LoginConsent(LoginConsentArgs),
}

/// Where the admin API URL comes from when `--endpoint` is absent, in this order
/// (hydra-login-consent-node reads `HYDRA_ADMIN_URL`).
pub const ADMIN_URL_ENV: [&str; 3] = ["LATCH_ADMIN_URL", "HYDRA_ADMIN_URL", "ORY_SDK_URL"];

/// Flags of `latch example login-consent`.
#[derive(Debug, Clone, Args)]
pub struct LoginConsentArgs {
    /// Port to listen on.
    #[arg(long, default_value_t = 3000)]
    pub port: u16,

    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// URL of Latch's admin API; defaults to $LATCH_ADMIN_URL, $HYDRA_ADMIN_URL or $ORY_SDK_URL.
    #[arg(short = 'e', long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Bearer token for the admin API (for an admin API behind a gateway).
    #[arg(long, env = "LATCH_ADMIN_TOKEN", hide_env_values = true, value_name = "TOKEN", alias = "access-token")]
    pub admin_token: Option<String>,

    /// Do not verify the admin API's TLS certificate.
    #[arg(long)]
    pub skip_tls_verify: bool,

    /// Extra HTTP header "Name: value" sent with every admin API request; repeatable.
    #[arg(short = 'H', long = "http-header", value_name = "NAME: VALUE")]
    pub http_headers: Vec<String>,
}

impl LoginConsentArgs {
    /// The app on 127.0.0.1:`port`, talking to a local admin API on `admin_port`.
    pub fn local(port: u16, admin_port: u16) -> LoginConsentArgs {
        LoginConsentArgs {
            port,
            host: "127.0.0.1".into(),
            endpoint: Some(format!("http://127.0.0.1:{admin_port}")),
            admin_token: None,
            skip_tls_verify: false,
            http_headers: Vec::new(),
        }
    }
}

/// Runs `latch example ...`.
pub async fn run(cmd: ExampleCmd, env: Env<'_>) -> Result<()> {
    let ExampleCmd::LoginConsent(args) = cmd;
    let base = endpoint::resolve_endpoint_from(args.endpoint.as_deref(), &ADMIN_URL_ENV, "admin", 4445, env)?;
    let conn = ConnectionArgs {
        endpoint: None,
        skip_tls_verify: args.skip_tls_verify,
        http_headers: args.http_headers.clone(),
        admin_token: args.admin_token.clone(),
    };
    let admin = AdminApi::new(Api::connect_to(&conn, ApiKind::Admin, base)?);

    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| CliError::Io(format!("cannot listen on {}:{}: {e}", args.host, args.port)))?;
    let addr = listener.local_addr().map_err(|e| CliError::Io(format!("cannot read the local address: {e}")))?;
    emit(&format!(
        "Login & consent app listening on http://{addr} (login: {} / {})\n",
        login::DEMO_EMAIL,
        login::DEMO_PASSWORD
    ))?;
    axum::serve(listener, app(admin, Csrf::random(), Remembered::Accept))
        // Ctrl-C, and SIGTERM from `docker compose down` (the app is the consent service).
        .with_graceful_shutdown(latch_native::shutdown_signal())
        .await
        .map_err(|e| CliError::Io(format!("the login & consent app stopped: {e}")))
}

/// What every handler gets: the admin API client, the CSRF key, and what to do with a
/// remembered request.
#[derive(Clone)]
pub struct App {
    admin: Arc<AdminApi>,
    csrf: Arc<Csrf>,
    remembered: Remembered,
}

impl App {
    fn new(admin: AdminApi, csrf: Csrf, remembered: Remembered) -> Self {
        App { admin: Arc::new(admin), csrf: Arc::new(csrf), remembered }
    }
}

/// `/login` and `/consent`.
fn login_and_consent_routes() -> Router<App> {
    Router::new()
        .route("/login", get(login::show).post(login::submit))
        .route("/consent", get(consent::show).post(consent::submit))
}

/// The app's routes.
pub fn app(admin: AdminApi, csrf: Csrf, remembered: Remembered) -> Router {
    login_and_consent_routes()
        .route("/", get(index))
        .route("/logout", get(logout::show).post(logout::submit))
        .route("/device", get(device::show).post(device::submit))
        .route("/device/done", get(device::done))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(App::new(admin, csrf, remembered))
}

/// Only the login and consent pages, with the same CSRF protection and headers: what
/// `perform authorization-code` serves next to its callback.
pub fn login_and_consent(admin: AdminApi, csrf: Csrf, remembered: Remembered) -> Router {
    login_and_consent_routes()
        .layer(axum::middleware::map_response(security_headers))
        .with_state(App::new(admin, csrf, remembered))
}

/// `GET /`: what this app is and how to use it.
async fn index(headers: HeaderMap) -> Html<String> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:3000");
    Html(pages::index(host))
}

/// Headers on every page: pages carry challenges and CSRF tokens, so they are not cached, not
/// framed (a framed consent page invites clickjacking) and not leaked through `Referer`.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    );
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

/// Why a request could not be served; each becomes a page (or, for [`AppError::Gone`], a
/// redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// The browser's request is incomplete (no challenge): 400.
    BadRequest(String),
    /// The CSRF check failed: 403.
    Csrf(String),
    /// The admin API failed or answered with an error: 502, showing its `error` and
    /// `error_description`.
    Admin {
        /// HTTP status of the admin API's answer; `None` when there was no answer.
        status: Option<u16>,
        /// `error`.
        error: String,
        /// `error_description`.
        description: String,
    },
    /// The admin API answered `410 Gone`: the request was already handled, and the browser
    /// should go on to the `redirect_to` it sent.
    Gone(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, html) = match self {
            AppError::Gone(to) => return redirect(&to).unwrap_or_else(IntoResponse::into_response),
            AppError::BadRequest(message) => (StatusCode::BAD_REQUEST, pages::error("Bad request", &message, &[])),
            AppError::Csrf(message) => (
                StatusCode::FORBIDDEN,
                pages::error(
                    "Invalid CSRF token",
                    &format!("{message} Go back, reload the page and submit the form again."),
                    &[],
                ),
            ),
            AppError::Admin { status, error, description } => {
                let status_text = status.map(|s| s.to_string()).unwrap_or_else(|| "no answer".to_owned());
                let details = [("Status", status_text.as_str()), ("Error", &error), ("Description", &description)];
                (StatusCode::BAD_GATEWAY, pages::error("The admin API reported an error", "", &details))
            }
        };
        (status, Html(html)).into_response()
    }
}

/// Sends the browser on (303 See Other, so a POST becomes a GET). The target comes from the
/// admin API; one that cannot be a header value is an error, not a panic.
pub fn redirect(to: &str) -> Result<Response, AppError> {
    let location = HeaderValue::from_str(to).map_err(|_| AppError::Admin {
        status: None,
        error: "invalid redirect_to".into(),
        description: format!("the admin API sent a redirect_to that is not a valid URL: {to:?}"),
    })?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

/// The challenge from a page's query string (`login_challenge`, ...).
pub fn challenge_param(query: &HashMap<String, String>, name: &str) -> Result<String, AppError> {
    query
        .get(name)
        .filter(|c| !c.is_empty())
        .cloned()
        .ok_or_else(|| AppError::BadRequest(format!("Expected a {name} query parameter but received none.")))
}

/// A submitted `application/x-www-form-urlencoded` form. Repeated fields (the consent page's
/// `grant_scope` checkboxes) are all kept.
#[derive(Debug, Default)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    /// Parses the request body.
    pub fn parse(body: &str) -> Self {
        FormData(url::form_urlencoded::parse(body.as_bytes()).into_owned().collect())
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// All values of a field.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether a checkbox was ticked (browsers only send ticked ones).
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The hidden `challenge` field every form carries.
    pub fn challenge(&self) -> Result<String, AppError> {
        self.get("challenge")
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| AppError::BadRequest("The form has no challenge.".into()))
    }
}
