//! # latch-tests
//!
//! Latch's test support: the storage conformance suite ([`conformance`]) every backend
//! must pass, test databases on every SQL backend ([`db`]), and the black-box HTTP
//! harness ([`http`]), child processes of the real binary ([`process`]). The suites themselves are in `tests/tests/`.

pub mod conformance;
pub mod db;
pub mod http;
pub mod process;

/// Declares, in a module `$name`, one test per native backend (`memory`, `sqlite`,
/// `postgres`, `mysql`), each running `$suite(dsn)` against a database of its own,
/// created for it and dropped after a pass (a failed run's database is dropped with its
/// [`db::TestDb`]). The test names are `$name::memory`, `$name::sqlite`, ….
#[macro_export]
macro_rules! on_every_backend {
    ($name:ident, $suite:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                super::$suite("memory").await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::db::TestDb::sqlite().await;
                super::$suite(db.dsn()).await;
                db.drop_db().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::db::TestDb::postgres().await;
                super::$suite(db.dsn()).await;
                db.drop_db().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                let db = $crate::db::TestDb::mysql().await;
                super::$suite(db.dsn()).await;
                db.drop_db().await;
            }
        }
    };
}
