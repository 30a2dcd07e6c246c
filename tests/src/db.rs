//! Test databases: a fresh, uniquely named database per test on each backend, dropped
//! afterwards.
//!
//! - [`TestDb::sqlite`]: a temporary file.
//! - [`TestDb::postgres`]: a database on the PostgreSQL server at `127.0.0.1:5432`
//!   (user `postgres`, trust auth), or the server `LATCH_TEST_POSTGRES_URL` names.
//! - [`TestDb::mysql`]: a database on the MySQL/MariaDB server at `127.0.0.1:3306` (user
//!   `root`, no password), or the server `LATCH_TEST_MYSQL_URL` names.
//!
//! A server that cannot be reached is a failure, never a silent skip: the constructors
//! panic and say which server the tests need.

use latch_native::store::SqlStore;
use sqlx::{Connection, Executor};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The PostgreSQL server the tests use unless `LATCH_TEST_POSTGRES_URL` names another.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The MySQL/MariaDB server the tests use unless `LATCH_TEST_MYSQL_URL` names another.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/";

/// How long to wait for a database server before failing.
const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database server a [`TestDb`] lives on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Server {
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    MySql,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Postgres => "PostgreSQL",
            Server::MySql => "MySQL/MariaDB",
        }
    }
    fn env_var(self) -> &'static str {
        match self {
            Server::Postgres => "LATCH_TEST_POSTGRES_URL",
            Server::MySql => "LATCH_TEST_MYSQL_URL",
        }
    }
    /// The URL of the server's administrative connection.
    fn admin_url(self) -> String {
        std::env::var(self.env_var()).unwrap_or_else(|_| {
            match self {
                Server::Postgres => DEFAULT_POSTGRES_URL,
                Server::MySql => DEFAULT_MYSQL_URL,
            }
            .to_owned()
        })
    }
    /// Statements creating the database, to try in order until one succeeds. The
    /// preferred one gives the database a default collation that is *not* bytewise
    /// (ICU English; case-insensitive utf8mb4_general_ci), so that a table relying on
    /// the default instead of declaring its collation fails the ordering and
    /// case-sensitivity cases. ICU needs PostgreSQL 15+.
    fn create_sql(self, name: &str) -> Vec<String> {
        match self {
            Server::Postgres => vec![
                format!("CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en'"),
                format!("CREATE DATABASE \"{name}\""),
            ],
            Server::MySql => {
                vec![format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")]
            }
        }
    }
    fn drop_sql(self, name: &str) -> String {
        match self {
            // FORCE ends the sessions a test left open (PostgreSQL 13+).
            Server::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            Server::MySql => format!("DROP DATABASE IF EXISTS `{name}`"),
        }
    }
}

/// What to remove when the test is done.
#[derive(Debug)]
enum Resource {
    /// A SQLite file (and its `-wal` and `-shm` companions).
    File(PathBuf),
    /// A database on a server.
    Database { server: Server, admin_url: String, name: String },
    /// Removed already.
    Gone,
}

/// A fresh database for one test. Call [`TestDb::drop_db`] at the end; dropping a
/// `TestDb` without it removes the database on a best-effort basis (e.g. after a
/// failed assertion).
#[derive(Debug)]
pub struct TestDb {
    dsn: String,
    resource: Resource,
}

impl TestDb {
    /// A new SQLite database in a temporary file.
    pub async fn sqlite() -> TestDb {
        let path = std::env::temp_dir().join(format!("{}.db", unique_name()));
        TestDb { dsn: format!("sqlite://{}", path.display()), resource: Resource::File(path) }
    }

    /// A new database on the PostgreSQL server. Panics when the server is unreachable.
    pub async fn postgres() -> TestDb {
        Self::on_server(Server::Postgres).await
    }

    /// A new database on the MySQL/MariaDB server. Panics when the server is unreachable.
    pub async fn mysql() -> TestDb {
        Self::on_server(Server::MySql).await
    }

    async fn on_server(server: Server) -> TestDb {
        let admin_url = server.admin_url();
        let name = unique_name();
        let mut created = Err(String::new());
        for sql in server.create_sql(&name) {
            created = admin_execute(server, &admin_url, &sql).await;
            if created.is_ok() {
                break;
            }
        }
        if let Err(e) = created {
            panic!(
                "{} at {} is required for these tests (set {} to use another server): {e}",
                server.name(),
                redact(&admin_url),
                server.env_var()
            );
        }
        let dsn = database_url(&admin_url, &name);
        TestDb { dsn, resource: Resource::Database { server, admin_url, name } }
    }

    /// The DSN of the database, for [`SqlStore::connect`] or a server's `DSN`.
    pub fn dsn(&self) -> &str {
        &self.dsn
    }

    /// A store on the database, migrated.
    pub async fn store(&self) -> SqlStore {
        let store = SqlStore::connect(&self.dsn).await.expect("connect to the test database");
        store.migrate().await.expect("migrate the test database");
        store
    }

    /// Removes the database. Close the stores on it first (PostgreSQL sessions left
    /// open are ended; MySQL waits for transactions still open on it).
    pub async fn drop_db(mut self) {
        let resource = std::mem::replace(&mut self.resource, Resource::Gone);
        if let Err(e) = remove(resource).await {
            panic!("cannot drop the test database behind {}: {e}", redact(&self.dsn));
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let resource = std::mem::replace(&mut self.resource, Resource::Gone);
        if matches!(resource, Resource::Gone) {
            return;
        }
        // Drop cannot await: remove it on a thread of its own with its own runtime, so
        // this works inside and outside a tokio runtime alike.
        let removal = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(runtime) = runtime {
                let _ = runtime.block_on(remove(resource));
            }
        });
        let _ = removal.join();
    }
}

/// Removes a test database.
async fn remove(resource: Resource) -> Result<(), String> {
    match resource {
        Resource::File(path) => {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                match std::fs::remove_file(&p) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.to_string()),
                    _ => {}
                }
            }
            Ok(())
        }
        Resource::Database { server, admin_url, name } => {
            admin_execute(server, &admin_url, &server.drop_sql(&name)).await
        }
        Resource::Gone => Ok(()),
    }
}

/// Runs one statement on the server's administrative connection.
async fn admin_execute(server: Server, admin_url: &str, sql: &str) -> Result<(), String> {
    let work = async {
        match server {
            Server::Postgres => {
                let mut conn = sqlx::PgConnection::connect(admin_url).await?;
                conn.execute(sql).await?;
                conn.close().await
            }
            Server::MySql => {
                let mut conn = sqlx::MySqlConnection::connect(admin_url).await?;
                conn.execute(sql).await?;
                conn.close().await
            }
        }
    };
    match tokio::time::timeout(SERVER_TIMEOUT, work).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {SERVER_TIMEOUT:?}")),
    }
}

/// `latch_test_<pid>_<counter>_<random>`: unique across tests, processes and runs.
fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = RandomState::new().build_hasher().finish() as u32;
    format!("latch_test_{}_{n}_{random:08x}", std::process::id())
}

/// The server URL with its path (the database) replaced by `name`.
fn database_url(admin_url: &str, name: &str) -> String {
    let mut url =
        url::Url::parse(admin_url).unwrap_or_else(|e| panic!("bad test server URL {}: {e}", redact(admin_url)));
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_valid_identifiers() {
        let (a, b) = (unique_name(), unique_name());
        assert_ne!(a, b);
        assert!(a.starts_with("latch_test_") && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{a}");
    }

    #[test]
    fn database_urls_keep_the_server_and_hide_passwords() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "db1"),
            "postgres://postgres@127.0.0.1:5432/db1?sslmode=disable"
        );
        assert_eq!(database_url("mysql://root@127.0.0.1:3306/", "db2"), "mysql://root@127.0.0.1:3306/db2");
        assert_eq!(redact("mysql://root:hunter2@h:3306/x"), "mysql://root:***@h:3306/x");
    }
}
