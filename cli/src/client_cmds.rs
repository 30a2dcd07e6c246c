//! OAuth 2.0 client commands against the admin API (`/admin/clients`).
//!
//! One set of flags, [`ClientFlags`], serves Hydra v2's `create client` and `update client`
//! and Hydra v1's `clients create`: each flag has Hydra v2's name, and Hydra v1's name (and
//! short flag) as an alias. The flags are written into core's [`Client`] ([`ClientFlags::apply`])
//! and the request body is core's serialisation of it ([`client_body`]), so field names are
//! the server's own. The v1 and v2 commands run the same code; only the print [`Mode`] differs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use clap::builder::BoolishValueParser;
use clap::{Args, Subcommand};
use latch_core::client::Client;
use reqwest::Method;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::args::{ConnectionArgs, Formatted};
use crate::endpoint::{ApiKind, Env};
use crate::error::{CliError, Result};
use crate::http::{next_page_token, Api};
use crate::output::{self, emit, warn, Done, Mode};

/// Printed (to stderr) when a secret is passed on the command line.
pub const SECRET_WARNING: &str = "You should not provide secrets using command line flags, \
the secret might leak to bash history and similar systems";

/// `latch clients ...` (Hydra v1): the v2 commands' flags, printing in [`Mode::V1`].
#[derive(Debug, Subcommand)]
pub enum ClientsCmd {
    /// Create an OAuth 2.0 client.
    Create(Box<NewClientArgs>),
    /// Print OAuth 2.0 clients as JSON.
    Get(ClientIdsArgs),
    /// List OAuth 2.0 clients.
    List(Formatted<ListClientsArgs>),
    /// Delete OAuth 2.0 clients.
    Delete(ClientIdsArgs),
}

/// `--flag`, `--flag=true` or `--flag=false` (also yes/no, on/off, 1/0), as Hydra's boolean flags.
fn boolish() -> BoolishValueParser {
    BoolishValueParser::new()
}

/// The client's fields as flags, on `create client`, `update client` and `clients create`.
/// Absent flags leave the client's field alone: on update the stored value, on create the
/// `--file`'s value or Hydra's default ([`apply_create_defaults`]).
#[derive(Debug, Clone, Default, Args)]
pub struct ClientFlags {
    /// Read the client's JSON from this file (`-` for stdin); flags override its fields.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Human-readable client name.
    #[arg(short = 'n', long)]
    pub name: Option<String>,

    /// Client secret; on create the server generates one when absent. May start with `-` (a
    /// generated base64url secret can).
    #[arg(long, allow_hyphen_values = true)]
    pub secret: Option<String>,

    /// Grant types (comma-separated or repeated; create defaults to authorization_code).
    #[arg(short = 'g', long = "grant-type", visible_alias = "grant-types")]
    #[arg(value_delimiter = ',', value_name = "TYPE")]
    pub grant_types: Vec<String>,

    /// Response types (comma-separated or repeated; create defaults to code).
    #[arg(short = 'r', long = "response-type", visible_alias = "response-types")]
    #[arg(value_delimiter = ',', value_name = "TYPE")]
    pub response_types: Vec<String>,

    /// Scopes the client may request (comma-separated or repeated).
    #[arg(short = 'a', long, value_delimiter = ',')]
    pub scope: Vec<String>,

    /// Audiences the client may request (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub audience: Vec<String>,

    /// Allowed redirect URIs (comma-separated or repeated).
    #[arg(short = 'c', long = "redirect-uri", visible_alias = "callbacks", value_delimiter = ',', value_name = "URI")]
    pub redirect_uris: Vec<String>,

    /// Token endpoint authentication method (create defaults to client_secret_basic).
    #[arg(long, value_name = "METHOD")]
    pub token_endpoint_auth_method: Option<String>,

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

    /// Origin allowed to call the token endpoint from a browser (comma-separated or repeated).
    #[arg(long = "allowed-cors-origin", visible_alias = "allowed-cors-origins")]
    #[arg(value_delimiter = ',', value_name = "ORIGIN")]
    pub allowed_cors_origins: Vec<String>,

    /// Subject identifier type: public or pairwise.
    #[arg(long, value_name = "TYPE")]
    pub subject_type: Option<String>,

    /// HTTPS URL of a JSON array of the redirect URIs, for pairwise subjects.
    #[arg(long, value_name = "URL")]
    pub sector_identifier_uri: Option<String>,

    /// Allowed post-logout redirect URI (comma-separated or repeated).
    #[arg(long = "post-logout-callback", visible_alias = "post-logout-callbacks")]
    #[arg(value_delimiter = ',', value_name = "URI")]
    pub post_logout_callbacks: Vec<String>,

    /// Back-channel logout URL.
    #[arg(long, value_name = "URL")]
    pub backchannel_logout_callback: Option<String>,

    /// Require the `sid` claim in back-channel logout tokens.
    #[arg(long, value_name = "BOOL", value_parser = boolish())]
    #[arg(num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub backchannel_logout_session_required: Option<bool>,

    /// Front-channel logout URL.
    #[arg(long, value_name = "URL")]
    pub frontchannel_logout_callback: Option<String>,

    /// Require `iss` and `sid` on front-channel logout requests.
    #[arg(long, value_name = "BOOL", value_parser = boolish())]
    #[arg(num_args = 0..=1, require_equals = true, default_missing_value = "true")]
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
    #[arg(long, value_name = "BOOL", value_parser = boolish())]
    #[arg(num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub skip_consent: Option<bool>,

    /// Let the logout UI skip the logout consent screen for this client.
    #[arg(long, value_name = "BOOL", value_parser = boolish())]
    #[arg(num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub skip_logout_consent: Option<bool>,

    /// Access token format for this client: jwt or opaque.
    #[arg(long, value_name = "STRATEGY")]
    pub access_token_strategy: Option<String>,
}

/// Flags of `latch create client` (v2) and `latch clients create` (v1).
#[derive(Debug, Clone, Args)]
pub struct NewClientArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

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

    /// ID of the client to update.
    pub id: String,

    #[command(flatten)]
    pub flags: ClientFlags,
}

/// Arguments of `latch get|delete client <id...>` (v2) and `latch clients get|delete <id...>` (v1).
#[derive(Debug, Clone, Args)]
pub struct ClientIdsArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// Client IDs.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
}

/// Arguments of `latch import oauth2-client <file>...` (Hydra v2): each file (or standard
/// input, with none or `-`) holds a JSON array of clients, or one client.
#[derive(Debug, Clone, Args)]
pub struct ImportClientArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// JSON files; `-` (or none) is standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// The clients of one import document: an array's items, or the one object.
fn clients_of(text: &str, source: &str) -> Result<Vec<Value>> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) if items.iter().all(Value::is_object) => Ok(items),
        Ok(v @ Value::Object(_)) => Ok(vec![v]),
        Ok(_) => Err(CliError::Usage(format!("{source} must hold a JSON array of OAuth 2.0 clients"))),
        Err(e) => Err(CliError::Usage(format!("{source} is not valid JSON: {e}"))),
    }
}

/// `latch import oauth2-client` (v2): creates each client as its file gives it (the
/// server fills the defaults and generates missing ids and secrets), prints those
/// created, reports failures on stderr and fails if any did. Existing clients are not
/// updated: a client whose id exists fails, as in Hydra.
pub async fn import(args: ImportClientArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let mut documents = Vec::new();
    let stdin_only = args.files.is_empty();
    for path in args.files.iter().map(PathBuf::as_path).chain(stdin_only.then_some(Path::new("-"))) {
        let (text, source) = if path == Path::new("-") {
            let text = std::io::read_to_string(std::io::stdin())
                .map_err(|e| CliError::Io(format!("cannot read stdin: {e}")))?;
            (text, "stdin".to_owned())
        } else {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
            (text, path.display().to_string())
        };
        if !text.trim().is_empty() {
            documents.push((clients_of(&text, &source)?, source));
        }
    }
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let (mut created, mut failed, mut total) = (Vec::new(), 0, 0);
    for (clients, source) in &documents {
        for c in clients {
            total += 1;
            let req = api.request(Method::POST, api.url(&["admin", "clients"])?).json(c);
            match api.send(req).await {
                Ok(reply) => created.push(reply.body),
                Err(e) => {
                    failed += 1;
                    warn(&format!("{source}: {e}"));
                }
            }
        }
    }
    emit(&output::render_clients(mode, &raw_array(&created))?)?;
    partial_failure(failed, total, "clients could not be imported")
}

/// Arguments of `latch list clients` and `latch clients list`. Without `--page-size` or
/// `--page-token` every page is fetched; with either, one page is printed and the next page's
/// token goes to stderr.
#[derive(Debug, Clone, Args)]
pub struct ListClientsArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,

    /// Fetch only one page of this many clients.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,

    /// Fetch only the page this token points at (from a previous listing).
    #[arg(long, value_name = "TOKEN")]
    pub page_token: Option<String>,
}

// ------------------------------------------------------------------------------------------
// The client

/// Trims list items and drops empty ones (`--scope "openid, offline,"`).
fn clean(items: &[String]) -> Vec<String> {
    items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Sets `field` when the flag was given.
fn put<T: Clone>(field: &mut T, flag: &Option<T>) {
    if let Some(v) = flag {
        field.clone_from(v);
    }
}

/// Sets a list `field` when the flag has items.
fn put_list(field: &mut Vec<String>, items: &[String]) {
    let items = clean(items);
    if !items.is_empty() {
        *field = items;
    }
}

impl ClientFlags {
    /// Writes every flag that was given into `c`, leaving other fields untouched.
    pub fn apply(&self, c: &mut Client) -> Result<()> {
        put(&mut c.client_name, &self.name);
        if self.secret.is_some() {
            c.client_secret.clone_from(&self.secret);
        }
        put_list(&mut c.grant_types, &self.grant_types);
        put_list(&mut c.response_types, &self.response_types);
        let scopes = clean(&self.scope);
        if !scopes.is_empty() {
            c.scope = scopes.join(" ");
        }
        put_list(&mut c.audience, &self.audience);
        put_list(&mut c.redirect_uris, &self.redirect_uris);
        put(&mut c.token_endpoint_auth_method, &self.token_endpoint_auth_method);
        put(&mut c.token_endpoint_auth_signing_alg, &self.token_endpoint_auth_signing_alg);
        put(&mut c.jwks_uri, &self.jwks_uri);
        put(&mut c.policy_uri, &self.policy_uri);
        put(&mut c.tos_uri, &self.tos_uri);
        put(&mut c.client_uri, &self.client_uri);
        put(&mut c.logo_uri, &self.logo_uri);
        put_list(&mut c.allowed_cors_origins, &self.allowed_cors_origins);
        put(&mut c.subject_type, &self.subject_type);
        put(&mut c.sector_identifier_uri, &self.sector_identifier_uri);
        put_list(&mut c.post_logout_redirect_uris, &self.post_logout_callbacks);
        put(&mut c.backchannel_logout_uri, &self.backchannel_logout_callback);
        put(&mut c.backchannel_logout_session_required, &self.backchannel_logout_session_required);
        put(&mut c.frontchannel_logout_uri, &self.frontchannel_logout_callback);
        put(&mut c.frontchannel_logout_session_required, &self.frontchannel_logout_session_required);
        put_list(&mut c.request_uris, &self.request_uris);
        put(&mut c.request_object_signing_alg, &self.request_object_signing_alg);
        if let Some(raw) = &self.metadata {
            let v: Value =
                serde_json::from_str(raw).map_err(|e| CliError::Usage(format!("--metadata is not valid JSON: {e}")))?;
            c.metadata = Some(v);
        }
        put(&mut c.owner, &self.owner);
        put_list(&mut c.contacts, &self.contacts);
        put(&mut c.skip_consent, &self.skip_consent);
        put(&mut c.skip_logout_consent, &self.skip_logout_consent);
        put(&mut c.access_token_strategy, &self.access_token_strategy);
        Ok(())
    }
}

/// Fills Hydra's create-time defaults into fields the file and flags left empty (Hydra's CLI
/// sends them; the server would fill the same).
pub fn apply_create_defaults(c: &mut Client) {
    if c.grant_types.is_empty() {
        c.grant_types = vec!["authorization_code".into()];
    }
    if c.response_types.is_empty() {
        c.response_types = vec!["code".into()];
    }
    if c.token_endpoint_auth_method.is_empty() {
        c.token_endpoint_auth_method = "client_secret_basic".into();
    }
}

/// The client of `create client` / `clients create`: the `--file` (if any), `--id`, the flags
/// and Hydra's defaults.
pub fn new_client(args: &NewClientArgs) -> Result<Client> {
    let mut client = match &args.flags.file {
        Some(path) => read_client_file(path)?,
        None => Client::default(),
    };
    put(&mut client.client_id, &args.id);
    args.flags.apply(&mut client)?;
    apply_create_defaults(&mut client);
    Ok(client)
}

/// The request body for `client`: core's serialisation without the members that are at
/// their default. The server reads an absent member as its default (`Client` is
/// `#[serde(default)]`), so the body means the same and carries what the file and flags set.
pub fn client_body(client: &Client) -> Result<Value> {
    let json = |c: &Client| {
        serde_json::to_value(c).map_err(|e| CliError::Usage(format!("the client cannot be serialised: {e}")))
    };
    let defaults = json(&Client::default())?;
    let mut body = json(client)?;
    if let (Value::Object(o), Value::Object(d)) = (&mut body, &defaults) {
        o.retain(|k, v| d.get(k) != Some(v));
    }
    Ok(body)
}

/// Parses a client JSON document (from `--file`); it must be an object (serde would read an
/// array positionally) holding the fields of core's [`Client`].
pub fn parse_client(text: &str, source: &str) -> Result<Client> {
    match serde_json::from_str::<Value>(text) {
        // As the server reads a client, which is as Hydra reads one.
        Ok(v @ Value::Object(_)) => Client::from_json(v)
            .map_err(|e| CliError::Usage(format!("{source} does not hold a valid OAuth 2.0 client: {e}"))),
        Ok(_) => Err(CliError::Usage(format!("{source} must hold a JSON object (one OAuth 2.0 client)"))),
        Err(e) => Err(CliError::Usage(format!("{source} is not valid JSON: {e}"))),
    }
}

/// Reads `--file` (`-` is stdin).
fn read_client_file(path: &Path) -> Result<Client> {
    let (text, source) = if path == Path::new("-") {
        let text =
            std::io::read_to_string(std::io::stdin()).map_err(|e| CliError::Io(format!("cannot read stdin: {e}")))?;
        (text, "stdin".to_owned())
    } else {
        let text =
            std::fs::read_to_string(path).map_err(|e| CliError::Io(format!("cannot read {}: {e}", path.display())))?;
        (text, path.display().to_string())
    };
    parse_client(&text, &source)
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

/// Sends `client` with `method` (POST to create, PUT to replace) to `path`.
async fn send_client(api: &Api, method: Method, path: &[&str], client: &Client) -> Result<String> {
    let req = api.request(method, api.url(path)?).json(&client_body(client)?);
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
        ClientsCmd::Create(args) => create(*args, Mode::V1, env).await,
        // Hydra v1 prints each client as indented JSON, one after the other.
        ClientsCmd::Get(args) => {
            for id in &args.ids {
                get(ClientIdsArgs { ids: vec![id.clone()], ..args.clone() }, Mode::JSON_PRETTY, env).await?;
            }
            Ok(())
        }
        ClientsCmd::List(a) => list(a.args, a.output.mode(), env).await,
        ClientsCmd::Delete(args) => delete(args, Mode::V1, env).await,
    }
}

fn partial_failure(failed: usize, total: usize, what: &str) -> Result<()> {
    if failed == 0 {
        Ok(())
    } else {
        Err(CliError::Partial(format!("{failed} of {total} {what}")))
    }
}

/// `latch create client` (v2) and `latch clients create` (v1).
pub async fn create(args: NewClientArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    if args.flags.secret.is_some() {
        warn(SECRET_WARNING);
    }
    let client = new_client(&args)?;
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let body = send_client(&api, Method::POST, &["admin", "clients"], &client).await?;
    emit(&output::render_client(mode, &body)?)
}

/// `latch update client <id>` (v2): fetch (or read `--file`), apply the flags, PUT.
pub async fn update(args: UpdateClientArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    if args.flags.secret.is_some() {
        warn(SECRET_WARNING);
    }
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let mut client = match &args.flags.file {
        Some(path) => read_client_file(path)?,
        None => parse_client(&get_client(&api, &args.id).await?, "the server's answer")
            .map_err(|e| CliError::BadResponse(e.to_string()))?,
    };
    args.flags.apply(&mut client)?;
    let body = send_client(&api, Method::PUT, &["admin", "clients", &args.id], &client).await?;
    emit(&output::render_client(mode, &body)?)
}

/// `latch get client <id...>` (v2): one client as a record, several as a table / array.
pub async fn get(args: ClientIdsArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let mut bodies = Vec::with_capacity(args.ids.len());
    for id in &args.ids {
        bodies.push(get_client(&api, id).await?);
    }
    let text = match bodies.as_slice() {
        [one] => output::render_client(mode, one)?,
        many => output::render_clients(mode, &raw_array(many))?,
    };
    emit(&text)
}

/// `latch list clients` (v2) and `latch clients list` (v1).
pub async fn list(args: ListClientsArgs, mode: Mode, env: Env<'_>) -> Result<()> {
    let api = Api::connect(&args.conn, ApiKind::Admin, env)?;
    let (raw, next) = list_clients(&api, args.page_size, args.page_token.clone()).await?;
    emit(&output::render_clients(mode, &raw)?)?;
    if let Some(t) = next {
        warn(&format!("More clients are available: run again with --page-token {t}"));
    }
    Ok(())
}

/// `latch delete client <id...>` (v2) and `latch clients delete` (v1): prints the deleted
/// IDs, reports failures on stderr.
pub async fn delete(args: ClientIdsArgs, mode: Mode, env: Env<'_>) -> Result<()> {
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
    emit(&output::render_ids(mode, Done::ClientDeleted, &deleted))?;
    for (id, e) in &failures {
        warn(&format!("Error: could not delete OAuth 2.0 Client {id}: {e}"));
    }
    partial_failure(failures.len(), args.ids.len(), "clients could not be deleted")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{parse, Cli, Command, CreateCmd, DeleteCmd, GetCmd, ImportCmd, ListCmd, UpdateCmd};
    use crate::output::Format;
    use clap::Parser;
    use serde_json::json;

    fn v1_create(args: &[&str]) -> NewClientArgs {
        match parse(args) {
            Command::Clients(ClientsCmd::Create(a)) => *a,
            other => panic!("parsed as {other:?}"),
        }
    }

    fn v2_create(args: &[&str]) -> Formatted<NewClientArgs> {
        match parse(args) {
            Command::Create(CreateCmd::Client(a)) => *a,
            other => panic!("parsed as {other:?}"),
        }
    }

    /// The JSON body `create` sends for these flags.
    fn body(a: &NewClientArgs) -> Value {
        client_body(&new_client(a).unwrap()).unwrap()
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
            "--grant-types",
            "client_credentials",
        ]);
        assert_eq!(a.conn.endpoint.as_deref(), Some("http://127.0.0.1:4445/"));
        assert_eq!(
            body(&a),
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
            body(&a),
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

    /// The client flags Hydra v1's `clients create` and v2's `create client` spell alike.
    const SAME_IN_BOTH: &[&str] = &[
        "--secret",
        "s3cret-1",
        "--audience",
        "api1,api2",
        "--token-endpoint-auth-method",
        "private_key_jwt",
        "--token-endpoint-auth-signing-alg",
        "ES256",
        "--jwks-uri",
        "https://a.example/jwks",
        "--policy-uri",
        "https://a.example/p",
        "--tos-uri",
        "https://a.example/t",
        "--client-uri",
        "https://a.example",
        "--logo-uri",
        "https://a.example/l.png",
        "--subject-type",
        "pairwise",
        "--backchannel-logout-callback",
        "https://a.example/bc",
        "--frontchannel-logout-callback",
        "https://a.example/fc",
        "--sector-identifier-uri",
        "https://a.example/s",
        "--request-uri",
        "https://a.example/r",
        "--request-object-signing-alg",
        "RS256",
        "--metadata",
        r#"{"tier":1}"#,
        "--owner",
        "me",
        "--access-token-strategy",
        "jwt",
    ];

    /// The rest of the client flags in Hydra v1's spelling (its short flags too, repeated
    /// and comma-separated lists, bare booleans).
    const V1_SPELLING: &[&str] = &[
        "-n",
        "SPA",
        "-c",
        "https://a.example/cb",
        "--callbacks",
        "https://b.example/cb",
        "-g",
        "authorization_code",
        "--grant-types",
        "refresh_token",
        "-r",
        "code",
        "--response-types",
        "code id_token",
        "-a",
        "openid, offline,",
        "--scope",
        "email",
        "--allowed-cors-origins",
        "https://a.example,https://b.example",
        "--post-logout-callbacks",
        "https://a.example/bye",
        "--backchannel-logout-session-required",
        "--frontchannel-logout-session-required=true",
        "--contact",
        "a@b,c@d",
        "--skip-consent",
        "--skip-logout-consent=yes",
    ];

    /// [`V1_SPELLING`]'s client in Hydra v2's spelling.
    const V2_SPELLING: &[&str] = &[
        "--name",
        "SPA",
        "--redirect-uri",
        "https://a.example/cb,https://b.example/cb",
        "--grant-type",
        "authorization_code,refresh_token",
        "--response-type",
        "code",
        "--response-type",
        "code id_token",
        "--scope",
        "openid",
        "--scope",
        "offline,email",
        "--allowed-cors-origin",
        "https://a.example",
        "--allowed-cors-origin",
        "https://b.example",
        "--post-logout-callback",
        "https://a.example/bye",
        "--backchannel-logout-session-required=true",
        "--frontchannel-logout-session-required",
        "--contact",
        "a@b",
        "--contact",
        "c@d",
        "--skip-consent=true",
        "--skip-logout-consent",
    ];

    /// A command line: `command`, then `--id c1` and every client flag in one spelling.
    fn full(command: &[&'static str], spelling: &[&'static str]) -> Vec<&'static str> {
        [command, &["--id", "c1"], SAME_IN_BOTH, spelling].concat()
    }

    #[test]
    fn v1_and_v2_spellings_make_the_same_client() {
        let v1 = v1_create(&full(&["latch", "clients", "create"], V1_SPELLING));
        let v2 = v2_create(&full(&["latch", "create", "client", "--format", "json"], V2_SPELLING));
        assert_eq!(v2.output.format, Format::Json);
        let expected = json!({
            "client_id": "c1",
            "client_secret": "s3cret-1",
            "client_name": "SPA",
            "redirect_uris": ["https://a.example/cb", "https://b.example/cb"],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code", "code id_token"],
            "scope": "openid offline email",
            "audience": ["api1", "api2"],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_signing_alg": "ES256",
            "jwks_uri": "https://a.example/jwks",
            "policy_uri": "https://a.example/p",
            "tos_uri": "https://a.example/t",
            "client_uri": "https://a.example",
            "logo_uri": "https://a.example/l.png",
            "allowed_cors_origins": ["https://a.example", "https://b.example"],
            "subject_type": "pairwise",
            "sector_identifier_uri": "https://a.example/s",
            "post_logout_redirect_uris": ["https://a.example/bye"],
            "backchannel_logout_uri": "https://a.example/bc",
            "backchannel_logout_session_required": true,
            "frontchannel_logout_uri": "https://a.example/fc",
            "frontchannel_logout_session_required": true,
            "request_uris": ["https://a.example/r"],
            "request_object_signing_alg": "RS256",
            "metadata": {"tier": 1},
            "owner": "me",
            "contacts": ["a@b", "c@d"],
            "skip_consent": true,
            "skip_logout_consent": true,
            "access_token_strategy": "jwt",
        });
        assert_eq!(body(&v1), expected);
        assert_eq!(body(&v2.args), expected);
        // The body is core's client: it reads back as the client the flags made.
        let read_back: Client = serde_json::from_value(expected).unwrap();
        assert_eq!(read_back, new_client(&v1).unwrap());
        // And the v2 spelling works on v1's command, the v1 spelling on v2's.
        assert_eq!(body(&v1_create(&full(&["latch", "clients", "create"], V2_SPELLING))), body(&v1));
        assert_eq!(body(&v2_create(&full(&["latch", "create", "oauth2-client"], V1_SPELLING)).args), body(&v1));
    }

    #[test]
    fn update_takes_the_same_flags() {
        let argv = [&["latch", "update", "client", "c1"][..], SAME_IN_BOTH, V2_SPELLING].concat();
        let Command::Update(UpdateCmd::Client(a)) = parse(&argv) else { panic!("wrong command") };
        let mut stored = Client { client_id: "c1".into(), ..Client::default() };
        a.args.flags.apply(&mut stored).unwrap();
        assert_eq!(
            client_body(&stored).unwrap(),
            body(&v1_create(&full(&["latch", "clients", "create"], V1_SPELLING)))
        );
    }

    #[test]
    fn explicit_false_booleans_parse() {
        let a = v1_create(&[
            "latch",
            "clients",
            "create",
            "--frontchannel-logout-session-required=false",
            "--skip-consent=no",
        ]);
        assert_eq!(a.flags.frontchannel_logout_session_required, Some(false));
        assert_eq!(a.flags.skip_consent, Some(false));
        let mut c = Client { skip_consent: true, frontchannel_logout_session_required: true, ..Client::default() };
        a.flags.apply(&mut c).unwrap();
        assert!(!c.skip_consent && !c.frontchannel_logout_session_required);
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
            body(&a.args),
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
            body(&a.args),
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
    fn quiet_output_parses() {
        assert!(v2_create(&["latch", "create", "client", "-q"]).output.quiet);
    }

    #[test]
    fn bad_metadata_is_a_usage_error() {
        let flags = ClientFlags { metadata: Some("{nope".into()), ..ClientFlags::default() };
        assert!(matches!(flags.apply(&mut Client::default()), Err(CliError::Usage(_))));
    }

    #[test]
    fn update_keeps_unflagged_fields() {
        let cmd = parse(&["latch", "update", "client", "my-client", "--scope", "openid,email", "--name", "renamed"]);
        let Command::Update(UpdateCmd::Client(a)) = cmd else { panic!("wrong command") };
        assert_eq!(a.args.id, "my-client");
        let mut stored = parse_client(
            r#"{"client_id":"my-client","client_name":"old","scope":"openid","grant_types":["client_credentials"],"redirect_uris":["http://a/cb"]}"#,
            "test",
        )
        .unwrap();
        a.args.flags.apply(&mut stored).unwrap();
        assert_eq!(
            client_body(&stored).unwrap(),
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
        let mut from_file =
            parse_client(r#"{"grant_types":["client_credentials"],"token_endpoint_auth_method":"none"}"#, "file")
                .unwrap();
        apply_create_defaults(&mut from_file);
        assert_eq!(
            client_body(&from_file).unwrap(),
            json!({
                "grant_types": ["client_credentials"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            })
        );
    }

    #[test]
    fn client_files_must_be_clients() {
        assert!(parse_client("[]", "f").is_err());
        assert!(parse_client("{", "f").is_err());
        assert_eq!(parse_client(r#"{"no_such_field":1,"client_uri":null}"#, "f").unwrap(), Client::default());
        assert!(parse_client(r#"{"client_uri":5}"#, "f").is_err());
        assert_eq!(parse_client("{}", "f").unwrap(), Client::default());
    }

    #[test]
    fn v2_get_list_delete_parse() {
        match parse(&["latch", "get", "oauth2-client", "a", "b", "--format", "json-pretty"]) {
            Command::Get(GetCmd::Client(a)) => {
                assert_eq!(a.args.ids, ["a", "b"]);
                assert_eq!(a.output.format, Format::JsonPretty);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["latch", "list", "clients", "--page-size", "10", "--page-token", "t"]) {
            Command::List(ListCmd::Clients(a)) => {
                assert_eq!(a.args.page_size, Some(10));
                assert_eq!(a.args.page_token.as_deref(), Some("t"));
            }
            other => panic!("{other:?}"),
        }
        assert!(Cli::try_parse_from(["latch", "list", "clients", "--page-size", "0"]).is_err());
        assert!(matches!(parse(&["latch", "delete", "clients", "a", "b"]), Command::Delete(DeleteCmd::Client(_))));
    }

    #[test]
    fn import_files_hold_arrays_or_one_client() {
        assert_eq!(clients_of(r#"[{"client_id":"a"},{"scope":"openid"}]"#, "f").unwrap().len(), 2);
        assert_eq!(clients_of(r#"{"client_id":"a"}"#, "f").unwrap().len(), 1);
        for bad in ["[1]", "5", "{", "[{}, null]"] {
            assert!(clients_of(bad, "f").is_err(), "{bad}");
        }
        let Command::Import(ImportCmd::Client(a)) = parse(&["latch", "import", "oauth2-client", "a.json", "b.json"])
        else {
            panic!("wrong command")
        };
        assert_eq!(a.args.files.len(), 2);
        assert!(matches!(parse(&["latch", "import", "clients"]), Command::Import(ImportCmd::Client(_))));
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
