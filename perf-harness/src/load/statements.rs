//! Database statements inside a load test's iterations: each one a named request in the
//! per-request breakdown (so p99 per statement shows) and a count per iteration.
//!
//! Users run on one generator thread, so the engine marks the iteration being polled in a
//! thread-local; `db::record_statement`, called by the client wrapper inside that poll, finds
//! it there. Work moved to a blocking thread (`SqlitePool::run`) collects its statements with
//! `collect` and replays them on the generator thread with `observe`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use super::metrics::{Metrics, RequestOutcome};
use crate::db::normalize;

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
    static CURRENT: RefCell<Option<Rc<Iteration>>> = const { RefCell::new(None) };
    static COLLECTED: RefCell<Option<Vec<(String, Duration)>>> = const { RefCell::new(None) };
    /// Raw SQL → its request name (normalizing is the expensive part; texts repeat).
    static NAMES: RefCell<HashMap<String, Rc<str>>> = RefCell::new(HashMap::new());
}

/// Marks `iteration` as the one being polled until the guard drops.
pub(crate) fn enter(iteration: &Rc<Iteration>) -> Entered {
    let previous = CURRENT.with(|c| c.replace(Some(Rc::clone(iteration))));
    Entered { previous }
}

/// Restores the previously polled iteration (none, outside nested polls) on drop.
pub(crate) struct Entered {
    previous: Option<Rc<Iteration>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Attributes a statement to the iteration being polled on this thread, or to the collection
/// open on it; does nothing elsewhere (latency tests, the service's own threads).
pub fn observe(sql: &str, took: Duration) {
    let handled = CURRENT.with(|c| match &*c.borrow() {
        Some(it) => {
            it.record(sql, took);
            true
        }
        None => false,
    });
    if !handled {
        COLLECTED.with(|c| {
            if let Some(v) = c.borrow_mut().as_mut() {
                v.push((sql.to_string(), took));
            }
        });
    }
}

/// Times a wait inside the iteration being polled (`pool wait`) as a named request; not a
/// statement. Does nothing outside a load test's iteration.
pub fn observe_wait(name: &str, took: Duration) {
    CURRENT.with(|c| {
        if let Some(it) = &*c.borrow() {
            it.record_named(name, took);
        }
    });
}

/// Runs `f` collecting the statements it records on this thread, to `observe` them later on
/// the thread of the iteration they belong to.
pub fn collect<R>(f: impl FnOnce() -> R) -> (R, Vec<(String, Duration)>) {
    let previous = COLLECTED.with(|c| c.replace(Some(Vec::new())));
    let r = f();
    let collected = COLLECTED.with(|c| std::mem::replace(&mut *c.borrow_mut(), previous));
    (r, collected.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_in_a_polled_iteration_become_named_requests_and_counts() {
        let metrics = Rc::new(RefCell::new(Metrics::default()));
        let it = Iteration::new(metrics.clone());
        it.begin(5);
        {
            let _in = enter(&it);
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
        let _in = enter(&it);
        for (sql, took) in &collected {
            observe(sql, *took);
        }
        assert_eq!(it.statements(), 4);
    }
}
