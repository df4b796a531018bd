//! JUnit XML: one `<testcase>` per perf test, a `<failure>` with the reason for a failed
//! threshold or a regression, an `<error>` for a test that could not be measured.

use std::fmt::Write as _;

use perf_schema::record::Status;
use perf_schema::summary::{Summary, TestOutcome, TestResult};

use super::{change_sentence, verdict_text};

/// Escapes text for XML attributes and character data.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even when escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// Why a result fails, if it does: failed thresholds and regressions, one per line.
pub fn failure_lines(r: &TestResult) -> Vec<String> {
    let mut lines: Vec<String> = r
        .verdicts
        .iter()
        .filter(|v| !v.passed)
        .map(verdict_text)
        .collect();
    for c in r.regressions() {
        lines.push(change_sentence(&r.record.test.name, c));
    }
    lines
}

/// The whole run as a JUnit XML document (one suite per package and target).
pub fn render(summary: &Summary) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let failures = summary
        .results
        .iter()
        .filter(|r| r.outcome == TestOutcome::Fail || !failure_lines(r).is_empty())
        .count();
    let _ = writeln!(
        out,
        "<testsuites name=\"cargo perf\" tests=\"{}\" failures=\"{failures}\" errors=\"{}\" time=\"{:.3}\">",
        summary.totals.tests, summary.totals.errors, summary.duration_s
    );
    let mut groups: Vec<(String, Vec<&TestResult>)> = Vec::new();
    for r in &summary.results {
        let key = format!("{}::{}", r.record.test.package, r.record.test.target);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    for (suite, results) in groups {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\">",
            escape(&suite),
            results.len()
        );
        for r in results {
            let t = &r.record.test;
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\" time=\"{:.3}\"",
                escape(&suite),
                escape(&t.name),
                escape(&t.file),
                t.line,
                r.record.elapsed_ns as f64 / 1e9
            );
            let lines = failure_lines(r);
            if let Status::Failed { message } = &r.record.status {
                let first = message.lines().next().unwrap_or_default();
                let _ = writeln!(
                    out,
                    ">\n      <error message=\"{}\">{}</error>\n    </testcase>",
                    escape(first),
                    escape(message)
                );
            } else if !lines.is_empty() {
                let _ = writeln!(
                    out,
                    ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    escape(&lines[0]),
                    escape(&lines.join("\n"))
                );
            } else {
                out.push_str("/>\n");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
