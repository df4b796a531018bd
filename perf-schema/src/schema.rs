//! Schema tags: each file or JSON document cargo-perf writes starts with
//! `"schema": "cargo-perf/<kind>/vN"`; readers migrate older versions they know and refuse a
//! newer one, naming the file (the `document` module reads them).

/// The version every tag below carries. v2 (cargo-perf 0.1, December 2026) gave every measured
/// value its unit: a verdict's `measured` + `unit` (was `measured_ns`, which also held counts,
/// rates and bytes), a comparison's `base`/`new` + `unit` (was `base_ns`/`new_ns`).
pub const VERSION: u32 = 2;

/// A test binary's list of its perf tests (answer to `CARGO_PERF_MODE=list`).
pub const LIST: &str = "cargo-perf/list/v2";
/// One test's record (answer to `CARGO_PERF_MODE=run`).
pub const RECORD: &str = "cargo-perf/record/v2";
/// A run's summary (`summary.json`, `--format json`).
pub const SUMMARY: &str = "cargo-perf/summary/v2";
/// A saved baseline (`--save-baseline`, `target/criterion/cargo-perf/baselines/*.json`).
pub const BASELINE: &str = "cargo-perf/baseline/v2";
/// The run-to-run history of each test (`target/criterion/cargo-perf/history.json`).
pub const HISTORY: &str = "cargo-perf/history/v2";

/// The parts of a tag: `cargo-perf/summary/v2` is `("summary", 2)`; `None` for anything else.
pub fn parse_tag(tag: &str) -> Option<(&str, u32)> {
    let rest = tag.strip_prefix("cargo-perf/")?;
    let (kind, version) = rest.rsplit_once('/')?;
    let version = version.strip_prefix('v')?.parse().ok()?;
    (!kind.is_empty() && !kind.contains('/')).then_some((kind, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tag_is_this_version_and_parses() {
        for (tag, kind) in [
            (LIST, "list"),
            (RECORD, "record"),
            (SUMMARY, "summary"),
            (BASELINE, "baseline"),
            (HISTORY, "history"),
        ] {
            assert_eq!(parse_tag(tag), Some((kind, VERSION)));
        }
        assert_eq!(parse_tag("cargo-perf/summary/v13"), Some(("summary", 13)));
        for bad in [
            "",
            "summary/v2",
            "cargo-perf/summary",
            "cargo-perf/a/b/v2",
            "cargo-perf/x/2",
        ] {
            assert_eq!(parse_tag(bad), None, "{bad}");
        }
    }
}
