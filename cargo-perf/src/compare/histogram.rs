//! Baseline mode for load tests, whose records keep HDR histograms of their iterations instead
//! of every sample (a load test may run millions of iterations).
//!
//! Why Mann-Whitney U on the histogram's buckets: a histogram with 3 significant digits is the
//! samples rounded to their bucket's value, so ranking bucket values with their counts as tied
//! ranks is *exactly* Mann-Whitney U (with the tie correction) on those rounded samples, the same
//! test the other perf tests get in baseline mode, in O(buckets) instead of O(n log n). A
//! bootstrap of the percentile over the histogram would be approximate and cost a resample of
//! every iteration 2 000 times. The interval of the change is distribution-free instead: for a
//! percentile, each side's order-statistic interval (binomial ranks n·q ± 1.96·√(n·q·(1−q)))
//! combined into the widest ratio (conservative); for the mean, mean ± 1.96·sd/√n per side.
//! Iterations of one load test are not independent (the users share one server), so the p-value
//! is optimistic; the minimum effect and the noise floor still apply, and paired mode (round
//! ratios) is the robust gate for load tests as for every other kind.

use hdrhistogram::Histogram;

use super::{
    decide, finish, normal_cdf, Comparison, ComparisonExt, MannWhitney, Method, Metric, Policy,
};

/// The recorded buckets of `h`: (value, count), ascending; a bucket's value is the highest value
/// equivalent to it (HdrHistogram's convention for percentiles).
pub fn buckets(h: &Histogram<u64>) -> Vec<(u64, u64)> {
    h.iter_recorded()
        .map(|v| {
            (
                h.highest_equivalent(v.value_iterated_to()),
                v.count_at_value(),
            )
        })
        .collect()
}

/// Mann-Whitney U of `base` against `new` given as (value, count) buckets (ascending or not):
/// each bucket is a group of tied values. Equal to `mann_whitney_u` on the expanded samples.
pub fn mann_whitney_counts(base: &[(u64, u64)], new: &[(u64, u64)]) -> Option<MannWhitney> {
    let n1: u64 = base.iter().map(|b| b.1).sum();
    let n2: u64 = new.iter().map(|b| b.1).sum();
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut all: Vec<(u64, u64, u64)> = base
        .iter()
        .map(|&(v, c)| (v, c, 0))
        .chain(new.iter().map(|&(v, c)| (v, 0, c)))
        .filter(|&(_, a, b)| a + b > 0)
        .collect();
    all.sort_unstable_by_key(|t| t.0);
    let (mut below, mut r_new, mut ties) = (0f64, 0f64, 0f64);
    let mut i = 0;
    while i < all.len() {
        let value = all[i].0;
        let (mut ca, mut cb) = (0f64, 0f64);
        while i < all.len() && all[i].0 == value {
            ca += all[i].1 as f64;
            cb += all[i].2 as f64;
            i += 1;
        }
        let t = ca + cb;
        // Ranks below+1 ..= below+t share their average.
        r_new += cb * (below + (t + 1.0) / 2.0);
        ties += t * t * t - t;
        below += t;
    }
    let (n1, n2) = (n1 as f64, n2 as f64);
    let u = r_new - n2 * (n2 + 1.0) / 2.0;
    let n = n1 + n2;
    let var = n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)));
    if var <= 0.0 {
        return Some(MannWhitney {
            u,
            z: 0.0,
            p_value: 1.0,
        });
    }
    let diff = u - n1 * n2 / 2.0;
    let corrected = (diff.abs() - 0.5).max(0.0) * diff.signum();
    let z = corrected / var.sqrt();
    let p_value = (2.0 * (1.0 - normal_cdf(z.abs()))).min(1.0);
    Some(MannWhitney { u, z, p_value })
}

/// The value at 1-based `rank` of the buckets (clamped to 1..=n).
fn at_rank(buckets: &[(u64, u64)], rank: f64) -> f64 {
    let n: u64 = buckets.iter().map(|b| b.1).sum();
    let rank = (rank.max(1.0) as u64).min(n);
    let mut seen = 0;
    for &(v, c) in buckets {
        seen += c;
        if seen >= rank {
            return v as f64;
        }
    }
    f64::NAN
}

/// 95 % distribution-free interval of `metric` of one histogram.
fn interval_of(h: &Histogram<u64>, b: &[(u64, u64)], metric: Metric) -> (f64, f64) {
    let n = h.len() as f64;
    match metric {
        Metric::Mean => {
            let half = 1.96 * h.stdev() / n.sqrt();
            (h.mean() - half, h.mean() + half)
        }
        Metric::Percentile { percentile } => {
            let q = percentile / 100.0;
            let half = 1.96 * (n * q * (1.0 - q)).sqrt();
            (
                at_rank(b, (n * q - half).floor()),
                at_rank(b, (n * q + half).ceil()),
            )
        }
    }
}

/// `metric` of a histogram as the reports show it (`value_at_quantile`, capped at the maximum).
pub fn metric_of(h: &Histogram<u64>, metric: Metric) -> f64 {
    match metric {
        Metric::Mean => h.mean(),
        Metric::Percentile { percentile } => {
            h.value_at_quantile(percentile / 100.0).min(h.max()) as f64
        }
    }
}

/// Baseline mode on two histograms of nanoseconds (e.g. a load test's iterations).
pub fn compare_histograms(
    base: &Histogram<u64>,
    new: &Histogram<u64>,
    metric: Metric,
    policy: &Policy,
) -> Comparison {
    if base.is_empty() || new.is_empty() {
        return Comparison::not_compared(metric, "no iterations on one side");
    }
    let (base_v, new_v) = (metric_of(base, metric), metric_of(new, metric));
    let change = new_v / base_v - 1.0;
    if !change.is_finite() {
        return Comparison::not_compared(metric, "the baseline's value is zero");
    }
    let (bb, nb) = (buckets(base), buckets(new));
    let p_value = mann_whitney_counts(&bb, &nb).map_or(1.0, |m| m.p_value);
    let (b_lo, b_hi) = interval_of(base, &bb, metric);
    let (n_lo, n_hi) = interval_of(new, &nb, metric);
    let interval = if b_lo > 0.0 && b_hi > 0.0 {
        (n_lo / b_hi - 1.0, n_hi / b_lo - 1.0)
    } else {
        (f64::NAN, f64::NAN)
    };
    let (n1, n2) = (base.len() as usize, new.len() as usize);
    let enough = n1 >= policy.min_samples && n2 >= policy.min_samples;
    let (verdict, noise_floor) = decide(change, interval, p_value, enough, policy);
    let note = (!enough).then(|| {
        format!(
            "{n1} and {n2} iterations; at least {} per side are needed",
            policy.min_samples
        )
    });
    finish(
        Method::MannWhitneyU,
        metric,
        (base_v, new_v, change),
        interval,
        Some(p_value),
        noise_floor,
        (n1, n2),
        verdict,
        note,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{mann_whitney_u, Change, Severity};
    use perf_schema::histogram::histogram_of;

    fn expand(b: &[(u64, u64)]) -> Vec<f64> {
        b.iter()
            .flat_map(|&(v, c)| std::iter::repeat_n(v as f64, c as usize))
            .collect()
    }

    #[test]
    fn counts_as_tied_ranks_equal_the_test_on_expanded_samples() {
        let base = [(10, 3), (20, 5), (30, 2), (40, 1)];
        let new = [(20, 2), (30, 4), (40, 3), (50, 2)];
        let by_counts = mann_whitney_counts(&base, &new).expect("both sides");
        let direct = mann_whitney_u(&expand(&base), &expand(&new)).expect("both sides");
        assert!(
            (by_counts.u - direct.u).abs() < 1e-9,
            "{by_counts:?} {direct:?}"
        );
        assert!((by_counts.z - direct.z).abs() < 1e-12);
        assert!((by_counts.p_value - direct.p_value).abs() < 1e-12);
        // Textbook: complete separation of 3 and 3 values gives U = 9 for the larger side.
        let sep = mann_whitney_counts(&[(1, 1), (2, 1), (3, 1)], &[(4, 1), (5, 1), (6, 1)]);
        assert_eq!(sep.expect("both").u, 9.0);
        assert!(mann_whitney_counts(&[], &new).is_none());
        let flat = mann_whitney_counts(&[(7, 4)], &[(7, 9)]).expect("both");
        assert_eq!(flat.p_value, 1.0);
    }

    #[test]
    fn histogram_buckets_read_back_the_recorded_values() {
        let h = histogram_of(&[1_000, 1_000, 2_000, 5_000]);
        let he = |v| h.highest_equivalent(v);
        assert_eq!(buckets(&h), vec![(1_000, 2), (2_000, 1), (he(5_000), 1)]);
        assert_eq!(at_rank(&buckets(&h), 3.0), 2_000.0);
        assert_eq!(at_rank(&buckets(&h), 0.0), 1_000.0);
        assert_eq!(at_rank(&buckets(&h), 99.0), he(5_000) as f64);
    }

    /// 1 000 iterations: 100 each of 10 values from `start` in steps of 1 ms.
    fn iterations(start_ms: u64) -> Histogram<u64> {
        let v: Vec<u64> = (0..1_000u64)
            .map(|i| (start_ms + i % 10) * 1_000_000)
            .collect();
        histogram_of(&v)
    }

    #[test]
    fn a_slower_load_test_is_a_regression_and_the_same_one_is_unchanged() {
        let p95 = Metric::Percentile { percentile: 95.0 };
        let (base, slow) = (iterations(10), iterations(14));
        let c = compare_histograms(&base, &slow, p95, &Policy::default());
        // p95 of 10..=19 ms is 19 ms; of 14..=23 ms it is 23 ms (each as its bucket's value).
        let (b19, n23) = (
            base.highest_equivalent(19_000_000) as f64,
            slow.highest_equivalent(23_000_000) as f64,
        );
        assert_eq!((c.base, c.new), (b19, n23));
        let exact = n23 / b19 - 1.0;
        assert!((c.change - exact).abs() < 1e-15);
        assert_eq!(c.change_verdict, Change::Regression, "{c:?}");
        assert_eq!(c.severity, Some(Severity::Minor));
        assert_eq!(c.method, Method::MannWhitneyU);
        assert!(c.p_value.expect("p") < 1e-6);
        assert_eq!((c.base_n, c.new_n), (1_000, 1_000));
        // The order-statistic interval of p95 at n = 1000: ranks 950 ± 13.5 → 936 and 964, both
        // inside the top value's 100 iterations (ranks 901..=1000): the interval is the point.
        assert_eq!(c.interval, [exact, exact]);

        let same = compare_histograms(&base, &iterations(10), p95, &Policy::default());
        assert_eq!(same.change_verdict, Change::Unchanged);
        assert!(same.p_value.expect("p") > 0.999, "{same:?}");

        let mean = compare_histograms(&base, &slow, Metric::Mean, &Policy::default());
        assert!((mean.change - 4.0 / 14.5).abs() < 1e-3, "{mean:?}");
        assert_eq!(mean.change_verdict, Change::Regression);

        let few = compare_histograms(
            &histogram_of(&[1_000, 2_000]),
            &histogram_of(&[3_000, 4_000]),
            p95,
            &Policy::default(),
        );
        assert_eq!(few.change_verdict, Change::Inconclusive);
        assert!(few
            .note
            .as_deref()
            .is_some_and(|n| n.contains("2 and 2 iterations")));
        let empty = compare_histograms(&base, &histogram_of(&[]), p95, &Policy::default());
        assert_eq!(empty.change_verdict, Change::NotCompared);
    }
}
