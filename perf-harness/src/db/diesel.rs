//! Statements of every diesel connection the application opens (PostgreSQL, MySQL, SQLite),
//! through diesel's own hook (`set_default_instrumentation`, diesel 2.2 or later): each query is
//! timed from diesel's `StartQuery` to its `FinishQuery` event and counted. The application's
//! code does not change.

use std::time::Instant;

use diesel::connection::{set_default_instrumentation, Instrumentation, InstrumentationEvent};

/// Counts the statements of every diesel connection established from now on: sets diesel's
/// default instrumentation. Call it in the test's `setup` before the application opens its
/// connections (or builds its pool): a connection opened earlier keeps the instrumentation it
/// had. It replaces a default instrumentation the application set; one the application sets on
/// a connection itself (`set_instrumentation`) replaces this one there.
pub fn capture() -> Result<(), String> {
    set_default_instrumentation(|| Some(Box::new(Timing::default())))
        .map_err(|e| format!("diesel refused its default instrumentation: {e}"))
}

/// One connection's query in flight: its text and when it started (a connection runs one query
/// at a time).
#[derive(Debug, Default)]
struct Timing {
    running: Option<(String, Instant)>,
}

impl Instrumentation for Timing {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                self.running = Some((sql_of(&query.to_string()), Instant::now()));
            }
            InstrumentationEvent::FinishQuery { .. } => {
                if let Some((sql, started)) = self.running.take() {
                    super::capture::record_statement(&sql, started.elapsed());
                }
            }
            _ => {}
        }
    }
}

/// The statement of diesel's query text: its `Display` appends ` -- binds: [...]` to the SQL.
fn sql_of(shown: &str) -> String {
    shown
        .split_once(" -- binds: ")
        .map_or(shown, |(sql, _)| sql)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binds_are_cut_from_the_statement() {
        assert_eq!(
            sql_of("SELECT \"media\".\"title\" FROM \"media\" WHERE (\"media\".\"id\" = $1) -- binds: [3]"),
            "SELECT \"media\".\"title\" FROM \"media\" WHERE (\"media\".\"id\" = $1)"
        );
        assert_eq!(
            sql_of("CREATE TABLE t (id BIGINT)"),
            "CREATE TABLE t (id BIGINT)"
        );
    }
}
