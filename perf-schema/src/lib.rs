//! perf-schema: what `cargo perf`, the `#[perf_test]` macro and the harness in a test binary
//! agree on — schema tags, the protocol's environment variables and exit codes, and the text
//! grammars of the attribute, the comparison a summary stores. Data and parsers; it depends on
//! nothing in the workspace.

pub mod comparison;
pub mod grammar;
pub mod protocol;
pub mod schema;
