//! Schema tags: each file or JSON document cargo-perf writes starts with
//! `"schema": "cargo-perf/<kind>/vN"`; readers refuse a tag they do not know, naming the file.

/// A test binary's list of its perf tests (answer to `CARGO_PERF_MODE=list`).
pub const LIST: &str = "cargo-perf/list/v1";
/// One test's record (answer to `CARGO_PERF_MODE=run`).
pub const RECORD: &str = "cargo-perf/record/v1";
/// A run's summary (`summary.json`, `--format json`).
pub const SUMMARY: &str = "cargo-perf/summary/v1";
/// A saved baseline (`--save-baseline`, `target/criterion/cargo-perf/baselines/*.json`).
pub const BASELINE: &str = "cargo-perf/baseline/v1";
/// The run-to-run history of each test (`target/criterion/cargo-perf/history.json`).
pub const HISTORY: &str = "cargo-perf/history/v1";
