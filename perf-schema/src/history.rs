//! Each test's recent runs on this machine (`target/criterion/cargo-perf/history.json`): the
//! statistic it is judged on, the build and the machine's state, from which `cargo perf` derives
//! the test's run-to-run noise floor.

use serde::{Deserialize, Serialize};

use crate::record::MachineState;
use crate::summary::Machine;

pub use crate::schema::HISTORY as HISTORY_SCHEMA;

/// The run history of every test measured on this machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Always `HISTORY_SCHEMA`.
    pub schema: String,
    /// Where the runs were measured (a history from another machine is started anew).
    pub machine: Machine,
    /// One entry per test.
    pub tests: Vec<TestRuns>,
}

/// The recent runs of one test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRuns {
    /// Cargo package.
    pub package: String,
    /// Cargo target.
    pub target: String,
    /// Test name.
    pub name: String,
    /// Oldest first, at most `KEPT_RUNS` (cargo-perf's `history` module).
    pub runs: Vec<Run>,
}

/// One run of one test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Unix time the run started, seconds.
    pub at_unix_s: u64,
    /// `git rev-parse HEAD` of the run, if in a repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// FNV-1a 64 of the test executable (`Record::build_hash`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_hash: Option<String>,
    /// The attribute, as `cargo perf --list` shows it.
    pub spec: String,
    /// Whether `--quick` shortened the run.
    pub quick: bool,
    /// The statistic the test is judged on (`median`, `p95`, `mean`).
    pub metric: String,
    /// Its value, nanoseconds.
    pub value_ns: f64,
    /// The machine's state while the test ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_state: Option<MachineState>,
}
