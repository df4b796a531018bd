//! Summary statistics of one test's timed samples, as a record stores them.

use serde::{Deserialize, Serialize};

/// Statistics of one test's samples, all times in nanoseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Number of timed samples.
    pub samples: u64,
    /// Arithmetic mean (exact).
    pub mean_ns: f64,
    /// Sample standard deviation (exact, n-1).
    pub std_dev_ns: f64,
    /// Fastest sample (exact).
    pub min_ns: f64,
    /// Median, from the histogram.
    pub p50_ns: f64,
    /// 75th percentile, from the histogram.
    pub p75_ns: f64,
    /// 90th percentile, from the histogram.
    pub p90_ns: f64,
    /// 95th percentile, from the histogram.
    pub p95_ns: f64,
    /// 99th percentile, from the histogram.
    pub p99_ns: f64,
    /// 99.9th percentile, from the histogram.
    pub p999_ns: f64,
    /// Slowest sample (exact).
    pub max_ns: f64,
    /// Completed calls per second, where the test measures throughput.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput_per_s: Option<f64>,
}

impl Stats {
    /// The value for a percentile key the attribute accepts (50, 75, 90, 95, 99, 99.9).
    pub fn percentile(&self, percentile: f64) -> Option<f64> {
        type Get = fn(&Stats) -> f64;
        const TABLE: [(f64, Get); 6] = [
            (50.0, |s| s.p50_ns),
            (75.0, |s| s.p75_ns),
            (90.0, |s| s.p90_ns),
            (95.0, |s| s.p95_ns),
            (99.0, |s| s.p99_ns),
            (99.9, |s| s.p999_ns),
        ];
        TABLE
            .iter()
            .find(|(p, _)| (p - percentile).abs() < 1e-9)
            .map(|(_, get)| get(self))
    }
}
