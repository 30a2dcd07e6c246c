//! Token commands.
//!
//! * Public API, client-authenticated: issuing with the client credentials grant
//!   (`token client`, `perform client-credentials`) and revocation (`token revoke`,
//!   `revoke token`).
//! * Admin API: introspection (`token introspect`, `introspect token`) and deleting a
//!   client's access tokens (`token delete`, `delete access-tokens`).
//!
//! Client authentication at the token and revocation endpoints is [`ClientAuthArgs`]: HTTP
//! Basic by default, or the form body. [`request_token`] / [`request_token_at`] take any
//! grant's parameters; the interactive authorization code flow (`token user`,
//! `perform authorization-code`) lives in [`crate::auth_code`] and uses them.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand, ValueEnum};
use reqwest::Method;
use serde_json::Value;
use url::Url;

use crate::args::ConnectionArgs;
use crate::auth_code::{self, AuthCodeArgs};
use crate::endpoint::{ApiKind, Env};
use crate::error::{CliError, Result};
use crate::http::{basic_auth_value, Api};
use crate::output::{self, emit, Done, Mode};

/// `latch token ...` (Hydra v1): the v2 commands' flags, printing in [`Mode::V1`].
#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Run an example OAuth 2.0 client performing the authorization code flow (with PKCE)
    /// in your browser; prints the tokens.
    ///
    /// Serves a start page and the callback on http://127.0.0.1:<port>/: open the start page,
    /// follow "Authorize application", log in and consent; the tokens are shown and printed.
    /// Without --client-secret the client is public (authentication method none). Given the
    /// admin API (--admin-endpoint), it also serves the example login and consent pages at
    /// /login and /consent for urls.login and urls.consent; --skip accepts remembered ones.
    User(Box<AuthCodeArgs>),
    /// Get an access token with the client credentials grant; prints only the token.
    Client(ClientCredentialsArgs),
    /// Introspect a token (admin API); prints the JSON answer.
    Introspect(IntrospectArgs),
    /// Revoke an access or refresh token (public API).
    Revoke(RevokeArgs),
    /// Delete all access tokens of a client (admin API).
    Delete(DeleteTokensArgs),
}

/// How the client authenticates at the token and revocation endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic with the form-urlencoded ID and secret (RFC 6749 §2.3.1).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// Public client: only `client_id` in the form body.
    None,
}

/// Client credentials for the public API.
#[derive(Debug, Clone, Default, Args)]
pub struct ClientAuthArgs {
    /// The OAuth 2.0 client ID.
    #[arg(long, env = "OAUTH2_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,

    /// The OAuth 2.0 client secret (may start with `-`: a generated base64url secret can).
    #[arg(
        long,
        env = "OAUTH2_CLIENT_SECRET",
        hide_env_values = true,
        value_name = "SECRET",
        allow_hyphen_values = true
    )]
    pub client_secret: Option<String>,

    /// How to send the client credentials.
    #[arg(long, value_enum, default_value_t)]
    pub auth_method: AuthMethod,
}

/// Checked client credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    id: String,
    secret: String,
    method: AuthMethod,
}

impl ClientAuthArgs {
    /// Requires a client ID, and a secret unless the method is `none`.
    pub fn credentials(&self) -> Result<ClientCredentials> {
        let id = self.client_id.clone().filter(|s| !s.is_empty());
        let secret = self.client_secret.clone().filter(|s| !s.is_empty());
        match (id, secret, self.auth_method) {
            (Some(id), _, AuthMethod::None) => {
                Ok(ClientCredentials { id, secret: String::new(), method: AuthMethod::None })
            }
            (Some(id), Some(secret), method) => Ok(ClientCredentials { id, secret, method }),
            _ => Err(CliError::Usage(
                "please provide a client ID and secret with --client-id and --client-secret, \
                 or with the environment variables OAUTH2_CLIENT_ID and OAUTH2_CLIENT_SECRET"
                    .into(),
            )),
        }
    }

    /// Like [`ClientAuthArgs::credentials`], but a missing secret (with the default method)
    /// means a public client: authentication method `none`, only `client_id` in the body.
    pub fn credentials_or_public(&self) -> Result<ClientCredentials> {
        let no_secret = self.client_secret.as_deref().is_none_or(str::is_empty);
        if no_secret && self.auth_method == AuthMethod::ClientSecretBasic {
            return ClientAuthArgs { auth_method: AuthMethod::None, ..self.clone() }.credentials();
        }
        self.credentials()
    }
}

impl ClientCredentials {
    /// Credentials as given (`secret` empty for `none`).
    pub fn new(id: String, secret: String, method: AuthMethod) -> ClientCredentials {
        ClientCredentials { id, secret, method }
    }
    /// The client ID.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// The `Authorization` header (if any) and the form for a client-authenticated request:
/// `params` plus the credentials when they go in the body.
pub fn authenticated_form(
    creds: &ClientCredentials,
    params: Vec<(String, String)>,
) -> (Option<String>, Vec<(String, String)>) {
    let mut form = params;
    let header = match creds.method {
        AuthMethod::ClientSecretBasic => Some(basic_auth_value(&creds.id, &creds.secret)),
        AuthMethod::ClientSecretPost => {
            form.push(("client_id".into(), creds.id.clone()));
            form.push(("client_secret".into(), creds.secret.clone()));
            None
        }
        AuthMethod::None => {
            form.push(("client_id".into(), creds.id.clone()));
            None
        }
    };
    (header, form)
}

/// Trims, drops empty items and joins with spaces (`--scope a,b --scope c` → `a b c`).
fn space_joined(items: &[String]) -> String {
    items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Form parameters of a client credentials grant request.
pub fn client_credentials_params(scopes: &[String], audience: &[String]) -> Vec<(String, String)> {
    let mut params = vec![("grant_type".to_owned(), "client_credentials".to_owned())];
    for (key, items) in [("scope", scopes), ("audience", audience)] {
        let joined = space_joined(items);
        if !joined.is_empty() {
            params.push((key.to_owned(), joined));
        }
    }
    params
}

/// Form parameters of an introspection request.
pub fn introspection_params(token: &str, scopes: &[String]) -> Vec<(String, String)> {
    let mut params = vec![("token".to_owned(), token.to_owned())];
    let joined = space_joined(scopes);
    if !joined.is_empty() {
        params.push(("scope".to_owned(), joined));
    }
    params
}

// ------------------------------------------------------------------------------------------
// Arguments

/// Flags of `latch perform client-credentials` (v2) and `latch token client` (v1).
#[derive(Debug, Clone, Args)]
pub struct ClientCredentialsArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub auth: ClientAuthArgs,

    /// Scopes to request (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub scope: Vec<String>,

    /// Audiences to request (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub audience: Vec<String>,
}

/// Flags of `latch introspect token <token>` (v2) and `latch token introspect <token>` (v1).
#[derive(Debug, Clone, Args)]
pub struct IntrospectArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// Client ID, sent with --client-secret as HTTP Basic (the admin API does not need it).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Client secret, see --client-id (may start with `-`).
    #[arg(long, value_name = "SECRET", allow_hyphen_values = true)]
    pub client_secret: Option<String>,

    /// Scopes the token must have to be reported active (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub scope: Vec<String>,

    /// The token to introspect.
    pub token: String,
}

/// Flags of `latch revoke token <token>` (v2) and `latch token revoke <token>` (v1).
#[derive(Debug, Clone, Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub auth: ClientAuthArgs,

    /// The access or refresh token to revoke.
    pub token: String,
}

/// Arguments of `latch delete access-tokens <client-id>` (v2) and
/// `latch token delete --client-id <id>` (v1): the client as the argument or the flag.
#[derive(Debug, Clone, Args)]
pub struct DeleteTokensArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// The client whose access tokens are deleted.
    #[arg(value_name = "CLIENT_ID", required_unless_present = "client_id", conflicts_with = "client_id")]
    pub client: Option<String>,

    /// The client whose access tokens are deleted (same as the argument).
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
}

impl DeleteTokensArgs {
    /// The client, from the argument or `--client-id` (clap requires one of them).
    pub fn client_id(&self) -> &str {
        self.client.as_deref().or(self.client_id.as_deref()).unwrap_or_default()
    }
}

// ------------------------------------------------------------------------------------------
// HTTP

/// Sends a client-authenticated form to a public endpoint (`oauth2/token`, `oauth2/revoke`).
async fn post_authenticated(
    api: &Api,
    path: &[&str],
    creds: &ClientCredentials,
    params: Vec<(String, String)>,
) -> Result<String> {
    post_authenticated_to(api, api.url(path)?, creds, params).await
}

/// Sends a client-authenticated form to a full URL.
async fn post_authenticated_to(
    api: &Api,
    url: Url,
    creds: &ClientCredentials,
    params: Vec<(String, String)>,
) -> Result<String> {
    let (authorization, form) = authenticated_form(creds, params);
    let mut req = api.request(Method::POST, url).form(&form);
    if let Some(value) = authorization {
        req = req.header(reqwest::header::AUTHORIZATION, value);
    }
    Ok(api.send(req).await?.body)
}

/// Calls the token endpoint with any grant's parameters; returns the raw JSON answer after
/// checking it carries an access token.
pub async fn request_token(api: &Api, creds: &ClientCredentials, params: Vec<(String, String)>) -> Result<String> {
    request_token_at(api, api.url(&["oauth2", "token"])?, creds, params).await
}

/// [`request_token`] at an explicit token endpoint URL (`--token-url`).
pub async fn request_token_at(
    api: &Api,
    token_url: Url,
    creds: &ClientCredentials,
    params: Vec<(String, String)>,
) -> Result<String> {
    let body = post_authenticated_to(api, token_url, creds, params).await?;
    let token: Value =
        serde_json::from_str(&body).map_err(|e| CliError::BadResponse(format!("token response is not JSON: {e}")))?;
    output::access_token(&token)?;
    Ok(body)
}

async fn introspect(api: &Api, token: &str, scopes: &[String], basic: Option<(&str, &str)>) -> Result<String> {
    let url = api.url(&["admin", "oauth2", "introspect"])?;
    let mut req = api.request(Method::POST, url).form(&introspection_params(token, scopes));
    // The admin credential (the Worker's admin gate) goes whenever it is set. The
    // client's credentials, which Hydra v1's tutorial passes, are sent only without one:
    // introspection on the admin API authenticates no client, and one Authorization
    // header cannot carry both.
    if let (Some((id, secret)), false) = (basic, api.has_admin_credential()) {
        req = req.header(reqwest::header::AUTHORIZATION, basic_auth_value(id, secret));
    }
    Ok(api.send(req).await?.body)
}

async fn revoke(api: &Api, creds: &ClientCredentials, token: &str) -> Result<()> {
    let params = vec![("token".to_owned(), token.to_owned())];
    post_authenticated(api, &["oauth2", "revoke"], creds, params).await.map(drop)
}

async fn delete_tokens(api: &Api, client_id: &str) -> Result<()> {
    let mut url = api.url(&["admin", "oauth2", "tokens"])?;
    url.query_pairs_mut().append_pair("client_id", client_id);
    api.send(api.request(Method::DELETE, url)).await.map(drop)
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

// ------------------------------------------------------------------------------------------
// Commands

/// Runs `latch token ...` (v1).
pub async fn run_v1(cmd: TokenCmd, env: Env<'_>) -> Result<()> {
    match cmd {
        TokenCmd::User(args) => auth_code::run(*args, Mode::default(), env).await,
        TokenCmd::Client(args) => client_credentials(args, Mode::V1, env).await,
        TokenCmd::Introspect(args) => introspect_token(args, Mode::V1, env).await,
        TokenCmd::Revoke(args) => revoke_token(args, Mode::V1, env).await,
        TokenCmd::Delete(args) => delete_access_tokens(args, Mode::V1, env).await,
    }
}

/// `latch perform client-credentials` (v2) and `latch token client` (v1).
pub async fn client_credentials(args: ClientCredentialsArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let creds = args.auth.credentials()?;
    let api = Api::connect(&args.conn, ApiKind::Public, env)?;
    let params = client_credentials_params(&args.scope, &args.audience);
    let body = request_token(&api, &creds, params).await?;
    emit(&output::render_token(mode, &body, now_unix())?)
}

/// `latch introspect token` (v2) and `latch token introspect` (v1).
pub async fn introspect_token(args: IntrospectArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let basic = match (&args.client_id, &args.client_secret) {
        (Some(id), Some(secret)) => Some((id.as_str(), secret.as_str())),
        _ => None,
    };
    let body = introspect(&api, &args.token, &args.scope, basic).await?;
    emit(&output::render_introspection(mode, &body)?)
}

/// `latch revoke token` (v2) and `latch token revoke` (v1): prints the revoked token like an ID.
pub async fn revoke_token(args: RevokeArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let creds = args.auth.credentials()?;
    let api = Api::connect(&args.conn, ApiKind::Public, env)?;
    revoke(&api, &creds, &args.token).await?;
    emit(&output::render_ids(mode, Done::TokenRevoked, &[args.token]))
}

/// `latch delete access-tokens <client-id>` (v2) and `latch token delete` (v1): prints the
/// client ID.
pub async fn delete_access_tokens(args: DeleteTokensArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let client_id = args.client_id().to_owned();
    delete_tokens(&api, &client_id).await?;
    emit(&output::render_ids(mode, Done::TokensDeleted, &[client_id]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{parse, Cli, Command, DeleteCmd, IntrospectCmd, PerformCmd, RevokeCmd};
    use crate::output::Format;
    use clap::Parser;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn tutorial_token_client() {
        let Command::Token(TokenCmd::Client(a)) = parse(&[
            "latch",
            "token",
            "client",
            "--endpoint",
            "http://127.0.0.1:4444/",
            "--client-id",
            "my-client",
            "--client-secret",
            "secret",
        ]) else {
            panic!("wrong command")
        };
        assert_eq!(a.conn.endpoint.as_deref(), Some("http://127.0.0.1:4444/"));
        let creds = a.auth.credentials().unwrap();
        let (auth, form) = authenticated_form(&creds, client_credentials_params(&a.scope, &a.audience));
        assert_eq!(auth.as_deref(), Some("Basic bXktY2xpZW50OnNlY3JldA=="));
        assert_eq!(form, pairs(&[("grant_type", "client_credentials")]));
    }

    #[test]
    fn token_client_scopes_audience_and_post_auth() {
        let Command::Token(TokenCmd::Client(a)) = parse(&[
            "latch",
            "token",
            "client",
            "--client-id",
            "c",
            "--client-secret",
            "s",
            "--scope",
            "a,b",
            "--scope",
            "c",
            "--audience",
            "https://api1,https://api2",
            "--auth-method",
            "client_secret_post",
        ]) else {
            panic!("wrong command")
        };
        let creds = a.auth.credentials().unwrap();
        let (auth, form) = authenticated_form(&creds, client_credentials_params(&a.scope, &a.audience));
        assert_eq!(auth, None);
        assert_eq!(
            form,
            pairs(&[
                ("grant_type", "client_credentials"),
                ("scope", "a b c"),
                ("audience", "https://api1 https://api2"),
                ("client_id", "c"),
                ("client_secret", "s"),
            ])
        );
    }

    #[test]
    fn public_clients_send_only_their_id() {
        let auth = ClientAuthArgs { client_id: Some("spa".into()), client_secret: None, auth_method: AuthMethod::None };
        let creds = auth.credentials().unwrap();
        let (header, form) = authenticated_form(&creds, pairs(&[("token", "t")]));
        assert_eq!(header, None);
        assert_eq!(form, pairs(&[("token", "t"), ("client_id", "spa")]));
    }

    #[test]
    fn no_secret_means_a_public_client_for_the_user_flow() {
        let public = ClientAuthArgs { client_id: Some("spa".into()), ..ClientAuthArgs::default() };
        let (header, form) = authenticated_form(&public.credentials_or_public().unwrap(), vec![]);
        assert_eq!((header, form), (None, pairs(&[("client_id", "spa")])));
        let confidential = ClientAuthArgs {
            client_id: Some("c".into()),
            client_secret: Some("s".into()),
            ..ClientAuthArgs::default()
        };
        let (header, _) = authenticated_form(&confidential.credentials_or_public().unwrap(), vec![]);
        assert_eq!(header.as_deref(), Some(basic_auth_value("c", "s").as_str()));
        // An explicit secret-based method without a secret is still an error.
        let post = ClientAuthArgs { auth_method: AuthMethod::ClientSecretPost, ..public };
        assert!(post.credentials_or_public().is_err());
        assert!(ClientAuthArgs::default().credentials_or_public().is_err());
    }

    #[test]
    fn missing_credentials_are_usage_errors() {
        let no_secret = ClientAuthArgs { client_id: Some("c".into()), ..ClientAuthArgs::default() };
        let err = no_secret.credentials().unwrap_err();
        assert!(matches!(err, CliError::Usage(_)));
        assert!(err.to_string().contains("OAUTH2_CLIENT_SECRET"));
        assert!(ClientAuthArgs::default().credentials().is_err());
        let empty = ClientAuthArgs {
            client_id: Some(String::new()),
            client_secret: Some("s".into()),
            ..ClientAuthArgs::default()
        };
        assert!(empty.credentials().is_err());
    }

    #[test]
    fn tutorial_token_introspect() {
        let Command::Token(TokenCmd::Introspect(a)) =
            parse(&["latch", "token", "introspect", "--endpoint", "http://127.0.0.1:4445/", "ory_at_abc.def"])
        else {
            panic!("wrong command")
        };
        assert_eq!(a.token, "ory_at_abc.def");
        assert_eq!(introspection_params(&a.token, &a.scope), pairs(&[("token", "ory_at_abc.def")]));
        assert_eq!(
            introspection_params("t", &["openid".into(), "offline".into()]),
            pairs(&[("token", "t"), ("scope", "openid offline")])
        );
    }

    #[test]
    fn v1_revoke_and_delete_parse() {
        let Command::Token(TokenCmd::Revoke(a)) =
            parse(&["latch", "token", "revoke", "--client-id", "c", "--client-secret", "s", "tok"])
        else {
            panic!("wrong command")
        };
        assert_eq!(a.token, "tok");
        let Command::Token(TokenCmd::Delete(a)) = parse(&["latch", "token", "delete", "--client-id", "c"]) else {
            panic!("wrong command")
        };
        assert_eq!(a.client_id(), "c");
        assert!(Cli::try_parse_from(["latch", "token", "delete"]).is_err());
        assert!(Cli::try_parse_from(["latch", "token", "delete", "c", "--client-id", "d"]).is_err());
    }

    /// `latch perform client-credentials <flags>`.
    fn perform_client_credentials(flags: &[&str]) -> crate::args::Formatted<ClientCredentialsArgs> {
        match parse(&[&["latch", "perform", "client-credentials"], flags].concat()) {
            Command::Perform(PerformCmd::ClientCredentials(a)) => a,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn quickstart_v2_token_commands() {
        let a = perform_client_credentials(&[
            "--endpoint",
            "http://127.0.0.1:4444/",
            "--client-id",
            "id",
            "--client-secret",
            "secret",
            "--scope",
            "x",
        ]);
        assert_eq!(a.output.format, Format::Table);
        assert_eq!(a.args.scope, ["x"]);

        // A generated secret may start with '-': it is still the flag's value.
        let a = perform_client_credentials(&["--client-id", "id", "--client-secret", "-I3O_HKIORQ", "--scope", "x"]);
        assert_eq!(a.args.auth.client_secret.as_deref(), Some("-I3O_HKIORQ"));
        assert_eq!(a.args.scope, ["x"]);

        let Command::Introspect(IntrospectCmd::Token(a)) = parse(&[
            "latch",
            "introspect",
            "token",
            "--format",
            "json-pretty",
            "--endpoint",
            "http://127.0.0.1:4445/",
            "ory_at_x",
        ]) else {
            panic!("wrong command")
        };
        assert_eq!(a.output.format, Format::JsonPretty);
        assert_eq!(a.args.token, "ory_at_x");

        assert!(matches!(
            parse(&["latch", "revoke", "token", "t", "--client-id", "c", "--client-secret", "s"]),
            Command::Revoke(RevokeCmd::Token(_))
        ));
        let Command::Delete(DeleteCmd::AccessTokens(a)) =
            parse(&["latch", "delete", "access-tokens", "my-client", "-q"])
        else {
            panic!("wrong command")
        };
        assert_eq!(a.args.client_id(), "my-client");
        assert!(a.output.quiet);
    }

    #[test]
    fn auth_method_names() {
        for (name, method) in [
            ("client_secret_basic", AuthMethod::ClientSecretBasic),
            ("client_secret_post", AuthMethod::ClientSecretPost),
            ("none", AuthMethod::None),
        ] {
            assert_eq!(AuthMethod::from_str(name, false), Ok(method));
        }
    }
}
