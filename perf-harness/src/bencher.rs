//! `Bencher`: the handle a micro-benchmark body uses to mark its measured routine.
//!
//! Under `cargo perf` it forwards to criterion's `Bencher`, so numbers are criterion's; under
//! `cargo test` it calls the routine once so a broken benchmark fails the ordinary test run.

use std::time::{Duration, Instant};

/// How many inputs `Bencher::iter_batched` sets up before timing them: criterion's `BatchSize`.
pub use criterion::BatchSize;

/// Passed to `#[perf_test] fn name(b: &mut Bencher)`; call one of its `iter*` methods once.
///
/// A micro-benchmark without an argument times its whole body; take a `Bencher` to keep
/// preparation out of the measurement.
///
/// ```no_run
/// use perf_harness::{perf_test, BatchSize, Bencher};
///
/// #[perf_test(median = "5us")]
/// fn sort_thousand(b: &mut Bencher) {
///     b.iter_batched(
///         || (0..1000).rev().collect::<Vec<u32>>(), // not timed
///         |mut v| v.sort(),                          // timed
///         BatchSize::SmallInput,
///     );
/// }
/// # fn main() {}
/// ```
pub struct Bencher<'a, 'b> {
    inner: Inner<'a, 'b>,
}

enum Inner<'a, 'b> {
    Criterion(&'b mut criterion::Bencher<'a>),
    Smoke,
}

impl<'a, 'b> Bencher<'a, 'b> {
    pub(crate) fn criterion(b: &'b mut criterion::Bencher<'a>) -> Self {
        Bencher {
            inner: Inner::Criterion(b),
        }
    }

    pub(crate) fn smoke() -> Self {
        Bencher {
            inner: Inner::Smoke,
        }
    }

    /// Times `routine` in criterion's batches; its return value is kept from being optimized away.
    pub fn iter<O, R: FnMut() -> O>(&mut self, mut routine: R) {
        match &mut self.inner {
            Inner::Criterion(b) => b.iter(routine),
            Inner::Smoke => drop(std::hint::black_box(routine())),
        }
    }

    /// Times `routine` on fresh inputs from `setup`; setup time is not measured.
    pub fn iter_batched<I, O, S, R>(&mut self, mut setup: S, mut routine: R, size: BatchSize)
    where
        S: FnMut() -> I,
        R: FnMut(I) -> O,
    {
        match &mut self.inner {
            Inner::Criterion(b) => b.iter_batched(setup, routine, size),
            Inner::Smoke => drop(std::hint::black_box(routine(setup()))),
        }
    }

    /// Like `iter_batched`, passing the input by reference so its drop is not measured.
    pub fn iter_batched_ref<I, O, S, R>(&mut self, mut setup: S, mut routine: R, size: BatchSize)
    where
        S: FnMut() -> I,
        R: FnMut(&mut I) -> O,
    {
        match &mut self.inner {
            Inner::Criterion(b) => b.iter_batched_ref(setup, routine, size),
            Inner::Smoke => {
                let mut input = setup();
                drop(std::hint::black_box(routine(&mut input)));
            }
        }
    }

    /// Lets the routine time `iters` iterations itself and return the total.
    pub fn iter_custom<R: FnMut(u64) -> Duration>(&mut self, mut routine: R) {
        match &mut self.inner {
            Inner::Criterion(b) => b.iter_custom(routine),
            Inner::Smoke => {
                let start = Instant::now();
                std::hint::black_box(routine(1));
                std::hint::black_box(start.elapsed());
            }
        }
    }
}
