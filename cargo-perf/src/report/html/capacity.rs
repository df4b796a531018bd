//! The capacity search in `report.html`: throughput and the latency tail against the offered
//! rate, one point per step, with the capacity found marked and the latency thresholds drawn.

use std::fmt::Write as _;

use perf_schema::spec::{format_ns, Threshold};
use perf_schema::summary::{Capacity, CapacityStep};

use super::{axes, escape, polyline, svg_open, x_of, y_of, H, NEW, PAD, W};

const P99: &str = "#7c3aed";
const FAILED: &str = "#b91c1c";

/// The answer in a sentence and both charts.
pub fn charts(out: &mut String, c: &Capacity, thresholds: &[Threshold]) {
    let _ = write!(
        out,
        "<p><strong>{}</strong></p><div class=\"charts\">",
        escape(&crate::report::capacity::headline(c))
    );
    let mut steps: Vec<&CapacityStep> = c.steps.iter().collect();
    steps.sort_by(|a, b| a.rate_per_s.total_cmp(&b.rate_per_s));
    let x_hi = steps.last().map_or(1.0, |s| s.rate_per_s).max(1.0);
    throughput(out, &steps, x_hi, c.held_per_s);
    tail(out, &steps, x_hi, c.held_per_s, thresholds);
    out.push_str("</div>");
}

/// A dot per step: filled where the step held, red where it failed.
fn dots(out: &mut String, points: &[(f64, f64, bool)], colour: &str) {
    for (x, y, held) in points {
        let fill = if *held { colour } else { FAILED };
        let _ = write!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{fill}\"/>"
        );
    }
}

/// A vertical dashed line at the capacity found, labelled.
fn capacity_mark(out: &mut String, held: Option<f64>, x_hi: f64) {
    let Some(rate) = held else { return };
    let x = x_of(rate, 0.0, x_hi);
    let _ = write!(
        out,
        "<line x1=\"{x:.1}\" y1=\"18\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#15803d\" \
         stroke-dasharray=\"3 3\"/><text x=\"{:.1}\" y=\"30\" fill=\"#15803d\">capacity \
         {rate:.0}/s</text>",
        H - PAD,
        (x + 3.0).min(W - 90.0)
    );
}

/// Iterations done per second against the rate offered, with the line where they are equal.
fn throughput(out: &mut String, steps: &[&CapacityStep], x_hi: f64, held: Option<f64>) {
    let y_hi = steps
        .iter()
        .map(|s| s.iterations_per_s)
        .fold(x_hi, f64::max);
    svg_open(
        out,
        "throughput against offered rate (dashed: all done; red: failed)",
        "offered rate (/s)",
        "done (/s)",
    );
    super::linear_ticks(
        out,
        (0.0, x_hi),
        (0.0, y_hi),
        |v| format!("{v:.0}"),
        |v| format!("{v:.0}"),
    );
    polyline(
        out,
        &[
            (x_of(0.0, 0.0, x_hi), y_of(0.0, 0.0, y_hi)),
            (x_of(x_hi, 0.0, x_hi), y_of(x_hi, 0.0, y_hi)),
        ],
        "#999",
        true,
    );
    let points: Vec<(f64, f64, bool)> = steps
        .iter()
        .map(|s| {
            (
                x_of(s.rate_per_s, 0.0, x_hi),
                y_of(s.iterations_per_s, 0.0, y_hi),
                s.passed,
            )
        })
        .collect();
    let line: Vec<(f64, f64)> = points.iter().map(|(x, y, _)| (*x, *y)).collect();
    polyline(out, &line, NEW, false);
    dots(out, &points, NEW);
    capacity_mark(out, held, x_hi);
    out.push_str("</svg>");
}

/// p95 and p99 against the rate offered on a log scale, with each latency threshold.
fn tail(
    out: &mut String,
    steps: &[&CapacityStep],
    x_hi: f64,
    held: Option<f64>,
    thresholds: &[Threshold],
) {
    let limits: Vec<(String, f64)> = thresholds
        .iter()
        .filter_map(|t| match t {
            Threshold::Percentile {
                percentile,
                limit_ns,
            } => Some((format!("p{percentile}"), *limit_ns as f64)),
            _ => None,
        })
        .collect();
    let values = steps
        .iter()
        .flat_map(|s| [s.p95_ns, s.p99_ns])
        .chain(limits.iter().map(|l| l.1))
        .filter(|v| *v > 0.0);
    let (lo, hi) = values.fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if hi > lo { (lo, hi) } else { (1.0, 10.0) };
    let (lo, hi) = (lo / 1.2, hi * 1.2);
    let y = |v: f64| (H - PAD) - (v.max(lo) / lo).ln() / (hi / lo).ln() * (H - PAD - 20.0);
    svg_open(
        out,
        "p95 (solid), p99 (dashed) against offered rate (red: failed)",
        "offered rate (/s)",
        "latency (log scale)",
    );
    let x_ticks: Vec<(f64, String)> = axes::linear(0.0, x_hi, 5)
        .into_iter()
        .map(|v| (x_of(v, 0.0, x_hi), format!("{v:.0}")))
        .collect();
    let y_ticks: Vec<(f64, String)> = axes::logarithmic(lo, hi)
        .into_iter()
        .filter(|v| (lo..=hi).contains(v))
        .map(|v| (y(v), format_ns(v)))
        .collect();
    axes::draw(out, &x_ticks, &y_ticks);
    for (name, limit) in &limits {
        let _ = write!(
            out,
            "<line x1=\"{PAD}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"{FAILED}\" \
             stroke-dasharray=\"2 4\"/><text x=\"{2}\" y=\"{3:.1}\" text-anchor=\"end\" \
             fill=\"{FAILED}\">{name} limit {4}</text>",
            y(*limit),
            W - 8.0,
            W - 10.0,
            y(*limit) - 3.0,
            format_ns(*limit)
        );
    }
    let p95: fn(&CapacityStep) -> f64 = |s| s.p95_ns;
    let p99: fn(&CapacityStep) -> f64 = |s| s.p99_ns;
    for (pick, colour, dashed) in [(p95, NEW, false), (p99, P99, true)] {
        let points: Vec<(f64, f64, bool)> = steps
            .iter()
            .map(|s| (x_of(s.rate_per_s, 0.0, x_hi), y(pick(s)), s.passed))
            .collect();
        let line: Vec<(f64, f64)> = points.iter().map(|(x, y, _)| (*x, *y)).collect();
        polyline(out, &line, colour, dashed);
        dots(out, &points, colour);
    }
    capacity_mark(out, held, x_hi);
    out.push_str("</svg>");
}
