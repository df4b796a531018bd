//! Errors that stop `cargo perf` before or around a run; each maps to exit status 2.

use std::path::PathBuf;

/// A problem the user can act on, with the fix in the message.
#[derive(Debug, thiserror::Error)]
pub enum PerfError {
    /// `cargo metadata` failed (usually: no Cargo.toml here).
    #[error("cannot read the cargo project: {message}{hint}")]
    Metadata {
        /// cargo's complaint.
        message: String,
        /// What to do about it, when we know.
        hint: &'static str,
    },
    /// `-p NAME` names no workspace package.
    #[error("package `{name}` is not in this workspace{hint}; members: {members}")]
    UnknownPackage {
        /// What the user typed.
        name: String,
        /// `; did you mean ...?` or empty.
        hint: String,
        /// The workspace members.
        members: String,
    },
    /// The selected packages have no dependency on perf-harness.
    #[error("{0}\nhint: add `perf-harness` to [dev-dependencies] and put #[perf_test] on a function in tests/ or benches/")]
    NoPerfPackages(String),
    /// The build failed; cargo has printed why.
    #[error("the build failed (cargo's messages are above); fix it and run `cargo perf` again")]
    Build,
    /// cargo could not be started or its output could not be read.
    #[error("cannot run cargo: {0}")]
    Cargo(String),
    /// No test matched the filters.
    #[error("no perf tests matched {filters}; {hint}`cargo perf --list` shows all {total}")]
    NoMatch {
        /// The filters, quoted.
        filters: String,
        /// `did you mean ...? ` or empty.
        hint: String,
        /// How many perf tests exist.
        total: usize,
    },
    /// The selected packages contain no perf test at all.
    #[error("no #[perf_test] functions found in {0}\nhint: add `#[perf_test]` (from perf-harness) to a function in tests/ or benches/")]
    NoTests(String),
    /// A test binary did not answer the listing request.
    #[error("cannot list perf tests in {exe}: {message}")]
    Probe {
        /// The binary.
        exe: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A command-line value that makes no sense.
    #[error("{0}")]
    Usage(String),
    /// A git operation of `--against` failed.
    #[error("{0}")]
    Git(String),
    /// The two builds of a paired run are not what they claim to be.
    #[error("{0}")]
    Builds(String),
    /// The summary could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}
