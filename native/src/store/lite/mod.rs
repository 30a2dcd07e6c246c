//! [`LiteStore`]: the SQLite store on rusqlite, serving every operation of a SQLite
//! [`SqlStore`](super::SqlStore) (a file, or `memory`).
//!
//! Why not sqlx here: sqlx's SQLite driver (behind its `Any` driver) runs each statement
//! on a worker thread of the connection and hands the answer back through channels, about
//! five context switches per query, most of a point read's time; and write transactions held
//! a process-wide async lock across several awaited round trips to that thread, so
//! concurrent writes queued behind it. rusqlite calls SQLite directly.
//!
//! - **Reads run inline**, on the calling (tokio) thread, on a connection checked out of a
//!   small pool ([`Readers`]). A point read on a warm page cache takes a few microseconds
//!   in SQLite, less than handing it to another thread and back would cost, so blocking
//!   the runtime thread for it is cheaper than not. Readers never wait for the writer on a
//!   file (WAL: readers see the last commit and are not blocked by a write); on a
//!   shared-cache memory database a read of a table the writer's open batch has written
//!   waits (unlock-notify) for that batch's commit, which in memory takes microseconds to
//!   a few milliseconds.
//! - **Token reads** of a [claimed](LiteStore::claim) store are kept in memory until a
//!   write may have changed them ([`token_cache`]).
//! - **Writes go to one thread** ([`writer`]) that commits them in groups, each call in
//!   its own savepoint (a one-statement call needs none). Compare-and-set operations (`consume_code`,
//!   `rotate_refresh_token`, `complete_consent`, the revocations) are each one job: the
//!   conditional `UPDATE … AND active = 1` (with `RETURNING`) and whatever it decides
//!   run together on the writer's connection, never as a read here and a write there.
//!
//! The query texts are [`Queries`] for [`Dialect::Sqlite`], the very texts the sqlx
//! path translates for PostgreSQL and MySQL, and records are encoded and decoded by the
//! SQL layer's functions ([`latch_sql::rows`]), so the paths cannot drift apart; the schema is
//! `native/migrations/sqlite`, applied by sqlx (`SqlStore::migrate`).
//! Every connection gets the pragmas of [`super::sqlite_pragmas`].

mod checkpoint;
mod clients;
mod consents;
mod error;
mod keys;
mod login_sessions;
mod rows;
mod token_cache;
mod tokens;
mod trusts;
mod writer;

use checkpoint::Checkpointer;
use error::{from_rusqlite, unavailable, with_conflict};
use latch_core::error::StoreError;
use latch_sql::{Dialect, Queries, Value};
use rows::Record;
use rusqlite::{Connection, OpenFlags, Params};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use token_cache::TokenCache;
use writer::{Work, Writer};

/// Idle read connections kept for reuse; more are opened when all are in use and
/// closed when they come back to a full pool.
const MAX_IDLE_READERS: usize = 8;

/// Prepared statements each connection keeps (`prepare_cached`): every fixed query text
/// a connection runs, with room for the variants of the client list and the id lists.
const STATEMENT_CACHE: usize = 64;

/// The SQLite store on rusqlite. See the module documentation.
pub(crate) struct LiteStore {
    readers: Readers,
    writer: Writer,
    sql: Queries,
    /// Token rows read, while no write has changed any (on once [claimed](Self::claim)).
    tokens: Arc<TokenCache>,
    /// The database file (`None` in memory), and once claimed, its open lock file.
    file: Option<std::path::PathBuf>,
    claim: Mutex<Option<std::fs::File>>,
    /// In-memory databases only: a connection held open for the store's life. A
    /// shared-cache memory database lives while any connection to it is open; this one
    /// keeps it whatever happens to the others (the writer's, the readers', sqlx's).
    _anchor: Option<Mutex<Connection>>,
}

impl std::fmt::Debug for LiteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiteStore").field("uri", &self.readers.uri).finish_non_exhaustive()
    }
}

impl LiteStore {
    /// Opens the database at a SQLite URI (`file:path?…`, or a shared-cache memory
    /// database `file:name?mode=memory&cache=shared`), which sqlx has opened (and, for
    /// a file, put in WAL mode) already.
    pub(crate) fn open(uri: &str, in_memory: bool) -> Result<LiteStore, StoreError> {
        Self::open_with(uri, in_memory, checkpoint::PAUSE, checkpoint::CATCH_UP_FRAMES)
    }

    /// [`LiteStore::open`] with the checkpoint thread's settings (see [`checkpoint`]).
    fn open_with(uri: &str, in_memory: bool, pause: Duration, catch_up_frames: i64) -> Result<LiteStore, StoreError> {
        let anchor = if in_memory { Some(Mutex::new(open(uri)?)) } else { None };
        let conn = open(uri)?;
        // SQLite's own absolute name of the file; none for a memory database.
        let file = conn.path().filter(|p| !in_memory && !p.is_empty()).map(std::path::PathBuf::from);
        let tokens = Arc::new(TokenCache::default());
        // A file's checkpoints run beside the writer, not in its commits (see `checkpoint`).
        let checkpointer = match file {
            Some(_) => Some(Checkpointer::start(open(uri)?, pause, catch_up_frames)?),
            None => None,
        };
        let writer = Writer::start(conn, Queries::new(Dialect::Sqlite), tokens.clone(), checkpointer)?;
        let readers = Readers { uri: uri.to_owned(), idle: Mutex::new(Vec::new()), closed: AtomicBool::new(false) };
        // One reader now, so a DSN that cannot be read fails here rather than later.
        readers.checkin(readers.checkout()?);
        Ok(LiteStore {
            readers,
            writer,
            sql: Queries::new(Dialect::Sqlite),
            tokens,
            file,
            claim: Mutex::new(None),
            _anchor: anchor,
        })
    }

    /// Claims the database for this process's server, which then keeps the token rows it
    /// reads in memory ([`TokenCache`]). Sound only while every write goes through this
    /// store's writer, so a database file is locked (an advisory lock on
    /// `<file>-latch-lock`, held until the process ends): a second server on the same
    /// file fails here, with an error that says so, instead of serving answers the first
    /// one's cache would not see. `latch migrate` and `latch janitor` do not claim (see
    /// [`token_cache`] for why the janitor's deletions are safe). A memory database
    /// belongs to its process anyway.
    pub(crate) fn claim(&self) -> Result<(), StoreError> {
        let mut claim = self.claim.lock().map_err(|_| unavailable("claim lock is poisoned"))?;
        if let (Some(db), None) = (&self.file, claim.as_ref()) {
            let mut name = db.clone().into_os_string();
            name.push("-latch-lock");
            let lock =
                std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&name).map_err(|e| {
                    StoreError::Unavailable(format!("cannot open the lock file {}: {e}", name.display()))
                })?;
            match lock.try_lock() {
                Ok(()) => *claim = Some(lock),
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Unavailable(format!(
                        "another Latch server is serving the SQLite database {}; SQLite is served by one process \
                         (run several against PostgreSQL or MySQL)",
                        db.display()
                    )))
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(StoreError::Unavailable(format!("cannot lock {}: {e}", name.display())))
                }
            }
        }
        self.tokens.enable();
        Ok(())
    }

    /// Runs a read on a pooled connection, here on the calling thread (see the module
    /// documentation for why inline).
    fn read<T>(&self, work: impl FnOnce(&Connection, &Queries) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let conn = self.readers.checkout()?;
        let result = work(&conn, &self.sql);
        self.readers.checkin(conn);
        result
    }

    /// The rows one statement of [`Queries`] reads, decoded.
    fn read_all<T: Record, P: Params>(&self, statement: fn(&Queries) -> &str, params: P) -> Result<Vec<T>, StoreError> {
        self.read(|conn, sql| {
            let mut stmt = conn.prepare_cached(statement(sql)).map_err(from_rusqlite)?;
            rows::all(&mut stmt, params)
        })
    }

    /// The row one statement of [`Queries`] reads (by primary key), decoded.
    fn read_one<T: Record, P: Params>(
        &self,
        statement: fn(&Queries) -> &str,
        params: P,
    ) -> Result<Option<T>, StoreError> {
        self.read(|conn, sql| {
            let mut stmt = conn.prepare_cached(statement(sql)).map_err(from_rusqlite)?;
            rows::first(&mut stmt, params)
        })
    }

    /// Runs a write on the writer thread and waits for its commit.
    async fn write<T: Send + 'static>(&self, work: impl Work<T>) -> Result<T, StoreError> {
        self.writer.write(work).await
    }

    /// Runs one statement of [`Queries`] as a write; how many rows it changed.
    async fn change<P: Params + Send + 'static>(
        &self,
        statement: fn(&Queries) -> &str,
        params: P,
    ) -> Result<u64, StoreError> {
        self.write(move |conn, sql| run(conn, statement(sql), params).map_err(from_rusqlite)).await
    }

    /// Runs one statement of [`Queries`] with a record's values as a write; how many rows
    /// it changed.
    async fn change_record<const N: usize>(
        &self,
        statement: fn(&Queries) -> &str,
        values: [Value<'static>; N],
    ) -> Result<u64, StoreError> {
        self.change(statement, rusqlite::params_from_iter(values.map(Owned))).await
    }

    /// Runs one `INSERT` of [`Queries`] of a record's values as a write; a unique
    /// violation is a conflict saying `exists`.
    async fn insert<const N: usize>(
        &self,
        statement: fn(&Queries) -> &str,
        values: [Value<'static>; N],
        exists: String,
    ) -> Result<(), StoreError> {
        let params = rusqlite::params_from_iter(values.map(Owned));
        self.write(move |conn, sql| {
            run(conn, statement(sql), params).map(drop).map_err(|e| with_conflict(e, || exists))
        })
        .await
    }

    /// Readiness: a reader answers.
    pub(crate) fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn, sql| {
            conn.prepare_cached(&sql.ping).and_then(|mut s| s.query_row([], |_| Ok(()))).map_err(from_rusqlite)
        })
    }

    /// Commits the writes queued so far and closes the connections (the memory anchor
    /// stays until the store is dropped). Later calls are [`StoreError::Unavailable`].
    pub(crate) async fn close(&self) {
        self.readers.close();
        self.writer.close().await;
    }
}

/// An owned value as a rusqlite parameter (for a write handed to the writer thread).
struct Owned(Value<'static>);

impl rusqlite::ToSql for Owned {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rows::output(&self.0))
    }
}

/// Runs one statement; how many rows it changed.
fn run(conn: &Connection, statement: &str, params: impl Params) -> rusqlite::Result<u64> {
    conn.prepare_cached(statement)?.execute(params).map(|n| n as u64)
}

/// Opens one connection with the URI flag and the store's pragmas.
fn open(uri: &str) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri, flags).map_err(from_rusqlite)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    for pragma in super::sqlite_pragmas() {
        conn.execute_batch(&pragma).map_err(from_rusqlite)?;
    }
    Ok(conn)
}

/// The read connections: a checkout/return pool behind a mutex held only to pop or push.
struct Readers {
    uri: String,
    idle: Mutex<Vec<Connection>>,
    closed: AtomicBool,
}

impl Readers {
    /// An idle connection, or a new one when none is free.
    fn checkout(&self) -> Result<Connection, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(unavailable("is closed"));
        }
        let idle = self.idle.lock().map_err(|_| unavailable("reader pool is poisoned"))?.pop();
        match idle {
            Some(conn) => Ok(conn),
            None => {
                let conn = open(&self.uri)?;
                // A reader never writes: the writer thread does (see `writer`).
                conn.execute_batch("PRAGMA query_only = ON").map_err(from_rusqlite)?;
                Ok(conn)
            }
        }
    }

    /// Returns a connection to the pool, or closes it when the pool is full or closed.
    fn checkin(&self, conn: Connection) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
        }
    }

    /// Closes the idle connections and refuses further checkouts.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use latch_core::store::ClientStore;

    fn memory() -> LiteStore {
        let uri = format!("file:latch-test-{:016x}?mode=memory&cache=shared", rand::random::<u64>());
        LiteStore::open(&uri, true).expect("open")
    }

    /// Runs `sql` as a job of its own.
    async fn exec(store: &LiteStore, sql: &'static str) -> Result<u64, StoreError> {
        store.write(move |conn, _| run(conn, sql, []).map_err(from_rusqlite)).await
    }

    /// Keeps the writer busy with a job for a while, so that the jobs queued meanwhile
    /// are committed together in the next batch.
    async fn while_busy<T>(store: &LiteStore, queued: impl std::future::Future<Output = T>) -> T {
        let busy = store.write(|_, _| {
            std::thread::sleep(Duration::from_millis(300));
            Ok(())
        });
        let queued = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            queued.await
        };
        let ((), out) = tokio::join!(async { busy.await.expect("busy job") }, queued);
        out
    }

    #[tokio::test]
    async fn a_failing_job_rolls_back_only_itself() {
        let store = memory();
        exec(&store, "CREATE TABLE t (id INTEGER PRIMARY KEY)").await.expect("create");
        let (a, b, c) = while_busy(&store, async {
            tokio::join!(
                exec(&store, "INSERT INTO t VALUES (1)"),
                // Its first row goes in, then the second conflicts: the job takes both back.
                store.write(|conn, _| {
                    run(conn, "INSERT INTO t VALUES (2)", []).map_err(from_rusqlite)?;
                    run(conn, "INSERT INTO t VALUES (1)", []).map_err(from_rusqlite)
                }),
                exec(&store, "INSERT INTO t VALUES (3)"),
            )
        })
        .await;
        assert_eq!((a, c), (Ok(1), Ok(1)), "the others commit");
        assert!(matches!(b, Err(StoreError::Conflict(_))), "{b:?}");
        let ids: Vec<i64> = store
            .read(|conn, _| {
                let mut stmt = conn.prepare("SELECT id FROM t ORDER BY id").map_err(from_rusqlite)?;
                let ids = stmt.query_map([], |row| row.get(0)).and_then(Iterator::collect);
                ids.map_err(from_rusqlite)
            })
            .expect("read");
        assert_eq!(ids, [1, 3], "nothing of the failed job is stored");
    }

    /// A batch whose COMMIT fails (here on a deferred foreign key) fails every job in it.
    #[tokio::test]
    async fn a_failed_commit_fails_every_job_of_the_batch() {
        let store = memory();
        exec(&store, "CREATE TABLE parent (id INTEGER PRIMARY KEY)").await.expect("create");
        exec(&store, "CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
            .await
            .expect("create");
        let (good, bad) = while_busy(&store, async {
            tokio::join!(exec(&store, "INSERT INTO parent VALUES (1)"), exec(&store, "INSERT INTO child VALUES (99)"))
        })
        .await;
        for result in [good, bad] {
            assert!(matches!(&result, Err(StoreError::Backend(m)) if m.contains("FOREIGN KEY")), "{result:?}");
        }
        assert_eq!(exec(&store, "DELETE FROM parent").await, Ok(0), "the batch was rolled back");
        assert_eq!(exec(&store, "INSERT INTO parent VALUES (1)").await, Ok(1), "the writer goes on");
    }

    /// The writer's connection and the readers' carry [`super::super::sqlite_pragmas`]:
    /// `temp_store` in memory (savepoint sub-journals), `synchronous = NORMAL` and
    /// foreign keys on.
    #[tokio::test]
    async fn every_connection_gets_the_pragmas() {
        fn settings(conn: &Connection) -> Result<[i64; 3], StoreError> {
            let get = |name: &str| conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0));
            Ok([get("temp_store"), get("synchronous"), get("foreign_keys")].map(|r| r.unwrap_or(-1)))
        }
        let store = memory();
        // temp_store 2 = MEMORY, synchronous 1 = NORMAL, foreign_keys 1 = on.
        assert_eq!(store.write(|conn, _| settings(conn)).await, Ok([2, 1, 1]), "the writer");
        assert_eq!(store.read(|conn, _| settings(conn)), Ok([2, 1, 1]), "a reader");
    }

    /// A database file in WAL mode (as sqlx leaves it) in a directory of its own, removed
    /// on drop.
    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn new() -> TempFile {
            let dir = std::env::temp_dir().join(format!("latch-lite-{:016x}", rand::random::<u64>()));
            std::fs::create_dir(&dir).expect("temp dir");
            let db = TempFile(dir);
            let conn = Connection::open(db.path()).expect("create");
            conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).expect("WAL");
            db
        }
        fn path(&self) -> std::path::PathBuf {
            self.0.join("db.sqlite")
        }
        fn uri(&self) -> String {
            format!("file:{}", self.path().display())
        }
        fn size(&self, suffix: &str) -> u64 {
            let mut name = self.path().into_os_string();
            name.push(suffix);
            std::fs::metadata(name).map(|m| m.len()).unwrap_or(0)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Inserts a row of about one page, as a job (and so a commit) of its own.
    async fn insert_page(store: &LiteStore, id: i64) {
        store
            .write(move |conn, _| run(conn, "INSERT INTO t VALUES (?1, zeroblob(4000))", [id]).map_err(from_rusqlite))
            .await
            .expect("insert");
    }

    /// The writer does not checkpoint (its `wal_autocheckpoint` is off); the checkpoint
    /// thread copies the WAL's pages into the database file soon after they are committed.
    #[tokio::test]
    async fn a_file_is_checkpointed_beside_the_writer() {
        let db = TempFile::new();
        let store = LiteStore::open_with(&db.uri(), false, Duration::from_millis(10), i64::MAX).expect("open");
        assert_eq!(
            store
                .write(|conn, _| conn
                    .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get::<_, i64>(0))
                    .map_err(from_rusqlite))
                .await,
            Ok(0)
        );
        exec(&store, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)").await.expect("create");
        let before = db.size("");
        for id in 0..200 {
            insert_page(&store, id).await;
        }
        // 200 pages of about 4 KB are in the WAL; the database file grows as they are copied.
        let mut waited = 0;
        while db.size("") < before + 200 * 4000 {
            assert!(waited < 1000, "no checkpoint in 10 s: the database file is {} bytes", db.size(""));
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += 1;
        }
        store.close().await;
    }

    /// Under writes that never pause, checkpoints beside the writer never find the WAL
    /// wholly copied, so SQLite would append to it for ever: the writer catches up when
    /// the checkpoint thread asks, and the WAL starts over.
    #[tokio::test]
    async fn steady_writes_do_not_grow_the_wal_without_end() {
        let db = TempFile::new();
        let store = LiteStore::open_with(&db.uri(), false, Duration::from_millis(1), 64).expect("open");
        exec(&store, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)").await.expect("create");
        for id in 0..6000 {
            insert_page(&store, id).await;
            // A pause now and then, so that on a loaded machine (other test binaries, a
            // build) the checkpoint thread gets the CPU it needs to ask at all; the
            // writes stay steady (no pause is long enough for a checkpoint to finish
            // with the WAL wholly copied on its own).
            if id % 100 == 99 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        // Without starting over, the WAL would hold every page written: more than 6 000
        // pages of 4 KB, 24 MB. How far it grows before starting over depends on how soon
        // the checkpoint thread runs (later on a loaded machine), so the bound is a quarter
        // of that: a WAL that never starts over exceeds it whatever the timing.
        let wal = db.size("-wal");
        let mut written = 6000;
        if wal >= 6 * 1024 * 1024 {
            // A loaded machine (other test binaries, builds) can keep the checkpoint
            // thread from running for the whole loop above. Once it has had the CPU, the
            // WAL starts over, so further steady writes reuse it instead of growing it:
            // 2 000 more pages (8 MB) must add at most 2 MB.
            tokio::time::sleep(Duration::from_millis(300)).await;
            for id in 6000..8000 {
                insert_page(&store, id).await;
                if id % 100 == 99 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            written = 8000;
            let later = db.size("-wal");
            assert!(later < wal + 2 * 1024 * 1024, "the WAL grew from {wal} to {later} bytes");
        }
        let rows = store.read(|conn, _| {
            conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).map_err(from_rusqlite)
        });
        assert_eq!(rows, Ok(written));
        store.close().await;
    }

    /// Should the checkpoint thread die, SQLite's automatic checkpoint in the writer's
    /// commits comes back rather than the WAL growing for ever.
    #[tokio::test]
    async fn the_writer_checkpoints_by_itself_when_the_checkpoint_thread_is_gone() {
        let db = TempFile::new();
        let conn = open(&db.uri()).expect("open");
        let tokens = Arc::new(TokenCache::default());
        let writer =
            Writer::start(conn, Queries::new(Dialect::Sqlite), tokens, Some(Checkpointer::gone())).expect("writer");
        let create =
            writer.write(|conn, _| run(conn, "CREATE TABLE t (id INTEGER PRIMARY KEY)", []).map_err(from_rusqlite));
        assert_eq!(create.await, Ok(0));
        let auto = writer
            .write(|conn, _| {
                conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get::<_, i64>(0)).map_err(from_rusqlite)
            })
            .await;
        assert_eq!(auto, Ok(1000));
        writer.close().await;
    }

    #[tokio::test]
    async fn readers_do_not_write() {
        let store = memory();
        exec(&store, "CREATE TABLE t (id INTEGER PRIMARY KEY)").await.expect("create");
        let write = store.read(|conn, _| run(conn, "INSERT INTO t VALUES (1)", []).map_err(from_rusqlite));
        assert!(matches!(write, Err(StoreError::Backend(_))), "{write:?}");
    }

    #[tokio::test]
    async fn a_closed_store_is_unavailable() {
        let store = memory();
        exec(&store, "CREATE TABLE t (id INTEGER PRIMARY KEY)").await.expect("create");
        store.close().await;
        assert!(matches!(exec(&store, "INSERT INTO t VALUES (1)").await, Err(StoreError::Unavailable(_))));
        assert!(matches!(store.get_client("x").await, Err(StoreError::Unavailable(_))));
        store.close().await; // twice is fine
    }
}
