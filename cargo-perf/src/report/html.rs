//! `report.html`: one self-contained page (inline CSS and SVG, no script, no network) with, per
//! test, a latency histogram, the percentile curve and the samples in run order, each with the
//! baseline (or the reference build) overlaid; load tests add latency, throughput and users over
//! time and a table per request name (`html::load`).

use std::fmt::Write as _;

use crate::compare::{format_change, format_p, nearest_rank};
use perf_schema::record::{Record, Status};
use perf_schema::spec::format_ns;
use perf_schema::summary::{Summary, TestResult};

pub(crate) use super::junit::escape;

mod axes;
mod capacity;
mod load;

pub(crate) const W: f64 = 420.0;
pub(crate) const H: f64 = 180.0;
pub(crate) const PAD: f64 = 44.0;
pub(crate) const NEW: &str = "#2563eb";
const BASE: &str = "#f97316";

/// The page; `base` holds the baseline's records (or the reference build's) for the overlay.
pub fn render(summary: &Summary, base: &[Record]) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>cargo perf report</title><style>{CSS}</style></head><body>\
         <h1>cargo perf: {}</h1>",
        summary.headline()
    );
    if let Some(w) = &summary.compared_with {
        let _ = write!(
            out,
            "<p class=\"meta\">compared with {} ({:?}): {}. \
             <span style=\"color:{NEW}\">■ this run</span> \
             <span style=\"color:{BASE}\">■ baseline</span></p>",
            escape(&w.against),
            w.mode,
            w.tally()
        );
        for n in &w.notes {
            let _ = write!(out, "<p class=\"note\">{}</p>", escape(n));
        }
    }
    if let Some(m) = &summary.machine {
        let _ = write!(
            out,
            "<p class=\"meta\">machine: {}</p>",
            escape(&m.to_string())
        );
    }
    overview(&mut out, summary);
    for r in &summary.results {
        let baseline = base
            .iter()
            .find(|b| crate::store::baseline::same_test(&b.test, &r.record.test));
        section(&mut out, r, baseline);
    }
    out.push_str("</body></html>\n");
    out
}

pub(crate) const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#111}\
section{border-top:1px solid #ddd;padding:1em 0}h2{font-size:1.1em;margin:.2em 0}\
.meta{color:#555}.note{color:#b45309}.fail{color:#b91c1c}.pass{color:#15803d}\
svg{background:#fafafa;border:1px solid #eee;margin:.3em .6em .3em 0}\
.charts{display:flex;flex-wrap:wrap}text{font-size:10px;fill:#555}text.tick{font-size:9px}\
text.axis{font-style:italic}.overview{margin:1em 0}.overview td{text-align:left}\
table{border-collapse:collapse;font-size:.9em}td,th{padding:.15em .6em;text-align:right}\
td:first-child,th:first-child{text-align:left}tr:nth-child(even){background:#f5f5f5}";

/// The CSS class and the word for a result: a regression (of the timing, a count or the error
/// rate) shows even when the thresholds held.
fn outcome(r: &TestResult) -> (&'static str, &'static str) {
    match r.outcome {
        perf_schema::summary::TestOutcome::Pass if r.regressed() => ("fail", "regressed"),
        perf_schema::summary::TestOutcome::Pass => ("pass", "pass"),
        perf_schema::summary::TestOutcome::Fail => ("fail", "fail"),
        perf_schema::summary::TestOutcome::Error => ("fail", "error"),
    }
}

/// The anchor of a test's section: package, target and name, unique in a run.
fn anchor(r: &TestResult) -> String {
    let t = &r.record.test;
    format!("{}-{}-{}", t.package, t.target, t.name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Every test in one table at the top: kind, result, change and thresholds, each linking to
/// its section.
fn overview(out: &mut String, summary: &Summary) {
    out.push_str(
        "<table class=\"overview\"><thead><tr><th>test</th><th>kind</th><th>result</th>\
         <th>change</th><th>thresholds</th></tr></thead><tbody>",
    );
    for r in &summary.results {
        let (class, label) = outcome(r);
        let held = r.verdicts.iter().filter(|v| v.passed).count();
        let _ = write!(
            out,
            "<tr><td><a href=\"#{}\">{}</a> <span class=\"meta\">{}</span></td><td>{}</td>\
             <td class=\"{class}\">{label}</td><td>{}</td><td>{held} of {} held</td></tr>",
            anchor(r),
            escape(&r.record.test.name),
            escape(&r.record.test.target),
            r.record.spec.kind.as_str(),
            escape(&crate::report::change_cell(r.comparison.as_ref())),
            r.verdicts.len()
        );
    }
    out.push_str("</tbody></table>");
}

fn section(out: &mut String, r: &TestResult, base: Option<&Record>) {
    let t = &r.record.test;
    let (class, label) = outcome(r);
    let _ = write!(
        out,
        "<section id=\"{}\"><h2>{} <span class=\"{class}\">{label}</span></h2>\
         <p class=\"meta\">{} · {} · {}:{} · {} · <code>{}</code></p>",
        anchor(r),
        escape(&t.name),
        escape(&t.package),
        escape(&t.target),
        escape(&t.file),
        t.line,
        r.record.spec.kind.as_str(),
        escape(&r.record.spec.to_string())
    );
    if let Status::Failed { message } = &r.record.status {
        let _ = write!(
            out,
            "<p class=\"fail\">error: {}</p></section>",
            escape(message)
        );
        return;
    }
    if let Some(s) = &r.record.stats {
        let _ = write!(
            out,
            "<p>mean {} · p50 {} · p95 {} · p99 {} · max {} · {} samples</p>",
            format_ns(s.mean_ns),
            format_ns(s.p50_ns),
            format_ns(s.p95_ns),
            format_ns(s.p99_ns),
            format_ns(s.max_ns),
            s.samples
        );
    }
    if let Some(c) = r
        .comparison
        .as_ref()
        .filter(|c| c.change_verdict == crate::compare::Change::NotCompared)
    {
        let _ = write!(
            out,
            "<p>not compared: {}</p>",
            escape(c.note.as_deref().unwrap_or("-"))
        );
    } else if let Some(c) = &r.comparison {
        let _ = write!(
            out,
            "<p>{} {} → {}: {} ({}{}){}</p>",
            escape(&c.metric),
            format_ns(c.base),
            format_ns(c.new),
            format_change(c.change),
            c.change_verdict.as_str(),
            c.p_value
                .map(|p| format!(", {}", format_p(p)))
                .unwrap_or_default(),
            c.note
                .as_deref()
                .map(|n| format!(" — {}", escape(n)))
                .unwrap_or_default()
        );
    }
    let new = sorted(&r.record.samples_ns);
    let old = base.map(|b| sorted(&b.samples_ns)).unwrap_or_default();
    if !new.is_empty() {
        out.push_str("<div class=\"charts\">");
        histogram(out, &new, &old);
        percentiles(out, &new, &old);
        sequence(
            out,
            &r.record.samples_ns,
            base.map(|b| b.samples_ns.as_slice()),
        );
        out.push_str("</div>");
    }
    if let Some(c) = &r.capacity {
        capacity::charts(out, c, &r.record.spec.thresholds);
    }
    if let Some(l) = &r.record.load {
        load::charts(out, l, base.and_then(|b| b.load.as_ref()));
    }
    out.push_str("</section>");
}

fn sorted(v: &[u64]) -> Vec<f64> {
    let mut s: Vec<f64> = v.iter().map(|&x| x as f64).collect();
    s.sort_by(f64::total_cmp);
    s
}

/// A chart's frame: its title, both axes and their names (the x axis's under its tick labels,
/// the y axis's at its top).
pub(crate) fn svg_open(out: &mut String, title: &str, x_label: &str, y_label: &str) {
    let _ = write!(
        out,
        "<svg role=\"img\" aria-label=\"{title}\" width=\"{W}\" height=\"{H}\" \
         viewBox=\"0 0 {W} {H}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title>{title}</title>\
         <text x=\"4\" y=\"11\">{title}</text>\
         <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{x_label}</text>\
         <text class=\"axis\" x=\"{}\" y=\"24\">{y_label}</text>\
         <line x1=\"{PAD}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#999\"/>\
         <line x1=\"{PAD}\" y1=\"18\" x2=\"{PAD}\" y2=\"{}\" stroke=\"#999\"/>",
        W - 8.0,
        H - 6.0,
        PAD + 4.0,
        H - PAD,
        W - 8.0,
        H - PAD,
        H - PAD
    );
}

/// The pixel x of `v` on a linear axis from `lo` to `hi`.
pub(crate) fn x_of(v: f64, lo: f64, hi: f64) -> f64 {
    PAD + (v - lo) / (hi - lo) * (W - PAD - 8.0)
}

/// The pixel y of `v` on a linear axis from `lo` to `hi`.
pub(crate) fn y_of(v: f64, lo: f64, hi: f64) -> f64 {
    (H - PAD) - (v - lo) / (hi - lo) * (H - PAD - 20.0)
}

/// Linear ticks on both axes, labelled by `fx` and `fy`.
pub(crate) fn linear_ticks(
    out: &mut String,
    (x_lo, x_hi): (f64, f64),
    (y_lo, y_hi): (f64, f64),
    fx: impl Fn(f64) -> String,
    fy: impl Fn(f64) -> String,
) {
    let x: Vec<(f64, String)> = distinct_ticks(x_lo, x_hi, 5, &fx)
        .into_iter()
        .map(|(v, l)| (x_of(v, x_lo, x_hi), l))
        .collect();
    let y: Vec<(f64, String)> = distinct_ticks(y_lo, y_hi, 4, &fy)
        .into_iter()
        .map(|(v, l)| (y_of(v, y_lo, y_hi), l))
        .collect();
    axes::draw(out, &x, &y);
}

/// Round ticks whose labels all differ: fewer of them when `label` would print two alike (a
/// count of users from 0 to 2 gets 0, 1, 2, not 0, 0, 1, 2, 2).
fn distinct_ticks(
    lo: f64,
    hi: f64,
    mut count: usize,
    label: &impl Fn(f64) -> String,
) -> Vec<(f64, String)> {
    loop {
        let ticks: Vec<(f64, String)> = axes::linear(lo, hi, count)
            .into_iter()
            .map(|v| (v, label(v)))
            .collect();
        let alike = ticks.windows(2).any(|w| w[0].1 == w[1].1);
        if !alike || count <= 1 {
            return ticks;
        }
        count /= 2;
    }
}

pub(crate) fn polyline(out: &mut String, points: &[(f64, f64)], colour: &str, dashed: bool) {
    let pts: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    let _ = write!(
        out,
        "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"{} points=\"{}\"/>",
        if dashed {
            " stroke-dasharray=\"4 3\""
        } else {
            ""
        },
        pts.join(" ")
    );
}

fn range(new: &[f64], old: &[f64]) -> (f64, f64) {
    let lo = new.iter().chain(old).copied().fold(f64::INFINITY, f64::min);
    // p99: a few stalls would otherwise squeeze every other sample into the first bins.
    let hi = nearest_rank(new, 0.99).max(if old.is_empty() {
        f64::NEG_INFINITY
    } else {
        nearest_rank(old, 0.99)
    });
    if hi > lo {
        (lo, hi)
    } else {
        (lo, lo + 1.0)
    }
}

fn histogram(out: &mut String, new: &[f64], old: &[f64]) {
    const BINS: usize = 40;
    let (lo, hi) = range(new, old);
    let counts = |v: &[f64]| {
        let mut c = [0usize; BINS];
        for &x in v {
            let i = (((x - lo) / (hi - lo)) * BINS as f64).floor();
            c[(i.max(0.0) as usize).min(BINS - 1)] += 1;
        }
        c.map(|n| n as f64 / v.len().max(1) as f64)
    };
    let (cn, co) = (counts(new), counts(old));
    let top = cn.iter().chain(co.iter()).copied().fold(1e-9, f64::max);
    svg_open(out, "histogram", "latency", "share of samples");
    linear_ticks(out, (lo, hi), (0.0, top), format_ns, |f| {
        format!("{:.0} %", f * 100.0)
    });
    let bw = (W - PAD - 8.0) / BINS as f64;
    let y = |f: f64| (H - PAD) - f / top * (H - PAD - 20.0);
    for (i, f) in cn.iter().enumerate() {
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{NEW}\" opacity=\"0.7\"/>",
            PAD + i as f64 * bw,
            y(*f),
            bw - 1.0,
            (H - PAD) - y(*f)
        );
    }
    if !old.is_empty() {
        let mut pts = Vec::new();
        for (i, f) in co.iter().enumerate() {
            pts.push((PAD + i as f64 * bw, y(*f)));
            pts.push((PAD + (i + 1) as f64 * bw, y(*f)));
        }
        polyline(out, &pts, BASE, false);
    }
    out.push_str("</svg>");
}

/// Percentile curve on a "nines" axis: 0, 90, 99, 99.9 equally spaced.
fn percentiles(out: &mut String, new: &[f64], old: &[f64]) {
    let (lo, hi) = (
        new.iter().chain(old).copied().fold(f64::INFINITY, f64::min),
        new.iter()
            .chain(old)
            .copied()
            .fold(f64::NEG_INFINITY, f64::max),
    );
    let lo = lo.max(1.0);
    let hi = if hi > lo { hi } else { lo + 1.0 };
    svg_open(out, "percentiles (log scale)", "percentile", "latency");
    let span = (hi / lo).ln();
    let x: Vec<(f64, String)> = ["p0", "p90", "p99", "p99.9"]
        .iter()
        .enumerate()
        .map(|(i, l)| (PAD + i as f64 / 3.0 * (W - PAD - 8.0), (*l).to_string()))
        .collect();
    let y: Vec<(f64, String)> = axes::logarithmic(lo, hi)
        .into_iter()
        .map(|v| {
            (
                (H - PAD) - (v / lo).ln() / span * (H - PAD - 20.0),
                format_ns(v),
            )
        })
        .collect();
    axes::draw(out, &x, &y);
    let curve = |v: &[f64]| -> Vec<(f64, f64)> {
        (0..=120)
            .map(|i| {
                let nines = i as f64 / 40.0; // 0..3
                let q = 1.0 - 10f64.powf(-nines);
                let x = PAD + nines / 3.0 * (W - PAD - 8.0);
                let y = (H - PAD) - (nearest_rank(v, q) / lo).ln() / span * (H - PAD - 20.0);
                (x, y)
            })
            .collect()
    };
    polyline(out, &curve(new), NEW, false);
    if !old.is_empty() {
        polyline(out, &curve(old), BASE, true);
    }
    out.push_str("</svg>");
}

/// Every sample in run order: warm-up effects, drift and stalls show here.
fn sequence(out: &mut String, new: &[u64], old: Option<&[u64]>) {
    let all: Vec<f64> = new
        .iter()
        .chain(old.unwrap_or_default())
        .map(|&x| x as f64)
        .collect();
    let mut s = all.clone();
    s.sort_by(f64::total_cmp);
    let (lo, hi) = (s[0], nearest_rank(&s, 0.999).max(s[0] + 1.0));
    svg_open(out, "samples in run order", "sample", "latency");
    let n = new.len().max(2) - 1;
    linear_ticks(
        out,
        (0.0, n as f64),
        (lo, hi),
        |v| format!("{v:.0}"),
        format_ns,
    );
    let line = |v: &[u64]| -> Vec<(f64, f64)> {
        let n = v.len().max(2) - 1;
        v.iter()
            .enumerate()
            .map(|(i, &x)| {
                let y = ((x as f64).min(hi) - lo) / (hi - lo);
                (
                    PAD + i as f64 / n as f64 * (W - PAD - 8.0),
                    (H - PAD) - y * (H - PAD - 20.0),
                )
            })
            .collect()
    };
    if let Some(old) = old.filter(|o| !o.is_empty()) {
        polyline(out, &line(old), BASE, true);
    }
    polyline(out, &line(new), NEW, false);
    out.push_str("</svg>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::verdict::Judge;
    use crate::judge::verdict::NewSummary;
    use perf_schema::record::TestId;
    use perf_schema::spec::{Kind, Spec};

    fn record(samples: Vec<u64>) -> Record {
        Record {
            samples_ns: samples,
            ..Record::new(
                TestId {
                    package: "p".into(),
                    target: "t".into(),
                    name: "a<b>".into(),
                    file: "tests/t.rs".into(),
                    line: 1,
                },
                Spec {
                    kind: Kind::Latency,
                    samples: Some(50),
                    ..Spec::MICRO
                },
                Status::Measured,
            )
        }
    }

    /// A latency test and a load test, each with its baseline, and a capacity search.
    fn page() -> String {
        let new = record((0..50).map(|i| 1_000 + i * 10).collect());
        let old = record((0..50).map(|i| 900 + i * 10).collect());
        let (load, load_base) = load_pair();
        let summary = Summary::new(
            0,
            1.0,
            "bench".into(),
            vec![TestResult::judge(new), TestResult::judge(load), searched()],
        );
        render(&summary, &[old, load_base])
    }

    /// A capacity search of a 400/s service: doubling from 50/s, then bisecting.
    fn searched() -> TestResult {
        let mut record = crate::report::load_md::tests::load_record();
        record.test.name = "checkout".into();
        record.spec.thresholds = vec![perf_schema::spec::Threshold::Percentile {
            percentile: 99.0,
            limit_ns: 50_000_000,
        }]
        .into();
        let step = |rate: f64| {
            let over = (rate - 404.0).max(0.0);
            perf_schema::summary::CapacityStep {
                rate_per_s: rate,
                passed: over == 0.0,
                iterations_per_s: rate.min(400.0),
                p95_ns: 11e6 + over * 2e6,
                p99_ns: 11.5e6 + over * 2.4e6,
                error_rate: 0.0,
                dropped_iterations: 0,
                generator_lag_p99_ns: Some(30e3),
                failures: Vec::new(),
            }
        };
        let rates = [
            50.0, 100.0, 200.0, 400.0, 800.0, 565.7, 475.7, 436.2, 417.7, 408.8, 404.3,
        ];
        let mut r = TestResult::judge(record);
        r.capacity = Some(perf_schema::summary::Capacity {
            range_per_s: [50.0, 1600.0],
            step_s: 2.0,
            held_per_s: Some(404.3),
            failed_per_s: Some(408.8),
            ended: perf_schema::summary::CapacityEnd::Found,
            steps: rates.into_iter().map(step).collect(),
        });
        r
    }

    #[test]
    fn the_page_opens_with_an_overview_and_draws_the_capacity_curve_with_ticks() {
        let html = page();
        let overview = html.find("class=\"overview\"").expect("overview table");
        assert!(overview < html.find("<section").expect("a section"));
        // Three rows, each linking to its section.
        assert_eq!(html.matches("<a href=\"#p-t-a-b-\">").count(), 1, "{html}");
        assert!(html.contains("id=\"p-t-a-b-\""));
        assert_eq!(html.matches("<tr><td><a href=").count(), 3, "{html}");
        assert!(html.contains("capacity 404.3/s: held there, failed at 408.8/s"));
        assert!(html.contains("throughput against offered rate"));
        assert!(html.contains("p99 limit 50.00ms"), "{html}");
        assert!(html.contains(">capacity 404/s</text>"));
        // Ticks with labels on every chart: 3 of the latency test, 4 time series of each load
        // test, 2 of the capacity search.
        let charts = html.matches("<svg").count();
        assert_eq!(charts, 13);
        assert!(
            html.matches("class=\"tick\"").count() >= 4 * charts,
            "{html}"
        );
    }

    /// A load test and its baseline: 20 % faster p95 over time, `login` p95 8 ms instead of 10.
    fn load_pair() -> (Record, Record) {
        let new = crate::report::load_md::tests::load_record();
        let mut old = new.clone();
        if let Some(l) = old.load.as_mut() {
            for t in &mut l.timeline {
                t.p95_ns = t.p95_ns.map(|v| v * 0.8);
            }
            l.requests_by_name[0].latency.p95_ns = 8e6;
        }
        (new, old)
    }

    #[test]
    fn a_load_test_shows_its_time_series_and_requests_with_the_baseline() {
        let (new, old) = load_pair();
        let summary = Summary::new(0, 1.0, "bench".into(), vec![TestResult::judge(new)]);
        let html = render(&summary, &[old]);
        // No raw samples for a load test: its four time-series charts only.
        assert_eq!(html.matches("<svg").count(), 4, "{html}");
        for title in [
            "iteration latency over time",
            "throughput over time",
            "users over time",
        ] {
            assert!(html.contains(title), "{title}");
        }
        // p95 and p50, throughput, users: for this run and the baseline each; memory for this
        // run (too short for a trend).
        assert_eq!(html.matches("<polyline").count(), 9, "{html}");
        assert!(html.contains("memory over time (test process)"));
        // Users from 0 to 2: ticks 0, 1, 2, each once.
        assert!(html.contains(">0</text>") && !html.contains(">0.5</text>"));
        assert_eq!(html.matches(&format!("stroke=\"{BASE}\"")).count(), 4);
        assert!(
            html.contains("<td>login</td><td>300</td><td>0</td>"),
            "{html}"
        );
        assert!(html.contains("<td>browse|all</td><td>300</td><td>3</td>"));
        assert!(html.contains("<td>8.000ms</td><td>+25.0 %</td>"), "{html}");
        // Dots on short series: 3 + 3 + 3 + 3 latency points, 3 + 3 rates, 4 + 4 user counts,
        // 3 memory readings.
        assert_eq!(html.matches("<circle").count(), 29, "{html}");
        assert!(!html.contains("<script"));
    }

    #[test]
    fn memory_over_time_draws_the_fitted_trend_and_the_watched_service() {
        let mut r = crate::report::load_md::tests::load_record();
        if let Some(l) = r.load.as_mut() {
            // 20 s: the test process flat at 10 MiB, the service growing 1 MiB a second.
            l.timeline = (1..=20u32)
                .map(|s| perf_schema::record::load::Tick {
                    t_s: f64::from(s),
                    rss_bytes: Some(10 << 20),
                    service: Some(perf_schema::record::load::ProcessTick {
                        rss_bytes: Some((40 + u64::from(s)) << 20),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect();
        }
        let summary = Summary::new(0, 1.0, "bench".into(), vec![TestResult::judge(r)]);
        let html = render(&summary, &[]);
        assert!(
            html.contains("memory over time (test process, service; service trend +3.5GiB/h)"),
            "{html}"
        );
        // The test process, the service and the dashed trend line through the minima.
        assert!(html.contains("stroke=\"#0f766e\""), "service line");
        assert!(
            html.contains("stroke=\"#15803d\" stroke-width=\"1.5\" stroke-dasharray"),
            "{html}"
        );
    }

    #[test]
    fn the_page_is_self_contained_and_overlays_the_baseline() {
        let new = record((0..50).map(|i| 1_000 + i * 10).collect());
        let old = record((0..50).map(|i| 900 + i * 10).collect());
        let summary = Summary::new(0, 1.0, "bench".into(), vec![TestResult::judge(new)]);
        let html = render(&summary, &[old]);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("a&lt;b&gt;"));
        assert_eq!(html.matches("<svg").count(), 3);
        assert!(html.contains(BASE), "baseline overlay");
        assert!(!html.contains("http://") || !html.contains("src=\"http"));
        assert!(!html.contains("<script"));
    }

    /// Renders the page in a real headless Chromium (Debian's `chromium` package, installed by
    /// `.ci/run`): the DOM must hold every chart and the load table, and a screenshot must be
    /// produced. Without a browser it is skipped, or fails under CI.
    #[test]
    fn the_page_renders_in_headless_chromium() {
        let browsers = ["chromium", "chromium-browser", "google-chrome"];
        let Some(browser) = browsers.into_iter().find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        }) else {
            crate::prerequisite::missing(
                &format!("no browser on PATH answers `--version` (tried {browsers:?})"),
                ".ci/run installs Debian's chromium",
                "`apt-get install -y chromium`",
            );
            return;
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("report.html");
        std::fs::write(&file, page()).expect("write");
        let profile = dir.path().join("profile");
        let shot = dir.path().join("shot.png");
        let run = |extra: &[String]| {
            std::process::Command::new(browser)
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--window-size=1280,900",
                ])
                .arg(format!("--user-data-dir={}", profile.display()))
                .args(extra)
                .arg(format!("file://{}", file.display()))
                .output()
                .expect("chromium runs")
        };
        let dom = run(&["--dump-dom".to_string()]);
        let text = String::from_utf8_lossy(&dom.stdout);
        // Three charts of the latency test, four time series of each load test, their tables,
        // the capacity curve and the overview.
        assert_eq!(text.matches("<svg").count(), 13, "{text}");
        assert!(text.contains("class=\"overview\""), "{text}");
        assert!(text.contains("throughput against offered rate"), "{text}");
        assert!(text.contains("<polyline"), "{text}");
        assert!(text.contains("throughput over time"), "{text}");
        assert!(text.contains("<td>login</td>"), "{text}");
        let out = run(&[format!("--screenshot={}", shot.display())]);
        let png = std::fs::read(&shot).unwrap_or_else(|e| {
            panic!(
                "no screenshot ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 5_000,
            "{} bytes",
            png.len()
        );
    }
}
