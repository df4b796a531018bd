//! `cargo perf --against REF`: build the git revision REF in a worktree, keep each build's
//! executables apart (see `builds`), then run both builds' perf tests in alternating rounds
//! (ABBA, the order of each pair of rounds drawn at random) on this machine and judge the
//! per-round ratios B/A with the Wilcoxon signed-rank test.
//!
//! Ratios taken minutes apart on a shared CI machine are mostly noise; ratios of two runs taken
//! back to back cancel the machine's drift, which is what makes this mode quiet on noisy runners.
//!
//! Rounds stop early per test once its verdict is settled (a sequential design):
//! - *settled unchanged* from round 6 on: the distribution-free ≥ 95 % interval of the median
//!   ratio lies within ±`--min-effect` (`compare::settled_unchanged`). Stopping without a
//!   verdict of change cannot add a false alarm.
//! - *settled changed* at the interim looks of rounds 12 and 16: a regression or improvement
//!   with p < 0.001 (Haybittle–Peto). The false-alarm rate over all looks is at most
//!   0.01 + 2 × 0.001 (Bonferroni's bound), against 0.01 for a fixed number of rounds.
//!
//! Otherwise a test runs `--rounds` rounds.

use crate::compare::ComparisonExt;
use crate::judge::verdict::Tally;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::compare::{self, pooled, Change, Comparison, SplitMix64};
use perf_schema::record::{Record, Status};
use perf_schema::summary::{CompareMode, ComparedWith, Summary};

use crate::cli::Args;
use crate::compare::load;
use crate::error::PerfError;
use crate::exec::runner::{self, Ran, RunConfig};
use crate::judge;
use crate::modes::builds::{self, Kept, Role};
use crate::modes::context::{stamp, Context};
use crate::project::discover::{self, Found};
use crate::project::workspace::Project;
use crate::store::baseline::same_test;

/// Rounds after which a clear regression or improvement stops a test's rounds early.
const INTERIM_LOOKS: [usize; 2] = [12, 16];
/// The p-value an interim look needs (Haybittle–Peto).
const INTERIM_ALPHA: f64 = 0.001;

/// What paired mode hands to the report.
pub struct Paired {
    /// One comparison per selected test, in order.
    pub comparisons: Vec<Comparison>,
    /// Per selected test, load tests' error rates over all rounds of both builds.
    pub error_rates: Vec<Option<Comparison>>,
    /// The revision and the counts.
    pub with: ComparedWith,
    /// The reference build's records (all rounds' samples), for overlays.
    pub reference: Vec<Record>,
    /// Time spent checking out and building REF (not part of the run's measuring time).
    pub build_s: f64,
}

/// REF, built and listed.
struct Reference {
    /// The full commit id.
    commit: String,
    /// Its executables, kept apart.
    kept: Kept,
    /// Its perf tests.
    found: Vec<Found>,
}

/// Builds REF, runs alternating rounds until each test is settled and compares; returns the new
/// build's records (every round's samples) and the comparisons.
pub fn run(
    args: &Args,
    project: &Project,
    selected: &[Found],
    config: &RunConfig,
    rev: &str,
    ctx: &Context,
    new_build: &Kept,
) -> anyhow::Result<(Vec<Ran>, Option<Paired>)> {
    let building = std::time::Instant::now();
    let reference = build_reference(args, project, config, rev, ctx)?;
    let build_s = building.elapsed().as_secs_f64();
    let pairs = pair_up(selected, &reference.found);
    verify_both(new_build, &reference.kept, "the rounds")?;

    let mut session = Session::new(config, rev, ctx);
    let mut rounds_of = session.rounds(&pairs, args.rounds);
    let mut comparisons = judge_all(&pairs, &rounds_of, rev, ctx);
    session.confirm(&pairs, &mut comparisons, &mut rounds_of, args.rounds);

    // The rounds are only evidence if each build ran its own executables throughout.
    verify_both(new_build, &reference.kept, "the end of the rounds")?;
    note_identical(
        &pairs,
        &mut comparisons,
        &new_build.fingerprint,
        &reference.kept.fingerprint,
    );

    let error_rates = rounds_of.iter().map(|r| r.error_rate(ctx)).collect();
    let (ran, reference_records) = records(&pairs, rounds_of, config);
    let with = compared_with(rev, &comparisons, args.rounds, reference, new_build);
    Ok((
        ran,
        Some(Paired {
            comparisons,
            error_rates,
            with,
            reference: reference_records,
            build_s,
        }),
    ))
}

/// Each selected test with the same test in REF, if REF has it.
fn pair_up<'a>(selected: &'a [Found], in_ref: &'a [Found]) -> Vec<(&'a Found, Option<&'a Found>)> {
    selected
        .iter()
        .map(|f| {
            let r = in_ref.iter().find(|r| same_test(&r.test.id, &f.test.id));
            (f, r)
        })
        .collect()
}

/// Checks that both builds' kept executables are still the ones fingerprinted (`when` names
/// the moment in messages).
fn verify_both(new_build: &Kept, reference: &Kept, when: &str) -> Result<(), PerfError> {
    builds::verify(new_build, when)?;
    builds::verify(reference, when)
}

/// Each test judged on its rounds.
fn judge_all(
    pairs: &[(&Found, Option<&Found>)],
    rounds_of: &[Rounds],
    rev: &str,
    ctx: &Context,
) -> Vec<Comparison> {
    pairs
        .iter()
        .zip(rounds_of)
        .map(|((new, base), r)| judge_rounds(new, base.is_some(), r, rev, ctx))
        .collect()
}

/// The new build's record of each test (every round's samples; a test REF lacks runs once
/// now) and the reference build's records.
fn records(
    pairs: &[(&Found, Option<&Found>)],
    rounds_of: Vec<Rounds>,
    config: &RunConfig,
) -> (Vec<Ran>, Vec<Record>) {
    let mut ran = Vec::new();
    let mut reference_records = Vec::new();
    for ((new, _), r) in pairs.iter().zip(rounds_of) {
        let (base_record, new_ran) = r.into_records();
        if let Some(b) = base_record {
            reference_records.push(b);
        }
        ran.push(new_ran.unwrap_or_else(|| runner::run_one(usize::MAX / 2, new, config)));
    }
    (ran, reference_records)
}

/// What the summary says the run was compared with: REF, its commit, both builds, the rounds.
fn compared_with(
    rev: &str,
    comparisons: &[Comparison],
    max_rounds: usize,
    reference: Reference,
    new_build: &Kept,
) -> ComparedWith {
    ComparedWith {
        mode: CompareMode::Paired,
        against: rev.to_string(),
        commit: Some(reference.commit),
        notes: vec![rounds_note(comparisons, max_rounds)],
        regressions: 0,
        improvements: 0,
        unchanged: 0,
        inconclusive: 0,
        not_compared: 0,
        builds: vec![reference.kept.fingerprint, new_build.fingerprint.clone()],
    }
}

/// The tree's state for the new build's fingerprint: its commit and whether tracked files
/// changed since.
pub fn tree_state(root: &Path) -> (Option<String>, bool) {
    let commit = git(root, &["rev-parse", "HEAD"]).ok();
    let dirty =
        git(root, &["status", "--porcelain", "--untracked-files=no"]).is_ok_and(|s| !s.is_empty());
    (commit, dirty)
}

/// Checks, before anything is built, that REF names a commit of the repository holding `root`.
pub fn check_revision(root: &Path, rev: &str) -> Result<(), PerfError> {
    let top = repository_top(root)?;
    resolve(&top, rev).map(drop)
}

fn repository_top(root: &Path) -> Result<PathBuf, PerfError> {
    git(root, &["rev-parse", "--show-toplevel"])
        .map(PathBuf::from)
        .map_err(|_| {
            PerfError::Git(format!(
                "--against needs a git repository, and {} is not in one",
                root.display()
            ))
        })
}

/// Refuses a `--rounds` that can never reach significance, before anything is built.
pub fn check_rounds(rounds: usize) -> Result<(), PerfError> {
    let needed = compare::Policy::default().min_rounds;
    if rounds < needed {
        return Err(PerfError::Usage(format!(
            "--rounds {rounds} is too few: a paired comparison needs at least {needed} rounds to \
             reach significance (a test whose verdict settles earlier stops by itself)"
        )));
    }
    Ok(())
}

/// Checkouts of REF live here, one folder per target directory, outside the user's tree: cargo
/// looks for a workspace in the folders above a manifest, and a checkout inside this tree would
/// find this tree's workspace (REF without `[workspace]`, this tree with one). The new build
/// must not name sources from here.
pub fn against_folder(target_dir: &Path) -> PathBuf {
    let key = crate::modes::builds::sha256_hex(target_dir.display().to_string().as_bytes());
    std::env::temp_dir()
        .join("cargo-perf")
        .join(format!("against-{}", crate::modes::builds::short(&key)))
}

/// Checks REF out, builds it, keeps its executables and lists its perf tests.
fn build_reference(
    args: &Args,
    project: &Project,
    config: &RunConfig,
    rev: &str,
    ctx: &Context,
) -> anyhow::Result<Reference> {
    let (dir, commit, top) = worktree(&ctx.root, rev, &project.target_dir)?;
    let short = &commit[..commit.len().min(10)];
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
    eprintln!("cargo perf: building {rev} ({short}) in {}", dir.display());
    // The same target directory, so REF's dependencies are built once for every REF commit,
    // but its own profile directory (see `compile::REFERENCE_PROFILE`); the executables are
    // also copied aside right after the build (see `builds`).
    std::env::set_var("CARGO_TARGET_DIR", &project.target_dir);
    let loaded = crate::project::workspace::load(&ref_args)
        .map_err(|e| reference_error(e, rev, short, relative));
    let built = loaded.and_then(|p| {
        crate::project::compile::build(&ref_args, &p, crate::project::compile::For::Reference)
            .map(|b| (p, b))
            .map_err(|e| reference_error(e, rev, short, relative))
    });
    std::env::remove_var("CARGO_TARGET_DIR");
    let (ref_project, build) = built?;
    let marker = reference_marker(&project.target_dir);
    perf_schema::document::write_atomic(&marker, commit.as_bytes())
        .map_err(|e| PerfError::Builds(format!("cannot write {}: {e}", marker.display())))?;
    let foreign = [project.workspace_root.clone()];
    let tree = builds::Tree {
        root: &ref_project.workspace_root,
        target_dir: &project.target_dir,
        foreign: &foreign,
        commit: Some(commit.clone()),
        dirty: false,
    };
    let kept = builds::keep(&build, Role::Base, &tree)?;
    let found = discover::discover(&kept.binaries, &config.scratch)?;
    Ok(Reference {
        commit,
        kept,
        found,
    })
}

/// What the reference build's errors mean to the user: REF, not this tree, lacks something.
fn reference_error(e: PerfError, rev: &str, short: &str, manifest: &Path) -> PerfError {
    match e {
        PerfError::UnknownPackage { name, members, .. } => PerfError::Git(format!(
            "package `{name}` is not in {rev} ({short}), whose workspace has: {members}. The \
             package is new on this branch, so there is nothing to compare it with: run \
             `cargo perf -p {name}` without --against (or save a baseline), or pass an \
             --against revision that has it"
        )),
        PerfError::NoPerfPackages(message) => PerfError::Git(format!(
            "{rev} ({short}) has no perf tests to compare with: {message}. Run without \
             --against until the perf tests are on the base branch"
        )),
        PerfError::Metadata { message, .. } => PerfError::Git(format!(
            "cannot read the cargo project of {rev} ({short}) at {}: {message}",
            manifest.display()
        )),
        PerfError::Build => PerfError::Git(format!(
            "the build of {rev} ({short}) failed (cargo's messages are above): a revision that \
             does not build cannot be compared; pass another --against revision"
        )),
        other => other,
    }
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

/// Resolves REF to a commit; the error says how to get it when the clone lacks it.
fn resolve(top: &Path, rev: &str) -> Result<String, PerfError> {
    git(
        top,
        &["rev-parse", "--verify", &format!("{rev}^{{commit}}")],
    )
    .map_err(|_| {
        let shallow =
            git(top, &["rev-parse", "--is-shallow-repository"]).is_ok_and(|s| s == "true");
        if shallow {
            PerfError::Git(format!(
                "`{rev}` is not a commit in this clone of {}, which is shallow (it holds only \
                 the newest commits): fetch the history with `git fetch --unshallow` (in \
                 GitHub Actions, give actions/checkout `fetch-depth: 0`)",
                top.display()
            ))
        } else {
            PerfError::Git(format!(
                "`{rev}` is not a commit in {}: check the name (`git log --oneline`, `git \
                 branch -a`) or fetch it (`git fetch origin`); e.g. `--against origin/main`",
                top.display()
            ))
        }
    })
}

/// The file that names the commit the reference profile was last built from.
fn reference_marker(target_dir: &Path) -> PathBuf {
    target_dir
        .join(crate::project::compile::REFERENCE_PROFILE)
        .join(".cargo-perf-commit")
}

/// Checks REF out (detached) in `against_folder/<commit>`, reusing a previous one.
fn worktree(
    root: &Path,
    rev: &str,
    target_dir: &Path,
) -> Result<(PathBuf, String, PathBuf), PerfError> {
    let top = repository_top(root)?;
    let commit = resolve(&top, rev)?;
    let dir = against_folder(target_dir).join(&commit[..commit.len().min(12)]);
    // A checkout is reused only when the reference profile's last build was of this commit:
    // cargo compares file times, so sources older than another commit's outputs would look
    // built. A fresh checkout's files are newer than any earlier output.
    let last_built = std::fs::read_to_string(reference_marker(target_dir)).unwrap_or_default();
    let ready = dir.join(".git").exists()
        && last_built.trim() == commit
        && git(&dir, &["rev-parse", "HEAD"]).is_ok_and(|head| head == commit)
        && git(&dir, &["status", "--porcelain"]).is_ok_and(|s| s.is_empty());
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

/// The state of the rounds: both builds' settings, the random order, a serial for answer files.
struct Session<'a> {
    base_cfg: RunConfig,
    new_cfg: RunConfig,
    rng: SplitMix64,
    serial: usize,
    rev: &'a str,
    ctx: &'a Context,
}

impl<'a> Session<'a> {
    fn new(config: &RunConfig, rev: &'a str, ctx: &'a Context) -> Self {
        let role = |role: Role| RunConfig {
            quick: config.quick,
            criterion_home: config
                .criterion_home
                .join("cargo-perf")
                .join("paired")
                .join(role.as_str()),
            scratch: config.scratch.clone(),
            verbose: config.verbose,
            binary_args: config.binary_args.clone(),
            // Both builds see the same environment: only their code differs.
            env: vec![(
                perf_schema::protocol::ENV_ROUND.to_string(),
                "1".to_string(),
            )],
            base_url: config.base_url.clone(),
        };
        Session {
            base_cfg: role(Role::Base),
            new_cfg: role(Role::New),
            rng: SplitMix64::new(ctx.now ^ 0x9e37_79b9),
            serial: 0,
            rev,
            ctx,
        }
    }

    /// Runs up to `more` rounds of every test, each until it is settled.
    fn rounds(&mut self, pairs: &[(&Found, Option<&Found>)], more: usize) -> Vec<Rounds> {
        let all: Vec<usize> = (0..pairs.len()).collect();
        let mut rounds_of = vec![Rounds::default(); pairs.len()];
        self.measure(pairs, &all, more, &mut rounds_of);
        rounds_of
    }

    /// Runs up to `more` rounds of the tests `which` (indices into `pairs`), adding to
    /// `rounds_of`, until each is settled on all its rounds so far; tests absent from REF are
    /// not run.
    fn measure(
        &mut self,
        pairs: &[(&Found, Option<&Found>)],
        which: &[usize],
        more: usize,
        rounds_of: &mut [Rounds],
    ) {
        let mut active: Vec<usize> = which
            .iter()
            .copied()
            .filter(|&i| pairs[i].1.is_some())
            .collect();
        let mut base_first = false;
        for round in 0..more {
            if active.is_empty() || crate::interrupted() {
                break;
            }
            // ABBA: the first of each pair of rounds picks an order at random, the second flips it.
            base_first = if round % 2 == 0 {
                self.rng.next_u64() & 1 == 0
            } else {
                !base_first
            };
            for &i in &active {
                let (new, Some(base)) = pairs[i] else {
                    continue;
                };
                eprintln!(
                    "cargo perf: round {}/{more} {} ({} first)",
                    round + 1,
                    new.test.id.name,
                    if base_first { self.rev } else { "this tree" }
                );
                let (b, a) = if base_first {
                    let b = self.one(base, Role::Base);
                    (b, self.one(new, Role::New))
                } else {
                    let a = self.one(new, Role::New);
                    (self.one(base, Role::Base), a)
                };
                rounds_of[i].push(b.record, a);
            }
            let last = round + 1 == more;
            active.retain(|&i| {
                let done = rounds_of[i].new.len();
                let settled = self.settled(pairs[i].0, &rounds_of[i], done);
                if let (Some(why), false) = (&settled, last) {
                    eprintln!(
                        "cargo perf: {} settled after {done} rounds ({why})",
                        pairs[i].0.test.id.name
                    );
                }
                settled.is_none()
            });
        }
    }

    fn one(&mut self, found: &Found, role: Role) -> Ran {
        self.serial += 1;
        let cfg = match role {
            Role::Base => &self.base_cfg,
            Role::New => &self.new_cfg,
        };
        runner::run_one(self.serial, found, cfg)
    }

    /// Why a test needs no more rounds, if it does not.
    fn settled(&self, new: &Found, r: &Rounds, done: usize) -> Option<String> {
        let measured_both = r
            .base
            .iter()
            .zip(&r.new)
            .any(|(b, (n, _))| b.status == Status::Measured && n.status == Status::Measured);
        if !measured_both && done >= 2 {
            return Some("no round measured both builds".into());
        }
        let c = judge_rounds(new, true, r, self.rev, self.ctx);
        let interval = (c.interval[0], c.interval[1]);
        if c.change_verdict == Change::Unchanged
            && compare::settled_unchanged(interval, c.base_n, &self.ctx.policy)
        {
            return Some(format!(
                "unchanged: {} to {}",
                compare::format_change(interval.0),
                compare::format_change(interval.1)
            ));
        }
        let changed = matches!(c.change_verdict, Change::Regression | Change::Improvement);
        if changed && INTERIM_LOOKS.contains(&done) && c.p_value.is_some_and(|p| p < INTERIM_ALPHA)
        {
            return Some(format!(
                "{} {}, p < {INTERIM_ALPHA}",
                c.change_verdict.as_str(),
                compare::format_change(c.change)
            ));
        }
        None
    }

    /// Measures each suspected regression again before it can fail the run: `--confirm` times,
    /// up to `max` more rounds each (with the same stopping rule), judged on all its rounds so
    /// far. Drift cancels within each round, so the evidence adds up instead of having to be
    /// found twice; a verdict that is no longer a regression becomes inconclusive.
    fn confirm(
        &mut self,
        pairs: &[(&Found, Option<&Found>)],
        comparisons: &mut [Comparison],
        rounds_of: &mut [Rounds],
        max: usize,
    ) {
        for i in 0..pairs.len() {
            if self.ctx.confirm == 0 || comparisons[i].change_verdict != Change::Regression {
                continue;
            }
            let first = comparisons[i].clone();
            let before = rounds_of[i].new.len();
            let mut last = first.clone();
            for _ in 0..self.ctx.confirm {
                eprintln!(
                    "cargo perf: {} looks {} slower: more rounds to confirm",
                    pairs[i].0.test.id.name,
                    compare::format_change(last.change)
                );
                self.measure(pairs, &[i], max, rounds_of);
                last = judge_rounds(pairs[i].0, true, &rounds_of[i], self.rev, self.ctx);
                if last.change_verdict != Change::Regression {
                    break;
                }
            }
            let added = rounds_of[i].new.len() - before;
            let total = rounds_of[i].new.len();
            let first_says = format!(
                "the first {before} rounds gave {} (p = {})",
                compare::format_change(first.change),
                first
                    .p_value
                    .map_or_else(|| "-".into(), |p| format!("{p:.3}"))
            );
            comparisons[i] = if last.change_verdict == Change::Regression {
                let mut c = last;
                c.lead_note(format!(
                    "confirmed by {added} more round{}, judged on all {total}; {first_says}",
                    if added == 1 { "" } else { "s" }
                ));
                c
            } else {
                let mut c = last;
                let verdict = c.change_verdict.as_str();
                c.lead_note(format!(
                    "not confirmed: with {added} more rounds all {total} gave {} ({verdict}); \
                     {first_says}",
                    compare::format_change(c.change),
                ));
                c.change_verdict = Change::Inconclusive;
                c.severity = None;
                c
            };
        }
    }
}

/// Says so on every test whose executables were byte-identical in both builds although the
/// sources differ.
fn note_identical(
    pairs: &[(&Found, Option<&Found>)],
    comparisons: &mut [Comparison],
    new: &perf_schema::summary::RoleBuild,
    base: &perf_schema::summary::RoleBuild,
) {
    // Only the targets whose perf tests ran matter (a lib's unit-test binary often stays the same).
    let identical: Vec<(String, String, String)> = builds::identical_despite_changes(new, base)
        .into_iter()
        .filter(|(p, t, _)| {
            pairs
                .iter()
                .any(|(f, _)| f.binary.package == *p && f.binary.target == *t)
        })
        .collect();
    for (package, target, sha) in &identical {
        eprintln!(
            "cargo perf: {package} · {target}: both builds produced the same executable \
             (sha256 {}) from different sources: the change does not reach its code",
            builds::short(sha)
        );
    }
    for ((new, _), c) in pairs.iter().zip(comparisons.iter_mut()) {
        let b = &new.binary;
        if let Some((_, _, sha)) = identical
            .iter()
            .find(|(p, t, _)| *p == b.package && *t == b.target)
        {
            c.lead_note(format!(
                "both builds' executables are byte-identical (sha256 {}) although the sources \
                 differ: the change does not reach this test's code",
                builds::short(sha)
            ));
        }
    }
}

/// `rounds per test: 6 to 20 (at most 20; a test stops once its verdict is settled)`.
fn rounds_note(comparisons: &[Comparison], max: usize) -> String {
    let counts: Vec<usize> = comparisons
        .iter()
        .filter(|c| c.change_verdict != Change::NotCompared)
        .map(|c| c.base_n)
        .collect();
    let (lo, hi) = (
        counts.iter().copied().min().unwrap_or(0),
        counts.iter().copied().max().unwrap_or(0),
    );
    let range = if lo == hi {
        format!("{lo}")
    } else {
        format!("{lo} to {hi}")
    };
    format!(
        "rounds per test: {range} (at most {max}; each round runs both builds back to back in \
         alternating order, and a test stops once its verdict is settled)"
    )
}

/// The two builds' records of one test over the rounds.
#[derive(Default, Clone)]
struct Rounds {
    base: Vec<Record>,
    new: Vec<(Record, bool)>,
}

impl Rounds {
    /// The error rates of both builds over the rounds that measured both.
    fn error_rate(&self, ctx: &Context) -> Option<Comparison> {
        let (base, new): (Vec<&Record>, Vec<&Record>) = self
            .base
            .iter()
            .zip(&self.new)
            .map(|(b, (n, _))| (b, n))
            .filter(|(b, n)| b.status == Status::Measured && n.status == Status::Measured)
            .unzip();
        if base.is_empty() || judge::incomparable(base[0], new[0]).is_some() {
            return None;
        }
        load::error_rate(&base, &new, &ctx.policy)
    }

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
        .any(|(b, n)| load::is_load(b) || load::is_load(n))
    {
        let (a, b): (Vec<&Record>, Vec<&Record>) = measured.into_iter().unzip();
        return load::paired(&a, &b, metric, &ctx.policy);
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

/// Paired mode: puts the comparisons computed over the rounds into the summary; returns the
/// reference build's records.
pub fn attach(summary: &mut Summary, paired: Paired, ctx: &Context) -> Vec<Record> {
    stamp(summary, ctx);
    for ((r, c), e) in summary
        .results
        .iter_mut()
        .zip(paired.comparisons)
        .zip(paired.error_rates)
    {
        r.comparison = Some(c);
        // Counts have no noise: the reference build's last round against this build's.
        r.counts = judge::counts_against(&paired.reference, &r.record);
        r.counts.extend(e);
    }
    let mut with = paired.with;
    with.count(&summary.results);
    summary.compared_with = Some(with);
    paired.reference
}
