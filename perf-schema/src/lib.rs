//! perf-schema: what `cargo perf`, the `#[perf_test]` macro and the harness in a test binary
//! agree on — the serde types of every document that crosses a process or a file (test list,
//! record, summary, baseline, history, comparison), their schema tags and versioning, the
//! protocol's environment variables and exit codes, and the attribute's text grammars. It
//! depends on nothing in the workspace.
//!
//! The `histogram` feature adds the HDR histogram codec records use and the statistics derived
//! from a histogram (hdrhistogram, base64): the harness and `cargo perf` both need them, the
//! macro does not.

pub mod baseline;
pub mod comparison;
pub mod criterion;
pub mod document;
pub mod grammar;
#[cfg(feature = "histogram")]
pub mod histogram;
pub mod history;
pub mod protocol;
pub mod record;
pub mod schema;
pub mod spec;
pub mod summary;
pub mod unit;
