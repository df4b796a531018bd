//! The process-wide statement capture: every driver reports each statement it runs here, and
//! the latency engine opens and closes the capture around each timed call.
//!
//! `cargo perf` runs one perf test per process, so a process-wide capture is scoped to that
//! test: statements from threads and tokio tasks the body spawns are counted too. Under
//! `cargo test` many tests share a process, so the engine never opens the capture there (smoke
//! runs give no count verdicts) and `record_statement` is a relaxed load and a return.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hdrhistogram::Histogram;

use super::normalize::normalize;
use crate::stats;

pub use perf_schema::record::queries::MAX_STATEMENTS_KEPT;

static OPEN: AtomicBool = AtomicBool::new(false);
static IN_CALL: AtomicU64 = AtomicU64::new(0);
/// Off while the `n_plus_one` probe counts: its statements are counted, not timed.
static TIMING: AtomicBool = AtomicBool::new(true);
static STATE: Mutex<Option<State>> = Mutex::new(None);

#[derive(Default)]
struct State {
    /// Raw SQL text → its normalized key (normalizing is the expensive part; texts repeat).
    keys: HashMap<String, Arc<str>>,
    statements: HashMap<Arc<str>, Accumulator>,
    per_call: Vec<u64>,
}

struct Accumulator {
    count: u64,
    total_ns: u64,
    max_ns: u64,
    histogram: Histogram<u64>,
}

fn state() -> MutexGuard<'static, Option<State>> {
    // A panic while holding the lock leaves plain counters behind: still usable.
    STATE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether a timed call is being counted right now (drivers skip their bookkeeping otherwise).
pub fn is_open() -> bool {
    OPEN.load(Ordering::Relaxed)
}

/// Reports one executed statement and how long it took.
///
/// The bundled clients (`db::Sqlite`, `db::Postgres`) call this for you; call it yourself from
/// a wrapper around any other client (sqlx, diesel, an HTTP API) to get query counts and the
/// per-statement breakdown for it. Outside a timed call of `cargo perf` it does nothing.
/// Inside a load test's iteration it is also timed as a named request (`sql: ...`).
///
/// ```no_run
/// use std::time::Instant;
/// use perf_harness::{db::record_statement, perf_test};
///
/// /// Your own client's query, reported to the harness.
/// fn run_query(sql: &str) {
///     let start = Instant::now();
///     // ... send `sql` with your client ...
///     record_statement(sql, start.elapsed());
/// }
///
/// #[perf_test(p95 = "20ms", samples = 100, max_queries = 1)]
/// fn one_lookup() {
///     run_query("SELECT title FROM media WHERE id = 1");
/// }
/// # fn main() {}
/// ```
pub fn record_statement(sql: &str, took: Duration) {
    super::observer::observe(sql, took);
    if !OPEN.load(Ordering::Relaxed) {
        return;
    }
    IN_CALL.fetch_add(1, Ordering::Relaxed);
    if !TIMING.load(Ordering::Relaxed) {
        return;
    }
    let mut guard = state();
    let Some(state) = guard.as_mut() else {
        return;
    };
    let key = match state.keys.get(sql) {
        Some(k) => Arc::clone(k),
        None => {
            let k: Arc<str> = normalize(sql).into();
            state.keys.insert(sql.to_string(), Arc::clone(&k));
            k
        }
    };
    let ns = took.as_nanos().min(u128::from(u64::MAX)) as u64;
    let acc = state.statements.entry(key).or_insert_with(|| Accumulator {
        count: 0,
        total_ns: 0,
        max_ns: 0,
        histogram: stats::new_histogram(),
    });
    acc.count += 1;
    acc.total_ns = acc.total_ns.saturating_add(ns);
    acc.max_ns = acc.max_ns.max(ns);
    acc.histogram.saturating_record(ns.max(1));
}

/// One test's statement capture, owned by the latency engine for a full run.
///
/// Only one may be open in a process at a time; a second `open` reports `None`.
pub struct Capture {
    _private: (),
}

impl Capture {
    /// Opens the process-wide capture with nothing recorded, or `None` if one is open already.
    pub fn open() -> Option<Capture> {
        let mut guard = state();
        if guard.is_some() {
            return None;
        }
        *guard = Some(State::default());
        Some(Capture { _private: () })
    }

    /// Starts counting the statements of one timed call.
    pub fn begin_call(&self) {
        IN_CALL.store(0, Ordering::Relaxed);
        OPEN.store(true, Ordering::SeqCst);
    }

    /// Stops counting and returns the statements the call issued.
    pub fn end_call(&self) -> u64 {
        OPEN.store(false, Ordering::SeqCst);
        // Take the lock so a statement being recorded on another thread lands first.
        let mut guard = state();
        let n = IN_CALL.swap(0, Ordering::Relaxed);
        if let Some(state) = guard.as_mut() {
            state.per_call.push(n);
        }
        n
    }

    /// Counts the statements `f` issues without adding them or a call to the statistics: the
    /// `n_plus_one` probe's calls.
    pub fn count_only<R>(&self, f: impl FnOnce() -> R) -> (R, u64) {
        IN_CALL.store(0, Ordering::Relaxed);
        TIMING.store(false, Ordering::SeqCst);
        OPEN.store(true, Ordering::SeqCst);
        let r = f();
        OPEN.store(false, Ordering::SeqCst);
        TIMING.store(true, Ordering::SeqCst);
        let _guard = state();
        (r, IN_CALL.swap(0, Ordering::Relaxed))
    }

    /// Closes the capture and summarizes it; `None` when no call issued a statement.
    pub fn finish(self) -> Option<QueryStats> {
        OPEN.store(false, Ordering::SeqCst);
        let state = state().take()?;
        summarize(state)
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        OPEN.store(false, Ordering::SeqCst);
        TIMING.store(true, Ordering::SeqCst);
        state().take();
    }
}

pub use crate::record::queries::{QueryStats, StatementStats};

/// The statistics of what a capture saw; `None` when no statement was reported.
fn summarize(state: State) -> Option<QueryStats> {
    let calls = state.per_call.len() as u64;
    let statements: u64 = state.per_call.iter().sum();
    // A test that reported no statement has no database part to show.
    if calls == 0 || statements == 0 {
        return None;
    }
    let mut top: Vec<StatementStats> = state
        .statements
        .into_iter()
        .map(|(sql, a)| StatementStats {
            sql: sql.to_string(),
            count: a.count,
            total_ns: a.total_ns,
            mean_ns: a.total_ns as f64 / a.count.max(1) as f64,
            p95_ns: (a.histogram.value_at_quantile(0.95) as f64).min(a.max_ns as f64),
            max_ns: a.max_ns,
        })
        .collect();
    top.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then_with(|| a.sql.cmp(&b.sql)));
    let distinct = top.len() as u64;
    top.truncate(MAX_STATEMENTS_KEPT);
    Some(QueryStats {
        calls,
        statements,
        min_per_call: state.per_call.iter().copied().min().unwrap_or(0),
        max_per_call: state.per_call.iter().copied().max().unwrap_or(0),
        mean_per_call: statements as f64 / calls as f64,
        scaling: None,
        distinct,
        averaged: false,
        top,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The capture is process-wide: tests that open it take this lock first.
    pub(crate) static SERIAL: Mutex<()> = Mutex::new(());

    pub(crate) fn serial() -> MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|p| p.into_inner())
    }

    #[test]
    fn counts_per_call_and_groups_by_normalized_text() {
        let _serial = serial();
        let capture = Capture::open().expect("no other capture open");
        assert!(Capture::open().is_none(), "one capture per process");
        record_statement("SELECT 1", Duration::from_micros(5)); // outside a call: ignored
        for call in 0..3u64 {
            capture.begin_call();
            record_statement(
                "SELECT * FROM requests LIMIT 20",
                Duration::from_micros(100),
            );
            for id in 0..(call * 2) {
                record_statement(
                    &format!("SELECT name FROM users WHERE id = {id}"),
                    Duration::from_micros(10 + id),
                );
            }
            assert_eq!(capture.end_call(), 1 + call * 2);
        }
        let (value, counted) = capture.count_only(|| {
            record_statement("SELECT 2", Duration::from_micros(1));
            7
        });
        assert_eq!((value, counted), (7, 1));
        let q = capture.finish().expect("calls were counted");
        assert_eq!(q.calls, 3);
        assert_eq!(q.statements, 1 + 3 + 5);
        assert_eq!((q.min_per_call, q.max_per_call), (1, 5));
        assert_eq!(q.mean_per_call, 3.0);
        assert_eq!(q.distinct, 2);
        let users = &q.top[0];
        assert_eq!(users.sql, "SELECT * FROM requests LIMIT ?");
        assert_eq!(
            (users.count, users.total_ns, users.max_ns),
            (3, 300_000, 100_000)
        );
        let names = &q.top[1];
        assert_eq!(names.sql, "SELECT name FROM users WHERE id = ?");
        assert_eq!(names.count, 6);
        // 10+11 + 10+11+12+13 microseconds.
        assert_eq!(names.total_ns, 67_000);
        assert_eq!(names.max_ns, 13_000);
        assert!((names.p95_ns - 13_000.0).abs() <= 13.0, "{}", names.p95_ns);
        // The probe's statement was counted, not summarized with the samples.
        assert_eq!(q.top.len(), 2);
        // Closed: a new capture can open, and recording outside calls is ignored.
        let again = Capture::open().expect("reopens");
        drop(again);
    }

    #[test]
    fn statements_from_other_threads_count_for_the_open_call() {
        let _serial = serial();
        let capture = Capture::open().expect("no other capture open");
        capture.begin_call();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..25 {
                        record_statement("UPDATE t SET n = n + 1", Duration::from_nanos(500));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread ran");
        }
        assert_eq!(capture.end_call(), 100);
        assert!(capture.finish().is_some());
        assert!(Capture::open()
            .map(Capture::finish)
            .is_some_and(|q| q.is_none()));
    }
}
