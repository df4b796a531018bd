//! Turning results into text: the terminal table, the Markdown summary and the `--list` table.

use std::fmt::Write as _;

use perf_harness::db::QueryStats;
use perf_harness::record::{Status, Summary, TestOutcome, TestResult, Verdict};
use perf_harness::spec::format_ns;
use perf_harness::stats::Stats;

use crate::discover::Found;

const HEADERS: [&str; 10] = [
    "TEST", "KIND", "SAMPLES", "MEAN", "P50", "P95", "P99", "MAX", "THRPT", "RESULT",
];

/// The results table with each threshold's verdict under its test, and a closing count line.
pub fn table(summary: &Summary) -> String {
    let mut rows: Vec<[String; 10]> = Vec::new();
    for r in &summary.results {
        rows.push(row(r));
    }
    let mut widths = HEADERS.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: &[String; 10], out: &mut String| {
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 9 {
                let _ = write!(out, "{cell}");
            } else if i < 2 {
                let _ = write!(out, "{cell}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "{}{cell}", " ".repeat(pad));
            }
            out.push_str(if i == 9 { "\n" } else { "  " });
        }
    };
    line(&HEADERS.map(String::from), &mut out);
    let mut last_target = None;
    for (r, cells) in summary.results.iter().zip(&rows) {
        let target = (&r.record.test.package, &r.record.test.target);
        if last_target != Some(target) {
            let _ = writeln!(out, "{} · {}", target.0, target.1);
            last_target = Some(target);
        }
        line(cells, &mut out);
        for v in &r.verdicts {
            let _ = writeln!(out, "      {}", verdict_text(v));
        }
        if let Some(q) = &r.record.queries {
            if let Some(ns) = r.record.setup_ns {
                let _ = writeln!(
                    out,
                    "      setup: {} (not in samples)",
                    format_ns(ns as f64)
                );
            }
            out.push_str(&statements_text(q));
        }
        if let Status::Failed { message } = &r.record.status {
            for (i, l) in message.lines().enumerate() {
                let _ = writeln!(out, "      {}{l}", if i == 0 { "error: " } else { "  " });
            }
        }
        if !r.record.optimized {
            let _ = writeln!(
                out,
                "      warning: built without optimizations; timings are not representative"
            );
        }
    }
    let t = &summary.totals;
    let _ = writeln!(
        out,
        "\n{} passed, {} failed, {} errors ({} perf tests in {:.1}s)",
        t.passed, t.failed, t.errors, t.tests, summary.duration_s
    );
    out
}

fn row(r: &TestResult) -> [String; 10] {
    let name = format!("  {}", r.record.test.name);
    let kind = r.record.spec.kind.as_str().to_string();
    let result = match r.outcome {
        TestOutcome::Pass => "PASS",
        TestOutcome::Fail => "FAIL",
        TestOutcome::Error => "ERROR",
    }
    .to_string();
    match &r.record.stats {
        Some(s) => [
            name,
            kind,
            s.samples.to_string(),
            format_ns(s.mean_ns),
            format_ns(s.p50_ns),
            format_ns(s.p95_ns),
            format_ns(s.p99_ns),
            format_ns(s.max_ns),
            throughput(s),
            result,
        ],
        None => [
            name,
            kind,
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            result,
        ],
    }
}

fn throughput(s: &Stats) -> String {
    s.throughput_per_s
        .map_or_else(|| "-".into(), |t| format!("{t:.1}/s"))
}

/// Statements shown under a test: the top by total time.
const TOP_STATEMENTS: usize = 5;
/// Longest statement text shown in the terminal before it is cut.
const STATEMENT_WIDTH: usize = 100;

/// Query counts and the top statements by total time, indented under the test's row.
fn statements_text(q: &QueryStats) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "      queries: {:.1} per call (min {}, max {}), {} statements in {} calls, {} distinct",
        q.mean_per_call, q.min_per_call, q.max_per_call, q.statements, q.calls, q.distinct
    );
    if let Some([half, full]) = q.scaling {
        let _ = write!(
            out,
            "; {half} per call at half the rows, {full} at full size"
        );
    }
    out.push('\n');
    if q.top.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "      {:>9}  {:>6}  {:>9}  {:>9}  {:>9}  STATEMENT",
        "TOTAL", "COUNT", "MEAN", "P95", "MAX"
    );
    for st in q.top.iter().take(TOP_STATEMENTS) {
        let _ = writeln!(
            out,
            "      {:>9}  {:>6}  {:>9}  {:>9}  {:>9}  {}",
            format_ns(st.total_ns as f64),
            st.count,
            format_ns(st.mean_ns),
            format_ns(st.p95_ns),
            format_ns(st.max_ns as f64),
            cut(&st.sql, STATEMENT_WIDTH)
        );
    }
    if q.top.len() > TOP_STATEMENTS {
        let _ = writeln!(
            out,
            "      ... {} more statements in summary.json",
            q.distinct as usize - TOP_STATEMENTS
        );
    }
    out
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let kept: String = text.chars().take(width - 3).collect();
    format!("{kept}...")
}

fn verdict_text(v: &Verdict) -> String {
    let measured = v.measured_ns.map_or_else(
        || "not measured".into(),
        |m| format!("measured {}", v.threshold.format_measured(m)),
    );
    format!(
        "{} {} ({measured})",
        if v.passed { "PASS" } else { "FAIL" },
        v.threshold
    )
}

/// The run summary as Markdown, ready for a pull-request comment.
pub fn markdown(summary: &Summary) -> String {
    let t = &summary.totals;
    let mut out = format!(
        "## cargo perf: {} passed, {} failed, {} errors\n\n",
        t.passed, t.failed, t.errors
    );
    out.push_str(
        "| Test | Kind | Samples | Mean | p50 | p95 | p99 | Max | Thresholds | Result |\n",
    );
    out.push_str("|---|---|--:|--:|--:|--:|--:|--:|---|---|\n");
    for r in &summary.results {
        let cells = row(r);
        let thresholds: Vec<String> = r
            .verdicts
            .iter()
            .map(|v| verdict_text(v).replace("<=", "≤"))
            .collect();
        let mut notes = thresholds.join("<br>");
        if let Status::Failed { message } = &r.record.status {
            let first = message.lines().next().unwrap_or_default();
            notes = format!("error: {}", first.replace('|', "\\|"));
        }
        let _ = writeln!(
            out,
            "| `{}::{}` | {} | {} | {} | {} | {} | {} | {} | {} | **{}** |",
            r.record.test.target,
            r.record.test.name,
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            cells[7],
            if notes.is_empty() { "-".into() } else { notes },
            cells[9]
        );
    }
    let with_queries: Vec<&TestResult> = summary
        .results
        .iter()
        .filter(|r| r.record.queries.as_ref().is_some_and(|q| !q.top.is_empty()))
        .collect();
    if !with_queries.is_empty() {
        out.push_str("\n### Database statements (top by total time)\n");
        for r in with_queries {
            let Some(q) = &r.record.queries else { continue };
            let _ = writeln!(
                out,
                "\n`{}::{}`: {:.1} statements per call (max {}), {} distinct\n",
                r.record.test.target,
                r.record.test.name,
                q.mean_per_call,
                q.max_per_call,
                q.distinct
            );
            out.push_str(
                "| Statement | Count | Total | Mean | p95 | Max |\n|---|--:|--:|--:|--:|--:|\n",
            );
            for st in q.top.iter().take(TOP_STATEMENTS) {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} | {} |",
                    cut(&st.sql, 200).replace('|', "\\|").replace('`', "'"),
                    st.count,
                    format_ns(st.total_ns as f64),
                    format_ns(st.mean_ns),
                    format_ns(st.p95_ns),
                    format_ns(st.max_ns as f64)
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "\n{} perf tests, {:.1}s, profile `{}`, cargo-perf {}",
        t.tests, summary.duration_s, summary.profile, summary.tool_version
    );
    out
}

/// `cargo perf --list`: package, target, name, file:line, kind and spec of every test.
pub fn list(found: &[Found]) -> String {
    let rows: Vec<[String; 5]> = found
        .iter()
        .map(|f| {
            let id = &f.test.id;
            [
                format!("{} · {}", id.package, id.target),
                id.name.clone(),
                format!("{}:{}", id.file, id.line),
                format!(
                    "{}{}",
                    f.test.spec.kind.as_str(),
                    if f.test.is_async { " async" } else { "" }
                ),
                f.test.spec.to_string(),
            ]
        })
        .collect();
    let headers = ["TARGET", "NAME", "LOCATION", "KIND", "SPEC"].map(String::from);
    let mut widths = headers.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&headers).chain(&rows) {
        let cells: Vec<String> = r
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    let _ = writeln!(out, "\n{} perf tests", found.len());
    out
}
