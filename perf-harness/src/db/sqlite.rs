//! `Sqlite`: a rusqlite connection whose every statement is reported to the capture, through
//! SQLite's own trace hook (`sqlite3_trace_v2`), so statements run through the raw connection,
//! a transaction or a cached prepared statement are counted as well as those of our methods.
//!
//! SQLite's profile event reports durations from a millisecond clock, so the hook takes its own
//! `Instant` when a statement starts running and when it finishes.

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::trace::{TraceEvent, TraceEventCodes};
use rusqlite::types::Value;
use rusqlite::{Connection, Params, Row};

use super::{capture, short_sql};

/// The rusqlite version this wrapper is built on, for `params!`, `Row` and error types.
pub use rusqlite;

/// A database operation failed; the message names the statement or the file.
#[derive(thiserror::Error)]
pub enum SqliteError {
    /// The database file could not be opened or created.
    #[error("cannot open the SQLite database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// No temporary directory for `Sqlite::temporary`.
    #[error("cannot create a temporary directory for the SQLite database: {0}")]
    TempDir(std::io::Error),
    /// A statement failed to prepare or run (a missing table, a constraint, a type mismatch).
    #[error("{source} (in `{sql}`)")]
    Statement {
        /// The statement, shortened to one line.
        sql: String,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
}

// Test bodies report errors with `{:?}`: make that the readable message.
impl fmt::Debug for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// One result row with owned values: what `Sqlite::query` returns.
pub type SqlRow = Vec<Value>;

/// A SQLite connection whose statements count toward the running perf test's query counts.
///
/// ```no_run
/// use perf_harness::db::{sqlite::SqliteError, Sqlite};
/// use perf_harness::perf_test;
///
/// fn seeded() -> Sqlite {
///     let db = Sqlite::temporary().expect("a temporary directory"); // deleted on drop
///     db.execute_batch("CREATE TABLE media (id INTEGER PRIMARY KEY, title TEXT);
///                       INSERT INTO media (title) VALUES ('a'), ('b'), ('c');")
///         .expect("seed");
///     db
/// }
///
/// #[perf_test(p95 = "5ms", samples = 200, setup = seeded, max_queries = 1)]
/// fn titles(db: &mut Sqlite) -> Result<(), SqliteError> {
///     assert_eq!(db.query("SELECT title FROM media", [])?.len(), 3);
///     Ok(())
/// }
/// # fn main() {}
/// ```
pub struct Sqlite {
    conn: Connection,
    path: PathBuf,
    // Declared after `conn`, so the connection closes before its directory is removed.
    _dir: Option<tempfile::TempDir>,
}

impl fmt::Debug for Sqlite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sqlite").field("path", &self.path).finish()
    }
}

impl Sqlite {
    /// Opens (or creates) the database file at `path`, with the statement capture installed.
    pub fn open(path: impl AsRef<Path>) -> Result<Sqlite, SqliteError> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path).map_err(|source| SqliteError::Open {
            path: path.clone(),
            source,
        })?;
        Ok(Sqlite::traced(conn, path, None))
    }

    /// A new on-disk database in a fresh temporary directory, deleted when this is dropped.
    ///
    /// On disk rather than `:memory:`, so tests see the page cache, file I/O and journaling a
    /// deployed database has.
    pub fn temporary() -> Result<Sqlite, SqliteError> {
        let dir = tempfile::Builder::new()
            .prefix("perf-harness-sqlite")
            .tempdir()
            .map_err(SqliteError::TempDir)?;
        let path = dir.path().join("db.sqlite3");
        let conn = Connection::open(&path).map_err(|source| SqliteError::Open {
            path: path.clone(),
            source,
        })?;
        Ok(Sqlite::traced(conn, path, Some(dir)))
    }

    /// Wraps a connection you opened yourself, installing the statement capture on it.
    pub fn from_connection(conn: Connection) -> Sqlite {
        let path = conn.path().map(PathBuf::from).unwrap_or_default();
        Sqlite::traced(conn, path, None)
    }

    fn traced(conn: Connection, path: PathBuf, dir: Option<tempfile::TempDir>) -> Sqlite {
        capture(&conn);
        Sqlite {
            conn,
            path,
            _dir: dir,
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs a query and returns every row with owned values.
    pub fn query(&self, sql: &str, params: impl Params) -> Result<Vec<SqlRow>, SqliteError> {
        self.query_map(sql, params, |row| {
            let n = row.as_ref().column_count();
            (0..n).map(|i| row.get::<_, Value>(i)).collect()
        })
    }

    /// Runs a query and maps each row with `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        params: impl Params,
        mut f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, SqliteError> {
        let fail = |source| statement_error(sql, source);
        let mut stmt = self.conn.prepare_cached(sql).map_err(fail)?;
        let mut rows = stmt.query(params).map_err(fail)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(fail)? {
            out.push(f(row).map_err(fail)?);
        }
        Ok(out)
    }

    /// Runs a statement and returns the number of rows it changed.
    pub fn execute(&self, sql: &str, params: impl Params) -> Result<usize, SqliteError> {
        let fail = |source| statement_error(sql, source);
        let mut stmt = self.conn.prepare_cached(sql).map_err(fail)?;
        stmt.execute(params).map_err(fail)
    }

    /// Runs several `;`-separated statements without parameters (schemas, seeds).
    pub fn execute_batch(&self, sql: &str) -> Result<(), SqliteError> {
        self.conn
            .execute_batch(sql)
            .map_err(|source| statement_error(sql, source))
    }

    /// Starts a transaction; its statements are captured like any other.
    pub fn transaction(&mut self) -> Result<rusqlite::Transaction<'_>, SqliteError> {
        self.conn
            .transaction()
            .map_err(|source| statement_error("BEGIN", source))
    }

    /// The rusqlite connection, for anything this wrapper does not offer (still captured).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The rusqlite connection, mutably.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

/// Counts the statements of a connection your application opened and keeps: installs SQLite's
/// trace hook on it (replacing any trace hook it had), so every statement it runs, through any
/// code, counts toward the running perf test (`max_queries`, `n_plus_one`, the statement
/// breakdown). Installing it again is harmless.
///
/// Your rusqlite must be the one perf-harness uses (this version, re-exported as
/// [`rusqlite`]): cargo then builds one rusqlite for both. With another
/// version, cargo builds two and `capture(&conn)` does not compile (``expected
/// `rusqlite::Connection`, found `rusqlite::Connection` ``, two crates of one name): align
/// the versions.
///
/// ```no_run
/// use perf_harness::db::sqlite::{capture, rusqlite::Connection};
///
/// struct Store { conn: Connection }            // the application's own repository
///
/// fn store() -> Store {
///     let conn = Connection::open("shop.db").expect("opens");
///     capture(&conn);                          // the application keeps its connection
///     Store { conn }
/// }
/// ```
pub fn capture(conn: &Connection) {
    conn.trace_v2(
        TraceEventCodes::SQLITE_TRACE_STMT | TraceEventCodes::SQLITE_TRACE_PROFILE,
        Some(trace),
    );
}

/// A statement error naming the statement, shortened to one readable line.
pub fn statement_error(sql: &str, source: rusqlite::Error) -> SqliteError {
    SqliteError::Statement {
        sql: short_sql(sql),
        source,
    }
}

thread_local! {
    /// Statements running on this thread: the address of their SQL text (stable while the
    /// statement lives) and when they started.
    static RUNNING: RefCell<Vec<(usize, Instant)>> = const { RefCell::new(Vec::new()) };
}

fn trace(event: TraceEvent<'_>) {
    if !capture::is_open() {
        return;
    }
    match event {
        // Trigger sub-programs arrive as `-- TRIGGER name` comments: part of their statement.
        TraceEvent::Stmt(stmt, text) if !text.starts_with("--") => {
            let key = stmt.sql().as_ptr() as usize;
            RUNNING.with_borrow_mut(|running| {
                if running.len() >= 64 {
                    running.remove(0);
                }
                running.push((key, Instant::now()));
            });
        }
        TraceEvent::Profile(stmt, sqlite_took) => {
            let now = Instant::now();
            let sql = stmt.sql();
            let key = sql.as_ptr() as usize;
            let started = RUNNING.with_borrow_mut(|running| {
                let i = running.iter().rposition(|(k, _)| *k == key)?;
                Some(running.remove(i).1)
            });
            let took: Duration = started.map_or(sqlite_took, |s| now - s);
            capture::record_statement(&sql, took);
        }
        _ => {}
    }
}

/// Connections to one SQLite file shared by the users of a load test (`User<SqlitePool>`):
/// concurrent readers and writers contending for SQLite's locks.
///
/// rusqlite is synchronous, so `run` executes each closure on tokio's blocking threads, where
/// calls on different connections overlap as they would in a server; the statements it runs
/// are still captured, timed as named requests of the iteration and counted for it. A user
/// waiting for a free connection is timed as the request `pool wait`. Writers wait up to 5 s
/// for a lock (`busy_timeout`) before SQLite reports the database busy.
#[derive(Clone)]
pub struct SqlitePool {
    inner: std::sync::Arc<SqliteInner>,
}

struct SqliteInner {
    idle: std::sync::Mutex<Vec<Sqlite>>,
    returned: tokio::sync::Notify,
    size: usize,
    path: PathBuf,
}

impl fmt::Debug for SqlitePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlitePool")
            .field("path", &self.inner.path)
            .field("size", &self.inner.size)
            .finish()
    }
}

impl SqliteInner {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Sqlite>> {
        // A panic while holding the lock leaves a plain list of connections behind: usable.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn give_back(&self, db: Sqlite) {
        self.idle().push(db);
        self.returned.notify_one();
    }
}

impl SqlitePool {
    /// A pool of `size` connections (at least 1) to `db`'s file: `db` itself (seeded by your
    /// `setup`; a `temporary` one keeps its directory until the pool goes) and `size - 1` more.
    pub fn new(db: Sqlite, size: usize) -> Result<SqlitePool, SqliteError> {
        let path = db.path().to_path_buf();
        let busy = |db: &Sqlite| {
            db.conn
                .busy_timeout(Duration::from_secs(5))
                .map_err(|source| SqliteError::Open {
                    path: path.clone(),
                    source,
                })
        };
        busy(&db)?;
        let mut idle = vec![db];
        for _ in 1..size.max(1) {
            let more = Sqlite::open(&path)?;
            busy(&more)?;
            idle.push(more);
        }
        Ok(SqlitePool {
            inner: std::sync::Arc::new(SqliteInner {
                idle: std::sync::Mutex::new(idle),
                returned: tokio::sync::Notify::new(),
                size: size.max(1),
                path,
            }),
        })
    }

    /// Connections in the pool.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a free connection on a blocking thread, waiting for one if all are busy.
    /// A panic in `f` resumes in the caller (the iteration fails with it).
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Sqlite) -> R + Send + 'static,
    ) -> R {
        let start = Instant::now();
        let mut db = loop {
            let notified = self.inner.returned.notified();
            tokio::pin!(notified);
            // Registered before looking, so a connection returned in between wakes us.
            notified.as_mut().enable();
            if let Some(db) = self.inner.idle().pop() {
                break db;
            }
            notified.await;
        };
        super::observer::observe_wait("pool wait", start.elapsed());
        let inner = std::sync::Arc::clone(&self.inner);
        // The connection goes back from the blocking thread, so a cancelled iteration (a
        // timeout) cannot lose it.
        let joined = tokio::task::spawn_blocking(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                super::observer::collect(|| f(&mut db))
            }));
            inner.give_back(db);
            outcome
        })
        .await;
        let outcome = match joined {
            Ok(outcome) => outcome,
            Err(e) => std::panic::resume_unwind(if e.is_panic() {
                e.into_panic()
            } else {
                Box::new("the SQLite call was cancelled: the runtime is shutting down")
            }),
        };
        match outcome {
            Ok((r, statements)) => {
                for (sql, took) in &statements {
                    super::observer::observe(sql, *took);
                }
                r
            }
            Err(payload) => std::panic::resume_unwind(payload),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::capture::tests::serial;
    use crate::db::capture::Capture;

    fn seeded() -> Sqlite {
        let db = Sqlite::temporary().expect("temp db");
        db.execute_batch(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE requests (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT);",
        )
        .expect("schema");
        for i in 0..10 {
            db.execute(
                "INSERT INTO users (id, name) VALUES (?1, ?2)",
                (i, format!("u{i}")),
            )
            .expect("user");
            db.execute(
                "INSERT INTO requests (user_id, title) VALUES (?1, 'film')",
                [i % 3],
            )
            .expect("request");
        }
        db
    }

    #[test]
    fn every_statement_is_counted_whichever_way_it_runs() {
        let _serial = serial();
        let mut db = seeded();
        assert!(db.path().exists(), "on disk, not in memory");
        let capture = Capture::open().expect("capture");
        capture.begin_call();
        let requests = db
            .query("SELECT id, user_id FROM requests ORDER BY id LIMIT 5", [])
            .expect("query");
        assert_eq!(requests.len(), 5);
        // N+1: one lookup per request.
        for r in &requests {
            let names = db
                .query_map("SELECT name FROM users WHERE id = ?1", [&r[1]], |row| {
                    row.get::<_, String>(0)
                })
                .expect("lookup");
            assert_eq!(names.len(), 1);
        }
        db.conn()
            .query_row("SELECT count(*) FROM users WHERE name LIKE 'u%'", [], |r| {
                r.get::<_, i64>(0)
            })
            .expect("raw connection");
        let tx = db.transaction().expect("begin");
        tx.execute("UPDATE users SET name = 'x' WHERE id = 1", [])
            .expect("update");
        tx.commit().expect("commit");
        // 1 + 5 + 1 + BEGIN, UPDATE, COMMIT.
        assert_eq!(capture.end_call(), 10);
        let q = capture.finish().expect("stats");
        let lookup = q
            .top
            .iter()
            .find(|s| s.sql == "SELECT name FROM users WHERE id = ?")
            .expect("lookups grouped under one key");
        assert_eq!(lookup.count, 5);
        assert!(q
            .top
            .iter()
            .any(|s| s.sql == "SELECT count(*) FROM users WHERE name LIKE ?"));
        assert!(lookup.max_ns > 0);
    }

    #[test]
    fn errors_name_the_statement_and_the_cause() {
        // Statements here would land in another test's open capture.
        let _serial = serial();
        let db = seeded();
        let err = db
            .query("SELECT * FROM media_requests\n  WHERE id = 1", [])
            .expect_err("no such table");
        let text = format!("{err:?}");
        assert!(text.contains("no such table: media_requests"), "{text}");
        assert!(
            text.contains("(in `SELECT * FROM media_requests WHERE id = 1`)"),
            "{text}"
        );
        let err = Sqlite::open("/nonexistent-dir/sub/db.sqlite3").expect_err("cannot open");
        assert!(
            err.to_string()
                .starts_with("cannot open the SQLite database /nonexistent-dir/sub/db.sqlite3"),
            "{err}"
        );
        assert_eq!(short_sql(&"x".repeat(200)).chars().count(), 120);
    }

    #[test]
    fn statements_outside_a_capture_are_not_recorded() {
        let _serial = serial();
        let db = seeded();
        db.query("SELECT 1", []).expect("query");
        let capture = Capture::open().expect("capture");
        assert!(capture.finish().is_none());
    }
}
