//! Building the test binaries with an optimized profile and collecting their paths from cargo's
//! JSON messages.

use std::io::BufReader;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use cargo_metadata::Message;

use crate::cli::Args;
use crate::error::PerfError;
use crate::workspace::Project;

/// A built test executable of a package that depends on perf-harness.
#[derive(Debug, Clone)]
pub struct Binary {
    /// The executable.
    pub exe: PathBuf,
    /// Its package.
    pub package: String,
    /// Its target's name (`catalogue` for tests/catalogue.rs, the crate name for lib tests).
    pub target: String,
    /// The package's directory: tests run there, as under `cargo test`.
    pub package_dir: PathBuf,
}

/// Runs `cargo test --no-run` for the selected packages' lib, bin, test and bench targets.
pub fn build(args: &Args, project: &Project) -> Result<Vec<Binary>, PerfError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "test",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ]);
    cmd.args(["--profile", &args.profile, "--tests", "--benches"]);
    if let Some(path) = &args.manifest_path {
        cmd.arg("--manifest-path").arg(path);
    }
    for p in &project.packages {
        cmd.args(["-p", &p.name]);
    }
    for f in &args.features {
        cmd.args(["--features", f]);
    }
    if args.all_features {
        cmd.arg("--all-features");
    }
    if args.no_default_features {
        cmd.arg("--no-default-features");
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = cmd
        .spawn()
        .map_err(|e| PerfError::Cargo(format!("cannot start cargo: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| PerfError::Cargo("cargo's output was not captured".into()))?;
    let mut binaries = Vec::new();
    for message in Message::parse_stream(BufReader::new(stdout)) {
        let message =
            message.map_err(|e| PerfError::Cargo(format!("unreadable cargo output: {e}")))?;
        let Message::CompilerArtifact(artifact) = message else {
            continue;
        };
        let (Some(exe), Some(package)) =
            (&artifact.executable, project.package(&artifact.package_id))
        else {
            continue;
        };
        if !artifact.profile.test && !artifact.target.is_bench() {
            continue;
        }
        binaries.push(Binary {
            exe: exe.clone().into_std_path_buf(),
            package: package.name.to_string(),
            target: artifact.target.name.clone(),
            package_dir: package
                .manifest_path
                .parent()
                .map(|p| p.to_path_buf().into_std_path_buf())
                .unwrap_or_default(),
        });
    }
    let status = child
        .wait()
        .map_err(|e| PerfError::Cargo(format!("cargo did not finish: {e}")))?;
    if !status.success() {
        return Err(PerfError::Build);
    }
    binaries.sort_by(|a, b| (&a.package, &a.target).cmp(&(&b.package, &b.target)));
    binaries.dedup_by(|a, b| a.exe == b.exe);
    Ok(binaries)
}
