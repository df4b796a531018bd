//! The stable data schema shared by test binaries and `cargo perf`: test lists, per-test records,
//! threshold verdicts and run summaries, each JSON document tagged `cargo-perf/<kind>/v1`.

pub mod load;
pub mod queries;
pub mod shard;

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::criterion_files::CriterionEstimates;
use crate::spec::{Spec, Threshold};
use crate::stats::Stats;
pub use load::LoadReport;
use perf_schema::comparison::{Change, Comparison};
pub use queries::{QueryStats, StatementStats};

pub use perf_schema::schema::{
    LIST as LIST_SCHEMA, RECORD as RECORD_SCHEMA, SUMMARY as SUMMARY_SCHEMA,
};

/// Where a perf test lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestId {
    /// Cargo package.
    pub package: String,
    /// Cargo target (test, bench or lib) whose binary holds the test.
    pub target: String,
    /// Full libtest name: module path without the crate, then the function.
    pub name: String,
    /// Source file of the attribute.
    pub file: String,
    /// Line of the function.
    pub line: u32,
}

/// One perf test as a binary lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedTest {
    /// Where it is.
    #[serde(flatten)]
    pub id: TestId,
    /// What it asks for.
    pub spec: Spec,
    /// Whether the body is async.
    pub is_async: bool,
}

/// A test binary's answer to a listing request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestList {
    /// Always `LIST_SCHEMA`.
    pub schema: String,
    /// Every perf test in the binary.
    pub tests: Vec<ListedTest>,
}

/// Whether a test produced a measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// The test ran to completion and was measured.
    Measured,
    /// The body panicked, returned an error, timed out, or the harness failed.
    Failed {
        /// What happened, as a user should read it.
        message: String,
    },
}

/// Everything one run of one perf test produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Always `RECORD_SCHEMA`.
    pub schema: String,
    /// The test.
    pub test: TestId,
    /// Its attribute.
    pub spec: Spec,
    /// Measured or failed.
    #[serde(flatten)]
    pub status: Status,
    /// Statistics, when measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Stats>,
    /// Criterion's estimates, for micro-benchmarks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criterion: Option<CriterionEstimates>,
    /// The samples' HDR histogram, V2 format, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<String>,
    /// Every timed sample in nanoseconds.
    #[serde(default)]
    pub samples_ns: Vec<u64>,
    /// Time spent in `setup`, never counted in samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup_ns: Option<u64>,
    /// Wall time of the measurement.
    #[serde(default)]
    pub elapsed_ns: u64,
    /// Whether the binary was built without debug assertions (timing verdicts need this).
    pub optimized: bool,
    /// Whether `--quick` shortened the run.
    #[serde(default)]
    pub quick: bool,
    /// Database statements the timed calls issued: counts and the per-statement breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queries: Option<QueryStats>,
    /// Load tests: requests, errors, latency per request name, time series, resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadReport>,
    /// The test could not run for a reason outside it (service down): `cargo perf` exits 2.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub infrastructure: bool,
    /// What else the machine was doing while the test ran, measured by `cargo perf` around the
    /// test's process (baseline mode); absent in older files and where it cannot be measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_state: Option<MachineState>,
    /// FNV-1a 64 of the test executable's bytes (hex), set by `cargo perf`: two records with the
    /// same hash measured the same build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_hash: Option<String>,
}

/// The machine's state while one test ran, as `cargo perf` (the parent process) saw it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MachineState {
    /// 1-minute load average (runnable processes) when the test's process started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_avg_1m_start: Option<f64>,
    /// 1-minute load average when it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_avg_1m_end: Option<f64>,
    /// Cores kept busy by other processes, on average over the window: the machine's busy CPU
    /// time (`/proc/stat`) minus the test process's and cargo perf's own, divided by the
    /// window's wall time. Linux only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_cpu_cores: Option<f64>,
    /// Cores the test's process used on average over the window. Linux only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_cpu_cores: Option<f64>,
    /// Wall time the CPU figures cover, seconds: the test process's lifetime, stretched to a
    /// minimum so that clock-tick accounting stays accurate.
    pub window_s: f64,
}

/// The outcome of one threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The threshold from the attribute.
    pub threshold: Threshold,
    /// The measured value it was checked against (nanoseconds).
    #[serde(default)]
    pub measured_ns: Option<f64>,
    /// Whether it held.
    pub passed: bool,
    /// Load tests: the request name a per-name threshold applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl Record {
    /// A record with nothing measured yet: the engine or `cargo perf` fills in what it has.
    pub fn new(test: TestId, spec: Spec, status: Status) -> Record {
        Record {
            schema: RECORD_SCHEMA.into(),
            test,
            spec,
            status,
            stats: None,
            criterion: None,
            histogram: None,
            samples_ns: Vec::new(),
            setup_ns: None,
            elapsed_ns: 0,
            optimized: true,
            quick: false,
            queries: None,
            load: None,
            infrastructure: false,
            machine_state: None,
            build_hash: None,
        }
    }

    /// Checks every threshold of the spec against the statistics; a failed test fails them all.
    pub fn verdicts(&self) -> Vec<Verdict> {
        self.spec
            .thresholds
            .iter()
            .map(|&threshold| {
                let measured_ns = match (threshold, &self.load) {
                    (Threshold::MaxQueries { .. } | Threshold::NPlusOne, _) => self
                        .stats
                        .as_ref()
                        .and(self.queries.as_ref())
                        .and_then(|q| measured_count(q, &threshold)),
                    (Threshold::ErrorRate { .. }, Some(l)) => Some(l.error_rate),
                    (Threshold::Throughput { .. }, Some(l)) => Some(l.iterations_per_s),
                    (Threshold::Rss { .. }, Some(l)) => l.peak_rss_bytes.map(|b| b as f64),
                    (Threshold::Cpu { .. }, Some(l)) => l.cpu_percent,
                    _ => self.stats.as_ref().and_then(|s| measured(s, &threshold)),
                };
                // A failed test keeps what it measured before failing, but passes nothing.
                let measured_fully = self.status == Status::Measured;
                // A shard generated part of the load: it owes that part of the throughput.
                let threshold = match (threshold, self.load.as_ref().and_then(|l| l.shard)) {
                    (Threshold::Throughput { min_per_s }, Some(part)) => Threshold::Throughput {
                        min_per_s: min_per_s * part.share,
                    },
                    (t, _) => t,
                };
                Verdict {
                    threshold,
                    measured_ns,
                    passed: measured_fully && measured_ns.is_some_and(|m| threshold.holds(m)),
                    scope: None,
                }
            })
            .chain(
                self.spec
                    .request_thresholds
                    .iter()
                    .flat_map(|t| t.iter())
                    .chain(self.load.iter().flat_map(|l| l.request_thresholds.iter()))
                    .map(|named| {
                        let threshold = named.threshold;
                        let measured_ns = self
                            .load
                            .as_ref()
                            .and_then(|l| l.by_name(&named.name))
                            .and_then(|n| load::measured_by_name(n, &threshold));
                        Verdict {
                            threshold,
                            measured_ns,
                            passed: measured_ns.is_some_and(|m| threshold.holds(m)),
                            scope: Some(named.name.to_string()),
                        }
                    }),
            )
            .collect()
    }
}

fn measured(stats: &Stats, threshold: &Threshold) -> Option<f64> {
    match threshold {
        Threshold::Mean { .. } => Some(stats.mean_ns),
        Threshold::Median { .. } => Some(stats.p50_ns),
        Threshold::Max { .. } => Some(stats.max_ns),
        Threshold::Percentile { percentile, .. } => stats.percentile(*percentile),
        _ => None,
    }
}

/// Counts are exact: the busiest call's statements, or the growth between fixture sizes.
/// A capture that saw no statement at all measured nothing (a client that reports none).
fn measured_count(q: &QueryStats, threshold: &Threshold) -> Option<f64> {
    if q.statements == 0 {
        return None;
    }
    match threshold {
        Threshold::MaxQueries { .. } => Some(q.max_per_call as f64),
        Threshold::NPlusOne => q.scaling.map(|[half, full]| full as f64 - half as f64),
        _ => None,
    }
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
    /// Exact comparisons of counts without noise (`queries/iteration`), apart from the timing
    /// verdict: any increase is a regression, its severity from the ratio.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counts: Vec<Comparison>,
}

impl TestResult {
    /// Judges a record against its thresholds.
    pub fn judge(record: Record) -> TestResult {
        let verdicts = record.verdicts();
        let outcome = match record.status {
            Status::Failed { .. } => TestOutcome::Error,
            Status::Measured if verdicts.iter().all(|v| v.passed) => TestOutcome::Pass,
            Status::Measured => TestOutcome::Fail,
        };
        TestResult {
            outcome,
            verdicts,
            record,
            comparison: None,
            counts: Vec::new(),
        }
    }

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
    /// `3 regressions, 1 improvements, 5 unchanged, 2 inconclusive, 0 not compared`: the
    /// tally every report prints.
    pub fn tally(&self) -> String {
        format!(
            "{} regressions, {} improvements, {} unchanged, {} inconclusive, {} not compared",
            self.regressions,
            self.improvements,
            self.unchanged,
            self.inconclusive,
            self.not_compared
        )
    }

    /// Counts the change verdicts of `results`.
    pub fn count(&mut self, results: &[TestResult]) {
        // A count that regressed makes the test a regression whatever its timing did.
        let verdict = |r: &TestResult| {
            if r.counts
                .iter()
                .any(|c| c.change_verdict == Change::Regression)
            {
                Some(Change::Regression)
            } else {
                r.comparison.as_ref().map(|x| x.change_verdict)
            }
        };
        let count = |c: Change| results.iter().filter(|r| verdict(r) == Some(c)).count();
        self.regressions = count(Change::Regression);
        self.improvements = count(Change::Improvement);
        self.unchanged = count(Change::Unchanged);
        self.inconclusive = count(Change::Inconclusive);
        self.not_compared = results.len()
            - self.regressions
            - self.improvements
            - self.unchanged
            - self.inconclusive;
    }
}

impl Summary {
    /// Builds a summary, counting outcomes.
    pub fn new(
        started_at: u64,
        duration_s: f64,
        profile: String,
        results: Vec<TestResult>,
    ) -> Self {
        let count = |o: TestOutcome| results.iter().filter(|r| r.outcome == o).count();
        Summary {
            schema: SUMMARY_SCHEMA.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            started_at,
            duration_s,
            profile,
            totals: Totals {
                tests: results.len(),
                passed: count(TestOutcome::Pass),
                failed: count(TestOutcome::Fail),
                errors: count(TestOutcome::Error),
            },
            results,
            machine: None,
            git_commit: None,
            compared_with: None,
            shard: None,
            merged_shards: None,
        }
    }
}

/// A JSON document that could not be read as the expected schema.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Not JSON, or not the expected shape.
    #[error("{what} is not valid JSON for {expected}: {source}")]
    Malformed {
        /// What was being read (a file path or a description).
        what: String,
        /// The schema tag expected.
        expected: &'static str,
        /// The parser's complaint.
        source: serde_json::Error,
    },
    /// JSON with another schema tag (another kind, or a version this build cannot read).
    #[error("{what} has schema `{found}`, but this cargo-perf reads `{expected}`; rerun with the cargo-perf and perf-harness versions that match, or delete the file")]
    Version {
        /// What was being read.
        what: String,
        /// The tag found (or `none`).
        found: String,
        /// The schema tag expected.
        expected: &'static str,
    },
}

/// Parses `text` as a document tagged `expected`, refusing other kinds and versions.
pub fn parse_versioned<T: DeserializeOwned>(
    text: &str,
    expected: &'static str,
    what: &str,
) -> Result<T, SchemaError> {
    let malformed = |source| SchemaError::Malformed {
        what: what.to_string(),
        expected,
        source,
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(malformed)?;
    let found = value
        .get("schema")
        .and_then(|s| s.as_str())
        .unwrap_or("none");
    if found != expected {
        return Err(SchemaError::Version {
            what: what.to_string(),
            found: found.to_string(),
            expected,
        });
    }
    serde_json::from_value(value).map_err(malformed)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a rename,
/// so a reader never sees half a file and an interrupted run never destroys the old one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{} is not a file path", path.display())))?;
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Kind;
    use std::borrow::Cow;

    fn record(stats: Option<Stats>, thresholds: &'static [Threshold]) -> Record {
        let test = TestId {
            package: "p".into(),
            target: "t".into(),
            name: "m::f".into(),
            file: "tests/a.rs".into(),
            line: 3,
        };
        let spec = Spec {
            kind: Kind::Latency,
            thresholds: Cow::Borrowed(thresholds),
            samples: Some(10),
            ..Spec::MICRO
        };
        let status = if stats.is_some() {
            Status::Measured
        } else {
            Status::Failed {
                message: "boom".into(),
            }
        };
        Record {
            stats,
            ..Record::new(test, spec, status)
        }
    }

    fn stats(p95: f64) -> Stats {
        Stats {
            samples: 10,
            mean_ns: 10.0,
            std_dev_ns: 1.0,
            min_ns: 1.0,
            p50_ns: 10.0,
            p75_ns: 12.0,
            p90_ns: 14.0,
            p95_ns: p95,
            p99_ns: 30.0,
            p999_ns: 40.0,
            max_ns: 50.0,
            throughput_per_s: None,
        }
    }

    const P95_20: &[Threshold] = &[
        Threshold::Percentile {
            percentile: 95.0,
            limit_ns: 20,
        },
        Threshold::Max { limit_ns: 50 },
    ];

    #[test]
    fn thresholds_are_inclusive_upper_bounds() {
        let pass = TestResult::judge(record(Some(stats(20.0)), P95_20));
        assert_eq!(pass.outcome, TestOutcome::Pass);
        assert!(pass.verdicts.iter().all(|v| v.passed));
        let fail = TestResult::judge(record(Some(stats(20.5)), P95_20));
        assert_eq!(fail.outcome, TestOutcome::Fail);
        assert_eq!(fail.verdicts[0].measured_ns, Some(20.5));
        assert!(!fail.verdicts[0].passed);
        assert!(fail.verdicts[1].passed);
    }

    #[test]
    fn a_failed_test_is_an_error_and_fails_every_threshold() {
        let r = TestResult::judge(record(None, P95_20));
        assert_eq!(r.outcome, TestOutcome::Error);
        assert!(r
            .verdicts
            .iter()
            .all(|v| !v.passed && v.measured_ns.is_none()));
        // Samples measured before the failure are shown, but pass nothing.
        let mut partial = record(Some(stats(1.0)), P95_20);
        partial.status = Status::Failed {
            message: "call 57 returned an error".into(),
        };
        let r = TestResult::judge(partial);
        assert_eq!(r.outcome, TestOutcome::Error);
        assert_eq!(r.verdicts[0].measured_ns, Some(1.0));
        assert!(r.verdicts.iter().all(|v| !v.passed));
    }

    #[test]
    fn query_counts_are_exact_verdicts() {
        const Q: &[Threshold] = &[Threshold::MaxQueries { limit: 2 }, Threshold::NPlusOne];
        let queries = |max_per_call, scaling| QueryStats {
            calls: 10,
            statements: 20,
            min_per_call: 1,
            max_per_call,
            mean_per_call: 2.0,
            scaling,
            distinct: 2,
            top: vec![],
        };
        let mut r = record(Some(stats(1.0)), Q);
        r.queries = Some(queries(2, Some([21, 21])));
        let pass = TestResult::judge(r.clone());
        assert_eq!(pass.outcome, TestOutcome::Pass);
        assert_eq!(pass.verdicts[0].measured_ns, Some(2.0));
        assert_eq!(pass.verdicts[1].measured_ns, Some(0.0));
        r.queries = Some(queries(3, Some([11, 21])));
        let fail = TestResult::judge(r.clone());
        assert_eq!(fail.outcome, TestOutcome::Fail);
        assert!(!fail.verdicts[0].passed && !fail.verdicts[1].passed);
        assert_eq!(fail.verdicts[1].measured_ns, Some(10.0));
        // No statement captured: not measured, so not passed.
        r.queries = Some(QueryStats {
            statements: 0,
            ..queries(0, None)
        });
        let blind = TestResult::judge(r.clone());
        assert!(blind
            .verdicts
            .iter()
            .all(|v| v.measured_ns.is_none() && !v.passed));
        r.queries = None;
        assert_eq!(TestResult::judge(r).outcome, TestOutcome::Fail);
    }

    #[test]
    fn records_round_trip_and_foreign_versions_are_refused() {
        let r = record(Some(stats(20.0)), P95_20);
        let text = serde_json::to_string(&r).expect("serializes");
        let back: Record = parse_versioned(&text, RECORD_SCHEMA, "r.json").expect("reads");
        assert_eq!(back, r);
        let v2 = text.replace("cargo-perf/record/v1", "cargo-perf/record/v2");
        let err = parse_versioned::<Record>(&v2, RECORD_SCHEMA, "r.json").expect_err("v2");
        assert!(err.to_string().contains("`cargo-perf/record/v2`"), "{err}");
        let err = parse_versioned::<Record>("{", RECORD_SCHEMA, "r.json").expect_err("junk");
        assert!(
            err.to_string().starts_with("r.json is not valid JSON"),
            "{err}"
        );
    }

    #[test]
    fn the_machine_state_is_optional_so_older_records_still_read() {
        let mut r = record(Some(stats(20.0)), P95_20);
        let old = serde_json::to_string(&r).expect("serializes");
        assert!(!old.contains("machine_state") && !old.contains("build_hash"));
        let back: Record = parse_versioned(&old, RECORD_SCHEMA, "r.json").expect("reads");
        assert_eq!((back.machine_state, back.build_hash), (None, None));
        r.machine_state = Some(MachineState {
            load_avg_1m_start: Some(0.25),
            load_avg_1m_end: None,
            other_cpu_cores: Some(1.5),
            test_cpu_cores: Some(0.75),
            window_s: 0.5,
        });
        r.build_hash = Some("85944171f73967e8".into());
        let text = serde_json::to_string(&r).expect("serializes");
        assert!(
            text.contains(r#""other_cpu_cores":1.5"#) && !text.contains("load_avg_1m_end"),
            "{text}"
        );
        let back: Record = parse_versioned(&text, RECORD_SCHEMA, "r.json").expect("reads");
        assert_eq!(back, r);
    }

    #[test]
    fn summary_counts_outcomes() {
        let s = Summary::new(
            0,
            1.0,
            "bench".into(),
            vec![
                TestResult::judge(record(Some(stats(1.0)), P95_20)),
                TestResult::judge(record(Some(stats(99.0)), P95_20)),
                TestResult::judge(record(None, P95_20)),
            ],
        );
        assert_eq!(
            s.totals,
            Totals {
                tests: 3,
                passed: 1,
                failed: 1,
                errors: 1
            }
        );
    }

    #[test]
    fn atomic_write_replaces_the_whole_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/summary.json");
        write_atomic(&path, b"first").expect("write");
        write_atomic(&path, b"second").expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "second");
        let leftovers = std::fs::read_dir(path.parent().expect("dir"))
            .expect("ls")
            .count();
        assert_eq!(leftovers, 1);
    }
}
