//! The SQL stores: one [`SqlStore`] for SQLite, PostgreSQL and MySQL/MariaDB,
//! implementing the storage traits of [`latch_core::store`].
//!
//! Every statement and row mapping is the SQL layer's ([`latch_sql`]): a text written
//! once with `?` placeholders and translated once for the store's [`Dialect`], each
//! record's values and decoder; this module only executes them.
//!
//! **PostgreSQL and MySQL** go through sqlx's `Any` driver. Concurrent token inserts
//! share commits ([`batch`]).
//!
//! **SQLite** (a file, or `memory`) is served by [`lite::LiteStore`] on rusqlite (a
//! [`Backend`] of its own beside the servers'): reads run inline on the
//! calling thread on pooled connections, writes go to one writer thread that commits them
//! in groups, each call in its own savepoint. sqlx's SQLite driver cost ~55 µs of
//! thread hand-offs per point read and made writes queue behind an async lock (see
//! `lite` for the measurements and the design). LiteStore runs the same [`Queries`]
//! (SQLite takes `?` as written) on the same schema. A SQLite `SqlStore` keeps a small
//! sqlx pool for what stays on sqlx: [`SqlStore::migrate`] and the migration check of
//! [`SqlStore::pending_migrations`] and readiness. For `memory`, both open the same
//! shared-cache URI (one libsqlite3 is linked into the process), so they reach the same
//! database.
//!
//! The schema lives in `native/migrations/<dialect>/`, embedded with `sqlx::migrate!`.
//!
//! The compare-and-set operations of [`TokenStore`](latch_core::store::TokenStore) are
//! each one conditional `UPDATE … WHERE active = 1` (and, for the ones that must also
//! read or insert, one transaction around it, or on SQLite one writer job): the database
//! decides which of any number of concurrent callers wins. Completing a consent is
//! decided the same way by the primary key of `latch_consents` ([`consents`]).
//!
//! SQLite allows one writer at a time: the writer thread is this store's only writer and
//! opens its transactions with `BEGIN IMMEDIATE`; `busy_timeout` covers other processes on
//! the same file. Readers run concurrently with it (WAL).

mod batch;
mod clients;
mod consents;
pub mod dsn;
mod error;
mod keys;
mod lite;
mod login_sessions;
mod notify;
mod outage;
mod rows;
mod tokens;
mod trusts;

pub use latch_sql::Dialect;

use error::{from_migrate, from_sqlx, lost_lock_race};
use latch_core::client::Client;
use latch_core::error::StoreError;
use latch_core::store::{
    ClientQuery, ClientStore, ConsentRecord, ConsentStore, Consumed, KeyStore, LoginSession, LoginSessionStore,
    ReplayStore, Rotated, Store, StoredKey, TokenKind, TokenRecord, TokenStore, TrustGrant, TrustQuery, TrustStore,
};
use latch_core::{Caches, Coherence};
use latch_sql::Queries;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::pool::PoolConnectionMetadata;
use sqlx::{Any, AnyConnection, AnyPool, Transaction};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("migrations/mysql");

/// Connections of a PostgreSQL or MySQL pool.
const SERVER_POOL_SIZE: u32 = 16;
/// Connections of a SQLite store's sqlx pool, which only migrates and checks migrations
/// (the store's operations run on [`lite::LiteStore`]'s own connections).
const SQLITE_POOL_SIZE: u32 = 2;
/// How long SQLite waits on a lock held by another connection or process (a `latch
/// janitor` batch holds it for milliseconds); past it the call is answered 503 rather
/// than every request waiting for a lock that is not let go.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 1_000;
/// How long a caller waits for a connection (a free one, or a new one from a server that
/// refuses connections) before the store is "unavailable": a request is answered 503
/// within about a second of the database going away, and at once after that (see
/// [`outage`]).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long start-up waits for a database server that refuses connections (one that is
/// still starting, as in a compose file).
const STARTUP_WAIT: Duration = Duration::from_secs(5);
/// How many times a transaction that lost a lock race runs again (see
/// [`SqlStore::retrying`]); each waits a millisecond longer than the one before.
const LOCK_RACE_RETRIES: u32 = 32;

/// A store in a SQL database.
#[derive(Debug)]
pub struct SqlStore {
    /// sqlx's pool: the server's connections, or on SQLite only what migrates and checks
    /// migrations.
    pool: AnyPool,
    dialect: Dialect,
    /// What serves the storage operations.
    backend: Backend,
}

/// What serves a [`SqlStore`]'s storage operations: each operation is written once per
/// backend, and [`SqlStore`] hands every call to its backend (`backend_operations!`).
#[derive(Debug)]
enum Backend {
    /// SQLite on rusqlite. For an in-memory database it also holds the connection that
    /// keeps the database alive for the store's life.
    Lite(lite::LiteStore),
    /// PostgreSQL or MySQL on sqlx.
    Server(Server),
}

/// The store on a PostgreSQL or MySQL server, through sqlx's `Any` driver.
#[derive(Debug)]
struct Server {
    pool: AnyPool,
    dialect: Dialect,
    sql: Queries,
    /// Group commit of token inserts (see [`batch`]).
    batcher: batch::Batcher,
    /// Whether the server is known to be down (see [`outage`]).
    outage: Arc<outage::Outage>,
    /// PostgreSQL: the URL the cache-invalidation listener connects to ([`notify`]).
    listen_url: Option<String>,
    /// PostgreSQL: the listener, once started by [`SqlStore::listen`]; stops with the store.
    listener: std::sync::Mutex<Option<Arc<notify::Listener>>>,
}

impl SqlStore {
    /// Connects to the database a DSN names and checks that it answers.
    ///
    /// - `sqlite://path/to/file.db` (or `sqlite:path`): a file, created when missing, in
    ///   WAL mode with `synchronous=NORMAL`, a busy timeout, foreign keys on and temporary
    ///   storage (savepoint sub-journals) in memory.
    /// - `memory`, `sqlite::memory:`: a fresh SQLite database in process memory, private
    ///   to this store and gone when it is dropped.
    /// - `postgres://…`, `postgresql://…`: PostgreSQL.
    /// - `mysql://…`, `mariadb://…`: MySQL or MariaDB.
    ///
    /// Does not migrate: call [`SqlStore::migrate`].
    ///
    /// Hydra's pool parameters (`max_conns`, `max_conn_lifetime`, …) and the Go driver's
    /// MySQL form `user:pass@tcp(host:port)/db` are understood (see [`dsn`]).
    pub async fn connect(dsn: &str) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::from_dsn(dsn)?;
        let parsed = dsn::parse(dsn)?;
        let dsn = parsed.url.as_str();
        let store = match dialect {
            Dialect::Sqlite => Self::connect_sqlite(dsn).await?,
            Dialect::Postgres | Dialect::MySql => {
                let pool = AnyPoolOptions::new()
                    .max_connections(parsed.max_conns.unwrap_or(SERVER_POOL_SIZE))
                    // Without the parameters, sqlx's own defaults (30 min, 10 min).
                    .max_lifetime(parsed.max_conn_lifetime.or(Some(Duration::from_secs(30 * 60))))
                    .idle_timeout(parsed.max_conn_idle_time.or(Some(Duration::from_secs(10 * 60))))
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_lazy(dsn)
                    .map_err(from_sqlx)?;
                // The first connection, waiting up to STARTUP_WAIT for a server that is
                // still starting (each try waits ACQUIRE_TIMEOUT).
                let started = std::time::Instant::now();
                loop {
                    match pool.acquire().await {
                        Ok(_) => break,
                        Err(sqlx::Error::PoolTimedOut) if started.elapsed() < STARTUP_WAIT => continue,
                        Err(e) => return Err(from_sqlx(e)),
                    }
                }
                let listen_url = (dialect == Dialect::Postgres).then(|| dsn.to_owned());
                let server = Server::new(pool.clone(), dialect, listen_url);
                SqlStore { pool, dialect, backend: Backend::Server(server) }
            }
        };
        Ok(store)
    }

    async fn connect_sqlite(dsn: &str) -> Result<SqlStore, StoreError> {
        let target = SqliteTarget::parse(dsn);
        let options = AnyPoolOptions::new()
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, meta| Box::pin(apply_sqlite_pragmas(conn, meta)));
        let options = if target.in_memory {
            // One connection that never closes; LiteStore's anchor keeps the database
            // alive besides.
            options.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
        } else {
            options.max_connections(SQLITE_POOL_SIZE)
        };
        // sqlx first: it creates a missing file (`mode=rwc`).
        let pool = options.connect(&target.url).await.map_err(from_sqlx)?;
        if !target.in_memory {
            // Persistent in the file. Set once here, before any concurrency: switching
            // journal modes needs an exclusive lock that busy_timeout does not wait for.
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await.map_err(from_sqlx)?;
        }
        let lite = lite::LiteStore::open(&target.lite_uri, target.in_memory)?;
        Ok(SqlStore { pool, dialect: Dialect::Sqlite, backend: Backend::Lite(lite) })
    }

    /// The pool, or `Err` at once while the database server is known to be down.
    fn pool(&self) -> Result<&AnyPool, StoreError> {
        match &self.backend {
            Backend::Server(server) => server.pool(),
            Backend::Lite(_) => Ok(&self.pool),
        }
    }

    /// A call failed as unavailable (the server answered 503): on PostgreSQL and MySQL,
    /// probes the database and, if it does not answer either, answers later calls 503 at
    /// once until it does (see [`outage`]). SQLite's failures are its own file's (a lock
    /// held elsewhere, a full disk), bounded by its busy timeout: nothing to probe.
    pub fn suspect_outage(&self) {
        if let Backend::Server(server) = &self.backend {
            server.outage.suspect(&server.pool, &server.sql.ping);
        }
    }

    /// What a server over this store may cache (see [`Coherence`]): SQLite is served by
    /// one process ([`SqlStore::claim`]); PostgreSQL tells every server of changes
    /// ([`SqlStore::listen`]); MySQL does not, so clients are never cached there.
    pub fn coherence(&self) -> Coherence {
        match self.dialect {
            Dialect::Sqlite => Coherence::Exclusive,
            Dialect::Postgres => Coherence::Notified,
            Dialect::MySql => Coherence::Shared,
        }
    }

    /// PostgreSQL: starts hearing of client and key changes made by any server on the
    /// database, forgetting them from `caches` ([`notify`]); the listener stops when the
    /// store is dropped. A no-op on the other dialects.
    pub async fn listen(&self, caches: Arc<Caches>) {
        let Backend::Server(Server { listen_url: Some(url), listener: slot, .. }) = &self.backend else { return };
        let listener = notify::listen(url.clone(), caches).await;
        if let Ok(mut slot) = slot.lock() {
            *slot = Some(Arc::new(listener));
        }
    }

    /// The database's dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Claims the database for this process's server (`latch serve`). SQLite: a second
    /// server on the same file is refused, and token reads are then cached (see
    /// `lite::LiteStore::claim`). PostgreSQL and MySQL are shared by design: nothing to do.
    pub fn claim(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Lite(lite) => lite.claim(),
            Backend::Server(_) => Ok(()),
        }
    }

    /// Applies the migrations not yet applied (a no-op when there are none).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.migrator().run(&self.pool).await.map_err(from_migrate)
    }

    /// Every migration of this dialect, oldest first: its version, description and
    /// whether it is applied (`latch migrate sql status`).
    pub async fn migration_status(&self) -> Result<Vec<(i64, String, bool)>, StoreError> {
        let mut conn = self.pool()?.acquire().await.map_err(from_sqlx)?;
        let applied: HashSet<i64> = if self.migrations_table_exists(&mut conn).await? {
            conn.list_applied_migrations().await.map_err(from_migrate)?.into_iter().map(|m| m.version).collect()
        } else {
            HashSet::new()
        };
        Ok(self
            .migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
            .map(|m| (m.version, m.description.to_string(), applied.contains(&m.version)))
            .collect())
    }

    /// How many migrations are not applied yet; readiness wants 0.
    pub async fn pending_migrations(&self) -> Result<usize, StoreError> {
        Ok(self.migration_status().await?.iter().filter(|(_, _, applied)| !applied).count())
    }

    /// Closes the store: waits for connections in use to come back (on SQLite, for the
    /// writes queued so far to commit), then closes them all.
    pub async fn close(&self) {
        if let Backend::Lite(lite) = &self.backend {
            lite.close().await;
        }
        self.pool.close().await;
    }

    fn migrator(&self) -> &'static Migrator {
        match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
            Dialect::MySql => &MYSQL_MIGRATIONS,
        }
    }

    /// Whether sqlx's bookkeeping table exists (checked without creating it).
    async fn migrations_table_exists(&self, conn: &mut AnyConnection) -> Result<bool, StoreError> {
        let sql = match self.dialect {
            Dialect::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
            Dialect::Postgres => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
            Dialect::MySql => {
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name = '_sqlx_migrations'"
            }
        };
        let n: i64 = sqlx::query_scalar(sql).fetch_one(&mut *conn).await.map_err(from_sqlx)?;
        Ok(n > 0)
    }
}

impl Server {
    fn new(pool: AnyPool, dialect: Dialect, listen_url: Option<String>) -> Server {
        Server {
            batcher: batch::Batcher::start(pool.clone(), Arc::new(Queries::new(dialect))),
            pool,
            dialect,
            sql: Queries::new(dialect),
            outage: Default::default(),
            listen_url,
            listener: std::sync::Mutex::new(None),
        }
    }

    /// The pool, or `Err` at once while the database server is known to be down.
    fn pool(&self) -> Result<&AnyPool, StoreError> {
        self.outage.check()?;
        Ok(&self.pool)
    }

    /// Runs one statement on the pool; how many rows it changed.
    async fn run(&self, query: rows::AnyQuery<'_>) -> Result<u64, StoreError> {
        Ok(query.execute(self.pool()?).await.map_err(from_sqlx)?.rows_affected())
    }

    /// Before a write the PostgreSQL triggers announce as `payload`: what to wait on
    /// once it committed (see [`notify::Announcement`]).
    async fn announcement(&self, payload: impl FnOnce() -> String) -> notify::Announcement {
        let listener = self.listener.lock().ok().and_then(|slot| slot.clone());
        match listener {
            Some(l) => l.expect(&self.pool, payload()).await,
            None => notify::Announcement::none(),
        }
    }

    /// Begins a write transaction.
    async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        self.pool()?.begin().await.map_err(from_sqlx)
    }

    /// Begins a revocation's transaction: on PostgreSQL under REPEATABLE READ, so that a
    /// token written by a concurrent rotation or grace re-issue after the revocation's
    /// snapshot fails it (and [`Server::retrying`] runs it again) instead of staying
    /// active unseen; MySQL's default is REPEATABLE READ already (see `tokens`).
    async fn begin_revocation(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let mut tx = self.begin().await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *tx)
                .await
                .map_err(from_sqlx)?;
        }
        Ok(tx)
    }

    /// Runs a transaction, and again when it lost a lock race (a deadlock or a
    /// serialization failure rolled it back, so it changed nothing), up to
    /// [`LOCK_RACE_RETRIES`] times.
    async fn retrying<T, F, Fut>(&self, mut attempt: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let mut tries = 0;
        loop {
            match attempt().await {
                Err(e) if lost_lock_race(&e) && tries < LOCK_RACE_RETRIES => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(u64::from(tries))).await;
                }
                done => return done,
            }
        }
    }
}

/// Implements storage traits for [`SqlStore`] by handing each operation to its
/// [`Backend`], which implements it.
macro_rules! backend_operations {
    ($($store:ident { $(fn $op:ident(&self $(, $arg:ident: $ty:ty)*) -> $out:ty;)* })*) => {$(
        impl $store for SqlStore {
            $(async fn $op(&self $(, $arg: $ty)*) -> Result<$out, StoreError> {
                match &self.backend {
                    Backend::Lite(lite) => lite.$op($($arg),*).await,
                    Backend::Server(server) => server.$op($($arg),*).await,
                }
            })*
        }
    )*};
}

backend_operations! {
    ClientStore {
        fn create_client(&self, client: &Client) -> ();
        fn get_client(&self, id: &str) -> Option<Client>;
        fn update_client(&self, client: &Client) -> bool;
        fn update_client_if_unchanged(&self, client: &Client, expected_updated_at: i64) -> bool;
        fn delete_client(&self, id: &str) -> bool;
        fn list_clients(&self, query: &ClientQuery) -> Vec<Client>;
    }
    TokenStore {
        fn insert_tokens(&self, records: &[TokenRecord]) -> ();
        fn get_token(&self, kind: TokenKind, signature: &str) -> Option<TokenRecord>;
        fn revoke_token(&self, kind: TokenKind, signature: &str) -> bool;
        fn revoke_grant(&self, request_id: &str) -> u64;
        fn delete_client_access_tokens(&self, client_id: &str) -> u64;
        fn consume_code(&self, signature: &str, now: i64, tokens: &[TokenRecord]) -> Consumed;
        fn consume_device_code(&self, signature: &str, now: i64, tokens: &[TokenRecord]) -> Consumed;
        fn get_device_records(&self, request_signature: &str, approval_signature: &str) -> Vec<TokenRecord>;
        fn record_device_poll(&self, signature: &str, now: i64, polled_by: i64) -> bool;
        fn rotate_refresh_token(&self, signature: &str, now: i64, successors: &[TokenRecord]) -> Rotated;
        fn reissue_within_grace(&self, request_id: &str, now: i64, successors: &[TokenRecord]) -> bool;
        fn insert_tokens_while_active(&self, kind: TokenKind, signature: &str, now: i64, records: &[TokenRecord]) -> bool;
        fn delete_expired_tokens(&self, before: i64, limit: u32) -> u64;
    }
    KeyStore {
        fn add_key(&self, key: &StoredKey) -> ();
        fn get_key_set(&self, set: &str) -> Vec<StoredKey>;
        fn delete_key_set(&self, set: &str) -> u64;
        fn delete_key(&self, set: &str, kid: &str) -> bool;
        fn list_keys(&self) -> Vec<StoredKey>;
        fn reseal_key(&self, set: &str, kid: &str, old_sealed: &str, new_sealed: &str) -> bool;
    }
    LoginSessionStore {
        fn create_login_session(&self, session: &LoginSession) -> ();
        fn get_login_session(&self, id: &str) -> Option<LoginSession>;
        fn end_login_session(&self, id: &str) -> bool;
        fn extend_login_session(&self, id: &str, subject: &str, expires_at: i64, now: i64) -> bool;
        fn end_login_sessions_of_subject(&self, subject: &str) -> u64;
        fn delete_expired_login_sessions(&self, before: i64, limit: u32) -> u64;
    }
    ConsentStore {
        fn complete_consent(&self, consent: &ConsentRecord, tokens: &[TokenRecord]) -> ();
        fn remembered_consents(&self, subject: &str, client_id: &str, now: i64) -> Vec<ConsentRecord>;
        fn list_consents(&self, subject: &str, login_session_id: Option<&str>) -> Vec<ConsentRecord>;
        fn revoke_consent(&self, id: &str) -> bool;
        fn revoke_consents(&self, subject: &str, client_id: Option<&str>) -> u64;
        fn delete_revoked_consents(&self, before: i64, limit: u32) -> u64;
    }
    TrustStore {
        fn create_trust(&self, grant: &TrustGrant) -> ();
        fn get_trust(&self, id: &str) -> Option<TrustGrant>;
        fn list_trusts(&self, query: &TrustQuery) -> Vec<TrustGrant>;
        fn delete_trust(&self, id: &str) -> bool;
        fn trusts_for(&self, issuer: &str, subject: &str, key_id: Option<&str>, now: i64) -> Vec<TrustGrant>;
    }
    ReplayStore {
        fn use_jti(&self, jti_hash: &str, expires_at: i64, now: i64) -> bool;
        fn delete_expired_jtis(&self, before: i64, limit: u32) -> u64;
    }
}

impl Store for SqlStore {
    /// Readiness (Hydra's `/health/ready`): the database answers and no migration is
    /// pending (a missing schema counts as pending).
    async fn ping(&self) -> Result<(), StoreError> {
        match &self.backend {
            // The connections that serve requests answer.
            Backend::Lite(lite) => lite.ping()?,
            Backend::Server(server) => {
                sqlx::query(&server.sql.ping).execute(server.pool()?).await.map_err(from_sqlx)?;
            }
        }
        match self.pending_migrations().await? {
            0 => Ok(()),
            n => Err(StoreError::Unavailable(format!("{n} migration(s) pending: run `latch migrate sql`"))),
        }
    }
}

/// Where a SQLite DSN points.
struct SqliteTarget {
    /// The URL handed to sqlx.
    url: String,
    /// The same database as a SQLite URI (`file:…`, opened with `SQLITE_OPEN_URI`), for
    /// [`lite::LiteStore`]: what follows `sqlite://` in `url`, which sqlx too reads as a
    /// path and SQLite's URI parameters (`mode`, `cache`, `immutable`, `vfs`).
    lite_uri: String,
    /// Whether the database lives in process memory.
    in_memory: bool,
}

impl SqliteTarget {
    fn parse(dsn: &str) -> SqliteTarget {
        let rest = dsn.strip_prefix("sqlite://").or_else(|| dsn.strip_prefix("sqlite:")).unwrap_or("");
        let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
        if dsn == "memory" || path == ":memory:" || params.split('&').any(|p| p == "mode=memory") {
            // A name of our own: sqlx would name `:memory:` anew for every connection.
            let name = format!("latch-{:016x}", rand::random::<u64>());
            let uri = format!("file:{name}?mode=memory&cache=shared");
            return SqliteTarget { url: format!("sqlite:{uri}"), lite_uri: uri, in_memory: true };
        }
        let location = if params.split('&').any(|p| p.starts_with("mode=")) {
            rest.to_owned()
        } else if params.is_empty() {
            format!("{path}?mode=rwc")
        } else {
            format!("{path}?{params}&mode=rwc")
        };
        SqliteTarget { url: format!("sqlite://{location}"), lite_uri: format!("file:{location}"), in_memory: false }
    }
}

/// Per-connection SQLite settings, for sqlx's connections and LiteStore's alike.
///
/// `temp_store = MEMORY` keeps savepoint sub-journals in memory. The writer runs each
/// job of a batch in its own savepoint, and SQLite copies every page a job touches into
/// the sub-journal, spilling it to an unlinked temporary file past 64 KiB: under
/// complete authorization-code flows that meant several `pwrite`s per flow to a temporary
/// file. The sub-journal lives only until the batch commits, so memory
/// holds at most one batch's worth of pages. SQLite's temporary tables and sorts, which
/// Latch's bounded queries rarely need, go to memory too.
fn sqlite_pragmas() -> [String; 4] {
    [
        format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"),
        "PRAGMA synchronous = NORMAL".to_owned(),
        "PRAGMA foreign_keys = ON".to_owned(),
        "PRAGMA temp_store = MEMORY".to_owned(),
    ]
}

/// Applies [`sqlite_pragmas`] to a new sqlx connection.
async fn apply_sqlite_pragmas(conn: &mut AnyConnection, _: PoolConnectionMetadata) -> Result<(), sqlx::Error> {
    for pragma in sqlite_pragmas() {
        sqlx::query(&pragma).execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dropped pool connection (what a cancelled request does) must not take the
    /// in-memory database with it.
    #[tokio::test]
    async fn memory_database_survives_a_dropped_connection() {
        let store = SqlStore::connect("memory").await.expect("connect");
        store.migrate().await.expect("migrate");
        let client = latch_core::client::Client { client_id: "kept".into(), ..Default::default() };
        store.create_client(&client).await.expect("create");
        let conn = store.pool.acquire().await.expect("acquire");
        drop(conn.detach()); // closes the pool's only connection for good
        let found = store.get_client("kept").await.expect("read");
        assert_eq!(found.map(|c| c.client_id), Some("kept".to_string()));
        assert_eq!(store.pending_migrations().await.expect("the pool reconnects to the same database"), 0);
    }

    /// sqlx (migrations) and LiteStore (everything else) reach the same in-memory database.
    #[tokio::test]
    async fn sqlx_and_lite_share_the_memory_database() {
        let store = SqlStore::connect("memory").await.expect("connect");
        assert!(matches!(store.backend, Backend::Lite(_)));
        store.migrate().await.expect("migrate through sqlx");
        let client = latch_core::client::Client { client_id: "shared".into(), ..Default::default() };
        store.create_client(&client).await.expect("create through LiteStore");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM latch_clients WHERE id = 'shared'")
            .fetch_one(&store.pool)
            .await
            .expect("sqlx sees the table");
        assert_eq!(n, 1, "and the row");
        store.ping().await.expect("ready");
        let other = SqlStore::connect("memory").await.expect("connect");
        let all = SQLITE_MIGRATIONS.iter().count();
        assert_eq!(other.pending_migrations().await.expect("pending"), all, "another store has a database of its own");
        assert!(matches!(other.get_client("shared").await, Err(StoreError::Backend(_))), "without the schema");
    }

    #[test]
    fn sqlite_dsns() {
        let file = SqliteTarget::parse("sqlite://data/latch.db");
        assert_eq!((file.url.as_str(), file.in_memory), ("sqlite://data/latch.db?mode=rwc", false));
        assert_eq!(file.lite_uri, "file:data/latch.db?mode=rwc");
        let abs = SqliteTarget::parse("sqlite:///var/lib/latch.db");
        assert_eq!(abs.url, "sqlite:///var/lib/latch.db?mode=rwc");
        assert_eq!(abs.lite_uri, "file:/var/lib/latch.db?mode=rwc");
        let short = SqliteTarget::parse("sqlite:latch.db?cache=private");
        assert_eq!(short.url, "sqlite://latch.db?cache=private&mode=rwc");
        assert_eq!(short.lite_uri, "file:latch.db?cache=private&mode=rwc");
        let ro = SqliteTarget::parse("sqlite://latch.db?mode=ro");
        assert_eq!((ro.url.as_str(), ro.lite_uri.as_str()), ("sqlite://latch.db?mode=ro", "file:latch.db?mode=ro"));
        for dsn in ["memory", "sqlite::memory:", "sqlite://:memory:"] {
            let m = SqliteTarget::parse(dsn);
            assert!(m.in_memory, "{dsn}");
            assert!(m.url.starts_with("sqlite:file:latch-") && m.url.ends_with("?mode=memory&cache=shared"));
            assert_eq!(m.url.strip_prefix("sqlite:"), Some(m.lite_uri.as_str()), "the same database for both");
        }
        assert_ne!(SqliteTarget::parse("memory").url, SqliteTarget::parse("memory").url);
    }

    /// The server calls the store from axum handlers: every future must be `Send`.
    #[allow(dead_code)]
    fn futures_are_send(
        s: &SqlStore,
        c: &latch_core::client::Client,
        k: &latch_core::store::StoredKey,
        l: &latch_core::store::LoginSession,
        r: &latch_core::store::ConsentRecord,
    ) {
        fn send<T: Send>(_: T) {}
        send(s.create_client(c));
        send(s.list_clients(&Default::default()));
        send(s.insert_tokens(&[]));
        send(s.consume_code("", 0, &[]));
        send(s.rotate_refresh_token("", 0, &[]));
        send(s.revoke_grant(""));
        send(s.delete_expired_tokens(0, 1));
        send(s.add_key(k));
        send(s.create_login_session(l));
        send(s.delete_expired_login_sessions(0, 1));
        send(s.complete_consent(r, &[]));
        send(s.remembered_consents("", "", 0));
        send(s.list_consents("", None));
        send(s.revoke_consents("", None));
        send(s.revoke_consent(""));
        send(s.ping());
        send(s.migrate());
        send(s.pending_migrations());
    }
}
