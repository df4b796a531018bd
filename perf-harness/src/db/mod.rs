//! Database perf tests: the statement capture behind query counts (`max_queries`,
//! `n_plus_one`) and the per-statement breakdown, the SQL normalizer that keys it, and thin
//! clients that report every statement they run (`Sqlite` with the `sqlite` feature, `Postgres`
//! with the `postgres` feature).
//!
//! Timing itself is the latency engine's: a database test is a latency test whose body talks to
//! a database. A body using any other client is timed the same way; it gets query counts by
//! calling `record_statement` from its own wrapper.

pub mod capture;
pub mod normalize;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "sqlite")]
pub mod sqlite;

pub use capture::{record_statement, QueryStats, StatementStats};
pub use normalize::normalize;
#[cfg(feature = "postgres")]
pub use postgres::Postgres;
#[cfg(feature = "sqlite")]
pub use sqlite::Sqlite;

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
