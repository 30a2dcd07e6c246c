//! # latch-native
//!
//! Latch's native server: the axum adapter around `latch-core` ([`app`]), sqlx stores
//! for SQLite, PostgreSQL and MySQL ([`store`]), settings from the environment
//! ([`config`]), Prometheus metrics ([`metrics`]), logs and OTLP tracing ([`telemetry`]).

pub mod app;
pub mod config;
pub mod from_hydra;
pub mod listener;
pub mod metrics;
pub mod outbound;
pub mod platform;
pub mod store;
pub mod telemetry;
pub mod tls;

use latch_core::{Latch, Port};
use platform::NativePlatform;
use std::sync::Arc;
use store::SqlStore;

/// Why the server could not start or a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is missing or wrong; the message names the key.
    #[error("configuration error: {0}")]
    Config(String),
    /// The database failed.
    #[error("database error: {0}")]
    Store(#[from] latch_core::StoreError),
    /// A listener could not bind, or serving failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The protocol core refused (e.g. key generation failed).
    #[error("{0}")]
    Core(#[from] latch_core::Error),
}

/// Which listeners `serve` starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServeMode {
    /// Public and admin.
    All,
    /// Public only.
    Public,
    /// Admin only.
    Admin,
}

/// What `latch serve` was asked for.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Which listeners.
    pub mode: ServeMode,
    /// Development mode: http allowed, migrations run automatically, debug detail in errors.
    pub dev: bool,
    /// `--dsn` (overrides the `DSN` variable).
    pub dsn: Option<String>,
    /// `-c/--config`: YAML files with Hydra's keys, read in order (a later file's
    /// setting wins); environment variables override them.
    pub config: Vec<std::path::PathBuf>,
    /// Settings to use when neither the environment nor the file sets them
    /// (environment-style names; `latch quickstart` points the UI URLs at its app).
    pub defaults: Vec<(String, String)>,
}

/// Connects, migrates when allowed, and builds the shared server.
pub async fn build(settings: &config::ServerSettings, migrate: bool) -> Result<app::Server, Error> {
    let store = SqlStore::connect(&settings.dsn).await?;
    store.claim()?;
    if migrate {
        store.migrate().await?;
    } else {
        let pending = store.pending_migrations().await?;
        if pending > 0 {
            return Err(Error::Config(format!(
                "DSN: the database has {pending} pending migration(s); run `latch migrate sql <dsn>` first (or start with --dev)"
            )));
        }
    }
    let coherence = store.coherence();
    let latch = Latch::new(store, NativePlatform, settings.core.clone()).with_coherence(coherence);
    latch.store.listen(latch.caches()).await;
    // The signing keys, ready before the first request (never generated on a request
    // path): keys sealed under an older system secret are re-sealed under the first (so
    // that the older secret can be retired), keys no configured secret opens are named,
    // and a well-known set without a key gets one.
    let prepared = latch.prepare_keys().await?;
    for (set, kid) in &prepared.reseal.resealed {
        tracing::info!(%set, %kid, "re-sealed the signing key under the first system secret");
    }
    for (set, kid, why) in &prepared.reseal.unreadable {
        tracing::error!(
            %set, %kid,
            "signing key unusable: {why}; /health/ready answers 503 and the set cannot sign while it is its newest key: \
             configure the secret it was sealed under again (SECRETS_SYSTEM, after the first), or delete the key"
        );
    }
    for (set, kid, alg) in &prepared.generated {
        tracing::info!(%set, %kid, alg = alg.as_str(), "generated the first signing key of the set");
    }
    Ok(Arc::new(latch))
}

/// Resolves on Ctrl-C or SIGTERM. SIGTERM is how container engines stop a service, and a
/// process running as a container's PID 1 that does not handle it is never stopped by it
/// (the kernel ignores it there), only killed when the stop timeout runs out.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: draining in-flight requests");
}

async fn listen(addr: &str, server: app::Server, port: Port, limits: &config::ListenerSettings) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Io(std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}"))))?;
    tracing::info!(%addr, ?port, max_connections = limits.max_connections, "listening");
    listener::serve(listener, server, port, limits.clone(), shutdown_signal()).await?;
    Ok(())
}

/// File descriptors kept for everything but client connections (database connections,
/// SQLite files, logs).
const RESERVED_FILES: u64 = 128;

/// Lowers the connection caps to fit the open-files limit when they would not, so a
/// flood meets the caps rather than the limit (where the database and the other port
/// would have no descriptors left).
fn fit_caps_to_open_files(settings: &mut config::ServerSettings, mode: ServeMode, limit: Option<u64>) {
    let Some(limit) = limit else { return };
    let public = if mode == ServeMode::Admin { 0 } else { settings.public_listener.max_connections as u64 };
    let admin = if mode == ServeMode::Public { 0 } else { settings.admin_listener.max_connections as u64 };
    let room = limit.saturating_sub(RESERVED_FILES).max(2);
    if public + admin <= room {
        return;
    }
    let scale = |n: u64| ((n as u128 * room as u128 / (public + admin) as u128) as u64).max(1) as usize;
    settings.public_listener.max_connections = scale(public);
    settings.admin_listener.max_connections = scale(admin);
    tracing::warn!(
        open_files_limit = limit,
        public = settings.public_listener.max_connections,
        admin = settings.admin_listener.max_connections,
        "the open-files limit (ulimit -n) is below the connection caps: lowered them to fit"
    );
}

/// `latch serve all|public|admin`.
pub async fn serve(opts: ServeOptions) -> Result<(), Error> {
    let file = config::read_files(&opts.config)?;
    // The environment overrides the file, as in Hydra.
    let get = |k: &str| {
        std::env::var(k)
            .ok()
            .filter(|v| !v.is_empty())
            .or_else(|| file.get(k).cloned())
            .or_else(|| opts.defaults.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    };
    let mut settings = config::from_env(&get, opts.dev, opts.dsn.as_deref())?;
    let telemetry = telemetry::init(&settings.log_level, &settings.log_format, settings.tracing.as_ref())?;
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    fit_caps_to_open_files(&mut settings, opts.mode, listener::raise_open_files_limit());
    if opts.dev {
        tracing::warn!(
            "--dev: http issuers and redirect URIs are allowed and errors carry debug detail; never use in production"
        );
    }
    // An in-memory database can only be migrated by the process that holds it.
    let in_memory = store::Dialect::from_dsn(&settings.dsn).is_ok_and(|d| d == store::Dialect::Sqlite)
        && (settings.dsn == "memory" || settings.dsn.contains(":memory:") || settings.dsn.contains("mode=memory"));
    let served = async {
        let server = build(&settings, opts.dev || in_memory).await?;
        tracing::info!(issuer = %settings.core.issuer, "latch is ready");
        match opts.mode {
            ServeMode::All => {
                let public = listen(&settings.public_addr, server.clone(), Port::Public, &settings.public_listener);
                let admin = listen(&settings.admin_addr, server, Port::Admin, &settings.admin_listener);
                tokio::try_join!(public, admin)?;
            }
            ServeMode::Public => listen(&settings.public_addr, server, Port::Public, &settings.public_listener).await?,
            ServeMode::Admin => listen(&settings.admin_addr, server, Port::Admin, &settings.admin_listener).await?,
        }
        Ok(())
    }
    .await;
    // After the listeners have drained: the last requests' spans go out too.
    telemetry.shutdown().await;
    served
}

/// `latch migrate sql <dsn>`: applies pending migrations.
pub async fn migrate_sql(dsn: &str) -> Result<(), Error> {
    let store = SqlStore::connect(dsn).await?;
    store.migrate().await?;
    Ok(())
}

/// `latch migrate sql status <dsn>`: every migration, oldest first, with whether it is
/// applied.
pub async fn migration_status(dsn: &str) -> Result<Vec<(i64, String, bool)>, Error> {
    let store = SqlStore::connect(dsn).await?;
    Ok(store.migration_status().await?)
}

/// Parses a Go-style duration (`1h`, `30m`) into seconds.
pub fn duration_seconds(s: &str) -> Option<i64> {
    latch_core::duration::parse_seconds(s)
}

/// What `latch janitor` removed.
pub use latch_core::janitor::JanitorReport;

/// `latch janitor`: one core janitor pass ([`latch_core::janitor::Janitor`]) over the
/// database: deletes what expired before `now - keep_if_younger` seconds, in batches of
/// `batch_size`, at most `limit` rows of each kind; ended logins and revoked consents not
/// before `login_consent_ttl` seconds passed.
pub async fn janitor(
    dsn: &str,
    batch_size: u32,
    limit: u64,
    keep_if_younger: i64,
    login_consent_ttl: i64,
    kinds: latch_core::janitor::Kinds,
) -> Result<JanitorReport, Error> {
    use latch_core::platform::Platform;
    let store = SqlStore::connect(dsn).await?;
    let pending = store.pending_migrations().await?;
    if pending > 0 {
        return Err(Error::Config(format!("DSN: {pending} migration(s) pending; run `latch migrate sql <dsn>` first")));
    }
    let pass = latch_core::janitor::Janitor { batch_size, limit, keep_if_younger, login_consent_ttl, kinds };
    let report = pass.run(&store, NativePlatform.now()).await?;
    store.close().await;
    Ok(report)
}
