//! Models of a concurrency sweep (the same load test run at several user counts): the
//! Universal Scalability Law fitted to its throughput, and Little's Law checked at each level;
//! `cargo perf model` reads the runs' summaries and prints both.

pub mod little;
pub mod page;
pub mod table;
pub mod usl;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use perf_schema::document::parse_versioned;
use perf_schema::protocol::{EXIT_ERROR, EXIT_PASS};
use perf_schema::summary::{Summary, TestResult, SUMMARY_SCHEMA};

use crate::cli::ModelArgs;
use crate::error::PerfError;
use little::Level;
use usl::{ModelError, Point, UslFit};

/// Runs `cargo perf model`: reads the summaries, builds one sweep per load test, prints each;
/// 0 when every sweep fitted, 2 otherwise.
pub fn run(args: &ModelArgs) -> anyhow::Result<u8> {
    let summaries = read(&args.inputs)?;
    let sweeps = sweeps(
        summaries.iter().flat_map(|s| &s.results),
        args.test.as_deref(),
    );
    if sweeps.is_empty() {
        return Err(PerfError::Usage(format!(
            "no closed-model load test (one with `users`){} in the {} summaries given; run the \
             load test at six or more `users` counts and pass each run's --report-dir",
            args.test
                .as_deref()
                .map(|t| format!(" named `{t}`"))
                .unwrap_or_default(),
            summaries.len()
        ))
        .into());
    }
    let mut fitted = true;
    let mut analysed = Vec::new();
    for (name, levels) in sweeps {
        let sweep = analyse(&levels);
        fitted &= sweep.fit.is_ok();
        println!("{name}: {} runs", levels.len());
        for line in table::render(&sweep) {
            println!("  {line}");
        }
        analysed.push((name, levels, sweep));
    }
    if let Some(path) = &args.html {
        perf_schema::document::replace(path, page::render(&analysed).as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("model.html: {}", path.display());
    }
    Ok(if fitted { EXIT_PASS } else { EXIT_ERROR })
}

/// Reads each input: a summary.json, or a report directory holding one.
fn read(inputs: &[PathBuf]) -> anyhow::Result<Vec<Summary>> {
    inputs
        .iter()
        .map(|input| {
            let file = if input.is_dir() {
                input.join("summary.json")
            } else {
                input.clone()
            };
            let text = std::fs::read_to_string(&file).with_context(|| {
                format!(
                    "cannot read {}; give each run's --report-dir or its summary.json",
                    file.display()
                )
            })?;
            Ok(parse_versioned(
                &text,
                SUMMARY_SCHEMA,
                &file.display().to_string(),
            )?)
        })
        .collect()
}

/// The closed-model load results as sweep levels, by test name, sorted by users; results
/// without a load report or without `users` (open model, stages) are left out, and so are
/// other tests when `only` names one.
pub fn sweeps<'a>(
    results: impl IntoIterator<Item = &'a TestResult>,
    only: Option<&str>,
) -> BTreeMap<String, Vec<Level>> {
    let mut sweeps: BTreeMap<String, Vec<Level>> = BTreeMap::new();
    for r in results {
        let (spec, name) = (&r.record.spec, &r.record.test.name);
        if only.is_some_and(|only| only != name) {
            continue;
        }
        let (Some(load), Some(users)) = (&r.record.load, spec.users) else {
            continue;
        };
        sweeps.entry(name.clone()).or_default().push(Level {
            users: users as f64,
            throughput: load.iterations_per_s,
            response_s: load.iteration.mean_ns / 1e9,
            think_s: spec.think_ns.unwrap_or(0) as f64 / 1e9,
        });
    }
    for levels in sweeps.values_mut() {
        levels.sort_by(|a, b| a.users.total_cmp(&b.users));
    }
    sweeps
}

/// A sweep analysed: Little's check of each level and the USL fit of its throughput.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// Little's Law at each level.
    pub little: little::Check,
    /// The USL fit, or why there is none.
    pub fit: Result<UslFit, ModelError>,
}

/// Checks each level against Little's Law and fits the USL to (users, throughput).
pub fn analyse(levels: &[Level]) -> Sweep {
    let points: Vec<Point> = levels
        .iter()
        .map(|l| Point {
            n: l.users,
            x: l.throughput,
        })
        .collect();
    Sweep {
        little: little::check(levels),
        fit: usl::fit(&points),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::verdict::Judge;
    use crate::report::load_md::tests::load_record;

    /// A run of the `browse` load test at `users` with `think_ms`, throughput `x`, mean `r_ms`.
    fn run_at(users: u64, think_ms: u64, x: f64, r_ms: f64) -> TestResult {
        let mut record = load_record();
        record.spec.users = Some(users);
        record.spec.think_ns = Some(think_ms * 1_000_000);
        let load = record.load.as_mut().expect("load");
        load.iterations_per_s = x;
        load.iteration.mean_ns = r_ms * 1e6;
        TestResult::judge(record)
    }

    #[test]
    fn summaries_become_one_sweep_per_test_in_user_order() {
        let mut other = run_at(1, 0, 5.0, 200.0);
        other.record.test.name = "search".into();
        let mut open = run_at(3, 0, 1.0, 1.0);
        open.record.spec.users = None;
        let results = [
            run_at(4, 50, 32.0, 75.0),
            run_at(1, 50, 10.0, 50.0),
            other,
            open,
        ];
        let found = sweeps(&results, None);
        assert_eq!(found.keys().collect::<Vec<_>>(), ["browse", "search"]);
        let browse = &found["browse"];
        assert_eq!(
            browse[0],
            Level {
                users: 1.0,
                throughput: 10.0,
                response_s: 0.05,
                think_s: 0.05,
            }
        );
        assert_eq!(browse[1].users, 4.0);
        // 32/s × (0.075 + 0.05) s = 4 users: Little's Law holds.
        assert!(little::row(browse[1]).deviation.abs() < 1e-12);
        assert_eq!(sweeps(&results, Some("search")).len(), 1);
        assert!(sweeps(&results, Some("nothing")).is_empty());
    }

    #[test]
    fn a_sweep_of_six_runs_is_fitted() {
        let truth = usl::Usl {
            sigma: 0.05,
            kappa: 0.001,
            lambda: 100.0,
        };
        let results: Vec<TestResult> = [1u64, 2, 4, 8, 16, 32]
            .iter()
            .map(|&n| {
                let x = truth.throughput(n as f64);
                run_at(n, 0, x, n as f64 / x * 1e3)
            })
            .collect();
        let sweep = analyse(&sweeps(&results, None)["browse"]);
        assert!(sweep.little.consistent());
        let m = sweep.fit.expect("fit").model;
        assert!((m.kappa / truth.kappa - 1.0).abs() < 1e-6, "{m:?}");
    }
}
