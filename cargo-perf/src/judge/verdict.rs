//! Judging: a record checked against its thresholds (one verdict each), a run's outcomes and
//! change verdicts counted. The types are perf-schema's; the rules live here, in `cargo perf`,
//! so a user's test binary compiles none of them. Import the traits to call them as methods.

use crate::judge::budgets::{Active, Effective};
use crate::judge::{leak, recovery};
use perf_schema::comparison::Change;
use perf_schema::record::load::{Latency, LoadReport, NameReport};
use perf_schema::record::{QueryStats, Record, Stats, Status};
use perf_schema::spec::Threshold;
use perf_schema::summary::{
    ComparedWith, Summary, TestOutcome, TestResult, Totals, Verdict, SUMMARY_SCHEMA,
};

/// The verdicts of a record's thresholds.
pub trait Verdicts {
    /// Checks every threshold against the statistics, with the limits that budgets and the
    /// environment set (`perf.toml`; the attribute's own without one); a failed test fails them
    /// all.
    fn verdicts_under(&self, budgets: &Active) -> Vec<Verdict>;

    /// The same, with the limits given (a merge takes them from the shards' verdicts).
    fn verdicts_by(&self, limits: Vec<Effective>, env: Option<&str>) -> Vec<Verdict>;
}

impl Verdicts for Record {
    fn verdicts_under(&self, budgets: &Active) -> Vec<Verdict> {
        let limits = budgets.thresholds(
            &self.test.package,
            &self.test.name,
            self.spec.kind,
            &self.spec.thresholds,
        );
        self.verdicts_by(limits, budgets.env())
    }

    fn verdicts_by(&self, limits: Vec<Effective>, env: Option<&str>) -> Vec<Verdict> {
        let env = env.map(str::to_string);
        // The `p95` limit in force: `recovery` is judged against it.
        let p95_limit_ns = limits.iter().find_map(|l| match l.threshold {
            Threshold::Percentile {
                percentile: 95.0,
                limit_ns,
            } => Some(limit_ns as f64),
            _ => None,
        });
        limits
            .into_iter()
            .map(|limit| {
                let threshold = limit.threshold;
                let measured = match (threshold, &self.load) {
                    (Threshold::MaxQueries { .. } | Threshold::NPlusOne, _) => self
                        .stats
                        .as_ref()
                        .and(self.queries.as_ref())
                        .and_then(|q| measured_count(q, &threshold)),
                    (Threshold::ErrorRate { .. }, Some(l)) => Some(l.error_rate),
                    (Threshold::Throughput { .. }, Some(l)) => Some(l.iterations_per_s),
                    (Threshold::Rss { .. }, Some(l)) => l.peak_rss_bytes.map(|b| b as f64),
                    (Threshold::Cpu { .. }, Some(l)) => l.cpu_percent,
                    (Threshold::RssGrowth { .. }, Some(l)) => {
                        leak::rss_trend(&l.timeline).map(|t| t.bytes_per_h)
                    }
                    (Threshold::Recovery { .. }, Some(l)) => {
                        let spikes = self.spec.stages.as_ref().map(|s| s.spikes());
                        spikes
                            .zip(p95_limit_ns)
                            .and_then(|(spikes, limit)| {
                                recovery::worst(&recovery::recoveries(&spikes, &l.timeline, limit))
                            })
                            .map(|ns| ns as f64)
                    }
                    _ => self
                        .stats
                        .as_ref()
                        .and_then(|s| measured_stat(s, &threshold)),
                };
                // A failed test keeps what it measured before failing, but passes nothing.
                let measured_fully = self.status == Status::Measured;
                // A shard generated part of the load: it owes that part of the throughput.
                let threshold = match (threshold, self.load.as_ref().and_then(|l| l.shard)) {
                    (Threshold::Throughput { min_per_s }, Some(part)) => Threshold::Throughput {
                        min_per_s: min_per_s * part.share,
                    },
                    (t, _) => t,
                };
                let averaged = matches!(threshold, Threshold::MaxQueries { .. })
                    && self.queries.as_ref().is_some_and(|q| q.averaged);
                Verdict {
                    threshold,
                    measured,
                    unit: threshold.unit(),
                    passed: measured_fully && measured.is_some_and(|m| threshold.holds(m)),
                    scope: None,
                    budget: limit.budget,
                    env: env.clone(),
                    scale: limit.scale,
                    generator_lag_p99_ns: None,
                    averaged,
                }
            })
            .chain(
                self.spec
                    .request_thresholds
                    .iter()
                    .flat_map(|t| t.iter())
                    .chain(self.load.iter().flat_map(|l| l.request_thresholds.iter()))
                    .map(|named| {
                        let threshold = named.threshold;
                        let measured = self
                            .load
                            .as_ref()
                            .and_then(|l| l.by_name(&named.name))
                            .and_then(|n| measured_by_name(n, &threshold));
                        Verdict {
                            threshold,
                            measured,
                            unit: threshold.unit(),
                            passed: measured.is_some_and(|m| threshold.holds(m)),
                            scope: Some(named.name.to_string()),
                            budget: None,
                            env: env.clone(),
                            scale: None,
                            generator_lag_p99_ns: None,
                            averaged: false,
                        }
                    }),
            )
            .map(|mut v| {
                v.generator_lag_p99_ns = self.load.as_ref().and_then(|l| generator_blame(l, &v));
                v
            })
            .collect()
    }
}

/// A generator lag (p99) above which a failed latency or throughput verdict is the generator's:
/// it started iterations this late behind their slots, so the load it generated was not the
/// load asked for. Two ticks of tokio's millisecond timer, which a think time may oversleep.
pub const GENERATOR_BEHIND_NS: f64 = 2e6;

/// A generator lag (p99) below which it never decides a verdict: the scheduling precision the
/// engine keeps on an idle core.
pub const GENERATOR_PRECISE_NS: f64 = 50e3;

/// The generator's lag at p99 when it, not the service, made `v` fail: the same latency
/// threshold holds on the service time (from the schedule = service time + lag, so the lag made
/// the difference), or the generator fell more than [`GENERATOR_BEHIND_NS`] behind and its lag
/// could explain the failure (a service time that fails by more than the whole lag is the
/// service's, however late the generator was).
fn generator_blame(load: &LoadReport, v: &Verdict) -> Option<f64> {
    let lag = load.schedule_lag.as_ref()?;
    let latency = matches!(
        v.threshold,
        Threshold::Mean { .. }
            | Threshold::Median { .. }
            | Threshold::Max { .. }
            | Threshold::Percentile { .. }
    );
    let rate = matches!(v.threshold, Threshold::Throughput { .. });
    if v.passed || !(latency || rate) || lag.p99_ns <= GENERATOR_PRECISE_NS {
        return None;
    }
    let service = match &v.scope {
        None => load.iteration_service.as_ref(),
        Some(name) => load
            .by_name(name)
            .filter(|n| n.corrected.is_some())
            .map(|n| &n.latency),
    };
    let service_value = service.and_then(|s| latency_value(s, &v.threshold));
    let service_holds = latency && service_value.is_some_and(|m| v.threshold.holds(m));
    let lag_could_explain =
        !latency || service_value.is_none_or(|m| v.threshold.holds(m - lag.p99_ns));
    (service_holds || (lag.p99_ns > GENERATOR_BEHIND_NS && lag_could_explain)).then_some(lag.p99_ns)
}

/// The statistic of `l` a latency threshold is checked against.
fn latency_value(l: &Latency, threshold: &Threshold) -> Option<f64> {
    match *threshold {
        Threshold::Mean { .. } => Some(l.mean_ns),
        Threshold::Median { .. } => Some(l.p50_ns),
        Threshold::Max { .. } => Some(l.max_ns),
        Threshold::Percentile { percentile, .. } => l.percentile(percentile),
        _ => None,
    }
}

/// A record judged into a result.
pub trait Judge {
    /// Judges a record against its thresholds.
    fn judge(record: Record) -> TestResult {
        Self::judge_under(record, &Active::default())
    }

    /// Judges a record against its thresholds as budgets and the environment set them.
    fn judge_under(record: Record, budgets: &Active) -> TestResult {
        let verdicts = record.verdicts_under(budgets);
        Self::judged(record, verdicts)
    }

    /// A result from a record and its verdicts.
    fn judged(record: Record, verdicts: Vec<Verdict>) -> TestResult;
}

impl Judge for TestResult {
    fn judged(record: Record, verdicts: Vec<Verdict>) -> TestResult {
        let outcome = match record.status {
            Status::Failed { .. } => TestOutcome::Error,
            Status::Measured if verdicts.iter().all(|v| v.passed) => TestOutcome::Pass,
            Status::Measured => TestOutcome::Fail,
        };
        TestResult {
            outcome,
            verdicts,
            record,
            comparison: None,
            counts: Vec::new(),
            capacity: None,
        }
    }
}

/// The change verdicts of a run, counted.
pub trait Tally {
    /// Counts the change verdicts of `results`.
    fn count(&mut self, results: &[TestResult]);
}

impl Tally for ComparedWith {
    fn count(&mut self, results: &[TestResult]) {
        // A count that regressed makes the test a regression whatever its timing did.
        let verdict = |r: &TestResult| {
            if r.counts
                .iter()
                .any(|c| c.change_verdict == Change::Regression)
            {
                Some(Change::Regression)
            } else {
                r.comparison.as_ref().map(|x| x.change_verdict)
            }
        };
        let count = |c: Change| results.iter().filter(|r| verdict(r) == Some(c)).count();
        self.regressions = count(Change::Regression);
        self.improvements = count(Change::Improvement);
        self.unchanged = count(Change::Unchanged);
        self.inconclusive = count(Change::Inconclusive);
        self.not_compared = results.len()
            - self.regressions
            - self.improvements
            - self.unchanged
            - self.inconclusive;
    }
}

/// A run's summary from its results.
pub trait NewSummary {
    /// Builds a summary, counting outcomes.
    fn new(started_at: u64, duration_s: f64, profile: String, results: Vec<TestResult>) -> Self;
}

impl NewSummary for Summary {
    fn new(started_at: u64, duration_s: f64, profile: String, results: Vec<TestResult>) -> Self {
        let count = |o: TestOutcome| results.iter().filter(|r| r.outcome == o).count();
        Summary {
            schema: SUMMARY_SCHEMA.into(),
            tool_version: env!("CARGO_PKG_VERSION").into(),
            started_at,
            duration_s,
            profile,
            totals: Totals {
                tests: results.len(),
                passed: count(TestOutcome::Pass),
                failed: count(TestOutcome::Fail),
                errors: count(TestOutcome::Error),
            },
            results,
            machine: None,
            git_commit: None,
            compared_with: None,
            shard: None,
            merged_shards: None,
        }
    }
}

fn measured_stat(stats: &Stats, threshold: &Threshold) -> Option<f64> {
    match threshold {
        Threshold::Mean { .. } => Some(stats.mean_ns),
        Threshold::Median { .. } => Some(stats.p50_ns),
        Threshold::Max { .. } => Some(stats.max_ns),
        Threshold::Percentile { percentile, .. } => stats.percentile(*percentile),
        _ => None,
    }
}

/// Counts are exact: the busiest call's statements, or the growth between fixture sizes.
/// A capture that saw no statement at all measured nothing (a client that reports none).
fn measured_count(q: &QueryStats, threshold: &Threshold) -> Option<f64> {
    if q.statements == 0 {
        return None;
    }
    match threshold {
        Threshold::MaxQueries { .. } => Some(q.max_per_call as f64),
        Threshold::NPlusOne => q.scaling.map(|[half, full]| full as f64 - half as f64),
        _ => None,
    }
}

/// The value a per-name threshold is checked against: latency from the corrected histogram in
/// the open model (the service time otherwise), or the name's error rate.
fn measured_by_name(n: &NameReport, threshold: &Threshold) -> Option<f64> {
    let l = n.corrected.as_ref().unwrap_or(&n.latency);
    match *threshold {
        Threshold::ErrorRate { .. } => Some(if n.requests == 0 {
            0.0
        } else {
            n.failed as f64 / n.requests as f64
        }),
        _ => latency_value(l, threshold),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_schema::record::TestId;
    use perf_schema::spec::{Kind, Spec};
    use std::borrow::Cow;

    /// A latency whose every statistic is `ns`.
    fn flat(ns: f64) -> Latency {
        Latency {
            count: 100,
            mean_ns: ns,
            min_ns: ns,
            p50_ns: ns,
            p90_ns: ns,
            p95_ns: ns,
            p99_ns: ns,
            p999_ns: ns,
            max_ns: ns,
            histogram: String::new(),
        }
    }

    fn failed(threshold: Threshold) -> Verdict {
        Verdict {
            threshold,
            measured: None,
            unit: threshold.unit(),
            passed: false,
            scope: None,
            budget: None,
            env: None,
            scale: None,
            generator_lag_p99_ns: None,
            averaged: false,
        }
    }

    #[test]
    fn a_failure_the_generators_lag_decided_is_the_generators() {
        let p95 = Threshold::Percentile {
            percentile: 95.0,
            limit_ns: 1_000_000,
        };
        let rate = Threshold::Throughput { min_per_s: 500.0 };
        let mut record = crate::report::load_md::tests::load_record();
        let l = record.load.as_mut().expect("load");
        // Open model: 5 ms from the schedule, of which the service took 0.5 ms.
        l.iteration = flat(5e6);
        l.iteration_service = Some(flat(0.5e6));
        l.schedule_lag = Some(flat(4.5e6));
        assert_eq!(generator_blame(l, &failed(p95)), Some(4.5e6));
        // Behind by more than two timer ticks: a missed rate is the generator's too.
        assert_eq!(generator_blame(l, &failed(rate)), Some(4.5e6));
        // ... and so is a latency the lag could account for (1.5 ms - 4.5 ms holds)...
        l.iteration_service = Some(flat(1.5e6));
        assert_eq!(generator_blame(l, &failed(p95)), Some(4.5e6));
        // ... but not a service time that fails by more than the whole lag (a queue of
        // seconds behind a saturated service).
        l.iteration_service = Some(flat(2.3e9));
        assert_eq!(generator_blame(l, &failed(p95)), None);
        assert_eq!(generator_blame(l, &failed(rate)), Some(4.5e6));
        // A little late, but the service time fails on its own: the service's.
        l.schedule_lag = Some(flat(0.2e6));
        l.iteration_service = Some(flat(1.5e6));
        assert_eq!(generator_blame(l, &failed(p95)), None);
        assert_eq!(generator_blame(l, &failed(rate)), None);
        // The lag made the difference: the service time holds.
        l.iteration_service = Some(flat(0.9e6));
        assert_eq!(generator_blame(l, &failed(p95)), Some(0.2e6));
        // Within the engine's precision the generator decides nothing.
        l.schedule_lag = Some(flat(GENERATOR_PRECISE_NS));
        assert_eq!(generator_blame(l, &failed(p95)), None);
        // Passed verdicts, error rates and records without a measured lag: nobody to blame.
        l.schedule_lag = Some(flat(9e6));
        let mut passed = failed(p95);
        passed.passed = true;
        assert_eq!(generator_blame(l, &passed), None);
        let errors = Threshold::ErrorRate { max: 0.01 };
        assert_eq!(generator_blame(l, &failed(errors)), None);
        l.schedule_lag = None;
        assert_eq!(generator_blame(l, &failed(p95)), None);
    }

    fn record(stats: Option<Stats>, thresholds: &'static [Threshold]) -> Record {
        let test = TestId {
            package: "p".into(),
            target: "t".into(),
            name: "m::f".into(),
            file: "tests/a.rs".into(),
            line: 3,
        };
        let spec = Spec {
            kind: Kind::Latency,
            thresholds: Cow::Borrowed(thresholds),
            samples: Some(10),
            ..Spec::MICRO
        };
        let status = if stats.is_some() {
            Status::Measured
        } else {
            Status::Failed {
                message: "boom".into(),
            }
        };
        Record {
            stats,
            ..Record::new(test, spec, status)
        }
    }

    fn stats(p95: f64) -> Stats {
        Stats {
            samples: 10,
            mean_ns: 10.0,
            std_dev_ns: 1.0,
            min_ns: 1.0,
            p50_ns: 10.0,
            p75_ns: 12.0,
            p90_ns: 14.0,
            p95_ns: p95,
            p99_ns: 30.0,
            p999_ns: 40.0,
            max_ns: 50.0,
            throughput_per_s: None,
        }
    }

    const P95_20: &[Threshold] = &[
        Threshold::Percentile {
            percentile: 95.0,
            limit_ns: 20,
        },
        Threshold::Max { limit_ns: 50 },
    ];

    #[test]
    fn thresholds_are_inclusive_upper_bounds() {
        let pass = TestResult::judge(record(Some(stats(20.0)), P95_20));
        assert_eq!(pass.outcome, TestOutcome::Pass);
        assert!(pass.verdicts.iter().all(|v| v.passed));
        let fail = TestResult::judge(record(Some(stats(20.5)), P95_20));
        assert_eq!(fail.outcome, TestOutcome::Fail);
        assert_eq!(fail.verdicts[0].measured, Some(20.5));
        assert!(!fail.verdicts[0].passed);
        assert!(fail.verdicts[1].passed);
    }

    #[test]
    fn a_failed_test_is_an_error_and_fails_every_threshold() {
        let r = TestResult::judge(record(None, P95_20));
        assert_eq!(r.outcome, TestOutcome::Error);
        assert!(r.verdicts.iter().all(|v| !v.passed && v.measured.is_none()));
        // Samples measured before the failure are shown, but pass nothing.
        let mut partial = record(Some(stats(1.0)), P95_20);
        partial.status = Status::Failed {
            message: "call 57 returned an error".into(),
        };
        let r = TestResult::judge(partial);
        assert_eq!(r.outcome, TestOutcome::Error);
        assert_eq!(r.verdicts[0].measured, Some(1.0));
        assert!(r.verdicts.iter().all(|v| !v.passed));
    }

    #[test]
    fn query_counts_are_exact_verdicts() {
        const Q: &[Threshold] = &[Threshold::MaxQueries { limit: 2 }, Threshold::NPlusOne];
        let queries = |max_per_call, scaling| QueryStats {
            calls: 10,
            statements: 20,
            min_per_call: 1,
            max_per_call,
            mean_per_call: 2.0,
            scaling,
            distinct: 2,
            averaged: false,
            top: vec![],
        };
        let mut r = record(Some(stats(1.0)), Q);
        r.queries = Some(queries(2, Some([21, 21])));
        let pass = TestResult::judge(r.clone());
        assert_eq!(pass.outcome, TestOutcome::Pass);
        assert_eq!(pass.verdicts[0].measured, Some(2.0));
        assert_eq!(pass.verdicts[1].measured, Some(0.0));
        r.queries = Some(queries(3, Some([11, 21])));
        let fail = TestResult::judge(r.clone());
        assert_eq!(fail.outcome, TestOutcome::Fail);
        assert!(!fail.verdicts[0].passed && !fail.verdicts[1].passed);
        assert_eq!(fail.verdicts[1].measured, Some(10.0));
        // No statement captured: not measured, so not passed.
        r.queries = Some(QueryStats {
            statements: 0,
            ..queries(0, None)
        });
        let blind = TestResult::judge(r.clone());
        assert!(blind
            .verdicts
            .iter()
            .all(|v| v.measured.is_none() && !v.passed));
        r.queries = None;
        assert_eq!(TestResult::judge(r).outcome, TestOutcome::Fail);
    }

    #[test]
    fn summary_counts_outcomes() {
        let s = Summary::new(
            0,
            1.0,
            "bench".into(),
            vec![
                TestResult::judge(record(Some(stats(1.0)), P95_20)),
                TestResult::judge(record(Some(stats(99.0)), P95_20)),
                TestResult::judge(record(None, P95_20)),
            ],
        );
        assert_eq!(
            s.totals,
            Totals {
                tests: 3,
                passed: 1,
                failed: 1,
                errors: 1
            }
        );
    }

    #[test]
    fn the_headline_counts_regressions_so_it_agrees_with_the_exit_code() {
        let mut s = Summary::new(
            0,
            1.0,
            "bench".into(),
            vec![
                TestResult::judge(record(Some(stats(1.0)), P95_20)),
                TestResult::judge(record(Some(stats(2.0)), P95_20)),
            ],
        );
        assert_eq!(s.headline(), "2 passed, 0 failed, 0 errors");
        s.compared_with = Some(perf_schema::summary::ComparedWith {
            mode: perf_schema::summary::CompareMode::Baseline,
            against: "base".into(),
            commit: None,
            notes: Vec::new(),
            regressions: 2,
            improvements: 0,
            unchanged: 0,
            inconclusive: 0,
            not_compared: 0,
            builds: Vec::new(),
        });
        assert_eq!(s.headline(), "2 passed (2 regressed), 0 failed, 0 errors");
    }
}
