//! A run's results as `summary.json` and `--format json` carry them: each test's record with
//! its threshold verdicts and comparison, the run's totals, the machine and what the run was
//! compared against.

use serde::{Deserialize, Serialize};

use crate::comparison::{Change, Comparison};
use crate::record::{shard, Record};
use crate::spec::Threshold;
use crate::unit::Unit;

pub use crate::schema::SUMMARY as SUMMARY_SCHEMA;

/// The outcome of one threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The threshold from the attribute.
    pub threshold: Threshold,
    /// The measured value it was checked against, in `unit`.
    #[serde(default)]
    pub measured: Option<f64>,
    /// The unit of `measured` and of the threshold's bound (the threshold's own).
    pub unit: Unit,
    /// Whether it held.
    pub passed: bool,
    /// Load tests: the request name a per-name threshold applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The budget that set this threshold's limit instead of the attribute, as `file:line` of
    /// its key (`perf.toml:7`); none when the attribute's own limit judged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
    /// The environment of the run (`cargo perf --env ci`), when one was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// The factor the environment multiplied this time limit by (`scale = 1.5`), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Load tests: on a failed verdict that the load generator's own lateness decided, the
    /// generator's schedule lag at p99, nanoseconds: the generator, not the service, was the
    /// limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator_lag_p99_ns: Option<f64>,
    /// `max_queries` on a load test whose statements ran on its service's own threads:
    /// `measured` is the mean per iteration, rounded, not the busiest iteration's count.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub averaged: bool,
}

/// How one test ended in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestOutcome {
    /// Measured, and every threshold held.
    Pass,
    /// Measured, and a threshold failed.
    Fail,
    /// Not measured: the body panicked or errored, or the binary crashed.
    Error,
}

/// One test's record with its verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// Pass, fail or error.
    pub outcome: TestOutcome,
    /// Each threshold's verdict.
    pub verdicts: Vec<Verdict>,
    /// The measurement.
    pub record: Record,
    /// The change against the baseline or the reference build, when the run compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
    /// Comparisons beside the timing verdict: counts without noise (`queries/iteration`: any
    /// increase is a regression, its severity from the ratio) and a load test's error rate
    /// (Fisher's exact test; its severity from the rise in percentage points).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counts: Vec<Comparison>,
    /// `cargo perf --capacity`: the search for the highest arrival rate at which every
    /// threshold held; `record` is then the highest step that held (or the lowest, failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
}

/// What ended a capacity search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapacityEnd {
    /// Bisected down to the resolution between a rate that held and one that failed.
    Found,
    /// The highest rate of the range held: the capacity is at least that.
    RangeHeld,
    /// The lowest rate of the range already failed.
    LowestFailed,
    /// A step failed because the load generator, not the service, fell behind: no service
    /// capacity is claimed above the last rate that held.
    GeneratorLimit,
    /// A step could not be measured (the test errored) or the run was interrupted.
    Stopped,
}

/// One step of a capacity search: the test run at one arrival rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityStep {
    /// The arrival rate asked for, per second.
    pub rate_per_s: f64,
    /// Whether every threshold held (and no iteration was dropped).
    pub passed: bool,
    /// Completed iterations per second.
    pub iterations_per_s: f64,
    /// Iteration latency from the schedule, p95, nanoseconds.
    pub p95_ns: f64,
    /// Iteration latency from the schedule, p99, nanoseconds.
    pub p99_ns: f64,
    /// Failed iterations / iterations.
    pub error_rate: f64,
    /// Scheduled iterations that found no free user (`max_users`).
    pub dropped_iterations: u64,
    /// The generator's lag (slot to start) at p99, nanoseconds.
    pub generator_lag_p99_ns: Option<f64>,
    /// Why the step failed: each failed verdict, as the report words it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

/// The result of `cargo perf --capacity LOW..HIGH` for one open-model test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// The range searched, per second.
    pub range_per_s: [f64; 2],
    /// How long each step ran, seconds.
    pub step_s: f64,
    /// The highest rate that held, per second; none when the lowest failed.
    pub held_per_s: Option<f64>,
    /// The lowest rate above it that failed, per second; none when nothing above it failed.
    pub failed_per_s: Option<f64>,
    /// What ended the search.
    pub ended: CapacityEnd,
    /// Every step, in the order run.
    pub steps: Vec<CapacityStep>,
}

impl TestResult {
    /// The regressions found: the timing comparison's, then the counts'.
    pub fn regressions(&self) -> impl Iterator<Item = &Comparison> {
        self.comparison
            .iter()
            .chain(&self.counts)
            .filter(|c| c.change_verdict == Change::Regression)
    }

    /// Whether the timing or a count regressed.
    pub fn regressed(&self) -> bool {
        self.regressions().next().is_some()
    }
}

/// Counts over a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Tests run.
    pub tests: usize,
    /// Tests whose thresholds all held.
    pub passed: usize,
    /// Tests with a failed threshold.
    pub failed: usize,
    /// Tests that could not be measured.
    pub errors: usize,
}

/// A whole `cargo perf` run: `summary.json` and `--format json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Always `SUMMARY_SCHEMA`.
    pub schema: String,
    /// cargo-perf's version.
    pub tool_version: String,
    /// Unix time the run started, in seconds.
    pub started_at: u64,
    /// Wall time spent running the tests (the build excluded), seconds.
    pub duration_s: f64,
    /// Cargo profile the tests were built with.
    pub profile: String,
    /// Counts.
    pub totals: Totals,
    /// Every test in run order.
    pub results: Vec<TestResult>,
    /// The machine the run measured on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<Machine>,
    /// `git rev-parse HEAD` of the measured tree (absent outside git).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// What the run was compared against, with counts of the change verdicts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_with: Option<ComparedWith>,
    /// `--shard I/N`: this run holds one shard's part (merge the shards with `cargo perf merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<shard::Shard>,
    /// `cargo perf merge`: how many shards were merged into this summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_shards: Option<u32>,
}

/// The machine a measurement was taken on: comparisons across machines are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU brand string, e.g. `AMD EPYC 7763 64-Core Processor`.
    pub cpu: String,
    /// Logical cores.
    pub cores: usize,
    /// Operating system and version, e.g. `Debian GNU/Linux 12`.
    pub os: String,
    /// CPU architecture, e.g. `x86_64`.
    pub arch: String,
}

impl std::fmt::Display for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, {} cores, {} {}",
            self.cpu, self.cores, self.os, self.arch
        )
    }
}

/// How a run was compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareMode {
    /// Against a saved baseline (Mann-Whitney U on raw samples).
    Baseline,
    /// Against another build of a git revision, alternating rounds (signed-rank on ratios).
    Paired,
}

/// What a run was compared against and what came out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparedWith {
    /// Baseline or paired.
    pub mode: CompareMode,
    /// The baseline's name or path, or the git revision.
    pub against: String,
    /// The baseline's (or the revision's) git commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Warnings a reader must see (another machine, a quick run against a full one, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Tests that got significantly slower.
    pub regressions: usize,
    /// Tests that got significantly faster.
    pub improvements: usize,
    /// Tests without a change beyond the minimum effect.
    pub unchanged: usize,
    /// Tests with too little evidence.
    pub inconclusive: usize,
    /// Tests not compared (new, changed spec, failed).
    pub not_compared: usize,
    /// Paired mode: what each build ran (commit, executables' hashes and their inputs' hashes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub builds: Vec<RoleBuild>,
}

/// One build of a paired run: its commit and a fingerprint of each test executable it ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleBuild {
    /// `base` (the reference, REF) or `new` (this tree).
    pub role: String,
    /// The commit the tree was at (`git rev-parse HEAD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Whether the tree had uncommitted changes to tracked files (they were measured too).
    #[serde(default)]
    pub dirty: bool,
    /// The test executables the rounds ran.
    pub executables: Vec<BuiltExecutable>,
}

/// A test executable of one build and what went into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuiltExecutable {
    /// Cargo package.
    pub package: String,
    /// Cargo target.
    pub target: String,
    /// The copy the rounds ran.
    pub file: String,
    /// SHA-256 of the executable, hex.
    pub sha256: String,
    /// SHA-256 over the workspace sources cargo's dep-info lists for it (paths relative to the
    /// tree, contents hashed), hex: equal in two checkouts of the same sources.
    pub inputs_sha256: String,
}

impl ComparedWith {
    /// `3 regressions, 1 improvement, 5 unchanged, 2 inconclusive, 0 not compared`: the
    /// tally every report prints.
    pub fn tally(&self) -> String {
        format!(
            "{}, {}, {} unchanged, {} inconclusive, {} not compared",
            plural(self.regressions as u64, "regression"),
            plural(self.improvements as u64, "improvement"),
            self.unchanged,
            self.inconclusive,
            self.not_compared
        )
    }
}

/// `1 regression`, `2 regressions`, `0 errors`.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

impl Summary {
    /// `5 passed (1 regressed), 0 failed, 1 error`: the first line of every report. Tests that
    /// passed their thresholds but regressed are counted as passed and named as regressed, since
    /// a regression past the gate fails the run.
    pub fn headline(&self) -> String {
        let t = &self.totals;
        let regressed = match &self.compared_with {
            Some(w) if w.regressions > 0 => format!(" ({} regressed)", w.regressions),
            _ => String::new(),
        };
        format!(
            "{} passed{regressed}, {} failed, {}",
            t.passed,
            t.failed,
            plural(t.errors as u64, "error")
        )
    }
}

#[cfg(test)]
mod headline_tests {
    use super::plural;

    #[test]
    fn counts_are_pluralized() {
        assert_eq!(plural(0, "error"), "0 errors");
        assert_eq!(plural(1, "regression"), "1 regression");
        assert_eq!(plural(2, "improvement"), "2 improvements");
    }
}
