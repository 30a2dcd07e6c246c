//! The command line: the top-level [`Cli`], the flag groups shared by many commands, and the
//! Hydra v2 verb-noun command groups (`create client`, `get jwk`, ...).
//!
//! Two command styles live side by side, as in the docs users copy from:
//! * Hydra v1 (`clients create`, `token client`, `keys create`, ...), whose flags and output
//!   follow Hydra v1.x and its 5-minute tutorial;
//! * Hydra v2 (`create client`, `perform client-credentials`, ...), with `--format`.
//!
//! Each noun's arguments are defined next to its code (`client_cmds`, `token_cmds`,
//! `jwk_cmds`, `server_cmds`, `auth_code`, `example`); this module only groups them.

use clap::{Args, Parser, Subcommand};

use crate::auth_code::AuthCodeArgs;
use crate::client_cmds::{ClientIdsArgs, ClientsCmd, ListClientsArgs, NewClientArgs, UpdateClientArgs};
use crate::example::ExampleCmd;
use crate::jwk_cmds::{CreateJwkArgs, ImportJwkArgs, KeySetArgs, KeySetsDeleteArgs, KeysCmd};
use crate::output::{Format, Mode};
use crate::server_cmds::{CompletionArgs, MigrateArgs, ServeArgs};
use crate::token_cmds::{ClientCredentialsArgs, DeleteTokensArgs, IntrospectArgs, RevokeArgs, TokenCmd};
use crate::trust_cmds::{CreateTrustArgs, ListTrustsArgs, TrustIdsArgs};

/// Latch: an OAuth 2.0 and OpenID Connect server compatible with ORY Hydra.
#[derive(Debug, Parser)]
#[command(name = "latch", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (public and admin APIs).
    Serve(ServeArgs),
    /// Apply the SQL migrations.
    Migrate(MigrateArgs),
    /// Start Latch on the embedded SQLite default with the example login & consent app,
    /// and print the tutorial's next commands.
    Quickstart(crate::server_cmds::QuickstartArgs),
    /// Delete expired tokens, codes and remembered logins, in bounded batches.
    Janitor(crate::server_cmds::JanitorArgs),
    /// Print the version.
    Version,
    /// Print shell completions.
    Completion(CompletionArgs),

    /// Manage OAuth 2.0 clients (Hydra v1 style).
    #[command(subcommand)]
    Clients(ClientsCmd),
    /// Issue, introspect, revoke and delete tokens (Hydra v1 style).
    #[command(subcommand)]
    Token(TokenCmd),
    /// Manage JSON Web Keys (Hydra v1 style).
    #[command(subcommand)]
    Keys(KeysCmd),

    /// Create a resource.
    #[command(subcommand)]
    Create(CreateCmd),
    /// Get resources.
    #[command(subcommand)]
    Get(GetCmd),
    /// List resources.
    #[command(subcommand)]
    List(ListCmd),
    /// Update a resource.
    #[command(subcommand)]
    Update(UpdateCmd),
    /// Delete resources.
    #[command(subcommand)]
    Delete(DeleteCmd),
    /// Perform an OAuth 2.0 flow.
    #[command(subcommand)]
    Perform(PerformCmd),
    /// Introspect a token.
    #[command(subcommand)]
    Introspect(IntrospectCmd),
    /// Revoke a token.
    #[command(subcommand)]
    Revoke(RevokeCmd),
    /// Import resources from JSON files.
    #[command(subcommand)]
    Import(ImportCmd),

    /// Run example applications that work with Latch.
    #[command(subcommand)]
    Example(ExampleCmd),
}

// The v2 nouns, as Hydra v2 names them and the aliases its users type.
const CLIENT: &str = "oauth2-client";
const CLIENTS: &str = "oauth2-clients";
const CLIENT_ALIASES: [&str; 2] = ["clients", "oauth2-clients"];
const JWK: &str = "jwk";
const TRUST: &str = "jwt-bearer-trust";

/// `latch create ...`
#[derive(Debug, Subcommand)]
pub enum CreateCmd {
    /// Create an OAuth 2.0 client.
    #[command(name = CLIENT, visible_alias = "client")]
    Client(Box<Formatted<NewClientArgs>>),
    /// Generate a JSON Web Key and add it to a set.
    #[command(name = JWK, visible_alias = "jwks")]
    Jwk(Box<Formatted<CreateJwkArgs>>),
    /// Trust an issuer's JWTs for the JWT-bearer grant (RFC 7523).
    #[command(name = TRUST)]
    JwtBearerTrust(Box<Formatted<CreateTrustArgs>>),
}

/// `latch get ...`
#[derive(Debug, Subcommand)]
pub enum GetCmd {
    /// Get OAuth 2.0 clients by ID.
    #[command(name = CLIENT, visible_alias = "client", aliases = CLIENT_ALIASES)]
    Client(Formatted<ClientIdsArgs>),
    /// Get JSON Web Key Sets (the keys of several in one set).
    #[command(name = JWK, visible_alias = "jwks")]
    Jwk(Formatted<KeySetArgs>),
    /// Get trust relationships of the JWT-bearer grant by ID.
    #[command(name = TRUST)]
    JwtBearerTrust(Formatted<TrustIdsArgs>),
}

/// `latch import <resource>` (Hydra v2).
#[derive(Debug, Subcommand)]
pub enum ImportCmd {
    /// Import OAuth 2.0 clients from JSON files (each an array of clients) or standard input.
    #[command(name = CLIENT, visible_alias = "client", aliases = CLIENT_ALIASES)]
    Client(Formatted<crate::client_cmds::ImportClientArgs>),
    /// Import private JSON Web Keys into a set (each joins the set, replacing a key with
    /// the same kid; the last one imported signs).
    #[command(name = JWK, visible_alias = "jwks")]
    Jwk(Formatted<ImportJwkArgs>),
}

/// `latch list ...`
#[derive(Debug, Subcommand)]
pub enum ListCmd {
    /// List OAuth 2.0 clients.
    #[command(name = CLIENTS, visible_alias = "clients")]
    Clients(Formatted<ListClientsArgs>),
    /// List the trust relationships of the JWT-bearer grant.
    #[command(name = "jwt-bearer-trusts", visible_alias = TRUST)]
    JwtBearerTrusts(Formatted<ListTrustsArgs>),
}

/// `latch update ...`
#[derive(Debug, Subcommand)]
pub enum UpdateCmd {
    /// Update an OAuth 2.0 client: fetch it, apply the flags, store it.
    #[command(name = CLIENT, visible_alias = "client")]
    Client(Box<Formatted<UpdateClientArgs>>),
}

/// `latch delete ...`
#[derive(Debug, Subcommand)]
pub enum DeleteCmd {
    /// Delete OAuth 2.0 clients by ID.
    #[command(name = CLIENT, visible_alias = "client", aliases = CLIENT_ALIASES)]
    Client(Formatted<ClientIdsArgs>),
    /// Delete JSON Web Key Sets.
    #[command(name = JWK, visible_alias = "jwks")]
    Jwk(Formatted<KeySetsDeleteArgs>),
    /// Delete trust relationships of the JWT-bearer grant by ID.
    #[command(name = TRUST)]
    JwtBearerTrust(Formatted<TrustIdsArgs>),
    /// Delete all access tokens of an OAuth 2.0 client.
    #[command(name = "access-tokens")]
    AccessTokens(Formatted<DeleteTokensArgs>),
}

/// `latch perform ...`
#[derive(Debug, Subcommand)]
pub enum PerformCmd {
    /// Get an access token with the client credentials grant.
    ClientCredentials(Formatted<ClientCredentialsArgs>),
    /// Run an example OAuth 2.0 client performing the authorization code flow (with PKCE)
    /// in your browser; prints the tokens.
    ///
    /// Serves a start page and the callback on http://127.0.0.1:<port>/: open the start page,
    /// follow "Authorize application", log in and consent; the tokens are shown and printed.
    /// Without --client-secret the client is public (authentication method none). Given the
    /// admin API (--admin-endpoint), it also serves the example login and consent pages at
    /// /login and /consent for urls.login and urls.consent; --skip accepts remembered ones.
    AuthorizationCode(Box<Formatted<AuthCodeArgs>>),
    /// Run an example device (RFC 8628 device authorization grant): prints where to sign
    /// in and the user code, polls the token endpoint, prints the tokens.
    ///
    /// The client needs the grant type urn:ietf:params:oauth:grant-type:device_code and
    /// the token endpoint authentication method none (or client_secret_post with
    /// --client-secret).
    DeviceCode(Formatted<crate::device_code::DeviceCodeArgs>),
}

/// `latch introspect ...`
#[derive(Debug, Subcommand)]
pub enum IntrospectCmd {
    /// Introspect an access or refresh token (admin API).
    Token(Formatted<IntrospectArgs>),
}

/// `latch revoke ...`
#[derive(Debug, Subcommand)]
pub enum RevokeCmd {
    /// Revoke an access or refresh token (public API, client-authenticated).
    Token(Formatted<RevokeArgs>),
}

/// How to reach the server; on every HTTP command.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectionArgs {
    /// URL of the API. Admin commands default to $LATCH_ADMIN_URL, $ORY_SDK_URL or
    /// $HYDRA_ADMIN_URL; token commands to $LATCH_URL, $ORY_SDK_URL or $HYDRA_URL.
    #[arg(short = 'e', long, value_name = "URL")]
    pub endpoint: Option<String>,

    /// Do not verify the server's TLS certificate.
    #[arg(long)]
    pub skip_tls_verify: bool,

    /// Extra HTTP header "Name: value" sent with every request; repeatable.
    #[arg(short = 'H', long = "http-header", value_name = "NAME: VALUE")]
    pub http_headers: Vec<String>,

    /// Bearer token for the admin API (for an admin API behind a gateway).
    #[arg(long, env = "LATCH_ADMIN_TOKEN", hide_env_values = true, value_name = "TOKEN", alias = "access-token")]
    pub admin_token: Option<String>,
}

/// A command's flags plus the output flags of the v2 commands: the v1 command of the same
/// operation takes `T` alone and prints in [`Mode::V1`].
#[derive(Debug, Clone, Args)]
pub struct Formatted<T: Args> {
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub args: T,
}

/// Output flags of the v2 commands.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct OutputArgs {
    /// Output format: table (or default), json, json-pretty, yaml, jsonpath=<path>
    /// (GJSON syntax), jsonpointer=<pointer> (RFC 6901).
    #[arg(long, default_value = "table", value_name = "FORMAT")]
    pub format: Format,

    /// Print only the ID(s).
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

impl OutputArgs {
    /// The print mode these flags select.
    pub fn mode(self) -> Mode {
        Mode { format: self.format, quiet: self.quiet }
    }
}

/// Parses a command line the way `main` does (for the commands' tests).
#[cfg(test)]
pub fn parse(args: &[&str]) -> Command {
    match Cli::try_parse_from(args) {
        Ok(cli) => cli.command,
        Err(e) => panic!("{args:?} did not parse: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn version_and_completion_parse() {
        let cli = Cli::try_parse_from(["latch", "version"]).unwrap();
        assert!(matches!(cli.command, Command::Version));
        assert!(Cli::try_parse_from(["latch", "completion", "zsh"]).is_ok());
        assert!(Cli::try_parse_from(["latch", "completion", "tcsh"]).is_err());
    }

    #[test]
    fn unknown_commands_and_flags_are_errors() {
        assert!(Cli::try_parse_from(["latch", "frobnicate"]).is_err());
        assert!(Cli::try_parse_from(["latch", "clients", "create", "--nope"]).is_err());
        assert!(Cli::try_parse_from(["latch", "get", "client", "x", "--format", "xml"]).is_err());
    }

    #[test]
    fn format_accepts_hydra_default_alias() {
        let Command::Get(GetCmd::Client(args)) = parse(&["latch", "get", "client", "x", "--format", "default"]) else {
            panic!("wrong command")
        };
        assert_eq!(args.output.format, Format::Table);
    }
}
