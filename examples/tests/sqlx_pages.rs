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
use perf_harness::perf_test;
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
