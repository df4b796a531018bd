//! What a test binary reports to `cargo perf`: its list of perf tests and, per test run, a record
//! of everything measured (statistics, criterion's estimates, the histogram, database
//! statements, the load report, the machine's state).

pub mod load;
pub mod queries;
pub mod shard;
pub mod stats;

use serde::{Deserialize, Serialize};

use crate::criterion::CriterionEstimates;
use crate::spec::Spec;
pub use load::LoadReport;
pub use queries::{QueryStats, StatementStats};
pub use stats::Stats;

pub use crate::schema::{LIST as LIST_SCHEMA, RECORD as RECORD_SCHEMA};

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

/// Most raw samples a record keeps: enough for the comparisons' rank tests and bootstraps,
/// while a test of ten million samples still writes a summary and a baseline of a few hundred
/// KiB (its statistics and histogram are of every sample).
pub const MAX_KEPT_SAMPLES: usize = 10_000;

/// `samples` when there are at most `max`, else `max` of them evenly spaced in their order
/// (sample `i * n / max` for `i` in `0..max`), so a drift over the run stays visible.
pub fn keep_samples(samples: Vec<u64>, max: usize) -> Vec<u64> {
    let n = samples.len();
    if n <= max {
        return samples;
    }
    (0..max)
        .map(|i| samples[(i as u128 * n as u128 / max as u128) as usize])
        .collect()
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
    /// The timed samples in nanoseconds, in the order they were taken: every one up to
    /// [`MAX_KEPT_SAMPLES`], else that many evenly spaced ([`keep_samples`]); `stats` and
    /// `histogram` are of all of them.
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
}

#[cfg(test)]
mod tests {
    use super::keep_samples;

    #[test]
    fn samples_up_to_the_limit_are_kept_whole() {
        assert_eq!(keep_samples(vec![5, 3, 9], 3), vec![5, 3, 9]);
        assert_eq!(keep_samples(Vec::new(), 3), Vec::<u64>::new());
    }

    #[test]
    fn more_samples_are_thinned_evenly_in_their_order() {
        let samples: Vec<u64> = (0..10).collect();
        assert_eq!(keep_samples(samples.clone(), 5), vec![0, 2, 4, 6, 8]);
        assert_eq!(keep_samples(samples.clone(), 4), vec![0, 2, 5, 7]);
        assert_eq!(keep_samples(samples, 1), vec![0]);
        let ten_million: Vec<u64> = (0..10_000_000).collect();
        let kept = keep_samples(ten_million, super::MAX_KEPT_SAMPLES);
        assert_eq!(kept.len(), 10_000);
        assert_eq!((kept[1], kept[9_999]), (1_000, 9_999_000));
    }
}
