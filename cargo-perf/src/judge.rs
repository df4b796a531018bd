//! Attaching a change verdict to each test of a run: which statistic to compare, whether the
//! two measurements are comparable at all, and the gate that turns verdicts into an exit code.

use perf_harness::compare::{self, Comparison, Metric, Policy, Severity};
use perf_harness::record::{Machine, Record, Status, TestResult};
use perf_harness::spec::{Spec, Threshold};

use crate::baseline::Baseline;

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

/// Compares every result against a baseline; returns notes for the whole run.
pub fn against_baseline(
    results: &mut [TestResult],
    baseline: &Baseline,
    machine: &Machine,
    policy: &Policy,
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
        ));
        // Counts do not depend on the machine: compared even across machines.
        r.counts = baseline
            .find(&r.record.test)
            .map(|base| count_changes(base, &r.record))
            .unwrap_or_default();
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
    if crate::loadcmp::is_load(new) || crate::loadcmp::is_load(base) {
        return crate::loadcmp::against_baseline(base, new, metric, policy);
    }
    compare::pooled::compare_samples(&base.samples_ns, &new.samples_ns, metric, policy)
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
    use perf_harness::compare::Change;
    use perf_harness::record::TestId;
    use perf_harness::spec::Kind;
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
            schema: crate::baseline::BASELINE_SCHEMA.into(),
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
        let notes = against_baseline(&mut results, &b, &machine("cpu"), &Policy::default());
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
        let notes = against_baseline(&mut results, &b, &machine("cpu"), &Policy::default());
        assert!(notes[0].contains("another machine"), "{notes:?}");
        let c = results[0].comparison.as_ref().expect("compared");
        assert_eq!(c.change_verdict, Change::NotCompared);

        let b = baseline(vec![record(ramp(100, 100), true)], "cpu");
        let mut results = vec![TestResult::judge(record(ramp(100, 136), false))];
        against_baseline(&mut results, &b, &machine("cpu"), &Policy::default());
        let c = results[0].comparison.as_ref().expect("compared");
        assert_eq!(c.change_verdict, Change::NotCompared);
        assert!(c.note.as_deref().is_some_and(|n| n.contains("--quick")));

        let mut changed = record(ramp(100, 100), false);
        changed.spec.samples = Some(50);
        assert!(incomparable(&changed, &record(vec![], false))
            .is_some_and(|n| n.contains("attribute changed")));
    }

    fn with_queries(mut r: Record, per_call: u64) -> Record {
        r.queries = Some(perf_harness::db::QueryStats {
            calls: 100,
            statements: 100 * per_call,
            min_per_call: per_call,
            max_per_call: per_call,
            mean_per_call: per_call as f64,
            scaling: None,
            distinct: 1,
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
        against_baseline(&mut results, &b, &machine("cpu"), &Policy::default());
        let timing = results[0].comparison.as_ref().expect("compared");
        assert_eq!(timing.change_verdict, Change::Unchanged);
        let c = &results[0].counts[0];
        assert_eq!(c.metric, "queries/iteration");
        assert_eq!((c.base_ns, c.new_ns), (2.0, 41.0));
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
        let mut tally = perf_harness::record::ComparedWith {
            mode: perf_harness::record::CompareMode::Baseline,
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
        against_baseline(&mut results, &b, &machine("cpu"), &Policy::default());
        assert_eq!(results[0].counts[0].severity, Some(Severity::Minor));
        assert!(!gate.fails_on_change(&results[0]));

        // Paired mode looks the test up among the reference build's records.
        let reference = [with_queries(record(vec![], false), 2)];
        let paired = counts_against(&reference, &with_queries(record(vec![], false), 41));
        assert_eq!(paired[0].change_verdict, Change::Regression);
        assert_eq!((paired[0].base_ns, paired[0].new_ns), (2.0, 41.0));
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
        assert_eq!((from_none[0].base_ns, from_none[0].new_ns), (0.0, 3.0));
        assert_eq!(from_none[0].change_verdict, Change::Regression);
    }
}
