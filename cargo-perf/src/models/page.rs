//! `model.html` (`cargo perf model --html PATH`): per sweep, the USL curve drawn over the measured
//! throughput of each level with the peak marked, then the levels and the fit as the terminal
//! prints them.

use std::fmt::Write as _;

use crate::report::html::{escape, linear_ticks, polyline, svg_open, x_of, y_of, CSS, H, NEW, PAD};

use super::little::Level;
use super::{table, Sweep};

const FIT: &str = "#7c3aed";
const PEAK: &str = "#15803d";

/// The page for every sweep: (test name, its levels, its analysis).
pub fn render(sweeps: &[(String, Vec<Level>, Sweep)]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>cargo perf model</title><style>{CSS}</style></head><body>\
         <h1>cargo perf model: {} sweep{}</h1>",
        sweeps.len(),
        if sweeps.len() == 1 { "" } else { "s" }
    );
    for (name, levels, sweep) in sweeps {
        let _ = write!(
            out,
            "<section><h2>{}</h2><div class=\"charts\">",
            escape(name)
        );
        chart(&mut out, levels, sweep);
        let _ = write!(
            out,
            "</div><pre>{}</pre></section>",
            escape(&table::render(sweep).join("\n"))
        );
    }
    out.push_str("</body></html>\n");
    out
}

/// Throughput against users: a dot per level, the fitted curve, and the peak when it has one.
fn chart(out: &mut String, levels: &[Level], sweep: &Sweep) {
    let n_max_seen = levels.iter().map(|l| l.users).fold(1.0, f64::max);
    let x_max_seen = levels.iter().map(|l| l.throughput).fold(0.0, f64::max);
    let model = sweep.fit.as_ref().ok().map(|f| f.model);
    // Show the curve a little past the sweep, and the peak when it is near.
    let peak = model
        .map(|m| m.peak_users())
        .filter(|n| n.is_finite() && *n <= 3.0 * n_max_seen);
    let x_hi = (peak.unwrap_or(0.0).max(n_max_seen) * 1.15).ceil();
    // As high as the measured levels and the curve over the users shown.
    let y_hi = model
        .map(|m| m.throughput(peak.unwrap_or(x_hi)))
        .filter(|x| x.is_finite())
        .unwrap_or(0.0)
        .max(x_max_seen)
        * 1.1;
    svg_open(
        out,
        "throughput against users: measured (dots), USL fit (line)",
        "users",
        "iterations/s",
    );
    linear_ticks(
        out,
        (0.0, x_hi),
        (0.0, y_hi),
        |v| format!("{v:.0}"),
        |v| format!("{v:.0}/s"),
    );
    if let Some(m) = model {
        let curve: Vec<(f64, f64)> = (0..=100)
            .map(|i| {
                let n = 1.0 + (x_hi - 1.0) * f64::from(i) / 100.0;
                (x_of(n, 0.0, x_hi), y_of(m.throughput(n), 0.0, y_hi))
            })
            .collect();
        polyline(out, &curve, FIT, false);
    }
    if let (Some(n), Some(m)) = (peak, model) {
        let x = x_of(n, 0.0, x_hi);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" y1=\"18\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"{PEAK}\" \
             stroke-dasharray=\"3 3\"/><text x=\"{:.1}\" y=\"30\" fill=\"{PEAK}\">N_max {n:.1}, \
             X_max {:.0}/s</text>",
            H - PAD,
            (x - 120.0).max(PAD + 2.0),
            m.peak_throughput()
        );
    }
    for l in levels {
        let _ = write!(
            out,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{NEW}\"/>",
            x_of(l.users, 0.0, x_hi),
            y_of(l.throughput, 0.0, y_hi)
        );
    }
    out.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{analyse, usl};

    #[test]
    fn the_page_draws_each_level_and_the_fitted_curve_with_its_peak() {
        let truth = usl::Usl {
            sigma: 0.05,
            kappa: 0.001,
            lambda: 100.0,
        };
        let levels: Vec<Level> = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
            .iter()
            .map(|&n| Level {
                users: n,
                throughput: truth.throughput(n),
                response_s: n / truth.throughput(n),
                think_s: 0.0,
            })
            .collect();
        let sweep = analyse(&levels);
        let html = render(&[("browse".into(), levels, sweep)]);
        assert!(html.contains("<h2>browse</h2>"));
        assert_eq!(html.matches("<circle").count(), 6, "{html}");
        assert_eq!(html.matches(&format!("stroke=\"{FIT}\"")).count(), 1);
        // N_max = √((1 − σ)/κ) = √950 = 30.8.
        assert!(html.contains("N_max 30.8, X_max "), "{html}");
        assert!(html.contains("class=\"tick\""));
        assert!(
            html.contains("USL fit X(N)"),
            "the levels and the fit as text"
        );
        assert!(!html.contains("<script"));
    }
}
