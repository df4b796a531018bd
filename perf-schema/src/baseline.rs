//! A saved run (`--save-baseline NAME`, and `base`, the previous run): each test's whole record
//! with the machine and the commit it was measured on.

use serde::{Deserialize, Serialize};

use crate::record::Record;
use crate::summary::Machine;

pub use crate::schema::BASELINE as BASELINE_SCHEMA;

/// A saved run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Always `BASELINE_SCHEMA`.
    pub schema: String,
    /// The name it was saved under.
    pub name: String,
    /// Unix time of the last save, seconds.
    pub saved_at: u64,
    /// cargo-perf's version.
    pub tool_version: String,
    /// `git rev-parse HEAD` when saved, if in a repository.
    #[serde(default)]
    pub git_commit: Option<String>,
    /// Where it was measured.
    pub machine: Machine,
    /// Cargo profile of the build.
    pub profile: String,
    /// One measured record per test.
    pub records: Vec<Record>,
}
