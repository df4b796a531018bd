//! The regression side of a run: which baseline to compare with, re-measuring suspects
//! (`--confirm`), saving baselines, the gate (`--fail-on`) and the CI reports (JUnit, GitHub,
//! exports, criterion-compatible files are in `criterion_out`).

use std::path::PathBuf;

use anyhow::Context as _;
use perf_harness::compare::{format_change, Change, Comparison, Policy, Severity};
use perf_harness::record::{CompareMode, ComparedWith, Machine, Record, Summary};

use crate::baseline::{self, Baseline, Snapshot};
use crate::cli::{Args, ExportFormat, FailOn, Format};
use crate::discover::Found;
use crate::error::PerfError;
use crate::judge::{self, Gate};
use crate::paired::Paired;
use crate::runner::{self, RunConfig};

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
            machine: crate::machine::current(),
            git_commit: crate::machine::git_commit(&root),
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
            repo_top: crate::machine::git_toplevel(&root),
            root,
        })
    }
}

/// The gate `--fail-on` selects.
pub fn gate(fail_on: FailOn) -> Gate {
    match fail_on {
        FailOn::Threshold => Gate {
            thresholds: true,
            regressions: Some(Severity::Major),
        },
        FailOn::Regression => Gate {
            thresholds: true,
            regressions: Some(Severity::Small),
        },
        FailOn::None => Gate {
            thresholds: false,
            regressions: None,
        },
    }
}

fn stamp(summary: &mut Summary, ctx: &Context) {
    summary.machine = Some(ctx.machine.clone());
    summary.git_commit.clone_from(&ctx.git_commit);
}

/// Paired mode: puts the comparisons computed over the rounds into the summary; returns the
/// reference build's records.
pub fn attach(summary: &mut Summary, paired: Paired, ctx: &Context) -> Vec<Record> {
    stamp(summary, ctx);
    for (r, c) in summary.results.iter_mut().zip(paired.comparisons) {
        r.comparison = Some(c);
        // Counts have no noise: the reference build's last round against this build's.
        r.counts = judge::counts_against(&paired.reference, &r.record);
    }
    let mut with = paired.with;
    with.count(&summary.results);
    summary.compared_with = Some(with);
    paired.reference
}

/// Baseline mode: compares with `--baseline`, else with the previous run when there is one, and
/// re-measures suspected regressions `--confirm` times.
pub fn compare_with_baseline(
    summary: &mut Summary,
    selected: &[Found],
    config: &RunConfig,
    ctx: &Context,
) -> anyhow::Result<Vec<Record>> {
    stamp(summary, ctx);
    if ctx.no_compare {
        return Ok(Vec::new());
    }
    let base = match &ctx.baseline {
        Some(name) => baseline::read_required(name, &ctx.criterion_home)?,
        None => {
            let path = baseline::locate(baseline::PREVIOUS, &ctx.criterion_home)?;
            match baseline::read(&path)? {
                Some(b) => b,
                None => return Ok(Vec::new()),
            }
        }
    };
    let notes = judge::against_baseline(&mut summary.results, &base, &ctx.machine, &ctx.policy);
    if ctx.confirm > 0 {
        confirm(summary, selected, config, ctx, &base);
    }
    let mut with = ComparedWith {
        mode: CompareMode::Baseline,
        against: ctx
            .baseline
            .clone()
            .unwrap_or_else(|| format!("{} (the previous run)", baseline::PREVIOUS)),
        commit: base.git_commit.clone(),
        notes,
        regressions: 0,
        improvements: 0,
        unchanged: 0,
        inconclusive: 0,
        not_compared: 0,
        builds: Vec::new(),
    };
    with.count(&summary.results);
    summary.compared_with = Some(with);
    Ok(base.records)
}

/// Runs each suspected regression again; one re-measurement that is not a regression makes the
/// verdict inconclusive instead of failing the build on a noise spike.
fn confirm(
    summary: &mut Summary,
    selected: &[Found],
    config: &RunConfig,
    ctx: &Context,
    base: &Baseline,
) {
    for (i, result) in summary.results.iter_mut().enumerate() {
        let suspected = result
            .comparison
            .as_ref()
            .is_some_and(|c| c.change_verdict == Change::Regression);
        let (Some(found), true) = (selected.get(i), suspected) else {
            continue;
        };
        let mut refuted = None;
        for k in 0..ctx.confirm {
            eprintln!(
                "cargo perf: re-measuring {} to confirm a regression ({}/{})",
                found.test.id.name,
                k + 1,
                ctx.confirm
            );
            let again = runner::run_one(10_000 + i * 100 + k, found, config).record;
            let c = recheck(&again, base, ctx);
            if c.change_verdict != Change::Regression {
                refuted = Some(c);
                break;
            }
        }
        let Some(c) = result.comparison.as_mut() else {
            continue;
        };
        match refuted {
            None => c.lead_note(format!(
                "confirmed by {} re-measurement{}",
                ctx.confirm,
                if ctx.confirm == 1 { "" } else { "s" }
            )),
            Some(again) => {
                c.change_verdict = Change::Inconclusive;
                c.severity = None;
                c.lead_note(format!(
                    "not confirmed: a re-measurement gave {} ({})",
                    format_change(again.change),
                    again.change_verdict.as_str()
                ));
            }
        }
    }
}

fn recheck(record: &Record, base: &Baseline, ctx: &Context) -> Comparison {
    let mut one = vec![perf_harness::record::TestResult::judge(record.clone())];
    judge::against_baseline(&mut one, base, &ctx.machine, &ctx.policy);
    one.pop()
        .and_then(|r| r.comparison)
        .unwrap_or_else(|| Comparison::not_compared(judge::headline_metric(&record.spec), "-"))
}

/// Saves the run as the previous run (`base`) unless it compared with a named baseline or a git
/// revision, and as `--save-baseline NAME` when asked.
pub fn save_baselines(summary: &Summary, ctx: &Context) -> anyhow::Result<()> {
    let records: Vec<Record> = summary.results.iter().map(|r| r.record.clone()).collect();
    let snapshot = Snapshot {
        records: &records,
        machine: &ctx.machine,
        git_commit: ctx.git_commit.as_deref(),
        profile: &ctx.profile,
        now: ctx.now,
    };
    if ctx.baseline.is_none() && !ctx.paired {
        baseline::save(baseline::PREVIOUS, &ctx.criterion_home, &snapshot)?;
    }
    if let Some(name) = &ctx.save_baseline {
        let path = baseline::save(name, &ctx.criterion_home, &snapshot)?;
        eprintln!("cargo perf: saved baseline `{name}` to {}", path.display());
    }
    Ok(())
}

/// JUnit XML, exports, and in GitHub Actions the job summary and annotations.
pub fn write_reports(
    summary: &Summary,
    base: &[Record],
    ctx: &Context,
    format: Format,
) -> anyhow::Result<()> {
    let write = |path: &PathBuf, bytes: &[u8]| {
        perf_harness::record::write_atomic(path, bytes).map_err(|source| PerfError::Write {
            path: path.clone(),
            source,
        })
    };
    if let Some(path) = &ctx.junit {
        write(path, crate::report::junit::render(summary).as_bytes())?;
    }
    for (format, path) in &ctx.exports {
        let text = match format {
            ExportFormat::Bmf => crate::report::export::bmf(summary),
            ExportFormat::GithubActionBenchmark => {
                crate::report::export::github_action_benchmark(summary)
            }
        };
        write(path, text.as_bytes())?;
    }
    let html = ctx.report_dir.join("report.html");
    write(&html, crate::report::html::render(summary, base).as_bytes())?;
    if let Some(gh) = &ctx.github {
        // Workflow commands are read from both streams; stdout stays JSON with --format json.
        for line in crate::report::github::annotations(summary, &ctx.root, ctx.repo_top.as_deref())
        {
            match format {
                Format::Human => println!("{line}"),
                Format::Json => eprintln!("{line}"),
            }
        }
        if let Some(path) = &gh.step_summary {
            use std::io::Write as _;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| PerfError::Write {
                    path: path.clone(),
                    source,
                })?;
            f.write_all(crate::report::markdown(summary).as_bytes())
                .map_err(|source| PerfError::Write {
                    path: path.clone(),
                    source,
                })?;
        }
    }
    Ok(())
}
