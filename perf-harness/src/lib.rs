//! perf-harness: performance tests written as `#[perf_test]` functions in ordinary test suites.
//!
//! ```no_run
//! use perf_harness::{perf_test, Bencher};
//!
//! #[perf_test(median = "2us")]                 // a criterion micro-benchmark with a threshold
//! fn hash_key(b: &mut Bencher) {
//!     b.iter(|| std::hint::black_box("key").len())
//! }
//!
//! #[perf_test(p95 = "50ms", samples = 200)]    // a latency test: one timed call per sample
//! fn render_page() {
//!     std::hint::black_box(format!("<p>{}</p>", 42));
//! }
//! # fn main() {}
//! ```
//!
//! `cargo test` runs each as a quick smoke test; `cargo perf` (the `cargo-perf` binary) measures
//! them, checks thresholds and writes summaries. The repository's README and `docs/` hold the
//! reference of the attribute's keys, the command and the files.
//!
//! What a test names: [`perf_test`], [`main!`], [`Bencher`] and [`BatchSize`] for
//! micro-benchmarks, [`User`], [`Request`], [`Reply`] and [`Target`] for load tests, and the
//! database clients and [`db::record_statement`] in [`db`].
//!
//! # Features
//!
//! - `load` (default): load tests (`users`, `rate`, `stages`, a `User` argument), with reqwest,
//!   more of tokio, and libc on Linux (sysinfo elsewhere). With `default-features = false` a crate builds micro and latency
//!   tests only, and a load test is a compile error naming the feature. A crate that the load
//!   stack itself depends on (bytes, http, tokio, serde, ...) must turn it off: otherwise its
//!   tests link a second copy of itself from the registry, and types from the two copies do
//!   not mix.
//! - `async` (in `load`): `async fn` latency tests, on a tokio runtime the harness owns. With
//!   `default-features = false` and without it no tokio is compiled, and an `async fn` perf test
//!   is a compile error naming the feature.
//! - `main` (default): [`main!`] for `harness = false` targets, through libtest-mimic. Perf tests
//!   in an ordinary (libtest) test target need no `main!` and no feature.
//! - `sqlite`: [`db::Sqlite`], rusqlite with SQLite compiled in (turns on `async`).
//! - `postgres`: [`db::Postgres`], tokio-postgres on the harness's runtime (turns on `async`).

// The user API: what a perf test names.
pub use bencher::{BatchSize, Bencher};
#[cfg(feature = "load")]
pub use load::Target;
/// Marks a function as a performance test; its keys say which kind and what must hold.
///
/// - no key: a criterion micro-benchmark of the body, or of what a `&mut Bencher` argument
///   passes to `iter`;
/// - `samples`, latency thresholds (`p95 = "50ms"`), `setup`: a latency or database test, one
///   timed call per sample;
/// - `users`, `rate` or `stages` and a `&mut User` argument: a load test.
///
/// Misused keys, values and signatures are compile errors at the offending token. The keys'
/// reference is `docs/attribute.md` in the repository.
///
/// ```no_run
/// use perf_harness::{perf_test, User};
///
/// #[perf_test]
/// fn parse_small_json() {
///     std::hint::black_box("[1, 2, 3]".split(',').count());
/// }
///
/// fn big_input() -> Vec<u64> {
///     (0..100_000).collect()
/// }
///
/// #[perf_test(p95 = "10ms", p99 = "20ms", samples = 100, setup = big_input)]
/// fn sum_all(input: &mut Vec<u64>) {
///     std::hint::black_box(input.iter().sum::<u64>());
/// }
///
/// #[perf_test(users = 20, duration = "30s", p95 = "1s", max_error_rate = 0.01)]
/// async fn browse(user: &mut User) {
///     user.get("/").send().await;
/// }
/// # fn main() {}
/// ```
pub use perf_macros::perf_test;
#[cfg(feature = "ws")]
pub use user::ws::{WebSocket, WsConnect, WsError, WsMessage};
#[cfg(feature = "load")]
pub use user::{Reply, Request, User, KEEP_BODY_BYTES};

pub mod db;

mod bencher;
mod harness;
mod outcome;
#[cfg(feature = "load")]
#[doc(hidden)]
pub mod user;

// Internals, none a public API: `engine` and `registry` are what this crate's own integration
// tests and benches drive, `load` and `user` (with the users' metrics) what cargo-perf's
// shard-merge test records requests with. The records the harness writes are perf-schema's;
// the private names below keep the producers' paths short.
mod child;
#[doc(hidden)]
pub mod engine;
#[cfg(feature = "load")]
mod fd_limit;
#[cfg(feature = "load")]
#[doc(hidden)]
pub mod load;
#[doc(hidden)]
pub mod registry;
use perf_schema::{criterion as criterion_files, histogram as stats, record, spec};

/// Defines `main` for a `harness = false` target whose tests are all `#[perf_test]`s.
///
/// `cargo test` runs them as smoke tests through libtest-mimic (filters, `--list`, `--exact`
/// and `--format terse` work as in libtest); `cargo perf` measures them.
///
/// ```toml
/// [[test]]
/// name = "perf"
/// harness = false
/// ```
///
/// ```no_run
/// // tests/perf.rs
/// use perf_harness::perf_test;
///
/// #[perf_test(p95 = "1ms", samples = 50)]
/// fn render() {
///     std::hint::black_box(format!("{}", 1 + 1));
/// }
///
/// perf_harness::main!();
/// ```
#[cfg(feature = "main")]
#[macro_export]
macro_rules! main {
    () => {
        fn main() {
            $crate::__private::harness_main()
        }
    };
}

/// Defines `main` for a `harness = false` target: needs the `main` feature (libtest-mimic).
#[cfg(not(feature = "main"))]
#[macro_export]
macro_rules! main {
    () => {
        ::core::compile_error!(
            "`perf_harness::main!()` needs perf-harness's `main` feature (libtest-mimic; on by \
             default): add `features = [\"main\"]` to the perf-harness dependency, or drop \
             `harness = false` and `main!()` so the perf tests run under libtest as `#[test]`s"
        );
        fn main() {}
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
             load test (a crate the load stack depends on, like bytes or tokio, should not have one)"
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
    pub use crate::engine::{LoadRoutine, Measurement, Mode, Routine, Subject};
    #[cfg(feature = "main")]
    pub use crate::harness::main as harness_main;
    pub use crate::harness::smoke_test;
    #[cfg(feature = "load")]
    pub use crate::load::{no_state, state_from_setup, Scenario, Service};
    pub use crate::outcome::{Failure, Outcome};
    pub use crate::registry::{PerfTest, PERF_TESTS};
    pub use crate::spec::{Kind, NamedThreshold, Ramp, Spec, Stage, Stages, Threshold};
    #[cfg(feature = "load")]
    pub use crate::user::User;
    pub use linkme;
    pub use std::borrow::Cow;
    pub use std::boxed::Box;
    pub use std::string::String;
}
