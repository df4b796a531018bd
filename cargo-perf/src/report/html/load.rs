//! The load-test part of `report.html`: latency (p50, p95), throughput and users over time from
//! the per-second time series, and the latency table per request name; the baseline (or the
//! reference build) is overlaid on every chart and compared in the table.

use std::fmt::Write as _;

use crate::compare::format_change;
use perf_schema::record::load::{LoadReport, Tick};
use perf_schema::spec::{format_bytes, format_ns};

use super::{escape, linear_ticks, polyline, svg_open, BASE, H, NEW, PAD, W};

/// Charts and table of one load test.
pub fn charts(out: &mut String, new: &LoadReport, base: Option<&LoadReport>) {
    let base_line = base.map(|b| b.timeline.as_slice()).unwrap_or_default();
    out.push_str("<div class=\"charts\">");
    let p95 = |t: &[Tick]| points(t, |_, x| x.p95_ns);
    let p50 = |t: &[Tick]| points(t, |_, x| x.p50_ns);
    series(
        out,
        "iteration latency over time (p95 solid, p50 dashed)",
        "latency",
        &[
            (p95(&new.timeline), NEW, false),
            (p50(&new.timeline), NEW, true),
            (p95(base_line), BASE, false),
            (p50(base_line), BASE, true),
        ],
        format_ns,
    );
    // The last point comes when the load stops, often milliseconds after the previous one:
    // a rate over less than half a second is noise, so such a sliver is left out.
    let rate = |t: &[Tick]| {
        points(t, |prev, x| {
            let (t0, n0) = prev.map_or((0.0, 0), |p| (p.t_s, p.iterations));
            let dt = x.t_s - t0;
            (dt >= 0.5).then(|| x.iterations.saturating_sub(n0) as f64 / dt)
        })
    };
    series(
        out,
        "throughput over time",
        "iterations/s",
        &[
            (rate(&new.timeline), NEW, false),
            (rate(base_line), BASE, true),
        ],
        |v| format!("{v:.0}/s"),
    );
    // Users from the start: the first point's count holds from 0 s.
    let users = |t: &[Tick]| {
        let mut p = points(t, |_, x| Some(x.users as f64));
        if let Some(&(_, first)) = p.first() {
            p.insert(0, (0.0, first));
        }
        p
    };
    series(
        out,
        "users over time",
        "users",
        &[
            (users(&new.timeline), NEW, false),
            (users(base_line), BASE, true),
        ],
        |v| format!("{v:.0}"),
    );
    memory(out, new);
    out.push_str("</div>");
    table(out, new, base);
}

const SERVICE: &str = "#0f766e";
const TREND: &str = "#15803d";

/// Resident memory over time: the test process's, the service's own when `--service-pid`
/// watched it, and the trend the leak verdict fits (through the window minima after warm-up).
fn memory(out: &mut String, l: &LoadReport) {
    let own = points(&l.timeline, |_, x| x.rss_bytes.map(|b| b as f64));
    let service = points(&l.timeline, |_, x| {
        x.service.and_then(|s| s.rss_bytes).map(|b| b as f64)
    });
    if own.is_empty() && service.is_empty() {
        return;
    }
    let trend = crate::judge::leak::rss_trend(&l.timeline);
    let title = match (&trend, service.is_empty()) {
        (Some(t), true) => format!(
            "memory over time (test process; trend {}/h)",
            signed_bytes(t.bytes_per_h)
        ),
        (Some(t), false) => format!(
            "memory over time (test process, service; service trend {}/h)",
            signed_bytes(t.bytes_per_h)
        ),
        (None, true) => "memory over time (test process)".to_string(),
        (None, false) => "memory over time (test process, service)".to_string(),
    };
    let mut lines: Vec<Line<'_>> = vec![(own, NEW, false), (service, SERVICE, false)];
    if let Some(t) = &trend {
        // The fitted line over the minima's span: through their mean, at the fitted slope.
        let n = t.minima.len() as f64;
        let (mx, my) = t
            .minima
            .iter()
            .fold((0.0, 0.0), |(x, y), p| (x + p.0 / n, y + p.1 / n));
        let at = |s: f64| (s, my + (s - mx) * t.bytes_per_h / 3600.0);
        let (first, last) = (t.minima[0].0, t.minima[t.minima.len() - 1].0);
        lines.push((vec![at(first), at(last)], TREND, true));
    }
    series(out, &title, "resident memory", &lines, format_bytes);
}

/// `+8.8GiB`, `-120.0KiB`.
fn signed_bytes(bytes: f64) -> String {
    let sign = if bytes < 0.0 { "-" } else { "+" };
    format!("{sign}{}", format_bytes(bytes.abs()))
}

/// (seconds, value) of every tick that has a value; `f` also sees the previous tick.
fn points(t: &[Tick], f: impl Fn(Option<&Tick>, &Tick) -> Option<f64>) -> Vec<(f64, f64)> {
    t.iter()
        .enumerate()
        .filter_map(|(i, x)| {
            let prev = i.checked_sub(1).map(|j| &t[j]);
            f(prev, x).filter(|v| v.is_finite()).map(|v| (x.t_s, v))
        })
        .collect()
}

/// One line of a chart: (seconds, value) points, colour, dashed.
type Line<'a> = (Vec<(f64, f64)>, &'a str, bool);

/// A line chart over time, from 0 on both axes.
fn series(
    out: &mut String,
    title: &str,
    y_label: &str,
    lines: &[Line<'_>],
    fmt: fn(f64) -> String,
) {
    let all = lines.iter().flat_map(|l| l.0.iter());
    let (t_max, y_max) = all.fold((0f64, 0f64), |(t, y), p| (t.max(p.0), y.max(p.1)));
    let (t_max, y_max) = (t_max.max(1.0), if y_max > 0.0 { y_max } else { 1.0 });
    svg_open(out, title, "seconds", y_label);
    linear_ticks(out, (0.0, t_max), (0.0, y_max), |t| format!("{t}s"), fmt);
    for (pts, colour, dashed) in lines.iter().filter(|l| !l.0.is_empty()) {
        let scaled: Vec<(f64, f64)> = pts
            .iter()
            .map(|(t, v)| {
                (
                    PAD + t / t_max * (W - PAD - 8.0),
                    (H - PAD) - v / y_max * (H - PAD - 20.0),
                )
            })
            .collect();
        polyline(out, &scaled, colour, *dashed);
        // Dots on short series, so that a test of a second or two still shows its points.
        if scaled.len() <= 60 {
            for (x, y) in &scaled {
                let _ = write!(
                    out,
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2\" fill=\"{colour}\"/>"
                );
            }
        }
    }
    out.push_str("</svg>");
}

/// Latency per request name, with the baseline's p95 and the change when it has that name.
fn table(out: &mut String, new: &LoadReport, base: Option<&LoadReport>) {
    out.push_str(
        "<table><thead><tr><th>request</th><th>count</th><th>errors</th><th>mean</th>\
         <th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th>\
         <th>baseline p95</th><th>change</th></tr></thead><tbody>",
    );
    let mut row = |name: &str,
                   count: u64,
                   errors: u64,
                   l: &perf_schema::record::load::Latency,
                   old: Option<f64>| {
        let (before, change) = match old.filter(|o| *o > 0.0) {
            Some(o) => (format_ns(o), format_change(l.p95_ns / o - 1.0)),
            None => ("-".into(), "-".into()),
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{count}</td><td>{errors}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{before}</td><td>{change}</td></tr>",
            escape(name),
            format_ns(l.mean_ns),
            format_ns(l.p50_ns),
            format_ns(l.p90_ns),
            format_ns(l.p95_ns),
            format_ns(l.p99_ns),
            format_ns(l.max_ns),
        );
    };
    row(
        "iteration",
        new.iterations,
        new.failed_iterations,
        &new.iteration,
        base.map(|b| b.iteration.p95_ns),
    );
    for n in &new.requests_by_name {
        let old = base
            .and_then(|b| b.by_name(&n.name))
            .map(|o| o.latency.p95_ns);
        row(&n.name, n.requests, n.failed, &n.latency, old);
    }
    out.push_str("</tbody></table>");
}
