//! Who else hears of a statement: the sink registered on the current thread (the load engine
//! registers the iteration it polls, so statements become named requests of that iteration),
//! or a collection open on it (work moved to a blocking thread, replayed later).
//!
//! `db` knows nothing of load tests; the load engine implements [`Observer`] and registers it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// A sink for the statements and waits recorded on one thread while it is registered.
pub trait Observer {
    /// One executed statement and how long it took.
    fn statement(&self, sql: &str, took: Duration);
    /// A wait that is not a statement (`pool wait`), by name.
    fn wait(&self, name: &str, took: Duration);
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<dyn Observer>>> = const { RefCell::new(None) };
    static COLLECTED: RefCell<Option<Vec<(String, Duration)>>> = const { RefCell::new(None) };
}

/// Registers `observer` on this thread until the guard drops.
pub fn enter(observer: Rc<dyn Observer>) -> Entered {
    let previous = CURRENT.with(|c| c.replace(Some(observer)));
    Entered { previous }
}

/// Restores the previously registered observer (none, outside nested polls) on drop.
pub struct Entered {
    previous: Option<Rc<dyn Observer>>,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Hands a statement to the observer registered on this thread, or to the collection open on
/// it; does nothing elsewhere (latency tests, the service's own threads).
pub fn observe(sql: &str, took: Duration) {
    let handled = CURRENT.with(|c| match &*c.borrow() {
        Some(o) => {
            o.statement(sql, took);
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

/// Hands a named wait (`pool wait`) to the observer registered on this thread, if any.
pub fn observe_wait(name: &str, took: Duration) {
    CURRENT.with(|c| {
        if let Some(o) = &*c.borrow() {
            o.wait(name, took);
        }
    });
}

/// Runs `f` collecting the statements it records on this thread, to `observe` them later on
/// the thread whose observer they belong to.
pub fn collect<R>(f: impl FnOnce() -> R) -> (R, Vec<(String, Duration)>) {
    let previous = COLLECTED.with(|c| c.replace(Some(Vec::new())));
    let r = f();
    let collected = COLLECTED.with(|c| std::mem::replace(&mut *c.borrow_mut(), previous));
    (r, collected.unwrap_or_default())
}
