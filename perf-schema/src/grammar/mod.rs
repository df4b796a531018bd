//! The text grammars shared by the `#[perf_test]` macro (compile time) and the harness (run
//! time): durations (`"50ms"`), k6's threshold expressions (`"p(95) < 300ms"`) and the keys, so the
//! attribute and `.threshold(..)` on a request accept exactly the same text.

pub mod duration;
pub mod k6;
pub mod keys;
pub mod profile;
pub mod quantity;
