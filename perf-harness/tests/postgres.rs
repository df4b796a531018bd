//! `db::Postgres` against a real server at `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`): statement counts, the per-statement breakdown,
//! and the messages of a missing table and a lost connection. Skipped, with the reason
//! printed, when no server answers; under CI that fails instead.
#![cfg(feature = "postgres")]

mod prerequisite;

use perf_harness::db::capture::Capture;
use perf_harness::db::postgres::{database_url, PostgresError};
use perf_harness::db::Postgres;

/// Skips the calling test (fails it under CI): no server at `server`, for `reason`.
fn no_server(server: &str, reason: &str) {
    prerequisite::missing(
        &format!("no PostgreSQL answers at {server} ({reason})"),
        ".ci/run starts it with .ci/services.sh",
        "start it or set DATABASE_URL",
    );
}

/// Both tests open the process-wide statement capture: one at a time.
static ONE_CAPTURE: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn statements_are_counted_and_failures_name_their_cause() {
    let _one = ONE_CAPTURE.lock().unwrap_or_else(|p| p.into_inner());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let db = match Postgres::connect(&database_url()).await {
            Ok(db) => db,
            Err(PostgresError::Connect { server, reason }) => {
                no_server(&server, &reason);
                return;
            }
            Err(e) => panic!("{e}"),
        };
        // Wrong credentials and a missing database: the server's reason, no password.
        let url = database_url();
        if !url.contains('?') {
            let err = Postgres::connect(&format!("{url}_no_such_db"))
                .await
                .expect_err("no such database");
            assert!(err.to_string().contains("does not exist"), "{err}");
            let (scheme, rest) = url.split_once("://").expect("a URL with a scheme");
            let host_and_db = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            let as_role = format!("{scheme}://no_such_role_x:pw@{host_and_db}");
            let err = Postgres::connect(&as_role).await.expect_err("no such role");
            let text = err.to_string();
            assert!(
                text.contains("no_such_role_x") && !text.contains(":pw"),
                "{text}"
            );
        }

        let schema = format!("perf_harness_test_{}", std::process::id());
        db.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};
             SET search_path TO {schema};
             CREATE TABLE users (id INT PRIMARY KEY, name TEXT NOT NULL);
             INSERT INTO users SELECT g, 'u' || g FROM generate_series(1, 50) g;"
        ))
        .await
        .expect("schema");

        let capture = Capture::open().expect("the only capture in this process");
        capture.begin_call();
        let ids = db
            .query("SELECT id FROM users ORDER BY id LIMIT 5", &[])
            .await
            .expect("page");
        // Lookups from spawned tasks count for the call too.
        let db = std::sync::Arc::new(db);
        let mut tasks = Vec::new();
        for row in ids {
            let db = std::sync::Arc::clone(&db);
            let id: i32 = row.get(0);
            tasks.push(tokio::spawn(async move {
                db.query_one("SELECT name FROM users WHERE id = $1", &[&id])
                    .await
                    .map(|r| r.get::<_, String>(0))
            }));
        }
        for t in tasks {
            assert!(t.await.expect("task").expect("lookup").starts_with('u'));
        }
        let err = db
            .query("SELECT * FROM media_requests WHERE id = 1", &[])
            .await
            .expect_err("missing table");
        assert_eq!(
            capture.end_call(),
            7,
            "page + 5 lookups + the failed statement"
        );
        let q = capture.finish().expect("counted");
        let lookup = q
            .top
            .iter()
            .find(|s| s.sql == "SELECT name FROM users WHERE id = ?")
            .expect("grouped by normalized text");
        assert_eq!(lookup.count, 5);
        let text = format!("{err:?}");
        assert!(
            text.contains("relation \"media_requests\" does not exist"),
            "{text}"
        );
        assert!(
            text.contains("(in `SELECT * FROM media_requests WHERE id = 1`)"),
            "{text}"
        );

        // The server goes away mid-run: terminate our own backend.
        let killer = Postgres::connect(&database_url())
            .await
            .expect("second connection");
        let pid: i32 = db
            .query_one("SELECT pg_backend_pid()", &[])
            .await
            .expect("pid")
            .get(0);
        killer
            .execute("SELECT pg_terminate_backend($1)", &[&pid])
            .await
            .expect("terminate");
        let err = db
            .query("SELECT 1", &[])
            .await
            .expect_err("connection is gone");
        let text = err.to_string();
        assert!(
            text.contains("terminating connection") || text.contains("connection closed"),
            "{text}"
        );
        killer
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .expect("cleanup");
    });
}

mod contention {
    use perf_harness::db::postgres::{database_url, PgPool, PostgresError};
    use perf_harness::{perf_test, User};

    /// `None` (skipped, reason printed) when no server answers; under CI, a panic.
    pub fn pool() -> Option<PgPool> {
        match PgPool::connect_blocking(&database_url(), 3) {
            Ok(pool) => Some(pool),
            Err(PostgresError::Connect { server, reason }) => {
                super::no_server(&server, &reason);
                None
            }
            Err(e) => panic!("{e}"),
        }
    }

    /// Five users on three connections: they wait for the pool and contend on the server.
    #[perf_test(users = 5, iterations = 50, p99 = "10s", setup = pool)]
    pub async fn pg_contention(user: &mut User<Option<PgPool>>) -> Result<(), PostgresError> {
        let Some(pool) = user.state() else {
            return Ok(());
        };
        let db = pool.get().await;
        let n: i32 = db
            .query_one("SELECT $1::int + 1", &[&(user.index() as i32)])
            .await?
            .get(0);
        assert_eq!(n, user.index() as i32 + 1);
        db.query("SELECT pg_sleep(0.001)", &[]).await?;
        Ok(())
    }
}

#[test]
fn a_pg_pool_shares_captured_connections_between_the_users_of_a_load_test() {
    let _one = ONE_CAPTURE.lock().unwrap_or_else(|p| p.into_inner());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let reachable = {
        let _in = rt.enter();
        contention::pool().is_some()
    };
    drop(rt);
    if !reachable {
        return;
    }
    let test = perf_harness::registry::find("contention::pg_contention").expect("registered");
    let mode = perf_harness::engine::Mode::Full {
        quick: false,
        round: false,
        criterion_home: std::env::temp_dir(),
        package: "perf-harness".into(),
        target: "postgres".into(),
    };
    let m = perf_harness::engine::run(&test.subject(), &mode)
        .expect("runs without a service")
        .expect("measured");
    let load = m.load.expect("a load report");
    assert_eq!(
        (load.iterations, load.failed_iterations),
        (50, 0),
        "{:?}",
        load.first_errors
    );
    let names: Vec<(&str, u64)> = load
        .requests_by_name
        .iter()
        .map(|r| (r.name.as_str(), r.requests))
        .collect();
    assert!(names.contains(&("sql: SELECT ?::int + ?", 50)), "{names:?}");
    assert!(
        names.contains(&("sql: SELECT pg_sleep(?)", 50)),
        "{names:?}"
    );
    assert!(names.contains(&("pool wait", 50)), "{names:?}");
    let q = m.queries.expect("statements were counted");
    assert_eq!((q.calls, q.min_per_call, q.max_per_call), (50, 2, 2));
}
