//! perf-harness: performance tests written as `#[perf_test]` functions in ordinary test suites.
//!
//! ```ignore
//! use perf_harness::perf_test;
//!
//! #[perf_test(median = "2us")]
//! fn hash_key(b: &mut perf_harness::Bencher) { b.iter(|| my_hash("key")) }
//!
//! #[perf_test(p95 = "50ms", samples = 200)]
//! fn render_page() { render(&PAGE) }
//! ```
//!
//! `cargo test` runs each as a quick smoke test; `cargo perf` (the `cargo-perf` binary) measures
//! them, checks thresholds and writes summaries. See the repository README for the reference.

pub mod bencher;
pub mod child;
pub mod criterion_files;
pub mod db;
pub mod engine;
pub use perf_schema::grammar;
mod harness;
pub mod load;
pub mod outcome;
pub mod record;
pub mod registry;
pub mod spec;
pub mod stats;
#[cfg(feature = "load")]
pub mod user;

pub use bencher::{BatchSize, Bencher};
#[cfg(feature = "load")]
pub use load::{Service, Target};
pub use perf_macros::perf_test;
#[cfg(feature = "load")]
pub use user::{Reply, Request, User};

/// Defines `main` for a `harness = false` target whose tests are all `#[perf_test]`s.
///
/// `cargo test` runs them as smoke tests through libtest-mimic (filters, `--list`, `--exact`
/// and `--format terse` work as in libtest); `cargo perf` measures them.
#[macro_export]
macro_rules! main {
    () => {
        fn main() {
            $crate::__private::harness_main()
        }
    };
}

/// Wraps a load test's routine in the `#[perf_test]` expansion: the routine itself with the
/// `load` feature, a compile error that names the feature without it.
#[doc(hidden)]
#[cfg(feature = "load")]
#[macro_export]
macro_rules! __load_routine {
    ($($routine:tt)*) => { $($routine)* };
}

/// Wraps a load test's routine in the `#[perf_test]` expansion: the routine itself with the
/// `load` feature, a compile error that names the feature without it.
#[doc(hidden)]
#[cfg(not(feature = "load"))]
#[macro_export]
macro_rules! __load_routine {
    ($($routine:tt)*) => {
        ::core::compile_error!(
            "load tests (`users`, `rate`, `stages`, a `User` argument) need perf-harness's \
             `load` feature, which this crate turned off with `default-features = false`: \
             add `features = [\"load\"]` to its perf-harness dependency, or remove the \
             load test (a crate the load stack depends on, like bytes or tokio, cannot have one)"
        )
    };
}

/// Items the `#[perf_test]` expansion refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::__load_routine as load_routine;
    pub use crate::child::premain;
    pub use crate::db::Scale;
    pub use crate::engine::latency::{BodyFuture, Sampler};
    pub use crate::engine::{Measurement, Mode};
    pub use crate::harness::{main as harness_main, smoke_test};
    #[cfg(feature = "load")]
    pub use crate::load::{no_state, state_from_setup, LoadRoutine, Scenario, Service};
    pub use crate::outcome::{Failure, Outcome};
    pub use crate::registry::{PerfTest, Routine, PERF_TESTS};
    pub use crate::spec::{Kind, NamedThreshold, Ramp, Spec, Stage, Stages, Threshold};
    #[cfg(feature = "load")]
    pub use crate::user::User;
    pub use linkme;
    pub use std::borrow::Cow;
    pub use std::boxed::Box;
    pub use std::string::String;
}
