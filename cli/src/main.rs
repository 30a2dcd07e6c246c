//! `latch`: runs the Latch server and drives either backend (native server or Cloudflare
//! Worker) over HTTP, with Hydra-compatible commands.
//!
//! Modules:
//! * [`args`]: the command tree and the flag groups shared by commands;
//! * [`client_cmds`], [`token_cmds`], [`jwk_cmds`]: the HTTP commands, v1 and v2 style;
//! * [`auth_code`]: `token user` / `perform authorization-code`, an example OAuth 2.0 client
//!   running the authorization code flow in the browser;
//! * [`example`]: `example login-consent`, an example login & consent app;
//! * [`server_cmds`]: `serve`, `migrate`, `version`, `completion`;
//! * [`endpoint`], [`http`]: where requests go and how they are sent;
//! * [`output`]: pure renderers from server JSON to the printed text; [`html`]: the little
//!   HTML kit of the two browser-facing commands;
//! * [`error`]: the error type; `main` prints it and exits with status 1.
//!
//! Only this crate prints. Usage errors exit with status 1 too (like Hydra's CLI), help and
//! `--version` with 0.

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

mod args;
mod auth_code;
mod client_cmds;
mod device_code;
mod endpoint;
mod error;
mod example;
mod html;
mod http;
mod jwk_cmds;
mod output;
mod server_cmds;
mod token_cmds;
mod trust_cmds;

/// The server entry points (`serve`, `migrate sql`).
use latch_native as native;

use args::{
    Cli, Command, CreateCmd, DeleteCmd, GetCmd, ImportCmd, IntrospectCmd, ListCmd, PerformCmd, RevokeCmd, UpdateCmd,
};
use endpoint::Env;
use error::Result;

/// mimalloc instead of glibc's malloc: in the server, buffers allocated on a tokio worker
/// are freed on the SQLite writer thread and back, which glibc's malloc handles poorly
/// (its arenas contend; a large share of a token request's CPU in a profile).
/// Built with `no_thp` (Cargo.toml): with transparent huge pages in `madvise` mode,
/// mimalloc's arenas took 2 MiB pages and the idle RSS rose from 14 to 23 MB; without
/// them it is 16 MB and the rates are the same.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with status 0; real errors to stderr with 1.
            let _ = e.print();
            return if e.use_stderr() { ExitCode::FAILURE } else { ExitCode::SUCCESS };
        }
    };
    match run(cli.command, &endpoint::process_env).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "Error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command with the given environment.
async fn run(command: Command, env: Env<'_>) -> Result<()> {
    match command {
        Command::Serve(args) => server_cmds::serve(args).await,
        Command::Migrate(cmd) => server_cmds::migrate(cmd, env).await,
        Command::Janitor(args) => server_cmds::janitor(args, env).await,
        Command::Quickstart(args) => server_cmds::quickstart(args, env).await,
        Command::Version => output::emit(&server_cmds::version_text()),
        Command::Completion(args) => output::emit(&server_cmds::completion_text(args.shell)?),

        Command::Clients(cmd) => client_cmds::run_v1(cmd, env).await,
        Command::Token(cmd) => token_cmds::run_v1(cmd, env).await,
        Command::Keys(cmd) => jwk_cmds::run_v1(cmd, env).await,

        Command::Create(CreateCmd::Client(a)) => client_cmds::create(a.args, a.output.mode(), env).await,
        Command::Create(CreateCmd::Jwk(a)) => jwk_cmds::create(a.args, a.output.mode(), env).await,
        Command::Create(CreateCmd::JwtBearerTrust(a)) => trust_cmds::create(a.args, a.output.mode(), env).await,
        Command::Get(GetCmd::JwtBearerTrust(a)) => trust_cmds::get(a.args, a.output.mode(), env).await,
        Command::List(ListCmd::JwtBearerTrusts(a)) => trust_cmds::list(a.args, a.output.mode(), env).await,
        Command::Delete(DeleteCmd::JwtBearerTrust(a)) => trust_cmds::delete(a.args, a.output.mode(), env).await,
        Command::Get(GetCmd::Client(a)) => client_cmds::get(a.args, a.output.mode(), env).await,
        Command::Get(GetCmd::Jwk(a)) => jwk_cmds::get(a.args, a.output.mode(), env).await,
        Command::Import(ImportCmd::Jwk(a)) => jwk_cmds::import(a.args, a.output.mode(), env).await,
        Command::Import(ImportCmd::Client(a)) => client_cmds::import(a.args, a.output.mode(), env).await,
        Command::List(ListCmd::Clients(a)) => client_cmds::list(a.args, a.output.mode(), env).await,
        Command::Update(UpdateCmd::Client(a)) => client_cmds::update(a.args, a.output.mode(), env).await,
        Command::Delete(DeleteCmd::Client(a)) => client_cmds::delete(a.args, a.output.mode(), env).await,
        Command::Delete(DeleteCmd::Jwk(a)) => jwk_cmds::delete_sets(a.args, a.output.mode(), env).await,
        Command::Delete(DeleteCmd::AccessTokens(a)) => {
            token_cmds::delete_access_tokens(a.args, a.output.mode(), env).await
        }
        Command::Perform(PerformCmd::ClientCredentials(a)) => {
            token_cmds::client_credentials(a.args, a.output.mode(), env).await
        }
        Command::Introspect(IntrospectCmd::Token(a)) => {
            token_cmds::introspect_token(a.args, a.output.mode(), env).await
        }
        Command::Revoke(RevokeCmd::Token(a)) => token_cmds::revoke_token(a.args, a.output.mode(), env).await,
        Command::Perform(PerformCmd::AuthorizationCode(a)) => {
            let mode = a.output.mode();
            auth_code::run(a.args, mode, env).await
        }
        Command::Perform(PerformCmd::DeviceCode(a)) => device_code::run(a.args, a.output.mode(), env).await,
        Command::Example(cmd) => example::run(cmd, env).await,
    }
}
