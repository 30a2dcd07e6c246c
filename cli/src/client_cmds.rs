//! OAuth 2.0 client commands against the admin API (`/admin/clients`).
//!
//! * v1: `clients create|get|list|delete` with Hydra v1's flags (`-c/--callbacks`,
//!   `-g/--grant-types`, `-a/--scope`, ...) and output (`OAuth 2.0 Client ID: ...`).
//! * v2: `create|get|list|update|delete client` with Hydra v2's flags (`--grant-type`,
//!   `--redirect-uri`, ...) and `--format`.
//!
//! The request bodies are built by pure functions ([`v1_client_body`], [`ClientFlags::apply`])
//! so the flag-to-JSON mapping is tested without a server.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::args::{ConnectionArgs, OutputArgs};
use crate::endpoint::{ApiKind, Env};
use crate::error::{CliError, Result};
use crate::http::{next_page_token, Api};
use crate::output::{self, emit, warn};

/// Printed (to stderr) when a secret is passed on the command line.
pub const SECRET_WARNING: &str = "You should not provide secrets using command line flags, \
the secret might leak to bash history and similar systems";

/// `latch clients ...` (Hydra v1).
#[derive(Debug, Subcommand)]
pub enum ClientsCmd {
    /// Create an OAuth 2.0 client.
    Create(Box<ClientsCreateArgs>),
    /// Print OAuth 2.0 clients as JSON.
    Get(ClientsIdsArgs),
    /// List OAuth 2.0 clients.
    List(ListClientsArgs),
    /// Delete OAuth 2.0 clients.
    Delete(ClientsIdsArgs),
}

/// Flags of `latch clients create` (Hydra v1).
#[derive(Debug, Clone, Args)]
pub struct ClientsCreateArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// Client ID; the server generates one when absent.
    #[arg(long)]
    pub id: Option<String>,

    /// Client secret; the server generates one when absent. May start with `-` (a
    /// generated base64url secret can).
    #[arg(long, allow_hyphen_values = true)]
    pub secret: Option<String>,

    /// Human-readable client name.
    #[arg(short = 'n', long)]
    pub name: Option<String>,

    /// Allowed redirect URIs (comma-separated or repeated).
    #[arg(short = 'c', long, value_delimiter = ',', value_name = "URIS")]
    pub callbacks: Vec<String>,

    /// Grant types the client may use (comma-separated or repeated).
    #[arg(short = 'g', long, value_delimiter = ',', default_value = "authorization_code", value_name = "TYPES")]
    pub grant_types: Vec<String>,

    /// Response types the client may use (comma-separated or repeated).
    #[arg(short = 'r', long, value_delimiter = ',', default_value = "code", value_name = "TYPES")]
    pub response_types: Vec<String>,

    /// Scopes the client may request (comma-separated or repeated).
    #[arg(short = 'a', long, value_delimiter = ',', value_name = "SCOPES")]
    pub scope: Vec<String>,

    /// Audiences the client may request (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub audience: Vec<String>,

    /// How the client authenticates at the token endpoint.
    #[arg(long, default_value = "client_secret_basic", value_name = "METHOD")]
    pub token_endpoint_auth_method: String,

    /// Signing algorithm for `private_key_jwt` client assertions.
    #[arg(long, value_name = "ALG")]
    pub token_endpoint_auth_signing_alg: Option<String>,

    /// URL of the client's JSON Web Key Set.
    #[arg(long, value_name = "URL")]
    pub jwks_uri: Option<String>,

    /// URL of the client's privacy policy.
    #[arg(long, value_name = "URL")]
    pub policy_uri: Option<String>,

    /// URL of the client's terms of service.
    #[arg(long, value_name = "URL")]
    pub tos_uri: Option<String>,

    /// URL of the client's home page.
    #[arg(long, value_name = "URL")]
    pub client_uri: Option<String>,

    /// URL of the client's logo.
    #[arg(long, value_name = "URL")]
    pub logo_uri: Option<String>,

    /// Origins allowed to call the token endpoint from a browser (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "ORIGINS")]
    pub allowed_cors_origins: Vec<String>,

    /// Subject identifier type: public or pairwise.
    #[arg(long, value_name = "TYPE")]
    pub subject_type: Option<String>,

    /// Allowed post-logout redirect URIs (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', value_name = "URIS")]
    pub post_logout_callbacks: Vec<String>,

    /// Back-channel logout URL.
    #[arg(long, value_name = "URL")]
    pub backchannel_logout_callback: Option<String>,

    /// Require the `sid` claim in back-channel logout tokens.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
    pub backchannel_logout_session_required: Option<bool>,

    /// Front-channel logout URL.
    #[arg(long, value_name = "URL")]
    pub frontchannel_logout_callback: Option<String>,

    /// Require `iss` and `sid` on front-channel logout requests.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
    pub frontchannel_logout_session_required: Option<bool>,
}

/// Arguments of `latch clients get|delete <id...>` (Hydra v1).
#[derive(Debug, Clone, Args)]
pub struct ClientsIdsArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// Client IDs.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
}

/// Flags shared by `create client` and `update client` (Hydra v2). On create, absent
/// grant types, response types and auth method get Hydra's defaults; on update, absent flags
/// leave the stored value alone.
#[derive(Debug, Clone, Default, Args)]
pub struct ClientFlags {
    /// Read the client's JSON from this file (`-` for stdin); flags override its fields.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Human-readable client name.
    #[arg(long)]
    pub name: Option<String>,

    /// Client secret; on create the server generates one when absent. May start with `-`.
    #[arg(long, allow_hyphen_values = true)]
    pub secret: Option<String>,

    /// Grant types (comma-separated or repeated; create defaults to authorization_code).
    #[arg(long = "grant-type", value_delimiter = ',', value_name = "TYPE")]
    pub grant_types: Vec<String>,

    /// Response types (comma-separated or repeated; create defaults to code).
    #[arg(long = "response-type", value_delimiter = ',', value_name = "TYPE")]
    pub response_types: Vec<String>,

    /// Scopes the client may request (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub scope: Vec<String>,

    /// Audiences the client may request (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub audience: Vec<String>,

    /// Allowed redirect URIs (comma-separated or repeated).
    #[arg(long = "redirect-uri", value_delimiter = ',', value_name = "URI")]
    pub redirect_uris: Vec<String>,

    /// Token endpoint authentication method (create defaults to client_secret_basic).
    #[arg(long, value_name = "METHOD")]
    pub token_endpoint_auth_method: Option<String>,

    /// URL of the client's JSON Web Key Set.
    #[arg(long, value_name = "URL")]
    pub jwks_uri: Option<String>,

    /// URL of the client's privacy policy.
    #[arg(long, value_name = "URL")]
    pub policy_uri: Option<String>,

    /// URL of the client's terms of service.
    #[arg(long, value_name = "URL")]
    pub tos_uri: Option<String>,

    /// URL of the client's home page.
    #[arg(long, value_name = "URL")]
    pub client_uri: Option<String>,

    /// URL of the client's logo.
    #[arg(long, value_name = "URL")]
    pub logo_uri: Option<String>,

    /// Origin allowed to call the token endpoint from a browser (comma-separated or repeated).
    #[arg(long = "allowed-cors-origin", value_delimiter = ',', value_name = "ORIGIN")]
    pub allowed_cors_origins: Vec<String>,

    /// Subject identifier type: public or pairwise.
    #[arg(long, value_name = "TYPE")]
    pub subject_type: Option<String>,

    /// HTTPS URL of a JSON array of the redirect URIs, for pairwise subjects.
    #[arg(long, value_name = "URL")]
    pub sector_identifier_uri: Option<String>,

    /// Allowed post-logout redirect URI (comma-separated or repeated).
    #[arg(long = "post-logout-callback", value_delimiter = ',', value_name = "URI")]
    pub post_logout_callbacks: Vec<String>,

    /// Back-channel logout URL.
    #[arg(long, value_name = "URL")]
    pub backchannel_logout_callback: Option<String>,

    /// Require the `sid` claim in back-channel logout tokens.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
    pub backchannel_logout_session_required: Option<bool>,

    /// Front-channel logout URL.
    #[arg(long, value_name = "URL")]
    pub frontchannel_logout_callback: Option<String>,

    /// Require `iss` and `sid` on front-channel logout requests.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
    pub frontchannel_logout_session_required: Option<bool>,

    /// Pre-registered request_uri values (comma-separated or repeated).
    #[arg(long = "request-uri", value_delimiter = ',', value_name = "URI")]
    pub request_uris: Vec<String>,

    /// Algorithm request objects must be signed with.
    #[arg(long, value_name = "ALG")]
    pub request_object_signing_alg: Option<String>,

    /// Arbitrary JSON stored with the client.
    #[arg(long, value_name = "JSON")]
    pub metadata: Option<String>,

    /// Owner of the client.
    #[arg(long)]
    pub owner: Option<String>,

    /// Contact (comma-separated or repeated).
    #[arg(long = "contact", value_delimiter = ',', value_name = "CONTACT")]
    pub contacts: Vec<String>,

    /// Let the login/consent UI skip the consent screen for this client.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
    pub skip_consent: Option<bool>,

    /// Let the logout UI skip the logout consent screen for this client.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(), value_name = "BOOL")]
    pub skip_logout_consent: Option<bool>,

    /// Access token format for this client: jwt or opaque.
    #[arg(long, value_name = "STRATEGY")]
    pub access_token_strategy: Option<String>,
}

/// Flags of `latch create client` (Hydra v2).
#[derive(Debug, Clone, Args)]
pub struct CreateClientArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub output: OutputArgs,

    /// Client ID; the server generates one when absent.
    #[arg(long)]
    pub id: Option<String>,

    #[command(flatten)]
    pub flags: ClientFlags,
}

/// Flags of `latch update client <id>` (Hydra v2).
#[derive(Debug, Clone, Args)]
pub struct UpdateClientArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub output: OutputArgs,

    /// ID of the client to update.
    pub id: String,

    #[command(flatten)]
    pub flags: ClientFlags,
}

/// Arguments of `latch get client <id...>` (Hydra v2).
#[derive(Debug, Clone, Args)]
pub struct GetClientArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub output: OutputArgs,

    /// Client IDs.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
}

/// Arguments of `latch delete client <id...>` (Hydra v2).
#[derive(Debug, Clone, Args)]
pub struct DeleteClientArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub output: OutputArgs,

    /// Client IDs.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
}

/// Arguments of `latch list clients` and `latch clients list`. Without `--page-size` or
/// `--page-token` every page is fetched; with either, one page is printed and the next page's
/// token goes to stderr.
#[derive(Debug, Clone, Args)]
pub struct ListClientsArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    #[command(flatten)]
    pub output: OutputArgs,

    /// Fetch only one page of this many clients.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,

    /// Fetch only the page this token points at (from a previous listing).
    #[arg(long, value_name = "TOKEN")]
    pub page_token: Option<String>,
}

// ------------------------------------------------------------------------------------------
// Request bodies

/// Trims list items and drops empty ones (`--scope "openid, offline,"`).
fn clean(items: &[String]) -> Vec<String> {
    items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn set_str(obj: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        obj.insert(key.to_owned(), Value::String(v.to_owned()));
    }
}

fn set_list(obj: &mut Map<String, Value>, key: &str, items: &[String]) {
    let items = clean(items);
    if !items.is_empty() {
        obj.insert(key.to_owned(), Value::from(items));
    }
}

fn set_scope(obj: &mut Map<String, Value>, scopes: &[String]) {
    let scopes = clean(scopes);
    if !scopes.is_empty() {
        obj.insert("scope".to_owned(), Value::String(scopes.join(" ")));
    }
}

fn set_bool(obj: &mut Map<String, Value>, key: &str, value: Option<bool>) {
    if let Some(b) = value {
        obj.insert(key.to_owned(), Value::Bool(b));
    }
}

/// The JSON body `clients create` (v1) sends.
pub fn v1_client_body(a: &ClientsCreateArgs) -> Map<String, Value> {
    let mut o = Map::new();
    set_str(&mut o, "client_id", a.id.as_deref());
    set_str(&mut o, "client_secret", a.secret.as_deref());
    set_str(&mut o, "client_name", a.name.as_deref());
    set_list(&mut o, "redirect_uris", &a.callbacks);
    set_list(&mut o, "grant_types", &a.grant_types);
    set_list(&mut o, "response_types", &a.response_types);
    set_scope(&mut o, &a.scope);
    set_list(&mut o, "audience", &a.audience);
    set_str(&mut o, "token_endpoint_auth_method", Some(a.token_endpoint_auth_method.as_str()));
    set_str(&mut o, "token_endpoint_auth_signing_alg", a.token_endpoint_auth_signing_alg.as_deref());
    set_str(&mut o, "jwks_uri", a.jwks_uri.as_deref());
    set_str(&mut o, "policy_uri", a.policy_uri.as_deref());
    set_str(&mut o, "tos_uri", a.tos_uri.as_deref());
    set_str(&mut o, "client_uri", a.client_uri.as_deref());
    set_str(&mut o, "logo_uri", a.logo_uri.as_deref());
    set_list(&mut o, "allowed_cors_origins", &a.allowed_cors_origins);
    set_str(&mut o, "subject_type", a.subject_type.as_deref());
    set_list(&mut o, "post_logout_redirect_uris", &a.post_logout_callbacks);
    set_str(&mut o, "backchannel_logout_uri", a.backchannel_logout_callback.as_deref());
    set_bool(&mut o, "backchannel_logout_session_required", a.backchannel_logout_session_required);
    set_str(&mut o, "frontchannel_logout_uri", a.frontchannel_logout_callback.as_deref());
    set_bool(&mut o, "frontchannel_logout_session_required", a.frontchannel_logout_session_required);
    o
}

impl ClientFlags {
    /// Writes every flag that was given into `client`, leaving other fields untouched.
    pub fn apply(&self, client: &mut Map<String, Value>) -> Result<()> {
        let o = client;
        set_str(o, "client_name", self.name.as_deref());
        set_str(o, "client_secret", self.secret.as_deref());
        set_list(o, "grant_types", &self.grant_types);
        set_list(o, "response_types", &self.response_types);
        set_scope(o, &self.scope);
        set_list(o, "audience", &self.audience);
        set_list(o, "redirect_uris", &self.redirect_uris);
        set_str(o, "token_endpoint_auth_method", self.token_endpoint_auth_method.as_deref());
        set_str(o, "jwks_uri", self.jwks_uri.as_deref());
        set_str(o, "policy_uri", self.policy_uri.as_deref());
        set_str(o, "tos_uri", self.tos_uri.as_deref());
        set_str(o, "client_uri", self.client_uri.as_deref());
        set_str(o, "logo_uri", self.logo_uri.as_deref());
        set_list(o, "allowed_cors_origins", &self.allowed_cors_origins);
        set_str(o, "subject_type", self.subject_type.as_deref());
        set_str(o, "sector_identifier_uri", self.sector_identifier_uri.as_deref());
        set_list(o, "post_logout_redirect_uris", &self.post_logout_callbacks);
        set_str(o, "backchannel_logout_uri", self.backchannel_logout_callback.as_deref());
        set_bool(o, "backchannel_logout_session_required", self.backchannel_logout_session_required);
        set_str(o, "frontchannel_logout_uri", self.frontchannel_logout_callback.as_deref());
        set_bool(o, "frontchannel_logout_session_required", self.frontchannel_logout_session_required);
        set_list(o, "request_uris", &self.request_uris);
        set_str(o, "request_object_signing_alg", self.request_object_signing_alg.as_deref());
        if let Some(raw) = &self.metadata {
            let v: Value =
                serde_json::from_str(raw).map_err(|e| CliError::Usage(format!("--metadata is not valid JSON: {e}")))?;
            o.insert("metadata".to_owned(), v);
        }
        set_str(o, "owner", self.owner.as_deref());
        set_list(o, "contacts", &self.contacts);
        set_bool(o, "skip_consent", self.skip_consent);
        set_bool(o, "skip_logout_consent", self.skip_logout_consent);
        set_str(o, "access_token_strategy", self.access_token_strategy.as_deref());
        Ok(())
    }
}

/// Fills Hydra's create-time defaults into fields the file and flags left out.
pub fn apply_create_defaults(client: &mut Map<String, Value>) {
    client.entry("grant_types").or_insert_with(|| Value::from(vec!["authorization_code"]));
    client.entry("response_types").or_insert_with(|| Value::from(vec!["code"]));
    client.entry("token_endpoint_auth_method").or_insert_with(|| Value::from("client_secret_basic"));
}

/// Parses a client JSON document (from `--file` or a server answer); it must be an object.
pub fn parse_client_object(text: &str, source: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(CliError::Usage(format!("{source} must hold a JSON object (one OAuth 2.0 client)"))),
        Err(e) => Err(CliError::Usage(format!("{source} is not valid JSON: {e}"))),
    }
}

/// Reads `--file` (`-` is stdin).
fn read_client_file(path: &Path) -> Result<Map<String, Value>> {
    let (text, source) = if path == Path::new("-") {
        let text =
            std::io::read_to_string(std::io::stdin()).map_err(|e| CliError::Io(format!("cannot read stdin: {e}")))?;
        (text, "stdin".to_owned())
    } else {
        let text =
            std::fs::read_to_string(path).map_err(|e| CliError::Io(format!("cannot read {}: {e}", path.display())))?;
        (text, path.display().to_string())
    };
    parse_client_object(&text, &source)
}

/// Joins raw JSON values into one raw JSON array, keeping each value's text as is.
fn raw_array<S: AsRef<str>>(items: &[S]) -> String {
    let parts: Vec<&str> = items.iter().map(AsRef::as_ref).collect();
    format!("[{}]", parts.join(","))
}

// ------------------------------------------------------------------------------------------
// HTTP

async fn get_client(api: &Api, id: &str) -> Result<String> {
    let url = api.url(&["admin", "clients", id])?;
    Ok(api.send(api.request(Method::GET, url)).await?.body)
}

async fn delete_client(api: &Api, id: &str) -> Result<()> {
    let url = api.url(&["admin", "clients", id])?;
    api.send(api.request(Method::DELETE, url)).await.map(drop)
}

async fn post_client(api: &Api, body: Map<String, Value>) -> Result<String> {
    let url = api.url(&["admin", "clients"])?;
    let req = api.request(Method::POST, url).json(&Value::Object(body));
    Ok(api.send(req).await?.body)
}

/// Fetches clients as one raw JSON array. Without paging flags, follows `rel="next"` links
/// until the last page and returns no token; with them, fetches one page and returns the
/// next page's token, if any.
async fn list_clients(
    api: &Api,
    page_size: Option<u32>,
    page_token: Option<String>,
) -> Result<(String, Option<String>)> {
    let follow = page_size.is_none() && page_token.is_none();
    let mut items: Vec<Box<RawValue>> = Vec::new();
    let mut token = page_token;
    let mut seen = HashSet::new();
    loop {
        let mut url = api.url(&["admin", "clients"])?;
        if page_size.is_some() || token.is_some() {
            let mut q = url.query_pairs_mut();
            if let Some(size) = page_size {
                q.append_pair("page_size", &size.to_string());
            }
            if let Some(t) = &token {
                q.append_pair("page_token", t);
            }
        }
        let reply = api.send(api.request(Method::GET, url)).await?;
        let page: Vec<Box<RawValue>> = serde_json::from_str(&reply.body)
            .map_err(|e| CliError::BadResponse(format!("expected a JSON array of clients: {e}")))?;
        let next = next_page_token(&reply.links);
        let last = page.is_empty();
        items.extend(page);
        match next {
            Some(t) if follow && !last => {
                if !seen.insert(t.clone()) {
                    return Err(CliError::BadResponse(format!("the server sent page token {t:?} twice; stopping")));
                }
                token = Some(t);
            }
            next => {
                let raw: Vec<&str> = items.iter().map(|r| r.get()).collect();
                return Ok((raw_array(&raw), if follow { None } else { next }));
            }
        }
    }
}

// ------------------------------------------------------------------------------------------
// Commands

/// Runs `latch clients ...` (v1).
pub async fn run_v1(cmd: ClientsCmd, env: Env<'_>) -> Result<()> {
    match cmd {
        ClientsCmd::Create(args) => {
            if args.secret.is_some() {
                warn(SECRET_WARNING);
            }
            let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
            let body = post_client(&api, v1_client_body(&args)).await?;
            let client =
                parse_client_object(&body, "the server's answer").map_err(|e| CliError::BadResponse(e.to_string()))?;
            emit(&output::render_client_v1(&Value::Object(client)))
        }
        ClientsCmd::Get(args) => {
            let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
            for id in &args.ids {
                let body = get_client(&api, id).await?;
                emit(&output::render_json_v1(&body)?)?;
            }
            Ok(())
        }
        ClientsCmd::List(args) => list(args, env).await,
        ClientsCmd::Delete(args) => {
            let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
            let mut failed = 0;
            for id in &args.ids {
                match delete_client(&api, id).await {
                    Ok(()) => emit(&output::render_client_deleted_v1(id))?,
                    Err(e) if args.ids.len() == 1 => return Err(e),
                    Err(e) => {
                        warn(&format!("Error: could not delete OAuth 2.0 Client {id}: {e}"));
                        failed += 1;
                    }
                }
            }
            partial_failure(failed, args.ids.len(), "clients could not be deleted")
        }
    }
}

fn partial_failure(failed: usize, total: usize, what: &str) -> Result<()> {
    if failed == 0 {
        Ok(())
    } else {
        Err(CliError::Partial(format!("{failed} of {total} {what}")))
    }
}

/// `latch create client` (v2).
pub async fn create(args: CreateClientArgs, env: Env<'_>) -> Result<()> {
    if args.flags.secret.is_some() {
        warn(SECRET_WARNING);
    }
    let mut client = match &args.flags.file {
        Some(path) => read_client_file(path)?,
        None => Map::new(),
    };
    set_str(&mut client, "client_id", args.id.as_deref());
    args.flags.apply(&mut client)?;
    apply_create_defaults(&mut client);
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let body = post_client(&api, client).await?;
    emit(&output::render_client(args.output.mode(), &body)?)
}

/// `latch update client <id>` (v2): fetch (or read `--file`), apply the flags, PUT.
pub async fn update(args: UpdateClientArgs, env: Env<'_>) -> Result<()> {
    if args.flags.secret.is_some() {
        warn(SECRET_WARNING);
    }
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let mut client = match &args.flags.file {
        Some(path) => read_client_file(path)?,
        None => parse_client_object(&get_client(&api, &args.id).await?, "the server's answer")
            .map_err(|e| CliError::BadResponse(e.to_string()))?,
    };
    args.flags.apply(&mut client)?;
    let url = api.url(&["admin", "clients", &args.id])?;
    let req = api.request(Method::PUT, url).json(&Value::Object(client));
    let body = api.send(req).await?.body;
    emit(&output::render_client(args.output.mode(), &body)?)
}

/// `latch get client <id...>` (v2): one client as a record, several as a table / array.
pub async fn get(args: GetClientArgs, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let mut bodies = Vec::with_capacity(args.ids.len());
    for id in &args.ids {
        bodies.push(get_client(&api, id).await?);
    }
    let mode = args.output.mode();
    let text = match bodies.as_slice() {
        [one] => output::render_client(mode, one)?,
        many => output::render_clients(mode, &raw_array(many))?,
    };
    emit(&text)
}

/// `latch list clients` (v2) and `latch clients list` (v1).
pub async fn list(args: ListClientsArgs, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let (raw, next) = list_clients(&api, args.page_size, args.page_token.clone()).await?;
    emit(&output::render_clients(args.output.mode(), &raw)?)?;
    if let Some(t) = next {
        warn(&format!("More clients are available: run again with --page-token {t}"));
    }
    Ok(())
}

/// `latch delete client <id...>` (v2): prints the deleted IDs, reports failures on stderr.
pub async fn delete(args: DeleteClientArgs, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let mut deleted = Vec::new();
    let mut failures = Vec::new();
    for id in &args.ids {
        match delete_client(&api, id).await {
            Ok(()) => deleted.push(id.clone()),
            Err(e) => failures.push((id, e)),
        }
    }
    if args.ids.len() == 1 {
        if let Some((_, e)) = failures.pop() {
            return Err(e);
        }
    }
    emit(&output::render_ids(args.output.mode(), &deleted))?;
    for (id, e) in &failures {
        warn(&format!("Error: could not delete OAuth 2.0 Client {id}: {e}"));
    }
    partial_failure(failures.len(), args.ids.len(), "clients could not be deleted")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command, CreateCmd, GetCmd, ListCmd, UpdateCmd};
    use crate::output::Format;
    use clap::Parser;
    use serde_json::json;

    fn parse(args: &[&str]) -> Command {
        match Cli::try_parse_from(args) {
            Ok(cli) => cli.command,
            Err(e) => panic!("{args:?} did not parse: {e}"),
        }
    }

    fn v1_create(args: &[&str]) -> ClientsCreateArgs {
        match parse(args) {
            Command::Clients(ClientsCmd::Create(a)) => *a,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn tutorial_v1_client_credentials_client() {
        let a = v1_create(&[
            "latch",
            "clients",
            "create",
            "--endpoint",
            "http://127.0.0.1:4445/",
            "--id",
            "my-client",
            "--secret",
            "secret",
            "-g",
            "client_credentials",
        ]);
        assert_eq!(a.conn.endpoint.as_deref(), Some("http://127.0.0.1:4445/"));
        assert_eq!(
            Value::Object(v1_client_body(&a)),
            json!({
                "client_id": "my-client",
                "client_secret": "secret",
                "grant_types": ["client_credentials"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            })
        );
    }

    #[test]
    fn tutorial_v1_auth_code_client() {
        let a = v1_create(&[
            "latch",
            "clients",
            "create",
            "--endpoint",
            "http://127.0.0.1:4445",
            "--id",
            "auth-code-client",
            "--secret",
            "secret",
            "--grant-types",
            "authorization_code,refresh_token",
            "--response-types",
            "code,id_token",
            "--scope",
            "openid,offline",
            "--callbacks",
            "http://127.0.0.1:5555/callback",
        ]);
        assert_eq!(
            Value::Object(v1_client_body(&a)),
            json!({
                "client_id": "auth-code-client",
                "client_secret": "secret",
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code", "id_token"],
                "scope": "openid offline",
                "redirect_uris": ["http://127.0.0.1:5555/callback"],
                "token_endpoint_auth_method": "client_secret_basic",
            })
        );
    }

    #[test]
    fn v1_short_flags_repeats_and_booleans() {
        let a = v1_create(&[
            "latch",
            "clients",
            "create",
            "-n",
            "SPA",
            "-c",
            "http://a/cb",
            "-c",
            "http://b/cb",
            "-g",
            "authorization_code",
            "-g",
            "refresh_token",
            "-r",
            "code",
            "-a",
            "openid, offline,",
            "--audience",
            "api1,api2",
            "--token-endpoint-auth-method",
            "none",
            "--allowed-cors-origins",
            "http://a",
            "--post-logout-callbacks",
            "http://a/bye",
            "--subject-type",
            "pairwise",
            "--backchannel-logout-callback",
            "http://a/bc",
            "--backchannel-logout-session-required",
            "--frontchannel-logout-session-required=false",
            "--jwks-uri",
            "http://a/jwks",
            "--policy-uri",
            "http://a/p",
            "--tos-uri",
            "http://a/t",
            "--client-uri",
            "http://a",
            "--logo-uri",
            "http://a/l.png",
            "--token-endpoint-auth-signing-alg",
            "ES256",
        ]);
        assert_eq!(
            Value::Object(v1_client_body(&a)),
            json!({
                "client_name": "SPA",
                "redirect_uris": ["http://a/cb", "http://b/cb"],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "scope": "openid offline",
                "audience": ["api1", "api2"],
                "token_endpoint_auth_method": "none",
                "token_endpoint_auth_signing_alg": "ES256",
                "allowed_cors_origins": ["http://a"],
                "post_logout_redirect_uris": ["http://a/bye"],
                "subject_type": "pairwise",
                "backchannel_logout_uri": "http://a/bc",
                "backchannel_logout_session_required": true,
                "frontchannel_logout_session_required": false,
                "jwks_uri": "http://a/jwks",
                "policy_uri": "http://a/p",
                "tos_uri": "http://a/t",
                "client_uri": "http://a",
                "logo_uri": "http://a/l.png",
            })
        );
    }

    #[test]
    fn v1_get_list_delete_parse() {
        match parse(&["latch", "clients", "get", "a", "b", "-e", "http://h"]) {
            Command::Clients(ClientsCmd::Get(a)) => assert_eq!(a.ids, ["a", "b"]),
            other => panic!("{other:?}"),
        }
        match parse(&["latch", "clients", "delete", "a"]) {
            Command::Clients(ClientsCmd::Delete(a)) => assert_eq!(a.ids, ["a"]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse(&["latch", "clients", "list"]), Command::Clients(ClientsCmd::List(_))));
        assert!(Cli::try_parse_from(["latch", "clients", "get"]).is_err());
    }

    fn v2_create(args: &[&str]) -> CreateClientArgs {
        match parse(args) {
            Command::Create(CreateCmd::Client(a)) => *a,
            other => panic!("parsed as {other:?}"),
        }
    }

    fn v2_body(a: &CreateClientArgs) -> Value {
        let mut o = Map::new();
        set_str(&mut o, "client_id", a.id.as_deref());
        a.flags.apply(&mut o).unwrap();
        apply_create_defaults(&mut o);
        Value::Object(o)
    }

    #[test]
    fn quickstart_v2_client_credentials_client() {
        let a = v2_create(&[
            "latch",
            "create",
            "client",
            "--endpoint",
            "http://127.0.0.1:4445/",
            "--format",
            "json",
            "--grant-type",
            "client_credentials",
        ]);
        assert_eq!(a.output.format, Format::Json);
        assert!(!a.output.quiet);
        assert_eq!(
            v2_body(&a),
            json!({
                "grant_types": ["client_credentials"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            })
        );
    }

    #[test]
    fn quickstart_v2_auth_code_client() {
        let a = v2_create(&[
            "latch",
            "create",
            "oauth2-client",
            "--endpoint",
            "http://127.0.0.1:4445",
            "--grant-type",
            "authorization_code,refresh_token",
            "--response-type",
            "code,id_token",
            "--format",
            "json",
            "--scope",
            "openid",
            "--scope",
            "offline",
            "--redirect-uri",
            "http://127.0.0.1:5555/callback",
        ]);
        assert_eq!(
            v2_body(&a),
            json!({
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code", "id_token"],
                "scope": "openid offline",
                "redirect_uris": ["http://127.0.0.1:5555/callback"],
                "token_endpoint_auth_method": "client_secret_basic",
            })
        );
    }

    #[test]
    fn v2_all_flags() {
        let a = v2_create(&[
            "latch",
            "create",
            "client",
            "-q",
            "--id",
            "c1",
            "--name",
            "n",
            "--secret",
            "s3cret",
            "--audience",
            "a1",
            "--audience",
            "a2",
            "--token-endpoint-auth-method",
            "client_secret_post",
            "--post-logout-callback",
            "http://a/bye",
            "--metadata",
            r#"{"tier":1}"#,
            "--owner",
            "me",
            "--contact",
            "a@b,c@d",
            "--skip-consent",
            "--skip-logout-consent=false",
            "--access-token-strategy",
            "jwt",
            "--allowed-cors-origin",
            "http://a",
            "--request-uri",
            "https://a/r",
            "--request-object-signing-alg",
            "RS256",
            "--sector-identifier-uri",
            "https://a/s",
            "--subject-type",
            "public",
            "--frontchannel-logout-callback",
            "http://a/fc",
        ]);
        assert!(a.output.quiet);
        assert_eq!(
            v2_body(&a),
            json!({
                "client_id": "c1",
                "client_name": "n",
                "client_secret": "s3cret",
                "audience": ["a1", "a2"],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_post",
                "post_logout_redirect_uris": ["http://a/bye"],
                "metadata": {"tier": 1},
                "owner": "me",
                "contacts": ["a@b", "c@d"],
                "skip_consent": true,
                "skip_logout_consent": false,
                "access_token_strategy": "jwt",
                "allowed_cors_origins": ["http://a"],
                "request_uris": ["https://a/r"],
                "request_object_signing_alg": "RS256",
                "sector_identifier_uri": "https://a/s",
                "subject_type": "public",
                "frontchannel_logout_uri": "http://a/fc",
            })
        );
    }

    #[test]
    fn bad_metadata_is_a_usage_error() {
        let flags = ClientFlags { metadata: Some("{nope".into()), ..ClientFlags::default() };
        assert!(matches!(flags.apply(&mut Map::new()), Err(CliError::Usage(_))));
    }

    #[test]
    fn update_keeps_unflagged_fields() {
        let cmd = parse(&["latch", "update", "client", "my-client", "--scope", "openid,email", "--name", "renamed"]);
        let Command::Update(UpdateCmd::Client(a)) = cmd else { panic!("wrong command") };
        assert_eq!(a.id, "my-client");
        let mut stored = parse_client_object(
            r#"{"client_id":"my-client","client_name":"old","scope":"openid","grant_types":["client_credentials"],"redirect_uris":["http://a/cb"]}"#,
            "test",
        )
        .unwrap();
        a.flags.apply(&mut stored).unwrap();
        assert_eq!(
            Value::Object(stored),
            json!({
                "client_id": "my-client",
                "client_name": "renamed",
                "scope": "openid email",
                "grant_types": ["client_credentials"],
                "redirect_uris": ["http://a/cb"],
            })
        );
    }

    #[test]
    fn create_defaults_do_not_override_file_fields() {
        let mut from_file = parse_client_object(
            r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}"#,
            "file",
        )
        .unwrap();
        apply_create_defaults(&mut from_file);
        assert_eq!(
            Value::Object(from_file),
            json!({
                "grant_types": ["client_credentials"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            })
        );
    }

    #[test]
    fn client_files_must_be_objects() {
        assert!(parse_client_object("[]", "f").is_err());
        assert!(parse_client_object("{", "f").is_err());
        assert!(parse_client_object("{}", "f").is_ok());
    }

    #[test]
    fn v2_get_list_delete_parse() {
        match parse(&["latch", "get", "oauth2-client", "a", "b", "--format", "json-pretty"]) {
            Command::Get(GetCmd::Client(a)) => {
                assert_eq!(a.ids, ["a", "b"]);
                assert_eq!(a.output.format, Format::JsonPretty);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["latch", "list", "clients", "--page-size", "10", "--page-token", "t"]) {
            Command::List(ListCmd::Clients(a)) => {
                assert_eq!(a.page_size, Some(10));
                assert_eq!(a.page_token.as_deref(), Some("t"));
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["latch", "list", "clients", "--page-size", "0"]).is_err());
        assert!(matches!(
            parse(&["latch", "delete", "clients", "a", "b"]),
            Command::Delete(crate::args::DeleteCmd::Client(_))
        ));
    }

    #[test]
    fn raw_array_keeps_text() {
        assert_eq!(raw_array(&["{\"b\":1,\"a\":2}", "{}"]), "[{\"b\":1,\"a\":2},{}]");
        assert_eq!(raw_array::<&str>(&[]), "[]");
    }

    #[test]
    fn partial_failures() {
        assert!(partial_failure(0, 3, "x").is_ok());
        assert_eq!(
            partial_failure(2, 3, "clients could not be deleted").unwrap_err().to_string(),
            "2 of 3 clients could not be deleted"
        );
    }
}
