//! Listing and selection: `cargo perf --list`, package selection, name filters, and the perf
//! tests seen by `cargo test` and `cargo nextest`.

use std::process::{Command, Output};

use crate::prerequisite;
use crate::support::{cargo_perf, cargo_perf_in, fixtures, json, stderr, stdout};
#[test]
fn list_finds_every_perf_test_and_no_ordinary_test() {
    let out = cargo_perf(&["--workspace", "--list", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list = json(&out);
    assert_eq!(list["schema"], "cargo-perf/list/v2");
    let mut names: Vec<(String, String, String)> = list["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().expect("string").to_string();
            (s("package"), s("target"), s("name"))
        })
        .collect();
    names.sort();
    let want: Vec<(String, String, String)> = [
        ("fixture-db", "db", "counted_queries"),
        ("fixture-db", "db", "reaches_the_database"),
        ("fixture-diesel", "diesel", "diesel_titles_in_one_statement"),
        ("fixture-diesel", "diesel", "diesel_titles_one_by_one"),
        ("fixture-fail", "suite", "panics_in_perf_mode"),
        ("fixture-fail", "suite", "panics_when_asked"),
        ("fixture-fail", "suite", "returns_an_error"),
        ("fixture-fail", "suite", "still_passes"),
        ("fixture-fail", "suite", "too_slow_for_its_threshold"),
        ("fixture-faults", "faults", "a_64_mib_body"),
        ("fixture-faults", "faults", "a_body_that_trickles"),
        ("fixture-faults", "faults", "a_half_closed_socket"),
        ("fixture-faults", "faults", "a_healthy_small_body"),
        ("fixture-faults", "faults", "a_storm_of_5xx"),
        ("fixture-faults", "faults", "a_thousand_users"),
        ("fixture-faults", "faults", "headers_never_come"),
        ("fixture-faults", "faults", "rate_limited_with_retry_after"),
        ("fixture-faults", "faults", "reset_before_the_response"),
        (
            "fixture-faults",
            "faults",
            "reset_in_the_middle_of_the_body",
        ),
        ("fixture-faults", "faults", "the_server_dies"),
        ("fixture-faults", "faults", "twenty_thousand_samples"),
        ("fixture-gate", "gate", "spin_latency"),
        ("fixture-gate", "gate", "spin_latency_p95"),
        (
            "fixture-libmod",
            "fixture_libmod",
            "tests::reverse_in_lib_test_module",
        ),
        ("fixture-load", "load", "a_leaking_service"),
        ("fixture-load", "load", "a_sawtooth_service"),
        ("fixture-load", "load", "a_threshold_that_does_not_parse"),
        ("fixture-load", "load", "aborts_in_perf_mode"),
        ("fixture-load", "load", "an_external_service_under_soak"),
        ("fixture-load", "load", "arrivals_at_base_url"),
        ("fixture-load", "load", "every_request_is_a_404"),
        ("fixture-load", "load", "fails_on_5xx"),
        ("fixture-load", "load", "four_exact_workers_of_10ms"),
        ("fixture-load", "load", "four_iterations_each"),
        ("fixture-load", "load", "more_workers_than_cores"),
        ("fixture-load", "load", "needs_a_base_url"),
        ("fixture-load", "load", "numbered_users_share_iterations"),
        ("fixture-load", "load", "open_model_against_a_stall"),
        ("fixture-load", "load", "panics_in_perf_mode"),
        ("fixture-load", "load", "passes"),
        ("fixture-load", "load", "recovers_slowly_after_a_spike"),
        ("fixture-load", "load", "runs_for_a_minute"),
        ("fixture-load", "load", "steady_work"),
        ("fixture-load", "load", "the_generator_falls_behind"),
        ("fixture-load", "load", "thresholds_in_the_body"),
        ("fixture-load", "load", "throughput_at_base_url"),
        ("fixture-load", "load", "times_out"),
        ("fixture-pass", "custom_main", "in_harness_false_target"),
        (
            "fixture-pass",
            "custom_main",
            "micro_in_harness_false_target",
        ),
        ("fixture-pass", "suite", "async_latency"),
        ("fixture-pass", "suite", "sum_latency"),
        ("fixture-pass", "suite", "sum_micro"),
        ("fixture-plain", "modules", "outer::inner::deep_in_a_module"),
        ("fixture-seaorm", "seaorm", "seaorm_titles_in_one_query"),
        ("fixture-seaorm", "seaorm", "seaorm_titles_one_by_one"),
        (
            "fixture-sqlx",
            "sqlx",
            "sqlx_mariadb_titles_in_one_statement",
        ),
        ("fixture-sqlx", "sqlx", "sqlx_mariadb_titles_one_by_one"),
        ("fixture-sqlx", "sqlx", "sqlx_titles_in_one_statement"),
        ("fixture-sqlx", "sqlx", "sqlx_titles_one_by_one"),
        ("fixture-ws", "ws", "closed_mid_message"),
        ("fixture-ws", "ws", "echo_closed"),
        ("fixture-ws", "ws", "echo_open"),
        ("fixture-ws", "ws", "echo_stages"),
        ("fixture-ws", "ws", "echo_throughput"),
        ("fixture-ws", "ws", "echo_too_slow_for_its_threshold"),
        ("fixture-ws", "ws", "refused_upgrade"),
        ("fixture-ws", "ws", "silent_server"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(names, want);

    let human = cargo_perf(&["-p", "fixture-pass", "--list"]);
    assert_eq!(human.status.code(), Some(0), "{}", stderr(&human));
    let text = stdout(&human);
    assert!(text.contains("pass/tests/suite.rs:17"), "{text}");
    assert!(
        text.contains("samples = 30, warmup = 2, p95 = 1s, max = 5s"),
        "{text}"
    );
    assert!(text.contains("latency async"), "{text}");
    assert!(!text.contains("ordinary_test"), "{text}");
    assert!(text.contains("5 perf tests"), "{text}");
}

#[test]
fn package_selection_follows_cargo_test() {
    let count = |o: &Output| {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
        json(o)["tests"].as_array().expect("tests").len()
    };
    // Inside a member: that member only.
    let inside = cargo_perf_in(
        &fixtures().join("pass/tests"),
        &["--list", "--format", "json"],
    );
    assert_eq!(count(&inside), 5);
    // At a virtual workspace root: every default member that depends on perf-harness.
    let root = cargo_perf_in(&fixtures(), &["--list", "--format", "json"]);
    let workspace = cargo_perf(&["--workspace", "--list", "--format", "json"]);
    assert_eq!(count(&root), count(&workspace));
    assert!(count(&root) > 5);
    let two = cargo_perf(&[
        "-p",
        "fixture-plain",
        "-p",
        "fixture-libmod",
        "--list",
        "--format",
        "json",
    ]);
    assert_eq!(count(&two), 2);
}

#[test]
fn filters_select_by_substring_or_exact_name_and_suggest_on_no_match() {
    let report = tempfile::tempdir().expect("tempdir");
    let dir = report.path().to_str().expect("utf-8");
    let out = cargo_perf(&[
        "-p",
        "fixture-pass",
        "latency",
        "--no-compare",
        "--format",
        "json",
        "--report-dir",
        dir,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let names: Vec<String> = json(&out)["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            r["record"]["test"]["name"]
                .as_str()
                .expect("name")
                .to_string()
        })
        .collect();
    assert_eq!(names, ["async_latency", "sum_latency"]);

    let exact = cargo_perf(&["-p", "fixture-pass", "--exact", "sum_latency", "--list"]);
    assert!(
        stdout(&exact).contains("1 perf tests"),
        "{}",
        stdout(&exact)
    );

    let none = cargo_perf(&["-p", "fixture-pass", "sum_latncy"]);
    assert_eq!(none.status.code(), Some(2));
    let err = stderr(&none);
    assert!(
        err.contains("no perf tests matched `sum_latncy`; did you mean `sum_latency`? `cargo perf --list` shows all 5"),
        "{err}"
    );
}

#[test]
fn cargo_test_runs_perf_tests_as_smoke_tests_and_keeps_libtest_flags() {
    let manifest = fixtures().join("Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = |args: &[&str]| {
        Command::new(&cargo)
            .args(["test", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .args(args)
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .expect("cargo test runs")
    };
    let out = run(&[
        "-p",
        "fixture-pass",
        "--test",
        "custom_main",
        "--",
        "--list",
        "--format",
        "terse",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "in_harness_false_target: test\nmicro_in_harness_false_target: test\n"
    );
    let out = run(&[
        "-p",
        "fixture-pass",
        "--test",
        "custom_main",
        "--",
        "--exact",
        "in_harness_false_target",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out"),
        "{}",
        stdout(&out)
    );

    // The marker test is skipped: another test checks that `cargo perf` never runs it.
    let out = run(&[
        "-p",
        "fixture-pass",
        "--test",
        "suite",
        "--",
        "--skip",
        "ordinary_test",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("3 passed"), "{}", stdout(&out));

    // A body that fails must fail the ordinary test run too, with its message.
    let out = Command::new(&cargo)
        .args(["test", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .args([
            "-p",
            "fixture-fail",
            "--test",
            "suite",
            "--",
            "--exact",
            "panics_when_asked",
        ])
        .env("FIXTURE_PANIC", "1")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo test runs");
    assert_eq!(out.status.code(), Some(101), "{}", stderr(&out));
    assert!(stdout(&out).contains("asked to panic"), "{}", stdout(&out));
}

#[test]
fn cargo_nextest_lists_the_harness_false_target() {
    let manifest = fixtures().join("Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let probe = Command::new(&cargo).args(["nextest", "--version"]).output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        let why = probe.map_or_else(
            |e| e.to_string(),
            |o| stderr(&o).lines().next().unwrap_or("").to_string(),
        );
        prerequisite::missing(
            &format!("`cargo nextest --version` fails ({why})"),
            ".ci/run installs cargo-nextest",
            "`cargo install --locked cargo-nextest`",
        );
        return;
    }
    let out = Command::new(&cargo)
        .args(["nextest", "list", "--manifest-path"])
        .arg(&manifest)
        .args(["-p", "fixture-pass", "--test", "custom_main"])
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo nextest runs");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("in_harness_false_target"), "{text}");
    assert!(text.contains("micro_in_harness_false_target"), "{text}");
}

/// A package named like one of its own dependencies (bytes' own suite: reqwest brings the
/// published bytes): cargo perf selects it by package id, so `-p` is never ambiguous.
#[test]
fn a_package_named_like_its_dependency_is_listed_and_measured() {
    let dir = tempfile::tempdir().expect("tempdir");
    let harness = fixtures().join("../../perf-harness");
    let manifest = format!(
        "[package]\nname = \"bytes\"\nversion = \"0.0.1\"\nedition = \"2021\"\npublish = false\n\n\
         [dev-dependencies]\nperf-harness = {{ path = {:?} }}\n\n[profile.bench]\ndebug = false\n",
        harness.to_str().expect("utf-8")
    );
    std::fs::write(dir.path().join("Cargo.toml"), manifest).expect("manifest");
    std::fs::copy(fixtures().join("Cargo.lock"), dir.path().join("Cargo.lock")).expect("lock");
    std::fs::create_dir_all(dir.path().join("src")).expect("src");
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "pub fn len(b: &[u8]) -> usize { b.len() }\n",
    )
    .expect("lib.rs");
    std::fs::create_dir_all(dir.path().join("tests")).expect("tests");
    std::fs::write(
        dir.path().join("tests/perf.rs"),
        "use perf_harness::perf_test;\n\n#[perf_test(samples = 20, warmup = 1, p95 = \"1s\")]\n\
         fn measure_len() {\n    std::hint::black_box(bytes::len(std::hint::black_box(b\"abc\")));\n}\n",
    )
    .expect("perf.rs");
    let target = fixtures().join("target");
    let env = [("CARGO_TARGET_DIR", target.to_str().expect("utf-8"))];

    // The published bytes is in the graph: `cargo test -p bytes` alone would be ambiguous.
    let tree = Command::new(env!("CARGO"))
        .args(["tree", "-e", "normal,dev", "-i", "bytes@0.0.1"])
        .current_dir(dir.path())
        .output()
        .expect("cargo tree");
    assert!(
        tree.status.success(),
        "{}",
        String::from_utf8_lossy(&tree.stderr)
    );
    let ambiguous = Command::new(env!("CARGO"))
        .args(["pkgid", "bytes"])
        .current_dir(dir.path())
        .output()
        .expect("cargo pkgid");
    assert!(
        String::from_utf8_lossy(&ambiguous.stderr).contains("is ambiguous"),
        "the fixture no longer has two packages named bytes: {}",
        String::from_utf8_lossy(&ambiguous.stderr)
    );

    let listed = crate::support::cargo_perf_env_in(dir.path(), &["--list"], &env);
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    assert!(
        stdout(&listed).contains("measure_len"),
        "{}",
        stdout(&listed)
    );
    let by_name = crate::support::cargo_perf_env_in(
        dir.path(),
        &["-p", "bytes", "--quick", "--no-compare", "--format", "json"],
        &env,
    );
    assert_eq!(by_name.status.code(), Some(0), "{}", stderr(&by_name));
    let summary = json(&by_name);
    assert_eq!(summary["totals"]["passed"], 1, "{summary:#}");
}
