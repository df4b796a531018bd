//! Criterion-compatible files for perf tests that criterion did not measure (latency, database
//! and load tests), so critcmp, bencher's criterion adapter and other criterion readers see them
//! too: `target/criterion/<package>/<target>/<test>/new/{estimates,sample,benchmark}.json`.
//!
//! A load test's record keeps histograms rather than every iteration: its files describe up to
//! 1 000 values at evenly spaced ranks of the iterations' histogram.
//!
//! Micro-benchmarks are skipped: criterion writes its own files for them and we never write
//! inside its folders.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::compare::{bootstrap_median, median};
use perf_schema::criterion::{benchmark_dir, filename_safe};
use perf_schema::document::write_atomic;
use perf_schema::histogram::{decode_histogram, quantile_sample};
use perf_schema::record::{Record, Status};
use perf_schema::spec::Kind;
use perf_schema::summary::Summary;
use serde_json::{json, Value};

use crate::error::PerfError;

/// Writes the files of every measured non-criterion test into `new/`, and into `<baseline>/`
/// too when the run is saved as a named baseline (critcmp compares those folders by name).
pub fn write_all(
    summary: &Summary,
    criterion_home: &Path,
    baseline: Option<&str>,
) -> Result<(), PerfError> {
    let folders: Vec<&str> = std::iter::once("new")
        .chain(baseline.filter(|b| is_folder_name(b)))
        .collect();
    for r in &summary.results {
        if r.record.spec.kind == Kind::Micro || r.record.status != Status::Measured {
            continue;
        }
        let samples = match samples_of(&r.record) {
            Ok(s) if s.is_empty() => continue,
            Ok(s) => s,
            Err(e) => {
                // The summary already holds the measurement; only this copy for criterion's
                // readers is lost, so say so and go on.
                eprintln!(
                    "warning: no criterion files for {}: its iteration histogram {e}",
                    r.record.test.name
                );
                continue;
            }
        };
        for folder in &folders {
            write_one(&r.record, &samples, criterion_home, folder)?;
        }
    }
    Ok(())
}

/// A baseline given as a plain name (not a path) becomes a criterion baseline folder too.
fn is_folder_name(name: &str) -> bool {
    !name.is_empty()
        && !name.ends_with(".json")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.')
        && name != "new"
}

/// The benchmark directory of a record: the same layout as criterion's for micro-benchmarks.
pub fn directory(record: &Record, criterion_home: &Path) -> PathBuf {
    let t = &record.test;
    benchmark_dir(criterion_home, &[&t.package, &t.target, &t.name])
}

/// Most values a load test's `sample.json` gets from its iteration histogram.
const LOAD_SAMPLE_POINTS: usize = 1_000;

/// The per-call times criterion's files describe: the raw samples, or for a load test (whose
/// record keeps histograms, not every iteration) up to 1 000 values at evenly spaced ranks of
/// its iterations' histogram, so the estimates and the sample follow its distribution.
fn samples_of(record: &Record) -> Result<Cow<'_, [u64]>, String> {
    match &record.load {
        Some(load) if record.samples_ns.is_empty() => {
            let h = decode_histogram(&load.iteration.histogram)?;
            Ok(Cow::Owned(quantile_sample(&h, LOAD_SAMPLE_POINTS)))
        }
        _ => Ok(Cow::Borrowed(&record.samples_ns)),
    }
}

fn write_one(
    record: &Record,
    samples_ns: &[u64],
    criterion_home: &Path,
    baseline: &str,
) -> Result<(), PerfError> {
    let dir = directory(record, criterion_home).join(baseline);
    let write = |name: &str, value: &Value| {
        let path = dir.join(name);
        let bytes = serde_json::to_vec(value).unwrap_or_default();
        write_atomic(&path, &bytes).map_err(|source| PerfError::Write { path, source })
    };
    write("estimates.json", &estimates(samples_ns))?;
    write("sample.json", &sample(samples_ns))?;
    write("benchmark.json", &benchmark(record))?;
    Ok(())
}

fn estimate(point: f64, (lo, hi): (f64, f64), standard_error: f64) -> Value {
    json!({
        "confidence_interval": {
            "confidence_level": 0.95,
            "lower_bound": lo,
            "upper_bound": hi,
        },
        "point_estimate": point,
        "standard_error": standard_error,
    })
}

/// Criterion's `estimates.json` from raw per-call times: the mean with a normal interval, the
/// median with a bootstrap interval, the standard deviation and the median absolute deviation
/// (scaled by 1.4826 as criterion does). `slope` is null: every sample is one call.
pub fn estimates(samples_ns: &[u64]) -> Value {
    let v: Vec<f64> = samples_ns.iter().map(|&s| s as f64).collect();
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    let sd = var.sqrt();
    let se = sd / n.sqrt();
    let med = median(&v);
    let med_ci = bootstrap_median(&v, 1_000);
    let deviations: Vec<f64> = v.iter().map(|x| (x - med).abs()).collect();
    let mad = median(&deviations) * 1.4826;
    json!({
        "mean": estimate(mean, (mean - 1.96 * se, mean + 1.96 * se), se),
        "median": estimate(med, med_ci, (med_ci.1 - med_ci.0) / 3.92),
        "median_abs_dev": estimate(mad, (mad, mad), 0.0),
        "slope": null,
        "std_dev": estimate(sd, (sd, sd), 0.0),
    })
}

/// Criterion's `sample.json` in flat mode: one iteration per sample.
pub fn sample(samples_ns: &[u64]) -> Value {
    json!({
        "sampling_mode": "Flat",
        "iters": samples_ns.iter().map(|_| 1.0).collect::<Vec<f64>>(),
        "times": samples_ns.iter().map(|&s| s as f64).collect::<Vec<f64>>(),
    })
}

/// Criterion's `benchmark.json`: group = package, function = target, value = test, as the
/// micro engine names criterion's benchmarks.
pub fn benchmark(record: &Record) -> Value {
    let t = &record.test;
    let full_id = format!("{}/{}/{}", t.package, t.target, t.name);
    let directory_name = [&t.package, &t.target, &t.name]
        .iter()
        .map(|p| filename_safe(p))
        .collect::<Vec<_>>()
        .join("/");
    json!({
        "group_id": t.package,
        "function_id": t.target,
        "value_str": t.name,
        "throughput": null,
        "full_id": full_id,
        "directory_name": directory_name,
        "title": full_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::judge::verdict::Judge;
    use crate::judge::verdict::NewSummary;
    use perf_schema::criterion::{read_estimates, read_sample_times};
    use perf_schema::record::TestId;
    use perf_schema::spec::Spec;
    use perf_schema::summary::TestResult;

    fn latency_record() -> Record {
        Record {
            samples_ns: vec![100, 200, 300, 400, 500],
            ..Record::new(
                TestId {
                    package: "shop".into(),
                    target: "api".into(),
                    name: "routes::browse_media".into(),
                    file: "tests/api.rs".into(),
                    line: 9,
                },
                Spec {
                    kind: Kind::Latency,
                    samples: Some(5),
                    ..Spec::MICRO
                },
                Status::Measured,
            )
        }
    }

    #[test]
    fn latency_tests_get_files_criterion_readers_parse() {
        let home = tempfile::tempdir().expect("tempdir");
        let summary = Summary::new(
            0,
            1.0,
            "bench".into(),
            vec![TestResult::judge(latency_record())],
        );
        write_all(&summary, home.path(), Some("main")).expect("written");
        let dir = home.path().join("shop/api/routes__browse_media");
        assert!(
            dir.join("main/estimates.json").exists(),
            "named baseline folder"
        );
        // Our own reader of criterion's files is the golden-tested one.
        let est = read_estimates(&dir).expect("criterion-shaped estimates");
        assert_eq!(est.mean.point_estimate, 300.0);
        assert_eq!(est.median.point_estimate, 300.0);
        assert!(est.slope.is_none());
        assert_eq!(
            read_sample_times(&dir).expect("criterion-shaped samples"),
            vec![100, 200, 300, 400, 500]
        );
        let bench: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("new/benchmark.json")).expect("benchmark.json"),
        )
        .expect("json");
        assert_eq!(bench["full_id"], "shop/api/routes::browse_media");
        assert_eq!(bench["directory_name"], "shop/api/routes__browse_media");
    }

    #[test]
    fn load_tests_get_files_from_their_iteration_histogram() {
        use perf_schema::histogram::{encode_histogram, histogram_of};
        let home = tempfile::tempdir().expect("tempdir");
        let mut r = crate::report::load_md::tests::load_record();
        // 2 000 iterations of 1..=2000 ns: the file keeps 1 000 values at ranks 1, 3, 5, …
        let iterations: Vec<u64> = (1..=2_000).collect();
        let load = r.load.as_mut().expect("load");
        load.iteration.histogram = encode_histogram(&histogram_of(&iterations)).expect("v2");
        let summary = Summary::new(0, 1.0, "bench".into(), vec![TestResult::judge(r.clone())]);
        write_all(&summary, home.path(), None).expect("written");
        let dir = directory(&r, home.path());
        let times = read_sample_times(&dir).expect("criterion-shaped samples");
        // 3 significant digits: values above 1 024 sit in 2 ns buckets.
        assert_eq!(times.len(), 1_000);
        assert_eq!(&times[..3], &[2, 4, 6]);
        assert_eq!(times[499], 1_000);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        let est = read_estimates(&dir).expect("criterion-shaped estimates");
        assert!(
            (est.median.point_estimate - 1_001.0).abs() <= 2.0,
            "{}",
            est.median.point_estimate
        );

        // A histogram that does not decode costs only this copy: no files, no error.
        let mut broken = r;
        broken.load.as_mut().expect("load").iteration.histogram = "not base64!".into();
        let other = tempfile::tempdir().expect("tempdir");
        let summary = Summary::new(0, 1.0, "bench".into(), vec![TestResult::judge(broken)]);
        write_all(&summary, other.path(), None).expect("a warning, not an error");
        assert_eq!(std::fs::read_dir(other.path()).expect("ls").count(), 0);
    }

    #[test]
    fn micro_benchmarks_are_left_to_criterion() {
        let home = tempfile::tempdir().expect("tempdir");
        let mut r = latency_record();
        r.spec.kind = Kind::Micro;
        let summary = Summary::new(0, 1.0, "bench".into(), vec![TestResult::judge(r)]);
        write_all(&summary, home.path(), None).expect("written");
        assert_eq!(std::fs::read_dir(home.path()).expect("ls").count(), 0);
        assert!(!is_folder_name("x/y.json") && !is_folder_name("new") && is_folder_name("main"));
    }
}
