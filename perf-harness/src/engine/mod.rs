//! The engines that measure a registered perf test; they return data, never touch terminals.

pub mod latency;
pub mod micro;
pub mod runtime;

use std::time::Instant;

use hdrhistogram::Histogram;

use crate::bencher::Bencher;
use crate::criterion_files::CriterionEstimates;
use crate::db::QueryStats;
use crate::outcome::Failure;
use crate::record::load::LoadReport;
use crate::record::Stats;
use crate::spec::Spec;
use crate::stats;

/// What an engine needs of the test it runs: its name, attribute and code (the registry
/// entry gives it, see `registry::PerfTest::subject`).
#[derive(Clone)]
pub struct Subject<'a> {
    /// The full name (`tests::parse_small_json`), as in messages and criterion's ids.
    pub name: String,
    /// The validated attribute.
    pub spec: &'a Spec,
    /// Whether the body is an `async fn` (it then runs on a tokio runtime the harness owns).
    pub is_async: bool,
    /// The code the engine drives.
    pub routine: Routine,
}

/// How the engine calls a perf test's body.
#[derive(Clone, Copy)]
pub enum Routine {
    /// A micro-benchmark body driven by criterion through a `Bencher`.
    Micro(fn(&mut Bencher<'_, '_>)),
    /// A body timed once per sample by the latency engine; the function runs setup itself.
    Timed(fn(&mut latency::Sampler) -> Result<(), Failure>),
    /// An async body run by virtual users against an HTTP service (load tests).
    #[cfg(feature = "load")]
    Load(LoadRoutine),
}

/// A load test's code: runs its `load::Scenario` (whose state type only the expansion knows)
/// in a mode.
#[derive(Clone, Copy)]
pub struct LoadRoutine {
    /// `Scenario::run` for the test's state type.
    pub run: fn(&Subject<'_>, &Mode) -> Result<Option<Measurement>, Failure>,
}

/// How thoroughly to run a test.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// `cargo test`: run the body a few times to prove it works; no timing verdicts.
    Smoke,
    /// `cargo perf`: measure in full (or briefly, with `quick`).
    Full {
        /// Fewer samples and shorter criterion times (`cargo perf --quick`).
        quick: bool,
        /// One round of a paired comparison (`cargo perf --against`): the rounds replicate the
        /// measurement, so a micro-benchmark measures briefly in each.
        round: bool,
        /// Where criterion keeps its output (`target/criterion`).
        criterion_home: std::path::PathBuf,
        /// Cargo package of the test, the first level of criterion's id.
        package: String,
        /// Cargo target of the test, the second level of criterion's id.
        target: String,
    },
}

/// What a full run measured.
#[derive(Debug)]
pub struct Measurement {
    /// Summary statistics.
    pub stats: Stats,
    /// Every timed sample in nanoseconds, in order (criterion: per-iteration time of each sample).
    pub samples_ns: Vec<u64>,
    /// The same samples in an HDR histogram.
    pub histogram: Histogram<u64>,
    /// Criterion's estimates, for micro-benchmarks.
    pub criterion: Option<CriterionEstimates>,
    /// Time spent in `setup`, not counted in any sample.
    pub setup_ns: Option<u64>,
    /// Wall time of the whole measurement.
    pub elapsed_ns: u64,
    /// Database statements the timed calls issued, when any client reported them.
    pub queries: Option<QueryStats>,
    /// Load tests: everything besides the iteration statistics.
    pub load: Option<LoadReport>,
    /// Measured, but the test must still be reported as failed (e.g. the body panicked).
    pub failure: Option<String>,
}

/// Runs `test` in `mode`; in smoke mode the measurement is `None`.
pub fn run(test: &Subject<'_>, mode: &Mode) -> Result<Option<Measurement>, Failure> {
    let started = Instant::now();
    match (test.routine, mode) {
        (Routine::Micro(body), Mode::Smoke) => {
            body(&mut Bencher::smoke());
            Ok(None)
        }
        (
            Routine::Micro(body),
            Mode::Full {
                quick,
                round,
                criterion_home,
                package,
                target,
            },
        ) => {
            let length = micro::Length::of(*quick, *round);
            let run = micro::run(test, body, criterion_home, (package, target), length)?;
            let histogram = stats::histogram_of(&run.samples_ns);
            let mut s = Stats::from_samples(&run.samples_ns, &histogram)
                .ok_or_else(|| Failure::Harness("criterion recorded no samples".into()))?;
            // Mean and median are criterion's own estimates, so thresholds match `cargo bench`.
            s.mean_ns = run.estimates.mean.point_estimate;
            s.p50_ns = run.estimates.median.point_estimate;
            s.std_dev_ns = run.estimates.std_dev.point_estimate;
            Ok(Some(Measurement {
                stats: s,
                samples_ns: run.samples_ns,
                histogram,
                criterion: Some(run.estimates),
                setup_ns: None,
                elapsed_ns: started.elapsed().as_nanos() as u64,
                queries: None,
                load: None,
                failure: None,
            }))
        }
        (Routine::Timed(body), mode) => match run_timed(body, test, mode, started) {
            (measurement, None) => Ok(measurement),
            (_, Some(failure)) => Err(failure),
        },
        #[cfg(feature = "load")]
        (Routine::Load(routine), mode) => (routine.run)(test, mode),
    }
}

/// Like `run`, but a latency test that fails part-way (an `Err`, a timeout, a database that
/// went away) also returns what it measured before the failure: nothing measured is lost.
pub fn run_keeping_partial(
    test: &Subject<'_>,
    mode: &Mode,
) -> (Option<Measurement>, Option<Failure>) {
    match test.routine {
        Routine::Timed(body) => run_timed(body, test, mode, Instant::now()),
        Routine::Micro(_) => run_untimed(test, mode),
        #[cfg(feature = "load")]
        Routine::Load(_) => run_untimed(test, mode),
    }
}

/// `run` for the engines that keep nothing of a failed run.
fn run_untimed(test: &Subject<'_>, mode: &Mode) -> (Option<Measurement>, Option<Failure>) {
    match run(test, mode) {
        Ok(measurement) => (measurement, None),
        Err(failure) => (None, Some(failure)),
    }
}

fn run_timed(
    body: fn(&mut latency::Sampler) -> Result<(), Failure>,
    test: &Subject<'_>,
    mode: &Mode,
    started: Instant,
) -> (Option<Measurement>, Option<Failure>) {
    let mut sampler = match latency::Sampler::new(test, mode) {
        Ok(sampler) => sampler,
        Err(failure) => return (None, Some(failure)),
    };
    let outcome = body(&mut sampler);
    if matches!(mode, Mode::Smoke) {
        return (None, outcome.err());
    }
    let queries = sampler.take_queries();
    let (samples_ns, setup_ns) = sampler.finish();
    let histogram = stats::histogram_of(&samples_ns);
    let measurement = Stats::from_samples(&samples_ns, &histogram).map(|stats| Measurement {
        stats,
        samples_ns,
        histogram,
        criterion: None,
        setup_ns,
        elapsed_ns: started.elapsed().as_nanos() as u64,
        queries,
        load: None,
        failure: None,
    });
    match (measurement, outcome) {
        (Some(m), Ok(())) => (Some(m), None),
        (None, Ok(())) => (
            None,
            Some(Failure::Harness("the test recorded no samples".into())),
        ),
        (partial, Err(failure)) => (partial, Some(failure)),
    }
}
