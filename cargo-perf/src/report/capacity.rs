//! A capacity search (`cargo perf --capacity`) in the terminal table and in summary.md: the
//! answer in one sentence, then every step with its rate, throughput, tail and verdict.

use std::fmt::Write as _;

use perf_schema::spec::format_ns;
use perf_schema::summary::{Capacity, CapacityEnd, CapacityStep, Summary};

/// `403.3/s`.
pub fn per_s(rate: f64) -> String {
    format!("{rate:.1}/s")
}

/// The answer: `capacity 404.4/s: held there, failed at 412.5/s (11 steps of 2.0s)`.
pub fn headline(c: &Capacity) -> String {
    let steps = format!("{} steps of {:.1}s", c.steps.len(), c.step_s);
    let held = c.held_per_s.map(per_s);
    match (c.ended, held) {
        (CapacityEnd::Found, Some(h)) => format!(
            "capacity {h}: held there, failed at {} ({steps})",
            c.failed_per_s.map(per_s).unwrap_or_default()
        ),
        (CapacityEnd::RangeHeld, Some(h)) => {
            format!("capacity at least {h}: the top of the range held; search higher ({steps})")
        }
        (CapacityEnd::LowestFailed, _) => format!(
            "capacity below {}: the lowest rate of the range already failed; search lower \
             ({steps})",
            per_s(c.range_per_s[0])
        ),
        (CapacityEnd::GeneratorLimit, held) => {
            format!(
            "generator limit at {}: the load generator, not the service, fell behind there, so \
             no service capacity is claimed{} ({steps})",
            c.steps.last().map_or_else(String::new, |s| per_s(s.rate_per_s)),
            held.map(|h| format!("; the service held {h}")).unwrap_or_default()
        )
        }
        (_, held) => {
            format!(
            "search stopped at {}: that step could not be measured or the run was interrupted{} \
             ({steps})",
            c.steps.last().map_or_else(String::new, |s| per_s(s.rate_per_s)),
            held.map(|h| format!("; held up to {h}")).unwrap_or_default()
        )
        }
    }
}

fn verdict(s: &CapacityStep) -> String {
    if s.passed {
        "held".into()
    } else {
        format!("failed: {}", s.failures.join("; "))
    }
}

/// A step's rate, throughput, p95, p99, error rate, dropped iterations and verdict, as text.
fn cells(s: &CapacityStep) -> [String; 7] {
    [
        per_s(s.rate_per_s),
        per_s(s.iterations_per_s),
        format_ns(s.p95_ns),
        format_ns(s.p99_ns),
        format!("{:.2}%", s.error_rate * 100.0),
        s.dropped_iterations.to_string(),
        verdict(s),
    ]
}

/// The headline and one line per step, for the terminal table.
pub fn lines(c: &Capacity) -> Vec<String> {
    let mut out = vec![
        headline(c),
        format!(
            "  {:>5}  {:>10}  {:>10}  {:>9}  {:>9}  {:>7}  {:>7}  RESULT",
            "STEP", "RATE", "DONE", "P95", "P99", "ERRORS", "DROPPED"
        ),
    ];
    for (i, s) in c.steps.iter().enumerate() {
        let [rate, done, p95, p99, errors, dropped, result] = cells(s);
        out.push(format!(
            "  {:>5}  {rate:>10}  {done:>10}  {p95:>9}  {p99:>9}  {errors:>7}  {dropped:>7}  \
             {result}",
            i + 1
        ));
    }
    out
}

/// `### Capacity` with each searched test's answer and steps; empty without a search.
pub fn section(summary: &Summary) -> String {
    let mut out = String::new();
    for r in &summary.results {
        let Some(c) = &r.capacity else { continue };
        if out.is_empty() {
            out.push_str("\n### Capacity\n");
        }
        let _ = write!(
            out,
            "\n`{}::{}`: {}\n\n| Step | Rate | Done | p95 | p99 | Errors | Dropped | Result |\n\
             |--:|--:|--:|--:|--:|--:|--:|---|\n",
            r.record.test.target,
            r.record.test.name,
            headline(c)
        );
        for (i, s) in c.steps.iter().enumerate() {
            let [rate, done, p95, p99, errors, dropped, result] = cells(s);
            let result = result.replace('|', "\\|");
            let _ = writeln!(
                out,
                "| {} | {rate} | {done} | {p95} | {p99} | {errors} | {dropped} | {result} |",
                i + 1
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(rate: f64, passed: bool) -> CapacityStep {
        CapacityStep {
            rate_per_s: rate,
            passed,
            iterations_per_s: rate.min(400.0),
            p95_ns: 11e6,
            p99_ns: if passed { 12e6 } else { 900e6 },
            error_rate: 0.0,
            dropped_iterations: 0,
            generator_lag_p99_ns: Some(20e3),
            failures: if passed {
                vec![]
            } else {
                vec!["FAIL p99 <= 50ms (measured 900ms)".into()]
            },
        }
    }

    fn capacity(ended: CapacityEnd, held: Option<f64>, failed: Option<f64>) -> Capacity {
        Capacity {
            range_per_s: [50.0, 2000.0],
            step_s: 2.0,
            held_per_s: held,
            failed_per_s: failed,
            ended,
            steps: vec![step(400.0, true), step(800.0, false)],
        }
    }

    #[test]
    fn each_end_of_the_search_reads_as_what_it_means() {
        let found = capacity(CapacityEnd::Found, Some(400.0), Some(800.0));
        assert_eq!(
            headline(&found),
            "capacity 400.0/s: held there, failed at 800.0/s (2 steps of 2.0s)"
        );
        let lines = lines(&found);
        assert_eq!(lines.len(), 4);
        assert!(
            lines[3].contains("800.0/s")
                && lines[3].ends_with("  0  failed: FAIL p99 <= 50ms (measured 900ms)"),
            "{}",
            lines[3]
        );
        assert!(
            lines[2].contains("400.0/s") && lines[2].ends_with("held"),
            "{}",
            lines[2]
        );
        let top = capacity(CapacityEnd::RangeHeld, Some(2000.0), None);
        assert!(headline(&top).starts_with("capacity at least 2000.0/s: the top of the range"));
        let low = capacity(CapacityEnd::LowestFailed, None, Some(50.0));
        assert!(headline(&low).starts_with("capacity below 50.0/s: the lowest rate"));
        let generator = capacity(CapacityEnd::GeneratorLimit, Some(400.0), None);
        assert!(
            headline(&generator).starts_with("generator limit at 800.0/s: the load generator")
                && headline(&generator).contains("; the service held 400.0/s"),
            "{}",
            headline(&generator)
        );
    }
}
