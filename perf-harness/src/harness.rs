//! Running perf tests under `cargo test`: the smoke run behind every `#[test]` shim, and the
//! libtest-mimic `main` of `harness = false` targets.

use crate::engine::{self, Mode};
use crate::registry::PerfTest;

/// Runs `test` a few times without timing verdicts; `Err` carries the failure to report.
pub fn smoke(test: &PerfTest) -> Result<(), String> {
    engine::run(&test.subject(), &Mode::Smoke)
        .map(drop)
        .map_err(|f| format!("perf test `{}` failed: {f}", test.full_name()))
}

/// Body of the `#[test]` shim: a failing smoke run fails the test.
#[track_caller]
pub fn smoke_test(test: &PerfTest) {
    if let Err(message) = smoke(test) {
        panic!("{message}");
    }
}

/// `main` of a `harness = false` target: answers `cargo perf`, else runs every perf test as a
/// libtest-mimic trial, so `cargo test` and cargo-nextest flags keep working.
#[cfg(feature = "main")]
pub fn main() -> ! {
    crate::child::premain();
    let mut args = libtest_mimic::Arguments::from_args();
    // Perf tests measure time: running them side by side would skew each other.
    args.test_threads = Some(1);
    let trials = crate::registry::all()
        .into_iter()
        .map(|t| libtest_mimic::Trial::test(t.full_name(), move || Ok(smoke(t)?)))
        .collect();
    libtest_mimic::run(&args, trials).exit()
}
