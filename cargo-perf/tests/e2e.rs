//! End-to-end: the real `cargo perf` binary on the fixture crates in `tests/fixtures`.
//!
//! The fixtures share one target directory, so the first test to run pays for one optimized
//! build of perf-harness and its dependencies; the others reuse it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn cargo_perf_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-perf"))
        .arg("perf")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo-perf runs")
}

fn cargo_perf(args: &[&str]) -> Output {
    let manifest = fixtures().join("Cargo.toml");
    let mut all = vec!["--manifest-path", manifest.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    cargo_perf_in(&fixtures(), &all)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(o),
            stderr(o)
        )
    })
}

fn result<'a>(summary: &'a Value, name: &str) -> &'a Value {
    summary["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["record"]["test"]["name"] == name)
        .unwrap_or_else(|| panic!("no result for {name} in {summary:#}"))
}

#[test]
fn list_finds_every_perf_test_and_no_ordinary_test() {
    let out = cargo_perf(&["--workspace", "--list", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let list = json(&out);
    assert_eq!(list["schema"], "cargo-perf/list/v1");
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
        ("fixture-fail", "suite", "panics_in_perf_mode"),
        ("fixture-fail", "suite", "panics_when_asked"),
        ("fixture-fail", "suite", "returns_an_error"),
        ("fixture-fail", "suite", "still_passes"),
        ("fixture-fail", "suite", "too_slow_for_its_threshold"),
        (
            "fixture-libmod",
            "fixture_libmod",
            "tests::reverse_in_lib_test_module",
        ),
        ("fixture-load", "load", "fails_on_5xx"),
        ("fixture-load", "load", "needs_a_base_url"),
        ("fixture-load", "load", "open_model_against_a_stall"),
        ("fixture-load", "load", "panics_in_perf_mode"),
        ("fixture-load", "load", "passes"),
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
fn a_passing_run_writes_summaries_criterion_files_and_exits_0() {
    let report = tempfile::tempdir().expect("tempdir");
    let marker = fixtures().join("target/tmp/ordinary-test-ran");
    let _ = std::fs::remove_file(&marker);
    let out = cargo_perf(&[
        "-p",
        "fixture-pass",
        "--quick",
        "--format",
        "json",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = json(&out);
    assert_eq!(summary["schema"], "cargo-perf/summary/v1");
    assert_eq!(summary["totals"]["tests"], 5);
    assert_eq!(summary["totals"]["passed"], 5);

    let latency = result(&summary, "sum_latency");
    assert_eq!(latency["outcome"], "pass");
    assert_eq!(
        latency["record"]["stats"]["samples"], 20,
        "--quick caps samples at 20"
    );
    assert_eq!(
        latency["record"]["samples_ns"]
            .as_array()
            .expect("samples")
            .len(),
        20
    );
    assert!(latency["record"]["histogram"]
        .as_str()
        .is_some_and(|h| !h.is_empty()));
    assert_eq!(latency["verdicts"].as_array().expect("verdicts").len(), 2);

    let micro = result(&summary, "sum_micro");
    let est = &micro["record"]["criterion"];
    assert!(est["mean"]["point_estimate"].as_f64().expect("mean") > 0.0);
    assert_eq!(
        micro["record"]["stats"]["p50_ns"], est["median"]["point_estimate"],
        "micro thresholds use criterion's own estimates"
    );
    let criterion_dir = fixtures().join("target/criterion/fixture-pass/suite/sum_micro/new");
    assert!(
        criterion_dir.join("estimates.json").exists(),
        "{criterion_dir:?}"
    );

    let on_disk: Value = serde_json::from_str(
        &std::fs::read_to_string(report.path().join("summary.json")).expect("summary.json"),
    )
    .expect("json");
    assert_eq!(on_disk["totals"], summary["totals"]);
    let md = std::fs::read_to_string(report.path().join("summary.md")).expect("summary.md");
    assert!(
        md.starts_with("## cargo perf: 5 passed, 0 failed, 0 errors"),
        "{md}"
    );
    assert!(md.contains("`suite::sum_latency`"), "{md}");
    assert!(!marker.exists(), "cargo perf ran an ordinary #[test]");
}

#[test]
fn a_failed_threshold_a_panic_and_an_error_exit_1_and_the_rest_still_runs() {
    let report = tempfile::tempdir().expect("tempdir");
    let out = cargo_perf(&[
        "-p",
        "fixture-fail",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let table = stdout(&out);
    for line in [
        "FAIL p95 <= 1ns (measured ",
        "error: the test panicked: the body panicked on purpose at fail/tests/suite.rs:",
        "error: call 1 returned an error: \"query failed: no such table: users\"",
        "PASS p95 <= 10s (measured ",
        "2 passed, 1 failed, 2 errors (5 perf tests in ",
    ] {
        assert!(table.contains(line), "missing `{line}` in:\n{table}");
    }
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(report.path().join("summary.json")).expect("summary written"),
    )
    .expect("json");
    assert_eq!(
        result(&summary, "too_slow_for_its_threshold")["outcome"],
        "fail"
    );
    assert_eq!(result(&summary, "panics_in_perf_mode")["outcome"], "error");
    assert_eq!(result(&summary, "still_passes")["outcome"], "pass");

    let lenient = cargo_perf(&[
        "-p",
        "fixture-fail",
        "too_slow",
        "--fail-on",
        "none",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(lenient.status.code(), Some(0), "{}", stderr(&lenient));
}

#[test]
fn filters_select_by_substring_or_exact_name_and_suggest_on_no_match() {
    let report = tempfile::tempdir().expect("tempdir");
    let dir = report.path().to_str().expect("utf-8");
    let out = cargo_perf(&[
        "-p",
        "fixture-pass",
        "latency",
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
fn usage_and_project_errors_exit_2_with_a_fix() {
    let outside = tempfile::tempdir().expect("tempdir");
    let out = cargo_perf_in(outside.path(), &["--list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("run `cargo perf` inside a crate or workspace"),
        "{}",
        stderr(&out)
    );

    let out = cargo_perf(&["-p", "fixture-pas", "--list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "package `fixture-pas` is not in this workspace; did you mean `fixture-pass`?"
        ),
        "{}",
        stderr(&out)
    );

    let out = cargo_perf(&["-p", "fixture-nodeps", "--list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`fixture-nodeps` does not depend on perf-harness"),
        "{}",
        stderr(&out)
    );

    let out = cargo_perf(&["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unexpected argument '--no-such-flag'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_build_failure_exits_2_after_cargo_explains_it() {
    let out = cargo_perf(&["-p", "fixture-fail", "--features", "broken", "--list"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("built with its `broken` feature on purpose"),
        "{err}"
    );
    assert!(err.contains("error: the build failed"), "{err}");
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
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: cargo-nextest is not installed (cargo install cargo-nextest)");
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

#[test]
fn load_tests_pass_fail_and_count_errors_by_kind() {
    let report = tempfile::tempdir().expect("tempdir");
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "passes",
        "fails_on_5xx",
        "times_out",
        "panics_in_perf_mode",
        "--format",
        "json",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = json(&out);

    let pass = result(&summary, "passes");
    assert_eq!(pass["outcome"], "pass", "{pass:#}");
    let load = &pass["record"]["load"];
    assert_eq!(load["model"], "closed");
    assert!(
        load["requests"].as_u64().expect("requests") > 10,
        "{load:#}"
    );
    assert_eq!(load["failed_requests"], 0);
    assert_eq!(load["statuses"]["200"], load["requests"]);
    let ok = &load["requests_by_name"][0];
    assert_eq!(ok["name"], "ok");
    assert!(ok["latency"]["histogram"]
        .as_str()
        .is_some_and(|h| !h.is_empty()));
    assert_eq!(load["checks"][0]["fails"], 0);
    assert_eq!(
        pass["verdicts"].as_array().expect("verdicts").len(),
        3,
        "p95, error rate, and the per-name p(99)"
    );
    assert_eq!(pass["verdicts"][2]["scope"], "ok");

    let fail = result(&summary, "fails_on_5xx");
    assert_eq!(fail["outcome"], "fail", "{fail:#}");
    assert!(
        fail["record"]["load"]["errors"]["5xx"]
            .as_u64()
            .expect("5xx")
            > 0
    );
    assert_eq!(fail["verdicts"][0]["passed"], false);

    let slow = result(&summary, "times_out");
    assert_eq!(slow["outcome"], "fail", "{slow:#}");
    assert!(
        slow["record"]["load"]["errors"]["iteration_timeout"]
            .as_u64()
            .expect("timeouts")
            > 0
    );

    let panicked = result(&summary, "panics_in_perf_mode");
    assert_eq!(panicked["outcome"], "error");
    let message = panicked["record"]["message"].as_str().expect("message");
    assert!(
        message
            .contains("iterations panicked: the body panicked: the load body panicked on purpose"),
        "{message}"
    );
    assert!(
        panicked["record"]["load"]["iterations"]
            .as_u64()
            .expect("n")
            > 3,
        "partial results are kept"
    );
}

#[test]
fn open_model_latency_counts_a_stall_from_the_schedule() {
    let report = tempfile::tempdir().expect("tempdir");
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "open_model_against_a_stall",
        "--format",
        "json",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = json(&out);
    let r = result(&summary, "open_model_against_a_stall");
    let load = &r["record"]["load"];
    assert_eq!(load["model"], "open");
    assert_eq!(load["dropped_iterations"], 0, "{load:#}");
    // A third of the iterations are scheduled into the 1 s stall: from the schedule, they
    // waited up to a second; p99 must show it (a closed-loop tool would report ~1 ms).
    let p99 = load["iteration"]["p99_ns"].as_f64().expect("p99");
    assert!(p99 > 500e6, "p99 from schedule {p99} ns in {load:#}");
    let p50 = load["iteration"]["p50_ns"].as_f64().expect("p50");
    assert!(p50 < p99, "{load:#}");
    assert!(load["iteration_service"]["p99_ns"].as_f64().is_some());
    assert!(load["requests_by_name"][0]["corrected"]["p99_ns"]
        .as_f64()
        .is_some_and(|v| v > 500e6));
}

#[test]
fn a_dead_server_is_an_infrastructure_error_naming_the_cause() {
    let report = tempfile::tempdir().expect("tempdir");
    // Port 1 on 127.0.0.1: nothing listens there.
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "needs_a_base_url",
        "--base-url",
        "http://127.0.0.1:1",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains("error: cannot connect to the service at http://127.0.0.1:1"),
        "{table}"
    );
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(report.path().join("summary.json")).expect("summary written"),
    )
    .expect("json");
    assert_eq!(
        result(&summary, "needs_a_base_url")["record"]["infrastructure"],
        true
    );

    let none = cargo_perf(&[
        "-p",
        "fixture-load",
        "needs_a_base_url",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(none.status.code(), Some(2), "{}", stderr(&none));
    assert!(
        stdout(&none).contains("no service to load"),
        "{}",
        stdout(&none)
    );
}
