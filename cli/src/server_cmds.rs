//! Commands that run locally instead of calling a server: `serve`, `migrate sql`, `version`
//! and `completion`.
//!
//! `serve` and `migrate` call into the server crate through the `crate::native` module (see
//! `main.rs`); everything they print is printed here.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;

use clap::{Args, CommandFactory, Subcommand};
use clap_complete::Shell;

use crate::args::Cli;
use crate::endpoint::Env;
use crate::error::{error_chain, CliError, Result};
use crate::native::{self, ServeMode, ServeOptions};
use crate::output::emit;

/// Flags of `latch serve`; they may come before or after `all|public|admin`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Which listeners to run.
    #[command(subcommand)]
    pub mode: ServeModeCmd,

    /// Development mode: plain-HTTP issuer, http redirect URIs, non-Secure cookies. Never use
    /// it in production.
    #[arg(long, global = true, alias = "dangerous-force-http")]
    pub dev: bool,

    /// Database DSN (for example sqlite:///var/lib/latch/db.sqlite?mode=rwc, postgres://...,
    /// mysql://..., memory); overrides the config file.
    #[arg(long, global = true, env = "DSN", hide_env_values = true)]
    pub dsn: Option<String>,

    /// Configuration file (YAML or JSON, Hydra's keys); repeat it to merge several, a later
    /// file's setting winning, as in Hydra (give them all before or all after the mode).
    #[arg(short = 'c', long, global = true, value_name = "FILE", action = clap::ArgAction::Append)]
    pub config: Vec<PathBuf>,

    /// Accepted for compatibility with Hydra; Latch sends no telemetry.
    #[arg(long, global = true)]
    pub sqa_opt_out: bool,
}

/// `latch serve all|public|admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum ServeModeCmd {
    /// Run the public and the admin API.
    All,
    /// Run only the public API.
    Public,
    /// Run only the admin API.
    Admin,
}

/// `latch migrate [-c FILE] ...`
#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// What to migrate.
    #[command(subcommand)]
    pub cmd: MigrateCmd,

    /// Configuration file (YAML, Hydra's keys): its `dsn` is used when neither a DSN
    /// argument nor -e is given. Accepted before or after `sql`, as in Hydra; repeat it to
    /// merge several files, a later one winning.
    #[arg(short = 'c', long, global = true, value_name = "FILE", action = clap::ArgAction::Append)]
    pub config: Vec<PathBuf>,
}

/// `latch migrate ...`
#[derive(Debug, Clone, Subcommand)]
pub enum MigrateCmd {
    /// Apply the SQL migrations: `latch migrate sql [up] <DSN>` or `latch migrate sql [up] -e`.
    #[command(override_usage = "latch migrate sql [up] [DSN] [OPTIONS]")]
    Sql(MigrateSqlArgs),
}

/// Arguments of `latch migrate sql`.
#[derive(Debug, Clone, Args)]
pub struct MigrateSqlArgs {
    /// Optional direction `up` (the only one supported), then the DSN unless -e is given.
    #[arg(value_name = "ARGS", num_args = 0..=2)]
    pub args: Vec<String>,

    /// Read the DSN from the environment variable DSN.
    #[arg(short = 'e', long)]
    pub read_from_env: bool,

    /// Apply without asking for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
}

/// Arguments of `latch completion`.
#[derive(Debug, Clone, Args)]
pub struct CompletionArgs {
    /// The shell to print completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

impl From<ServeModeCmd> for ServeMode {
    fn from(m: ServeModeCmd) -> Self {
        match m {
            ServeModeCmd::All => ServeMode::All,
            ServeModeCmd::Public => ServeMode::Public,
            ServeModeCmd::Admin => ServeMode::Admin,
        }
    }
}

/// The options `latch serve` passes to the server.
pub fn serve_options(args: &ServeArgs) -> ServeOptions {
    ServeOptions {
        mode: args.mode.into(),
        dev: args.dev,
        dsn: args.dsn.clone().filter(|d| !d.is_empty()),
        config: args.config.clone(),
        defaults: Vec::new(),
    }
}

/// `latch quickstart`: the server on the embedded SQLite default (`--dev`) and the
/// example login & consent app, in one process, with the UI URLs pointing at the app.
#[derive(Debug, Clone, clap::Args)]
pub struct QuickstartArgs {
    /// Port of the example login & consent app.
    #[arg(long, default_value_t = 3000)]
    pub app_port: u16,
    /// The database (default: an SQLite file `latch.sqlite` in the working directory).
    #[arg(long, env = "DSN")]
    pub dsn: Option<String>,
}

/// What `latch quickstart` prints before it starts: where everything is and what to type next.
pub fn quickstart_text(app_port: u16, public_port: u16, admin_port: u16) -> String {
    let text = format!(
        "Latch quickstart (development mode; the data lives in ./latch.sqlite unless DSN says otherwise)\n\
         \n  public API   http://127.0.0.1:4444\n  admin API    http://127.0.0.1:4445\n  login & consent app  http://127.0.0.1:{app_port} (foo@bar.com / foobar)\n\
         \nNext, in another terminal:\n\
         \n  latch clients create --endpoint http://127.0.0.1:4445/ --id my-client --secret secret -g client_credentials\n\
         \n  latch token client --endpoint http://127.0.0.1:4444/ --client-id my-client --client-secret secret\n\
         \n  latch token introspect --endpoint http://127.0.0.1:4445/ <token>\n\
         \n  latch clients create --endpoint http://127.0.0.1:4445 --id auth-code-client --secret secret --grant-types authorization_code,refresh_token --response-types code,id_token --scope openid,offline --callbacks http://127.0.0.1:5555/callback\n\
         \n  latch token user --client-id auth-code-client --client-secret secret --endpoint http://127.0.0.1:4444/ --port 5555 --scope openid,offline\n\
         \nThen open http://127.0.0.1:5555/ in a browser. Ctrl-C stops everything.\n\n"
    );
    text.replace(":4444", &format!(":{public_port}")).replace(":4445", &format!(":{admin_port}"))
}

/// `latch quickstart`. `SERVE_PUBLIC_PORT`/`SERVE_ADMIN_PORT` move the server as usual.
pub async fn quickstart(args: QuickstartArgs, env: Env<'_>) -> Result<()> {
    let port = |k: &str, default: u16| env(k).and_then(|v| v.parse().ok()).unwrap_or(default);
    let (public_port, admin_port) = (port("SERVE_PUBLIC_PORT", 4444), port("SERVE_ADMIN_PORT", 4445));
    let app = format!("http://127.0.0.1:{}", args.app_port);
    let opts = ServeOptions {
        mode: ServeMode::All,
        dev: true,
        dsn: args.dsn.clone().filter(|d| !d.is_empty()),
        config: Vec::new(),
        defaults: vec![
            ("URLS_LOGIN".into(), format!("{app}/login")),
            ("URLS_CONSENT".into(), format!("{app}/consent")),
            ("URLS_LOGOUT".into(), format!("{app}/logout")),
        ],
    };
    emit(&quickstart_text(args.app_port, public_port, admin_port))?;
    let example =
        crate::example::ExampleCmd::LoginConsent(crate::example::LoginConsentArgs::local(args.app_port, admin_port));
    let no_env = |_: &str| None;
    let server = async { native::serve(opts).await.map_err(|e| CliError::Native(error_chain(&e))) };
    tokio::try_join!(server, crate::example::run(example, &no_env))?;
    Ok(())
}

/// `latch serve ...`
pub async fn serve(args: ServeArgs) -> Result<()> {
    native::serve(serve_options(&args)).await.map_err(|e| CliError::Native(error_chain(&e)))
}

/// Works out the DSN of `latch migrate sql` from `[up] [DSN]` and `-e`, else from the
/// config file's `dsn` (`config_dsn`).
pub fn migrate_dsn(args: &MigrateSqlArgs, env: Env<'_>, config_dsn: Option<String>) -> Result<String> {
    let rest = match args.args.first().map(String::as_str) {
        Some("up") => &args.args[1..],
        Some(dir @ ("down" | "status")) => {
            return Err(CliError::Usage(format!("`latch migrate sql {dir}` is not supported; only `up` is")))
        }
        _ => &args.args[..],
    };
    match (rest, args.read_from_env) {
        ([], true) => {
            env("DSN").ok_or_else(|| CliError::Usage("-e was given but the environment variable DSN is not set".into()))
        }
        ([dsn], false) if !dsn.is_empty() => Ok(dsn.clone()),
        ([_], true) => Err(CliError::Usage("give the DSN either as an argument or with -e, not both".into())),
        ([_, _, ..], _) => Err(CliError::Usage("too many arguments: expected `latch migrate sql [up] [DSN]`".into())),
        ([], false) if config_dsn.is_some() => Ok(config_dsn.unwrap_or_default()),
        _ => Err(CliError::Usage(
            "no DSN given: pass it as an argument (latch migrate sql up <DSN>), \
             set the environment variable DSN and pass -e, or set dsn in the -c config file"
                .into(),
        )),
    }
}

/// Asks on the terminal whether to go on; without a terminal, asks for `--yes` instead.
fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Usage("refusing to apply migrations without confirmation: pass --yes".into()));
    }
    let mut err = std::io::stderr();
    let _ = write!(err, "{question} [y/n]: ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| CliError::Io(format!("cannot read the answer: {e}")))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES"))
}

/// `latch migrate sql ...`
pub async fn migrate(cmd: MigrateArgs, env: Env<'_>) -> Result<()> {
    let file = native::config::read_files(&cmd.config).map_err(|e| CliError::Usage(e.to_string()))?;
    let config_dsn = file.get("DSN").cloned();
    let MigrateCmd::Sql(args) = cmd.cmd;
    let dsn = migrate_dsn(&args, env, config_dsn)?;
    if !args.yes && !confirm("Do you want to apply all pending SQL migrations?")? {
        emit("Migration aborted.\n")?;
        return Ok(());
    }
    native::migrate_sql(&dsn).await.map_err(|e| CliError::Native(format!("migration failed: {}", error_chain(&e))))?;
    emit("Successfully applied migrations!\n")
}

/// `latch janitor [DSN]` (Hydra's flags).
#[derive(Debug, clap::Args)]
pub struct JanitorArgs {
    /// The database; or `-e` to read `DSN` from the environment.
    pub dsn: Option<String>,
    /// Read the DSN from the `DSN` environment variable.
    #[arg(short = 'e', long = "read-from-env")]
    pub read_from_env: bool,
    /// Rows deleted per statement.
    #[arg(long, default_value_t = 100)]
    pub batch_size: u32,
    /// At most this many rows of each kind per run.
    #[arg(long, default_value_t = 10_000)]
    pub limit: u64,
    /// Keep what expired less than this long ago (a duration such as 1h).
    #[arg(long, default_value = "0s")]
    pub keep_if_younger: String,
}

/// `latch janitor`.
pub async fn janitor(args: JanitorArgs, env: Env<'_>) -> Result<()> {
    let dsn = match (&args.dsn, args.read_from_env) {
        (Some(d), _) => d.clone(),
        (None, true) => env("DSN")
            .filter(|d| !d.is_empty())
            .ok_or_else(|| CliError::Usage("-e was given but DSN is not set".into()))?,
        (None, false) => return Err(CliError::Usage("give the DSN as an argument, or -e to read it from DSN".into())),
    };
    let keep = latch_native::duration_seconds(&args.keep_if_younger).ok_or_else(|| {
        CliError::Usage(format!("--keep-if-younger: '{}' is not a duration like 1h", args.keep_if_younger))
    })?;
    let r = native::janitor(&dsn, args.batch_size, args.limit, keep)
        .await
        .map_err(|e| CliError::Native(format!("janitor failed: {}", error_chain(&e))))?;
    emit(&format!("Deleted {} expired tokens and codes, and {} expired login sessions.\n", r.tokens, r.login_sessions))
}

/// `latch version`.
pub fn version_text() -> String {
    format!("Version: {}\n", env!("CARGO_PKG_VERSION"))
}

/// `latch completion <shell>`: the script as text (written to a buffer first, because the
/// generator panics on write errors such as a closed pipe).
pub fn completion_text(shell: Shell) -> Result<String> {
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "latch", &mut buf);
    String::from_utf8(buf).map_err(|e| CliError::Io(format!("completion script: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{parse, Command};
    use clap::Parser;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn dsn_env(name: &str) -> Option<String> {
        (name == "DSN").then(|| "postgres://env".to_owned())
    }

    fn migrate_args(args: &[&str]) -> MigrateSqlArgs {
        let mut full = vec!["latch", "migrate", "sql"];
        full.extend_from_slice(args);
        match parse(&full) {
            Command::Migrate(MigrateArgs { cmd: MigrateCmd::Sql(a), .. }) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn serve_modes_and_flags() {
        for (word, mode) in [("all", ServeMode::All), ("public", ServeMode::Public), ("admin", ServeMode::Admin)] {
            let Command::Serve(a) = parse(&["latch", "serve", word, "--dev", "--sqa-opt-out"]) else {
                panic!("wrong command")
            };
            let opts = serve_options(&a);
            assert_eq!(opts.mode, mode);
            assert!(opts.dev);
        }
        let Command::Serve(a) = parse(&["latch", "serve", "-c", "latch.yml", "all", "--dsn", "sqlite://x.db"]) else {
            panic!("wrong command")
        };
        let opts = serve_options(&a);
        assert_eq!(opts.dsn.as_deref(), Some("sqlite://x.db"));
        assert_eq!(opts.config, [PathBuf::from("latch.yml")]);
        for argv in [
            &["latch", "serve", "-c", "base.yml", "--config", "prod.yml", "all"][..],
            &["latch", "serve", "all", "-c", "base.yml", "-c", "prod.yml"],
        ] {
            let Command::Serve(a) = parse(argv) else { panic!("wrong command") };
            assert_eq!(serve_options(&a).config, [PathBuf::from("base.yml"), PathBuf::from("prod.yml")], "{argv:?}");
        }
        assert!(!opts.dev);
        let Command::Serve(a) = parse(&["latch", "serve", "all", "--dangerous-force-http"]) else {
            panic!("wrong command")
        };
        assert!(a.dev);
        assert!(Cli::try_parse_from(["latch", "serve"]).is_err());
        assert!(Cli::try_parse_from(["latch", "serve", "both"]).is_err());
    }

    #[test]
    fn migrate_dsn_sources() {
        assert_eq!(migrate_dsn(&migrate_args(&["up", "sqlite://a"]), &no_env, None).unwrap(), "sqlite://a");
        assert_eq!(migrate_dsn(&migrate_args(&["sqlite://a", "--yes"]), &no_env, None).unwrap(), "sqlite://a");
        assert_eq!(migrate_dsn(&migrate_args(&["up", "-e", "-y"]), &dsn_env, None).unwrap(), "postgres://env");
        assert_eq!(migrate_dsn(&migrate_args(&["-e", "--yes"]), &dsn_env, None).unwrap(), "postgres://env");
        let file = Some("mysql://file".to_string());
        assert_eq!(migrate_dsn(&migrate_args(&["up", "-y"]), &no_env, file.clone()).unwrap(), "mysql://file");
        assert_eq!(migrate_dsn(&migrate_args(&["-e"]), &dsn_env, file).unwrap(), "postgres://env", "-e wins");
        // `-c` before or after `sql`, as Hydra's quickstart writes `migrate -c FILE sql up -e --yes`.
        for argv in [
            &["latch", "migrate", "sql", "-e", "-y", "up", "-c", "latch.yml"][..],
            &["latch", "migrate", "-c", "latch.yml", "sql", "up", "-e", "--yes"],
        ] {
            let Command::Migrate(m) = parse(argv) else { panic!("{argv:?}") };
            assert_eq!(m.config, [PathBuf::from("latch.yml")], "{argv:?}");
            let MigrateCmd::Sql(a) = m.cmd;
            assert!(a.yes && a.read_from_env, "{argv:?}");
        }
    }

    #[test]
    fn migrate_dsn_errors() {
        for (args, env) in [
            (&["up"][..], &no_env as Env<'_>),
            (&[][..], &no_env),
            (&["-e"][..], &no_env),
            (&["up", "sqlite://a", "-e"][..], &dsn_env),
            (&["down", "sqlite://a"][..], &no_env),
            (&["status"][..], &no_env),
            (&["a", "b"][..], &no_env),
        ] {
            let result = migrate_dsn(&migrate_args(args), env, None);
            assert!(matches!(result, Err(CliError::Usage(_))), "{args:?}: {result:?}");
        }
        assert!(Cli::try_parse_from(["latch", "migrate", "sql", "up", "a", "b"]).is_err());
    }

    #[test]
    fn version_line() {
        assert_eq!(version_text(), format!("Version: {}\n", env!("CARGO_PKG_VERSION")));
    }

    #[test]
    fn completions_mention_commands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let text = completion_text(shell).unwrap();
            assert!(text.contains("latch"), "{shell}");
            assert!(text.contains("client-credentials"), "{shell}");
        }
    }
}
