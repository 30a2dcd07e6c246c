//! Commands that run locally instead of calling a server: `serve`, `migrate sql`,
//! `migrate from-hydra`, `version` and `completion`.
//!
//! `serve` and `migrate` call into the server crate through the `crate::native` module (see
//! `main.rs`); everything they print is printed here.

use std::collections::BTreeMap;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::PathBuf;

use clap::{Args, CommandFactory, Subcommand};
use clap_complete::Shell;

use crate::args::Cli;
use crate::endpoint::Env;
use crate::error::{error_chain, CliError, Result};
use crate::native::from_hydra::{FromHydraOptions, FromHydraReport};
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
    /// Apply the SQL migrations (`latch migrate sql [up] <DSN>`, or `-e`), or show which
    /// are applied (`latch migrate sql status <DSN>`).
    #[command(override_usage = "latch migrate sql [up|status] [DSN] [OPTIONS]")]
    Sql(MigrateSqlArgs),
    /// Deprecated (Hydra v1): `latch migrate sql status`.
    #[command(override_usage = "latch migrate status [DSN] [OPTIONS]")]
    Status(MigrateSqlArgs),
    /// Copy a Hydra v2 database's clients, JSON Web Keys, consent and login sessions, and
    /// active access and refresh tokens into a Latch database (Latch's migrations are
    /// applied to it first). Run it again before switching over: what is there already
    /// is left alone.
    FromHydra(FromHydraArgs),
}

/// What `latch migrate sql` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Apply the pending migrations.
    Up,
    /// List the migrations and whether each is applied.
    Status,
}

/// Arguments of `latch migrate from-hydra`.
#[derive(Debug, Clone, Args)]
pub struct FromHydraArgs {
    /// Hydra's database (PostgreSQL or CockroachDB), as Hydra's DSN: postgres://...
    #[arg(value_name = "HYDRA_DSN")]
    pub hydra_dsn: String,

    /// The Latch database (sqlite://..., postgres://..., mysql://...); else the -c
    /// config file's dsn.
    #[arg(long, env = "DSN", hide_env_values = true)]
    pub dsn: Option<String>,

    /// Hydra's system secret (`secrets.system`; several comma-separated, the current
    /// first): opens Hydra's JSON Web Keys and sealed token sessions. Without it those
    /// are not copied.
    #[arg(long, env = "HYDRA_SECRETS_SYSTEM", hide_env_values = true, value_name = "SECRET")]
    pub hydra_secret: Option<String>,

    /// Latch's system secret, which the keys are sealed under (several comma-separated,
    /// the current first); else the -c config file's secrets.system, else Hydra's.
    #[arg(long, env = "SECRETS_SYSTEM", hide_env_values = true, value_name = "SECRET")]
    pub secret: Option<String>,

    /// The Hydra network (`nid`) to copy, when the database holds several.
    #[arg(long, value_name = "UUID")]
    pub nid: Option<String>,

    /// Read both databases and report what would be copied; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Accept clients as `latch serve --dev` does (http redirect URIs).
    #[arg(long)]
    pub dev: bool,
}

/// Arguments of `latch migrate sql`.
#[derive(Debug, Clone, Args)]
pub struct MigrateSqlArgs {
    /// Optional direction `up` (the default) or `status`, then the DSN unless -e is given.
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
            ("URLS_DEVICE_VERIFICATION".into(), format!("{app}/device")),
            ("URLS_DEVICE_SUCCESS".into(), format!("{app}/device/done")),
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
pub fn migrate_dsn(args: &MigrateSqlArgs, env: Env<'_>, config_dsn: Option<String>) -> Result<(Direction, String)> {
    let (direction, rest) = match args.args.first().map(String::as_str) {
        Some("up") => (Direction::Up, &args.args[1..]),
        Some("status") => (Direction::Status, &args.args[1..]),
        Some("down") => {
            return Err(CliError::Usage(
                "`latch migrate sql down` is not offered: Latch's migrations only add (tables, columns, indexes), so a binary of an earlier version runs on the migrated schema (one older than migration 0008 reads consents revoked since as given: revoke them again after going back); to undo a migration, restore the backup taken before `up`".into(),
            ))
        }
        _ => (Direction::Up, &args.args[..]),
    };
    migrate_dsn_of(rest, args.read_from_env, env, config_dsn).map(|dsn| (direction, dsn))
}

fn migrate_dsn_of(rest: &[String], read_from_env: bool, env: Env<'_>, config_dsn: Option<String>) -> Result<String> {
    match (rest, read_from_env) {
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
    let config_file = native::config::read_files(&cmd.config).map_err(|e| CliError::Usage(e.to_string()))?;
    let config_dsn = config_file.get("DSN").cloned();
    let (direction, dsn, args) = match cmd.cmd {
        MigrateCmd::Sql(args) => {
            let (direction, dsn) = migrate_dsn(&args, env, config_dsn)?;
            (direction, dsn, args)
        }
        MigrateCmd::Status(args) => {
            (Direction::Status, migrate_dsn_of(&args.args, args.read_from_env, env, config_dsn)?, args)
        }
        MigrateCmd::FromHydra(args) => return from_hydra(args, config_file).await,
    };
    if direction == Direction::Status {
        let status = native::migration_status(&dsn)
            .await
            .map_err(|e| CliError::Native(format!("cannot read the migrations: {}", error_chain(&e))))?;
        let rows: Vec<Vec<String>> = status
            .iter()
            .map(|(version, name, applied)| {
                vec![format!("{version:04}"), name.clone(), if *applied { "Applied" } else { "Pending" }.to_string()]
            })
            .collect();
        return emit(&crate::output::table(&["VERSION", "NAME", "STATUS"], &rows));
    }
    if !args.yes && !confirm("Do you want to apply all pending SQL migrations?")? {
        emit("Migration aborted.\n")?;
        return Ok(());
    }
    native::migrate_sql(&dsn).await.map_err(|e| CliError::Native(format!("migration failed: {}", error_chain(&e))))?;
    emit("Successfully applied migrations!\n")
}

/// The options of `latch migrate from-hydra`, from its flags and the -c file's keys.
pub fn from_hydra_options(args: &FromHydraArgs, file: &BTreeMap<String, String>) -> Result<FromHydraOptions> {
    let secrets = |flag: &str, raw: &str| {
        latch_core::config::parse_system_secrets(raw).map_err(|e| CliError::Usage(format!("{flag}: {e}")))
    };
    let latch_dsn =
        args.dsn.clone().filter(|d| !d.is_empty()).or_else(|| file.get("DSN").cloned()).ok_or_else(|| {
            CliError::Usage("no Latch database given: pass --dsn, set DSN, or set dsn in the -c config file".into())
        })?;
    let hydra_secrets = match args.hydra_secret.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(raw) => secrets("--hydra-secret", raw)?,
        None => Vec::new(),
    };
    let latch_secrets = match args
        .secret
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .or(file.get("SECRETS_SYSTEM").map(String::as_str))
    {
        Some(raw) => secrets("--secret", raw)?,
        None => hydra_secrets.clone(),
    };
    Ok(FromHydraOptions {
        hydra_dsn: args.hydra_dsn.clone(),
        latch_dsn,
        hydra_secrets,
        latch_secrets,
        nid: args.nid.clone().filter(|n| !n.is_empty()),
        dry_run: args.dry_run,
        dev: args.dev,
    })
}

/// The report of `latch migrate from-hydra`, as printed.
pub fn from_hydra_text(report: &FromHydraReport, latch_secret_is_hydras: bool) -> String {
    let mut out = String::new();
    let verb = if report.dry_run { "would copy" } else { "copied" };
    if report.dry_run {
        out.push_str("Dry run: nothing was written.\n");
    }
    if !report.nid.is_empty() {
        out.push_str(&format!("Hydra network (nid): {}\n", report.nid));
    }
    for (name, kind) in report.kinds() {
        out.push_str(&format!(
            "{name}: {} {verb}, {} already present, {} skipped\n",
            kind.copied.len(),
            kind.already_present.len(),
            kind.skipped.len()
        ));
        for (item, why) in &kind.skipped {
            out.push_str(&format!("  skipped {item}: {why}\n"));
        }
    }
    for note in &report.notes {
        out.push_str(&format!("Note: {note}\n"));
    }
    if latch_secret_is_hydras && !report.keys.copied.is_empty() {
        out.push_str("Note: the keys were sealed under Hydra's system secret (no --secret or SECRETS_SYSTEM was given): start Latch with SECRETS_SYSTEM set to it\n");
    }
    out
}

/// `latch migrate from-hydra`.
async fn from_hydra(args: FromHydraArgs, file: BTreeMap<String, String>) -> Result<()> {
    let opts = from_hydra_options(&args, &file)?;
    let report = native::from_hydra::migrate_from_hydra(&opts)
        .await
        .map_err(|e| CliError::Native(format!("migration from Hydra failed: {}", error_chain(&e))))?;
    let latch_secret_is_hydras =
        args.secret.as_deref().is_none_or(|s| s.trim().is_empty()) && !file.contains_key("SECRETS_SYSTEM");
    emit(&from_hydra_text(&report, latch_secret_is_hydras))
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
    /// Clean up expired access and refresh tokens and codes.
    #[arg(long)]
    pub tokens: bool,
    /// Clean up login and consent requests: Latch keeps none (they are sealed in their
    /// challenges), so its expired remembered logins and its revoked consents go.
    #[arg(long)]
    pub requests: bool,
    /// Clean up expired trust grants (JWT-bearer issuers): Latch has none.
    #[arg(long)]
    pub grants: bool,
    /// Hydra's: the access-token lifespan by which its rows expire. Latch's token rows
    /// carry their own expiry, so this has no effect.
    #[arg(long, value_name = "DURATION")]
    pub access_lifespan: Option<String>,
    /// Hydra's: as --access-lifespan, for refresh tokens; no effect.
    #[arg(long, value_name = "DURATION")]
    pub refresh_lifespan: Option<String>,
    /// The lifespan of login and consent requests (ttl.login_consent_request; default:
    /// TTL_LOGIN_CONSENT_REQUEST, else 30m): ended logins and revoked consents are kept
    /// this long, as what refuses their verifiers a second use.
    #[arg(long, value_name = "DURATION")]
    pub consent_request_lifespan: Option<String>,
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
    for (flag, value) in [("--access-lifespan", &args.access_lifespan), ("--refresh-lifespan", &args.refresh_lifespan)]
    {
        if let Some(v) = value {
            latch_native::duration_seconds(v)
                .ok_or_else(|| CliError::Usage(format!("{flag}: '{v}' is not a duration like 1h")))?;
            eprintln!("latch janitor: {flag} has no effect: Latch's rows carry their own expiry");
        }
    }
    // Hydra asks for at least one of --tokens, --requests, --grants; Latch, given none,
    // cleans up everything (as its earlier versions did).
    let kinds = if args.tokens || args.requests || args.grants {
        latch_core::janitor::Kinds { tokens: args.tokens, login_sessions: args.requests }
    } else {
        latch_core::janitor::Kinds::ALL
    };
    let lifespan = args
        .consent_request_lifespan
        .clone()
        .or_else(|| env("TTL_LOGIN_CONSENT_REQUEST").filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "30m".into());
    let login_consent_ttl = latch_native::duration_seconds(&lifespan).ok_or_else(|| {
        CliError::Usage(format!("--consent-request-lifespan: '{lifespan}' is not a duration like 30m"))
    })?;
    let r = native::janitor(&dsn, args.batch_size, args.limit, keep, login_consent_ttl, kinds)
        .await
        .map_err(|e| CliError::Native(format!("janitor failed: {}", error_chain(&e))))?;
    emit(&format!(
        "Deleted {} expired tokens and codes, {} expired login sessions and {} revoked consents.\n",
        r.tokens, r.login_sessions, r.revoked_consents
    ))
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
        let up = |args: &[&str], env: Env<'_>, file: Option<String>| {
            let (direction, dsn) = migrate_dsn(&migrate_args(args), env, file).unwrap();
            assert_eq!(direction, Direction::Up, "{args:?}");
            dsn
        };
        assert_eq!(up(&["up", "sqlite://a"], &no_env, None), "sqlite://a");
        assert_eq!(up(&["sqlite://a", "--yes"], &no_env, None), "sqlite://a");
        assert_eq!(up(&["up", "-e", "-y"], &dsn_env, None), "postgres://env");
        assert_eq!(up(&["-e", "--yes"], &dsn_env, None), "postgres://env");
        let file = Some("mysql://file".to_string());
        assert_eq!(up(&["up", "-y"], &no_env, file.clone()), "mysql://file");
        assert_eq!(up(&["-e"], &dsn_env, file), "postgres://env", "-e wins");
        let status = migrate_dsn(&migrate_args(&["status", "sqlite://a"]), &no_env, None).unwrap();
        assert_eq!(status, (Direction::Status, "sqlite://a".to_string()));
        let Command::Migrate(m) = parse(&["latch", "migrate", "status", "-e"]) else { panic!("migrate status") };
        assert!(matches!(m.cmd, MigrateCmd::Status(a) if a.read_from_env));
        // `-c` before or after `sql`, as Hydra's quickstart writes `migrate -c FILE sql up -e --yes`.
        for argv in [
            &["latch", "migrate", "sql", "-e", "-y", "up", "-c", "latch.yml"][..],
            &["latch", "migrate", "-c", "latch.yml", "sql", "up", "-e", "--yes"],
        ] {
            let Command::Migrate(m) = parse(argv) else { panic!("{argv:?}") };
            assert_eq!(m.config, [PathBuf::from("latch.yml")], "{argv:?}");
            let MigrateCmd::Sql(a) = m.cmd else { panic!("{argv:?}") };
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
            (&["status", "-e"][..], &no_env),
            (&["a", "b"][..], &no_env),
        ] {
            let result = migrate_dsn(&migrate_args(args), env, None);
            assert!(matches!(result, Err(CliError::Usage(_))), "{args:?}: {result:?}");
        }
        assert!(Cli::try_parse_from(["latch", "migrate", "sql", "up", "a", "b"]).is_err());
    }

    fn from_hydra_args(args: &[&str]) -> FromHydraArgs {
        let mut full = vec!["latch", "migrate", "from-hydra"];
        full.extend_from_slice(args);
        match parse(&full) {
            Command::Migrate(MigrateArgs { cmd: MigrateCmd::FromHydra(a), .. }) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn from_hydra_flags_and_secrets() {
        let hydra = "hydra-secret-0123456789";
        let a = from_hydra_args(&[
            "postgres://hydra@db/hydra",
            "--dsn",
            "sqlite://latch.db",
            "--hydra-secret",
            &format!("{hydra},older-hydra-secret-0123"),
            "--nid",
            "0a0a0a0a-0000-0000-0000-000000000000",
            "--dry-run",
        ]);
        let o = from_hydra_options(&a, &BTreeMap::new()).unwrap();
        assert_eq!((o.hydra_dsn.as_str(), o.latch_dsn.as_str()), ("postgres://hydra@db/hydra", "sqlite://latch.db"));
        assert_eq!(o.hydra_secrets, vec![hydra.as_bytes().to_vec(), b"older-hydra-secret-0123".to_vec()]);
        assert_eq!(o.latch_secrets, o.hydra_secrets, "without a Latch secret, Hydra's");
        assert!(o.dry_run && !o.dev);
        assert_eq!(o.nid.as_deref(), Some("0a0a0a0a-0000-0000-0000-000000000000"));
        // The -c file's dsn and secrets.system, when no flag gives them.
        let file = BTreeMap::from([
            ("DSN".to_string(), "postgres://latch".to_string()),
            ("SECRETS_SYSTEM".to_string(), "latch-secret-0123456789".to_string()),
        ]);
        let mut a = from_hydra_args(&["postgres://hydra@db/hydra", "--hydra-secret", hydra]);
        a.dsn = None;
        a.secret = None;
        let o = from_hydra_options(&a, &file).unwrap();
        assert_eq!(o.latch_dsn, "postgres://latch");
        assert_eq!(o.latch_secrets, vec![b"latch-secret-0123456789".to_vec()]);
        a.secret = Some("short".into());
        assert!(matches!(from_hydra_options(&a, &file), Err(CliError::Usage(_))));
        a.secret = None;
        assert!(matches!(from_hydra_options(&a, &BTreeMap::new()), Err(CliError::Usage(_))), "no Latch DSN");
        assert!(Cli::try_parse_from(["latch", "migrate", "from-hydra"]).is_err(), "the Hydra DSN is required");
    }

    #[test]
    fn from_hydra_report_text() {
        let mut r = FromHydraReport { nid: "n1".into(), ..Default::default() };
        r.clients.copied = vec!["a".into(), "b".into()];
        r.clients.skipped = vec![("c".into(), "why".into())];
        r.keys.already_present = vec!["s/k".into()];
        let text = from_hydra_text(&r, false);
        assert!(text.contains("clients: 2 copied, 0 already present, 1 skipped\n  skipped c: why\n"), "{text}");
        assert!(text.contains("JSON Web Keys: 0 copied, 1 already present, 0 skipped\n"), "{text}");
        r.dry_run = true;
        let text = from_hydra_text(&r, false);
        assert!(text.starts_with("Dry run: nothing was written.\n") && text.contains("2 would copy"), "{text}");
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
