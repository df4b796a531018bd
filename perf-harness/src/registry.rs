//! The link-time registry of every `#[perf_test]` in a binary, and lookup by test name.
//!
//! Each attribute emits one `PerfTest` into a linkme distributed slice, so the list is complete
//! before `main` runs: `cargo perf` can ask a libtest binary for its perf tests without libtest
//! ever seeing the request (see `child`).

use crate::engine::{Routine, Subject};
use crate::spec::Spec;

/// One registered perf test: where it is, what it asks for, and how to run it.
pub struct PerfTest {
    /// The function's name.
    pub name: &'static str,
    /// `module_path!()` at the definition, starting with the crate name.
    pub module_path: &'static str,
    /// `file!()` at the definition.
    pub file: &'static str,
    /// `line!()` of the function.
    pub line: u32,
    /// The validated attribute.
    pub spec: Spec,
    /// Whether the body is an `async fn` (it then runs on a tokio runtime the harness owns).
    pub is_async: bool,
    /// The code the engine drives.
    pub routine: Routine,
}

impl PerfTest {
    /// The name libtest gives the `#[test]` shim: the module path without the crate, then the
    /// function (`tests::parse_small_json`), so filters mean the same under both commands.
    pub fn full_name(&self) -> String {
        match self.module_path.split_once("::") {
            Some((_, rest)) => format!("{rest}::{}", self.name),
            None => self.name.to_string(),
        }
    }

    /// What the engines need of this test.
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            name: self.full_name(),
            spec: &self.spec,
            is_async: self.is_async,
            routine: self.routine,
        }
    }
}

#[doc(hidden)]
#[linkme::distributed_slice]
pub static PERF_TESTS: [PerfTest];

/// Every perf test linked into this binary, sorted by name (link order is arbitrary).
pub fn all() -> Vec<&'static PerfTest> {
    let mut tests: Vec<&'static PerfTest> = PERF_TESTS.iter().collect();
    tests.sort_by_key(|t| t.full_name());
    tests
}

/// The perf test with this full name, if linked into this binary.
pub fn find(full_name: &str) -> Option<&'static PerfTest> {
    PERF_TESTS.iter().find(|t| t.full_name() == full_name)
}
