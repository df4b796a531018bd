//! Building the test binaries with an optimized profile and collecting their paths from cargo's
//! JSON messages, with the dep-info files that say which sources went into them.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::Message;

use crate::cli::Args;
use crate::error::PerfError;
use crate::project::workspace::Project;

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
    /// rustc's dep-info for the executable (`<exe>.d`): the sources of its own crate.
    pub dep_info: PathBuf,
}

/// What one `cargo test --no-run` produced.
#[derive(Debug, Clone)]
pub struct Build {
    /// The test executables of the selected packages.
    pub binaries: Vec<Binary>,
    /// dep-info files of the libraries, proc macros and build scripts of this workspace's own
    /// (path) packages that the build compiled or found fresh. With a binary's own dep-info they
    /// name every source of this workspace an executable can contain.
    pub local_dep_info: Vec<PathBuf>,
}

/// The cargo profile REF is built with in paired mode: `--profile`'s settings under another name,
/// so its artifacts (and cargo's freshness records) live in `target/perf-reference/`.
///
/// Cargo decides freshness from file times: had REF been built into this tree's profile
/// directory, this tree's older sources would look up to date against REF's newer outputs, and
/// the next build here (`cargo perf`, `cargo bench`, `cargo test --release`) would silently run
/// REF's code.
pub const REFERENCE_PROFILE: &str = "perf-reference";

/// Which tree a build is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum For {
    /// This tree, with `--profile`.
    ThisTree,
    /// REF's checkout, with [`REFERENCE_PROFILE`] inheriting `--profile`.
    Reference,
}

/// Runs `cargo test --no-run` for the selected packages' lib, bin, test and bench targets.
pub fn build(args: &Args, project: &Project, tree: For) -> Result<Build, PerfError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "test",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ]);
    match tree {
        For::ThisTree => cmd.args(["--profile", &args.profile]),
        For::Reference => cmd.args([
            "--config",
            &format!("profile.{REFERENCE_PROFILE}.inherits=\"{}\"", args.profile),
            "--profile",
            REFERENCE_PROFILE,
        ]),
    };
    cmd.args(["--tests", "--benches"]);
    if let Some(path) = &args.manifest_path {
        cmd.arg("--manifest-path").arg(path);
    }
    for p in &project.packages {
        // By id, not name: a package may share its name with one of its dependencies (bytes'
        // own suite, where reqwest brings the published bytes) and `-p bytes` is then ambiguous.
        cmd.args(["-p", &p.id.repr]);
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
    let mut local_dep_info = Vec::new();
    for message in Message::parse_stream(BufReader::new(stdout)) {
        let message =
            message.map_err(|e| PerfError::Cargo(format!("unreadable cargo output: {e}")))?;
        let Message::CompilerArtifact(artifact) = message else {
            continue;
        };
        // The workspace's own libraries, proc macros and build scripts: what every executable of
        // the build may contain. Other test executables' sources are theirs alone.
        let shared = !artifact.profile.test
            && artifact.target.kind.iter().any(|k| {
                matches!(
                    k,
                    cargo_metadata::TargetKind::Lib
                        | cargo_metadata::TargetKind::RLib
                        | cargo_metadata::TargetKind::ProcMacro
                        | cargo_metadata::TargetKind::CustomBuild
                )
            });
        if shared && artifact.package_id.repr.starts_with("path+") {
            local_dep_info.extend(
                artifact
                    .filenames
                    .iter()
                    .filter_map(|f| unit_dep_info(f.as_std_path())),
            );
        }
        let (Some(exe), Some(package)) =
            (&artifact.executable, project.package(&artifact.package_id))
        else {
            continue;
        };
        if !artifact.profile.test && !artifact.target.is_bench() {
            continue;
        }
        let exe = exe.clone().into_std_path_buf();
        binaries.push(Binary {
            dep_info: executable_dep_info(&exe),
            exe,
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
    local_dep_info.sort();
    local_dep_info.dedup();
    Ok(Build {
        binaries,
        local_dep_info,
    })
}

/// rustc writes an executable's dep-info beside it in `deps/`: `<name>-<hash>.d`.
fn executable_dep_info(exe: &Path) -> PathBuf {
    let mut name = exe.file_name().unwrap_or_default().to_os_string();
    name.push(".d");
    exe.with_file_name(name)
}

/// The dep-info of the unit that produced `file` (`deps/libfoo-<hash>.rlib` → `deps/foo-<hash>.d`,
/// likewise `.rmeta`, `.so`, `.a`, executables), if rustc wrote one.
fn unit_dep_info(file: &Path) -> Option<PathBuf> {
    let stem = file.file_stem()?.to_str()?;
    let stem = if file.extension().is_some() {
        stem.strip_prefix("lib").unwrap_or(stem)
    } else {
        // An executable (build script, bin): its whole name is the stem.
        file.file_name()?.to_str()?
    };
    let candidate = file.with_file_name(format!("{stem}.d"));
    candidate.is_file().then_some(candidate)
}
