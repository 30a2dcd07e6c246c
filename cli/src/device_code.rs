//! `latch perform device-code`: Hydra's `hydra perform device-code`, an example device
//! (RFC 8628): asks for a device code, prints where the user goes and the user code
//! (on stderr), polls the token endpoint as `golang.org/x/oauth2` does (the interval the
//! server gave, 5 s more after each `slow_down`), and prints the tokens.

use crate::args::ConnectionArgs;
use crate::endpoint::{self, ApiKind, Env};
use crate::error::{CliError, Result};
use crate::http::Api;
use crate::output::{self, emit, Mode};
use crate::token_cmds::{authenticated_form, now_unix, AuthMethod, ClientCredentials};
use clap::Args;
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;
use url::Url;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Flags of `latch perform device-code` (Hydra's).
#[derive(Debug, Clone, Args)]
pub struct DeviceCodeArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// The OAuth 2.0 client ID (its token endpoint authentication method must be `none`,
    /// or `client_secret_post` with --client-secret).
    #[arg(long, env = "OAUTH2_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,

    /// The client secret, sent in the form (`client_secret_post`), as Hydra's command does.
    #[arg(
        long,
        env = "OAUTH2_CLIENT_SECRET",
        hide_env_values = true,
        value_name = "SECRET",
        allow_hyphen_values = true
    )]
    pub client_secret: Option<String>,

    /// Scopes to request (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', default_value = "offline,openid")]
    pub scope: Vec<String>,

    /// Audiences to request (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub audience: Vec<String>,

    /// Device authorization endpoint [default: <endpoint>/oauth2/device/auth].
    #[arg(long, value_name = "URL")]
    pub device_auth_url: Option<String>,

    /// Token endpoint [default: <endpoint>/oauth2/token].
    #[arg(long, value_name = "URL")]
    pub token_url: Option<String>,
}

fn joined(items: &[String]) -> String {
    items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Runs the device flow; the tokens go to stdout, the instructions to stderr.
pub async fn run(args: DeviceCodeArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let id = args.client_id.clone().filter(|s| !s.is_empty()).ok_or_else(|| {
        CliError::Usage(
            "please provide a client ID with --client-id or the environment variable OAUTH2_CLIENT_ID".into(),
        )
    })?;
    let creds = match args.client_secret.clone().filter(|s| !s.is_empty()) {
        Some(secret) => ClientCredentials::new(id, secret, AuthMethod::ClientSecretPost),
        None => ClientCredentials::new(id, String::new(), AuthMethod::None),
    };
    let endpoint_url = |segments: &[&str]| -> Result<Url> {
        let base = endpoint::resolve_endpoint(args.conn.endpoint.as_deref(), ApiKind::Public, env)?;
        endpoint::join(&base, segments)
    };
    let device_auth_url = match &args.device_auth_url {
        Some(raw) => endpoint::parse_endpoint(raw, "--device-auth-url")?,
        None => endpoint_url(&["oauth2", "device", "auth"])?,
    };
    let token_url = match &args.token_url {
        Some(raw) => endpoint::parse_endpoint(raw, "--token-url")?,
        None => endpoint_url(&["oauth2", "token"])?,
    };
    let api = Api::connect_to(&args.conn, ApiKind::Public, token_url.clone())?;

    let mut params = vec![("scope".to_owned(), joined(&args.scope))];
    if !args.audience.is_empty() {
        params.push(("audience".to_owned(), joined(&args.audience)));
    }
    let auth = post(&api, device_auth_url, &creds, params)
        .await
        .map_err(|e| failed("Failed to perform the device authorization request", e))?;
    let text = |k: &str| auth.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let device_code = text("device_code");
    if device_code.is_empty() {
        return Err(CliError::BadResponse("the device authorization answer has no device_code".into()));
    }
    let go_to = match text("verification_uri_complete") {
        s if s.is_empty() => format!("{} (user code {})", text("verification_uri"), text("user_code")),
        s => s,
    };
    eprintln!("To login please go to:\n\t{go_to}");
    let mut interval = auth.get("interval").and_then(Value::as_u64).unwrap_or(5).max(1);
    let expires_in = auth.get("expires_in").and_then(Value::as_u64).unwrap_or(600);
    let deadline = std::time::Instant::now() + Duration::from_secs(expires_in);
    loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        if std::time::Instant::now() > deadline {
            return Err(CliError::Server { status: 400, detail: "the device code expired (expired_token)".into() });
        }
        let params = vec![("grant_type".to_owned(), GRANT.to_owned()), ("device_code".to_owned(), device_code.clone())];
        match exchange(&api, token_url.clone(), &creds, params).await? {
            (true, body) => {
                output::access_token(&serde_json::from_str(&body).unwrap_or(Value::Null))?;
                eprintln!("Successfully signed in!");
                return emit(&output::render_token(mode, &body, now_unix())?);
            }
            (false, body) => match error_code(&body).as_str() {
                // RFC 8628 §3.5.
                "authorization_pending" => {}
                "slow_down" => interval += 5,
                _ => {
                    return Err(failed(
                        "Failed to perform the device token request",
                        CliError::Server { status: 400, detail: crate::http::describe_error_body(&body) },
                    ))
                }
            },
        }
    }
}

fn error_code(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default()
}

fn failed(what: &str, e: CliError) -> CliError {
    CliError::BadResponse(format!("{what}: {e}"))
}

/// A client-authenticated form POST whose answer must be a 2xx JSON object.
async fn post(api: &Api, url: Url, creds: &ClientCredentials, params: Vec<(String, String)>) -> Result<Value> {
    let (ok, body) = exchange(api, url, creds, params).await?;
    if !ok {
        return Err(CliError::Server { status: 400, detail: crate::http::describe_error_body(&body) });
    }
    serde_json::from_str(&body).map_err(|e| CliError::BadResponse(format!("the answer is not JSON: {e}")))
}

/// A client-authenticated form POST; any status is an answer: (2xx?, body).
async fn exchange(
    api: &Api,
    url: Url,
    creds: &ClientCredentials,
    params: Vec<(String, String)>,
) -> Result<(bool, String)> {
    let (authorization, form) = authenticated_form(creds, params);
    let mut req = api.request(Method::POST, url).form(&form);
    if let Some(value) = authorization {
        req = req.header(reqwest::header::AUTHORIZATION, value);
    }
    let (status, reply) = api.exchange(req).await?;
    Ok((status.is_success(), reply.body))
}
