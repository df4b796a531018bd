//! What persists between runs: saved baselines and each test's history.

pub mod baseline;
pub mod history;
