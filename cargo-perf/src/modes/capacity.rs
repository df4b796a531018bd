//! `cargo perf --capacity LOW..HIGH`: the highest arrival rate at which every threshold of an
//! open-model test holds. Each step runs the test at one rate in its own process (as any run
//! does, `setup` included); the rate doubles from LOW until a step fails, then the interval is
//! bisected in ratio down to [`RESOLUTION`]. A step the generator could not keep up with stops
//! the search: no service capacity is claimed there.

use crate::cli::RateRange;
use crate::error::PerfError;
use crate::exec::runner::{self, RunConfig};
use crate::judge::budgets::Active;
use crate::judge::verdict::Judge;
use crate::project::discover::Found;
use crate::report::capacity::per_s;
use perf_schema::protocol::ENV_RATE;
use perf_schema::record::Status;
use perf_schema::spec::{format_ns, Kind};
use perf_schema::summary::{Capacity, CapacityEnd, CapacityStep, TestOutcome, TestResult};

/// The search ends when the lowest failed rate is at most this ratio above the highest held.
pub const RESOLUTION: f64 = 1.02;

/// Every selected test must be an open-model load test with a constant `rate`.
pub fn check(selected: &[Found]) -> Result<(), PerfError> {
    let others = crate::project::select::misfits(selected, |s| {
        s.kind == Kind::Load && s.rate.is_some() && s.stages.is_none()
    });
    if others.is_empty() {
        return Ok(());
    }
    Err(PerfError::Usage(format!(
        "--capacity searches the arrival rate of open-model load tests with a constant `rate`; \
         not {}: select the tests to search with a filter (`cargo perf --capacity 50/s..2000/s \
         NAME`), or give the test `rate = \"100/s\"`",
        others.join(", ")
    )))
}

/// How one step ended, for the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepVerdict {
    /// Every threshold held and no iteration was dropped.
    Held,
    /// A threshold failed, or iterations were dropped: the service's limit.
    Failed,
    /// A threshold failed because the generator fell behind.
    GeneratorLimit,
    /// The step could not be measured, or the run was interrupted.
    Stopped,
}

/// Where a search ended: the rates run, in order, and the bracket.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// Every rate run, in order.
    pub rates: Vec<f64>,
    /// The highest rate that held.
    pub held: Option<f64>,
    /// The lowest rate above `held` that failed (the service's limit).
    pub failed: Option<f64>,
    /// What ended it.
    pub ended: CapacityEnd,
}

/// The search itself, over `step` (which runs the test at a rate): doubling from the lowest
/// rate until a step fails or the highest holds, then bisecting in ratio.
pub fn search(range: RateRange, mut step: impl FnMut(f64) -> StepVerdict) -> Search {
    let mut s = Search {
        rates: Vec::new(),
        held: None,
        failed: None,
        ended: CapacityEnd::Found,
    };
    let mut rate = range.low_per_s;
    // Bracket: up by doubling.
    loop {
        s.rates.push(rate);
        match step(rate) {
            StepVerdict::Held if rate >= range.high_per_s => {
                s.held = Some(rate);
                s.ended = CapacityEnd::RangeHeld;
                return s;
            }
            StepVerdict::Held => {
                s.held = Some(rate);
                rate = (rate * 2.0).min(range.high_per_s);
            }
            StepVerdict::Failed => {
                s.failed = Some(rate);
                break;
            }
            other => return stopped(s, other),
        }
    }
    let (Some(mut low), Some(mut high)) = (s.held, s.failed) else {
        s.ended = CapacityEnd::LowestFailed;
        return s;
    };
    // Bisect in ratio: each step halves the interval's logarithm.
    while high / low > RESOLUTION {
        let mid = (low * high).sqrt();
        s.rates.push(mid);
        match step(mid) {
            StepVerdict::Held => low = mid,
            StepVerdict::Failed => high = mid,
            other => return stopped(s, other),
        }
        (s.held, s.failed) = (Some(low), Some(high));
    }
    s
}

fn stopped(mut s: Search, verdict: StepVerdict) -> Search {
    s.ended = match verdict {
        StepVerdict::GeneratorLimit => CapacityEnd::GeneratorLimit,
        _ => CapacityEnd::Stopped,
    };
    s
}

/// A step run: its judged result and what it adds to the search's history.
struct Ran {
    result: TestResult,
    infrastructure_error: bool,
    step: CapacityStep,
    verdict: StepVerdict,
}

/// Searches one test's capacity; returns its result (the highest step that held, else the last
/// one run) with the search attached, and whether the harness itself failed.
pub fn run(
    i: usize,
    found: &Found,
    config: &RunConfig,
    range: RateRange,
    budgets: &Active,
) -> (TestResult, bool) {
    let mut runs: Vec<Ran> = Vec::new();
    let s = search(range, |rate| {
        let ran = run_step(i, found, config, rate, budgets);
        eprintln!(
            "cargo perf: capacity of {}: step {} at {}: {}",
            found.test.id.name,
            runs.len() + 1,
            per_s(rate),
            describe(&ran)
        );
        let verdict = ran.verdict;
        runs.push(ran);
        verdict
    });
    let durations: Vec<f64> = runs
        .iter()
        .filter_map(|r| r.result.record.load.as_ref().map(|l| l.duration_s))
        .collect();
    let capacity = Capacity {
        range_per_s: [range.low_per_s, range.high_per_s],
        step_s: durations.iter().sum::<f64>() / durations.len().max(1) as f64,
        held_per_s: s.held,
        failed_per_s: s.failed,
        ended: s.ended,
        steps: runs.iter().map(|r| r.step.clone()).collect(),
    };
    let infrastructure_error = runs.iter().any(|r| r.infrastructure_error);
    // The result shown is the highest step that held; without one, the last step run.
    let chosen = match s.held {
        Some(rate) => runs.iter().rposition(|r| r.step.rate_per_s == rate),
        None => runs.len().checked_sub(1),
    };
    let mut result = match chosen {
        Some(i) => runs.swap_remove(i).result,
        None => unreachable_result(found),
    };
    result.capacity = Some(capacity);
    (result, infrastructure_error)
}

/// A result for a search that ran no step (the search always runs one; kept total).
fn unreachable_result(found: &Found) -> TestResult {
    TestResult::judge(runner::failed_record(
        found,
        "the capacity search ran no step".into(),
    ))
}

/// Runs the test at `rate` and judges it.
fn run_step(i: usize, found: &Found, config: &RunConfig, rate: f64, budgets: &Active) -> Ran {
    let mut step_config = config.clone();
    step_config
        .env
        .push((ENV_RATE.to_string(), format!("{rate}")));
    let ran = runner::run_one(i, found, &step_config);
    let result = TestResult::judge_under(ran.record, budgets);
    let load = result.record.load.as_ref();
    let dropped = load.map_or(0, |l| l.dropped_iterations);
    let mut failures: Vec<String> = result
        .verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(crate::report::verdict_text)
        .collect();
    if dropped > 0 {
        failures.push(format!(
            "{dropped} scheduled iterations found no free user (max_users)"
        ));
    }
    if let Status::Failed { message } = &result.record.status {
        failures.push(message.lines().next().unwrap_or_default().to_string());
    }
    let verdict =
        if crate::interrupted() || ran.infrastructure_error || result.outcome == TestOutcome::Error
        {
            StepVerdict::Stopped
        } else if result
            .verdicts
            .iter()
            .any(|v| !v.passed && v.generator_lag_p99_ns.is_some())
        {
            StepVerdict::GeneratorLimit
        } else if result.outcome == TestOutcome::Pass && dropped == 0 {
            StepVerdict::Held
        } else {
            StepVerdict::Failed
        };
    let step = CapacityStep {
        rate_per_s: rate,
        passed: verdict == StepVerdict::Held,
        iterations_per_s: load.map_or(0.0, |l| l.iterations_per_s),
        p95_ns: load.map_or(0.0, |l| l.iteration.p95_ns),
        p99_ns: load.map_or(0.0, |l| l.iteration.p99_ns),
        error_rate: load.map_or(0.0, |l| l.error_rate),
        dropped_iterations: dropped,
        generator_lag_p99_ns: load.and_then(|l| l.schedule_lag.as_ref()).map(|g| g.p99_ns),
        failures,
    };
    Ran {
        result,
        infrastructure_error: ran.infrastructure_error,
        step,
        verdict,
    }
}

/// `held (p99 11.2ms, 399.8/s done)` or `failed: p99 <= 50ms (measured 1.2s)`.
fn describe(ran: &Ran) -> String {
    let s = &ran.step;
    let done = format!(
        "p99 {}, {} done",
        format_ns(s.p99_ns),
        per_s(s.iterations_per_s)
    );
    match ran.verdict {
        StepVerdict::Held => format!("held ({done})"),
        StepVerdict::Failed => format!("failed ({done}): {}", s.failures.join("; ")),
        StepVerdict::GeneratorLimit => format!(
            "generator limit ({done}; generator lag p99 {}): {}",
            format_ns(s.generator_lag_p99_ns.unwrap_or(0.0)),
            s.failures.join("; ")
        ),
        StepVerdict::Stopped => format!("stopped: {}", s.failures.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(low: f64, high: f64) -> RateRange {
        RateRange {
            low_per_s: low,
            high_per_s: high,
        }
    }

    /// A service that holds every rate up to `capacity`.
    fn service(capacity: f64) -> impl FnMut(f64) -> StepVerdict {
        move |r| {
            if r <= capacity {
                StepVerdict::Held
            } else {
                StepVerdict::Failed
            }
        }
    }

    #[test]
    fn doubling_then_bisecting_brackets_the_capacity_within_two_percent() {
        let s = search(range(50.0, 2000.0), service(403.0));
        assert_eq!(s.ended, CapacityEnd::Found);
        assert_eq!(&s.rates[..5], &[50.0, 100.0, 200.0, 400.0, 800.0]);
        // Then geometric midpoints: √(400·800) = 565.7 fails, √(400·565.7) = 475.7 fails, ...
        assert!((s.rates[5] - 565.685).abs() < 1e-3, "{:?}", s.rates);
        let (held, failed) = (s.held.expect("held"), s.failed.expect("failed"));
        assert!(held <= 403.0 && failed > 403.0, "{held} {failed}");
        assert!(failed / held <= RESOLUTION, "{held} {failed}");
        // log2(ln 2 / ln 1.02) = 5.1: six bisections after five doublings.
        assert_eq!(s.rates.len(), 11, "{:?}", s.rates);
    }

    #[test]
    fn the_ends_of_the_range_say_so() {
        let top = search(range(50.0, 300.0), service(1e9));
        assert_eq!(top.ended, CapacityEnd::RangeHeld);
        assert_eq!(top.rates, vec![50.0, 100.0, 200.0, 300.0]);
        assert_eq!((top.held, top.failed), (Some(300.0), None));
        let bottom = search(range(50.0, 300.0), service(10.0));
        assert_eq!(bottom.ended, CapacityEnd::LowestFailed);
        assert_eq!((bottom.held, bottom.failed), (None, Some(50.0)));
        assert_eq!(bottom.rates, vec![50.0]);
    }

    #[test]
    fn a_generator_limit_or_an_error_stops_the_search() {
        let mut steps = 0;
        let s = search(range(100.0, 10_000.0), |r| {
            steps += 1;
            if r >= 800.0 {
                StepVerdict::GeneratorLimit
            } else {
                StepVerdict::Held
            }
        });
        assert_eq!(s.ended, CapacityEnd::GeneratorLimit);
        assert_eq!((s.held, s.failed), (Some(400.0), None));
        assert_eq!(steps, 4);
        let s = search(range(100.0, 10_000.0), |r| {
            if r > 150.0 {
                StepVerdict::Stopped
            } else {
                StepVerdict::Held
            }
        });
        assert_eq!((s.ended, s.held), (CapacityEnd::Stopped, Some(100.0)));
    }
}
