//! The comparison of one test with its baseline or reference build, as `summary.json` and
//! baselines store it: the method, the evidence, the conclusion and its severity.

use serde::{Deserialize, Serialize};

use crate::unit::Unit;

/// The statistical test behind a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Baseline mode: Mann-Whitney U on raw samples.
    MannWhitneyU,
    /// Paired mode: Wilcoxon signed-rank on per-round log ratios.
    WilcoxonSignedRank,
    /// Counts (queries, allocations): compared exactly, no statistics.
    Exact,
    /// A load test's error rate: Fisher's exact test on failed and successful iterations.
    FisherExact,
}

/// What the comparison concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Significantly slower by at least the minimum effect and the noise floor.
    Regression,
    /// Significantly faster by at least the minimum effect and the noise floor.
    Improvement,
    /// No change as large as the minimum effect.
    Unchanged,
    /// Too little evidence either way: few samples, or a large change that is not significant.
    Inconclusive,
    /// Not compared: no baseline entry, another spec, or another machine (see the note).
    NotCompared,
}

impl Change {
    /// Lower-case word for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Regression => "regression",
            Change::Improvement => "improvement",
            Change::Unchanged => "unchanged",
            Change::Inconclusive => "inconclusive",
            Change::NotCompared => "not compared",
        }
    }
}

/// How large a change is: small < 10 % ≤ minor < 25 % ≤ major < 50 % ≤ critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Below 10 %.
    Small,
    /// 10 % or more.
    Minor,
    /// 25 % or more.
    Major,
    /// 50 % or more.
    Critical,
}

impl Severity {
    /// The severity of a relative change (sign ignored).
    pub fn of(change: f64) -> Severity {
        let c = change.abs();
        if c >= 0.50 {
            Severity::Critical
        } else if c >= 0.25 {
            Severity::Major
        } else if c >= 0.10 {
            Severity::Minor
        } else {
            Severity::Small
        }
    }

    /// Lower-case word for tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Small => "small",
            Severity::Minor => "minor",
            Severity::Major => "major",
            Severity::Critical => "critical",
        }
    }
}

/// The evidence and conclusion of one comparison; stored in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The test used.
    pub method: Method,
    /// The statistic compared (`p95`, `median`, `mean`).
    pub metric: String,
    /// Its value before (baseline or the reference build), in `unit`.
    pub base: f64,
    /// Its value now, in `unit`.
    pub new: f64,
    /// Nanoseconds for timing statistics, a count for exact comparisons of counts, a fraction
    /// for an error rate.
    pub unit: Unit,
    /// Relative change `new / base − 1` (+0.36 = 36 % slower); for a fraction (an error rate)
    /// the difference `new − base` (+0.02 = two percentage points more failures).
    pub change: f64,
    /// 95 % interval of `change`.
    pub interval: [f64; 2],
    /// Two-sided p-value of the test (none when not compared or exact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// Changes no larger than this are noise for this test: half the interval's width, or in
    /// baseline mode the run-to-run floor when that is larger.
    pub noise_floor: f64,
    /// Baseline mode: the test's run-to-run noise floor from its recent runs (a relative
    /// change, 0.12 = ±12 %); `noise_floor` is the larger of this and the within-run floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_to_run_floor: Option<f64>,
    /// Samples (baseline mode) or rounds (paired mode) before.
    pub base_n: usize,
    /// Samples or rounds now.
    pub new_n: usize,
    /// The conclusion.
    pub change_verdict: Change,
    /// How large, for regressions and improvements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Why it was not compared, or was downgraded (e.g. "not confirmed by 1 re-measurement").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
