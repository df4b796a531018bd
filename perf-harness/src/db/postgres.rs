//! `Postgres`: a tokio-postgres client whose every statement is timed and reported to the
//! capture, on the tokio runtime the harness owns.
//!
//! tokio-postgres rather than sqlx: it is the plain async driver under deadpool, bb8 and
//! diesel-async, compiles in a fraction of sqlx's time, needs no tracing subscriber to observe
//! statements (sqlx reports them through `tracing` events, summarized and truncated), and a
//! thin wrapper times each statement exactly from the call to the last row received.

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls, Row};

use super::capture;
use super::short_sql;

/// The tokio-postgres version this wrapper is built on, for `Row`, `types` and errors.
pub use tokio_postgres;

/// `DATABASE_URL` when unset: the local server with trust authentication that CI starts.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A PostgreSQL operation failed; the message names the server or the statement.
#[derive(thiserror::Error)]
pub enum PostgresError {
    /// `DATABASE_URL` is not a connection string.
    #[error("DATABASE_URL `{url}` is not a PostgreSQL connection string: {reason}")]
    Url {
        /// The text given.
        url: String,
        /// The parser's complaint.
        reason: String,
    },
    /// The server could not be reached, or refused the login.
    #[error("cannot connect to PostgreSQL at {server}: {reason}; start the server or set DATABASE_URL (e.g. {DEFAULT_URL})")]
    Connect {
        /// `user@host:port/database`, without the password.
        server: String,
        /// The driver's reason (connection refused, authentication failed, unknown database).
        reason: String,
    },
    /// No tokio runtime to connect from.
    #[error("`Postgres::connect_blocking` needs the harness's tokio runtime: make the perf test `async fn` (its setup then runs inside the runtime)")]
    NoRuntime,
    /// A statement failed (a missing table, a constraint, a lost connection).
    #[error("{reason} (in `{sql}`)")]
    Statement {
        /// The statement, on one line.
        sql: String,
        /// The server's message.
        reason: String,
    },
}

// Test bodies report errors with `{:?}`: make that the readable message.
impl fmt::Debug for PostgresError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The error and its causes on one line: tokio-postgres keeps the server's message in `source`.
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{}: {}", db.severity(), db.message());
        if let Some(hint) = db.hint() {
            text.push_str(&format!(" (hint: {hint})"));
        }
        return text;
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

fn statement_error(sql: &str, e: &tokio_postgres::Error) -> PostgresError {
    PostgresError::Statement {
        sql: short_sql(sql),
        reason: describe(e),
    }
}

/// A PostgreSQL connection whose statements count toward the running perf test's query counts.
///
/// ```no_run
/// use perf_harness::db::{postgres::{database_url, PostgresError}, Postgres};
/// use perf_harness::perf_test;
///
/// // `setup` runs inside the harness's tokio runtime: connect there, once.
/// fn connect() -> Postgres {
///     Postgres::connect_blocking(&database_url()).expect("PostgreSQL at DATABASE_URL")
/// }
///
/// #[perf_test(p95 = "10ms", samples = 200, setup = connect, max_queries = 1)]
/// async fn select_one(db: &mut Postgres) -> Result<(), PostgresError> {
///     db.query("SELECT 1", &[]).await.map(drop)
/// }
/// # fn main() {}
/// ```
pub struct Postgres {
    client: Client,
    server: String,
}

impl fmt::Debug for Postgres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Postgres")
            .field("server", &self.server)
            .finish()
    }
}

/// `DATABASE_URL`, or `DEFAULT_URL` when it is unset.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

fn server_of(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or("?"),
        config.get_dbname().unwrap_or("?")
    )
}

impl Postgres {
    /// Connects to `url` (no TLS) and drives the connection on the current tokio runtime.
    pub async fn connect(url: &str) -> Result<Postgres, PostgresError> {
        let config = Config::from_str(url).map_err(|e| PostgresError::Url {
            url: url.to_string(),
            reason: describe(&e),
        })?;
        let server = server_of(&config);
        let (client, connection) = config.connect(NoTls).await.map_err(|e| {
            let e = PostgresError::Connect {
                server: server.clone(),
                reason: describe(&e),
            };
            super::report_unreachable(e.to_string());
            e
        })?;
        tokio::spawn(async move {
            // The client's next statement reports a lost connection as its error.
            let _ = connection.await;
        });
        Ok(Postgres { client, server })
    }

    /// Connects to `DATABASE_URL` (or `DEFAULT_URL`).
    pub async fn connect_env() -> Result<Postgres, PostgresError> {
        Postgres::connect(&database_url()).await
    }

    /// `connect` from a synchronous `setup` of an async perf test (it runs inside the runtime).
    pub fn connect_blocking(url: &str) -> Result<Postgres, PostgresError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| PostgresError::NoRuntime)?;
        handle.block_on(Postgres::connect(url))
    }

    /// `user@host:port/database` of the server.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Runs a query and returns its rows.
    pub async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, PostgresError> {
        let start = Instant::now();
        let result = self.client.query(sql, params).await;
        capture::record_statement(sql, start.elapsed());
        result.map_err(|e| statement_error(sql, &e))
    }

    /// Runs a query that returns exactly one row.
    pub async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, PostgresError> {
        let start = Instant::now();
        let result = self.client.query_one(sql, params).await;
        capture::record_statement(sql, start.elapsed());
        result.map_err(|e| statement_error(sql, &e))
    }

    /// Runs a statement and returns the number of rows it changed.
    pub async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, PostgresError> {
        let start = Instant::now();
        let result = self.client.execute(sql, params).await;
        capture::record_statement(sql, start.elapsed());
        result.map_err(|e| statement_error(sql, &e))
    }

    /// Runs `;`-separated statements without parameters (schemas, seeds, `BEGIN`/`COMMIT`);
    /// counted as one statement.
    pub async fn batch_execute(&self, sql: &str) -> Result<(), PostgresError> {
        let start = Instant::now();
        let result = self.client.batch_execute(sql).await;
        capture::record_statement(sql, start.elapsed());
        result.map_err(|e| statement_error(sql, &e))
    }

    /// The tokio-postgres client. Statements run through it directly are not captured.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// A fixed set of `Postgres` connections shared by the users of a load test (`User<PgPool>`)
/// or the tasks of an async latency test: contention on the server and on the pool itself.
///
/// Every connection is our capturing wrapper, so statement counts and the per-statement
/// breakdown work under contention. A user waiting for a free connection is timed too (the
/// request `pool wait` in a load test's breakdown). Connections open up front, inside the
/// runtime the `setup` runs in (a load test's service runtime), which then drives them.
///
/// Why not deadpool-postgres or bb8: they hand out tokio-postgres clients, whose statements
/// bypass the capture; wrapping theirs in ours would leave them only the waiting, which a mutex
/// and a `Notify` do in a few lines with no dependency and no recycling policy to tune.
#[derive(Clone)]
pub struct PgPool {
    inner: std::sync::Arc<PoolInner>,
}

struct PoolInner {
    idle: std::sync::Mutex<Vec<Postgres>>,
    returned: tokio::sync::Notify,
    size: usize,
    server: String,
}

impl fmt::Debug for PgPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgPool")
            .field("server", &self.inner.server)
            .field("size", &self.inner.size)
            .finish()
    }
}

impl PgPool {
    /// Opens `size` connections (at least 1) to `url`.
    pub async fn connect(url: &str, size: usize) -> Result<PgPool, PostgresError> {
        let mut idle = Vec::with_capacity(size.max(1));
        for _ in 0..size.max(1) {
            idle.push(Postgres::connect(url).await?);
        }
        let server = idle[0].server().to_string();
        Ok(PgPool {
            inner: std::sync::Arc::new(PoolInner {
                idle: std::sync::Mutex::new(idle),
                returned: tokio::sync::Notify::new(),
                size: size.max(1),
                server,
            }),
        })
    }

    /// `connect` from a synchronous `setup` (it runs inside the harness's runtime).
    pub fn connect_blocking(url: &str, size: usize) -> Result<PgPool, PostgresError> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| PostgresError::NoRuntime)?;
        handle.block_on(PgPool::connect(url, size))
    }

    /// Connections in the pool.
    pub fn size(&self) -> usize {
        self.inner.size
    }

    /// `user@host:port/database` of the server.
    pub fn server(&self) -> &str {
        &self.inner.server
    }

    /// A connection, waiting until one is free; it goes back to the pool when dropped.
    pub async fn get(&self) -> PooledPostgres {
        let start = Instant::now();
        loop {
            let notified = self.inner.returned.notified();
            tokio::pin!(notified);
            // Registered before looking, so a connection returned in between wakes us.
            notified.as_mut().enable();
            if let Some(conn) = self.idle().pop() {
                super::observer::observe_wait("pool wait", start.elapsed());
                return PooledPostgres {
                    conn: Some(conn),
                    pool: std::sync::Arc::clone(&self.inner),
                };
            }
            notified.await;
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Postgres>> {
        self.inner.idle()
    }
}

impl PoolInner {
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Postgres>> {
        // A panic while holding the lock leaves a plain list of connections behind: usable.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A connection taken from a `PgPool`: use it as a `Postgres`; dropping it gives it back.
pub struct PooledPostgres {
    conn: Option<Postgres>,
    pool: std::sync::Arc<PoolInner>,
}

impl std::ops::Deref for PooledPostgres {
    type Target = Postgres;

    fn deref(&self) -> &Postgres {
        // Only `drop` takes it out.
        self.conn
            .as_ref()
            .unwrap_or_else(|| unreachable!("a pooled connection is present until dropped"))
    }
}

impl Drop for PooledPostgres {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.idle().push(conn);
            self.pool.returned.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_and_unreachable_servers_say_what_to_do() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let err = rt
            .block_on(Postgres::connect("mysql://nope"))
            .expect_err("not a postgres url");
        assert!(
            err.to_string()
                .starts_with("DATABASE_URL `mysql://nope` is not a PostgreSQL connection string"),
            "{err}"
        );
        // Port 1 on loopback: nothing listens there.
        let err = rt
            .block_on(Postgres::connect(
                "postgres://someone:secret@127.0.0.1:1/shelf",
            ))
            .expect_err("unreachable");
        let text = format!("{err:?}");
        assert!(
            text.starts_with("cannot connect to PostgreSQL at someone@127.0.0.1:1/shelf: error connecting to server"),
            "{text}"
        );
        assert!(!text.contains("secret"), "the password stays out: {text}");
        assert!(text.contains("set DATABASE_URL"), "{text}");
        assert!(matches!(
            Postgres::connect_blocking(DEFAULT_URL),
            Err(PostgresError::NoRuntime)
        ));
    }
}
