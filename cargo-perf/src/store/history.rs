//! Each test's recent runs (`target/criterion/cargo-perf/history.json`): the statistic it is
//! judged on, the build and the machine's state, so that baseline mode can tell a change from
//! the drift the test shows between runs of the same code.
//!
//! Why a history: the tests on one run's samples (Mann-Whitney U, the bootstrap interval) know
//! only the spread *within* a run. Two runs of the same build minutes apart also differ by a
//! drift of their own (CPU frequency, caches, what else ran), so against the previous run
//! their p-values are overconfident and a quiet machine cried wolf. The run-to-run spread is
//! measured from consecutive runs of the **same build** (the test executable's hash) under
//! comparable conditions, so a real change of the code, or a busy spell, never teaches the
//! gate to ignore changes of that size.
//!
//! The floor, as a relative change: `exp(3 σ) − 1`, where σ² blends a prior with the squared
//! natural-log changes `d` between those consecutive runs:
//! `σ² = (2 σ₀² + Σ d²) / (2 + n)` — the prior counts as two pairs of runs (the conjugate
//! normal update with the data's mean square). Three σ: one A/A change in 370 crosses it if
//! the drift is normal; the prior keeps it wide while a test has few runs, when the estimate is
//! unsure: below [`MIN_PAIRS`] pairs the data may widen the floor but not narrow it. σ₀ is
//! [`Prior::for_kind`].
//!
//! The file keeps [`KEPT_RUNS`] runs per test. Only runs that compared with (or saved) the
//! previous run are recorded — the developer loop; a run against a named `--baseline` is an
//! experiment, as it does not update `base` either. It is written atomically; a corrupt file is
//! an error naming it and is never replaced.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use perf_schema::document::{parse_versioned, write_atomic, SchemaError};
use perf_schema::record::TestId;
use perf_schema::spec::Kind;
use perf_schema::summary::Machine;

use crate::exec::machine;

pub use perf_schema::history::{History, Run, TestRuns, HISTORY_SCHEMA};

/// Runs kept per test (of every spec and `--quick` setting).
pub const KEPT_RUNS: usize = 20;

/// The floor is this many run-to-run standard deviations (of the log of the statistic).
pub const FLOOR_SIGMAS: f64 = 3.0;

/// How many pairs of runs the prior counts as.
pub const PRIOR_WEIGHT: f64 = 2.0;

/// Fewest pairs of runs that may narrow the floor below the prior's (more may always widen it):
/// a mean square of fewer changes is too unsure to trust a quiet streak, and one lucky baseline
/// is what made the loop cry wolf.
pub const MIN_PAIRS: usize = 5;

/// Which of a test's runs are comparable with a measurement: same attribute, same `--quick`,
/// same statistic.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    /// The attribute as displayed.
    pub spec: &'a str,
    /// `--quick`.
    pub quick: bool,
    /// The statistic compared.
    pub metric: &'a str,
}

/// A history file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// Not JSON, not a history, or another version.
    #[error("{source}\nhint: the file is left untouched; delete it to start a new history (it only sets each test's run-to-run noise floor and refills over the next runs)")]
    Corrupt {
        /// The parser's complaint (it names the file).
        source: SchemaError,
    },
    /// Reading or writing failed.
    #[error("cannot {action} the run history {path}: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The history file: `target/criterion/cargo-perf/history.json`.
pub fn path(criterion_home: &Path) -> PathBuf {
    criterion_home.join("cargo-perf").join("history.json")
}

/// The run-to-run spread a test kind is assumed to have before its own runs show it: σ₀ of
/// the natural log of the statistic between two runs of the same build.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    /// σ₀.
    pub spread: f64,
    /// The kind, for notes.
    pub kind: Kind,
    /// Whether it is the prior of a comparison beside other busy processes (twice as wide).
    pub busy: bool,
}

impl Prior {
    /// Conservative on purpose: they set the floor while a test has no history, and a floor
    /// too low then is what made the loop cry wolf. Chosen from A/A pairs of the examples under
    /// `--quick` on a quiet 2-core VM, where most tests moved by under 10 % but some by far
    /// more: a micro-benchmark allocating in batches +28 %, latency medians of 20 sub-
    /// millisecond calls −43 % and +52 %, a load test's p95 −42 %. σ₀ = 0.10 for micro-
    /// benchmarks, 0.15 for latency tests, 0.20 for load tests: with no history the floors are
    /// ±35 %, ±57 % and ±82 %, so only a gross change counts until the test's own runs show
    /// that it is steadier.
    pub fn for_kind(kind: Kind) -> Prior {
        let spread = match kind {
            Kind::Micro => 0.10,
            Kind::Latency => 0.15,
            Kind::Load => 0.20,
        };
        Prior {
            spread,
            kind,
            busy: false,
        }
    }

    /// The prior of a comparison whose sides ran while other processes took at least
    /// [`machine::BUSY_CORES`] (`busy`): twice as wide, as contention for the cores multiplies
    /// the drift (A/A pairs of the examples beside a build moved micro-benchmarks by ±40 %).
    /// Its own busy runs replace it as they accumulate.
    pub fn for_comparison(kind: Kind, busy: Option<bool>) -> Prior {
        let quiet = Prior::for_kind(kind);
        if busy == Some(true) {
            Prior {
                spread: 2.0 * quiet.spread,
                busy: true,
                ..quiet
            }
        } else {
            quiet
        }
    }
}

/// A test's run-to-run noise floor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunFloor {
    /// The floor as a relative change (0.12 = ±12 %).
    pub floor: f64,
    /// σ: the blended standard deviation of the log change between two runs.
    pub spread: f64,
    /// Pairs of consecutive runs it was measured on.
    pub pairs: usize,
    /// Distinct runs in those pairs.
    pub runs: usize,
    /// The prior blended in.
    pub prior: Prior,
}

/// The floor from log changes between consecutive runs and a prior (see the module doc): the
/// blended σ, never below the prior's until [`MIN_PAIRS`] pairs show it.
pub fn run_floor(changes: &[f64], prior: Prior) -> (f64, f64) {
    let sum_sq: f64 = changes.iter().map(|d| d * d).sum();
    let n = changes.len() as f64;
    let blended =
        ((PRIOR_WEIGHT * prior.spread * prior.spread + sum_sq) / (PRIOR_WEIGHT + n)).sqrt();
    let spread = if changes.len() < MIN_PAIRS {
        blended.max(prior.spread)
    } else {
        blended
    };
    (spread, (FLOOR_SIGMAS * spread).exp() - 1.0)
}

impl RunFloor {
    /// `run-to-run noise of this test: ±12.0 % over 7 runs`, saying when the prior weighs in.
    pub fn describe(&self) -> String {
        let pct = self.floor * 100.0;
        let kind = self.prior.kind.as_str();
        if self.pairs == 0 {
            let beside = if self.prior.busy {
                " beside busy processes"
            } else {
                ""
            };
            return format!(
                "run-to-run noise of this test: ±{pct:.1} % assumed for {kind} tests{beside} (no \
                 two earlier runs of this build under the same conditions yet)"
            );
        }
        if self.pairs < MIN_PAIRS && self.spread <= self.prior.spread {
            return format!(
                "run-to-run noise of this test: ±{pct:.1} % assumed for {kind} tests (only {} \
                 pair{} of runs of this build under the same conditions; {MIN_PAIRS} may narrow \
                 it)",
                self.pairs,
                if self.pairs == 1 { "" } else { "s" }
            );
        }
        // The prior weighs more than a fifth below 8 pairs.
        let prior = if (self.pairs as f64) < 4.0 * PRIOR_WEIGHT {
            format!(" and the {kind} prior")
        } else {
            String::new()
        };
        format!(
            "run-to-run noise of this test: ±{pct:.1} % over {} runs{prior}",
            self.runs
        )
    }
}

/// The history file's rules: a new history, a test's runs, recording a run (keeping the last `KEPT_RUNS`), and the noise floor derived from them.
pub trait HistoryExt {
    /// An empty history for `machine`.
    fn new(machine: &Machine) -> Self;

    /// The runs of `test`, oldest first.
    fn runs(&self, test: &TestId) -> &[Run];

    /// Appends a run of `test`, keeping the last [`KEPT_RUNS`].
    fn push(&mut self, test: &TestId, run: Run);

    /// The natural-log changes between consecutive runs of `test` under `key` that measured
    /// the same build under comparable conditions — both quiet, or both busy, as `busy` says
    /// the comparison at hand is (`None`: unknown, any) — and how many distinct runs they span.
    fn changes(&self, test: &TestId, key: &Key<'_>, busy: Option<bool>) -> (Vec<f64>, usize);

    /// The run-to-run floor of `test` for a comparison under `key` (see [`HistoryExt::changes`]).
    fn floor(&self, test: &TestId, key: &Key<'_>, busy: Option<bool>, prior: Prior) -> RunFloor;
}

impl HistoryExt for History {
    fn new(machine: &Machine) -> History {
        History {
            schema: HISTORY_SCHEMA.into(),
            machine: machine.clone(),
            tests: Vec::new(),
        }
    }

    fn runs(&self, test: &TestId) -> &[Run] {
        self.tests
            .iter()
            .find(|t| t.package == test.package && t.target == test.target && t.name == test.name)
            .map_or(&[], |t| t.runs.as_slice())
    }

    fn push(&mut self, test: &TestId, run: Run) {
        let pos = self.tests.iter().position(|t| {
            t.package == test.package && t.target == test.target && t.name == test.name
        });
        let entry = match pos {
            Some(i) => &mut self.tests[i],
            None => {
                self.tests.push(TestRuns {
                    package: test.package.clone(),
                    target: test.target.clone(),
                    name: test.name.clone(),
                    runs: Vec::new(),
                });
                let last = self.tests.len() - 1;
                &mut self.tests[last]
            }
        };
        entry.runs.push(run);
        let extra = entry.runs.len().saturating_sub(KEPT_RUNS);
        entry.runs.drain(..extra);
    }

    fn changes(&self, test: &TestId, key: &Key<'_>, busy: Option<bool>) -> (Vec<f64>, usize) {
        let runs: Vec<&Run> = self
            .runs(test)
            .iter()
            .filter(|r| r.quick == key.quick && r.metric == key.metric && r.spec == key.spec)
            .collect();
        let mut changes = Vec::new();
        let mut used = BTreeSet::new();
        for (i, pair) in runs.windows(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            let same_build = a.build_hash.is_some() && a.build_hash == b.build_hash;
            let (sa, sb) = (a.machine_state.as_ref(), b.machine_state.as_ref());
            let comparable = machine::different_conditions(sa, sb).is_none();
            let pair_busy = match (machine::busy(sa), machine::busy(sb)) {
                (Some(x), Some(y)) => Some(x || y),
                (x, y) => x.or(y),
            };
            let alike = match (busy, pair_busy) {
                (Some(want), Some(got)) => want == got,
                _ => true,
            };
            let positive = a.value_ns > 0.0 && b.value_ns > 0.0;
            if same_build && comparable && alike && positive {
                changes.push((b.value_ns / a.value_ns).ln());
                used.insert(i);
                used.insert(i + 1);
            }
        }
        (changes, used.len())
    }

    fn floor(&self, test: &TestId, key: &Key<'_>, busy: Option<bool>, prior: Prior) -> RunFloor {
        let (changes, runs) = self.changes(test, key, busy);
        let (spread, floor) = run_floor(&changes, prior);
        RunFloor {
            floor,
            spread,
            pairs: changes.len(),
            runs,
            prior,
        }
    }
}

/// Reads the history at `path` for `machine`: empty when there is none, or (with a note to
/// show) when it was measured on another machine.
pub fn read(path: &Path, machine: &Machine) -> Result<(History, Option<String>), HistoryError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((History::new(machine), None))
        }
        Err(source) => {
            return Err(HistoryError::Io {
                action: "read",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let history: History = parse_versioned(&text, HISTORY_SCHEMA, &path.display().to_string())
        .map_err(|source| HistoryError::Corrupt { source })?;
    if history.machine != *machine {
        let note = format!(
            "the run history {} was measured on another machine ({}); this run starts a new one",
            path.display(),
            history.machine
        );
        return Ok((History::new(machine), Some(note)));
    }
    Ok((history, None))
}

/// Adds one run of each test in `runs` to the file at `path`, re-reading it first so that a
/// concurrent run's tests are kept; written atomically.
pub fn record(
    path: &Path,
    machine: &Machine,
    runs: Vec<(TestId, Run)>,
) -> Result<(), HistoryError> {
    if runs.is_empty() {
        return Ok(());
    }
    let (mut history, _) = read(path, machine)?;
    for (test, run) in runs {
        history.push(&test, run);
    }
    let io = |source| HistoryError::Io {
        action: "write",
        path: path.to_path_buf(),
        source,
    };
    let bytes = serde_json::to_vec(&history).map_err(|e| io(std::io::Error::other(e)))?;
    write_atomic(path, &bytes).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use perf_schema::record::MachineState;

    fn machine() -> Machine {
        Machine {
            cpu: "Test CPU".into(),
            cores: 2,
            os: "Linux".into(),
            arch: "x86_64".into(),
        }
    }

    fn test_id() -> TestId {
        TestId {
            package: "p".into(),
            target: "t".into(),
            name: "render".into(),
            file: "tests/t.rs".into(),
            line: 3,
        }
    }

    fn run(value_ns: f64, build: &str, other_cores: Option<f64>) -> Run {
        Run {
            at_unix_s: 1,
            git_commit: None,
            build_hash: Some(build.into()),
            spec: "samples = 20".into(),
            quick: true,
            metric: "median".into(),
            value_ns,
            machine_state: other_cores.map(|c| MachineState {
                load_avg_1m_start: Some(0.2),
                load_avg_1m_end: Some(0.3),
                other_cpu_cores: Some(c),
                test_cpu_cores: Some(1.0),
                window_s: 1.0,
            }),
        }
    }

    const KEY: Key<'static> = Key {
        spec: "samples = 20",
        quick: true,
        metric: "median",
    };

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn the_floor_blends_the_prior_with_the_mean_square_of_the_log_changes() {
        let micro = Prior::for_kind(Kind::Micro);
        // No history: σ = σ₀ = 0.10, floor = e^0.3 − 1.
        let (spread, floor) = run_floor(&[], micro);
        assert!(close(spread, 0.10));
        assert!(close(floor, 0.3f64.exp() - 1.0), "{floor}");
        assert!((floor - 0.349_858_807_576_003_1).abs() < 1e-12);
        // Four changes of ±0.02 and ±0.04 would blend to σ = 0.063, but four pairs may not
        // narrow the prior: σ = 0.10.
        let (spread, _) = run_floor(&[0.02, -0.02, 0.04, -0.04], micro);
        assert!(close(spread, 0.10), "{spread}");
        // Five: Σd² = 2·0.0004 + 2·0.0016 + 0.0009 = 0.0049; σ² = (2·0.01 + 0.0049) / 7.
        let (spread, floor) = run_floor(&[0.02, -0.02, 0.04, -0.04, 0.03], micro);
        let sigma = (0.0249f64 / 7.0).sqrt();
        assert!(close(spread, sigma), "{spread}");
        assert!(close(floor, (3.0 * sigma).exp() - 1.0), "{floor}");
        // Fewer but wilder changes widen it at once: one change of ln 2, σ² = (0.02 + ln²2) / 3.
        let (spread, _) = run_floor(&[2f64.ln()], micro);
        assert!(
            close(spread, ((0.02 + 2f64.ln().powi(2)) / 3.0).sqrt()),
            "{spread}"
        );
        // Many quiet changes pull it towards the data: 18 changes of ±0.01:
        // σ² = (2·0.01 + 18·0.0001) / 20 = 0.00109, a floor of e^(3·0.033015) − 1 = ±10.4 %.
        let (spread, floor) = run_floor(&[0.01; 18], micro);
        assert!(close(spread, 0.00109f64.sqrt()), "{spread}");
        assert!((floor - 0.104_116_474_015).abs() < 1e-12, "{floor}");
        // The priors of the other kinds, with no history: ±56.8 % and ±82.2 %.
        let latency = run_floor(&[], Prior::for_kind(Kind::Latency)).1;
        let load = run_floor(&[], Prior::for_kind(Kind::Load)).1;
        assert!(
            (latency - 0.568_312_185_490_168_7).abs() < 1e-12,
            "{latency}"
        );
        assert!((load - 0.822_118_800_390_508_7).abs() < 1e-12, "{load}");
        // Beside busy processes the prior is twice as wide: micro σ₀ = 0.2, floor e^0.6 − 1.
        let busy = Prior::for_comparison(Kind::Micro, Some(true));
        assert!(close(busy.spread, 0.2) && busy.busy);
        assert!(close(run_floor(&[], busy).1, 0.6f64.exp() - 1.0));
        assert_eq!(Prior::for_comparison(Kind::Micro, Some(false)), micro);
        assert_eq!(Prior::for_comparison(Kind::Micro, None), micro);
    }

    #[test]
    fn only_consecutive_runs_of_the_same_build_under_alike_conditions_count() {
        let mut h = History::new(&machine());
        let id = test_id();
        for r in [
            run(100.0, "a", Some(0.1)),
            run(110.0, "a", Some(0.1)), // ln 1.1
            run(200.0, "b", Some(0.1)), // another build: a code change, not noise
            run(190.0, "b", Some(1.8)), // a busy run beside a quiet one: not comparable
            run(209.0, "b", Some(1.7)), // busy beside busy: ln 1.1, counted for busy comparisons
            run(190.0, "b", Some(0.0)), // busy beside quiet again
            run(171.0, "b", Some(0.2)), // ln 0.9
            run(171.0, "b", None),      // unknown state: comparable with any, ln 1
        ] {
            h.push(&id, r);
        }
        let (quiet, runs) = h.changes(&id, &KEY, Some(false));
        assert_eq!(quiet.len(), 3, "{quiet:?}");
        assert!(close(quiet[0], 1.1f64.ln()));
        assert!(close(quiet[1], 0.9f64.ln()));
        assert!(close(quiet[2], 0.0));
        assert_eq!(runs, 5);
        let (busy, runs) = h.changes(&id, &KEY, Some(true));
        assert!(close(busy[0], 1.1f64.ln()), "{busy:?}");
        assert_eq!((busy.len(), runs), (1, 2));
        let (any, _) = h.changes(&id, &KEY, None);
        assert_eq!(any.len(), 4);
        // Another spec, --quick setting or statistic: not this key.
        let other = Key {
            metric: "p95",
            ..KEY
        };
        assert!(h.changes(&id, &other, None).0.is_empty());
        let slow = Key {
            quick: false,
            ..KEY
        };
        assert!(h.changes(&id, &slow, None).0.is_empty());
        // No build hash: nothing is known to be the same build.
        let mut unknown = History::new(&machine());
        for v in [100.0, 101.0] {
            let mut r = run(v, "a", None);
            r.build_hash = None;
            unknown.push(&id, r);
        }
        assert!(unknown.changes(&id, &KEY, None).0.is_empty());
    }

    #[test]
    fn the_note_says_how_the_floor_was_measured() {
        let mut h = History::new(&machine());
        let id = test_id();
        let prior = Prior::for_kind(Kind::Latency);
        let none = h.floor(&id, &KEY, Some(false), prior);
        assert_eq!(
            none.describe(),
            "run-to-run noise of this test: ±56.8 % assumed for latency tests (no two earlier \
             runs of this build under the same conditions yet)"
        );
        for v in [100.0, 102.0, 100.0, 102.0] {
            h.push(&id, run(v, "a", Some(0.1)));
        }
        let few = h.floor(&id, &KEY, Some(false), prior);
        assert_eq!((few.pairs, few.runs), (3, 4));
        assert_eq!(
            few.describe(),
            "run-to-run noise of this test: ±56.8 % assumed for latency tests (only 3 pairs of \
             runs of this build under the same conditions; 5 may narrow it)"
        );
        // Two more pairs: the data narrow it, and the note says the prior still weighs in.
        for v in [100.0, 102.0] {
            h.push(&id, run(v, "a", Some(0.1)));
        }
        let five = h.floor(&id, &KEY, Some(false), prior);
        assert_eq!(five.pairs, 5);
        assert!(five.floor < few.floor);
        assert!(
            five.describe()
                .ends_with(" % over 6 runs and the latency prior"),
            "{}",
            five.describe()
        );
        for _ in 0..8 {
            h.push(&id, run(101.0, "a", Some(0.1)));
        }
        let many = h.floor(&id, &KEY, Some(false), prior);
        assert_eq!(many.pairs, 13);
        // Σd² = 5·ln(1.02)² + ln(101/102)²; σ² = (2·0.15² + Σd²) / 15.
        let sum = 5.0 * 1.02f64.ln().powi(2) + (101.0f64 / 102.0).ln().powi(2);
        let want = (3.0 * ((0.045 + sum) / 15.0).sqrt()).exp() - 1.0;
        assert!(close(many.floor, want), "{} {want}", many.floor);
        assert_eq!(
            many.describe(),
            format!(
                "run-to-run noise of this test: ±{:.1} % over 14 runs",
                want * 100.0
            )
        );
    }

    #[test]
    fn the_file_keeps_the_last_runs_and_another_machine_starts_anew() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = path(dir.path());
        let m = machine();
        let (empty, note) = read(&file, &m).expect("missing is empty");
        assert!(empty.tests.is_empty() && note.is_none());
        for i in 0..(KEPT_RUNS + 5) {
            record(&file, &m, vec![(test_id(), run(i as f64, "a", Some(0.0)))]).expect("saved");
        }
        let (h, _) = read(&file, &m).expect("reads");
        assert_eq!(h.schema, HISTORY_SCHEMA);
        let runs = h.runs(&test_id());
        assert_eq!(runs.len(), KEPT_RUNS);
        assert_eq!(runs[0].value_ns, 5.0);
        assert_eq!(runs[KEPT_RUNS - 1].value_ns, (KEPT_RUNS + 4) as f64);
        let text = std::fs::read_to_string(&file).expect("file");
        assert!(
            text.starts_with(r#"{"schema":"cargo-perf/history/v2""#),
            "{text}"
        );

        let other = Machine {
            cpu: "Other CPU".into(),
            ..m.clone()
        };
        let (fresh, note) = read(&file, &other).expect("reads");
        assert!(fresh.tests.is_empty());
        assert!(note.is_some_and(|n| n.contains("another machine (Test CPU")));
    }

    #[test]
    fn a_corrupt_or_foreign_history_is_an_error_naming_the_file_and_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = path(dir.path());
        std::fs::create_dir_all(file.parent().expect("dir")).expect("mkdir");
        std::fs::write(&file, "{ truncated").expect("write");
        let err =
            record(&file, &machine(), vec![(test_id(), run(1.0, "a", None))]).expect_err("corrupt");
        let text = err.to_string();
        assert!(text.contains(&file.display().to_string()), "{text}");
        assert!(text.contains("delete it to start a new history"), "{text}");
        assert_eq!(std::fs::read_to_string(&file).expect("kept"), "{ truncated");
        std::fs::write(&file, r#"{"schema":"cargo-perf/history/v3"}"#).expect("write");
        let err = read(&file, &machine()).expect_err("foreign");
        assert!(
            err.to_string()
                .contains("`cargo-perf/history/v3`, written by a newer cargo-perf"),
            "{err}"
        );
    }
}
