//! The protocol between `cargo perf` and a test binary (environment variables read before
//! `main`, a JSON answer written to a file) and the exit codes of both sides.

/// `list` or `run`; unset for ordinary `cargo test` runs.
pub const ENV_MODE: &str = "CARGO_PERF_MODE";
/// File the binary writes its JSON answer to.
pub const ENV_OUT: &str = "CARGO_PERF_OUT";
/// Full name of the test to run (`run` mode).
pub const ENV_TEST: &str = "CARGO_PERF_TEST";
/// Cargo package of this binary, copied into records.
pub const ENV_PACKAGE: &str = "CARGO_PERF_PACKAGE";
/// Cargo target of this binary, copied into records and used as criterion's group.
pub const ENV_TARGET: &str = "CARGO_PERF_TARGET";
/// `1` for `cargo perf --quick`.
pub const ENV_QUICK: &str = "CARGO_PERF_QUICK";
/// `1` when the run is one round of a paired comparison (`cargo perf --against`).
pub const ENV_ROUND: &str = "CARGO_PERF_ROUND";
/// File a load test rewrites every second with its live progress line (`cargo perf` shows it).
pub const ENV_PROGRESS: &str = "CARGO_PERF_PROGRESS";
/// This machine's share of each load test, `I/N` (`cargo perf --shard I/N`).
pub const ENV_SHARD: &str = "CARGO_PERF_SHARD";
/// `cargo perf --capacity`: the arrival rate per second an open-model test runs at instead of
/// its `rate` (one step of the search).
pub const ENV_RATE: &str = "CARGO_PERF_RATE";
/// `cargo perf --users`: the virtual users a closed-model test runs with instead of its
/// `users` (one level of a concurrency sweep).
pub const ENV_USERS: &str = "CARGO_PERF_USERS";
/// `cargo perf --workers`: the generator threads a load test spreads its users or arrivals
/// over, instead of its `workers` (or the default).
pub const ENV_WORKERS: &str = "CARGO_PERF_WORKERS";
/// `cargo perf --service-pid`: the process id of the service under test, whose CPU, memory,
/// descriptors and threads a load test samples each second beside its own.
pub const ENV_SERVICE_PID: &str = "CARGO_PERF_SERVICE_PID";
/// The service under test a load test targets (`cargo perf --base-url` sets it).
pub const ENV_BASE_URL: &str = "PERF_BASE_URL";
/// Criterion's output directory (criterion's own variable).
pub const ENV_CRITERION_HOME: &str = "CRITERION_HOME";

/// `cargo perf`: every verdict passed.
pub const EXIT_PASS: u8 = 0;
/// `cargo perf`: a threshold failed, a regression crossed the gate or a test could not be
/// measured.
pub const EXIT_FAIL: u8 = 1;
/// `cargo perf`: a usage, build or infrastructure error.
pub const EXIT_ERROR: u8 = 2;
/// A test binary: the request itself was wrong (unknown test, unwritable output).
pub const EXIT_PROTOCOL_ERROR: i32 = 3;
