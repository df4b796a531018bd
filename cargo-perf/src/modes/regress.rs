//! The regression side of a run: which baseline to compare with, re-measuring suspects
//! (`--confirm`), saving baselines, the gate (`--fail-on`) and the CI reports (JUnit, GitHub,
//! exports, criterion-compatible files are in `report::criterion`).

use crate::compare::ComparisonExt;
use crate::judge::verdict::Judge;
use crate::judge::verdict::Tally;
use crate::store::baseline::BaselineExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::compare::{format_change, Change, Comparison, Severity};
use perf_schema::record::Record;
use perf_schema::summary::{CompareMode, ComparedWith, Summary, TestResult};

use crate::cli::{ExportFormat, FailOn, Format};
use crate::error::PerfError;
use crate::exec::machine::{self, Settled};
use crate::exec::runner::{self, RunConfig};
use crate::judge::{self, Gate};
use crate::modes::context::{stamp, Context};
use crate::project::discover::Found;
use crate::store::baseline::{self, Baseline, Snapshot};
use crate::store::history;

/// Longest wait for other processes to quieten before one confirmation re-measurement.
pub const CONFIRM_WAIT: Duration = Duration::from_secs(15);

/// Longest total wait before confirmations in one run (a build that keeps the machine busy
/// must not add a quarter of an hour to a run with many suspects).
pub const CONFIRM_WAIT_PER_RUN: Duration = Duration::from_secs(30);

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
    let mut notes = judge::against_baseline(
        &mut summary.results,
        &base,
        &ctx.machine,
        &ctx.policy,
        Some(&ctx.history),
    );
    if ctx.confirm > 0 {
        confirm(summary, selected, config, ctx, &base);
    }
    notes.extend(conditions_note(&summary.results, &base));
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

/// What the re-measurements of a suspected regression showed.
#[derive(Debug, Clone, PartialEq)]
pub enum Confirmation {
    /// Every re-measurement, on a quiet machine, was a regression too.
    Confirmed,
    /// A re-measurement was not a regression: its comparison.
    Refuted(Comparison),
    /// Other processes took this many cores during a re-measurement: it proves nothing.
    Busy(f64),
    /// cargo perf was interrupted before the re-measurement could run.
    Interrupted,
}

impl Confirmation {
    /// The outcome of one re-measurement: busy (its machine state), else its comparison.
    pub fn of(again: &Record, c: Comparison) -> Option<Confirmation> {
        let other = again.machine_state.as_ref().and_then(|s| s.other_cpu_cores);
        if let Some(cores) = other.filter(|c| *c >= machine::BUSY_CORES) {
            return Some(Confirmation::Busy(cores));
        }
        (c.change_verdict != Change::Regression).then_some(Confirmation::Refuted(c))
    }

    /// Writes the outcome into the suspected regression's comparison.
    pub fn settle(self, c: &mut Comparison, remeasurements: usize) {
        match self {
            Confirmation::Confirmed => c.lead_note(format!(
                "confirmed by {remeasurements} re-measurement{}",
                if remeasurements == 1 { "" } else { "s" }
            )),
            Confirmation::Refuted(again) => {
                c.change_verdict = Change::Inconclusive;
                c.severity = None;
                let why = again
                    .note
                    .as_deref()
                    .filter(|_| again.change_verdict == Change::Inconclusive)
                    .and_then(|n| n.split("; ").next())
                    .filter(|n| n.starts_with("the baseline ran") || n.starts_with("no larger"))
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default();
                c.lead_note(format!(
                    "not confirmed: a re-measurement gave {} ({}{why})",
                    format_change(again.change),
                    again.change_verdict.as_str()
                ));
            }
            Confirmation::Interrupted => {
                c.change_verdict = Change::Inconclusive;
                c.severity = None;
                c.lead_note("not confirmed: interrupted before the re-measurement");
            }
            Confirmation::Busy(cores) => {
                c.change_verdict = Change::Inconclusive;
                c.severity = None;
                c.lead_note(format!(
                    "could not confirm: other processes took {cores:.1} cores during the \
                     re-measurement"
                ));
            }
        }
    }
}

/// Runs each suspected regression again, after waiting (bounded) for other processes to
/// quieten; a re-measurement that is not a regression, or that ran on a busy machine, makes
/// the verdict inconclusive instead of failing the build on noise.
fn confirm(
    summary: &mut Summary,
    selected: &[Found],
    config: &RunConfig,
    ctx: &Context,
    base: &Baseline,
) {
    let mut wait_left = CONFIRM_WAIT_PER_RUN;
    for (i, result) in summary.results.iter_mut().enumerate() {
        let suspected = result
            .comparison
            .as_ref()
            .is_some_and(|c| c.change_verdict == Change::Regression);
        let (Some(found), true) = (selected.get(i), suspected) else {
            continue;
        };
        let name = &found.test.id.name;
        let mut outcome = Confirmation::Confirmed;
        for k in 0..ctx.confirm {
            if crate::interrupted() {
                outcome = Confirmation::Interrupted;
                break;
            }
            let what_for = format!("re-measuring {name} ({}/{})", k + 1, ctx.confirm);
            let started = std::time::Instant::now();
            let settled = machine::wait_for_quiet(CONFIRM_WAIT.min(wait_left), &what_for, |m| {
                eprintln!("cargo perf: {m}")
            });
            wait_left = wait_left.saturating_sub(started.elapsed());
            if !matches!(settled, Settled::Busy(_)) {
                eprintln!("cargo perf: {what_for} to confirm a regression");
            }
            if crate::interrupted() {
                outcome = Confirmation::Interrupted;
                break;
            }
            let again = runner::run_one_observed(10_000 + i * 100 + k, found, config).record;
            let c = recheck(&again, base, ctx);
            if let Some(o) = Confirmation::of(&again, c) {
                outcome = o;
                break;
            }
        }
        if let Some(c) = result.comparison.as_mut() {
            outcome.settle(c, ctx.confirm);
        }
    }
}

fn recheck(record: &Record, base: &Baseline, ctx: &Context) -> Comparison {
    let mut one = vec![TestResult::judge(record.clone())];
    judge::against_baseline(
        &mut one,
        base,
        &ctx.machine,
        &ctx.policy,
        Some(&ctx.history),
    );
    one.pop()
        .and_then(|r| r.comparison)
        .unwrap_or_else(|| Comparison::not_compared(judge::headline_metric(&record.spec), "-"))
}

/// A note for the whole run when other processes were busy while it measured: how busy, and
/// how many comparisons that made inconclusive.
pub fn conditions_note(results: &[TestResult], base: &Baseline) -> Option<String> {
    let busiest = results
        .iter()
        .filter_map(|r| r.record.machine_state.as_ref()?.other_cpu_cores)
        .fold(None, |m: Option<f64>, c| Some(m.map_or(c, |m| m.max(c))))?;
    let differ = results
        .iter()
        .filter(|r| {
            base.find(&r.record.test).is_some_and(|b| {
                machine::different_conditions(
                    b.machine_state.as_ref(),
                    r.record.machine_state.as_ref(),
                )
                .is_some()
            })
        })
        .count();
    if busiest < machine::BUSY_CORES && differ == 0 {
        return None;
    }
    let loads: Vec<f64> = results
        .iter()
        .filter_map(|r| r.record.machine_state.as_ref())
        .flat_map(|s| [s.load_avg_1m_start, s.load_avg_1m_end])
        .flatten()
        .collect();
    let load = match (
        loads.iter().copied().reduce(f64::min),
        loads.iter().copied().reduce(f64::max),
    ) {
        (Some(lo), Some(hi)) if format!("{lo:.2}") == format!("{hi:.2}") => {
            format!(" (load average {lo:.2})")
        }
        (Some(lo), Some(hi)) => format!(" (load average {lo:.2}–{hi:.2})"),
        _ => String::new(),
    };
    let what = if differ == 0 {
        "its baseline ran beside a similar load, so they were compared, and a regression is \
         confirmed only by a re-measurement on a quiet machine"
            .to_string()
    } else {
        format!(
            "{differ} of {} tests ran under other conditions than their baseline and are \
             inconclusive (run again on a quiet machine)",
            results.len()
        )
    };
    Some(format!(
        "other processes took up to {busiest:.1} cores while this run measured{load}; {what}"
    ))
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
        history::record(
            &history::path(&ctx.criterion_home),
            &ctx.machine,
            history_runs(&summary.results, ctx),
        )?;
    }
    if let Some(name) = &ctx.save_baseline {
        let path = baseline::save(name, &ctx.criterion_home, &snapshot)?;
        eprintln!("cargo perf: saved baseline `{name}` to {}", path.display());
    }
    Ok(())
}

/// This run's entry for each measured test's history.
fn history_runs(
    results: &[TestResult],
    ctx: &Context,
) -> Vec<(perf_schema::record::TestId, history::Run)> {
    results
        .iter()
        .filter(|r| r.record.optimized)
        .filter_map(|r| {
            let (metric, value_ns) = judge::judged_value(&r.record)?;
            let run = history::Run {
                at_unix_s: ctx.now,
                git_commit: ctx.git_commit.clone(),
                build_hash: r.record.build_hash.clone(),
                spec: r.record.spec.to_string(),
                quick: r.record.quick,
                metric: metric.key(),
                value_ns,
                machine_state: r.record.machine_state,
            };
            Some((r.record.test.clone(), run))
        })
        .collect()
}

/// JUnit XML, exports, and in GitHub Actions the job summary and annotations.
pub fn write_reports(
    summary: &Summary,
    base: &[Record],
    ctx: &Context,
    format: Format,
) -> anyhow::Result<()> {
    let write = |path: &PathBuf, bytes: &[u8]| {
        perf_schema::document::write_atomic(path, bytes).map_err(|source| PerfError::Write {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{Method, Metric};
    use perf_schema::record::{MachineState, Status, TestId};
    use perf_schema::spec::Spec;

    fn record(other_cores: Option<f64>) -> Record {
        Record {
            machine_state: Some(MachineState {
                load_avg_1m_start: Some(1.25),
                load_avg_1m_end: Some(3.5),
                other_cpu_cores: other_cores,
                test_cpu_cores: Some(1.0),
                window_s: 2.0,
            }),
            ..Record::new(
                TestId {
                    package: "p".into(),
                    target: "t".into(),
                    name: "browse_media".into(),
                    file: "tests/t.rs".into(),
                    line: 1,
                },
                Spec::MICRO,
                Status::Measured,
            )
        }
    }

    fn comparison(change: f64, verdict: Change) -> Comparison {
        Comparison {
            method: Method::MannWhitneyU,
            change,
            change_verdict: verdict,
            severity: (verdict == Change::Regression).then(|| Severity::of(change)),
            note: None,
            ..Comparison::not_compared(Metric::MEDIAN, "")
        }
    }

    #[test]
    fn a_re_measurement_on_a_busy_machine_cannot_confirm() {
        let again = comparison(4.979, Change::Regression);
        // Still a regression, but measured while a build took 1.7 cores: no proof.
        let busy = Confirmation::of(&record(Some(1.7)), again.clone());
        assert_eq!(busy, Some(Confirmation::Busy(1.7)));
        let mut c = comparison(4.979, Change::Regression);
        c.note = Some("judged on the median".into());
        busy.expect("busy").settle(&mut c, 1);
        assert_eq!(c.change_verdict, Change::Inconclusive);
        assert_eq!(c.severity, None);
        assert_eq!(
            c.note.as_deref(),
            Some(
                "could not confirm: other processes took 1.7 cores during the re-measurement; \
                 judged on the median"
            )
        );
        // Quiet and a regression again: the re-measurement goes on (or confirms).
        assert_eq!(Confirmation::of(&record(Some(0.2)), again.clone()), None);
        // Unknown state (not Linux): judged on its comparison alone.
        assert_eq!(Confirmation::of(&record(None), again), None);
        let mut c = comparison(0.6, Change::Regression);
        Confirmation::Confirmed.settle(&mut c, 2);
        assert_eq!(c.change_verdict, Change::Regression);
        assert_eq!(c.note.as_deref(), Some("confirmed by 2 re-measurements"));
    }

    #[test]
    fn a_quiet_re_measurement_that_is_no_regression_refutes_with_its_reason() {
        let mut again = comparison(0.03, Change::Inconclusive);
        again.note = Some(
            "no larger than the run-to-run noise of this test: ±56.8 % assumed for latency \
             tests (...); judged on the median"
                .into(),
        );
        let refuted = Confirmation::of(&record(Some(0.1)), again).expect("refuted");
        let mut c = comparison(0.4, Change::Regression);
        refuted.settle(&mut c, 1);
        assert_eq!(c.change_verdict, Change::Inconclusive);
        assert_eq!(
            c.note.as_deref(),
            Some(
                "not confirmed: a re-measurement gave +3.0 % (inconclusive: no larger than the \
                 run-to-run noise of this test: ±56.8 % assumed for latency tests (...))"
            )
        );
        let unchanged = Confirmation::of(&record(Some(0.1)), comparison(0.01, Change::Unchanged));
        let mut c = comparison(0.4, Change::Regression);
        unchanged.expect("refuted").settle(&mut c, 1);
        assert_eq!(
            c.note.as_deref(),
            Some("not confirmed: a re-measurement gave +1.0 % (unchanged)")
        );
    }

    #[test]
    fn a_busy_run_gets_a_note_with_the_cores_load_and_count_of_inconclusive_tests() {
        let base = Baseline {
            schema: baseline::BASELINE_SCHEMA.into(),
            name: "base".into(),
            saved_at: 0,
            tool_version: "0".into(),
            git_commit: None,
            machine: crate::exec::machine::current(),
            profile: "bench".into(),
            records: vec![record(Some(0.1))],
        };
        let busy = [TestResult::judge(record(Some(1.7)))];
        assert_eq!(
            conditions_note(&busy, &base).as_deref(),
            Some(
                "other processes took up to 1.7 cores while this run measured (load average \
                 1.25–3.50); 1 of 1 tests ran under other conditions than their baseline and are \
                 inconclusive (run again on a quiet machine)"
            )
        );
        let beside = Baseline {
            records: vec![record(Some(1.5))],
            ..base.clone()
        };
        assert!(conditions_note(&busy, &beside).is_some_and(|n| n.ends_with(
            "its baseline ran beside a similar load, so they were compared, and a regression is \
             confirmed only by a re-measurement on a quiet machine"
        )));
        let quiet = [TestResult::judge(record(Some(0.2)))];
        assert_eq!(conditions_note(&quiet, &base), None);
        let unknown = [TestResult::judge(record(None))];
        assert_eq!(conditions_note(&unknown, &base), None);
    }
}
