//! Budgets: `perf.toml` at the workspace root sets limits by test pattern, an environment
//! (`--env`, `CARGO_PERF_ENV`) scales or overrides them, and mistakes in it are usage errors
//! that name the file and line.

use std::path::Path;

use crate::support::{cargo_perf_env_in, fixtures, json, result, stderr, stdout};

/// A crate of its own workspace, with a perf.toml; it builds into the fixtures' target
/// directory (same lock file, same profile), so perf-harness is not built again.
fn workspace(perf_toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let harness = fixtures().join("../../perf-harness");
    let manifest = format!(
        "[package]\nname = \"budgets-e2e\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         publish = false\n\n[dev-dependencies]\nperf-harness = {{ path = {:?} }}\n\n\
         [profile.bench]\ndebug = false\n",
        harness.to_str().expect("utf-8")
    );
    std::fs::write(dir.path().join("Cargo.toml"), manifest).expect("manifest");
    std::fs::copy(fixtures().join("Cargo.lock"), dir.path().join("Cargo.lock")).expect("lock file");
    std::fs::create_dir_all(dir.path().join("src")).expect("src");
    std::fs::write(dir.path().join("src/lib.rs"), "").expect("lib.rs");
    std::fs::create_dir_all(dir.path().join("tests")).expect("tests");
    std::fs::write(
        dir.path().join("tests/perf.rs"),
        r#"use perf_harness::perf_test;

#[perf_test(p95 = "10s", samples = 20, warmup = 1)]
fn sleepy() {
    std::thread::sleep(std::time::Duration::from_millis(2));
}

#[perf_test(p95 = "10s", samples = 20, warmup = 1)]
fn quick() {
    std::hint::black_box(1 + 1);
}
"#,
    )
    .expect("perf.rs");
    std::fs::write(dir.path().join("perf.toml"), perf_toml).expect("perf.toml");
    dir
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let target = fixtures().join("target");
    let mut all_env = vec![("CARGO_TARGET_DIR", target.to_str().expect("utf-8"))];
    all_env.extend_from_slice(env);
    cargo_perf_env_in(dir, args, &all_env)
}

const BUDGETS: &str = r#"# budgets for the e2e test
[[budget]]
tests = "budgets-e2e::sleep*"
p95 = "1ms"

[env.ci]
scale = 1000

[env.laptop]
[[env.laptop.budget]]
tests = "budgets-e2e::sleepy"
p95 = "5s"
"#;

#[test]
fn a_budget_tightens_a_threshold_and_an_environment_relaxes_it() {
    let dir = workspace(BUDGETS);
    let report = tempfile::tempdir().expect("tempdir");
    let report = report.path().to_str().expect("utf-8");
    let base = ["sleepy", "--no-compare", "--report-dir", report];

    // The attribute allows 10s; the budget (line 4) allows 1ms: a 2ms sleep fails.
    let out = run(dir.path(), &base, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("FAIL p95 <= 1ms") && stdout(&out).contains("budget perf.toml:4"),
        "{}",
        stdout(&out)
    );

    // ci scales time limits ×1000: 1ms becomes 1s.
    let mut json_args = base.to_vec();
    json_args.extend(["--format", "json", "--env", "ci"]);
    let out = run(dir.path(), &json_args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = json(&out);
    let v = &result(&summary, "sleepy")["verdicts"][0];
    assert_eq!(v["budget"], "perf.toml:4", "{v:#}");
    assert_eq!(v["env"], "ci", "{v:#}");
    assert_eq!(v["scale"], 1000.0, "{v:#}");
    assert_eq!(v["passed"], true, "{v:#}");

    // laptop's own budget (line 12) replaces the file's, unscaled; chosen by CARGO_PERF_ENV.
    let out = run(
        dir.path(),
        &json_args[..json_args.len() - 2],
        &[("CARGO_PERF_ENV", "laptop")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = json(&out);
    let v = &result(&summary, "sleepy")["verdicts"][0];
    assert_eq!(v["budget"], "perf.toml:12", "{v:#}");
    assert_eq!(v["env"], "laptop", "{v:#}");
    assert!(v.get("scale").is_none(), "{v:#}");
}

#[test]
fn mistakes_in_perf_toml_are_usage_errors_naming_file_and_line() {
    // An unknown key: refused before anything is built.
    let dir = workspace("[[budget]]\ntests = \"budgets-e2e::*\"\np59 = \"1ms\"\n");
    let out = run(dir.path(), &["--list"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("perf.toml:3: unknown field `p59`"),
        "{}",
        stderr(&out)
    );

    // An unknown environment, from the flag or the variable.
    let dir = workspace(BUDGETS);
    let out = run(dir.path(), &["--list", "--env", "nightly"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--env asks for environment `nightly`")
            && err.contains("`ci` (line 6), `laptop` (line 9)"),
        "{err}"
    );
    let out = run(dir.path(), &["--list"], &[("CARGO_PERF_ENV", "nightly")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("CARGO_PERF_ENV asks"),
        "{}",
        stderr(&out)
    );

    // A pattern that matches no perf test of the workspace, even though the filter selects
    // another test: checked against every test.
    let dir = workspace(
        "[[budget]]\ntests = \"budgets-e2e::quick\"\np95 = \"1s\"\n\n\
         [[budget]]\ntests = \"budgets-e2e::sleepy_typo\"\np95 = \"1s\"\n",
    );
    let out = run(dir.path(), &["--list", "quick"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("perf.toml:6: `tests = \"budgets-e2e::sleepy_typo\"` matches no perf test"),
        "{}",
        stderr(&out)
    );
}
