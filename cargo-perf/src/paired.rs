//! `cargo perf --against REF`: build the git revision REF in a worktree, then run both builds'
//! perf tests in alternating rounds (ABBA, the order of each pair of rounds drawn at random) on
//! this machine and judge the per-round ratios B/A with the Wilcoxon signed-rank test.
//!
//! Ratios taken minutes apart on a shared CI machine are mostly noise; ratios of two runs taken
//! back to back cancel the machine's drift, which is what makes this mode quiet on noisy runners.

use std::path::{Path, PathBuf};
use std::process::Command;

use perf_harness::compare::{self, pooled, Comparison, SplitMix64};
use perf_harness::record::{CompareMode, ComparedWith, Record, Status};

use crate::baseline::same_test;
use crate::cli::Args;
use crate::discover::{self, Found};
use crate::error::PerfError;
use crate::judge;
use crate::loadcmp;
use crate::regress::Context;
use crate::runner::{self, Ran, RunConfig};
use crate::workspace::Project;

/// Environment variable telling a test process which build it is: `base` (REF) or `new`.
pub const ENV_ROLE: &str = "CARGO_PERF_ROLE";

/// What paired mode hands to the report.
pub struct Paired {
    /// One comparison per selected test, in order.
    pub comparisons: Vec<Comparison>,
    /// The revision and the counts.
    pub with: ComparedWith,
    /// The reference build's records (all rounds' samples), for overlays.
    pub reference: Vec<Record>,
}

fn git(dir: &Path, args: &[&str]) -> Result<String, PerfError> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| PerfError::Git(format!("cannot run git (is it installed?): {e}")))?;
    if !out.status.success() {
        return Err(PerfError::Git(format!(
            "`git {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Checks REF out (detached) in `<target>/cargo-perf/against/<commit>`, reusing a previous one.
fn worktree(
    root: &Path,
    rev: &str,
    target_dir: &Path,
) -> Result<(PathBuf, String, PathBuf), PerfError> {
    let top = PathBuf::from(git(root, &["rev-parse", "--show-toplevel"]).map_err(|_| {
        PerfError::Git(format!(
            "--against needs a git repository, and {} is not in one",
            root.display()
        ))
    })?);
    let commit = git(
        &top,
        &["rev-parse", "--verify", &format!("{rev}^{{commit}}")],
    )
    .map_err(|_| {
        PerfError::Git(format!(
            "`{rev}` is not a commit in {}; try `git fetch` or `--against origin/main`",
            top.display()
        ))
    })?;
    let dir = target_dir
        .join("cargo-perf")
        .join("against")
        .join(&commit[..commit.len().min(12)]);
    let ready = dir.join(".git").exists()
        && git(&dir, &["rev-parse", "HEAD"]).is_ok_and(|head| head == commit);
    if !ready {
        if dir.exists() {
            let _ = git(
                &top,
                &["worktree", "remove", "--force", &dir.display().to_string()],
            );
            let _ = std::fs::remove_dir_all(&dir);
        }
        // --force: the folder may still be registered after a `cargo clean` removed it.
        git(
            &top,
            &[
                "worktree",
                "add",
                "--force",
                "--detach",
                &dir.display().to_string(),
                &commit,
            ],
        )?;
        // Keep one reference checkout per target directory: older ones only take space.
        let siblings = dir
            .parent()
            .and_then(|p| std::fs::read_dir(p).ok())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| *p != dir);
        for old in siblings {
            let _ = git(
                &top,
                &["worktree", "remove", "--force", &old.display().to_string()],
            );
        }
    }
    Ok((dir, commit, top))
}

/// Builds REF, runs `rounds` alternating rounds and compares; returns the new build's records
/// (last round) and the comparisons.
pub fn run(
    args: &Args,
    project: &Project,
    selected: &[Found],
    config: &RunConfig,
    rev: &str,
    ctx: &Context,
) -> anyhow::Result<(Vec<Ran>, Option<Paired>)> {
    if args.rounds == 0 {
        return Err(PerfError::Usage("--rounds must be at least 1".into()).into());
    }
    let (dir, commit, top) = worktree(&ctx.root, rev, &project.target_dir)?;
    // The same manifest, relative to the repository, inside the worktree.
    let manifest = args
        .manifest_path
        .clone()
        .unwrap_or_else(|| ctx.root.join("Cargo.toml"));
    let manifest = manifest.canonicalize().unwrap_or(manifest);
    let relative = manifest.strip_prefix(&top).map_err(|_| {
        PerfError::Git(format!(
            "{} is outside the repository {}",
            manifest.display(),
            top.display()
        ))
    })?;
    let mut ref_args = args.clone();
    ref_args.manifest_path = Some(dir.join(relative));
    eprintln!(
        "cargo perf: building {rev} ({}) in {}",
        &commit[..commit.len().min(10)],
        dir.display()
    );
    // Sharing the target directory reuses every unchanged dependency's build.
    std::env::set_var("CARGO_TARGET_DIR", &project.target_dir);
    let ref_project = crate::workspace::load(&ref_args)?;
    let ref_binaries = crate::compile::build(&ref_args, &ref_project)?;
    std::env::remove_var("CARGO_TARGET_DIR");
    let ref_found = discover::discover(&ref_binaries, &config.scratch)?;

    let role = |name: &str| RunConfig {
        quick: config.quick,
        criterion_home: config
            .criterion_home
            .join("cargo-perf")
            .join("paired")
            .join(name),
        scratch: config.scratch.clone(),
        verbose: config.verbose,
        binary_args: config.binary_args.clone(),
        env: vec![(ENV_ROLE.to_string(), name.to_string())],
        base_url: config.base_url.clone(),
    };
    let (base_cfg, new_cfg) = (role("base"), role("new"));
    let pairs: Vec<(&Found, Option<&Found>)> = selected
        .iter()
        .map(|f| {
            let r = ref_found.iter().find(|r| same_test(&r.test.id, &f.test.id));
            (f, r)
        })
        .collect();

    let mut rng = SplitMix64::new(ctx.now ^ 0x9e37_79b9);
    let mut rounds_of: Vec<Rounds> = pairs.iter().map(|_| Rounds::default()).collect();
    let mut serial = 0usize;
    let mut run_rounds = |n: usize, only: Option<usize>, rounds_of: &mut Vec<Rounds>| {
        let mut base_first = false;
        for round in 0..n {
            // ABBA: the first of each pair of rounds picks an order at random, the second flips it.
            base_first = if round % 2 == 0 {
                rng.next_u64() & 1 == 0
            } else {
                !base_first
            };
            for (i, (new, base)) in pairs.iter().enumerate() {
                if only.is_some_and(|o| o != i) {
                    continue;
                }
                let Some(base) = base else { continue };
                eprintln!(
                    "cargo perf: round {}/{n} {} ({} first)",
                    round + 1,
                    new.test.id.name,
                    if base_first { rev } else { "this tree" }
                );
                let mut one = |found: &Found, cfg: &RunConfig| {
                    serial += 1;
                    runner::run_one(serial, found, cfg)
                };
                let (b, a) = if base_first {
                    let b = one(base, &base_cfg);
                    (b, one(new, &new_cfg))
                } else {
                    let a = one(new, &new_cfg);
                    (one(base, &base_cfg), a)
                };
                rounds_of[i].push(b.record, a);
            }
        }
    };
    run_rounds(args.rounds, None, &mut rounds_of);

    let mut comparisons: Vec<Comparison> = pairs
        .iter()
        .zip(&rounds_of)
        .map(|((new, base), r)| judge_rounds(new, base.is_some(), r, rev, ctx))
        .collect();
    if ctx.confirm > 0 {
        for i in 0..pairs.len() {
            if comparisons[i].change_verdict != compare::Change::Regression {
                continue;
            }
            let mut again = vec![Rounds::default(); pairs.len()];
            for _ in 0..ctx.confirm {
                run_rounds(args.rounds, Some(i), &mut again);
            }
            let c = judge_rounds(pairs[i].0, true, &again[i], rev, ctx);
            let first = &mut comparisons[i];
            if c.change_verdict == compare::Change::Regression {
                first.lead_note(format!(
                    "confirmed by {} more round{}",
                    again[i].new.len(),
                    if again[i].new.len() == 1 { "" } else { "s" }
                ));
            } else {
                first.change_verdict = compare::Change::Inconclusive;
                first.severity = None;
                first.lead_note(format!(
                    "not confirmed: {} more rounds gave {} ({})",
                    again[i].new.len(),
                    compare::format_change(c.change),
                    c.change_verdict.as_str()
                ));
            }
        }
    }

    let mut ran = Vec::new();
    let mut reference = Vec::new();
    for ((new, _), r) in pairs.iter().zip(rounds_of) {
        let (base_record, new_ran) = r.into_records();
        if let Some(b) = base_record {
            reference.push(b);
        }
        ran.push(new_ran.unwrap_or_else(|| runner::run_one(usize::MAX / 2, new, config)));
    }
    let with = ComparedWith {
        mode: CompareMode::Paired,
        against: rev.to_string(),
        commit: Some(commit),
        notes: vec![format!(
            "{} rounds per test, each running both builds back to back in alternating order",
            args.rounds
        )],
        regressions: 0,
        improvements: 0,
        unchanged: 0,
        inconclusive: 0,
        not_compared: 0,
    };
    Ok((
        ran,
        Some(Paired {
            comparisons,
            with,
            reference,
        }),
    ))
}

/// The two builds' records of one test over the rounds.
#[derive(Default, Clone)]
struct Rounds {
    base: Vec<Record>,
    new: Vec<(Record, bool)>,
}

impl Rounds {
    fn push(&mut self, base: Record, new: Ran) {
        self.base.push(base);
        self.new.push((new.record, new.infrastructure_error));
    }

    /// The reference build's record with every round's samples, and the new build's last run
    /// (with every round's samples, so thresholds and reports see all the evidence).
    fn into_records(self) -> (Option<Record>, Option<Ran>) {
        let merge = |mut records: Vec<Record>| -> Option<Record> {
            let failed = records.iter().position(|r| r.status != Status::Measured);
            if let Some(i) = failed {
                return Some(records.swap_remove(i));
            }
            let samples: Vec<u64> = records.iter().flat_map(|r| r.samples_ns.clone()).collect();
            let mut last = records.pop()?;
            last.samples_ns = samples;
            Some(last)
        };
        let infra = self.new.iter().any(|(_, e)| *e);
        let new = merge(self.new.into_iter().map(|(r, _)| r).collect()).map(|record| Ran {
            record,
            infrastructure_error: infra,
        });
        (merge(self.base), new)
    }
}

fn judge_rounds(new: &Found, in_ref: bool, r: &Rounds, rev: &str, ctx: &Context) -> Comparison {
    let metric = judge::headline_metric(&new.test.spec);
    if !in_ref {
        return Comparison::not_compared(metric, format!("new test: not in {rev}"));
    }
    let both = r
        .base
        .iter()
        .zip(&r.new)
        .find(|(b, (n, _))| b.status == Status::Measured && n.status == Status::Measured);
    match both {
        Some((b, (n, _))) => {
            if let Some(reason) = judge::incomparable(b, n) {
                return Comparison::not_compared(metric, format!("{reason} ({rev} vs this tree)"));
            }
        }
        None if r.base.iter().all(|b| b.status != Status::Measured) => {
            return Comparison::not_compared(
                metric,
                format!("the {rev} build could not be measured"),
            );
        }
        None => {}
    }
    // Only rounds that measured both builds count.
    let measured: Vec<(&Record, &Record)> = r
        .base
        .iter()
        .zip(&r.new)
        .map(|(b, (n, _))| (b, n))
        .filter(|(b, n)| b.status == Status::Measured && n.status == Status::Measured)
        .collect();
    if measured
        .iter()
        .any(|(b, n)| loadcmp::is_load(b) || loadcmp::is_load(n))
    {
        let (a, b): (Vec<&Record>, Vec<&Record>) = measured.into_iter().unzip();
        return loadcmp::paired(&a, &b, metric, &ctx.policy);
    }
    let samples = |r: &Record| -> Vec<f64> { r.samples_ns.iter().map(|&s| s as f64).collect() };
    let (a, b): (Vec<Vec<f64>>, Vec<Vec<f64>>) = measured
        .into_iter()
        .map(|(b, n)| (samples(b), samples(n)))
        .filter(|(b, n)| !b.is_empty() && !n.is_empty())
        .unzip();
    if a.is_empty() {
        return Comparison::not_compared(metric, "no round measured both builds");
    }
    // A tail percentile of few samples per round is judged on the per-round medians, the pooled
    // percentile reported beside (see `compare::pooled`); everything else round by round.
    pooled::compare_round_samples(&a, &b, metric, &ctx.policy)
}
