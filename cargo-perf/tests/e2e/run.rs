//! A run and its exit code: a passing run and what it writes, failed thresholds, usage and
//! project errors, a build failure.

use serde_json::Value;

use crate::support::{cargo_perf, cargo_perf_in, fixtures, json, result, stderr, stdout};
#[test]
fn a_passing_run_writes_summaries_criterion_files_and_exits_0() {
    let report = tempfile::tempdir().expect("tempdir");
    let marker = fixtures().join("target/tmp/ordinary-test-ran");
    let _ = std::fs::remove_file(&marker);
    // Other tests share the fixtures' previous run: compare with nothing here.
    let out = cargo_perf(&[
        "-p",
        "fixture-pass",
        "--quick",
        "--no-compare",
        "--format",
        "json",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = json(&out);
    assert_eq!(summary["schema"], "cargo-perf/summary/v2");
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

    // An unknown export format is refused while parsing, before the build.
    let out = cargo_perf(&["-p", "fixture-pass", "--export", "xml", "out.xml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("invalid value 'xml' for '--export <FORMAT> <PATH>'")
            && err.contains("[possible values: bmf, github-action-benchmark]")
            && !err.contains("Compiling")
            && !err.contains("Finished"),
        "{err}"
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
