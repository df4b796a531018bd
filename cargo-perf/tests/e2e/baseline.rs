//! Baselines: broken baseline files, one saved by the previous schema, and the previous run as
//! the default baseline.

use crate::support::{cargo_perf, fixtures, json, read_json, result, stderr};

/// A baseline saved by cargo-perf before schema v2 (perf-schema/testdata/v1) is read, migrated:
/// a user who upgrades keeps comparing with what they saved.
#[test]
fn a_baseline_saved_before_schema_v2_is_still_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let report = tmp.path().to_str().expect("utf-8");
    let v1 = fixtures().join("../../perf-schema/testdata/v1/baseline.json");
    let out = cargo_perf(&[
        "-p",
        "fixture-gate",
        "--quick",
        "--format",
        "json",
        "--baseline",
        v1.to_str().expect("utf-8"),
        "--report-dir",
        report,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = json(&out);
    assert_eq!(summary["schema"], "cargo-perf/summary/v2");
    let with = &summary["compared_with"];
    assert_eq!(with["mode"], "baseline", "{with:#}");
    assert_eq!(
        with["commit"], "0e2b8d1b61c20d8b276e46cb06ae37f57ff843cc",
        "{with:#}"
    );
    // The v1 baseline measured another crate's tests: read, then nothing in common to compare.
    assert_eq!(with["not_compared"], 2, "{with:#}");
}

#[test]
fn corrupt_foreign_or_missing_baselines_are_errors_that_name_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let report = tmp.path().to_str().expect("utf-8");
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, "{ truncated").expect("write");
    let bad_arg = bad.to_str().expect("utf-8");
    let out = cargo_perf(&[
        "-p",
        "fixture-gate",
        "--quick",
        "--baseline",
        bad_arg,
        "--save-baseline",
        bad_arg,
        "--report-dir",
        report,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("{bad_arg} is not valid JSON")),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&bad).expect("kept"), "{ truncated");

    std::fs::write(&bad, r#"{"schema":"cargo-perf/baseline/v3"}"#).expect("write");
    let out = cargo_perf(&[
        "-p",
        "fixture-gate",
        "--quick",
        "--baseline",
        bad_arg,
        "--report-dir",
        report,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("has schema `cargo-perf/baseline/v3`, written by a newer cargo-perf"),
        "{}",
        stderr(&out)
    );

    let out = cargo_perf(&[
        "-p",
        "fixture-gate",
        "--quick",
        "--baseline",
        "never-saved",
        "--report-dir",
        report,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no baseline `never-saved` at ")
            && stderr(&out).contains("cargo perf --save-baseline never-saved"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_previous_run_is_the_default_baseline() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let report = tmp.path().to_str().expect("utf-8");
    let run = || {
        cargo_perf(&[
            "-p",
            "fixture-gate",
            "--exact",
            "spin_latency_p95",
            "--quick",
            "--fail-on",
            "none",
            "--format",
            "json",
            "--report-dir",
            report,
        ])
    };
    let first = run();
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let second = run();
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let summary = json(&second);
    assert_eq!(
        summary["compared_with"]["against"],
        "base (the previous run)"
    );
    let c = &result(&summary, "spin_latency_p95")["comparison"];
    // A p95 of a few dozen samples is judged on the median; the note reports the p95.
    assert_eq!(c["metric"], "median", "{c:#}");
    assert!(
        c["note"]
            .as_str()
            .is_some_and(|n| n.contains("the p95 of") && n.contains("p95 of all samples")),
        "{c:#}"
    );
    assert_ne!(c["change_verdict"], "not_compared", "{c:#}");
    let saved = fixtures().join("target/criterion/cargo-perf/baselines/base.json");
    assert_eq!(read_json(&saved)["schema"], "cargo-perf/baseline/v2");
    // Each run is remembered with the machine's state, and sets the run-to-run floor.
    let history = read_json(&fixtures().join("target/criterion/cargo-perf/history.json"));
    assert_eq!(history["schema"], "cargo-perf/history/v2");
    let runs = history["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .find(|t| t["name"] == "spin_latency_p95")
        .map(|t| t["runs"].as_array().expect("runs").clone())
        .expect("spin_latency_p95 has a history");
    let last = runs.last().expect("a run");
    assert_eq!(
        (&last["metric"], &last["quick"]),
        (&"median".into(), &true.into())
    );
    assert!(
        last["machine_state"]["other_cpu_cores"].as_f64().is_some(),
        "{last:#}"
    );
    let other_conditions = c["note"]
        .as_str()
        .is_some_and(|n| n.starts_with("the baseline ran "));
    assert!(
        other_conditions || c["run_to_run_floor"].as_f64().is_some_and(|f| f > 0.0),
        "{c:#}"
    );
    let record = &result(&summary, "spin_latency_p95")["record"];
    assert!(
        record["machine_state"]["load_avg_1m_start"]
            .as_f64()
            .is_some(),
        "{record:#}"
    );
    assert!(
        record["build_hash"].as_str().is_some_and(|h| h.len() == 16),
        "{record:#}"
    );
}
