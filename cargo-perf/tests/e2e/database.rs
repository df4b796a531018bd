//! Database tests: counted statements, N+1 detection, an unreachable database in setup.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::prerequisite;
use crate::support::{cargo_perf_env, fixtures, json, result, stderr};
#[test]
fn database_tests_count_statements_and_catch_n_plus_one() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let report = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-perf"))
        .arg("perf")
        .arg("--manifest-path")
        .arg(examples.join("Cargo.toml"))
        .args([
            "--features",
            "n-plus-one-demo,postgres",
            "--quick",
            "--format",
            "json",
            "--report-dir",
            report.path().to_str().expect("utf-8"),
            "n_plus_one",
            "recent_requests_page",
            "pg_",
            "app_store",
        ])
        .current_dir(&examples)
        .env("CARGO_TERM_COLOR", "never")
        // The fixtures' target directory already holds the optimized dependencies, and keeps
        // this build off the lock of the workspace's own `cargo test`.
        .env("CARGO_TARGET_DIR", fixtures().join("target"))
        .output()
        .expect("cargo-perf runs");
    let summary = json(&out);

    // Without a server the PostgreSQL tests are infrastructure errors, and the run exits 2.
    let mut pg_answered = true;
    for (name, statements) in [
        ("pg_recent_requests_page", 1),
        ("pg_submit_request_in_a_transaction", 4),
        // The service's own sqlx pool (examples/src/pg_api.rs), counted from sqlx's events.
        ("pg_sqlx_recent_requests", 1),
    ] {
        let pg = result(&summary, name);
        if pg["outcome"] == "error" {
            let message = pg["record"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains("cannot connect to PostgreSQL"),
                "{name}: {message}"
            );
            prerequisite::missing(
                &format!("{name} found no PostgreSQL ({message})"),
                ".ci/run starts it with .ci/services.sh",
                "start it or set DATABASE_URL",
            );
            pg_answered = false;
            continue;
        }
        // Their p95 thresholds depend on how busy the machine is; statement counts do not.
        let verdicts = pg["verdicts"].as_array().expect("verdicts");
        let counted = verdicts
            .iter()
            .find(|v| v["threshold"]["metric"] == "max_queries");
        assert_eq!(
            counted.map(|v| &v["passed"]),
            Some(&Value::Bool(true)),
            "{pg:#}"
        );
        assert_eq!(pg["record"]["queries"]["max_per_call"], statements);
    }
    if pg_answered {
        let naive = result(&summary, "pg_sqlx_recent_requests_one_by_one");
        assert_eq!(naive["outcome"], "fail", "{naive:#}");
        assert_eq!(naive["record"]["queries"]["max_per_call"], 41, "{naive:#}");
        // The same pages over HTTP under load: axum and the sqlx pool in its state, the
        // handlers' statements on the service's threads, averaged over the iterations.
        for (name, per_page, passes) in [
            ("pg_sqlx_recent_page_under_load", 1, true),
            ("pg_sqlx_recent_page_one_by_one_under_load", 41, false),
        ] {
            let load = result(&summary, name);
            let q = &load["record"]["queries"];
            assert_eq!(q["averaged"], true, "{name}: {load:#}");
            assert_eq!(q["max_per_call"], per_page, "{name}: {q:#}");
            let iterations = load["record"]["load"]["iterations"]
                .as_u64()
                .expect("iterations");
            assert!(iterations > 0, "{name}");
            assert_eq!(q["calls"], iterations, "{name}");
            // Only the requests in flight at the end (4 users) ran statements no iteration kept.
            let statements = q["statements"].as_u64().expect("statements");
            assert!(
                statements >= per_page * iterations && statements <= per_page * (iterations + 4),
                "{name}: {statements} statements in {iterations} iterations"
            );
            let verdict = load["verdicts"]
                .as_array()
                .expect("verdicts")
                .iter()
                .find(|v| v["threshold"]["metric"] == "max_queries")
                .unwrap_or_else(|| panic!("{name}: {load:#}"));
            assert_eq!(verdict["averaged"], true, "{name}");
            assert_eq!(verdict["passed"], passes, "{name}: {verdict:#}");
        }
    }
    let expected = if pg_answered { 1 } else { 2 };
    assert_eq!(out.status.code(), Some(expected), "{}", stderr(&out));

    let naive = result(&summary, "n_plus_one_demo::recent_requests_n_plus_one");
    assert_eq!(naive["outcome"], "fail");
    let verdict = &naive["verdicts"][0];
    assert_eq!(verdict["threshold"]["metric"], "max_queries");
    assert_eq!(
        (&verdict["measured"], &verdict["unit"]),
        (&serde_json::json!(41.0), &serde_json::json!("count")),
        "1 page query + 2 lookups x 20 rows"
    );
    let top = naive["record"]["queries"]["top"].as_array().expect("top");
    let lookup = top
        .iter()
        .find(|s| s["sql"] == "SELECT name FROM users WHERE id = ?")
        .expect("per-row lookups grouped under their normalized text");
    assert_eq!(lookup["count"], 20 * 20, "20 rows x 20 quick samples");

    let growing = result(&summary, "n_plus_one_demo::user_history_n_plus_one");
    assert_eq!(growing["outcome"], "fail");
    let [half, full] = [0, 1].map(|i| {
        growing["record"]["queries"]["scaling"][i]
            .as_u64()
            .expect("scaling")
    });
    assert!(
        full > half,
        "statements grow with the data: {half} -> {full}"
    );

    // The service's own repository on its own rusqlite connection (`capture(&conn)`): the
    // page's one statement, and the naive page's 41, counted without handing it over.
    let app = result(&summary, "app_store_recent_page");
    assert_eq!(app["outcome"], "pass", "{app:#}");
    assert_eq!(app["record"]["queries"]["max_per_call"], 1, "{app:#}");
    let naive_app = result(&summary, "n_plus_one_demo::app_store_recent_one_by_one");
    assert_eq!(naive_app["outcome"], "fail", "{naive_app:#}");
    assert_eq!(naive_app["record"]["queries"]["max_per_call"], 41);

    let page = result(&summary, "recent_requests_page");
    assert_eq!(page["outcome"], "pass", "{page:#}");
    assert_eq!(page["record"]["queries"]["max_per_call"], 1);

    let md = std::fs::read_to_string(report.path().join("summary.md")).expect("summary.md");
    assert!(md.contains("### Database statements"), "{md}");
    assert!(
        md.contains("max_queries ≤ 3 (measured 41 in the busiest call)"),
        "{md}"
    );
}

#[test]
fn an_unreachable_database_in_setup_exits_2_and_the_other_tests_still_run() {
    let report = tempfile::tempdir().expect("tempdir");
    let out = cargo_perf_env(
        &[
            "-p",
            "fixture-db",
            "--no-compare",
            "--format",
            "json",
            "--report-dir",
            report.path().to_str().expect("utf-8"),
        ],
        // Port 1 on loopback: nothing listens there.
        &[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/test")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let summary = json(&out);
    let down = result(&summary, "reaches_the_database");
    assert_eq!(down["outcome"], "error", "{down:#}");
    let message = down["record"]["message"].as_str().expect("message");
    assert!(
        message.starts_with(
            "setup `connect` could not reach its database: cannot connect to PostgreSQL at \
             postgres@127.0.0.1:1/test: "
        ),
        "{message}"
    );
    assert!(message.contains("set DATABASE_URL"), "{message}");
    assert_eq!(result(&summary, "counted_queries")["outcome"], "pass");
}

/// The application's own sqlx pools (PostgreSQL and MariaDB), diesel connection (PostgreSQL)
/// and sea-orm entities (on sqlx, PostgreSQL), measured unchanged: the harness hears sqlx's
/// statement events (`perf_harness::db::sqlx::capture()` in setup) and diesel's instrumentation
/// (`perf_harness::db::diesel::capture()`), so the one-statement page counts 1 and the page
/// written one lookup at a time counts 20, which `max_queries = 3` fails.
#[test]
fn the_statements_of_an_applications_sqlx_pools_and_diesel_connections_are_counted() {
    let out = cargo_perf_env(
        &[
            "-p",
            "fixture-sqlx",
            "-p",
            "fixture-diesel",
            "-p",
            "fixture-seaorm",
            "--no-compare",
            "--format",
            "json",
        ],
        &[],
    );
    let summary = json(&out);
    let mut reached = true;
    for (name, statements, outcome) in [
        ("sqlx_titles_in_one_statement", 1, "pass"),
        ("sqlx_titles_one_by_one", 20, "fail"),
        ("sqlx_mariadb_titles_in_one_statement", 1, "pass"),
        ("sqlx_mariadb_titles_one_by_one", 20, "fail"),
        ("diesel_titles_in_one_statement", 1, "pass"),
        ("diesel_titles_one_by_one", 20, "fail"),
        // sea-orm runs on sqlx: the same capture hears its entities' queries.
        ("seaorm_titles_in_one_query", 1, "pass"),
        ("seaorm_titles_one_by_one", 20, "fail"),
    ] {
        let r = result(&summary, name);
        if r["outcome"] == "error" {
            let message = r["record"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("cannot seed"), "{name}: {message}");
            prerequisite::missing(
                &format!("{name} found no database ({message})"),
                ".ci/run starts PostgreSQL and MariaDB with .ci/services.sh",
                "start them or set DATABASE_URL / MARIADB_URL",
            );
            reached = false;
            continue;
        }
        assert_eq!(r["outcome"], outcome, "{name}: {r:#}");
        assert_eq!(
            r["record"]["queries"]["max_per_call"], statements,
            "{name}: {r:#}"
        );
        let top = &r["record"]["queries"]["top"][0]["sql"];
        let expected = [
            "SELECT title FROM fixture_sqlx_media WHERE id",
            "SELECT \"fixture_diesel_media\".\"title\" FROM \"fixture_diesel_media\" WHERE",
            "SELECT \"fixture_seaorm_media\".\"id\", \"fixture_seaorm_media\".\"title\" FROM",
        ];
        assert!(
            top.as_str()
                .is_some_and(|s| expected.iter().any(|e| s.starts_with(e))),
            "{name}: {top}"
        );
    }
    let expected = if reached { 1 } else { 2 };
    assert_eq!(out.status.code(), Some(expected), "{}", stderr(&out));
}

/// SQLite through the application's own sqlx pool (in a workspace of its own: sqlx's SQLite
/// driver and rusqlite cannot share one), counted from sqlx's events like PostgreSQL's.
#[test]
fn the_statements_of_an_applications_sqlx_sqlite_pool_are_counted() {
    let manifest =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/standalone/sqlx-sqlite/Cargo.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-perf"))
        .arg("perf")
        .arg("--manifest-path")
        .arg(&manifest)
        .args(["--no-compare", "--format", "json"])
        .env("CARGO_TERM_COLOR", "never")
        // Shares the fixtures' optimized dependencies (and keeps off the workspace's lock).
        .env("CARGO_TARGET_DIR", fixtures().join("target"))
        .output()
        .expect("cargo-perf runs");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = json(&out);
    for (name, statements, outcome) in [
        ("sqlx_sqlite_titles_in_one_statement", 1, "pass"),
        ("sqlx_sqlite_titles_one_by_one", 20, "fail"),
    ] {
        let r = result(&summary, name);
        assert_eq!(r["outcome"], outcome, "{name}: {r:#}");
        let q = &r["record"]["queries"];
        assert_eq!(q["max_per_call"], statements, "{name}: {q:#}");
        assert_eq!(q["statements"], 20 * statements, "20 samples: {q:#}");
    }
}
