//! Database perf tests on a real PostgreSQL server (`--features postgres`, `DATABASE_URL`,
//! default `postgres://postgres@127.0.0.1:5432/test`): the media-requests schema in a schema of
//! its own per process, seeded server-side with skewed picks, dropped by `teardown`.
//!
//! Under `cargo test` (a smoke run) an unreachable server skips the body with a printed reason
//! (under CI it fails the test); under `cargo perf` it is an infrastructure error (exit 2)
//! naming the server and the fix.
#![cfg(feature = "postgres")]

mod prerequisite;

use perf_harness::db::postgres::{database_url, PostgresError};
use perf_harness::db::{PgPool, Postgres};
use perf_harness::{perf_test, User};
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::runtime::Handle;

const USERS: i64 = 5_000;
const MEDIA: i64 = 20_000;
const REQUESTS: i64 = 100_000;

struct PgShelf {
    db: Postgres,
    schema: String,
    next: i64,
}

/// `cargo perf` sets this for the test binaries it runs; `cargo test` does not.
fn under_cargo_perf() -> bool {
    std::env::var_os("CARGO_PERF_PACKAGE").is_some()
}

async fn seed() -> Result<PgShelf, PostgresError> {
    let db = Postgres::connect(&database_url()).await?;
    // One schema per fixture: `cargo test` runs both tests at once in one process.
    static FIXTURES: AtomicU32 = AtomicU32::new(0);
    let n = FIXTURES.fetch_add(1, Ordering::Relaxed);
    let schema = format!("mediashelf_perf_{}_{n}", std::process::id());
    let sql = format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE;
         CREATE SCHEMA {schema};
         SET search_path TO {schema};
         CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL);
         CREATE TABLE media (id BIGINT PRIMARY KEY, title TEXT NOT NULL, year INT NOT NULL,
                             requested BIGINT NOT NULL DEFAULT 0);
         CREATE TABLE requests (id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users,
                                media_id BIGINT NOT NULL REFERENCES media, status TEXT NOT NULL,
                                created_at BIGINT NOT NULL);
         INSERT INTO users SELECT g, 'user ' || g, g FROM generate_series(1, {USERS}) g;
         INSERT INTO media SELECT g, 'title ' || md5(g::text), 1926 + (g % 100)
             FROM generate_series(1, {MEDIA}) g;
         -- Zipf-like picks: floor((n + 1) ^ random()) favours low ids, like the SQLite seed.
         INSERT INTO requests (user_id, media_id, status, created_at)
             SELECT least({USERS}, floor(power({USERS} + 1, random()))::bigint),
                    least({MEDIA}, floor(power({MEDIA} + 1, random()))::bigint),
                    (ARRAY['pending', 'approved', 'available', 'declined'])[1 + (g % 4)],
                    g * 60
             FROM generate_series(1, {REQUESTS}) g;
         CREATE INDEX requests_recent ON requests (created_at DESC, id DESC);
         CREATE INDEX requests_by_user ON requests (user_id, created_at DESC);
         ANALYZE;"
    );
    db.batch_execute(&sql).await?;
    Ok(PgShelf {
        db,
        schema,
        next: 0,
    })
}

/// The seeded database, or `None` (with the reason printed) when a smoke run finds no server
/// outside CI.
fn pg_seeded() -> Option<PgShelf> {
    match Handle::current().block_on(seed()) {
        Ok(shelf) => Some(shelf),
        Err(PostgresError::Connect { server, reason }) if !under_cargo_perf() => {
            prerequisite::missing(
                &format!("no PostgreSQL answers at {server} ({reason})"),
                ".ci/run starts it with .ci/services.sh",
                "start it or set DATABASE_URL",
            );
            None
        }
        Err(e) => panic!("cannot seed PostgreSQL: {e}"),
    }
}

fn drop_schema(shelf: Option<PgShelf>) {
    if let Some(s) = shelf {
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", s.schema);
        if let Err(e) = Handle::current().block_on(s.db.batch_execute(&sql)) {
            eprintln!("warning: could not drop schema {}: {e}", s.schema);
        }
    }
}

/// The admin page on PostgreSQL: 20 most recent requests with requester and title.
#[perf_test(samples = 200, warmup = 20, setup = pg_seeded, teardown = drop_schema, p95 = "20ms", max_queries = 1)]
async fn pg_recent_requests_page(shelf: &mut Option<PgShelf>) -> Result<(), PostgresError> {
    let Some(s) = shelf else { return Ok(()) };
    let offset = (s.next % 10) * 20;
    s.next += 1;
    let rows =
        s.db.query(
            "SELECT r.id, r.status, u.name, m.title
             FROM requests r JOIN users u ON u.id = r.user_id JOIN media m ON m.id = r.media_id
             ORDER BY r.created_at DESC, r.id DESC LIMIT 20 OFFSET $1",
            &[&offset],
        )
        .await?;
    assert_eq!(rows.len(), 20);
    Ok(())
}

/// Submitting a request in a transaction: BEGIN, INSERT, UPDATE, COMMIT.
#[perf_test(samples = 200, warmup = 20, setup = pg_seeded, teardown = drop_schema, p95 = "30ms", max_queries = 4)]
async fn pg_submit_request_in_a_transaction(
    shelf: &mut Option<PgShelf>,
) -> Result<(), PostgresError> {
    let Some(s) = shelf else { return Ok(()) };
    let user = (s.next * 7919) % USERS + 1;
    let item = (s.next * 104_729) % MEDIA + 1;
    s.next += 1;
    s.db.batch_execute("BEGIN").await?;
    s.db.execute(
        "INSERT INTO requests (user_id, media_id, status, created_at) VALUES ($1, $2, 'pending', $3)",
        &[&user, &item, &(REQUESTS * 60 + s.next)],
    )
    .await?;
    s.db.execute(
        "UPDATE media SET requested = requested + 1 WHERE id = $1",
        &[&item],
    )
    .await?;
    s.db.batch_execute("COMMIT").await?;
    Ok(())
}

/// The seeded schema behind a pool of four connections, shared by the users of a load test;
/// dropping it drops the schema.
struct PgContention {
    pool: PgPool,
    shelf: Option<PgShelf>,
}

impl Drop for PgContention {
    fn drop(&mut self) {
        // Dropped by the harness outside its runtimes, while the connections are still driven.
        let Some(s) = self.shelf.take() else { return };
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", s.schema);
        let dropped = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
            .and_then(|rt| {
                rt.block_on(s.db.batch_execute(&sql))
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = dropped {
            eprintln!("warning: could not drop schema {}: {e}", s.schema);
        }
    }
}

/// The seeded database and four pooled connections on its schema, or `None` (reason printed)
/// when a smoke run finds no server.
fn pg_pool() -> Option<PgContention> {
    let shelf = pg_seeded()?;
    let connected = Handle::current().block_on(async {
        let pool = PgPool::connect(&database_url(), 4).await?;
        // Each connection looks in the fixture's schema.
        let mut held = Vec::new();
        for _ in 0..pool.size() {
            let db = pool.get().await;
            db.batch_execute(&format!("SET search_path TO {}", shelf.schema))
                .await?;
            held.push(db);
        }
        drop(held);
        Ok::<_, PostgresError>(pool)
    });
    match connected {
        Ok(pool) => Some(PgContention {
            pool,
            shelf: Some(shelf),
        }),
        Err(e) => {
            drop_schema(Some(shelf));
            panic!("cannot open the pool: {e}")
        }
    }
}

/// Contention, the example: ten users share four connections for 10 s; each iteration
/// searches titles, every fourth also submits a request. The per-request breakdown shows each
/// statement's p99 (`sql: ...`) and the wait for a free connection (`pool wait`).
#[perf_test(users = 10, duration = "10s", p99 = "250ms", max_error_rate = 0.0, setup = pg_pool)]
async fn pg_concurrent_search(user: &mut User<Option<PgContention>>) -> Result<(), PostgresError> {
    let n = (user.index() * 1_000_003 + user.iteration()) as i64;
    let Some(c) = user.state() else {
        return Ok(());
    };
    let db = c.pool.get().await;
    let pattern = format!("title {:x}%", n % 16);
    let hits = db
        .query(
            "SELECT id, title FROM media WHERE title LIKE $1 ORDER BY requested DESC, id LIMIT 20",
            &[&pattern],
        )
        .await?;
    assert!(!hits.is_empty());
    if n % 4 == 0 {
        let (who, item) = (n * 7919 % USERS + 1, n * 104_729 % MEDIA + 1);
        db.execute(
            "INSERT INTO requests (user_id, media_id, status, created_at) VALUES ($1, $2, 'pending', $3)",
            &[&who, &item, &(REQUESTS * 60 + n)],
        )
        .await?;
        db.execute(
            "UPDATE media SET requested = requested + 1 WHERE id = $1",
            &[&item],
        )
        .await?;
    }
    Ok(())
}
