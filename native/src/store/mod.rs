//! The SQL stores: one [`SqlStore`] over sqlx's `Any` driver for SQLite, PostgreSQL and
//! MySQL/MariaDB, implementing the storage traits of [`latch_core::store`].
//!
//! Every query is written once with `?` placeholders ([`sql`]) and translated once for
//! the store's [`Dialect`]; the dialects differ only in placeholders, in the bounded
//! deletes of the janitor and in row locks (`FOR UPDATE`, which SQLite neither has nor
//! needs). The schema lives in `native/migrations/<dialect>/`, embedded with
//! `sqlx::migrate!`.
//!
//! The compare-and-set operations of [`TokenStore`](latch_core::store::TokenStore) are
//! each one conditional `UPDATE … WHERE active = 1` (and, for the ones that must also
//! read or insert, one transaction around it): the database decides which of any number
//! of concurrent callers wins. Completing a consent is decided the same way by the
//! primary key of `latch_consents` ([`consents`]).
//!
//! SQLite allows one writer at a time. Writes of one store are serialized by a lock in
//! the process and open their transactions with `BEGIN IMMEDIATE`; `busy_timeout`
//! covers other processes on the same file. Readers run concurrently (WAL).

mod batch;
mod clients;
mod consents;
mod dialect;
pub mod dsn;
mod error;
mod keys;
mod login_sessions;
mod rows;
mod sql;
mod tokens;

pub use dialect::Dialect;

use error::{from_migrate, from_sqlx};
use latch_core::error::StoreError;
use latch_core::store::Store;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::pool::PoolConnectionMetadata;
use sqlx::{Any, AnyConnection, AnyPool, Transaction};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, MutexGuard};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("migrations/mysql");

/// Connections of a PostgreSQL or MySQL pool.
const SERVER_POOL_SIZE: u32 = 16;
/// Connections of a SQLite file pool (readers run concurrently; writes are serialized).
const SQLITE_POOL_SIZE: u32 = 8;
/// How long SQLite waits on a lock held by another connection or process.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;
/// How long a caller waits for a free connection before the store is "unavailable".
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A store in a SQL database.
#[derive(Debug)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    sql: sql::Queries,
    /// SQLite only: serializes this store's writes (SQLite has one writer at a time).
    write_lock: Option<Arc<Mutex<()>>>,
    /// Group commit of token inserts (see [`batch`]).
    batcher: batch::Batcher,
    /// In-memory SQLite only: a connection held open for the store's life. A shared-cache
    /// memory database lives while any connection to it is open; without this anchor, a
    /// pool connection dropped mid-query (a client hanging up cancels its request) would
    /// take the whole database with it, and the pool would reconnect to an empty one.
    _anchor: Option<Arc<Mutex<AnyConnection>>>,
}

impl SqlStore {
    /// Connects to the database a DSN names and checks that it answers.
    ///
    /// - `sqlite://path/to/file.db` (or `sqlite:path`): a file, created when missing, in
    ///   WAL mode with `synchronous=NORMAL`, a busy timeout and foreign keys on.
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
                    .connect(dsn)
                    .await
                    .map_err(from_sqlx)?;
                Self::new(pool, dialect)
            }
        };
        Ok(store)
    }

    async fn connect_sqlite(dsn: &str) -> Result<SqlStore, StoreError> {
        let target = SqliteTarget::parse(dsn);
        let options = AnyPoolOptions::new()
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, meta| Box::pin(sqlite_pragmas(conn, meta)));
        let options = if target.in_memory {
            // One connection that never closes: the database lives as long as it does.
            options.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
        } else {
            options.max_connections(SQLITE_POOL_SIZE)
        };
        let anchor = if target.in_memory {
            use sqlx::Connection;
            Some(Arc::new(Mutex::new(AnyConnection::connect(&target.url).await.map_err(from_sqlx)?)))
        } else {
            None
        };
        let pool = options.connect(&target.url).await.map_err(from_sqlx)?;
        if !target.in_memory {
            // Persistent in the file. Set once here, before any concurrency: switching
            // journal modes needs an exclusive lock that busy_timeout does not wait for.
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await.map_err(from_sqlx)?;
        }
        let mut store = Self::new(pool, Dialect::Sqlite);
        store._anchor = anchor;
        Ok(store)
    }

    fn new(pool: AnyPool, dialect: Dialect) -> SqlStore {
        let write_lock = (dialect == Dialect::Sqlite).then(|| Arc::new(Mutex::new(())));
        let batcher = batch::Batcher::start(pool.clone(), Arc::new(sql::Queries::new(dialect)), write_lock.clone());
        SqlStore { pool, dialect, sql: sql::Queries::new(dialect), write_lock, batcher, _anchor: None }
    }

    /// The database's dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Applies the migrations not yet applied (a no-op when there are none).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.migrator().run(&self.pool).await.map_err(from_migrate)
    }

    /// How many migrations are not applied yet; readiness wants 0.
    pub async fn pending_migrations(&self) -> Result<usize, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(from_sqlx)?;
        let applied: HashSet<i64> = if self.migrations_table_exists(&mut conn).await? {
            conn.list_applied_migrations().await.map_err(from_migrate)?.into_iter().map(|m| m.version).collect()
        } else {
            HashSet::new()
        };
        Ok(self
            .migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
            .count())
    }

    /// Closes the pool: waits for connections in use to come back, then closes them all.
    pub async fn close(&self) {
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

    /// Held for the duration of a write: serializes writes on SQLite, free elsewhere.
    async fn write_guard(&self) -> Option<MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    /// Begins a write transaction. SQLite takes the write lock at `BEGIN IMMEDIATE`, so
    /// a transaction never fails half-way on a lock held by another process.
    async fn begin(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let tx = match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres | Dialect::MySql => self.pool.begin().await,
        };
        tx.map_err(from_sqlx)
    }
}

impl Store for SqlStore {
    /// Readiness (Hydra's `/health/ready`): the database answers and no migration is
    /// pending (a missing schema counts as pending).
    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query(&self.sql.ping).execute(&self.pool).await.map_err(from_sqlx)?;
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
            return SqliteTarget { url: format!("sqlite:file:{name}?mode=memory&cache=shared"), in_memory: true };
        }
        let url = if params.split('&').any(|p| p.starts_with("mode=")) {
            format!("sqlite://{rest}")
        } else if params.is_empty() {
            format!("sqlite://{path}?mode=rwc")
        } else {
            format!("sqlite://{path}?{params}&mode=rwc")
        };
        SqliteTarget { url, in_memory: false }
    }
}

/// Per-connection SQLite settings.
async fn sqlite_pragmas(conn: &mut AnyConnection, _: PoolConnectionMetadata) -> Result<(), sqlx::Error> {
    for pragma in [
        format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"),
        "PRAGMA synchronous = NORMAL".to_owned(),
        "PRAGMA foreign_keys = ON".to_owned(),
    ] {
        sqlx::query(&pragma).execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use latch_core::store::{ClientStore, ConsentStore, KeyStore, LoginSessionStore, TokenStore};

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
        let found = store.get_client("kept").await.expect("the pool reconnects to the same database");
        assert_eq!(found.map(|c| c.client_id), Some("kept".to_string()));
    }

    #[test]
    fn sqlite_dsns() {
        let file = SqliteTarget::parse("sqlite://data/latch.db");
        assert_eq!((file.url.as_str(), file.in_memory), ("sqlite://data/latch.db?mode=rwc", false));
        let abs = SqliteTarget::parse("sqlite:///var/lib/latch.db");
        assert_eq!(abs.url, "sqlite:///var/lib/latch.db?mode=rwc");
        let short = SqliteTarget::parse("sqlite:latch.db?cache=private");
        assert_eq!(short.url, "sqlite://latch.db?cache=private&mode=rwc");
        let ro = SqliteTarget::parse("sqlite://latch.db?mode=ro");
        assert_eq!(ro.url, "sqlite://latch.db?mode=ro");
        for dsn in ["memory", "sqlite::memory:", "sqlite://:memory:"] {
            let m = SqliteTarget::parse(dsn);
            assert!(m.in_memory, "{dsn}");
            assert!(m.url.starts_with("sqlite:file:latch-") && m.url.ends_with("?mode=memory&cache=shared"));
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
        send(s.ping());
        send(s.migrate());
        send(s.pending_migrations());
    }
}
