//! Reading criterion's output files (`estimates.json`, `sample.json`), which are its only results.
//!
//! The serde types are tolerant: unknown fields are ignored and only what we use is required,
//! so a criterion patch release that adds fields does not break us. The golden-file tests below
//! hold a file written by the pinned criterion version.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Criterion's confidence interval of an estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfidenceInterval {
    /// e.g. 0.95.
    pub confidence_level: f64,
    /// Lower bound, nanoseconds.
    pub lower_bound: f64,
    /// Upper bound, nanoseconds.
    pub upper_bound: f64,
}

/// One criterion estimate (bootstrap point estimate with its interval).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The interval.
    pub confidence_interval: ConfidenceInterval,
    /// The point estimate, nanoseconds.
    pub point_estimate: f64,
    /// Its standard error, nanoseconds.
    pub standard_error: f64,
}

/// The estimates criterion wrote for one benchmark, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionEstimates {
    /// Mean time per iteration.
    pub mean: Estimate,
    /// Median time per iteration.
    pub median: Estimate,
    /// Median absolute deviation.
    pub median_abs_dev: Estimate,
    /// Standard deviation.
    pub std_dev: Estimate,
    /// Linear-regression slope (only in linear sampling mode).
    #[serde(default)]
    pub slope: Option<Estimate>,
    /// The benchmark's directory, e.g. `target/criterion/mediashelf/catalogue/search`.
    #[serde(default)]
    pub directory: String,
}

#[derive(Deserialize)]
struct SavedSample {
    iters: Vec<f64>,
    times: Vec<f64>,
}

/// Criterion's rule for turning an id into a directory name (criterion `report::make_filename_safe`).
pub fn filename_safe(id: &str) -> String {
    let mut s = id.replace(['?', '"', '/', '\\', '*', '<', '>', ':', '|', '^'], "_");
    let mut boundary = s.len().min(64);
    while !s.is_char_boundary(boundary) {
        boundary -= 1;
    }
    s.truncate(boundary);
    if cfg!(windows) {
        s = s.trim_end().to_lowercase();
    }
    s
}

/// Where criterion keeps a benchmark id's parts (`group/function/value`), each made filename-safe.
pub fn benchmark_dir(home: &Path, parts: &[&str]) -> PathBuf {
    parts.iter().fold(home.to_path_buf(), |dir, part| {
        dir.join(filename_safe(part))
    })
}

/// Reads `<dir>/new/estimates.json`.
pub fn read_estimates(dir: &Path) -> Result<CriterionEstimates, String> {
    let path = dir.join("new").join("estimates.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "criterion wrote no estimates at {} ({e}); was the benchmark body empty?",
            path.display()
        )
    })?;
    let mut est: CriterionEstimates = serde_json::from_str(&text)
        .map_err(|e| format!("cannot read criterion's {}: {e}", path.display()))?;
    est.directory = dir.display().to_string();
    Ok(est)
}

/// Reads `<dir>/new/sample.json` as the per-iteration time of each sample, in nanoseconds.
pub fn read_sample_times(dir: &Path) -> Result<Vec<u64>, String> {
    let path = dir.join("new").join("sample.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("criterion wrote no samples at {} ({e})", path.display()))?;
    let sample: SavedSample = serde_json::from_str(&text)
        .map_err(|e| format!("cannot read criterion's {}: {e}", path.display()))?;
    Ok(sample
        .iters
        .iter()
        .zip(&sample.times)
        .filter(|(iters, _)| **iters > 0.0)
        .map(|(iters, time)| (time / iters).round().max(1.0) as u64)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by criterion 0.8.2 for a real benchmark; keep in step with the pinned version.
    const GOLDEN_ESTIMATES: &str = include_str!("../testdata/criterion-0.8/estimates.json");
    const GOLDEN_SAMPLE: &str = include_str!("../testdata/criterion-0.8/sample.json");
    const GOLDEN_BENCHMARK: &str = include_str!("../testdata/criterion-0.8/benchmark.json");

    fn golden_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let new = dir.path().join("g/f/new");
        std::fs::create_dir_all(&new).expect("mkdir");
        std::fs::write(new.join("estimates.json"), GOLDEN_ESTIMATES).expect("write");
        std::fs::write(new.join("sample.json"), GOLDEN_SAMPLE).expect("write");
        dir
    }

    #[test]
    fn golden_estimates_parse_with_their_intervals() {
        let dir = golden_dir();
        let est = read_estimates(&dir.path().join("g/f")).expect("golden file parses");
        assert!(est.mean.point_estimate > 0.0);
        assert!(est.mean.confidence_interval.lower_bound <= est.mean.point_estimate);
        assert!(est.mean.point_estimate <= est.mean.confidence_interval.upper_bound);
        assert_eq!(est.mean.confidence_interval.confidence_level, 0.95);
        assert!(est.directory.ends_with("g/f"), "{}", est.directory);
    }

    #[test]
    fn golden_samples_are_per_iteration_times() {
        let dir = golden_dir();
        let times = read_sample_times(&dir.path().join("g/f")).expect("golden file parses");
        let raw: serde_json::Value = serde_json::from_str(GOLDEN_SAMPLE).expect("json");
        let iters = raw["iters"].as_array().expect("iters");
        let total = raw["times"].as_array().expect("times");
        assert_eq!(times.len(), iters.len());
        let want = (total[0].as_f64().expect("f64") / iters[0].as_f64().expect("f64")).round();
        assert_eq!(times[0] as f64, want.max(1.0));
    }

    #[test]
    fn directory_names_follow_criterion() {
        let raw: serde_json::Value = serde_json::from_str(GOLDEN_BENCHMARK).expect("json");
        let group = raw["group_id"].as_str().expect("group");
        let function = raw["function_id"].as_str().expect("function");
        let want = raw["directory_name"].as_str().expect("dir");
        let got = benchmark_dir(Path::new(""), &[group, function]);
        assert_eq!(got.to_string_lossy(), want);
        assert_eq!(filename_safe("a::b/c?d"), "a__b_c_d");
        assert_eq!(filename_safe(&"x".repeat(80)).len(), 64);
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let err = read_estimates(Path::new("/nonexistent/g/f")).expect_err("missing");
        assert!(err.contains("/nonexistent/g/f/new/estimates.json"), "{err}");
    }
}
