//! What a perf test body may return, and how a failing sample is described.

use std::any::Any;
use std::fmt;

/// Why a perf test did not produce a measurement.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// The body returned `Err` during a call.
    #[error("call {call} returned an error: {message}")]
    Body {
        /// 1-based call number, warm-up included.
        call: u64,
        /// The error's `Debug` text.
        message: String,
    },
    /// A call took longer than the test's `timeout`.
    #[error("call {call} took {took}, over the timeout of {limit}")]
    Timeout {
        /// 1-based call number, warm-up included.
        call: u64,
        /// How long it took, formatted.
        took: String,
        /// The timeout, formatted.
        limit: String,
    },
    /// The setup function panicked or failed.
    #[error("setup `{name}` failed: {message}")]
    Setup {
        /// The setup function's name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// The teardown function panicked.
    #[error("teardown `{name}` failed: {message}")]
    Teardown {
        /// The teardown function's name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// The `n_plus_one` probe (one call on a half-size fixture) failed.
    #[error("the n_plus_one probe failed: {message}")]
    Probe {
        /// What went wrong.
        message: String,
    },
    /// The harness itself could not run the test (runtime, criterion output).
    #[error("{0}")]
    Harness(String),
    /// Something outside the test is missing or broken (the service under load is down);
    /// `cargo perf` exits 2.
    #[error("{0}")]
    Infrastructure(String),
}

impl Failure {
    /// Whether the cause lies outside the test (exit status 2 rather than a failed test).
    pub fn is_infrastructure(&self) -> bool {
        matches!(self, Failure::Infrastructure(_))
    }
}

/// A value a perf test body may return: `()` or any `Result` whose error can be printed.
#[diagnostic::on_unimplemented(
    message = "a #[perf_test] body must return `()` or `Result<_, E>` with `E: Debug`, not `{Self}`",
    label = "returns `{Self}`"
)]
pub trait Outcome {
    /// `Ok(())` when the call succeeded, else the error's `Debug` text.
    fn into_result(self) -> Result<(), String>;
}

impl Outcome for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<T, E: fmt::Debug> Outcome for Result<T, E> {
    fn into_result(self) -> Result<(), String> {
        self.map(drop).map_err(|e| format!("{e:?}"))
    }
}

/// The text of a panic payload (`panic!("...")` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}
