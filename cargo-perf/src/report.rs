//! Turning results into text: the terminal table, the Markdown summary and the `--list` table.

use std::fmt::Write as _;

use perf_harness::load::report::{Latency, LoadReport, Model};
use perf_harness::record::{Status, Summary, TestOutcome, TestResult, Verdict};
use perf_harness::spec::{format_bytes, format_ns};
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
        if let Some(load) = &r.record.load {
            for l in load_lines(load) {
                let _ = writeln!(out, "      {l}");
            }
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

fn verdict_text(v: &Verdict) -> String {
    let measured = v.measured_ns.map_or_else(
        || "not measured".into(),
        |m| format!("measured {}", v.threshold.format_value(m)),
    );
    let scope = v
        .scope
        .as_ref()
        .map(|s| format!("[{s}] "))
        .unwrap_or_default();
    format!(
        "{} {scope}{} ({measured})",
        if v.passed { "PASS" } else { "FAIL" },
        v.threshold
    )
}

/// A load test's breakdown under its row: counts and rates, latency per request name,
/// errors by kind and status, checks, resources.
pub fn load_lines(l: &LoadReport) -> Vec<String> {
    let mut out = Vec::new();
    let model = match l.model {
        Model::Closed => format!("closed model, {} users", l.peak_users),
        Model::Open => format!("open model, up to {} users", l.peak_users),
    };
    out.push(format!(
        "load: {model}, {:.1}s · {} iterations ({:.1}/s), {} failed ({:.2}%), {} dropped, {} interrupted · {} requests ({:.1}/s), {} failed",
        l.duration_s,
        l.iterations,
        l.iterations_per_s,
        l.failed_iterations,
        l.error_rate * 100.0,
        l.dropped_iterations,
        l.interrupted_iterations,
        l.requests,
        l.requests_per_s,
        l.failed_requests,
    ));
    let mut resources = format!(
        "data: sent {}, received {}",
        format_bytes(l.bytes_sent as f64),
        format_bytes(l.bytes_received as f64)
    );
    if let Some(cpu) = l.cpu_percent {
        let _ = write!(resources, " · process cpu {cpu:.0}%");
    }
    if let Some(rss) = l.peak_rss_bytes {
        let _ = write!(resources, " · peak rss {}", format_bytes(rss as f64));
    }
    out.push(resources);
    let mut rows: Vec<[String; 10]> = vec![[
        "LATENCY", "COUNT", "FAILED", "MEAN", "P50", "P90", "P95", "P99", "P999", "MAX",
    ]
    .map(String::from)];
    let lat = |label: String, count: u64, failed: String, x: &Latency| {
        [
            label,
            count.to_string(),
            failed,
            format_ns(x.mean_ns),
            format_ns(x.p50_ns),
            format_ns(x.p90_ns),
            format_ns(x.p95_ns),
            format_ns(x.p99_ns),
            format_ns(x.p999_ns),
            format_ns(x.max_ns),
        ]
    };
    let open = l.model == Model::Open;
    rows.push(lat(
        if open {
            "iteration (from schedule)".into()
        } else {
            "iteration".into()
        },
        l.iterations,
        l.failed_iterations.to_string(),
        &l.iteration,
    ));
    if let Some(s) = &l.iteration_service {
        rows.push(lat(
            "iteration (service time)".into(),
            l.iterations,
            l.failed_iterations.to_string(),
            s,
        ));
    }
    for n in &l.requests_by_name {
        rows.push(lat(
            n.name.clone(),
            n.requests,
            n.failed.to_string(),
            &n.latency,
        ));
        if let Some(c) = &n.corrected {
            rows.push(lat(
                format!("{} (from schedule)", n.name),
                n.requests,
                n.failed.to_string(),
                c,
            ));
        }
    }
    let mut widths = [0usize; 10];
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in &rows {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(widths).enumerate() {
            let pad = " ".repeat(w - c.chars().count());
            if i == 0 {
                let _ = write!(line, "{c}{pad}");
            } else {
                let _ = write!(line, "  {pad}{c}");
            }
        }
        out.push(line);
    }
    if !l.errors.is_empty() {
        let kinds: Vec<String> = l.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
        out.push(format!("errors: {}", kinds.join(", ")));
    }
    if !l.statuses.is_empty() {
        let s: Vec<String> = l
            .statuses
            .iter()
            .map(|(k, v)| format!("{k} ×{v}"))
            .collect();
        out.push(format!("statuses: {}", s.join(", ")));
    }
    for c in &l.checks {
        let total = c.passes + c.fails;
        out.push(format!("check `{}`: {}/{} passed", c.name, c.passes, total));
    }
    for e in &l.first_errors {
        out.push(format!("error: {e}"));
    }
    if l.interrupted {
        out.push("interrupted by Ctrl-C: partial results".into());
    }
    out
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
