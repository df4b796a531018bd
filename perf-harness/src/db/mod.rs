//! Database perf tests: the statement capture behind query counts (`max_queries`,
//! `n_plus_one`) and the per-statement breakdown, the SQL normalizer that keys it, and thin
//! clients that report every statement they run (`Sqlite` with the `sqlite` feature, `Postgres`
//! with the `postgres` feature).
//!
//! Timing itself is the latency engine's: a database test is a latency test whose body talks to
//! a database. A body using any other client is timed the same way; it gets query counts by
//! calling `record_statement` from its own wrapper.

#[doc(hidden)]
pub mod capture;
#[cfg(feature = "diesel")]
pub mod diesel;
#[doc(hidden)]
pub mod normalize;
#[doc(hidden)]
pub mod observer;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "sqlx")]
pub mod sqlx;

pub use capture::record_statement;
#[doc(hidden)]
pub use capture::{QueryStats, StatementStats};
pub use normalize::normalize;
#[cfg(feature = "postgres")]
pub use postgres::{PgPool, Postgres};
#[cfg(feature = "sqlite")]
pub use sqlite::{Sqlite, SqlitePool};

/// Reports of unreachable databases: how many so far, and the last one of each thread. A
/// setup compares the count before and after it ran and takes its own thread's report (its
/// connect ran there: `connect_blocking`, `Handle::block_on`), so setups running at once
/// (unit tests) never take each other's.
struct Reports {
    count: u64,
    by_thread: Vec<(std::thread::ThreadId, u64, String)>,
}

static UNREACHABLE: std::sync::Mutex<Reports> = std::sync::Mutex::new(Reports {
    count: 0,
    by_thread: Vec::new(),
});

/// Reports that a database could not be reached (refused, unknown host, failed login).
///
/// `Postgres::connect` calls it for you; call it from your own client's connect. When a perf
/// test's `setup` then fails (panics, e.g. on `.expect(..)`), the test ends as an
/// infrastructure error (`cargo perf` exits 2) carrying `message`, not as a failed test.
pub fn report_unreachable(message: impl Into<String>) {
    let message = message.into();
    let me = std::thread::current().id();
    let mut r = reports();
    r.count += 1;
    let n = r.count;
    r.by_thread.retain(|(t, _, _)| *t != me);
    r.by_thread.push((me, n, message));
    // Threads come and go (tokio's blocking pool): keep the recent ones only.
    if r.by_thread.len() > 64 {
        r.by_thread.remove(0);
    }
}

fn reports() -> std::sync::MutexGuard<'static, Reports> {
    UNREACHABLE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs a test's `setup`, turning a panic into `Failure::Setup`, or into
/// `Failure::Infrastructure` when the setup failed after a database reported itself unreachable.
pub(crate) fn guarded_setup<T>(
    name: &str,
    setup: impl FnOnce() -> T,
) -> Result<T, crate::outcome::Failure> {
    let before = unreachable_reports();
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(setup)).map_err(|payload| {
        setup_failure(
            name,
            crate::outcome::panic_message(payload.as_ref()),
            unreachable_since(before),
        )
    })
}

/// How many times a database reported itself unreachable so far.
pub(crate) fn unreachable_reports() -> u64 {
    reports().count
}

/// The last unreachable database's message, if one was reported after `before` reports.
/// This thread's report, if it made one after `before` reports.
pub(crate) fn unreachable_since(before: u64) -> Option<String> {
    let me = std::thread::current().id();
    reports()
        .by_thread
        .iter()
        .find(|(t, n, _)| *t == me && *n > before)
        .map(|(_, _, m)| m.clone())
}

/// The failure of setup `name` with `message`: infrastructure when `unreachable` names a
/// database that could not be reached.
pub(crate) fn setup_failure(
    name: &str,
    message: String,
    unreachable: Option<String>,
) -> crate::outcome::Failure {
    match unreachable {
        Some(cause) => crate::outcome::Failure::Infrastructure(format!(
            "setup `{name}` could not reach its database: {cause}"
        )),
        None => crate::outcome::Failure::Setup {
            name: name.to_string(),
            message,
        },
    }
}

/// The fixture size a `setup` is asked for when the test has `n_plus_one = "deny"`.
///
/// The test is measured at `Scale::FULL`; the probe runs the body once more on a fixture built
/// at `Scale::HALF` and compares the statement counts. Scale the row counts you seed with
/// `scale.of(n)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// Fraction of the full fixture, in (0, 1].
    pub fraction: f64,
}

impl Scale {
    /// The fixture as the test is measured.
    pub const FULL: Scale = Scale { fraction: 1.0 };
    /// Half the rows: the `n_plus_one` probe's smaller fixture.
    pub const HALF: Scale = Scale { fraction: 0.5 };

    /// `full` scaled to this fixture size, at least 1.
    pub fn of(self, full: usize) -> usize {
        ((full as f64 * self.fraction).round() as usize).max(1)
    }
}

/// `sql` on one line, at most 120 characters: how error messages quote a statement.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn short_sql(sql: &str) -> String {
    let one_line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > 120 {
        let cut: String = one_line.chars().take(117).collect();
        format!("{cut}...")
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Failure;

    #[test]
    fn a_setup_failing_after_an_unreachable_database_is_an_infrastructure_error() {
        let unreachable = guarded_setup("pg_pool", || -> u8 {
            report_unreachable("cannot connect to PostgreSQL at u@127.0.0.1:1/db: refused");
            panic!("connect failed")
        });
        assert_eq!(
            unreachable,
            Err(Failure::Infrastructure(
                "setup `pg_pool` could not reach its database: cannot connect to PostgreSQL at \
                 u@127.0.0.1:1/db: refused"
                    .into()
            ))
        );
        assert!(unreachable.expect_err("failed").is_infrastructure());
        // Any other failing setup is the test's own failure.
        assert_eq!(
            guarded_setup("seed", || -> u8 { panic!("no such table: media") }),
            Err(Failure::Setup {
                name: "seed".into(),
                message: "no such table: media".into()
            })
        );
        // A setup that recovers from an unreachable server (a smoke run's skip) succeeds.
        let recovered = guarded_setup("skip", || {
            report_unreachable("down");
            7
        });
        assert_eq!(recovered, Ok(7));
    }
}
