//! End-to-end: the real `cargo perf` binary on the fixture crates in `tests/fixtures`.
//!
//! The fixtures share one target directory, so the first test to run pays for one optimized
//! build of perf-harness and its dependencies; the others reuse it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

#[path = "../src/prerequisite.rs"]
mod prerequisite;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn cargo_perf_in(dir: &Path, args: &[&str]) -> Output {
    cargo_perf_env_in(dir, args, &[])
}

fn cargo_perf_env_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cargo-perf"))
        .arg("perf")
        .args(args)
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("CARGO_TARGET_DIR")
        // Runs of this suite on a CI service must not annotate or summarize the fixtures' results.
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("CI")
        .envs(env.iter().copied())
        .output()
        .expect("cargo-perf runs")
}

fn cargo_perf(args: &[&str]) -> Output {
    cargo_perf_env(args, &[])
}

fn cargo_perf_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let manifest = fixtures().join("Cargo.toml");
    let mut all = vec!["--manifest-path", manifest.to_str().expect("utf-8 path")];
    all.extend_from_slice(args);
    cargo_perf_env_in(&fixtures(), &all, env)
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
        ("fixture-db", "db", "counted_queries"),
        ("fixture-db", "db", "reaches_the_database"),
        ("fixture-fail", "suite", "panics_in_perf_mode"),
        ("fixture-fail", "suite", "panics_when_asked"),
        ("fixture-fail", "suite", "returns_an_error"),
        ("fixture-fail", "suite", "still_passes"),
        ("fixture-fail", "suite", "too_slow_for_its_threshold"),
        ("fixture-gate", "gate", "spin_latency"),
        ("fixture-gate", "gate", "spin_latency_p95"),
        (
            "fixture-libmod",
            "fixture_libmod",
            "tests::reverse_in_lib_test_module",
        ),
        ("fixture-load", "load", "a_threshold_that_does_not_parse"),
        ("fixture-load", "load", "fails_on_5xx"),
        ("fixture-load", "load", "four_iterations_each"),
        ("fixture-load", "load", "needs_a_base_url"),
        ("fixture-load", "load", "open_model_against_a_stall"),
        ("fixture-load", "load", "panics_in_perf_mode"),
        ("fixture-load", "load", "passes"),
        ("fixture-load", "load", "steady_work"),
        ("fixture-load", "load", "thresholds_in_the_body"),
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

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?} is not JSON: {e}"))
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

    std::fs::write(&bad, r#"{"schema":"cargo-perf/baseline/v2"}"#).expect("write");
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
        stderr(&out).contains("has schema `cargo-perf/baseline/v2`"),
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
    assert_eq!(read_json(&saved)["schema"], "cargo-perf/baseline/v1");
    // Each run is remembered with the machine's state, and sets the run-to-run floor.
    let history = read_json(&fixtures().join("target/criterion/cargo-perf/history.json"));
    assert_eq!(history["schema"], "cargo-perf/history/v1");
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
    let expected = if pg_answered { 1 } else { 2 };
    assert_eq!(out.status.code(), Some(expected), "{}", stderr(&out));

    let naive = result(&summary, "n_plus_one_demo::recent_requests_n_plus_one");
    assert_eq!(naive["outcome"], "fail");
    let verdict = &naive["verdicts"][0];
    assert_eq!(verdict["threshold"]["metric"], "max_queries");
    assert_eq!(
        verdict["measured_ns"], 41.0,
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

#[test]
fn shards_run_their_part_and_merge_into_the_whole_load() {
    let dirs: Vec<tempfile::TempDir> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let path = |i: usize| dirs[i].path().to_str().expect("utf-8").to_string();
    let mut shards = Vec::new();
    for (i, shard) in ["1/2", "2/2"].iter().enumerate() {
        let out = cargo_perf(&[
            "-p",
            "fixture-load",
            "--exact",
            "passes",
            "fails_on_5xx",
            "--shard",
            shard,
            "--format",
            "json",
            "--report-dir",
            &path(i),
        ]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "fails_on_5xx fails: {}",
            stderr(&out)
        );
        let summary = json(&out);
        assert_eq!(summary["shard"]["index"], i + 1, "{summary:#}");
        let load = &result(&summary, "passes")["record"]["load"];
        assert_eq!(load["peak_users"], 1, "2 users split in 2: {load:#}");
        assert_eq!(load["shard"]["share"], 0.5);
        shards.push(summary);
    }
    let requests = |s: &Value, name: &str| {
        result(s, name)["record"]["load"]["requests"]
            .as_u64()
            .expect("requests")
    };

    let merged = cargo_perf_in(
        &fixtures(),
        &[
            "merge",
            &path(0),
            &path(1),
            "--format",
            "json",
            "--report-dir",
            &path(2),
        ],
    );
    assert_eq!(
        merged.status.code(),
        Some(1),
        "a failed threshold fails the merge: {}",
        stderr(&merged)
    );
    let m = json(&merged);
    assert_eq!(m["merged_shards"], 2);
    for name in ["passes", "fails_on_5xx"] {
        assert_eq!(
            requests(&m, name),
            requests(&shards[0], name) + requests(&shards[1], name),
            "{name}"
        );
    }
    let passes = result(&m, "passes");
    assert_eq!(passes["outcome"], "pass", "{passes:#}");
    assert_eq!(passes["record"]["load"]["peak_users"], 2);
    let ok = &passes["record"]["load"]["requests_by_name"][0];
    assert_eq!(ok["latency"]["count"], ok["requests"]);
    assert_eq!(result(&m, "fails_on_5xx")["outcome"], "fail");
    let md = std::fs::read_to_string(dirs[2].path().join("summary.md")).expect("summary.md");
    assert!(md.contains("merged from 2 shards"), "{md}");
    assert!(md.contains("### Load tests\n"), "{md}");
    assert!(md.contains("| `ok` | "), "{md}");

    // Shards that do not make a whole are refused, naming the problem.
    let missing = cargo_perf_in(&fixtures(), &["merge", &path(0), "--report-dir", &path(2)]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("shard 2/2 missing"),
        "{}",
        stderr(&missing)
    );
    let twice = cargo_perf_in(
        &fixtures(),
        &[
            "merge",
            &path(0),
            &path(0),
            &path(1),
            "--report-dir",
            &path(2),
        ],
    );
    assert_eq!(twice.status.code(), Some(2));
    assert!(
        stderr(&twice).contains("shard 1/2 is given twice"),
        "{}",
        stderr(&twice)
    );
    let bad = cargo_perf(&["-p", "fixture-load", "--shard", "3/2", "--list"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--shard I/N"), "{}", stderr(&bad));
}

#[test]
fn per_user_iterations_and_thresholds_declared_in_the_body() {
    let report = tempfile::tempdir().expect("tempdir");
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "four_iterations_each",
        "thresholds_in_the_body",
        "a_threshold_that_does_not_parse",
        "--format",
        "json",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = json(&out);

    let each = result(&summary, "four_iterations_each");
    assert_eq!(each["outcome"], "pass", "{each:#}");
    let load = &each["record"]["load"];
    assert_eq!(load["iterations"], 12, "{load:#}");
    let per_user: Vec<(String, u64)> = load["requests_by_name"]
        .as_array()
        .expect("names")
        .iter()
        .map(|n| {
            (
                n["name"].as_str().expect("name").to_string(),
                n["requests"].as_u64().expect("n"),
            )
        })
        .collect();
    assert_eq!(
        per_user,
        vec![
            ("user 0".into(), 4),
            ("user 1".into(), 4),
            ("user 2".into(), 4)
        ]
    );

    let body = result(&summary, "thresholds_in_the_body");
    assert_eq!(body["outcome"], "fail", "{body:#}");
    let verdicts: Vec<(String, bool)> = body["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .map(|v| {
            (
                v["scope"].as_str().expect("scope").to_string(),
                v["passed"].as_bool().expect("passed"),
            )
        })
        .collect();
    assert_eq!(verdicts, vec![("ok".into(), true), ("fail".into(), false)]);

    let bad = result(&summary, "a_threshold_that_does_not_parse");
    assert_eq!(bad["outcome"], "error", "{bad:#}");
    let message = bad["record"]["message"].as_str().expect("message");
    assert!(
        message.contains("`.threshold(\"p95 < 1s\")` on request `GET /ok`")
            && message.contains("valid: avg, med, max, p(N), rate"),
        "{message}"
    );
}
