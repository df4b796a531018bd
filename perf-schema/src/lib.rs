//! perf-schema: what `cargo perf`, the `#[perf_test]` macro and the harness in a test binary
//! agree on — the serde types of every document that crosses a process or a file (test list,
//! record, summary, baseline, history, comparison), their schema tags and versioning, the
//! protocol's environment variables and exit codes, and the attribute's text grammars. It
//! depends on nothing in the workspace.
//!
//! Features: `documents` (default) holds every type that crosses a process or a file and needs
//! serde; without it only the grammars are left, which is all the macro compiles (so a user's
//! build compiles serde_json once, for the target, not again for the proc-macro host).
//! `reports` (default) adds what only `cargo perf` writes and reads — summary, comparison,
//! baseline, history — so a test binary, which writes records, does not compile them.
//! `histogram` adds the HDR histogram codec records use and the statistics derived from a
//! histogram (hdrhistogram, base64): the harness and `cargo perf` both need them.

#[cfg(feature = "reports")]
pub mod baseline;
#[cfg(feature = "reports")]
pub mod comparison;
#[cfg(feature = "documents")]
pub mod criterion;
#[cfg(feature = "documents")]
pub mod document;
pub mod grammar;
#[cfg(feature = "histogram")]
pub mod histogram;
#[cfg(feature = "reports")]
pub mod history;
#[cfg(feature = "documents")]
pub mod protocol;
#[cfg(feature = "documents")]
pub mod record;
#[cfg(feature = "documents")]
pub mod schema;
#[cfg(feature = "documents")]
pub mod spec;
#[cfg(feature = "reports")]
pub mod summary;
#[cfg(feature = "documents")]
pub mod unit;
