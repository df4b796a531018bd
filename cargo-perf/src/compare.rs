//! Whether a perf test changed: rank tests on raw samples (baseline mode) or on paired round
//! ratios (`--against` mode), bootstrap intervals of the change, and the verdict with its severity.
//!
//! Why these tests:
//! - Baseline mode compares two independent sets of raw samples. Latency samples are skewed and
//!   heavy-tailed, so a t-test is wrong; Mann-Whitney U makes no distribution assumption, its
//!   normal approximation (with tie and continuity corrections) is accurate from ~8 samples per
//!   side, and it is cheap for thousands of samples. The size of the change and its noise floor
//!   come from a percentile bootstrap of the ratio of the headline metric (p95, median, mean).
//! - Paired mode has one ratio B/A per round, few rounds (≈10) and no reason to expect normality:
//!   the Wilcoxon signed-rank test on the log ratios, exact for up to 25 untied rounds, is the
//!   textbook paired test. Ratios taken within a round cancel machine drift between rounds.
//!
//! - Load tests keep HDR histograms, not samples: [`histogram`] compares them. A tail percentile
//!   resting on fewer than 10 samples is judged on the median instead ([`pooled`]).
//!
//! A change is a regression only when it is significant, at least the minimum effect, and larger
//! than the noise floor (half the width of its 95 % interval); a large but unproven change is
//! *inconclusive*, never a pass or a fail. Everything here is a pure function of its inputs.

use perf_schema::unit::Unit;
use serde::{Deserialize, Serialize};

pub use perf_schema::comparison::{Change, Comparison, Method, Severity};

pub mod histogram;
pub mod load;
pub mod pooled;
pub mod proportion;

/// How sure and how large a change must be before it counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// Significance level of the two-sided test.
    pub alpha: f64,
    /// Smallest relative change reported as a regression or improvement (0.05 = 5 %).
    pub min_effect: f64,
    /// Fewest samples per side (baseline mode) below which the answer is inconclusive.
    pub min_samples: usize,
    /// Fewest rounds (paired mode) below which the answer is inconclusive, unless the interval
    /// of the change already lies within ±`min_effect` after `settle_rounds` (settled unchanged).
    pub min_rounds: usize,
    /// Fewest rounds (paired mode) after which an interval within ±`min_effect` settles the
    /// comparison as unchanged.
    pub settle_rounds: usize,
    /// Bootstrap resamples for intervals.
    pub resamples: usize,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            alpha: 0.01,
            min_effect: 0.05,
            min_samples: 8,
            // With 7 untied rounds the smallest two-sided signed-rank p is 2/128 = 0.016; 8 give
            // 0.0078, the first count that can reach alpha = 0.01.
            min_rounds: 8,
            // With 6 rounds the interval of the median is [min, max] of the ratios, covering the
            // true median with probability 1 − 2/2⁶ = 96.9 %: the first count at least 95 % sure.
            settle_rounds: 6,
            resamples: 2_000,
        }
    }
}

/// The statistic a comparison is about.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "metric", rename_all = "snake_case")]
pub enum Metric {
    /// Arithmetic mean.
    Mean,
    /// A percentile, 0..=100 (50 is the median).
    Percentile {
        /// The percentile.
        percentile: f64,
    },
}

impl Metric {
    /// The median.
    pub const MEDIAN: Metric = Metric::Percentile { percentile: 50.0 };

    /// `mean`, `median`, `p95`, `p999`.
    pub fn key(&self) -> String {
        match self {
            Metric::Mean => "mean".into(),
            Metric::Percentile { percentile } if (*percentile - 50.0).abs() < 1e-9 => {
                "median".into()
            }
            Metric::Percentile { percentile } => perf_schema::spec::percentile_key(*percentile),
        }
    }

    /// The statistic of `values`, which must be sorted ascending and non-empty.
    pub fn of_sorted(&self, sorted: &[f64]) -> f64 {
        match self {
            Metric::Mean => sorted.iter().sum::<f64>() / sorted.len() as f64,
            Metric::Percentile { percentile } => nearest_rank(sorted, percentile / 100.0),
        }
    }
}

/// What cargo perf does to a comparison once made: build one that did not happen, lead its note
/// with a re-measurement's outcome, raise its noise floor, ask whether it gates.
pub trait ComparisonExt {
    /// A comparison that did not happen, with the reason. Numbers are zero, never NaN: JSON has
    /// no NaN and `summary.json` must read back.
    fn not_compared(metric: Metric, note: impl Into<String>) -> Comparison;
    /// Puts `note` first (e.g. the outcome of a re-measurement), keeping an earlier note after.
    fn lead_note(&mut self, note: impl Into<String>);
    /// Adds the run-to-run noise floor (a relative change): when it is above the within-run
    /// floor it becomes the noise floor, and a regression or improvement no larger than it
    /// becomes inconclusive. Returns whether the run-to-run floor is the one that decides.
    fn raise_floor(&mut self, run_to_run: f64) -> bool;
    /// Whether this is a regression at least as severe as `at_least`.
    fn is_regression(&self, at_least: Severity) -> bool;
}

impl ComparisonExt for Comparison {
    fn not_compared(metric: Metric, note: impl Into<String>) -> Comparison {
        Comparison {
            method: Method::MannWhitneyU,
            metric: metric.key(),
            base: 0.0,
            new: 0.0,
            unit: Unit::Nanoseconds,
            change: 0.0,
            interval: [0.0, 0.0],
            p_value: None,
            noise_floor: 0.0,
            run_to_run_floor: None,
            base_n: 0,
            new_n: 0,
            change_verdict: Change::NotCompared,
            severity: None,
            note: Some(note.into()),
        }
    }

    fn lead_note(&mut self, note: impl Into<String>) {
        let note = note.into();
        self.note = Some(match self.note.take() {
            Some(old) if !old.is_empty() => format!("{note}; {old}"),
            _ => note,
        });
    }

    fn raise_floor(&mut self, run_to_run: f64) -> bool {
        self.run_to_run_floor = Some(run_to_run);
        // A NaN floor (no runs to measure) never decides.
        if run_to_run.partial_cmp(&self.noise_floor) != Some(std::cmp::Ordering::Greater) {
            return false;
        }
        self.noise_floor = run_to_run;
        let flagged = matches!(
            self.change_verdict,
            Change::Regression | Change::Improvement
        );
        if flagged && self.change.abs() <= run_to_run {
            self.change_verdict = Change::Inconclusive;
            self.severity = None;
        }
        true
    }

    fn is_regression(&self, at_least: Severity) -> bool {
        self.change_verdict == Change::Regression && self.severity.is_some_and(|s| s >= at_least)
    }
}

/// The quantile `q` of sorted values by the nearest-rank rule (HdrHistogram's, without buckets).
pub fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of unsorted values (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The standard normal distribution function Φ(z).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// Complementary error function, fractional error below 1.2e-7 (Numerical Recipes' `erfcc`).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Average ranks (1-based) of `values`, ties sharing the mean of their ranks, and Σ(t³ − t) over
/// tie groups (the tie correction of rank tests).
fn ranks(values: &[f64]) -> (Vec<f64>, f64) {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut ties = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = avg;
        }
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    (ranks, ties)
}

/// The result of a Mann-Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U of the second sample (`new`): how often a new value exceeds a base value (ties ½).
    pub u: f64,
    /// The normal deviate, continuity- and tie-corrected; positive when `new` tends larger.
    pub z: f64,
    /// Two-sided p-value.
    pub p_value: f64,
}

/// Mann-Whitney U test of `base` against `new`, normal approximation with tie and continuity
/// corrections; `None` when a side is empty.
pub fn mann_whitney_u(base: &[f64], new: &[f64]) -> Option<MannWhitney> {
    let (n1, n2) = (base.len() as f64, new.len() as f64);
    if base.is_empty() || new.is_empty() {
        return None;
    }
    let all: Vec<f64> = base.iter().chain(new).copied().collect();
    let (r, ties) = ranks(&all);
    let r_new: f64 = r[base.len()..].iter().sum();
    let u = r_new - n2 * (n2 + 1.0) / 2.0;
    let n = n1 + n2;
    let mu = n1 * n2 / 2.0;
    let var = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if var <= 0.0 {
        // Every value identical: no evidence of any difference.
        return Some(MannWhitney {
            u,
            z: 0.0,
            p_value: 1.0,
        });
    }
    let diff = u - mu;
    let corrected = (diff.abs() - 0.5).max(0.0) * diff.signum();
    let z = corrected / var.sqrt();
    let p_value = (2.0 * (1.0 - normal_cdf(z.abs()))).min(1.0);
    Some(MannWhitney { u, z, p_value })
}

/// The result of a Wilcoxon signed-rank test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignedRank {
    /// Sum of the ranks of positive differences.
    pub w_plus: f64,
    /// Non-zero differences used.
    pub n: usize,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Whether the p-value is exact (≤ 25 untied differences) or from the normal approximation.
    pub exact: bool,
}

/// Wilcoxon signed-rank test that the differences are centred on zero; zeros are dropped
/// (Wilcoxon's rule). Exact for up to 25 differences without tied magnitudes, else the normal
/// approximation with tie and continuity corrections. `None` without a non-zero difference.
pub fn wilcoxon_signed_rank(diffs: &[f64]) -> Option<SignedRank> {
    let nonzero: Vec<f64> = diffs.iter().copied().filter(|d| *d != 0.0).collect();
    let n = nonzero.len();
    if n == 0 {
        return None;
    }
    let magnitudes: Vec<f64> = nonzero.iter().map(|d| d.abs()).collect();
    let (r, ties) = ranks(&magnitudes);
    let w_plus: f64 = r
        .iter()
        .zip(&nonzero)
        .filter(|(_, d)| **d > 0.0)
        .map(|(r, _)| r)
        .sum();
    let nf = n as f64;
    if ties == 0.0 && n <= 25 {
        // Exact null distribution: the number of subsets of {1..n} with each rank sum.
        let counts = signed_rank_counts(n);
        let total = 2f64.powi(n as i32);
        let w = w_plus.round() as usize;
        let lower: u64 = counts[..=w].iter().sum();
        let upper: u64 = counts[w..].iter().sum();
        let p_value = (2.0 * lower.min(upper) as f64 / total).min(1.0);
        return Some(SignedRank {
            w_plus,
            n,
            p_value,
            exact: true,
        });
    }
    let mu = nf * (nf + 1.0) / 4.0;
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - ties / 48.0;
    let diff = w_plus - mu;
    let z = (diff.abs() - 0.5).max(0.0) / var.sqrt();
    Some(SignedRank {
        w_plus,
        n,
        p_value: (2.0 * (1.0 - normal_cdf(z))).min(1.0),
        exact: false,
    })
}

/// A small deterministic generator (SplitMix64): bootstrap intervals must be reproducible.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform index below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * n as f64) as usize % n.max(1)
    }
}

fn resample_sorted(values: &[f64], rng: &mut SplitMix64, buf: &mut Vec<f64>) {
    buf.clear();
    buf.extend((0..values.len()).map(|_| values[rng.below(values.len())]));
    buf.sort_by(f64::total_cmp);
}

/// Percentile-bootstrap 95 % interval of `metric(new) / metric(base) − 1` from independent
/// resamples of each side.
pub fn bootstrap_change(base: &[f64], new: &[f64], metric: Metric, resamples: usize) -> (f64, f64) {
    if base.is_empty() || new.is_empty() || resamples == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = SplitMix64::new(0x5eed_cafe_f00d_d00d);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut changes: Vec<f64> = (0..resamples)
        .map(|_| {
            resample_sorted(base, &mut rng, &mut a);
            resample_sorted(new, &mut rng, &mut b);
            metric.of_sorted(&b) / metric.of_sorted(&a) - 1.0
        })
        .collect();
    changes.sort_by(f64::total_cmp);
    (nearest_rank(&changes, 0.025), nearest_rank(&changes, 0.975))
}

/// Percentile-bootstrap 95 % interval of the median of `values`.
pub fn bootstrap_median(values: &[f64], resamples: usize) -> (f64, f64) {
    if values.is_empty() || resamples == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = SplitMix64::new(0x0dd_ba11_5eed);
    let mut buf = Vec::new();
    let mut medians: Vec<f64> = (0..resamples)
        .map(|_| {
            resample_sorted(values, &mut rng, &mut buf);
            median(&buf)
        })
        .collect();
    medians.sort_by(f64::total_cmp);
    (nearest_rank(&medians, 0.025), nearest_rank(&medians, 0.975))
}

/// The null distribution of the signed-rank statistic W⁺ for `n` untied differences:
/// `counts[w]` of the 2ⁿ sign assignments give W⁺ = w.
fn signed_rank_counts(n: usize) -> Vec<u64> {
    let max = n * (n + 1) / 2;
    let mut counts = vec![0u64; max + 1];
    counts[0] = 1;
    for k in 1..=n {
        for s in (k..=max).rev() {
            counts[s] += counts[s - k];
        }
    }
    counts
}

/// The Walsh averages `(x_i + x_j) / 2`, `i ≤ j`, sorted ascending.
fn walsh_averages(values: &[f64]) -> Vec<f64> {
    let mut w = Vec::with_capacity(values.len() * (values.len() + 1) / 2);
    for (i, a) in values.iter().enumerate() {
        for b in &values[i..] {
            w.push((a + b) / 2.0);
        }
    }
    w.sort_by(f64::total_cmp);
    w
}

/// The Hodges–Lehmann estimate of the centre of `values`: the median of their Walsh averages,
/// the estimator that goes with the signed-rank test. NaN when empty.
pub fn hodges_lehmann(values: &[f64]) -> f64 {
    median(&walsh_averages(values))
}

/// The signed-rank test's interval for the centre of `values`: the Walsh averages
/// `[W(C), W(M + 1 − C)]` (M of them) with the largest `C` whose coverage `1 − 2·P(W⁺ < C)` is at
/// least `confidence` — exact for up to 25 values, from the normal approximation beyond. Returns
/// the interval and its coverage; with too few values for `confidence` it is `[min, max]` with
/// the coverage that has.
pub fn walsh_interval(values: &[f64], confidence: f64) -> Option<(f64, f64, f64)> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let walsh = walsh_averages(values);
    let m = walsh.len();
    let (c, coverage) = if n <= 25 {
        let counts = signed_rank_counts(n);
        let total = 2f64.powi(n as i32);
        // C − 1 is the largest w with P(W⁺ ≤ w) ≤ (1 − confidence) / 2.
        let mut below = 0u64;
        let mut c = 1;
        let mut coverage = 1.0 - 2.0 * counts[0] as f64 / total;
        for (w, &k) in counts.iter().enumerate().take(m / 2) {
            below += k;
            let tail = below as f64 / total;
            if tail > (1.0 - confidence) / 2.0 {
                break;
            }
            c = w + 1;
            coverage = 1.0 - 2.0 * tail;
        }
        (c, coverage)
    } else {
        let nf = n as f64;
        let z = normal_quantile(0.5 + confidence / 2.0);
        let sd = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
        let c = ((m as f64 / 2.0 - z * sd).floor() as usize).max(1);
        (c, confidence)
    };
    Some((walsh[c - 1], walsh[m - c], coverage))
}

/// The standard normal quantile function Φ⁻¹(p), by bisection on [`normal_cdf`].
fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-10.0, 10.0);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if normal_cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// The within-run noise floor of a change: how far its 95 % interval reaches from the change
/// towards zero. For a symmetric interval that is half its width; for a skewed one (a bimodal
/// benchmark, a busy machine) it is the side that could erase the change, so a change whose
/// whole interval lies above zero is never called noise because its far side is wide.
pub fn within_run_floor(change: f64, interval: (f64, f64)) -> f64 {
    let (lo, hi) = (interval.0.min(interval.1), interval.0.max(interval.1));
    let towards_zero = if change >= 0.0 {
        change - lo
    } else {
        hi - change
    };
    if towards_zero.is_finite() {
        towards_zero.max(0.0)
    } else {
        (hi - lo) / 2.0
    }
}

/// The verdict from a change, its interval, the test's p-value and whether there was enough data.
pub fn decide(
    change: f64,
    interval: (f64, f64),
    p_value: f64,
    enough: bool,
    policy: &Policy,
) -> (Change, f64) {
    let noise_floor = within_run_floor(change, interval);
    if !enough || !change.is_finite() {
        return (Change::Inconclusive, noise_floor);
    }
    let large = change.abs() >= policy.min_effect;
    if !large {
        return (Change::Unchanged, noise_floor);
    }
    if p_value < policy.alpha && change.abs() > noise_floor {
        let verdict = if change > 0.0 {
            Change::Regression
        } else {
            Change::Improvement
        };
        return (verdict, noise_floor);
    }
    (Change::Inconclusive, noise_floor)
}

/// Baseline mode: compares raw samples (nanoseconds) with Mann-Whitney U and a bootstrap interval
/// of the change in `metric`.
pub fn compare_samples(base: &[u64], new: &[u64], metric: Metric, policy: &Policy) -> Comparison {
    let mut a: Vec<f64> = base.iter().map(|&v| v as f64).collect();
    let mut b: Vec<f64> = new.iter().map(|&v| v as f64).collect();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    if a.is_empty() || b.is_empty() {
        return Comparison::not_compared(metric, "no samples on one side");
    }
    let (base_ns, new_ns) = (metric.of_sorted(&a), metric.of_sorted(&b));
    let change = new_ns / base_ns - 1.0;
    if !change.is_finite() {
        return Comparison::not_compared(metric, "the baseline's value is zero");
    }
    let interval = bootstrap_change(&a, &b, metric, policy.resamples);
    let p_value = mann_whitney_u(&a, &b).map_or(1.0, |m| m.p_value);
    let enough = a.len() >= policy.min_samples && b.len() >= policy.min_samples;
    let (verdict, noise_floor) = decide(change, interval, p_value, enough, policy);
    let note = (!enough).then(|| {
        format!(
            "{} and {} samples; at least {} per side are needed",
            a.len(),
            b.len(),
            policy.min_samples
        )
    });
    finish(
        Method::MannWhitneyU,
        metric,
        (base_ns, new_ns, change),
        interval,
        Some(p_value),
        noise_floor,
        (a.len(), b.len()),
        verdict,
        note,
    )
}

/// Paired mode: `base[i]` and `new[i]` are the metric of the reference and the new build in
/// round `i`; the log ratios go through the Wilcoxon signed-rank test.
pub fn compare_rounds(base: &[f64], new: &[f64], metric: Metric, policy: &Policy) -> Comparison {
    let logs: Vec<f64> = base
        .iter()
        .zip(new)
        .filter(|(a, b)| **a > 0.0 && **b > 0.0 && a.is_finite() && b.is_finite())
        .map(|(a, b)| (b / a).ln())
        .collect();
    if logs.is_empty() {
        return Comparison::not_compared(metric, "no round measured both builds");
    }
    let change = hodges_lehmann(&logs).exp() - 1.0;
    let (lo, hi, _) = walsh_interval(&logs, 0.95).unwrap_or((f64::NAN, f64::NAN, 0.0));
    let interval = (lo.exp() - 1.0, hi.exp() - 1.0);
    let p_value = wilcoxon_signed_rank(&logs).map_or(1.0, |w| w.p_value);
    let enough = logs.len() >= policy.min_rounds;
    let (mut verdict, noise_floor) = decide(change, interval, p_value, enough, policy);
    let settled = settled_unchanged(interval, logs.len(), policy);
    if verdict == Change::Inconclusive && !enough && settled {
        verdict = Change::Unchanged;
    }
    let note = if settled && !enough {
        Some(format!(
            "settled after {} rounds: the interval of the change lies within ±{:.0} %",
            logs.len(),
            policy.min_effect * 100.0
        ))
    } else {
        (!enough).then(|| {
            format!(
                "{} rounds; at least {} are needed",
                logs.len(),
                policy.min_rounds
            )
        })
    };
    finish(
        Method::WilcoxonSignedRank,
        metric,
        (median(base), median(new), change),
        interval,
        Some(p_value),
        noise_floor,
        (logs.len(), logs.len()),
        verdict,
        note,
    )
}

/// Whether a paired interval of the change (≥ 95 % sure, from at least `settle_rounds` rounds)
/// lies strictly within ±`min_effect`: no change as large as the minimum effect, settled.
pub fn settled_unchanged(interval: (f64, f64), rounds: usize, policy: &Policy) -> bool {
    rounds >= policy.settle_rounds
        && interval.0.is_finite()
        && interval.1.is_finite()
        && interval.0 > -policy.min_effect
        && interval.1 < policy.min_effect
}

/// Counts (queries, requests, allocations) have no noise: any increase is a regression.
pub fn compare_exact(metric: &str, base: u64, new: u64) -> Comparison {
    // From zero, the change is counted as if the base were one (JSON has no infinity).
    let change = new as f64 / base.max(1) as f64 - if base == 0 { 0.0 } else { 1.0 };
    let verdict = match new.cmp(&base) {
        std::cmp::Ordering::Greater => Change::Regression,
        std::cmp::Ordering::Less => Change::Improvement,
        std::cmp::Ordering::Equal => Change::Unchanged,
    };
    Comparison {
        method: Method::Exact,
        metric: metric.to_string(),
        base: base as f64,
        new: new as f64,
        unit: Unit::Count,
        change,
        interval: [change, change],
        p_value: None,
        noise_floor: 0.0,
        run_to_run_floor: None,
        base_n: 1,
        new_n: 1,
        change_verdict: verdict,
        // Any extra query is at least minor: counts are gated exactly.
        severity: (verdict != Change::Unchanged).then(|| Severity::of(change).max(Severity::Minor)),
        note: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    method: Method,
    metric: Metric,
    (base_ns, new_ns, change): (f64, f64, f64),
    interval: (f64, f64),
    p_value: Option<f64>,
    noise_floor: f64,
    (base_n, new_n): (usize, usize),
    verdict: Change,
    note: Option<String>,
) -> Comparison {
    let severity =
        matches!(verdict, Change::Regression | Change::Improvement).then(|| Severity::of(change));
    Comparison {
        method,
        metric: metric.key(),
        base: base_ns,
        new: new_ns,
        unit: Unit::Nanoseconds,
        change,
        interval: [interval.0, interval.1],
        p_value,
        noise_floor,
        run_to_run_floor: None,
        base_n,
        new_n,
        change_verdict: verdict,
        severity,
        note,
    }
}

/// `p < 0.001`, `p = 0.012`.
pub fn format_p(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {p:.3}")
    }
}

/// `+36.2 %`, `-4.1 %`.
pub fn format_change(change: f64) -> String {
    if !change.is_finite() {
        return "-".into();
    }
    format!("{:+.1} %", change * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn normal_cdf_matches_tables() {
        assert!(close(normal_cdf(0.0), 0.5, 1e-7));
        assert!(close(normal_cdf(1.959_964), 0.975, 1e-6));
        assert!(close(normal_cdf(-2.575_829), 0.005, 1e-6));
        assert!(close(normal_cdf(1.0), 0.841_344_7, 1e-6));
    }

    #[test]
    fn mann_whitney_on_complete_separation_matches_the_textbook() {
        // n1 = n2 = 5, no overlap: U = 25, μ = 12.5, σ² = 25·11/12, z = (12.5 − 0.5)/σ = 2.5067,
        // two-sided p = 0.01219 (R: wilcox.test(exact = FALSE, correct = TRUE)).
        let base = [1.0, 2.0, 3.0, 4.0, 5.0];
        let new = [6.0, 7.0, 8.0, 9.0, 10.0];
        let m = mann_whitney_u(&base, &new).expect("non-empty");
        assert_eq!(m.u, 25.0);
        assert!(close(m.z, 12.0 / (25.0f64 * 11.0 / 12.0).sqrt(), 1e-12));
        assert!(close(m.p_value, 0.012_186, 2e-5), "{}", m.p_value);
        let back = mann_whitney_u(&new, &base).expect("non-empty");
        assert_eq!(back.u, 0.0);
        assert!(back.z < 0.0);
        assert!(close(back.p_value, m.p_value, 1e-12));
    }

    #[test]
    fn mann_whitney_corrects_for_ties() {
        // base {1,2,2,3}, new {2,3,3,4}: ranks of the 8 values with ties
        // 1→1, 2→3 (×3), 3→6 (×3), 4→8; R_new = 3 + 6 + 6 + 8 = 23, U = 23 − 10 = 13.
        // Σ(t³−t) = 24 + 24 = 48; σ² = 16/12·(9 − 48/56) = 10.857; z = (13 − 8 − 0.5)/σ.
        let m = mann_whitney_u(&[1.0, 2.0, 2.0, 3.0], &[2.0, 3.0, 3.0, 4.0]).expect("ok");
        assert_eq!(m.u, 13.0);
        let sigma = (16.0f64 / 12.0 * (9.0 - 48.0 / 56.0)).sqrt();
        assert!(close(m.z, 4.5 / sigma, 1e-12), "{}", m.z);
        let identical = mann_whitney_u(&[5.0; 4], &[5.0; 4]).expect("ok");
        assert_eq!(identical.p_value, 1.0);
        assert!(mann_whitney_u(&[], &[1.0]).is_none());
    }

    #[test]
    fn signed_rank_exact_distribution_matches_tables() {
        // Six positive differences: W+ = 21, the largest of 2⁶ = 64 outcomes: p = 2/64.
        let w = wilcoxon_signed_rank(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).expect("ok");
        assert_eq!(w.w_plus, 21.0);
        assert!(w.exact);
        assert!(close(w.p_value, 2.0 / 64.0, 1e-12));
        // n = 10, W+ = 47 (ranks 8 and 10 negative... here: −1 and −4 negative, W+ = 55 − 5 = 50):
        // P(W ≥ 50) = P(W ≤ 5) = 10/1024 (subsets of 1..10 summing to ≤ 5: ∅,1,2,3,4,5,12,13,14,23).
        let d = [-1.0, 2.0, 3.0, -4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        let w = wilcoxon_signed_rank(&d).expect("ok");
        assert_eq!(w.w_plus, 50.0);
        assert!(close(w.p_value, 20.0 / 1024.0, 1e-12), "{}", w.p_value);
        // Zeros are dropped; symmetric data give p = 1.
        let w = wilcoxon_signed_rank(&[0.0, -1.0, 1.0]).expect("ok");
        assert_eq!(w.n, 2);
        assert!(close(w.p_value, 1.0, 1e-6));
        assert!(wilcoxon_signed_rank(&[0.0, 0.0]).is_none());
    }

    #[test]
    fn signed_rank_normal_approximation_with_ties() {
        // Tied magnitudes force the approximation: 12 differences of ±1 (ranks all 6.5),
        // 10 positive: W+ = 65, μ = 39, σ² = 12·13·25/24 − Σ(t³−t)/48 = 162.5 − 1716/48.
        let mut d = vec![1.0; 10];
        d.extend([-1.0, -1.0]);
        let w = wilcoxon_signed_rank(&d).expect("ok");
        assert!(!w.exact);
        assert_eq!(w.w_plus, 65.0);
        let sigma = (162.5f64 - 1716.0 / 48.0).sqrt();
        let want = 2.0 * (1.0 - normal_cdf((26.0 - 0.5) / sigma));
        assert!(close(w.p_value, want, 1e-12));
    }

    #[test]
    fn nearest_rank_and_median() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(nearest_rank(&v, 0.5), 2.0);
        assert_eq!(nearest_rank(&v, 0.95), 4.0);
        assert_eq!(nearest_rank(&v, 0.0), 1.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&v), 2.5);
        assert_eq!(Metric::Mean.of_sorted(&v), 2.5);
        assert_eq!(Metric::MEDIAN.key(), "median");
        assert_eq!(Metric::Percentile { percentile: 99.9 }.key(), "p999");
    }

    #[test]
    fn severity_boundaries_follow_the_issue() {
        assert_eq!(Severity::of(0.099), Severity::Small);
        assert_eq!(Severity::of(0.10), Severity::Minor);
        assert_eq!(Severity::of(-0.25), Severity::Major);
        assert_eq!(Severity::of(0.5), Severity::Critical);
    }

    /// Deterministic pseudo-latencies around `centre` with ±`spread` relative jitter.
    fn jittered(n: usize, centre: f64, spread: f64, seed: u64) -> Vec<u64> {
        let mut rng = SplitMix64::new(seed);
        (0..n)
            .map(|_| {
                let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                (centre * (1.0 + spread * (2.0 * u - 1.0))) as u64
            })
            .collect()
    }

    #[test]
    fn a_clear_slowdown_is_a_major_regression() {
        let base = jittered(200, 1_000_000.0, 0.05, 1);
        let new = jittered(200, 1_360_000.0, 0.05, 2);
        let c = compare_samples(
            &base,
            &new,
            Metric::Percentile { percentile: 95.0 },
            &Policy::default(),
        );
        assert_eq!(c.change_verdict, Change::Regression, "{c:?}");
        assert_eq!(c.severity, Some(Severity::Major));
        assert!(c.p_value.is_some_and(|p| p < 0.001));
        assert!(c.interval[0] > 0.25 && c.interval[1] < 0.5, "{c:?}");
        assert!(c.is_regression(Severity::Major));
        assert!(!c.is_regression(Severity::Critical));
    }

    #[test]
    fn the_same_distribution_is_unchanged_and_a_faster_one_improves() {
        let base = jittered(200, 1_000_000.0, 0.05, 3);
        let same = jittered(200, 1_000_000.0, 0.05, 4);
        let c = compare_samples(&base, &same, Metric::MEDIAN, &Policy::default());
        assert_eq!(c.change_verdict, Change::Unchanged, "{c:?}");
        assert_eq!(c.severity, None);
        let faster = jittered(200, 800_000.0, 0.05, 5);
        let c = compare_samples(&base, &faster, Metric::Mean, &Policy::default());
        assert_eq!(c.change_verdict, Change::Improvement, "{c:?}");
        assert_eq!(c.severity, Some(Severity::Minor));
    }

    #[test]
    fn too_few_samples_or_too_much_noise_is_inconclusive() {
        let few = compare_samples(
            &[100, 101, 99],
            &[200, 201, 199],
            Metric::MEDIAN,
            &Policy::default(),
        );
        assert_eq!(few.change_verdict, Change::Inconclusive);
        assert!(few
            .note
            .as_deref()
            .is_some_and(|n| n.contains("3 and 3 samples")));
        // A 20 % shift drowned in ±90 % jitter with 10 samples: large but unproven.
        let base = jittered(10, 1_000_000.0, 0.9, 6);
        let new = jittered(10, 1_200_000.0, 0.9, 7);
        let noisy = compare_samples(&base, &new, Metric::MEDIAN, &Policy::default());
        assert_eq!(noisy.change_verdict, Change::Inconclusive, "{noisy:?}");
    }

    #[test]
    fn paired_rounds_detect_a_consistent_ratio_and_ignore_drift() {
        // The machine drifts by ±30 % between rounds, but B is 10 % slower within each round.
        let drift = [1.0, 1.3, 0.8, 1.1, 0.9, 1.25, 0.75, 1.05, 0.95, 1.2];
        let base: Vec<f64> = drift.iter().map(|d| 100.0 * d).collect();
        let new: Vec<f64> = drift
            .iter()
            .enumerate()
            .map(|(i, d)| 112.0 * d * (1.0 + 0.004 * (i as f64 - 4.5)))
            .collect();
        let c = compare_rounds(&base, &new, Metric::MEDIAN, &Policy::default());
        assert_eq!(c.method, Method::WilcoxonSignedRank);
        assert_eq!(c.change_verdict, Change::Regression, "{c:?}");
        assert_eq!(c.severity, Some(Severity::Minor));
        assert!(close(c.change, 0.12, 0.01), "{c:?}");
        assert!(close(c.p_value.expect("p"), 2.0 / 1024.0, 1e-12));
        let same = compare_rounds(&base, &base, Metric::MEDIAN, &Policy::default());
        assert_eq!(same.change_verdict, Change::Unchanged);
        let short = compare_rounds(&base[..4], &new[..4], Metric::MEDIAN, &Policy::default());
        assert_eq!(short.change_verdict, Change::Inconclusive);
    }

    #[test]
    fn the_walsh_interval_is_the_signed_rank_tests_with_its_exact_coverage() {
        let v: Vec<f64> = (1..=25).map(f64::from).collect();
        // n = 6: only [min, max] (C = 1) reaches 95 %: 1 − 2/64.
        assert_eq!(
            walsh_interval(&v[..6], 0.95),
            Some((1.0, 6.0, 1.0 - 2.0 / 64.0))
        );
        // n = 8: P(W⁺ ≤ 3) = 5/256, P(W⁺ ≤ 4) = 7/256: C = 4 of 36 Walsh averages.
        let (lo, hi, coverage) = walsh_interval(&v[..8], 0.95).expect("interval");
        let w = walsh_averages(&v[..8]);
        assert_eq!((lo, hi), (w[3], w[32]));
        assert!(close(coverage, 1.0 - 10.0 / 256.0, 1e-12));
        // n = 10 and 20: the tables' critical values 8 and 52, so C = 9 and 53.
        let (lo, _, coverage) = walsh_interval(&v[..10], 0.95).expect("interval");
        assert_eq!(lo, walsh_averages(&v[..10])[8]);
        assert!(close(coverage, 1.0 - 50.0 / 1024.0, 1e-12));
        let (lo, hi, coverage) = walsh_interval(&v[..20], 0.95).expect("interval");
        let w = walsh_averages(&v[..20]);
        assert_eq!((lo, hi), (w[52], w[210 - 53]));
        assert!(close(coverage, 1.0 - 2.0 * 25_397.0 / 1_048_576.0, 1e-12));
        // Too few values for 95 %: [min, max] with what coverage they have.
        assert_eq!(walsh_interval(&v[..3], 0.95), Some((1.0, 3.0, 0.75)));
        assert_eq!(walsh_interval(&[], 0.95), None);
        // The Hodges–Lehmann estimate: the median of the Walsh averages.
        // [1, 2, 9]: Walsh averages 1, 1.5, 2, 5, 5.5, 9.
        assert_eq!(hodges_lehmann(&[1.0, 2.0, 9.0]), 3.5);
        assert!(close(normal_quantile(0.975), 1.959_964, 1e-5));
    }

    #[test]
    fn six_close_rounds_settle_unchanged_and_one_far_round_does_not() {
        let base = [100.0; 6];
        let close_rounds = [101.0, 99.0, 102.0, 100.5, 98.5, 101.5];
        let c = compare_rounds(&base, &close_rounds, Metric::MEDIAN, &Policy::default());
        assert_eq!(c.change_verdict, Change::Unchanged, "{c:?}");
        assert!(close(c.interval[0], -0.015, 1e-9) && close(c.interval[1], 0.02, 1e-9));
        assert!(c
            .note
            .as_deref()
            .is_some_and(|n| n.contains("settled after 6 rounds")));
        let far = [101.0, 99.0, 102.0, 100.5, 98.5, 108.0];
        let c = compare_rounds(&base, &far, Metric::MEDIAN, &Policy::default());
        assert_eq!(c.change_verdict, Change::Inconclusive, "{c:?}");
        // Five rounds are never enough to settle.
        let c = compare_rounds(
            &base[..5],
            &close_rounds[..5],
            Metric::MEDIAN,
            &Policy::default(),
        );
        assert_eq!(c.change_verdict, Change::Inconclusive, "{c:?}");
    }

    #[test]
    fn counts_are_gated_exactly() {
        let c = compare_exact("queries", 10, 11);
        assert_eq!(c.change_verdict, Change::Regression);
        assert_eq!(c.severity, Some(Severity::Minor));
        assert_eq!(
            compare_exact("queries", 10, 10).change_verdict,
            Change::Unchanged
        );
        assert_eq!(
            compare_exact("queries", 10, 9).change_verdict,
            Change::Improvement
        );
    }

    #[test]
    fn comparisons_survive_a_json_round_trip() {
        let c = Comparison::not_compared(Metric::MEDIAN, "new test");
        let text = serde_json::to_string(&c).expect("serializes");
        let back: Comparison = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, c);
        let c = compare_exact("queries", 0, 3);
        assert_eq!(c.change, 3.0);
        let back: Comparison =
            serde_json::from_str(&serde_json::to_string(&c).expect("json")).expect("reads");
        assert_eq!(back, c);
        let zero = compare_samples(&[0; 10], &[5; 10], Metric::MEDIAN, &Policy::default());
        assert_eq!(zero.change_verdict, Change::NotCompared);
    }

    fn judged(change: f64, verdict: Change, within: f64) -> Comparison {
        Comparison {
            method: Method::MannWhitneyU,
            metric: "median".into(),
            base: 100.0,
            new: 100.0 * (1.0 + change),
            unit: Unit::Nanoseconds,
            change,
            interval: [change - within, change + within],
            p_value: Some(0.0001),
            noise_floor: within,
            run_to_run_floor: None,
            base_n: 20,
            new_n: 20,
            change_verdict: verdict,
            severity: matches!(verdict, Change::Regression | Change::Improvement)
                .then(|| Severity::of(change)),
            note: None,
        }
    }

    #[test]
    fn the_within_run_floor_is_the_side_of_the_interval_towards_zero() {
        // Symmetric: half the width, either sign.
        assert_eq!(within_run_floor(0.25, (0.125, 0.375)), 0.125);
        assert_eq!(within_run_floor(-0.25, (-0.375, -0.125)), 0.125);
        // Skewed to the right (a bimodal benchmark beside busy processes, from a CI run):
        // +400 % with [+399.97 %, +1957 %] is far from noise, though half the width is 778 %.
        let floor = within_run_floor(4.006_036_506, (3.999_720_680, 19.571_741_702));
        assert!((floor - 0.006_315_826).abs() < 1e-9, "{floor}");
        let policy = Policy::default();
        let judged = |change, interval| decide(change, interval, 1e-6, true, &policy).0;
        assert_eq!(judged(4.006, (3.9997, 19.5717)), Change::Regression);
        // An interval that reaches past zero is noise however narrow its other side.
        assert_eq!(within_run_floor(0.5, (-0.25, 0.5)), 0.75);
        assert_eq!(judged(0.5, (-0.25, 0.5)), Change::Inconclusive);
        assert_eq!(judged(-0.5, (-0.5, 0.25)), Change::Inconclusive);
        // A point estimate outside its own interval has no room towards zero left to erase.
        assert_eq!(within_run_floor(0.2, (0.25, 0.5)), 0.0);
        assert_eq!(within_run_floor(f64::NAN, (0.25, 0.5)), 0.125);
    }

    #[test]
    fn a_run_to_run_floor_above_the_change_makes_a_flagged_change_inconclusive() {
        // +20 % with a ±3 % interval: a minor regression until the test's runs differ by ±30 %.
        let mut c = judged(0.20, Change::Regression, 0.03);
        assert!(c.raise_floor(0.30));
        assert_eq!(c.change_verdict, Change::Inconclusive);
        assert_eq!(c.severity, None);
        assert_eq!((c.noise_floor, c.run_to_run_floor), (0.30, Some(0.30)));
        // A floor below the within-run one does not decide and changes no verdict.
        let mut c = judged(0.20, Change::Regression, 0.03);
        assert!(!c.raise_floor(0.02));
        assert_eq!(c.change_verdict, Change::Regression);
        assert_eq!(c.severity, Some(Severity::Minor));
        assert_eq!((c.noise_floor, c.run_to_run_floor), (0.03, Some(0.02)));
        // Above the within-run floor but below the change: it decides, the verdict stands.
        let mut c = judged(0.20, Change::Regression, 0.03);
        assert!(c.raise_floor(0.12));
        assert_eq!(c.change_verdict, Change::Regression);
        assert_eq!(c.noise_floor, 0.12);
        // Exactly the floor is not larger than it; improvements are treated alike.
        let mut c = judged(-0.25, Change::Improvement, 0.03);
        assert!(c.raise_floor(0.25));
        assert_eq!(c.change_verdict, Change::Inconclusive);
        // It never turns another verdict into a flag.
        let mut c = judged(0.01, Change::Unchanged, 0.03);
        c.raise_floor(0.5);
        assert_eq!(c.change_verdict, Change::Unchanged);
        let mut c = judged(0.40, Change::Inconclusive, 0.5);
        c.raise_floor(0.1);
        assert_eq!(c.change_verdict, Change::Inconclusive);
    }

    #[test]
    fn formatting() {
        assert_eq!(format_p(0.0004), "p < 0.001");
        assert_eq!(format_p(0.0123), "p = 0.012");
        assert_eq!(format_change(0.3632), "+36.3 %");
        assert_eq!(format_change(-0.041), "-4.1 %");
    }
}
