//! End-to-end: the real `cargo perf` binary on the fixture crates in `tests/fixtures`.
//!
//! One test binary, with a module per area and the shared helpers in `support`. The fixtures
//! share one target directory, so the first test to run pays for one optimized build of
//! perf-harness and its dependencies; the others reuse it.

#[path = "../../src/prerequisite.rs"]
mod prerequisite;

mod support;

mod baseline;
mod budgets;
mod database;
mod faults;
mod listing;
mod load;
mod run;
mod shards;
#[cfg(unix)]
mod signals;
mod websocket;
mod workers;
