//! What a database test's record says about its statements: counts per timed call and the
//! busiest statements' timings (counted by `db::capture`).

use serde::{Deserialize, Serialize};

/// Statements kept in a record: the rest are summed into the totals only.
pub const MAX_STATEMENTS_KEPT: usize = 50;

/// Statement counts and per-statement timings of one test's timed calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryStats {
    /// Timed calls counted.
    pub calls: u64,
    /// Statements over all timed calls.
    pub statements: u64,
    /// Fewest statements one call issued.
    pub min_per_call: u64,
    /// Most statements one call issued: what `max_queries` is checked against.
    pub max_per_call: u64,
    /// Mean statements per call.
    pub mean_per_call: f64,
    /// Statements per call of the `n_plus_one` probe: at half the fixture, then at full size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<[u64; 2]>,
    /// Distinct statements (normalized) in the capture, including those not kept below.
    pub distinct: u64,
    /// The statements ran outside the timed calls, on the threads of a service a load test's
    /// `setup` started in the test process: they are counted over the whole load, so the
    /// per-call figures are the statements divided by the iterations (`min_per_call` and
    /// `max_per_call` that mean rounded) rather than counts of each call.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub averaged: bool,
    /// The statements with the most total time, most first (at most `MAX_STATEMENTS_KEPT`).
    pub top: Vec<StatementStats>,
}

/// Timings of one normalized statement over a test's timed calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementStats {
    /// The normalized SQL (literals and placeholders as `?`).
    pub sql: String,
    /// Executions.
    pub count: u64,
    /// Sum of execution times, nanoseconds.
    pub total_ns: u64,
    /// Mean execution time, nanoseconds.
    pub mean_ns: f64,
    /// 95th percentile, from an HDR histogram like every latency of the harness.
    pub p95_ns: f64,
    /// Slowest execution, nanoseconds (exact).
    pub max_ns: u64,
}
