//! The link-time registry of every `#[perf_test]` in a binary, and lookup by test name.
//!
//! Each attribute emits one `PerfTest` into a linkme distributed slice, so the list is complete
//! before `main` runs: `cargo perf` can ask a libtest binary for its perf tests without libtest
//! ever seeing the request (see `child`).

use crate::bencher::Bencher;
use crate::engine::latency::Sampler;
use crate::outcome::Failure;
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

/// How the engine calls a perf test's body.
#[derive(Clone, Copy)]
pub enum Routine {
    /// A micro-benchmark body driven by criterion through a `Bencher`.
    Micro(fn(&mut Bencher<'_, '_>)),
    /// A body timed once per sample by the latency engine; the function runs setup itself.
    Timed(fn(&mut Sampler) -> Result<(), Failure>),
    /// An async body run by virtual users against an HTTP service (load tests).
    #[cfg(feature = "load")]
    Load(crate::load::LoadRoutine),
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
