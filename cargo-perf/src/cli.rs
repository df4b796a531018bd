//! The command line of `cargo perf`, as users type it.

use std::path::PathBuf;

use clap::{CommandFactory as _, Parser, ValueEnum};
use perf_schema::record::shard::Shard;

pub mod shard;

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
    /// A failed threshold, a major or critical regression, or a test that could not be measured.
    Threshold,
    /// Also any regression (at least the minimum effect), whatever its severity.
    Regression,
    /// Only a test that could not be measured (panic, error, crash).
    None,
}

/// A machine-readable export of the run (`--export FORMAT PATH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Bencher Metric Format (`bencher run --adapter json`).
    Bmf,
    /// github-action-benchmark's `customSmallerIsBetter` list.
    GithubActionBenchmark,
}

/// Arguments of `cargo perf`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    version,
    about = "Run #[perf_test] performance tests, check their thresholds and write summaries",
    after_help = "Exit status: 0 all verdicts pass, 1 a threshold failed or a test could not be \
                  measured, 2 usage, build or infrastructure error.\n\
                  Results: target/criterion/cargo-perf/summary.json and summary.md.\n\
                  Combine `--shard I/N` runs: cargo perf merge DIR_OR_FILE... (see its --help)."
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

    /// What fails the run (exit 1): `threshold` = failed thresholds and major+ regressions.
    #[arg(long, value_enum, default_value_t = FailOn::Threshold)]
    pub fail_on: FailOn,

    /// Judge under environment NAME of perf.toml (`[env.NAME]`); default: $CARGO_PERF_ENV.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,

    /// Save this run as baseline NAME (target/criterion/cargo-perf/baselines/NAME.json).
    #[arg(long, value_name = "NAME")]
    pub save_baseline: Option<String>,

    /// Compare against baseline NAME (or a .json path) instead of the previous run.
    #[arg(long, value_name = "NAME|PATH", conflicts_with_all = ["no_compare", "against"])]
    pub baseline: Option<String>,

    /// Do not compare with any baseline.
    #[arg(long, conflicts_with = "against")]
    pub no_compare: bool,

    /// Build git revision REF in a worktree and compare in alternating rounds on this machine.
    #[arg(long, value_name = "REF")]
    pub against: Option<String>,

    /// Rounds of the paired comparison (`--against`); each runs every test in both builds.
    /// 20 detect a 10 % change of a median on a busy 2-core machine (see the README).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub rounds: usize,

    /// Re-measure a suspected regression N times before it fails the run (default 1; 0 trusts
    /// the first measurement).
    #[arg(long, value_name = "N")]
    pub confirm: Option<usize>,

    /// Smallest change, in percent, reported as a regression or improvement.
    #[arg(long, value_name = "PCT", default_value_t = 5.0)]
    pub min_effect: f64,

    /// Write a JUnit XML report (one testcase per perf test) to PATH.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,

    /// Export the results: `--export bmf PATH` or `--export github-action-benchmark PATH`.
    #[arg(long, num_args = 2, value_names = ["FORMAT", "PATH"], action = clap::ArgAction::Append)]
    pub export: Vec<String>,

    /// Base URL of the service load tests talk to (passed to them as PERF_BASE_URL); without
    /// it, each load test's `setup` starts the service in-process.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Run shard I of N: this machine's share of every load test (users, rate, stage targets
    /// and shared iterations divided by N) and every Nth other test; combine the shards'
    /// summaries with `cargo perf merge`. A shard run neither compares nor saves baselines.
    /// `auto`: shard JOB_COMPLETION_INDEX+1 of CARGO_PERF_SHARDS (a Kubernetes Indexed Job).
    #[arg(long = "shard", id = "shard", value_name = "I/N|auto", value_parser = shard::parse,
          conflicts_with_all = ["against", "baseline", "save_baseline"])]
    pub shard_arg: Option<shard::ShardArg>,

    /// The shard this run measures, once `--shard auto` is resolved (see `Args::resolve_shard`).
    #[arg(skip)]
    pub shard: Option<Shard>,

    /// The process id of the service under test (with `--base-url`): each load test samples
    /// its CPU, memory, descriptors and threads every second beside its own, and judges
    /// `max_rss_growth` on it. It must run when the run starts (exit 2 otherwise); one that
    /// exits during a load test ends the run with exit 2, its results kept.
    #[arg(long, value_name = "PID")]
    pub service_pid: Option<u32>,

    /// Run each selected closed-model load test with N virtual users instead of its `users`:
    /// one level of a concurrency sweep for `cargo perf model`. The summary records the users
    /// it ran with (so it is compared only with runs at the same N).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..),
          conflicts_with = "capacity")]
    pub users: Option<u64>,

    /// Spread each load test's users or arrivals over N generator threads instead of its
    /// `workers` (default: the machine's cores, less the half, at least one, that a service the
    /// test starts in-process runs on). At most the machine's cores; a `User<S>` test always
    /// runs on one.
    #[arg(long, value_name = "N", value_parser = parse_workers)]
    pub workers: Option<u64>,

    /// Search each selected open-model test's capacity: the highest arrival rate between LOW
    /// and HIGH (`50/s..2000/s`) at which every threshold holds. Steps of the test's
    /// `duration`: doubling from LOW until one fails, then bisecting to 2 %. Neither compares
    /// nor saves baselines.
    #[arg(long, value_name = "LOW..HIGH", value_parser = parse_rate_range,
          conflicts_with_all = ["against", "baseline", "save_baseline", "shard"])]
    pub capacity: Option<RateRange>,

    /// Show the test binaries' own output (criterion's report, prints) as they run.
    #[arg(short, long)]
    pub verbose: bool,

    /// Arguments after `--` are passed to the test binaries.
    #[arg(last = true, value_name = "ARGS")]
    pub binary_args: Vec<String>,
}

/// Arrival rates per second from `LOW` to `HIGH` (`--capacity 50/s..2000/s`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateRange {
    /// The lowest rate, per second.
    pub low_per_s: f64,
    /// The highest rate, per second.
    pub high_per_s: f64,
}

/// Parses `--workers N`: at least 1, at most this machine's cores.
pub fn parse_workers(text: &str) -> Result<u64, String> {
    let n: u64 = text.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        format!("`{text}` is not a number of threads (a whole number, at least 1)")
    })?;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get() as u64);
    if n > cores {
        return Err(format!(
            "{n} generator threads on a machine with {cores} cores would measure their own \
             contention: give at most {cores}"
        ));
    }
    Ok(n)
}

/// Parses `LOW..HIGH`, each a rate such as `50/s` or `600/m`.
pub fn parse_rate_range(text: &str) -> Result<RateRange, String> {
    let (low, high) = text
        .split_once("..")
        .ok_or_else(|| format!("`{text}`: expected LOW..HIGH, two rates such as `50/s..2000/s`"))?;
    let low_per_s = perf_schema::grammar::quantity::parse_rate(low)?;
    let high_per_s = perf_schema::grammar::quantity::parse_rate(high)?;
    if high_per_s <= low_per_s {
        return Err(format!(
            "`{text}`: the highest rate must be above the lowest (e.g. `{low}..{}/s`)",
            (low_per_s * 10.0).ceil()
        ));
    }
    Ok(RateRange {
        low_per_s,
        high_per_s,
    })
}

/// `cargo perf merge`: combines the summaries of `--shard` runs into the result of the whole
/// load.
#[derive(Parser, Debug)]
#[command(
    name = "cargo perf merge",
    bin_name = "cargo perf merge",
    version,
    about = "Merge the summaries of `cargo perf --shard I/N` runs into one result",
    after_help = "Exit status: 0 all verdicts pass on the merged data, 1 a threshold failed or a \
                  test could not be measured, 2 the shards do not fit together (missing, \
                  duplicate, different specs) or a file cannot be read."
)]
pub struct MergeArgs {
    /// Report directories of the shard runs (holding summary.json), or summary.json files.
    #[arg(value_name = "DIR_OR_FILE", required = true)]
    pub inputs: Vec<PathBuf>,

    /// Directory for the merged summary.json and summary.md (default:
    /// target/criterion/cargo-perf).
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// What fails the merge (exit 1); regressions are not judged here.
    #[arg(long, value_enum, default_value_t = FailOn::Threshold)]
    pub fail_on: FailOn,
}

/// `cargo perf model`: fits the USL to a concurrency sweep and checks Little's Law per level.
#[derive(Debug, Parser)]
#[command(
    name = "cargo perf model",
    bin_name = "cargo perf model",
    version,
    about = "Fit the Universal Scalability Law to runs of a load test at different `users` and \
             check Little's Law at each level",
    after_help = "Run the same closed-model load test at six or more `users` counts, each with its \
                  own --report-dir, then pass those directories (or their summary.json).\n\
                  Exit status: 0 every sweep fitted, 2 a file cannot be read, no load test with \
                  `users` was found, or a sweep cannot be fitted (the message says why)."
)]
pub struct ModelArgs {
    /// Report directories of the runs (holding summary.json), or summary.json files.
    #[arg(value_name = "DIR_OR_FILE", required = true)]
    pub inputs: Vec<PathBuf>,

    /// Only the load test with this name (default: every load test found, one sweep each).
    #[arg(long, value_name = "NAME")]
    pub test: Option<String>,

    /// Also write the page with each sweep's USL curve over its measured levels to PATH.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
}

impl Args {
    /// Sets `shard` from `--shard`, reading the job's environment for `--shard auto`; an
    /// error names the variable that is missing or wrong.
    pub fn resolve_shard(&mut self) -> Result<(), String> {
        self.shard = shard::resolve(self.shard_arg, |name| std::env::var(name).ok())?;
        Ok(())
    }

    /// The `--export FORMAT PATH` pairs, parsed; an unknown format is a clap usage error that
    /// lists the valid choices (checked right after parsing, before anything is built).
    pub fn exports(&self) -> Result<Vec<(ExportFormat, PathBuf)>, clap::Error> {
        let mut exports = Vec::new();
        for pair in self.export.chunks(2) {
            let [format, path] = pair else {
                // clap's `num_args = 2` already refuses a lone value; kept for direct callers.
                return Err(usage(
                    clap::error::ErrorKind::WrongNumberOfValues,
                    "--export needs a format and a path: --export bmf results.json".into(),
                ));
            };
            let parsed = ExportFormat::from_str(format, true).map_err(|_| {
                let names: Vec<String> = ExportFormat::value_variants()
                    .iter()
                    .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
                    .collect();
                usage(
                    clap::error::ErrorKind::InvalidValue,
                    format!(
                        "invalid value '{format}' for '--export <FORMAT> <PATH>': unknown \
                         export format\n  [possible values: {}]",
                        names.join(", ")
                    ),
                )
            })?;
            exports.push((parsed, PathBuf::from(path)));
        }
        Ok(exports)
    }
}

fn usage(kind: clap::error::ErrorKind, message: String) -> clap::Error {
    Cargo::command().error(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        let argv = ["cargo", "perf"].iter().chain(args);
        match Cargo::try_parse_from(argv) {
            Ok(Cargo::Perf(args)) => args,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn export_formats_are_checked_with_the_valid_choices() {
        let ok = parse(&[
            "--export",
            "BMF",
            "a.json",
            "--export",
            "github-action-benchmark",
            "b",
        ]);
        let exports = ok.exports().expect("valid");
        assert_eq!(
            exports,
            vec![
                (ExportFormat::Bmf, PathBuf::from("a.json")),
                (ExportFormat::GithubActionBenchmark, PathBuf::from("b")),
            ]
        );
        let bad = parse(&["--export", "xml", "a.xml"]);
        let err = bad.exports().expect_err("unknown format").to_string();
        assert!(
            err.contains("'xml'") && err.contains("bmf, github-action-benchmark"),
            "{err}"
        );
        assert_eq!(
            bad.exports().expect_err("unknown").kind(),
            clap::error::ErrorKind::InvalidValue
        );
    }
}
