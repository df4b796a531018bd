//! `cargo perf`: finds the test targets that depend on perf-harness, builds them optimized, runs
//! their `#[perf_test]`s one at a time, checks thresholds, writes summaries, sets the exit code.

mod cli;
mod compare;
mod error;
mod exec;
mod judge;
mod merge;
mod models;
mod modes;
#[cfg(test)]
mod prerequisite;
mod project;
mod report;
mod store;

use exec::{progress, runner};
use modes::{builds, capacity, context, paired, regress};
use project::{compile, discover, select, workspace};

use crate::judge::budgets;
use crate::judge::verdict::Judge;
use crate::judge::verdict::NewSummary;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use clap::Parser;
use perf_schema::protocol::{ENV_SERVICE_PID, ENV_SHARD, ENV_USERS, ENV_WORKERS};
use perf_schema::record::{self, LIST_SCHEMA};
use perf_schema::spec::Kind;
use perf_schema::summary::{Summary, TestOutcome, TestResult};

use cli::{Args, Cargo, FailOn, Format};
use error::PerfError;

use perf_schema::protocol::{EXIT_ERROR, EXIT_FAIL, EXIT_PASS};

/// Set by Ctrl-C, SIGTERM or SIGHUP: the running test is interrupted (load tests stop
/// gracefully and keep their results), no further test process starts (no next test, no
/// confirmation, no paired round), and the summary of what ran is still written.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether Ctrl-C was pressed during the run.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

fn main() -> ExitCode {
    // `cargo perf ...` runs us as `cargo-perf perf ...`; accept `cargo-perf ...` run directly too.
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_none_or(|a| a != "perf") {
        argv.insert(1, "perf".into());
    }
    // `cargo perf merge ...` combines shard summaries; anything else is a run.
    if argv.get(2).is_some_and(|a| a == "merge") {
        let mut rest = argv.split_off(3);
        rest.insert(0, "cargo perf merge".into());
        let args = cli::MergeArgs::parse_from(rest);
        return match merge::run(&args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(EXIT_ERROR)
            }
        };
    }
    // `cargo perf model ...` fits the USL to a sweep of summaries.
    if argv.get(2).is_some_and(|a| a == "model") {
        let mut rest = argv.split_off(3);
        rest.insert(0, "cargo perf model".into());
        let args = cli::ModelArgs::parse_from(rest);
        return match models::run(&args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(EXIT_ERROR)
            }
        };
    }
    let Cargo::Perf(mut args) = Cargo::parse_from(argv);
    // Values clap cannot check alone (the format of each `--export FORMAT PATH` pair) are
    // usage errors before anything is built.
    if let Err(e) = args.exports() {
        e.exit();
    }
    // `--shard auto` reads the job's environment: a missing or wrong variable is a usage error.
    if let Err(e) = args.resolve_shard() {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(args: &Args) -> anyhow::Result<u8> {
    let started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    if let Some(rev) = &args.against {
        paired::check_rounds(args.rounds)?;
        let here = match args.manifest_path.as_deref().and_then(|p| p.parent()) {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => std::env::current_dir().context("cannot find the current directory")?,
        };
        paired::check_revision(&here, rev)?;
    }
    let project = workspace::load(args)?;
    // perf.toml and the environment are checked before the build: a typo costs no compile.
    let budget_file = budgets::Budgets::load(&project.workspace_root)?;
    let env = env_choice(args);
    let budgets = budgets::activate(
        budget_file.clone(),
        &project.workspace_root,
        env.as_ref().map(|(name, from)| (name.as_str(), *from)),
    )?;
    // Held for the whole paired run: from the first build to the last round.
    let _lock = match &args.against {
        Some(_) => Some(builds::lock(&project.target_dir)?),
        None => None,
    };
    let build = compile::build(args, &project, compile::For::ThisTree)?;
    // Paired mode builds REF into the same target directory next: keep this build's
    // executables where that build cannot overwrite them.
    let kept = match &args.against {
        Some(_) => Some(keep_new_build(&build, &project)?),
        None => None,
    };
    let binaries = kept.as_ref().map_or(&build.binaries, |k| &k.binaries);
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let all = discover::discover(binaries, scratch.path())?;
    if all.is_empty() {
        let names: Vec<String> = project
            .packages
            .iter()
            .map(|p| format!("`{}`", p.name))
            .collect();
        return Err(PerfError::NoTests(names.join(", ")).into());
    }
    // perf.toml's patterns must each match a perf test of the build, whatever the filters.
    if let Some(file) = &budget_file {
        let listed: Vec<_> = all.iter().map(|f| f.test.clone()).collect();
        file.check_patterns(&listed, &project.unselected)?;
    }
    let mut selected = select::filter(all, &args.filters, args.exact)?;
    if let Some(shard) = args.shard {
        // Every shard runs its part of each load test; other tests are dealt round-robin.
        let mut position = 0;
        selected.retain(|f| {
            if f.test.spec.kind == Kind::Load {
                return true;
            }
            position += 1;
            shard.runs_unsplit(position - 1)
        });
    }

    if args.capacity.is_some() {
        capacity::check(&selected)?;
    }
    if let Some(pid) = args.service_pid {
        check_service_pid(pid)?;
    }
    if args.users.is_some() {
        check_closed(&selected)?;
    }

    if args.list {
        match args.format {
            Format::Human => print!("{}", report::list(&selected)),
            Format::Json => {
                let list = record::TestList {
                    schema: LIST_SCHEMA.into(),
                    tests: selected.into_iter().map(|f| f.test).collect(),
                };
                println!("{}", serde_json::to_string_pretty(&list)?);
            }
        }
        return Ok(EXIT_PASS);
    }

    if let (Some(env), Format::Human) = (budgets.describe(), args.format) {
        eprintln!("cargo perf: judging under {env}");
    }
    let criterion_home = project.target_dir.join("criterion");
    let config = runner::RunConfig {
        quick: args.quick,
        criterion_home: criterion_home.clone(),
        scratch: scratch.path().to_path_buf(),
        verbose: args.verbose,
        binary_args: args.binary_args.clone(),
        env: args
            .shard
            .map(|s| (ENV_SHARD.to_string(), s.to_string()))
            .into_iter()
            .chain(
                args.service_pid
                    .map(|p| (ENV_SERVICE_PID.to_string(), p.to_string())),
            )
            .chain(args.users.map(|n| (ENV_USERS.to_string(), n.to_string())))
            .chain(
                args.workers
                    .map(|n| (ENV_WORKERS.to_string(), n.to_string())),
            )
            .collect(),
        base_url: args.base_url.clone(),
    };
    let mut context = context::Context::new(args, &criterion_home, started_at)?;
    // A shard measured part of the load, a capacity search other rates than the test's:
    // comparing either with a whole run would mislead.
    context.no_compare |= args.shard.is_some() || args.capacity.is_some();
    let running = Instant::now();
    // Ctrl-C, SIGTERM or SIGHUP: the running test gets SIGINT (also when the signal was sent to
    // cargo perf alone, as a CI runner's cancel does) and ends its test, keeping what it
    // measured; no new test process starts. Without a handler (setup failed) a signal ends us.
    let _ = ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::SeqCst);
        runner::interrupt_running();
    });
    // Paired mode measures both builds in rounds; otherwise one run, compared with a baseline.
    let mut capacities = Vec::new();
    let (ran, compared) = match (&args.against, &kept, args.capacity) {
        (Some(rev), Some(kept), _) => {
            paired::run(args, &project, &selected, &config, rev, &context, kept)?
        }
        (_, _, Some(range)) => {
            let mut ran = Vec::new();
            for (i, found) in selected.iter().enumerate() {
                if interrupted() {
                    break;
                }
                let (result, infrastructure_error) =
                    capacity::run(i, found, &config, range, &budgets);
                capacities.push(result.capacity.clone());
                ran.push(runner::Ran {
                    record: result.record,
                    infrastructure_error,
                });
            }
            (ran, None)
        }
        _ => {
            let progress = progress::Progress::new(selected.len(), args.verbose);
            let ran = runner::run_all(&selected, &config, &progress);
            progress.done();
            (ran, None)
        }
    };
    let stopped = interrupted().then_some((ran.len(), selected.len()));
    // Building REF is not measuring: the summary's duration excludes it, as it does this build.
    let building_s = compared.as_ref().map_or(0.0, |p| p.build_s);
    let measuring_s = || (running.elapsed().as_secs_f64() - building_s).max(0.0);

    let service_gone = service_gone(&ran);
    let infrastructure_error = ran.iter().any(|r| r.infrastructure_error) || service_gone.is_some();
    let mut results: Vec<TestResult> = ran
        .into_iter()
        .map(|r| TestResult::judge_under(r.record, &budgets))
        .collect();
    for (r, c) in results.iter_mut().zip(capacities) {
        r.capacity = c;
    }
    let mut summary = Summary::new(started_at, measuring_s(), args.profile.clone(), results);
    let base_records = match compared {
        Some(paired) => paired::attach(&mut summary, paired, &context),
        None => regress::compare_with_baseline(&mut summary, &selected, &config, &context)?,
    };
    summary.shard = args.shard;
    if args.shard.is_none() {
        regress::save_baselines(&summary, &context)?;
    }
    report::criterion::write_all(&summary, &criterion_home, args.save_baseline.as_deref())?;
    summary.duration_s = measuring_s();
    let report_dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| criterion_home.join("cargo-perf"));
    let json_path = write(
        &report_dir,
        "summary.json",
        &serde_json::to_vec_pretty(&summary)?,
    )?;
    write(
        &report_dir,
        "summary.md",
        report::markdown(&summary).as_bytes(),
    )?;

    regress::write_reports(&summary, &base_records, &context, args.format)?;

    match args.format {
        Format::Human => {
            print!("{}", report::table(&summary));
            println!("summary: {}", json_path.display());
        }
        Format::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
    }
    let code = exit_code(&summary, args.fail_on, infrastructure_error);
    if let Some(gone) = service_gone {
        eprintln!("error: {gone}; the summary holds what was measured");
    }
    if let Some((ran, of)) = stopped {
        eprintln!(
            "cargo perf: interrupted (Ctrl-C, SIGTERM or SIGHUP) after {ran} of {of} perf tests; the \
             summary holds the results so far"
        );
        return Ok(code.max(EXIT_FAIL));
    }
    Ok(code)
}

/// The environment asked for: `--env NAME`, else a non-empty `CARGO_PERF_ENV`, with who asked.
fn env_choice(args: &Args) -> Option<(String, &'static str)> {
    if let Some(name) = &args.env {
        return Some((name.clone(), "--env"));
    }
    std::env::var(judge::budgets::ENV_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .map(|v| (v.trim().to_string(), judge::budgets::ENV_VAR))
}

/// The new build of a paired run, copied aside and fingerprinted.
fn keep_new_build(
    build: &compile::Build,
    project: &workspace::Project,
) -> anyhow::Result<builds::Kept> {
    let (commit, dirty) = paired::tree_state(&project.workspace_root);
    let foreign = [paired::against_folder(&project.target_dir)];
    let tree = builds::Tree {
        root: &project.workspace_root,
        target_dir: &project.target_dir,
        foreign: &foreign,
        commit,
        dirty,
    };
    Ok(builds::keep(build, builds::Role::New, &tree)?)
}

pub(crate) fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> Result<PathBuf, PerfError> {
    let path = dir.join(name);
    perf_schema::document::write_atomic(&path, bytes).map_err(|source| PerfError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// `--users`: every selected test must be a closed-model load test with a constant `users`.
fn check_closed(selected: &[discover::Found]) -> Result<(), PerfError> {
    let others = select::misfits(selected, |s| {
        s.kind == Kind::Load && s.users.is_some() && s.stages.is_none()
    });
    if others.is_empty() {
        return Ok(());
    }
    Err(PerfError::Usage(format!(
        "--users sets the virtual users of closed-model load tests with a constant `users`; not \
         {}: select the test of the sweep with a filter (`cargo perf --users 8 NAME`)",
        others.join(", ")
    )))
}

/// `--service-pid`: the process must be there when the run starts.
fn check_service_pid(pid: u32) -> Result<(), PerfError> {
    let running = if cfg!(target_os = "linux") {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
    } else {
        let mut system = sysinfo::System::new();
        let p = sysinfo::Pid::from_u32(pid);
        system.refresh_processes(sysinfo::ProcessesToUpdate::Some(&[p]), true);
        system.process(p).is_some()
    };
    if running {
        return Ok(());
    }
    Err(PerfError::Usage(format!(
        "--service-pid {pid}: no such process is running; give the process id of the running \
         service (e.g. `pgrep -f my-service`), or leave the flag out"
    )))
}

/// When a watched service process (`--service-pid`) went away during a load test: which test
/// and when.
fn service_gone(ran: &[runner::Ran]) -> Option<String> {
    ran.iter().find_map(|r| {
        let s = r.record.load.as_ref()?.service_process.as_ref()?;
        let t = s.exited_after_s?;
        Some(format!(
            "the service process {} (--service-pid) was gone {t:.1}s into the load of `{}`: \
             its crash or exit, not the load, ended what the test could measure",
            s.pid, r.record.test.name
        ))
    })
}

pub(crate) fn exit_code(summary: &Summary, fail_on: FailOn, infrastructure_error: bool) -> u8 {
    if infrastructure_error {
        return EXIT_ERROR;
    }
    let any = |o: TestOutcome| summary.results.iter().any(|r| r.outcome == o);
    let gate = regress::gate(fail_on);
    let failed = any(TestOutcome::Error)
        || (gate.thresholds && any(TestOutcome::Fail))
        || summary.results.iter().any(|r| gate.fails_on_change(r));
    if failed {
        EXIT_FAIL
    } else {
        EXIT_PASS
    }
}
