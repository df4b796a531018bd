//! Asking each test binary for its perf tests, without running or listing its ordinary tests.

use std::path::Path;
use std::process::{Command, Stdio};

use perf_schema::document::parse_versioned;
use perf_schema::protocol::{ENV_MODE, ENV_OUT, ENV_PACKAGE, ENV_TARGET};
use perf_schema::record::{ListedTest, TestList, LIST_SCHEMA};

use crate::error::PerfError;
use crate::project::compile::Binary;

/// A perf test and the binary that runs it.
#[derive(Debug, Clone)]
pub struct Found {
    /// The test as the binary listed it.
    pub test: ListedTest,
    /// The binary.
    pub binary: Binary,
}

/// Lists the perf tests of every binary; a binary without any answers nothing and is skipped.
pub fn discover(binaries: &[Binary], scratch: &Path) -> Result<Vec<Found>, PerfError> {
    let mut found = Vec::new();
    for (i, binary) in binaries.iter().enumerate() {
        let out = scratch.join(format!("list-{i}.json"));
        let probe_error = |message: String| PerfError::Probe {
            exe: binary.exe.clone(),
            message,
        };
        // `--list` is what libtest (or any other harness) does if our pre-main hook is absent,
        // i.e. the binary has no perf test: it prints names and exits without running anything.
        let output = Command::new(&binary.exe)
            .args(["--list", "--format", "terse"])
            .current_dir(&binary.package_dir)
            .env(ENV_MODE, "list")
            .env(ENV_OUT, &out)
            .env(ENV_PACKAGE, &binary.package)
            .env(ENV_TARGET, &binary.target)
            .env("CARGO_MANIFEST_DIR", &binary.package_dir)
            .env("CARGO_PKG_NAME", &binary.package)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| probe_error(format!("cannot start it: {e}")))?;
        if !out.exists() {
            continue;
        }
        if !output.status.success() {
            return Err(probe_error(format!(
                "it exited with {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let text = std::fs::read_to_string(&out)
            .map_err(|e| probe_error(format!("cannot read its answer: {e}")))?;
        let list: TestList = parse_versioned(&text, LIST_SCHEMA, &binary.exe.display().to_string())
            .map_err(|e| probe_error(e.to_string()))?;
        found.extend(list.tests.into_iter().map(|test| Found {
            test,
            binary: binary.clone(),
        }));
    }
    Ok(found)
}
