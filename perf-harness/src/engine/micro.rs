//! The micro-benchmark engine: criterion measures, we read its estimates back.

use std::path::Path;
use std::time::Duration;

use super::Subject;
use crate::bencher::Bencher;
use crate::criterion_files::{self, CriterionEstimates};
use crate::outcome::Failure;

/// What criterion measured for one benchmark.
pub struct MicroRun {
    /// Criterion's estimates (from `estimates.json`).
    pub estimates: CriterionEstimates,
    /// Per-iteration time of each criterion sample, in nanoseconds.
    pub samples_ns: Vec<u64>,
}

/// How long criterion measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    /// The attribute's (or criterion's default) warm-up and measurement time.
    Full,
    /// `--quick`: 0.3 s warm-up, 1 s measurement, 20 samples.
    Quick,
    /// One round of a paired comparison: 0.15 s warm-up, 0.5 s measurement, 20 samples; the
    /// rounds are the replication, and the new build's samples of every round are pooled.
    Round,
}

impl Length {
    /// The length for a run: a paired round is always short; otherwise `--quick` decides.
    pub fn of(quick: bool, round: bool) -> Length {
        match (round, quick) {
            (true, _) => Length::Round,
            (false, true) => Length::Quick,
            (false, false) => Length::Full,
        }
    }
}

/// Benchmarks `body` with criterion as `<package>/<target>/<test>`, so criterion's directory is
/// `criterion_home/<package>/<target>/<test>` and two packages' `tests/suite.rs` never collide.
pub fn run(
    test: &Subject<'_>,
    body: fn(&mut Bencher<'_, '_>),
    criterion_home: &Path,
    (package, target): (&str, &str),
    length: Length,
) -> Result<MicroRun, Failure> {
    let spec = test.spec;
    let (warm_up, measurement, sample_size, resamples) = match length {
        Length::Round => (
            Duration::from_millis(150),
            Duration::from_millis(500),
            20,
            10_000,
        ),
        Length::Quick => (
            Duration::from_millis(300),
            Duration::from_secs(1),
            20,
            100_000,
        ),
        Length::Full => (
            spec.warmup_ns
                .map_or(Duration::from_secs(3), Duration::from_nanos),
            spec.duration_ns
                .map_or(Duration::from_secs(5), Duration::from_nanos),
            spec.samples.map_or(100, |n| n.max(10) as usize),
            100_000,
        ),
    };
    let mut criterion = criterion::Criterion::default()
        .output_directory(criterion_home)
        .warm_up_time(warm_up)
        .measurement_time(measurement)
        .sample_size(sample_size)
        .nresamples(resamples)
        .without_plots();
    let function = test.name.clone();
    // Criterion rejects empty ids; a binary run by hand may not know its package or target.
    let package = if package.is_empty() { "perf" } else { package };
    let target = if target.is_empty() { "tests" } else { target };
    {
        let mut g = criterion.benchmark_group(package);
        let id = criterion::BenchmarkId::new(target, &function);
        g.bench_function(id, |b| body(&mut Bencher::criterion(b)));
        g.finish();
    }
    let dir = criterion_files::benchmark_dir(criterion_home, &[package, target, &function]);
    let estimates = criterion_files::read_estimates(&dir).map_err(Failure::Harness)?;
    let samples_ns = criterion_files::read_sample_times(&dir).map_err(Failure::Harness)?;
    Ok(MicroRun {
        estimates,
        samples_ns,
    })
}
