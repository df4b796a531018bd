//! Paired mode for a tail percentile that one round measures from too few samples.
//!
//! The p95 of a 60-sample round is its 4th-slowest call, i.e. whichever call a preemption hit:
//! on a busy 2-core machine its per-round log ratio spreads about 0.6 against 0.08 for the
//! median, so the signed-rank test on per-round p95 ratios missed most 10 % slowdowns. Pooling
//! every round's samples does not rescue it: the pooled p95 sits where the preempted calls
//! begin, so it measures how busy the machine was during each build's turns (measured: a 10 %
//! slowdown came out between −3 % and +30 %, interval ±10–19 %). When a round has fewer than
//! [`MIN_TAIL_SAMPLES`] samples above the percentile, the comparison therefore:
//! - is **judged on the median** (labelled so: metric `median`): the Wilcoxon signed-rank test
//!   on the per-round median ratios, paired and drift-cancelling, its change and interval;
//! - **reports the percentile** in the note: its change over all rounds' samples pooled, with a
//!   95 % interval from a bootstrap over rounds (the same rounds for both builds);
//! - is *inconclusive* when that interval lies entirely on the other side of the median's
//!   verdict (the tail provably moved against the bulk).
//!
//! With enough samples per round the percentile is judged round by round as usual. Baseline
//! mode applies the same rule to each run's samples ([`compare_samples`]).

use super::{Change, Comparison, ComparisonExt, Metric, Policy, SplitMix64};

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
    // The verdict: the per-round medians, round by round.
    let (a, b): (Vec<f64>, Vec<f64>) = rounds
        .iter()
        .map(|(a, b)| (Metric::MEDIAN.of_sorted(a), Metric::MEDIAN.of_sorted(b)))
        .unzip();
    let mut c = super::compare_rounds(&a, &b, Metric::MEDIAN, policy);

    // The percentile itself, reported: all rounds' samples pooled, interval over rounds.
    let mut buf = Vec::new();
    let mut pooled = |picks: &[usize]| -> f64 {
        buf.clear();
        buf.extend(picks.iter().flat_map(|&i| rounds[i].0.iter().copied()));
        let a = quantile_unsorted(&mut buf, q);
        buf.clear();
        buf.extend(picks.iter().flat_map(|&i| rounds[i].1.iter().copied()));
        let b = quantile_unsorted(&mut buf, q);
        b / a - 1.0
    };
    let n = rounds.len();
    let all: Vec<usize> = (0..n).collect();
    let tail_change = pooled(&all);
    let mut rng = SplitMix64::new(0x900d_ba5e_d00d);
    let mut picks = vec![0; n];
    let mut changes: Vec<f64> = (0..policy.resamples)
        .map(|_| {
            picks.iter_mut().for_each(|p| *p = rng.below(n));
            pooled(&picks)
        })
        .collect();
    changes.sort_by(f64::total_cmp);
    let (lo, hi) = if changes.is_empty() {
        (f64::NAN, f64::NAN)
    } else {
        (
            super::nearest_rank(&changes, 0.025),
            super::nearest_rank(&changes, 0.975),
        )
    };
    thin_tail_verdict(
        &mut c,
        metric,
        fewest,
        (tail_change, lo, hi),
        "of all rounds pooled",
    );
    c
}

/// Baseline mode on raw samples (nanoseconds): [`super::compare_samples`], except that a thin
/// tail (fewer than [`MIN_TAIL_SAMPLES`] samples above the percentile on a side) is judged on the
/// median, with the percentile's change and bootstrap interval in the note, as in paired mode.
pub fn compare_samples(base: &[u64], new: &[u64], metric: Metric, policy: &Policy) -> Comparison {
    if !thin_tail(metric, base.len().min(new.len())) {
        return super::compare_samples(base, new, metric, policy);
    }
    let mut c = super::compare_samples(base, new, Metric::MEDIAN, policy);
    if c.change_verdict == Change::NotCompared {
        return c;
    }
    let sorted = |v: &[u64]| {
        let mut s: Vec<f64> = v.iter().map(|&x| x as f64).collect();
        s.sort_by(f64::total_cmp);
        s
    };
    let (a, b) = (sorted(base), sorted(new));
    let tail_change = metric.of_sorted(&b) / metric.of_sorted(&a) - 1.0;
    let (lo, hi) = super::bootstrap_change(&a, &b, metric, policy.resamples);
    let fewest = a.len().min(b.len());
    thin_tail_verdict(
        &mut c,
        metric,
        fewest,
        (tail_change, lo, hi),
        "of all samples",
    );
    c
}

/// Labels a median verdict standing in for a thin `metric`, or makes it inconclusive when the
/// percentile's interval (`tail`: change, low, high) lies entirely against it.
fn thin_tail_verdict(
    c: &mut Comparison,
    metric: Metric,
    fewest: usize,
    (change, lo, hi): (f64, f64, f64),
    over: &str,
) {
    let key = metric.key();
    let q = match metric {
        Metric::Percentile { percentile } => percentile / 100.0,
        Metric::Mean => 0.5,
    };
    // The nearest rank of the percentile among `fewest` samples, counted from the slowest.
    let rank = ((q * fewest as f64).ceil() as usize).clamp(1, fewest.max(1));
    let nth = fewest + 1 - rank.min(fewest);
    let tail = format!(
        "{key} {over} {} ({} to {})",
        super::format_change(change),
        super::format_change(lo),
        super::format_change(hi)
    );
    let against = match c.change_verdict {
        Change::Regression => hi < 0.0,
        Change::Improvement => lo > 0.0,
        _ => false,
    };
    if against {
        c.change_verdict = Change::Inconclusive;
        c.severity = None;
        c.lead_note(format!(
            "the medians moved {} but the {tail}",
            super::format_change(c.change)
        ));
    } else {
        c.lead_note(format!(
            "judged on the median: the {key} of {fewest} samples is the slowest call #{nth}; {tail}"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{compare_rounds, Method, Severity};

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
    fn a_ten_percent_slower_build_is_caught_on_a_thin_p95_by_its_medians() {
        let base = rounds(60, &DRIFT, |_, _| 1.0);
        // 10 % slower, with a small per-round wobble so the signed ranks are untied.
        let new = rounds(60, &DRIFT, |i, _| 1.10 * (1.0 + 0.001 * i as f64));
        let c = compare_round_samples(&base, &new, P95, &Policy::default());
        assert_eq!(c.method, Method::WilcoxonSignedRank);
        assert_eq!(c.metric, "median");
        assert_eq!(c.change_verdict, Change::Regression, "{c:?}");
        assert_eq!(c.severity, Some(Severity::Minor));
        // All ten round ratios above 1: the exact two-sided p is 2 / 2^10.
        assert!((c.p_value.expect("p") - 2.0 / 1024.0).abs() < 1e-12);
        // The Hodges–Lehmann estimate of ten nearly evenly spaced log ratios: their centre, the
        // ratio of round 4.5 (exact for an arithmetic sequence; the logs bend by < 1e-5 here).
        let centre = 1.10 * 1.0045 - 1.0;
        assert!((c.change - centre).abs() < 1e-5, "{c:?}");
        assert_eq!((c.base_n, c.new_n), (10, 10));
        let note = c.note.as_deref().unwrap_or_default();
        assert!(
            note.contains("judged on the median: the p95 of 60 samples is the slowest call #4; p95 of all rounds pooled +10."),
            "{note}"
        );
        // The same build on both sides is unchanged, exactly, the p95 too.
        let same = compare_round_samples(&base, &base, P95, &Policy::default());
        assert_eq!(same.change_verdict, Change::Unchanged);
        assert_eq!(same.change, 0.0);
        assert!(same
            .note
            .as_deref()
            .is_some_and(|n| n.contains("pooled +0.0 % (+0.0 % to +0.0 %)")));
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
        assert!(c.change < -0.08, "{c:?}");
        assert_eq!(c.change_verdict, Change::Inconclusive, "{c:?}");
        assert_eq!(c.severity, None);
        assert!(c
            .note
            .as_deref()
            .is_some_and(|n| n.starts_with("the medians moved -")));
    }

    #[test]
    fn baseline_mode_judges_a_thin_p95_on_the_median_and_reports_the_p95() {
        let base: Vec<u64> = (1..=60).map(|k| 100_000 + k * 100).collect();
        let slow: Vec<u64> = base.iter().map(|v| v * 12 / 10).collect();
        let c = compare_samples(&base, &slow, P95, &Policy::default());
        assert_eq!(c.metric, "median");
        assert_eq!(c.method, Method::MannWhitneyU);
        assert_eq!(c.change_verdict, Change::Regression, "{c:?}");
        // Nearest-rank medians (rank 30): 103 000 and 123 600, exactly +20 %.
        assert_eq!((c.base, c.new), (103_000.0, 123_600.0));
        assert!((c.change - 0.2).abs() < 1e-12, "{c:?}");
        assert!(c.p_value.expect("p") < 1e-6);
        let note = c.note.as_deref().unwrap_or_default();
        assert!(
            note.starts_with(
                "judged on the median: the p95 of 60 samples is the slowest call #4; p95 of all \
                 samples +20.0 %"
            ),
            "{note}"
        );
        // 200 samples per side: the p95 itself, as before.
        let many: Vec<u64> = (1..=200).map(|k| k * 1_000).collect();
        let more: Vec<u64> = many.iter().map(|v| v * 12 / 10).collect();
        let direct = super::super::compare_samples(&many, &more, P95, &Policy::default());
        assert_eq!(
            compare_samples(&many, &more, P95, &Policy::default()),
            direct
        );
        assert_eq!(direct.metric, "p95");
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
