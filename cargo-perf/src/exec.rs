//! Running tests: one process per test, the protocol, the record collected, the machine's state around it, progress.

pub mod machine;
pub mod progress;
pub mod runner;
