//! Paired mode for a tail percentile that one round measures from too few samples.
//!
//! The p95 of a 60-sample round is its third-slowest call, i.e. whichever call a preemption hit:
//! on a busy 2-core machine its per-round log ratio spreads about 0.6 against 0.08 for the
//! median, so the signed-rank test on per-round p95 ratios missed most 10 % slowdowns. When a
//! round has fewer than [`MIN_TAIL_SAMPLES`] samples above the percentile, the comparison:
//! - takes its significance from the Wilcoxon signed-rank test on the per-round ratios of the
//!   medians (paired, drift-cancelling, robust: a slower build is slower in the bulk too);
//! - reports the change of the percentile itself over all rounds' samples pooled (1 200 samples
//!   for 20 rounds of 60: the p95 rests on 60 calls, not 3), with a 95 % interval from a
//!   bootstrap over rounds (the same rounds drawn for both builds, so the pairing is kept);
//! - calls it a regression (improvement) only when the pooled percentile and the medians moved
//!   the same way, the change is at least the minimum effect and beyond that interval's noise
//!   floor. A change in the tail alone, with the bulk unchanged, is therefore *inconclusive*,
//!   never a false alarm.

use super::{
    decide, finish, median, wilcoxon_signed_rank, Change, Comparison, Method, Metric, Policy,
    SplitMix64,
};

/// Fewest samples per round above the percentile for the per-round percentile to be judged.
pub const MIN_TAIL_SAMPLES: f64 = 10.0;

/// Whether `metric` over rounds of `n` samples rests on fewer than [`MIN_TAIL_SAMPLES`] samples.
pub fn thin_tail(metric: Metric, n: usize) -> bool {
    match metric {
        Metric::Percentile { percentile } => {
            percentile > 50.0 && (n as f64) * (1.0 - percentile / 100.0) < MIN_TAIL_SAMPLES
        }
        Metric::Mean => false,
    }
}

/// Nearest-rank quantile `q` of unsorted values (reorders them); NaN when empty.
fn quantile_unsorted(values: &mut [f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let n = values.len();
    let rank = ((q.clamp(0.0, 1.0) * n as f64).ceil() as usize).clamp(1, n) - 1;
    let (_, v, _) = values.select_nth_unstable_by(rank, f64::total_cmp);
    *v
}

/// Paired mode on each round's raw samples (`base[i]`, `new[i]`: round `i` of each build, in
/// nanoseconds). A statistic with enough samples per round is judged round by round
/// ([`super::compare_rounds`]); a thin tail as the module explains.
pub fn compare_round_samples(
    base: &[Vec<f64>],
    new: &[Vec<f64>],
    metric: Metric,
    policy: &Policy,
) -> Comparison {
    let rounds: Vec<(Vec<f64>, Vec<f64>)> = base
        .iter()
        .zip(new)
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .map(|(a, b)| {
            let (mut a, mut b) = (a.clone(), b.clone());
            a.sort_by(f64::total_cmp);
            b.sort_by(f64::total_cmp);
            (a, b)
        })
        .collect();
    let Some(fewest) = rounds.iter().map(|(a, b)| a.len().min(b.len())).min() else {
        return Comparison::not_compared(metric, "no round measured both builds");
    };
    if !thin_tail(metric, fewest) {
        let (a, b): (Vec<f64>, Vec<f64>) = rounds
            .iter()
            .map(|(a, b)| (metric.of_sorted(a), metric.of_sorted(b)))
            .unzip();
        return super::compare_rounds(&a, &b, metric, policy);
    }
    let q = match metric {
        Metric::Percentile { percentile } => percentile / 100.0,
        Metric::Mean => unreachable!("thin_tail is false for the mean"),
    };
    let logs: Vec<f64> = rounds
        .iter()
        .map(|(a, b)| (Metric::MEDIAN.of_sorted(b) / Metric::MEDIAN.of_sorted(a)).ln())
        .filter(|l| l.is_finite())
        .collect();
    let p_value = wilcoxon_signed_rank(&logs).map_or(1.0, |w| w.p_value);
    let bulk_shift = median(&logs);

    let mut buf = Vec::new();
    let mut pooled_change = |picks: &mut dyn Iterator<Item = usize>| -> (f64, f64) {
        let picks: Vec<usize> = picks.collect();
        buf.clear();
        buf.extend(picks.iter().flat_map(|&i| rounds[i].0.iter().copied()));
        let a = quantile_unsorted(&mut buf, q);
        buf.clear();
        buf.extend(picks.iter().flat_map(|&i| rounds[i].1.iter().copied()));
        let b = quantile_unsorted(&mut buf, q);
        (a, b)
    };
    let (base_v, new_v) = pooled_change(&mut (0..rounds.len()));
    let change = new_v / base_v - 1.0;
    let mut rng = SplitMix64::new(0x900d_ba5e_d00d);
    let mut changes: Vec<f64> = (0..policy.resamples)
        .map(|_| {
            let n = rounds.len();
            let mut picks = (0..n).map(|_| rng.below(n)).collect::<Vec<_>>().into_iter();
            let (a, b) = pooled_change(&mut picks);
            b / a - 1.0
        })
        .collect();
    changes.sort_by(f64::total_cmp);
    let interval = if changes.is_empty() {
        (f64::NAN, f64::NAN)
    } else {
        (
            super::nearest_rank(&changes, 0.025),
            super::nearest_rank(&changes, 0.975),
        )
    };
    let enough = logs.len() >= policy.min_rounds;
    let (mut verdict, noise_floor) = decide(change, interval, p_value, enough, policy);
    let key = metric.key();
    // The nearest rank of the percentile in one round, counted from the slowest call.
    let rank = ((q * fewest as f64).ceil() as usize).clamp(1, fewest);
    let nth = fewest - rank + 1;
    let mut note = if enough {
        format!(
            "the {key} of a round of {fewest} samples is its slowest call #{nth}: significance \
             from the per-round medians, change of the {key} of all rounds pooled"
        )
    } else {
        format!(
            "{} rounds; at least {} are needed",
            logs.len(),
            policy.min_rounds
        )
    };
    if matches!(verdict, Change::Regression | Change::Improvement) && bulk_shift * change <= 0.0 {
        verdict = Change::Inconclusive;
        note = format!(
            "the {key} moved {} but the per-round medians did not follow ({:+.1} %)",
            super::format_change(change),
            (bulk_shift.exp() - 1.0) * 100.0
        );
    }
    finish(
        Method::WilcoxonSignedRank,
        metric,
        (base_v, new_v, change),
        interval,
        Some(p_value),
        noise_floor,
        (logs.len(), logs.len()),
        verdict,
        Some(note),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{compare_rounds, Severity};

    const P95: Metric = Metric::Percentile { percentile: 95.0 };

    /// Round `i`: the values 1..=n (microseconds) scaled by the machine's drift in that round.
    fn rounds(n: usize, drift: &[f64], scale: impl Fn(usize, usize) -> f64) -> Vec<Vec<f64>> {
        drift
            .iter()
            .enumerate()
            .map(|(i, d)| {
                (1..=n)
                    .map(|k| k as f64 * 1_000.0 * d * scale(i, k))
                    .collect()
            })
            .collect()
    }

    const DRIFT: [f64; 10] = [1.0, 1.3, 0.8, 1.1, 0.9, 1.25, 0.75, 1.05, 0.95, 1.2];

    #[test]
    fn thin_tails_are_those_with_fewer_than_ten_samples_above_the_percentile() {
        assert!(thin_tail(P95, 60));
        assert!(thin_tail(P95, 199));
        assert!(!thin_tail(P95, 200));
        assert!(!thin_tail(Metric::MEDIAN, 10));
        assert!(!thin_tail(Metric::Mean, 10));
        assert!(thin_tail(Metric::Percentile { percentile: 99.0 }, 999));
    }

    #[test]
    fn pooled_quantile_is_the_nearest_rank() {
        let mut v = vec![5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(quantile_unsorted(&mut v, 0.95), 5.0);
        assert_eq!(quantile_unsorted(&mut v, 0.5), 3.0);
        assert_eq!(quantile_unsorted(&mut v, 0.2), 1.0);
        assert!(quantile_unsorted(&mut [], 0.5).is_nan());
    }

    #[test]
    fn a_ten_percent_slower_build_is_caught_on_a_thin_p95() {
        let base = rounds(60, &DRIFT, |_, _| 1.0);
        // 10 % slower, with a small per-round wobble so the signed ranks are untied.
        let new = rounds(60, &DRIFT, |i, _| 1.10 * (1.0 + 0.001 * i as f64));
        let c = compare_round_samples(&base, &new, P95, &Policy::default());
        assert_eq!(c.method, Method::WilcoxonSignedRank);
        assert_eq!(c.change_verdict, Change::Regression, "{c:?}");
        assert_eq!(c.severity, Some(Severity::Minor));
        // All ten round ratios above 1: the exact two-sided p is 2 / 2^10.
        assert!((c.p_value.expect("p") - 2.0 / 1024.0).abs() < 1e-12);
        // Pooled p95 of 600 samples: rank 570. Base: the 570th of the values k·1000·drift.
        let mut pooled: Vec<f64> = base.concat();
        pooled.sort_by(f64::total_cmp);
        assert_eq!(c.base_ns, pooled[569]);
        assert!(c.change > 0.10 && c.change < 0.11, "{c:?}");
        assert_eq!((c.base_n, c.new_n), (10, 10));
        assert!(c
            .note
            .as_deref()
            .is_some_and(|n| n.contains("slowest call #4")));
        // The same build on both sides is unchanged, exactly.
        let same = compare_round_samples(&base, &base, P95, &Policy::default());
        assert_eq!(same.change_verdict, Change::Unchanged);
        assert_eq!(same.change, 0.0);
        assert_eq!(same.interval, [0.0, 0.0]);
    }

    #[test]
    fn a_tail_that_moves_against_the_bulk_is_inconclusive() {
        let drift = [1.0, 1.01, 0.99, 1.02, 0.98, 1.0, 1.01, 0.99, 1.02, 0.98];
        let base = rounds(60, &drift, |_, _| 1.0);
        // The bulk 10 % faster, the four slowest calls of every round (p95 is the 4th) 30 % slower.
        let new = rounds(60, &drift, |i, k| {
            (if k > 56 { 1.3 } else { 0.9 }) * (1.0 + 0.001 * i as f64)
        });
        let c = compare_round_samples(&base, &new, P95, &Policy::default());
        assert!(c.change > 0.2, "{c:?}");
        assert_eq!(c.change_verdict, Change::Inconclusive, "{c:?}");
        assert!(c
            .note
            .as_deref()
            .is_some_and(|n| n.contains("did not follow")));
    }

    #[test]
    fn enough_samples_per_round_are_judged_round_by_round() {
        let base = rounds(400, &DRIFT, |_, _| 1.0);
        let new = rounds(400, &DRIFT, |i, _| 1.12 * (1.0 + 0.004 * i as f64));
        let c = compare_round_samples(&base, &new, P95, &Policy::default());
        let per_round =
            |r: &[Vec<f64>]| -> Vec<f64> { r.iter().map(|v| P95.of_sorted(v)).collect() };
        let direct = compare_rounds(&per_round(&base), &per_round(&new), P95, &Policy::default());
        assert_eq!(c, direct);
        assert_eq!(c.change_verdict, Change::Regression);
        assert!(
            compare_round_samples(&[], &[], P95, &Policy::default()).change_verdict
                == Change::NotCompared
        );
    }
}
