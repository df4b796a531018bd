//! The latency engine: one timed call per sample, after untimed warm-up calls.
//!
//! The `#[perf_test]` expansion owns the fixture (its type is only known there) and hands the
//! body to `Sampler::run_sync` or `Sampler::run_async`; the loop, timer and limits live here.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::time::{Duration, Instant};

use super::runtime::{AsyncFeature, Runtime};
use super::{Mode, Subject};
use crate::db::capture::Capture;
use crate::db::QueryStats;
use crate::outcome::{Failure, Outcome};
use crate::spec::format_ns;

/// Calls a smoke run makes: enough to show the body works, cheap in a debug build.
const SMOKE_CALLS: u64 = 3;

/// A boxed future borrowing the fixture; what `run_async` bodies return.
pub type BodyFuture<'a, O> = Pin<Box<dyn Future<Output = O> + 'a>>;

/// Drives a timed perf test: warm-up, samples, per-call timeout, setup timing.
pub struct Sampler {
    warmup: u64,
    samples: u64,
    timeout: Option<Duration>,
    runtime: Option<Runtime>,
    samples_ns: Vec<u64>,
    setup_ns: Option<u64>,
    /// Statement capture of a full run (`cargo perf` runs one test per process); smoke runs
    /// share their process with other tests and count nothing.
    capture: Option<Capture>,
    scaling: Option<[u64; 2]>,
}

impl Sampler {
    /// A sampler for `test`; async tests get a multi-threaded tokio runtime of their own.
    pub fn new(test: &Subject<'_>, mode: &Mode) -> Result<Sampler, Failure> {
        let (warmup, samples, timeout) = match mode {
            Mode::Smoke => (0, test.spec.effective_samples(false).min(SMOKE_CALLS), None),
            Mode::Full { quick, .. } => (
                test.spec.effective_warmup(*quick),
                test.spec.effective_samples(*quick),
                test.spec.timeout_ns.map(Duration::from_nanos),
            ),
        };
        let runtime = if test.is_async {
            Some(Runtime::start()?)
        } else {
            None
        };
        Ok(Sampler {
            warmup,
            samples,
            timeout,
            runtime,
            samples_ns: Vec::with_capacity(samples as usize),
            setup_ns: None,
            capture: match mode {
                Mode::Smoke => None,
                Mode::Full { .. } => Capture::open(),
            },
            scaling: None,
        })
    }

    /// Runs the test's `setup` once, timed apart from the samples, inside the runtime (if any)
    /// so it may spawn tasks or open async resources.
    pub fn setup<T>(&mut self, name: &str, setup: impl FnOnce() -> T) -> Result<T, Failure> {
        let _guard = self.runtime.as_ref().map(|rt| rt.enter());
        let start = Instant::now();
        let value = crate::db::guarded_setup(name, setup)?;
        self.setup_ns = Some(start.elapsed().as_nanos() as u64);
        Ok(value)
    }

    /// Times `body(ctx)` once per call: warm-up calls first, then the samples.
    pub fn run_sync<T, O: Outcome>(
        &mut self,
        ctx: &mut T,
        mut body: impl FnMut(&mut T) -> O,
    ) -> Result<(), Failure> {
        let _guard = self.runtime.as_ref().map(|rt| rt.enter());
        for call in 1..=self.warmup + self.samples {
            self.begin_call(call);
            let start = Instant::now();
            let outcome = body(ctx);
            let took = start.elapsed();
            self.end_call(call);
            self.record(call, took, outcome)?;
        }
        Ok(())
    }

    fn begin_call(&self, call: u64) {
        if call > self.warmup {
            if let Some(c) = &self.capture {
                c.begin_call();
            }
        }
    }

    fn end_call(&self, call: u64) {
        if call > self.warmup {
            if let Some(c) = &self.capture {
                c.end_call();
            }
        }
    }

    /// `n_plus_one`: counts the statements of one call on a fixture built at half the size
    /// (`smaller`, untimed) and of one more call on the measured fixture. Full runs only.
    pub fn probe_sync<T, O: Outcome>(
        &mut self,
        ctx: &mut T,
        smaller: impl FnOnce() -> T,
        mut body: impl FnMut(&mut T) -> O,
    ) -> Result<(), Failure> {
        let Some(capture) = &self.capture else {
            return Ok(());
        };
        let _guard = self.runtime.as_ref().map(|rt| rt.enter());
        let mut small = probe_fixture(smaller)?;
        let (outcome, half) = capture.count_only(|| body(&mut small));
        probe_outcome(outcome)?;
        let (outcome, full) = capture.count_only(|| body(ctx));
        probe_outcome(outcome)?;
        self.scaling = Some([half, full]);
        Ok(())
    }

    /// `probe_sync` for an async body, on the harness's runtime.
    pub fn probe_async<T, O, F>(
        &mut self,
        ctx: &mut T,
        smaller: impl FnOnce() -> T,
        mut body: F,
    ) -> Result<(), Failure>
    where
        O: Outcome + AsyncFeature,
        F: for<'a> FnMut(&'a mut T) -> BodyFuture<'a, O>,
    {
        let (Some(capture), Some(runtime)) = (&self.capture, &self.runtime) else {
            return Ok(());
        };
        let mut small = {
            let _guard = runtime.enter();
            probe_fixture(smaller)?
        };
        let (outcome, half) = capture.count_only(|| runtime.block_on(body(&mut small)));
        probe_outcome(outcome)?;
        let (outcome, full) = capture.count_only(|| runtime.block_on(body(ctx)));
        probe_outcome(outcome)?;
        self.scaling = Some([half, full]);
        Ok(())
    }

    /// Hands the fixture to the test's `teardown`, untimed; a panic there fails the test.
    pub fn teardown<T>(
        &mut self,
        name: &str,
        ctx: T,
        teardown: impl FnOnce(T),
    ) -> Result<(), Failure> {
        let _guard = self.runtime.as_ref().map(|rt| rt.enter());
        catch_unwind(AssertUnwindSafe(|| teardown(ctx))).map_err(|payload| Failure::Teardown {
            name: name.to_string(),
            message: crate::outcome::panic_message(payload.as_ref()),
        })
    }

    /// Statement counts and the per-statement breakdown of the timed calls, if any was
    /// captured (with the `n_plus_one` probe's counts).
    pub fn take_queries(&mut self) -> Option<QueryStats> {
        let mut q = self.capture.take()?.finish()?;
        q.scaling = self.scaling;
        Some(q)
    }

    /// Times each awaited call of an async body on the harness's runtime.
    ///
    /// The future is created before the clock starts (creating it runs none of the body), and a
    /// `timeout` cancels a call that overruns instead of waiting for it.
    pub fn run_async<T, O, F>(&mut self, ctx: &mut T, mut body: F) -> Result<(), Failure>
    where
        O: Outcome + AsyncFeature,
        F: for<'a> FnMut(&'a mut T) -> BodyFuture<'a, O>,
    {
        let Some(runtime) = self.runtime.take() else {
            return Err(Failure::Harness(
                "an async perf test was registered as sync; rebuild the test crate".into(),
            ));
        };
        let timeout = self.timeout;
        let result = runtime.block_on(async {
            for call in 1..=self.warmup + self.samples {
                let future = body(ctx);
                self.begin_call(call);
                let start = Instant::now();
                let Ok(outcome) = Runtime::within(timeout, future).await else {
                    self.end_call(call);
                    let limit = timeout.unwrap_or_default();
                    return Err(self.timeout_failure(call, start.elapsed(), limit));
                };
                let took = start.elapsed();
                self.end_call(call);
                self.record(call, took, outcome)?;
            }
            Ok(())
        });
        self.runtime = Some(runtime);
        result
    }

    fn record<O: Outcome>(&mut self, call: u64, took: Duration, outcome: O) -> Result<(), Failure> {
        outcome
            .into_result()
            .map_err(|message| Failure::Body { call, message })?;
        if let Some(limit) = self.timeout {
            if took > limit {
                return Err(self.timeout_failure(call, took, limit));
            }
        }
        if call > self.warmup {
            self.samples_ns.push(took.as_nanos() as u64);
        }
        Ok(())
    }

    fn timeout_failure(&self, call: u64, took: Duration, limit: Duration) -> Failure {
        Failure::Timeout {
            call,
            took: format_ns(took.as_nanos() as f64),
            limit: format_ns(limit.as_nanos() as f64),
        }
    }

    /// The timed samples (warm-up excluded) and the setup time.
    ///
    /// Call `take_queries` first for the statement capture.
    pub fn finish(mut self) -> (Vec<u64>, Option<u64>) {
        if let Some(rt) = self.runtime.take() {
            // Tasks the body spawned and left running must not keep the process alive.
            rt.shutdown(Duration::from_secs(1));
        }
        (self.samples_ns, self.setup_ns)
    }
}

fn probe_fixture<T>(smaller: impl FnOnce() -> T) -> Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(smaller)).map_err(|payload| Failure::Probe {
        message: format!(
            "setup at half size panicked: {}",
            crate::outcome::panic_message(payload.as_ref())
        ),
    })
}

fn probe_outcome<O: Outcome>(outcome: O) -> Result<(), Failure> {
    outcome.into_result().map_err(|message| Failure::Probe {
        message: format!("the body returned an error: {message}"),
    })
}
