//! Statements of the application's own sqlx pools and connections (PostgreSQL, MySQL/MariaDB,
//! SQLite; sea-orm runs on sqlx), counted from the events sqlx already emits for each statement
//! it finishes: target `sqlx::query`, with the statement (`db.statement`, or `summary` when it
//! is short) and its time (`elapsed_secs`). Nothing in the application changes: the harness
//! listens to tracing.

use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;

/// The tracing target of sqlx's statement events.
pub const TARGET: &str = "sqlx::query";

/// Counts every statement sqlx runs in this process from now on: installs a global tracing
/// subscriber that hears sqlx's statement events. Call it in the test's `setup`, before the
/// application's pool runs its first statement.
///
/// A process has one global subscriber. If the application already set one (a
/// `tracing_subscriber::fmt().init()` in its startup), this returns an error: add [`layer`]
/// to that subscriber instead. If the application sets one after this, its `init()` panics
/// (`try_init()` returns an error): install the application's subscriber first, with the layer.
/// Calling it again once it installed is harmless (`cargo test` runs every setup in one
/// process).
pub fn capture() -> Result<(), String> {
    static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut installed = INSTALLED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if *installed {
        return Ok(());
    }
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer()))
        .map(|()| *installed = true)
        .map_err(|_| {
            "a global tracing subscriber is already set in this process, so \
             perf_harness::db::sqlx::capture() cannot install its own: add \
             `perf_harness::db::sqlx::layer()` to the application's subscriber \
             (`tracing_subscriber::registry().with(layer()).with(fmt_layer).init()`)"
                .to_string()
        })
}

/// The layer that counts sqlx's statements, to add to a subscriber of your own.
pub fn layer() -> Statements {
    Statements
}

/// A tracing layer that hands each statement sqlx finishes to the capture.
#[derive(Debug, Clone, Copy, Default)]
pub struct Statements;

impl<S: Subscriber> Layer<S> for Statements {
    fn register_callsite(
        &self,
        metadata: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if metadata.target() == TARGET {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.target() == TARGET
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if let Some((sql, took)) = statement(event) {
            super::capture::record_statement(&sql, took);
        }
    }
}

/// The statement and its time, when `event` is one of sqlx's statement events. An event of
/// that target without the statement (a sqlx version that names its fields otherwise) still
/// counts, under a text that says what came instead: a statement count must not drop one.
fn statement(event: &Event<'_>) -> Option<(String, Duration)> {
    if event.metadata().target() != TARGET {
        return None;
    }
    let mut fields = Fields::default();
    event.record(&mut fields);
    let sql = match fields.sql() {
        Some(sql) => sql.to_string(),
        None => format!(
            "(a {TARGET} event without `db.statement` or `summary`; its fields: {}; this sqlx \
             version names them otherwise: report it to cargo-perf)",
            fields.others.join(", ")
        ),
    };
    Some((sql, fields.elapsed))
}

/// What one statement event carries.
#[derive(Debug, Default)]
struct Fields {
    statement: String,
    summary: String,
    elapsed: Duration,
    /// The names of the other fields, to name them when the statement is missing.
    others: Vec<&'static str>,
}

impl Fields {
    /// The statement: `db.statement` (the whole text, when `summary` shortened it), else
    /// `summary` (the whole text when it is short).
    fn sql(&self) -> Option<&str> {
        let whole = self.statement.trim();
        let sql = if whole.is_empty() {
            self.summary.trim()
        } else {
            whole
        };
        (!sql.is_empty()).then_some(sql)
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "db.statement" => self.statement = value.to_string(),
            "summary" => self.summary = value.to_string(),
            other => self.others.push(other),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if field.name() == "elapsed_secs" && value.is_finite() && value >= 0.0 {
            self.elapsed = Duration::from_secs_f64(value);
        } else {
            self.others.push(field.name());
        }
    }

    fn record_u64(&mut self, field: &Field, _: u64) {
        self.others.push(field.name());
    }

    fn record_i64(&mut self, field: &Field, _: i64) {
        self.others.push(field.name());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        // Strings recorded through `?` or `%` arrive here.
        match field.name() {
            "db.statement" if self.statement.is_empty() => {
                self.statement = format!("{value:?}").trim_matches('"').to_string();
            }
            "summary" if self.summary.is_empty() => {
                self.summary = format!("{value:?}").trim_matches('"').to_string();
            }
            "db.statement" | "summary" => {}
            other => self.others.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Collects what [`statement`] makes of each event.
    struct Collect(Arc<Mutex<Vec<(String, Duration)>>>);

    impl<S: Subscriber> Layer<S> for Collect {
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            if let Some(s) = statement(event) {
                self.0.lock().expect("lock").push(s);
            }
        }
    }

    #[test]
    fn capturing_twice_is_harmless_and_another_subscriber_is_named() {
        // The first installs the global subscriber, the second finds it installed.
        assert_eq!(capture(), Ok(()));
        assert_eq!(capture(), Ok(()));
        // Someone else's global subscriber now cannot be set, and would have been refused
        // the same way had it come first.
        assert!(tracing::subscriber::set_global_default(tracing_subscriber::registry()).is_err());
    }

    #[test]
    fn an_event_shaped_like_sqlx_s_is_one_statement_with_its_time() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(Collect(seen.clone()));
        tracing::subscriber::with_default(subscriber, || {
            // The shape of sqlx-core's `QueryLogger::finish`: a short statement in `summary`
            // only, a long one in `db.statement` after its summary.
            tracing::debug!(
                target: "sqlx::query",
                summary = "SELECT 1",
                db.statement = "",
                rows_affected = 0u64,
                rows_returned = 1u64,
                elapsed_secs = 0.002f64
            );
            tracing::debug!(
                target: "sqlx::query",
                summary = "SELECT title FROM media …",
                db.statement = "\n\nSELECT title FROM media WHERE id = $1\n",
                elapsed_secs = 0.001f64
            );
            // Other targets are not statements.
            tracing::debug!(target: "sqlx::postgres::notice", summary = "SELECT 2");
            // A sqlx that names the statement otherwise: still one statement, and it says so.
            tracing::debug!(target: "sqlx::query", query = "SELECT 3", elapsed_secs = 0.003f64);
        });
        let seen = seen.lock().expect("lock");
        assert_eq!(
            seen[..2],
            [
                ("SELECT 1".to_string(), Duration::from_millis(2)),
                (
                    "SELECT title FROM media WHERE id = $1".to_string(),
                    Duration::from_millis(1)
                ),
            ]
        );
        assert_eq!(seen.len(), 3, "{seen:?}");
        let (odd, took) = &seen[2];
        assert_eq!(*took, Duration::from_millis(3));
        assert!(
            odd.contains("without `db.statement` or `summary`; its fields: query;"),
            "{odd}"
        );
    }
}
