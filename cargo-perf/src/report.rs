//! Turning results into text: the terminal table, the Markdown summary and the `--list` table;
//! the CI formats live in the submodules.

pub mod capacity;
pub mod criterion;
pub mod export;
pub mod github;
pub mod html;
pub mod junit;
pub mod load_md;

use std::fmt::Write as _;
use std::io::IsTerminal as _;

use crate::compare::{format_change, format_p, Change, Comparison, Method};
use perf_schema::record::load::{Latency, LoadReport, Model};
use perf_schema::record::QueryStats;
use perf_schema::record::Stats;
use perf_schema::record::{Record, Status};
use perf_schema::spec::{format_bytes, format_ns, Threshold};
use perf_schema::summary::{Summary, TestOutcome, TestResult, Verdict};

use crate::project::discover::Found;

const HEADERS: [&str; 11] = [
    "TEST", "KIND", "SAMPLES", "MEAN", "P50", "P95", "P99", "MAX", "THRPT", "CHANGE", "RESULT",
];
const LAST: usize = HEADERS.len() - 1;
const CHANGE_COL: usize = LAST - 1;

/// Whether stdout gets ANSI colours: a terminal, and `NO_COLOR` unset or empty.
pub fn use_colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn paint(text: &str, code: &str, colour: bool) -> String {
    if colour && !code.is_empty() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn change_colour(r: &TestResult) -> &'static str {
    match r.comparison.as_ref().map(|c| c.change_verdict) {
        Some(Change::Regression) => "1;31",
        Some(Change::Improvement) => "32",
        Some(Change::Inconclusive) => "33",
        _ => "",
    }
}

fn result_colour(r: &TestResult) -> &'static str {
    let regressed = r.regressed();
    match r.outcome {
        TestOutcome::Pass if regressed => "1;31",
        TestOutcome::Pass => "32",
        TestOutcome::Fail | TestOutcome::Error => "1;31",
    }
}

/// The change column: `+36.3 % major`, `-12.0 % faster`, `+7.1 % ?` (inconclusive), `new`.
pub fn change_cell(c: Option<&Comparison>) -> String {
    let Some(c) = c else {
        return "-".into();
    };
    match c.change_verdict {
        Change::NotCompared => "n/a".into(),
        Change::Unchanged => format_change(c.change),
        Change::Inconclusive => format!("{} ?", format_change(c.change)),
        Change::Regression => format!(
            "{} {}",
            format_change(c.change),
            c.severity.map_or("", |s| s.as_str())
        ),
        Change::Improvement => format!("{} faster", format_change(c.change)),
    }
}

/// `major regression`, `improvement`, `inconclusive`: the verdict with its severity.
fn verdict_words(c: &Comparison) -> String {
    match (c.change_verdict, c.severity) {
        (Change::Regression | Change::Improvement, Some(s)) => {
            format!("{} {}", s.as_str(), c.change_verdict.as_str())
        }
        (v, _) => v.as_str().to_string(),
    }
}

/// `, p < 0.001`, or nothing without a p-value.
fn p_text(c: &Comparison) -> String {
    c.p_value
        .map(|p| format!(", {}", format_p(p)))
        .unwrap_or_default()
}

/// `p95 of browse_media went from 212.0ms to 289.0ms (+36.3 %, major regression, p < 0.001)`.
pub fn change_sentence(name: &str, c: &Comparison) -> String {
    if c.method == Method::FisherExact {
        return error_rate_sentence(name, c);
    }
    if c.method == Method::Exact {
        // `queries/iteration of list went from 2 to 41 (+1950.0 %, critical regression, exact)`.
        let what = verdict_words(c);
        return format!(
            "{} of {name} went from {} to {} ({}, {what}, exact count)",
            c.metric,
            c.base,
            c.new,
            format_change(c.change)
        );
    }
    if c.change_verdict == Change::NotCompared {
        return format!(
            "{name}: not compared ({})",
            c.note.as_deref().unwrap_or("no baseline")
        );
    }
    let (what, p) = (verdict_words(c), p_text(c));
    let note = c
        .note
        .as_deref()
        .map(|n| format!("; {n}"))
        .unwrap_or_default();
    format!(
        "{} of {name} went from {} to {} ({}, {what}{p}{note})",
        c.metric,
        format_ns(c.base),
        format_ns(c.new),
        format_change(c.change)
    )
}

/// `error rate of checkout went from 0.00 % to 94.00 % (+94.0 points, critical regression,
/// p < 0.001, 2000 → 2000 iterations)`.
fn error_rate_sentence(name: &str, c: &Comparison) -> String {
    let (what, p) = (verdict_words(c), p_text(c));
    format!(
        "{} of {name} went from {:.2} % to {:.2} % ({:+.1} points, {what}{p}, {} → {} iterations)",
        c.metric,
        c.base * 100.0,
        c.new * 100.0,
        c.change * 100.0,
        c.base_n,
        c.new_n
    )
}

/// The results table with each threshold's verdict under its test, and a closing count line.
pub fn table(summary: &Summary) -> String {
    table_with(summary, use_colour())
}

/// The results table, with or without ANSI colours.
pub fn table_with(summary: &Summary, colour: bool) -> String {
    let mut rows: Vec<[String; 11]> = Vec::new();
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
    let line = |cells: &[String; 11], codes: [&str; 2], out: &mut String| {
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == LAST {
                let _ = write!(out, "{}", paint(cell, codes[1], colour));
            } else if i < 2 {
                let _ = write!(out, "{cell}{}", " ".repeat(pad));
            } else if i == CHANGE_COL {
                let _ = write!(out, "{}{}", " ".repeat(pad), paint(cell, codes[0], colour));
            } else {
                let _ = write!(out, "{}{cell}", " ".repeat(pad));
            }
            out.push_str(if i == LAST { "\n" } else { "  " });
        }
    };
    line(&HEADERS.map(String::from), ["", ""], &mut out);
    let mut last_target = None;
    for (r, cells) in summary.results.iter().zip(&rows) {
        let target = (&r.record.test.package, &r.record.test.target);
        if last_target != Some(target) {
            let _ = writeln!(out, "{} · {}", target.0, target.1);
            last_target = Some(target);
        }
        line(cells, [change_colour(r), result_colour(r)], &mut out);
        for v in &r.verdicts {
            let _ = writeln!(out, "      {}", verdict_text(v));
        }
        if let Some(c) = r
            .comparison
            .as_ref()
            .filter(|c| c.change_verdict != Change::Unchanged)
        {
            let text = change_sentence(&r.record.test.name, c);
            let _ = writeln!(out, "      {}", paint(&text, change_colour(r), colour));
        }
        for c in r
            .counts
            .iter()
            .filter(|c| c.change_verdict != Change::Unchanged)
        {
            let code = match c.change_verdict {
                Change::Regression => "1;31",
                _ => "32",
            };
            let text = change_sentence(&r.record.test.name, c);
            let _ = writeln!(out, "      {}", paint(&text, code, colour));
        }
        if let Some(q) = &r.record.queries {
            if let Some(ns) = r.record.setup_ns {
                let _ = writeln!(
                    out,
                    "      setup: {} (not in samples)",
                    format_ns(ns as f64)
                );
            }
            out.push_str(&statements_text(q, call_word(&r.record)));
        }
        if let Some(load) = &r.record.load {
            for l in load_lines(load, r.record.setup_ns.is_some()) {
                let _ = writeln!(out, "      {l}");
            }
        }
        if let Some(c) = &r.capacity {
            for l in capacity::lines(c) {
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
        "\n{} ({} perf tests in {:.1}s)",
        summary.headline(),
        t.tests,
        summary.duration_s
    );
    if let Some(line) = compared_line(summary) {
        let _ = writeln!(out, "{line}");
    }
    if let Some(line) = shard_line(summary) {
        let _ = writeln!(out, "{line}");
    }
    out
}

/// Per load test: the counts line and latency by request name, as in the terminal report.
/// `shard 1/2: ...` on a shard's run, `merged from 2 shards` after `cargo perf merge`.
fn shard_line(summary: &Summary) -> Option<String> {
    match (summary.shard, summary.merged_shards) {
        (Some(s), _) => Some(format!(
            "shard {s}: this machine's part of each load test (thresholds judged on this part, \
             min_throughput on its share); combine all shards with `cargo perf merge`"
        )),
        (None, Some(n)) => Some(format!(
            "merged from {n} shards: histograms added, thresholds judged on the whole load"
        )),
        _ => None,
    }
}

/// `compared with base (the previous run, 1a2b3c4): 1 regression, 0 improvements, ...` and notes.
fn compared_line(summary: &Summary) -> Option<String> {
    let w = summary.compared_with.as_ref()?;
    let commit = w
        .commit
        .as_deref()
        .map(|c| format!(" at {}", &c[..c.len().min(10)]))
        .unwrap_or_default();
    let mut line = format!("compared with {}{commit}: {}", w.against, w.tally());
    for n in &w.notes {
        let _ = write!(line, "\nnote: {n}");
    }
    Some(line)
}

fn row(r: &TestResult) -> [String; 11] {
    let name = format!("  {}", r.record.test.name);
    let kind = r.record.spec.kind.as_str().to_string();
    let regressed = r.regressed();
    let result = match r.outcome {
        TestOutcome::Pass if regressed => "REGRESSED",
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
            change_cell(r.comparison.as_ref()),
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
            change_cell(r.comparison.as_ref()),
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

/// What one counted unit of a test is: a load test counts statements per iteration.
fn call_word(record: &Record) -> &'static str {
    if record.load.is_some() {
        "iteration"
    } else {
        "call"
    }
}

/// Query counts and the top statements by total time, indented under the test's row.
fn statements_text(q: &QueryStats, unit: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "      queries: {:.1} per {unit} (min {}, max {}), {} statements in {} {unit}s, {} distinct",
        q.mean_per_call, q.min_per_call, q.max_per_call, q.statements, q.calls, q.distinct
    );
    if q.averaged {
        out.push_str(
            " (averaged over the load: they ran on the service's own threads, not in the iterations)",
        );
    }
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

/// `PASS p95 <= 1s (measured 40ns)`; with perf.toml, where the limit came from:
/// `FAIL p95 <= 300ms (measured 412.0ms; budget perf.toml:7, env ci ×1.5)`.
pub fn verdict_text(v: &Verdict) -> String {
    let mut measured = v.measured.map_or_else(
        || match v.threshold {
            Threshold::Recovery { .. } => {
                "p95 not back under its threshold before the next spike or the end".into()
            }
            Threshold::RssGrowth { .. } => {
                "too short to fit a memory trend: a soak needs at least 11 s of RSS samples".into()
            }
            _ => "not measured".into(),
        },
        |m| match v.averaged {
            true => {
                format!("measured {m:.0} per iteration on average: the service's threads ran them")
            }
            false => format!("measured {}", v.threshold.format_value(m)),
        },
    );
    let origin: Vec<String> = [
        v.budget.as_ref().map(|b| format!("budget {b}")),
        v.env.as_ref().map(|e| match v.scale {
            Some(s) => format!("env {e} ×{s}"),
            None => format!("env {e}"),
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !origin.is_empty() {
        measured = format!("{measured}; {}", origin.join(", "));
    }
    if let Some(lag) = v.generator_lag_p99_ns {
        let _ = write!(
            measured,
            "; the load generator, not the service, was the limit: it started iterations \
             {} (p99) behind their schedule",
            format_ns(lag)
        );
    }
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

/// One sentence for a load test: model and users (and the shard's part), duration, iterations
/// (failed, dropped, interrupted) and requests with their rates.
pub(crate) fn load_overview(l: &LoadReport) -> String {
    let mut model = match l.model {
        Model::Closed => format!("closed model, {} users", l.peak_users),
        Model::Open => format!("open model, up to {} users", l.peak_users),
    };
    if let Some(n @ 2..) = l.workers {
        let _ = write!(model, " on {n} generator threads");
    }
    if let Some(part) = l.shard {
        let _ = write!(
            model,
            " (shard {}: {:.0}% of the load)",
            part.shard,
            part.share * 100.0
        );
    }
    format!(
        "{model}, {:.1}s · {} iterations ({:.1}/s), {} failed ({:.2}%), {} dropped, {} \
         interrupted · {} requests ({:.1}/s), {} failed",
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
    )
}

/// `service process 4242: cpu 35% · peak rss 48.0MiB · peak open fds 40 · peak threads 9`, and
/// when it ended during the load, when.
fn service_line(l: &LoadReport, s: &perf_schema::record::load::ServiceProcess) -> String {
    let mut line = format!("service process {}:", s.pid);
    if let Some(cpu) = s.cpu_percent {
        let _ = write!(line, " cpu {cpu:.0}% ·");
    }
    if let Some(rss) = s.peak_rss_bytes {
        let _ = write!(line, " peak rss {} ·", format_bytes(rss as f64));
    }
    let peak = |f: fn(perf_schema::record::load::ProcessTick) -> Option<u64>| {
        l.timeline
            .iter()
            .filter_map(|t| t.service.and_then(f))
            .max()
    };
    if let Some(fds) = peak(|p| p.open_fds) {
        let _ = write!(line, " peak open fds {fds} ·");
    }
    if let Some(threads) = peak(|p| p.threads) {
        let _ = write!(line, " peak threads {threads} ·");
    }
    let mut line = line.trim_end_matches(" ·").to_string();
    if let Some(t) = s.exited_after_s {
        let _ = write!(line, "; gone {t:.1}s into the load");
    }
    line
}

/// A load test's breakdown under its row: counts and rates, latency per request name,
/// errors by kind and status, checks, resources.
/// `in_process`: the test's `setup` started the service in the test process.
pub fn load_lines(l: &LoadReport, in_process: bool) -> Vec<String> {
    let mut out = Vec::new();
    out.push(format!("load: {}", load_overview(l)));
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
    let peak = |f: fn(&perf_schema::record::load::Tick) -> Option<u64>| {
        l.timeline.iter().filter_map(f).max()
    };
    if let Some(fds) = peak(|t| t.open_fds) {
        let _ = write!(resources, " · peak open fds {fds}");
    }
    if let Some(threads) = peak(|t| t.threads) {
        let _ = write!(resources, " · peak threads {threads}");
    }
    out.push(resources);
    if let Some(ws) = &l.websocket {
        out.push(format!(
            "websocket: {}; times are the rows ws_connecting, ws_session_duration, ws_ping and \
             each exchange's name",
            load_md::ws_counts(ws)
        ));
    }
    match &l.service_process {
        Some(s) => out.push(service_line(l, s)),
        None if in_process => out.push(
            "one process: the generator and the service its setup started; the figures above are \
             theirs together"
                .into(),
        ),
        None => out.push(
            "the service's own process was not watched (--service-pid PID samples it)".into(),
        ),
    }
    if let Some(lag) = l
        .schedule_lag
        .as_ref()
        .filter(|lag| lag.p99_ns > crate::judge::verdict::GENERATOR_BEHIND_NS)
    {
        out.push(format!(
            "generator behind its schedule: iterations started {} late at p99 (max {}); the load \
             was lower or later than asked: give the generator more CPU or ask for less",
            format_ns(lag.p99_ns),
            format_ns(lag.max_ns)
        ));
    }
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
    if let Some(lag) = &l.schedule_lag {
        rows.push(lat(
            "generator lag (slot to start)".into(),
            lag.count,
            "-".into(),
            lag,
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
    let mut out = format!("## cargo perf: {}\n\n", summary.headline());
    if let Some(line) = shard_line(summary) {
        let _ = writeln!(out, "{line}\n");
    }
    if let Some(w) = &summary.compared_with {
        let regressions: Vec<String> = summary
            .results
            .iter()
            .flat_map(|r| {
                r.regressions().map(|c| {
                    format!(
                        "- :red_circle: {}",
                        change_sentence(&format!("`{}`", r.record.test.name), c)
                    )
                })
            })
            .collect();
        if !regressions.is_empty() {
            out.push_str(&regressions.join("\n"));
            out.push_str("\n\n");
        }
        let commit = w
            .commit
            .as_deref()
            .map(|c| format!(" at `{}`", &c[..c.len().min(10)]))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "Compared with {}{commit} ({}): {}.\n",
            w.against,
            match w.mode {
                perf_schema::summary::CompareMode::Baseline => "Mann-Whitney U on raw samples",
                perf_schema::summary::CompareMode::Paired =>
                    "Wilcoxon signed-rank on paired round ratios",
            },
            w.tally()
        );
        for n in &w.notes {
            let _ = writeln!(out, "> **Note:** {n}\n");
        }
    }
    out.push_str(
        "| Test | Kind | Samples | Mean | p50 | p95 | p99 | Max | Change | Thresholds | Result |\n",
    );
    out.push_str("|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|\n");
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
        let change = match &r.comparison {
            Some(c) if c.change_verdict != Change::NotCompared => format!(
                "{}{}",
                cells[CHANGE_COL],
                c.p_value
                    .map(|p| format!(" ({})", format_p(p)))
                    .unwrap_or_default()
            ),
            _ => cells[CHANGE_COL].clone(),
        };
        let _ = writeln!(
            out,
            "| `{}::{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | **{}** |",
            r.record.test.target,
            r.record.test.name,
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            cells[7],
            change,
            if notes.is_empty() { "-".into() } else { notes },
            cells[LAST]
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
                "\n`{}::{}`: {:.1} statements per {} (max {}), {} distinct\n",
                r.record.test.target,
                r.record.test.name,
                q.mean_per_call,
                call_word(&r.record),
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
    out.push_str(&capacity::section(summary));
    out.push_str(&load_md::section(summary));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_counts_read_as_counts_not_durations() {
        let c = crate::compare::compare_exact("queries/iteration", 2, 41);
        assert_eq!(
            change_sentence("recent_requests", &c),
            "queries/iteration of recent_requests went from 2 to 41 (+1950.0 %, critical \
             regression, exact count)"
        );
        let same = crate::compare::compare_exact("queries/iteration", 3, 3);
        assert_eq!(
            change_sentence("x", &same),
            "queries/iteration of x went from 3 to 3 (+0.0 %, unchanged, exact count)"
        );
    }
}
