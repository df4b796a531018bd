//! The async runtime a latency test's `async fn` body runs on: tokio's multi-threaded runtime
//! with the `async` feature (on by default), and a type with no values without it, so a crate
//! with only sync perf tests compiles no tokio.

use std::future::Future;
use std::time::Duration;

use crate::outcome::Failure;

/// Implemented for every output when perf-harness's `async` feature is on; `run_async` asks for
/// it so an `async fn` perf test without the feature fails to compile with this message.
#[diagnostic::on_unimplemented(
    message = "`async fn` perf tests need perf-harness's `async` feature",
    label = "this perf test is an `async fn`",
    note = "turn on the feature: perf-harness = {{ version = \"…\", default-features = false, features = [\"async\"] }} (the default `load` feature includes it)"
)]
pub trait AsyncFeature {}

#[cfg(feature = "async")]
impl<T: ?Sized> AsyncFeature for T {}

/// A runtime for async bodies; uninhabited without the `async` feature.
#[cfg(feature = "async")]
pub struct Runtime(tokio::runtime::Runtime);

/// A runtime for async bodies; uninhabited without the `async` feature.
#[cfg(not(feature = "async"))]
pub enum Runtime {}

/// What `Runtime::enter` returns: the runtime is current while it lives.
#[cfg(feature = "async")]
pub type EnterGuard<'a> = tokio::runtime::EnterGuard<'a>;

/// What `Runtime::enter` returns: the runtime is current while it lives.
#[cfg(not(feature = "async"))]
pub type EnterGuard<'a> = std::marker::PhantomData<&'a ()>;

/// A call that ran past its timeout.
pub struct TimedOut;

impl Runtime {
    /// A multi-threaded runtime of two workers, with I/O and timers.
    pub fn start() -> Result<Runtime, Failure> {
        #[cfg(feature = "async")]
        {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map(Runtime)
                .map_err(|e| Failure::Harness(format!("cannot start a tokio runtime: {e}")))
        }
        #[cfg(not(feature = "async"))]
        Err(Failure::Harness(
            "an `async fn` perf test needs perf-harness's `async` feature".into(),
        ))
    }

    /// Makes this runtime current (for setup, sync bodies and teardown that spawn tasks).
    pub fn enter(&self) -> EnterGuard<'_> {
        #[cfg(feature = "async")]
        return self.0.enter();
        #[cfg(not(feature = "async"))]
        match *self {}
    }

    /// Runs `future` to completion on this runtime.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        #[cfg(feature = "async")]
        return self.0.block_on(future);
        #[cfg(not(feature = "async"))]
        {
            drop(future);
            match *self {}
        }
    }

    /// Awaits `future`, giving up after `limit` when there is one.
    pub async fn within<F: Future>(
        limit: Option<Duration>,
        future: F,
    ) -> Result<F::Output, TimedOut> {
        #[cfg(feature = "async")]
        match limit {
            Some(limit) => tokio::time::timeout(limit, future)
                .await
                .map_err(|_| TimedOut),
            None => Ok(future.await),
        }
        #[cfg(not(feature = "async"))]
        {
            let _ = limit;
            Ok(future.await)
        }
    }

    /// Stops the runtime; tasks the body left running get `grace` to finish.
    pub fn shutdown(self, grace: Duration) {
        #[cfg(feature = "async")]
        self.0.shutdown_timeout(grace);
        #[cfg(not(feature = "async"))]
        {
            let _ = grace;
            match self {}
        }
    }
}
