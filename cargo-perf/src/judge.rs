//! Attaching a change verdict to each test of a run: which statistic to compare, whether the
//! two measurements are comparable at all (same spec, machine, and conditions while they ran),
//! the noise floor (within the run and between runs), and the gate that turns verdicts into an
//! exit code.

pub mod budgets;
pub mod leak;
pub mod recovery;
pub mod verdict;

use crate::compare::ComparisonExt;
use crate::compare::{self, Change, Comparison, Metric, Policy, Severity};
use crate::store::baseline::BaselineExt;
use crate::store::history::HistoryExt;
use perf_schema::record::{Record, Status};
use perf_schema::spec::{Spec, Threshold};
use perf_schema::summary::{Machine, TestResult};

use crate::store::baseline::Baseline;
use crate::store::history::{History, Key, Prior};

/// The statistic a test is judged on: the one its first timing threshold names (p95 for
/// `p95 = ..`), p99 for `max` (the maximum is a single sample), the median without one. Count
/// thresholds (`max_queries`, `n_plus_one`) have no noise and are checked exactly instead;
/// load thresholds (error rate, throughput, resources) are verdicts of their own.
pub fn headline_metric(spec: &Spec) -> Metric {
    match spec.thresholds.iter().find(|t| t.is_time()) {
        Some(Threshold::Mean { .. }) => Metric::Mean,
        Some(Threshold::Percentile { percentile, .. }) => Metric::Percentile {
            percentile: *percentile,
        },
        Some(Threshold::Max { .. }) => Metric::Percentile { percentile: 99.0 },
        _ => Metric::MEDIAN,
    }
}

/// Why two records cannot be compared, if they cannot.
pub fn incomparable(base: &Record, new: &Record) -> Option<String> {
    if new.status != Status::Measured {
        return Some("not measured in this run".into());
    }
    if base.spec != new.spec {
        return Some(format!(
            "the attribute changed since the baseline (was `{}`, now `{}`)",
            base.spec, new.spec
        ));
    }
    if base.quick != new.quick {
        let how = |q: bool| if q { "with --quick" } else { "without --quick" };
        return Some(format!(
            "the baseline was measured {}, this run {}",
            how(base.quick),
            how(new.quick)
        ));
    }
    if base.optimized != new.optimized {
        return Some("one build has debug assertions and the other not".into());
    }
    None
}

/// The statistic a baseline-mode comparison of `record` judges and its value in nanoseconds,
/// as [`against_baseline`] computes it: the headline metric, or the median for a tail
/// percentile resting on fewer than 10 samples; load tests on the histogram of their successful
/// iterations.
/// `None` when the record has nothing to judge.
pub fn judged_value(record: &Record) -> Option<(Metric, f64)> {
    if record.status != Status::Measured {
        return None;
    }
    let headline = headline_metric(&record.spec);
    if let Some(load) = &record.load {
        let latency = compare::load::compared_latency(load);
        let h = perf_schema::histogram::decode_histogram(&latency.histogram).ok()?;
        if h.is_empty() {
            return None;
        }
        let v = compare::histogram::metric_of(&h, headline);
        return (v > 0.0).then_some((headline, v));
    }
    if record.samples_ns.is_empty() {
        return None;
    }
    let mut sorted: Vec<f64> = record.samples_ns.iter().map(|&v| v as f64).collect();
    sorted.sort_by(f64::total_cmp);
    let metric = if compare::pooled::thin_tail(headline, sorted.len()) {
        Metric::MEDIAN
    } else {
        headline
    };
    let v = metric.of_sorted(&sorted);
    (v > 0.0).then_some((metric, v))
}

/// Compares every result against a baseline, with each test's run-to-run floor from `history`
/// when given; returns notes for the whole run.
pub fn against_baseline(
    results: &mut [TestResult],
    baseline: &Baseline,
    machine: &Machine,
    policy: &Policy,
    history: Option<&History>,
) -> Vec<String> {
    let other_machine = baseline.machine != *machine;
    let mut notes = Vec::new();
    if other_machine {
        notes.push(format!(
            "the baseline was measured on another machine ({}; this one: {}): not compared",
            baseline.machine, machine
        ));
    }
    for r in results.iter_mut() {
        r.comparison = Some(compare_one(
            &r.record,
            baseline,
            other_machine.then_some(&baseline.machine),
            policy,
            history,
        ));
        // Counts do not depend on the machine: compared even across machines.
        let base = baseline.find(&r.record.test);
        r.counts = base
            .map(|base| count_changes(base, &r.record))
            .unwrap_or_default();
        // The error rate does (timeouts, connection limits): only where the timing is compared.
        if let Some(base) = base.filter(|b| !other_machine && incomparable(b, &r.record).is_none())
        {
            r.counts
                .extend(compare::load::error_rate(&[base], &[&r.record], policy));
        }
    }
    notes
}

/// `count_changes` against the record of the same test among `reference` (paired mode: the
/// reference build's records); empty when the test is not there.
pub fn counts_against(reference: &[Record], new: &Record) -> Vec<Comparison> {
    reference
        .iter()
        .find(|b| {
            b.test.package == new.test.package
                && b.test.target == new.test.target
                && b.test.name == new.test.name
        })
        .map(|base| count_changes(base, new))
        .unwrap_or_default()
}

/// The metric name of statements per timed call (latency) or per iteration (load).
pub const QUERIES_PER_ITERATION: &str = "queries/iteration";

/// Exact comparisons of the counts that have no noise: the statements of the busiest timed
/// call (what `max_queries` checks). Empty unless both runs measured and one counted statements.
pub fn count_changes(base: &Record, new: &Record) -> Vec<Comparison> {
    if base.status != Status::Measured || new.status != Status::Measured {
        return Vec::new();
    }
    if base.queries.is_none() && new.queries.is_none() {
        return Vec::new();
    }
    let per_call = |r: &Record| r.queries.as_ref().map_or(0, |q| q.max_per_call);
    vec![compare::compare_exact(
        QUERIES_PER_ITERATION,
        per_call(base),
        per_call(new),
    )]
}

fn compare_one(
    new: &Record,
    baseline: &Baseline,
    other_machine: Option<&Machine>,
    policy: &Policy,
    history: Option<&History>,
) -> Comparison {
    let metric = headline_metric(&new.spec);
    let Some(base) = baseline.find(&new.test) else {
        return Comparison::not_compared(
            metric,
            format!("new test: not in baseline `{}`", baseline.name),
        );
    };
    if let Some(m) = other_machine {
        return Comparison::not_compared(metric, format!("baseline measured on {m}"));
    }
    if let Some(reason) = incomparable(base, new) {
        return Comparison::not_compared(metric, reason);
    }
    let mut c = if crate::compare::load::is_load(new) || crate::compare::load::is_load(base) {
        crate::compare::load::against_baseline(base, new, metric, policy)
    } else {
        compare::pooled::compare_samples(&base.samples_ns, &new.samples_ns, metric, policy)
    };
    if c.change_verdict == Change::NotCompared {
        return c;
    }
    if let Some(reason) = crate::exec::machine::different_conditions(
        base.machine_state.as_ref(),
        new.machine_state.as_ref(),
    ) {
        c.change_verdict = Change::Inconclusive;
        c.severity = None;
        c.lead_note(reason);
        return c;
    }
    if let Some(history) = history {
        apply_run_floor(&mut c, history, base, new);
    }
    c
}

/// Raises the comparison's noise floor to the test's run-to-run floor and says in the note
/// which floor decided.
fn apply_run_floor(c: &mut Comparison, history: &History, base: &Record, new: &Record) {
    let spec = new.spec.to_string();
    let key = Key {
        spec: &spec,
        quick: new.quick,
        metric: &c.metric,
    };
    let (b, n) = (
        crate::exec::machine::busy(base.machine_state.as_ref()),
        crate::exec::machine::busy(new.machine_state.as_ref()),
    );
    let busy = match (b, n) {
        (Some(x), Some(y)) => Some(x || y),
        (x, y) => x.or(y),
    };
    let prior = Prior::for_comparison(new.spec.kind, busy);
    let floor = history.floor(&new.test, &key, busy, prior);
    let flagged = matches!(c.change_verdict, Change::Regression | Change::Improvement);
    let within = c.noise_floor;
    let decided = c.raise_floor(floor.floor);
    let text = floor.describe();
    if flagged && c.change_verdict == Change::Inconclusive {
        c.lead_note(format!("no larger than the {text}"));
    } else if decided {
        crate::compare::load::add_note(c, text);
    } else {
        crate::compare::load::add_note(
            c,
            format!("noise floor: within-run ±{:.1} % ({text})", within * 100.0),
        );
    }
}

/// Which verdicts fail the run (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    /// Failed thresholds fail the run.
    pub thresholds: bool,
    /// Regressions at least this severe fail the run.
    pub regressions: Option<Severity>,
}

impl Gate {
    /// Whether a result fails the gate on its change verdict.
    pub fn fails_on_change(&self, r: &TestResult) -> bool {
        match self.regressions {
            Some(at_least) => r
                .comparison
                .iter()
                .chain(&r.counts)
                .any(|c| c.is_regression(at_least)),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::Change;
    use crate::judge::verdict::Judge;
    use crate::judge::verdict::Tally;
    use perf_schema::record::TestId;
    use perf_schema::spec::Kind;
    use std::borrow::Cow;

    const P95: &[Threshold] = &[Threshold::Percentile {
        percentile: 95.0,
        limit_ns: 1_000_000,
    }];

    fn record(samples: Vec<u64>, quick: bool) -> Record {
        Record {
            samples_ns: samples,
            quick,
            ..Record::new(
                TestId {
                    package: "p".into(),
                    target: "t".into(),
                    name: "browse_media".into(),
                    file: "tests/t.rs".into(),
                    line: 4,
                },
                Spec {
                    kind: Kind::Latency,
                    thresholds: Cow::Borrowed(P95),
                    samples: Some(100),
                    ..Spec::MICRO
                },
                Status::Measured,
            )
        }
    }

    fn machine(cpu: &str) -> Machine {
        Machine {
            cpu: cpu.into(),
            cores: 2,
            os: "Linux".into(),
            arch: "x86_64".into(),
        }
    }

    fn baseline(records: Vec<Record>, cpu: &str) -> Baseline {
        Baseline {
            schema: crate::store::baseline::BASELINE_SCHEMA.into(),
            name: "main".into(),
            saved_at: 0,
            tool_version: "0".into(),
            git_commit: None,
            machine: machine(cpu),
            profile: "bench".into(),
            records,
        }
    }

    fn ramp(n: u64, scale: u64) -> Vec<u64> {
        (0..n)
            .map(|i| (1_000_000 + 1_000 * i) * scale / 100)
            .collect()
    }

    #[test]
    fn the_first_threshold_picks_the_statistic() {
        let r = record(vec![], false);
        assert_eq!(headline_metric(&r.spec).key(), "p95");
        assert_eq!(headline_metric(&Spec::MICRO).key(), "median");
    }

    #[test]
    fn a_slower_run_against_a_baseline_is_a_regression_that_the_gate_catches() {
        let b = baseline(vec![record(ramp(100, 100), false)], "cpu");
        let mut results = vec![TestResult::judge(record(ramp(100, 136), false))];
        let notes = against_baseline(&mut results, &b, &machine("cpu"), &Policy::default(), None);
        assert!(notes.is_empty());
        let c = results[0].comparison.as_ref().expect("compared");
        assert_eq!(c.change_verdict, Change::Regression, "{c:?}");
        assert_eq!(c.severity, Some(Severity::Major));
        let default_gate = Gate {
            thresholds: true,
            regressions: Some(Severity::Major),
        };
        assert!(default_gate.fails_on_change(&results[0]));
        let critical_only = Gate {
            regressions: Some(Severity::Critical),
            ..default_gate
        };
        assert!(!critical_only.fails_on_change(&results[0]));
    }

    #[test]
    fn another_machine_spec_or_quick_setting_is_not_compared() {
        let b = baseline(vec![record(ramp(100, 100), false)], "other cpu");
        let mut results = vec![TestResult::judge(record(ramp(100, 136), false))];
        let notes = against_baseline(&mut results, &b, &machine("cpu"), &Policy::default(), None);
        assert!(notes[0].contains("another machine"), "{notes:?}");
        let c = results[0].comparison.as_ref().expect("compared");
        assert_eq!(c.change_verdict, Change::NotCompared);

        let b = baseline(vec![record(ramp(100, 100), true)], "cpu");
        let mut results = vec![TestResult::judge(record(ramp(100, 136), false))];
        against_baseline(&mut results, &b, &machine("cpu"), &Policy::default(), None);
        let c = results[0].comparison.as_ref().expect("compared");
        assert_eq!(c.change_verdict, Change::NotCompared);
        assert!(c.note.as_deref().is_some_and(|n| n.contains("--quick")));

        let mut changed = record(ramp(100, 100), false);
        changed.spec.samples = Some(50);
        assert!(incomparable(&changed, &record(vec![], false))
            .is_some_and(|n| n.contains("attribute changed")));
    }

    fn in_state(mut r: Record, other_cores: f64) -> Record {
        r.machine_state = Some(perf_schema::record::MachineState {
            load_avg_1m_start: Some(0.5),
            load_avg_1m_end: Some(0.6),
            other_cpu_cores: Some(other_cores),
            test_cpu_cores: Some(1.0),
            window_s: 1.0,
        });
        r.build_hash = Some("b1".into());
        r
    }

    #[test]
    fn the_judged_value_is_the_one_the_comparison_judges() {
        // 100 samples with a p95 threshold: 5 above the p95, a thin tail judged on the median.
        let thin = record(ramp(100, 100), false);
        let (metric, value) = judged_value(&thin).expect("measured");
        assert_eq!((metric.key().as_str(), value), ("median", 1_049_000.0));
        let b = baseline(vec![record(ramp(100, 100), false)], "cpu");
        let mut results = vec![TestResult::judge(thin)];
        against_baseline(&mut results, &b, &machine("cpu"), &Policy::default(), None);
        let c = results[0].comparison.as_ref().expect("compared");
        assert_eq!((c.metric.as_str(), c.base), ("median", 1_049_000.0));
        // 400 samples: the p95 itself (nearest rank 380).
        let thick = record(ramp(400, 100), false);
        let (metric, value) = judged_value(&thick).expect("measured");
        assert_eq!((metric.key().as_str(), value), ("p95", 1_379_000.0));
        // A load test: the headline statistic of its iteration histogram.
        let mut load = crate::report::load_md::tests::load_record();
        let h = perf_schema::histogram::histogram_of(&[10_000, 20_000, 30_000, 40_000]);
        if let Some(l) = load.load.as_mut() {
            l.iteration.histogram = perf_schema::histogram::encode_histogram(&h).expect("encodes");
        }
        let (metric, value) = judged_value(&load).expect("measured");
        assert_eq!(metric.key(), "median");
        // 3 significant digits: 16 ns buckets around 20 µs, reported at their highest value.
        assert_eq!(value, 20_015.0);
        let c = crate::compare::load::against_baseline(&load, &load, metric, &Policy::default());
        assert_eq!(c.base, value);
        // Nothing measured: nothing to judge.
        let mut failed = record(ramp(10, 100), false);
        failed.status = Status::Failed {
            message: "boom".into(),
        };
        assert_eq!(judged_value(&failed), None);
        assert_eq!(judged_value(&record(vec![], false)), None);
    }

    /// A load record: `failed` of 2000 iterations failed at 50 µs each, the rest succeeded at
    /// 1 ms each.
    fn failing(failed: u64) -> Record {
        let mut r = crate::report::load_md::tests::load_record();
        let ok: Vec<u64> = vec![1_000_000; (2000 - failed) as usize];
        let fast: Vec<u64> = vec![50_000; failed as usize];
        let all: Vec<u64> = ok.iter().chain(&fast).copied().collect();
        let latency = |v: &[u64]| {
            let h = perf_schema::histogram::histogram_of(v);
            perf_schema::record::load::Latency::of(&h)
        };
        if let Some(l) = r.load.as_mut() {
            (l.iterations, l.failed_iterations) = (2000, failed);
            l.error_rate = failed as f64 / 2000.0;
            l.iteration = latency(&all);
            l.iteration_ok = Some(latency(&ok));
        }
        r
    }

    #[test]
    fn a_load_test_failing_fast_is_an_error_rate_regression_not_a_faster_service() {
        let gate = Gate {
            thresholds: true,
            regressions: Some(Severity::Major),
        };
        let compare = |base: Record, new: Record| {
            let b = baseline(vec![base], "cpu");
            let mut results = vec![TestResult::judge(new)];
            against_baseline(&mut results, &b, &machine("cpu"), &Policy::default(), None);
            results.remove(0)
        };
        // 94 % of iterations now fail at once: the median of all iterations fell 20-fold, but
        // the successful ones are as fast as before and the error rate is a critical regression.
        let broken = compare(failing(0), failing(1880));
        let latency = broken.comparison.as_ref().expect("compared");
        assert_eq!((latency.base, latency.new), (1_000_447.0, 1_000_447.0));
        assert_eq!(latency.change_verdict, Change::Unchanged);
        let rate = &broken.counts[0];
        assert_eq!(rate.metric, "error rate");
        assert_eq!(
            (rate.change_verdict, rate.severity),
            (Change::Regression, Some(Severity::Critical))
        );
        assert!(gate.fails_on_change(&broken));
        // A broken baseline, then a healthy run: an improvement, not a 20-fold slowdown.
        let fixed = compare(failing(1880), failing(0));
        assert_eq!(
            fixed.comparison.as_ref().expect("c").change_verdict,
            Change::Unchanged
        );
        assert_eq!(fixed.counts[0].change_verdict, Change::Improvement);
        assert!(!gate.fails_on_change(&fixed));
        // Every iteration of the baseline failed: no latency to compare, and the note says why.
        let c = compare(failing(2000), failing(0));
        let latency = c.comparison.as_ref().expect("c");
        assert_eq!(latency.change_verdict, Change::NotCompared);
        assert!(
            latency.note.as_deref().is_some_and(
                |n| n.contains("no iteration of the baseline succeeded (2000 of 2000 failed)")
            ),
            "{latency:?}"
        );
        assert_eq!(c.counts[0].change_verdict, Change::Improvement);
        // The judged value is the successful iterations' median too.
        assert_eq!(
            judged_value(&failing(1880)).map(|(_, v)| v),
            Some(1_000_447.0)
        );
    }

    #[test]
    fn a_baseline_on_a_quiet_machine_and_a_busy_run_are_inconclusive_with_the_reason() {
        let b = baseline(vec![in_state(record(ramp(100, 100), false), 0.1)], "cpu");
        // 5x slower while a build ran: not a regression, not a pass either.
        let mut results = vec![TestResult::judge(in_state(
            record(ramp(100, 500), false),
            1.7,
        ))];
        against_baseline(&mut results, &b, &machine("cpu"), &Policy::default(), None);
        let c = results[0].comparison.as_ref().expect("compared");
        assert_eq!(c.change_verdict, Change::Inconclusive, "{c:?}");
        assert_eq!(c.severity, None);
        assert!(
            (c.change - 4.0).abs() < 1e-9,
            "the change is still reported: {c:?}"
        );
        assert!(
            c.note.as_deref().is_some_and(|n| n.starts_with(
                "the baseline ran on a quiet machine (other processes: 0.1 cores), this run \
                 while other processes took 1.7 cores"
            )),
            "{c:?}"
        );
        // The same slowdown beside a similar load is judged (0.4 cores apart).
        let mut results = vec![TestResult::judge(in_state(
            record(ramp(100, 500), false),
            0.5,
        ))];
        against_baseline(&mut results, &b, &machine("cpu"), &Policy::default(), None);
        let c = results[0].comparison.as_ref().expect("compared");
        assert_eq!(c.change_verdict, Change::Regression, "{c:?}");
    }

    fn history_of(values: &[f64], other_cores: f64) -> History {
        let mut h = History::new(&machine("cpu"));
        let r = record(vec![], false);
        for &v in values {
            h.push(
                &r.test,
                crate::store::history::Run {
                    at_unix_s: 0,
                    git_commit: None,
                    build_hash: Some("b1".into()),
                    spec: r.spec.to_string(),
                    quick: false,
                    metric: "median".into(),
                    value_ns: v,
                    machine_state: in_state(record(vec![], false), other_cores).machine_state,
                },
            );
        }
        h
    }

    #[test]
    fn a_change_within_the_run_to_run_noise_is_inconclusive_and_says_so() {
        let b = baseline(vec![in_state(record(ramp(100, 100), false), 0.1)], "cpu");
        let slower = || {
            vec![TestResult::judge(in_state(
                record(ramp(100, 120), false),
                0.1,
            ))]
        };
        // Without a history: the latency prior, ±56.8 %: +20 % is not evidence.
        let mut results = slower();
        let empty = History::new(&machine("cpu"));
        against_baseline(
            &mut results,
            &b,
            &machine("cpu"),
            &Policy::default(),
            Some(&empty),
        );
        let c = results[0].comparison.as_ref().expect("compared");
        assert_eq!(c.change_verdict, Change::Inconclusive, "{c:?}");
        assert!(c
            .run_to_run_floor
            .is_some_and(|f| (f - (0.45f64.exp() - 1.0)).abs() < 1e-12));
        assert!(
            c.note.as_deref().is_some_and(|n| n.starts_with(
                "no larger than the run-to-run noise of this test: ±56.8 % assumed for latency \
                 tests"
            )),
            "{c:?}"
        );
        // Twelve quiet runs within ±1 %: the floor falls below the change, which stands.
        let steady = history_of(
            &[
                100.0, 101.0, 100.0, 101.0, 100.0, 101.0, 100.0, 101.0, 100.0, 101.0, 100.0, 101.0,
            ],
            0.1,
        );
        let mut results = slower();
        against_baseline(
            &mut results,
            &b,
            &machine("cpu"),
            &Policy::default(),
            Some(&steady),
        );
        let c = results[0].comparison.as_ref().expect("compared");
        assert_eq!(c.change_verdict, Change::Regression, "{c:?}");
        assert_eq!(c.severity, Some(Severity::Minor));
        // σ² = (2·0.15² + 11·ln(1.01)²) / 13.
        let sigma = ((0.045 + 11.0 * 1.01f64.ln().powi(2)) / 13.0).sqrt();
        let floor = (3.0 * sigma).exp() - 1.0;
        assert_eq!(c.run_to_run_floor, Some(floor));
        assert_eq!(c.noise_floor, floor, "above the within-run floor here");
        assert!(
            c.note.as_deref().is_some_and(|n| n.ends_with(&format!(
                "run-to-run noise of this test: ±{:.1} % over 12 runs",
                floor * 100.0
            ))),
            "{c:?}"
        );
        // The same history measured beside a build does not set the floor of a quiet comparison.
        let busy = history_of(&[100.0, 101.0, 100.0, 101.0], 1.8);
        let mut results = slower();
        against_baseline(
            &mut results,
            &b,
            &machine("cpu"),
            &Policy::default(),
            Some(&busy),
        );
        let c = results[0].comparison.as_ref().expect("compared");
        assert!(
            c.run_to_run_floor
                .is_some_and(|f| (f - (0.45f64.exp() - 1.0)).abs() < 1e-12),
            "{c:?}"
        );
        // Both sides beside a build, no busy history yet: the prior twice as wide, e^0.9 − 1.
        let busy_base = baseline(vec![in_state(record(ramp(100, 100), false), 1.6)], "cpu");
        let mut results = vec![TestResult::judge(in_state(
            record(ramp(100, 120), false),
            1.8,
        ))];
        let empty = History::new(&machine("cpu"));
        against_baseline(
            &mut results,
            &busy_base,
            &machine("cpu"),
            &Policy::default(),
            Some(&empty),
        );
        let c = results[0].comparison.as_ref().expect("compared");
        assert!(
            c.run_to_run_floor
                .is_some_and(|f| (f - (0.9f64.exp() - 1.0)).abs() < 1e-12),
            "{c:?}"
        );
        assert!(
            c.note
                .as_deref()
                .is_some_and(|n| n.contains("±146.0 % assumed for latency tests beside busy")),
            "{c:?}"
        );
    }

    #[test]
    fn when_the_within_run_floor_is_larger_the_note_says_so() {
        // 10 samples spread ±90 %: a wide bootstrap interval; a steady history of ±1 %.
        let noisy = |scale: u64| -> Vec<u64> {
            (0..10u64)
                .map(|i| (100_000 + 180_000 * (i * 7 % 10) / 9) * scale / 100)
                .collect()
        };
        let b = baseline(vec![in_state(record(noisy(100), false), 0.0)], "cpu");
        let steady = history_of(
            &[100.0, 101.0, 100.0, 101.0, 100.0, 101.0, 100.0, 101.0],
            0.0,
        );
        let mut results = vec![TestResult::judge(in_state(record(noisy(103), false), 0.0))];
        against_baseline(
            &mut results,
            &b,
            &machine("cpu"),
            &Policy::default(),
            Some(&steady),
        );
        let c = results[0].comparison.as_ref().expect("compared");
        let within = c.noise_floor;
        assert!(c.run_to_run_floor.is_some_and(|f| f < within), "{c:?}");
        assert!(
            c.note.as_deref().is_some_and(|n| n.contains(&format!(
                "noise floor: within-run ±{:.1} % (run-to-run noise of this test: ±",
                within * 100.0
            ))),
            "{c:?}"
        );
    }

    fn with_queries(mut r: Record, per_call: u64) -> Record {
        r.queries = Some(perf_schema::record::QueryStats {
            calls: 100,
            statements: 100 * per_call,
            min_per_call: per_call,
            max_per_call: per_call,
            mean_per_call: per_call as f64,
            scaling: None,
            distinct: 1,
            averaged: false,
            top: Vec::new(),
        });
        r
    }

    #[test]
    fn more_queries_per_call_is_an_exact_regression_whatever_the_timing_says() {
        let b = baseline(vec![with_queries(record(ramp(100, 100), false), 2)], "cpu");
        let mut results = vec![TestResult::judge(with_queries(
            record(ramp(100, 100), false),
            41,
        ))];
        against_baseline(&mut results, &b, &machine("cpu"), &Policy::default(), None);
        let timing = results[0].comparison.as_ref().expect("compared");
        assert_eq!(timing.change_verdict, Change::Unchanged);
        let c = &results[0].counts[0];
        assert_eq!(c.metric, "queries/iteration");
        assert_eq!((c.base, c.new), (2.0, 41.0));
        assert_eq!(c.change, 19.5);
        assert_eq!(c.p_value, None);
        assert_eq!(c.change_verdict, Change::Regression);
        assert_eq!(c.severity, Some(Severity::Critical));
        assert!(results[0].regressed());
        let gate = Gate {
            thresholds: true,
            regressions: Some(Severity::Major),
        };
        assert!(gate.fails_on_change(&results[0]));
        let mut tally = perf_schema::summary::ComparedWith {
            mode: perf_schema::summary::CompareMode::Baseline,
            against: "base".into(),
            commit: None,
            notes: Vec::new(),
            regressions: 0,
            improvements: 0,
            unchanged: 0,
            inconclusive: 0,
            not_compared: 0,
            builds: Vec::new(),
        };
        tally.count(&results);
        assert_eq!((tally.regressions, tally.unchanged), (1, 0));

        // One query more out of ten: +10 %, a minor regression; the default gate (major) passes.
        let b = baseline(vec![with_queries(record(ramp(100, 100), false), 10)], "cpu");
        let mut results = vec![TestResult::judge(with_queries(
            record(ramp(100, 100), false),
            11,
        ))];
        against_baseline(&mut results, &b, &machine("cpu"), &Policy::default(), None);
        assert_eq!(results[0].counts[0].severity, Some(Severity::Minor));
        assert!(!gate.fails_on_change(&results[0]));

        // Paired mode looks the test up among the reference build's records.
        let reference = [with_queries(record(vec![], false), 2)];
        let paired = counts_against(&reference, &with_queries(record(vec![], false), 41));
        assert_eq!(paired[0].change_verdict, Change::Regression);
        assert_eq!((paired[0].base, paired[0].new), (2.0, 41.0));
        let mut other = with_queries(record(vec![], false), 41);
        other.test.name = "new_test".into();
        assert!(counts_against(&reference, &other).is_empty());

        // Fewer queries: an improvement; the same count: unchanged; no statements: no count.
        let fewer = count_changes(
            &with_queries(record(vec![], false), 41),
            &with_queries(record(vec![], false), 2),
        );
        assert_eq!(fewer[0].change_verdict, Change::Improvement);
        let same = count_changes(
            &with_queries(record(vec![], false), 3),
            &with_queries(record(vec![], false), 3),
        );
        assert_eq!(same[0].change_verdict, Change::Unchanged);
        assert!(count_changes(&record(vec![], false), &record(vec![], false)).is_empty());
        // From no statement at all to some: a regression counted from one.
        let from_none = count_changes(
            &record(vec![], false),
            &with_queries(record(vec![], false), 3),
        );
        assert_eq!((from_none[0].base, from_none[0].new), (0.0, 3.0));
        assert_eq!(from_none[0].change_verdict, Change::Regression);
    }
}
