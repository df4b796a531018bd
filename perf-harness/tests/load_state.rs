//! A load test whose users share the state its `setup` returns (`User<S>`): no HTTP service,
//! the statements its body reports timed as named requests and counted per iteration.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use perf_harness::db::record_statement;
use perf_harness::engine::{self, Mode};
use perf_harness::{perf_test, User};

/// Iterations that saw the shared state, over every run in this process.
static SEEN: AtomicU64 = AtomicU64::new(0);

struct Shelf {
    /// Shared by the users of one run: they run on one thread, so a `Cell` does.
    served: Cell<u64>,
}

fn shelf() -> Result<Shelf, String> {
    Ok(Shelf {
        served: Cell::new(0),
    })
}

#[perf_test(users = 3, iterations = 30, p99 = "10s", setup = shelf)]
async fn shared_shelf(user: &mut User<Shelf>) {
    let shelf = user.state();
    let n = shelf.served.get() + 1;
    shelf.served.set(n);
    SEEN.fetch_add(1, Ordering::Relaxed);
    record_statement(
        "SELECT title FROM media WHERE id = 7",
        Duration::from_micros(40),
    );
    tokio::task::yield_now().await;
    record_statement(
        "SELECT title FROM media WHERE id = 8",
        Duration::from_micros(60),
    );
    if n.is_multiple_of(10) {
        record_statement(
            "UPDATE media SET requested = requested + 1",
            Duration::from_micros(90),
        );
    }
}

fn broken() -> Result<Shelf, String> {
    Err("no such table: media".into())
}

#[perf_test(users = 1, iterations = 1, setup = broken)]
#[ignore = "fails on purpose; run by a_failing_state_setup_names_the_setup_and_its_error"]
async fn broken_setup(user: &mut User<Shelf>) {
    let _ = user.state();
}

/// Full runs open the process-wide statement capture: one at a time.
static ONE_FULL_RUN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn full() -> Mode {
    Mode::Full {
        quick: false,
        round: false,
        criterion_home: std::env::temp_dir(),
        package: "perf-harness".into(),
        target: "load_state".into(),
    }
}

#[test]
fn users_share_the_setup_state_and_statements_are_requests_and_counts() {
    let _one = ONE_FULL_RUN.lock().unwrap_or_else(|p| p.into_inner());
    let test = perf_harness::registry::find("shared_shelf").expect("registered");
    let before = SEEN.load(Ordering::Relaxed);
    let m = engine::run(&test.subject(), &full())
        .expect("runs without a service")
        .expect("measured");
    assert!(SEEN.load(Ordering::Relaxed) - before >= 30);
    let load = m.load.expect("a load report");
    assert_eq!(load.iterations, 30);
    assert_eq!(load.base_url, "");
    let by_name = |name: &str| {
        load.requests_by_name
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("no `{name}` in {:?}", load.requests_by_name))
    };
    // Both ids share one normalized key; every iteration ran it twice.
    let select = by_name("sql: SELECT title FROM media WHERE id = ?");
    assert_eq!(select.requests, 60);
    // 3 significant digits: 60 us is kept to within 0.1 %.
    assert!(
        (60_000.0..60_060.0).contains(&select.latency.max_ns),
        "{select:?}"
    );
    assert_eq!(
        by_name("sql: UPDATE media SET requested = requested + ?").requests,
        3
    );
    let q = m.queries.expect("statements were counted");
    assert_eq!(q.calls, 30);
    assert_eq!((q.min_per_call, q.max_per_call), (2, 3));
    assert_eq!(q.mean_per_call, 2.1);
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use perf_harness::db::{Sqlite, SqlitePool};
    use perf_harness::{perf_test, User};

    pub fn pool() -> SqlitePool {
        let db = Sqlite::temporary().expect("temp dir");
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE media (id INTEGER PRIMARY KEY, requested INTEGER NOT NULL);
             INSERT INTO media (id, requested) VALUES (1, 0), (2, 0), (3, 0);",
        )
        .expect("seed");
        SqlitePool::new(db, 3).expect("pool")
    }

    /// Readers and a writer on three connections to one file.
    #[perf_test(users = 4, iterations = 40, p99 = "10s", setup = pool)]
    async fn sqlite_contention(user: &mut User<SqlitePool>) -> Result<(), String> {
        let id = 1 + (user.index() % 3) as i64;
        user.state()
            .run(move |db| {
                db.execute(
                    "UPDATE media SET requested = requested + 1 WHERE id = ?1",
                    [id],
                )?;
                db.query("SELECT requested FROM media WHERE id = ?1", [id])
            })
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_pool_users_contend_and_their_statements_are_counted() {
    let _one = ONE_FULL_RUN.lock().unwrap_or_else(|p| p.into_inner());
    let test = perf_harness::registry::find("sqlite::sqlite_contention").expect("registered");
    let m = engine::run(&test.subject(), &full())
        .expect("runs without a service")
        .expect("measured");
    let load = m.load.expect("a load report");
    assert_eq!(
        (load.iterations, load.failed_iterations),
        (40, 0),
        "{:?}",
        load.first_errors
    );
    let names: Vec<(&str, u64)> = load
        .requests_by_name
        .iter()
        .map(|r| (r.name.as_str(), r.requests))
        .collect();
    assert!(
        names.contains(&(
            "sql: UPDATE media SET requested = requested + ? WHERE id = ?",
            40
        )),
        "{names:?}"
    );
    assert!(
        names.contains(&("sql: SELECT requested FROM media WHERE id = ?", 40)),
        "{names:?}"
    );
    assert!(names.contains(&("pool wait", 40)), "{names:?}");
    let q = m.queries.expect("statements were counted");
    assert_eq!((q.calls, q.min_per_call, q.max_per_call), (40, 2, 2));
}

#[test]
fn a_failing_state_setup_names_the_setup_and_its_error() {
    let test = perf_harness::registry::find("broken_setup").expect("registered");
    let err = engine::run(&test.subject(), &full()).expect_err("setup fails");
    assert_eq!(
        err.to_string(),
        "setup `broken` failed: \"no such table: media\""
    );
    assert!(!err.is_infrastructure());
}
