//! Load tests in both comparison modes. Their records keep HDR histograms of the iterations
//! (not every sample), so the headline statistic (the first threshold's, e.g. p95 of iterations)
//! is compared on the histograms of the successful iterations; the error rate is a comparison
//! of its own (`compare::proportion`); throughput and error rate before and after go in the
//! note.

use crate::compare::proportion::{self, Failures};
use crate::compare::ComparisonExt;
use crate::compare::{self, histogram, Comparison, Metric, Policy};
use perf_schema::histogram::decode_histogram;
use perf_schema::record::load::{Latency, LoadReport};
use perf_schema::record::{Record, Status};

/// Whether a record is a load test's.
pub fn is_load(r: &Record) -> bool {
    r.load.is_some()
}

/// The iterations a change of speed is judged on: the successful ones, or all of them in a
/// record written before successes were kept apart. A failure that ends fast (a refused
/// connection) or slow (a timeout) says nothing about the service's speed.
pub fn compared_latency(l: &LoadReport) -> &Latency {
    l.iteration_ok.as_ref().unwrap_or(&l.iteration)
}

/// The failed and all iterations of a load record (zero for other records and failed runs).
pub fn failures(r: &Record) -> Failures {
    match r.load.as_ref().filter(|_| r.status == Status::Measured) {
        Some(l) => Failures {
            failed: l.failed_iterations,
            iterations: l.iterations,
        },
        None => Failures::default(),
    }
}

/// Both modes: the error rates of the baseline's (or REF's rounds') iterations against this
/// run's. `None` unless both sides are load tests that ran iterations.
pub fn error_rate(base: &[&Record], new: &[&Record], policy: &Policy) -> Option<Comparison> {
    if !base.iter().chain(new).all(|r| is_load(r)) {
        return None;
    }
    let sum = |rs: &[&Record]| {
        rs.iter()
            .fold(Failures::default(), |a, r| a.plus(failures(r)))
    };
    proportion::compare_error_rates(sum(base), sum(new), policy)
}

/// `the baseline's` iterations all failed: why the latency cannot be compared.
fn no_success(l: &LoadReport, which: &str) -> Option<String> {
    (compared_latency(l).count == 0).then(|| {
        format!(
            "no iteration of {which} succeeded ({} of {} failed): latency is compared on \
             successful iterations; the error rate is judged on its own",
            l.failed_iterations, l.iterations
        )
    })
}

/// Baseline mode: Mann-Whitney U on the histograms of successful iterations (see
/// `compare::histogram`).
pub fn against_baseline(
    base: &Record,
    new: &Record,
    metric: Metric,
    policy: &Policy,
) -> Comparison {
    let (Some(bl), Some(nl)) = (&base.load, &new.load) else {
        return Comparison::not_compared(
            metric,
            "one side is a load test and the other not: re-save the baseline",
        );
    };
    if let Some(why) = no_success(bl, "the baseline").or_else(|| no_success(nl, "this run")) {
        return Comparison::not_compared(metric, why);
    }
    let read = |l: &LoadReport, which: &str| {
        decode_histogram(&compared_latency(l).histogram)
            .map_err(|e| format!("the {which} iteration histogram is unreadable ({e})"))
    };
    let (b, n) = match (read(bl, "baseline's"), read(nl, "new")) {
        (Ok(b), Ok(n)) => (b, n),
        (Err(e), _) | (_, Err(e)) => return Comparison::not_compared(metric, e),
    };
    let mut c = histogram::compare_histograms(&b, &n, metric, policy);
    add_note(
        &mut c,
        side_note(
            (bl.iterations_per_s, nl.iterations_per_s),
            (bl.error_rate, nl.error_rate),
        ),
    );
    c
}

/// The headline statistic of one round of a load test (its successful iterations),
/// nanoseconds.
pub fn round_value(r: &Record, metric: Metric) -> Option<f64> {
    let load = r.load.as_ref().filter(|_| r.status == Status::Measured)?;
    let latency = compared_latency(load);
    if latency.count == 0 {
        return None;
    }
    let v = match metric {
        Metric::Mean => Some(latency.mean_ns),
        Metric::Percentile { percentile } => latency.percentile(percentile),
    }?;
    (v > 0.0).then_some(v)
}

/// Paired mode: the per-round ratios of the headline statistic (Wilcoxon signed-rank, as for
/// every paired comparison), with the median throughput and error rate of each build's rounds.
pub fn paired(base: &[&Record], new: &[&Record], metric: Metric, policy: &Policy) -> Comparison {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let (mut tp, mut err) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
    for (x, y) in base.iter().zip(new) {
        if let (Some(va), Some(vb)) = (round_value(x, metric), round_value(y, metric)) {
            a.push(va);
            b.push(vb);
            let (lx, ly) = (x.load.as_ref(), y.load.as_ref());
            if let (Some(lx), Some(ly)) = (lx, ly) {
                tp.0.push(lx.iterations_per_s);
                tp.1.push(ly.iterations_per_s);
                err.0.push(lx.error_rate);
                err.1.push(ly.error_rate);
            }
        }
    }
    if a.is_empty() {
        return Comparison::not_compared(
            metric,
            "no round had successful iterations of both builds (the error rate is judged on its \
             own)",
        );
    }
    let mut c = compare::compare_rounds(&a, &b, metric, policy);
    let m = compare::median;
    add_note(
        &mut c,
        format!(
            "median of the rounds: {}",
            side_note((m(&tp.0), m(&tp.1)), (m(&err.0), m(&err.1)))
        ),
    );
    c
}

/// `throughput 812.0 → 640.0 iterations/s (-21.2 %), error rate 0.00 % → 2.10 %`.
pub fn side_note(throughput: (f64, f64), error_rate: (f64, f64)) -> String {
    let tp_change = if throughput.0 > 0.0 {
        format!(
            " ({})",
            compare::format_change(throughput.1 / throughput.0 - 1.0)
        )
    } else {
        String::new()
    };
    format!(
        "throughput {:.1} → {:.1} iterations/s{tp_change}, error rate {:.2} % → {:.2} %",
        throughput.0,
        throughput.1,
        error_rate.0 * 100.0,
        error_rate.1 * 100.0
    )
}

/// Appends `more` to a comparison's note.
pub fn add_note(c: &mut Comparison, more: String) {
    c.note = Some(match c.note.take() {
        Some(n) if !n.is_empty() => format!("{n}; {more}"),
        _ => more,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A round of the load test with its iteration p95 and throughput.
    fn round(p95_ms: f64, per_s: f64) -> Record {
        let mut r = crate::report::load_md::tests::load_record();
        if let Some(l) = r.load.as_mut() {
            l.iteration.p95_ns = p95_ms * 1e6;
            l.iterations_per_s = per_s;
        }
        r
    }

    #[test]
    fn paired_rounds_of_a_load_test_compare_the_iteration_p95() {
        let p95 = Metric::Percentile { percentile: 95.0 };
        let drift = [1.0, 1.3, 0.8, 1.1, 0.9, 1.25, 0.75, 1.05, 0.95, 1.2];
        let base: Vec<Record> = drift.iter().map(|d| round(20.0 * d, 100.0 / d)).collect();
        let new: Vec<Record> = drift
            .iter()
            .enumerate()
            .map(|(i, d)| round(24.0 * d * (1.0 + 0.001 * i as f64), 80.0 / d))
            .collect();
        let (b, n): (Vec<&Record>, Vec<&Record>) = (base.iter().collect(), new.iter().collect());
        let c = paired(&b, &n, p95, &Policy::default());
        assert_eq!(c.change_verdict, compare::Change::Regression, "{c:?}");
        assert_eq!(c.severity, Some(compare::Severity::Minor));
        assert!((c.p_value.expect("p") - 2.0 / 1024.0).abs() < 1e-12);
        assert!((c.change - 0.2045).abs() < 0.001, "{c:?}");
        assert_eq!(
            c.note.as_deref(),
            Some(
                "median of the rounds: throughput 97.6 → 78.1 iterations/s (-20.0 %), error \
                 rate 1.00 % → 1.00 %"
            )
        );
        // Medians of 100/drift and 80/drift: (100 + 95.2) / 2 and (80 + 76.2) / 2.
        // The same rounds on both sides: unchanged; a round without iterations is skipped.
        let same = paired(&b, &b, p95, &Policy::default());
        assert_eq!(same.change_verdict, compare::Change::Unchanged);
        assert_eq!(round_value(&round(0.0, 1.0), p95), None);
        assert_eq!(round_value(&base[0], p95), Some(20e6));
    }

    #[test]
    fn throughput_and_error_rate_are_described_before_and_after() {
        assert_eq!(
            side_note((800.0, 600.0), (0.0, 0.021)),
            "throughput 800.0 → 600.0 iterations/s (-25.0 %), error rate 0.00 % → 2.10 %"
        );
        assert_eq!(
            side_note((0.0, 5.0), (0.5, 0.5)),
            "throughput 0.0 → 5.0 iterations/s, error rate 50.00 % → 50.00 %"
        );
        let mut c = Comparison::not_compared(Metric::MEDIAN, "first");
        add_note(&mut c, "second".into());
        assert_eq!(c.note.as_deref(), Some("first; second"));
    }
}
