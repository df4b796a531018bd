//! Database statements inside a load test's iterations: each one a named request in the
//! per-request breakdown (so p99 per statement shows) and a count per iteration.
//!
//! Users run on one generator thread, so the engine registers the iteration being polled as the
//! thread's statement observer (`db::observer`); `db::record_statement`, called by the client
//! wrapper inside that poll, reaches it there. Work moved to a blocking thread
//! (`SqlitePool::run`) collects its statements and replays them on the generator thread.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use crate::db::normalize;
use crate::db::observer::Observer;
use crate::user::metrics::{Metrics, RequestOutcome};

/// Prefix of a statement's request name: `sql: SELECT ... WHERE id = ?`.
pub const NAME_PREFIX: &str = "sql: ";

/// The iteration a statement belongs to: where its timing and count go.
pub(crate) struct Iteration {
    metrics: Rc<RefCell<Metrics>>,
    lag_ns: Cell<u64>,
    statements: Cell<u64>,
}

impl Iteration {
    /// A sink recording into `metrics` (the worker's store).
    pub(crate) fn new(metrics: Rc<RefCell<Metrics>>) -> Rc<Iteration> {
        Rc::new(Iteration {
            metrics,
            lag_ns: Cell::new(0),
            statements: Cell::new(0),
        })
    }

    /// Starts a new iteration that began `lag_ns` behind its schedule.
    pub(crate) fn begin(&self, lag_ns: u64) {
        self.lag_ns.set(lag_ns);
        self.statements.set(0);
    }

    /// Statements the current iteration issued so far.
    pub(crate) fn statements(&self) -> u64 {
        self.statements.get()
    }

    fn record_named(&self, name: &str, took: Duration) {
        let outcome = RequestOutcome {
            service_ns: took.as_nanos().min(u128::from(u64::MAX)) as u64,
            lag_ns: self.lag_ns.get(),
            ..RequestOutcome::default()
        };
        if let Ok(mut m) = self.metrics.try_borrow_mut() {
            m.record_request(name, outcome);
        }
    }

    fn record(&self, sql: &str, took: Duration) {
        self.statements.set(self.statements.get() + 1);
        let name = NAMES.with(|names| {
            let mut names = names.borrow_mut();
            match names.get(sql) {
                Some(n) => Rc::clone(n),
                None => {
                    let n: Rc<str> = format!("{NAME_PREFIX}{}", normalize(sql)).into();
                    names.insert(sql.to_string(), Rc::clone(&n));
                    n
                }
            }
        });
        // The engine never holds the metrics across an await: free while the body is polled.
        self.record_named(&name, took);
    }
}

thread_local! {
    /// Raw SQL → its request name (normalizing is the expensive part; texts repeat).
    static NAMES: RefCell<HashMap<String, Rc<str>>> = RefCell::new(HashMap::new());
}

/// The engine registers the iteration it polls: statements are counted and timed in it.
impl Observer for Iteration {
    fn statement(&self, sql: &str, took: Duration) {
        self.record(sql, took);
    }

    fn wait(&self, name: &str, took: Duration) {
        self.record_named(name, took);
    }
}

/// Statements per finished iteration, summed as the iterations end: a run of any length keeps
/// four numbers, not one per iteration.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct StatementsPerIteration {
    /// Iterations counted.
    pub(crate) iterations: u64,
    /// Statements of all of them.
    pub(crate) total: u64,
    /// The fewest one iteration issued.
    pub(crate) min: u64,
    /// The most one iteration issued.
    pub(crate) max: u64,
}

impl StatementsPerIteration {
    /// Counts an iteration that issued `statements`.
    pub(crate) fn add(&mut self, statements: u64) {
        self.min = if self.iterations == 0 {
            statements
        } else {
            self.min.min(statements)
        };
        self.max = self.max.max(statements);
        self.total += statements;
        self.iterations += 1;
    }

    /// Adds another worker's counts.
    pub(crate) fn merge(&mut self, other: StatementsPerIteration) {
        if other.iterations == 0 {
            return;
        }
        self.min = if self.iterations == 0 {
            other.min
        } else {
            self.min.min(other.min)
        };
        self.max = self.max.max(other.max);
        self.total += other.total;
        self.iterations += other.iterations;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::observer::{collect, enter, observe};

    #[test]
    fn statements_per_iteration_keep_count_total_min_and_max() {
        let mut per = super::StatementsPerIteration::default();
        for n in [3, 1, 4, 1, 5] {
            per.add(n);
        }
        assert_eq!(
            per,
            super::StatementsPerIteration {
                iterations: 5,
                total: 14,
                min: 1,
                max: 5
            }
        );
    }

    #[test]
    fn workers_counts_merge_into_the_whole_runs() {
        let mut whole = super::StatementsPerIteration::default();
        let (mut a, mut b) = (whole, whole);
        for (i, n) in [3, 1, 4, 1, 5, 9, 2].into_iter().enumerate() {
            let part = if i % 2 == 0 { &mut a } else { &mut b };
            part.add(n);
            whole.add(n);
        }
        a.merge(b);
        assert_eq!(a, whole);
        let mut empty = super::StatementsPerIteration::default();
        empty.merge(whole);
        assert_eq!(empty, whole);
    }

    #[test]
    fn statements_in_a_polled_iteration_become_named_requests_and_counts() {
        let metrics = Rc::new(RefCell::new(Metrics::default()));
        let it = Iteration::new(metrics.clone());
        it.begin(5);
        {
            let _in = enter(it.clone());
            observe(
                "SELECT * FROM media WHERE id = 1",
                Duration::from_micros(10),
            );
            observe(
                "SELECT * FROM media WHERE id = 2",
                Duration::from_micros(30),
            );
            observe("UPDATE media SET n = n + 1", Duration::from_micros(20));
        }
        // Outside the poll: not this iteration's.
        observe("SELECT 1", Duration::from_micros(1));
        assert_eq!(it.statements(), 3);
        let m = metrics.borrow();
        assert_eq!(m.requests, 3);
        let names: Vec<(String, u64)> = m
            .name_reports(false)
            .into_iter()
            .map(|r| (r.name, r.requests))
            .collect();
        assert!(
            names.contains(&("sql: SELECT * FROM media WHERE id = ?".into(), 2)),
            "{names:?}"
        );
        assert!(
            names.contains(&("sql: UPDATE media SET n = n + ?".into(), 1)),
            "{names:?}"
        );

        // Work on another thread is collected there and replayed in the iteration.
        let (value, collected) = std::thread::spawn(|| {
            collect(|| {
                observe("SELECT 2", Duration::from_micros(4));
                42
            })
        })
        .join()
        .expect("thread");
        assert_eq!(value, 42);
        assert_eq!(
            collected,
            vec![("SELECT 2".to_string(), Duration::from_micros(4))]
        );
        let _in = enter(it.clone());
        for (sql, took) in &collected {
            observe(sql, *took);
        }
        assert_eq!(it.statements(), 4);
    }
}
