//! The recent-requests page of `mediashelf::pg_api` on PostgreSQL through the service's own sqlx
//! pool (`--features postgres`, `DATABASE_URL`): the repository function timed, its statements
//! counted from sqlx's own events (`perf_harness::db::sqlx::capture()` in setup), each process
//! in a schema of its own (set as a connection option, so no statement is spent on it), dropped
//! by `teardown`.
//!
//! Under `cargo test` (a smoke run) an unreachable server skips the body with a printed reason
//! (under CI it fails the test); under `cargo perf` it fails the test naming the server.
#![cfg(feature = "postgres")]

mod prerequisite;

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use mediashelf::pg_api;
use perf_harness::db::postgres::database_url;
use perf_harness::{perf_test, User};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use tokio::runtime::Handle;

/// The service's pool on a schema of this process, seeded.
struct Pages {
    pool: PgPool,
    schema: String,
}

/// `cargo perf` sets this for the test binaries it runs; `cargo test` does not.
fn under_cargo_perf() -> bool {
    std::env::var_os("CARGO_PERF_PACKAGE").is_some()
}

async fn seed(url: &str, schema: &str) -> sqlx::Result<PgPool> {
    let admin = PgPoolOptions::new().max_connections(1).connect(url).await?;
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))
    .execute(&admin)
    .await?;
    admin.close().await;
    let options = PgConnectOptions::from_str(url)?.options([("search_path", schema)]);
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await?;
    pg_api::seed(&pool, 5_000, 20_000, 100_000).await?;
    Ok(pool)
}

/// The seeded pool, or `None` (with the reason printed) when a smoke run finds no server
/// outside CI.
fn pages() -> Option<Pages> {
    perf_harness::db::sqlx::capture().unwrap_or_else(|e| panic!("{e}"));
    // `cargo test` runs the setups at once in one process: one seed at a time is plenty, and
    // PostgreSQL's catalog locks made concurrent ones deadlock.
    static SEEDING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = SEEDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    static FIXTURES: AtomicU32 = AtomicU32::new(0);
    let n = FIXTURES.fetch_add(1, Ordering::Relaxed);
    let schema = format!("mediashelf_sqlx_{}_{n}", std::process::id());
    let url = database_url();
    match Handle::current().block_on(seed(&url, &schema)) {
        Ok(pool) => Some(Pages { pool, schema }),
        Err(e @ (sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut)) if !under_cargo_perf() => {
            prerequisite::missing(
                &format!("no PostgreSQL answers at {url} ({e})"),
                ".ci/run starts it with .ci/services.sh",
                "start it or set DATABASE_URL",
            );
            None
        }
        Err(e) => panic!("cannot seed PostgreSQL at {url}: {e}"),
    }
}

fn drop_pages(pages: Option<Pages>) {
    if let Some(p) = pages {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", p.schema);
        if let Err(e) = Handle::current().block_on(sqlx::raw_sql(&sql).execute(&p.pool)) {
            eprintln!("warning: could not drop schema {}: {e}", p.schema);
        }
    }
}

/// The page through the service's repository function on its pool: one statement.
#[perf_test(samples = 200, warmup = 20, setup = pages, teardown = drop_pages, p95 = "20ms", max_queries = 1)]
async fn pg_sqlx_recent_requests(pages: &mut Option<Pages>) -> sqlx::Result<()> {
    let Some(p) = pages else { return Ok(()) };
    assert_eq!(pg_api::recent(&p.pool, 20).await?.len(), 20);
    Ok(())
}

/// The page written one lookup at a time (`--features n-plus-one-demo`): 41 statements on the
/// service's own pool, which `max_queries = 3` catches.
#[cfg(feature = "n-plus-one-demo")]
#[perf_test(samples = 50, setup = pages, teardown = drop_pages, max_queries = 3)]
async fn pg_sqlx_recent_requests_one_by_one(pages: &mut Option<Pages>) -> sqlx::Result<()> {
    let Some(p) = pages else { return Ok(()) };
    assert_eq!(pg_api::recent_one_by_one(&p.pool, 20).await?.len(), 20);
    Ok(())
}

/// Drops a load test's schema when the harness drops the service (on a thread of its own: the
/// harness's runtime may be gone by then).
struct DropSchema(Option<Pages>);

impl Drop for DropSchema {
    fn drop(&mut self) {
        let Some(pages) = self.0.take() else { return };
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match rt {
                Ok(rt) => rt.block_on(async {
                    let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", pages.schema);
                    let options = PgConnectOptions::from_str(&database_url())?;
                    let admin = PgPoolOptions::new()
                        .max_connections(1)
                        .connect_with(options)
                        .await?;
                    sqlx::raw_sql(&sql).execute(&admin).await.map(|_| ())
                }),
                Err(e) => Err(sqlx::Error::Io(e)),
            }
        });
        if let Ok(Err(e)) = dropped.join() {
            eprintln!("warning: could not drop a load test's schema: {e}");
        }
    }
}

/// The service itself, in this process: axum with the seeded pool in its state, on an
/// ephemeral port. Without a server in a smoke run outside CI, a dead address (the smoke run
/// then reports the prerequisite).
fn serve_pages() -> (std::net::SocketAddr, DropSchema) {
    let pages = pages();
    let addr = match &pages {
        Some(p) => pg_api::spawn(p.pool.clone()).expect("bind an ephemeral port on 127.0.0.1"),
        None => std::net::SocketAddr::from(([127, 0, 0, 1], 9)),
    };
    (addr, DropSchema(pages))
}

/// The page over HTTP under load: 4 users against axum and the sqlx pool in its state. The
/// handlers' statements run on the service's threads, so they are averaged over the
/// iterations: one per page, which `max_queries = 1` holds.
#[perf_test(users = 4, duration = "3s", p95 = "50ms", max_error_rate = 0.0, max_queries = 1,
            setup = serve_pages)]
async fn pg_sqlx_recent_page_under_load(user: &mut User) {
    let page = user
        .get("/api/v1/requests/recent?limit=20")
        .name("recent page")
        .send()
        .await;
    user.check("recent page is 200", page.status() == 200);
}

/// The one-by-one page over HTTP (`--features n-plus-one-demo`): 41 statements per page on
/// average, which `max_queries = 3` catches in a load test too.
#[cfg(feature = "n-plus-one-demo")]
#[perf_test(users = 4, duration = "2s", max_queries = 3, setup = serve_pages)]
async fn pg_sqlx_recent_page_one_by_one_under_load(user: &mut User) {
    let page = user
        .get("/api/v1/requests/recent/one-by-one?limit=20")
        .name("recent page, one by one")
        .send()
        .await;
    user.check("recent page is 200", page.status() == 200);
}
