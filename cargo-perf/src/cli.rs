//! The command line of `cargo perf`, as users type it.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// `cargo` invokes us as `cargo-perf perf ARGS`; the wrapper strips the subcommand name.
#[derive(Parser, Debug)]
#[command(name = "cargo", bin_name = "cargo")]
pub enum Cargo {
    /// Run #[perf_test] performance tests, check their thresholds and write summaries.
    Perf(Args),
}

/// Output format for results and `--list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people (progress on stderr).
    Human,
    /// The summary (or list) as JSON on stdout.
    Json,
}

/// Which verdicts make the exit code 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// A failed threshold or a test that could not be measured.
    Threshold,
    /// Only a test that could not be measured (panic, error, crash).
    None,
}

/// Arguments of `cargo perf`.
#[derive(clap::Args, Debug)]
#[command(
    version,
    about = "Run #[perf_test] performance tests, check their thresholds and write summaries",
    after_help = "Exit status: 0 all verdicts pass, 1 a threshold failed or a test could not be \
                  measured, 2 usage, build or infrastructure error.\n\
                  Results: target/criterion/cargo-perf/summary.json and summary.md."
)]
pub struct Args {
    /// Run only perf tests whose name contains one of these strings (like `cargo test`).
    #[arg(value_name = "FILTER")]
    pub filters: Vec<String>,

    /// Match filters against whole test names.
    #[arg(long)]
    pub exact: bool,

    /// Package(s) to run (default: the package in the current directory, or the workspace's
    /// default members).
    #[arg(short, long = "package", value_name = "PKG")]
    pub packages: Vec<String>,

    /// Run every workspace member that depends on perf-harness.
    #[arg(long)]
    pub workspace: bool,

    /// Space or comma separated features to activate.
    #[arg(short = 'F', long, value_name = "FEATURES")]
    pub features: Vec<String>,

    /// Activate all features.
    #[arg(long)]
    pub all_features: bool,

    /// Do not activate the `default` feature.
    #[arg(long)]
    pub no_default_features: bool,

    /// Cargo profile to build with; timing needs an optimized one.
    #[arg(long, default_value = "bench", value_name = "NAME")]
    pub profile: String,

    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,

    /// List perf tests (package, target, name, file:line, spec) without running them.
    #[arg(long)]
    pub list: bool,

    /// Fewer samples and shorter criterion runs, for the edit loop.
    #[arg(long)]
    pub quick: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Directory for summary.json and summary.md (default: target/criterion/cargo-perf).
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,

    /// What fails the run (exit 1).
    #[arg(long, value_enum, default_value_t = FailOn::Threshold)]
    pub fail_on: FailOn,

    /// Base URL of the service load tests talk to (passed to them as PERF_BASE_URL); without
    /// it, each load test's `setup` starts the service in-process.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Show the test binaries' own output (criterion's report, prints) as they run.
    #[arg(short, long)]
    pub verbose: bool,

    /// Arguments after `--` are passed to the test binaries.
    #[arg(last = true, value_name = "ARGS")]
    pub binary_args: Vec<String>,
}
