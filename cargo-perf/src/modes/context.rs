//! What a run knows from its command line and environment, which every later phase reads:
//! paths, this machine, the commit, the statistics' policy, baselines asked for, reports to
//! write, GitHub Actions, each test's history.

use crate::store::history::HistoryExt;
use std::path::PathBuf;

use anyhow::Context as _;

use perf_schema::summary::{Machine, Summary};

use crate::cli::{Args, ExportFormat};
use crate::compare::Policy;
use crate::error::PerfError;
use crate::store::history::{self, History};

/// Everything the comparison and the reports need from the command line and the environment.
pub struct Context {
    /// `target/criterion`.
    pub criterion_home: PathBuf,
    /// Where summary files go.
    pub report_dir: PathBuf,
    /// This machine.
    pub machine: Machine,
    /// The measured commit.
    pub git_commit: Option<String>,
    /// Significance and minimum effect.
    pub policy: Policy,
    /// Re-measurements of a suspected regression.
    pub confirm: usize,
    /// `--baseline`.
    pub baseline: Option<String>,
    /// `--save-baseline`.
    pub save_baseline: Option<String>,
    /// `--no-compare`.
    pub no_compare: bool,
    /// `--against` was given.
    pub paired: bool,
    /// Cargo profile.
    pub profile: String,
    /// Unix time the run started.
    pub now: u64,
    /// `--junit PATH`.
    pub junit: Option<PathBuf>,
    /// `--export FORMAT PATH`, parsed.
    pub exports: Vec<(ExportFormat, PathBuf)>,
    /// `$GITHUB_STEP_SUMMARY` when running in GitHub Actions (`GITHUB_ACTIONS=true`).
    pub github: Option<GithubActions>,
    /// The workspace root (test files are relative to it).
    pub root: PathBuf,
    /// The git repository's top directory, if in one (annotation paths are relative to it).
    pub repo_top: Option<PathBuf>,
    /// Each test's recent runs on this machine (empty in paired and shard runs).
    pub history: History,
}

/// GitHub Actions' environment.
pub struct GithubActions {
    /// File the job summary Markdown is appended to.
    pub step_summary: Option<PathBuf>,
}

impl Context {
    /// Reads the options; a bad `--export` format or `--min-effect` is a usage error.
    pub fn new(args: &Args, criterion_home: &std::path::Path, now: u64) -> anyhow::Result<Self> {
        let exports = args
            .exports()
            .map_err(|e| PerfError::Usage(e.render().to_string()))?;
        if !(0.0..100.0).contains(&args.min_effect) {
            return Err(PerfError::Usage(format!(
                "--min-effect {} is not a percentage between 0 and 100",
                args.min_effect
            ))
            .into());
        }
        let root = args
            .manifest_path
            .as_ref()
            .and_then(|p| p.parent().map(PathBuf::from))
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(std::env::current_dir, Ok)
            .context("cannot find the current directory")?;
        let root = root.canonicalize().unwrap_or(root);
        let machine = crate::exec::machine::current();
        // Read before measuring: a corrupt history stops the run before it costs minutes.
        let history = if args.against.is_some() || args.shard.is_some() {
            History::new(&machine)
        } else {
            let (history, note) = history::read(&history::path(criterion_home), &machine)?;
            if let Some(note) = note {
                eprintln!("cargo perf: {note}");
            }
            history
        };
        let github =
            (std::env::var("GITHUB_ACTIONS").as_deref() == Ok("true")).then(|| GithubActions {
                step_summary: std::env::var_os("GITHUB_STEP_SUMMARY")
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from),
            });
        Ok(Context {
            criterion_home: criterion_home.to_path_buf(),
            report_dir: args
                .report_dir
                .clone()
                .unwrap_or_else(|| criterion_home.join("cargo-perf")),
            machine,
            git_commit: crate::exec::machine::git_commit(&root),
            policy: Policy {
                min_effect: args.min_effect / 100.0,
                ..Policy::default()
            },
            // One re-measurement by default, locally too: a machine that was busy for a moment
            // (a build, a browser) must not fail the developer loop with a false regression.
            confirm: args.confirm.unwrap_or(1),
            baseline: args.baseline.clone(),
            save_baseline: args.save_baseline.clone(),
            no_compare: args.no_compare,
            paired: args.against.is_some(),
            profile: args.profile.clone(),
            now,
            junit: args.junit.clone(),
            exports,
            github,
            repo_top: crate::exec::machine::git_toplevel(&root),
            root,
            history,
        })
    }
}

/// Stamps the summary with this machine and the measured commit.
pub fn stamp(summary: &mut Summary, ctx: &Context) {
    summary.machine = Some(ctx.machine.clone());
    summary.git_commit.clone_from(&ctx.git_commit);
}
