//! Exports for benchmark trackers: bencher's metric format and github-action-benchmark's
//! `customSmallerIsBetter` list. Both name a test `package::target::name`.

use perf_schema::record::Status;
use perf_schema::summary::{Summary, TestResult};
use serde_json::{json, Map, Value};

fn id(r: &TestResult) -> String {
    let t = &r.record.test;
    format!("{}::{}::{}", t.package, t.target, t.name)
}

/// Bencher Metric Format: `{ "<benchmark>": { "latency": { "value", "lower_value",
/// "upper_value" } } }` in nanoseconds (mean, with min and max as bounds), plus one measure per
/// percentile.
pub fn bmf(summary: &Summary) -> String {
    let mut root = Map::new();
    for r in &summary.results {
        let (Status::Measured, Some(s)) = (&r.record.status, &r.record.stats) else {
            continue;
        };
        let mut measures = Map::new();
        measures.insert(
            "latency".into(),
            json!({ "value": s.mean_ns, "lower_value": s.min_ns, "upper_value": s.max_ns }),
        );
        for (name, value) in [("p50", s.p50_ns), ("p95", s.p95_ns), ("p99", s.p99_ns)] {
            measures.insert(format!("latency-{name}"), json!({ "value": value }));
        }
        if let Some(t) = s.throughput_per_s {
            measures.insert("throughput".into(), json!({ "value": t }));
        }
        root.insert(id(r), Value::Object(measures));
    }
    serde_json::to_string_pretty(&Value::Object(root)).unwrap_or_default()
}

/// github-action-benchmark's `customSmallerIsBetter`: `[{ "name", "unit", "value", "range",
/// "extra" }]`, the headline statistic of each test in nanoseconds.
pub fn github_action_benchmark(summary: &Summary) -> String {
    let entries: Vec<Value> = summary
        .results
        .iter()
        .filter_map(|r| {
            let s = r.record.stats.as_ref()?;
            let metric = crate::judge::headline_metric(&r.record.spec);
            let value = match metric {
                crate::compare::Metric::Mean => s.mean_ns,
                crate::compare::Metric::Percentile { percentile } => {
                    s.percentile(percentile).unwrap_or(s.p50_ns)
                }
            };
            Some(json!({
                "name": format!("{} ({})", id(r), metric.key()),
                "unit": "ns",
                "value": value,
                "range": format!("± {:.1}", s.std_dev_ns),
                "extra": format!("{} samples, {} test", s.samples, r.record.spec.kind.as_str()),
            }))
        })
        .collect();
    serde_json::to_string_pretty(&entries).unwrap_or_default()
}
