//! The storage conformance suite on every backend, each in a fresh database, and the
//! migrations of every SQL backend.

use latch_core::error::StoreError;
use latch_core::memory::MemoryStore;
use latch_core::store::{ClientStore, Store};
use latch_native::store::{Dialect, SqlStore};
use latch_tests::conformance;
use latch_tests::db::TestDb;

/// Runs the suite on a fresh, migrated database, claimed as `latch serve` claims it
/// (on SQLite that turns on the token cache, which must be invisible here), then drops it.
async fn conformance_on(db: TestDb) {
    let store = db.store().await;
    store.claim().expect("claim the database as a server does");
    conformance::run(&store).await;
    store.close().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_memory() {
    conformance::run(&MemoryStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_sqlite_file() {
    conformance_on(TestDb::sqlite().await).await;
}

/// Unclaimed, as `latch migrate` and `latch janitor` open a database: no token cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_sqlite_file_unclaimed() {
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    conformance::run(&store).await;
    store.close().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_sqlite_in_memory() {
    let store = SqlStore::connect("memory").await.expect("connect");
    assert_eq!(store.dialect(), Dialect::Sqlite);
    store.migrate().await.expect("migrate");
    store.claim().expect("claim");
    conformance::run(&store).await;
}

/// A SQLite file has one server: a second claim is refused with an error that says why,
/// and the file is free again once the first store is gone. PostgreSQL and MySQL are
/// shared by any number of servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_file_is_served_by_one_server() {
    let db = TestDb::sqlite().await;
    let first = db.store().await;
    first.claim().expect("first claim");
    first.claim().expect("claiming again is a no-op");
    let second = db.store().await;
    let refused = second.claim();
    assert!(
        matches!(&refused, Err(StoreError::Unavailable(m)) if m.contains("another Latch server is serving")),
        "{refused:?}"
    );
    assert!(second.get_client("nobody").await.expect("an unclaimed store still reads").is_none());
    first.close().await;
    drop(first);
    second.claim().expect("free once the first server is gone");
    second.close().await;
    drop(second);
    db.drop_db().await;
    for db in [TestDb::postgres().await, TestDb::mysql().await] {
        let (a, b) = (db.store().await, db.store().await);
        a.claim().expect("claim");
        b.claim().expect("a second server on a shared database");
        a.close().await;
        b.close().await;
        db.drop_db().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_postgres() {
    conformance_on(TestDb::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_mysql() {
    conformance_on(TestDb::mysql().await).await;
}

/// Before migrating there is work pending and no schema; migrating twice is a no-op.
async fn migrations_on(db: TestDb, dialect: Dialect) {
    let store = SqlStore::connect(db.dsn()).await.expect("connect");
    assert_eq!(store.dialect(), dialect);
    let pending = store.pending_migrations().await.expect("pending before");
    assert!(pending > 0, "a fresh database has pending migrations");
    assert!(
        matches!(store.get_client("x").await, Err(StoreError::Backend(_))),
        "without the schema a query is a backend error"
    );

    store.migrate().await.expect("migrate");
    assert_eq!(store.pending_migrations().await.expect("pending after"), 0);
    assert_eq!(store.get_client("x").await.expect("the schema exists"), None);
    store.migrate().await.expect("migrating again is a no-op");
    assert_eq!(store.pending_migrations().await.expect("pending after twice"), 0);
    store.ping().await.expect("ping");

    // A second store on the same database sees the migrations applied.
    let again = SqlStore::connect(db.dsn()).await.expect("connect again");
    assert_eq!(again.pending_migrations().await.expect("pending"), 0);
    again.close().await;
    store.close().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_sqlite() {
    migrations_on(TestDb::sqlite().await, Dialect::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_postgres() {
    migrations_on(TestDb::postgres().await, Dialect::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_mysql() {
    migrations_on(TestDb::mysql().await, Dialect::MySql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_database_is_unavailable() {
    // Port 1 on loopback refuses connections; connect retries until its acquire timeout.
    let dsns = ["postgres://postgres@127.0.0.1:1/latch", "mysql://root@127.0.0.1:1/latch"];
    let results = futures::future::join_all(dsns.map(SqlStore::connect)).await;
    for (dsn, result) in dsns.iter().zip(results) {
        assert!(matches!(result, Err(StoreError::Unavailable(_))), "{dsn}: {result:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_dsn_is_rejected_without_leaking_it() {
    let result = SqlStore::connect("oracle://scott:tiger@db/orcl").await;
    match result {
        Err(StoreError::Backend(message)) => assert!(!message.contains("tiger"), "{message}"),
        other => panic!("expected a backend error, got {other:?}"),
    }
}

/// A `TestDb` dropped without `drop_db` (a failed test) still removes its database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_databases_are_removed_on_drop() {
    let file = TestDb::sqlite().await;
    let path = std::path::PathBuf::from(file.dsn().strip_prefix("sqlite://").expect("a sqlite DSN"));
    file.store().await.close().await;
    assert!(path.exists(), "the store created {}", path.display());
    drop(file);
    assert!(!path.exists(), "{} is removed", path.display());

    for db in [TestDb::postgres().await, TestDb::mysql().await] {
        let dsn = db.dsn().to_owned();
        db.store().await.close().await;
        drop(db);
        let result = SqlStore::connect(&dsn).await;
        assert!(matches!(result, Err(StoreError::Backend(_))), "the database is gone: {result:?}");
    }
}

/// A SQLite file is created on connect and left in WAL mode (a persistent setting).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_is_created_in_wal_mode() {
    use sqlx::Connection;
    let db = TestDb::sqlite().await;
    let path = std::path::PathBuf::from(db.dsn().strip_prefix("sqlite://").expect("a sqlite DSN"));
    assert!(!path.exists(), "{} does not exist yet", path.display());
    let store = SqlStore::connect(db.dsn()).await.expect("connect");
    assert!(path.exists(), "connect creates {}", path.display());
    let mut conn = sqlx::SqliteConnection::connect(db.dsn()).await.expect("open the file");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.expect("pragma");
    assert_eq!(mode, "wal");
    conn.close().await.expect("close");
    store.close().await;
    db.drop_db().await;
}

/// Readiness reflects pending migrations, on every SQL backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_reports_pending_migrations() {
    for db in [TestDb::sqlite().await, TestDb::postgres().await, TestDb::mysql().await] {
        let store = latch_native::store::SqlStore::connect(db.dsn()).await.expect("connect");
        let err = latch_core::store::Store::ping(&store).await.expect_err("not migrated yet");
        assert!(err.to_string().contains("migration"), "{err}");
        store.migrate().await.expect("migrate");
        latch_core::store::Store::ping(&store).await.expect("ready once migrated");
        store.close().await;
        db.drop_db().await;
    }
}
