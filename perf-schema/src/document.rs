//! Reading and writing the JSON documents: a reader checks the schema tag, migrates a v1
//! document to v2 on load (the only logic this crate holds beyond serde), refuses a newer
//! version or another kind by name; a writer replaces a file atomically.

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::schema::{parse_tag, VERSION};

/// A JSON document that could not be read as the expected schema.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Not JSON, or not the expected shape.
    #[error("{what} is not valid JSON for {expected}: {source}")]
    Malformed {
        /// What was being read (a file path or a description).
        what: String,
        /// The schema tag expected.
        expected: &'static str,
        /// The parser's complaint.
        source: serde_json::Error,
    },
    /// JSON with another schema tag: another kind of document, or none.
    #[error("{what} has schema `{found}`, but this cargo-perf reads `{expected}`; rerun with the cargo-perf and perf-harness versions that match, or delete the file")]
    Version {
        /// What was being read.
        what: String,
        /// The tag found (or `none`).
        found: String,
        /// The schema tag expected.
        expected: &'static str,
    },
    /// The expected kind of document, written by a newer cargo-perf.
    #[error("{what} has schema `{found}`, written by a newer cargo-perf; this one reads up to `{expected}`: upgrade cargo-perf (and perf-harness) to read it, or delete the file")]
    Newer {
        /// What was being read.
        what: String,
        /// The tag found.
        found: String,
        /// The newest tag of that kind this build reads.
        expected: &'static str,
    },
}

/// Parses `text` as a document tagged `expected`: the current version as is, v1 migrated to the
/// current version first; another kind, an unknown tag or a newer version is refused by name.
pub fn parse_versioned<T: DeserializeOwned>(
    text: &str,
    expected: &'static str,
    what: &str,
) -> Result<T, SchemaError> {
    let malformed = |source| SchemaError::Malformed {
        what: what.to_string(),
        expected,
        source,
    };
    let mut value: Value = serde_json::from_str(text).map_err(malformed)?;
    let found = value
        .get("schema")
        .and_then(|s| s.as_str())
        .unwrap_or("none")
        .to_string();
    let refuse = || SchemaError::Version {
        what: what.to_string(),
        found: found.clone(),
        expected,
    };
    let (Some((kind, version)), Some((expected_kind, _))) =
        (parse_tag(&found), parse_tag(expected))
    else {
        return Err(refuse());
    };
    match version {
        _ if kind != expected_kind => return Err(refuse()),
        VERSION => {}
        1 => migrate_v1(&mut value),
        v if v > VERSION => {
            return Err(SchemaError::Newer {
                what: what.to_string(),
                found,
                expected,
            })
        }
        _ => return Err(refuse()),
    }
    serde_json::from_value(value).map_err(malformed)
}

/// Rewrites a v1 document (and every document nested in it) as v2: a verdict's `measured_ns`
/// becomes `measured` with the unit of its threshold; a comparison's `base_ns`/`new_ns` become
/// `base`/`new` with `ns`, or `count` for an exact comparison of counts.
fn migrate_v1(value: &mut Value) {
    match value {
        Value::Object(map) => {
            retag(map);
            if map.contains_key("threshold") {
                rename(map, "measured_ns", "measured");
                let unit = map
                    .get("threshold")
                    .and_then(|t| t.get("metric"))
                    .and_then(|m| m.as_str())
                    .map(unit_of_metric);
                if let Some(unit) = unit {
                    map.insert("unit".into(), unit.into());
                }
            }
            if map.contains_key("base_ns") && map.contains_key("method") {
                rename(map, "base_ns", "base");
                rename(map, "new_ns", "new");
                let exact = map.get("method").and_then(|m| m.as_str()) == Some("exact");
                map.insert("unit".into(), if exact { "count" } else { "ns" }.into());
            }
            map.values_mut().for_each(migrate_v1);
        }
        Value::Array(items) => items.iter_mut().for_each(migrate_v1),
        _ => {}
    }
}

/// `cargo-perf/<kind>/v1` → `cargo-perf/<kind>/v2` for the document and every nested record.
fn retag(map: &mut Map<String, Value>) {
    let Some(Value::String(tag)) = map.get_mut("schema") else {
        return;
    };
    if let Some((kind, 1)) = parse_tag(tag) {
        *tag = format!("cargo-perf/{kind}/v{VERSION}");
    }
}

fn rename(map: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(v) = map.remove(from) {
        map.insert(to.into(), v);
    }
}

/// The unit (its JSON spelling) of a v1 threshold's `metric`.
fn unit_of_metric(metric: &str) -> &'static str {
    match metric {
        "max_queries" | "n_plus_one" => "count",
        "error_rate" => "fraction",
        "throughput" => "per_s",
        "rss" => "bytes",
        "cpu" => "percent",
        _ => "ns",
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a rename,
/// so a reader never sees half a file and an interrupted run never destroys the old one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_then_rename(path, bytes, true)
}

/// Replaces `path` with `bytes` atomically for its readers (a temporary file renamed over it)
/// but without waiting for the disk: for files rewritten every second that need not survive a
/// crash (the live progress line).
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_then_rename(path, bytes, false)
}

/// Writes a temporary file beside `path` (synced when `durable`) and renames it over `path`.
fn write_then_rename(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let file_name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{} is not a file path", path.display())))?;
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

// The migration tests read summaries, baselines and histories too.
#[cfg(all(test, feature = "reports"))]
mod tests {
    use super::*;
    use crate::record::{MachineState, Record, Stats, Status, TestId, RECORD_SCHEMA};
    use crate::spec::{Kind, Spec, Threshold};
    use crate::unit::Unit;
    use std::borrow::Cow;

    fn record(stats: Option<Stats>, thresholds: &'static [Threshold]) -> Record {
        let test = TestId {
            package: "p".into(),
            target: "t".into(),
            name: "m::f".into(),
            file: "tests/a.rs".into(),
            line: 3,
        };
        let spec = Spec {
            kind: Kind::Latency,
            thresholds: Cow::Borrowed(thresholds),
            samples: Some(10),
            ..Spec::MICRO
        };
        let status = if stats.is_some() {
            Status::Measured
        } else {
            Status::Failed {
                message: "boom".into(),
            }
        };
        Record {
            stats,
            ..Record::new(test, spec, status)
        }
    }

    fn stats(p95: f64) -> Stats {
        Stats {
            samples: 10,
            mean_ns: 10.0,
            std_dev_ns: 1.0,
            min_ns: 1.0,
            p50_ns: 10.0,
            p75_ns: 12.0,
            p90_ns: 14.0,
            p95_ns: p95,
            p99_ns: 30.0,
            p999_ns: 40.0,
            max_ns: 50.0,
            throughput_per_s: None,
        }
    }

    const P95_20: &[Threshold] = &[
        Threshold::Percentile {
            percentile: 95.0,
            limit_ns: 20,
        },
        Threshold::Max { limit_ns: 50 },
    ];

    #[test]
    fn records_round_trip_and_foreign_versions_are_refused() {
        let r = record(Some(stats(20.0)), P95_20);
        let text = serde_json::to_string(&r).expect("serializes");
        let back: Record = parse_versioned(&text, RECORD_SCHEMA, "r.json").expect("reads");
        assert_eq!(back, r);
        let v3 = text.replace("cargo-perf/record/v2", "cargo-perf/record/v3");
        let err = parse_versioned::<Record>(&v3, RECORD_SCHEMA, "r.json").expect_err("v3");
        assert!(
            err.to_string().starts_with(
                "r.json has schema `cargo-perf/record/v3`, written by a newer cargo-perf"
            ),
            "{err}"
        );
        let other = text.replace("cargo-perf/record/v2", "cargo-perf/summary/v2");
        let err = parse_versioned::<Record>(&other, RECORD_SCHEMA, "r.json").expect_err("kind");
        assert!(
            err.to_string()
                .contains("but this cargo-perf reads `cargo-perf/record/v2`"),
            "{err}"
        );
        let err = parse_versioned::<Record>("{", RECORD_SCHEMA, "r.json").expect_err("junk");
        assert!(
            err.to_string().starts_with("r.json is not valid JSON"),
            "{err}"
        );
    }

    #[test]
    fn the_machine_state_is_optional_so_older_records_still_read() {
        let mut r = record(Some(stats(20.0)), P95_20);
        let old = serde_json::to_string(&r).expect("serializes");
        assert!(!old.contains("machine_state") && !old.contains("build_hash"));
        let back: Record = parse_versioned(&old, RECORD_SCHEMA, "r.json").expect("reads");
        assert_eq!((back.machine_state, back.build_hash), (None, None));
        r.machine_state = Some(MachineState {
            load_avg_1m_start: Some(0.25),
            load_avg_1m_end: None,
            other_cpu_cores: Some(1.5),
            test_cpu_cores: Some(0.75),
            window_s: 0.5,
        });
        r.build_hash = Some("85944171f73967e8".into());
        let text = serde_json::to_string(&r).expect("serializes");
        assert!(
            text.contains(r#""other_cpu_cores":1.5"#) && !text.contains("load_avg_1m_end"),
            "{text}"
        );
        let back: Record = parse_versioned(&text, RECORD_SCHEMA, "r.json").expect("reads");
        assert_eq!(back, r);
    }

    #[test]
    fn atomic_write_replaces_the_whole_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b/summary.json");
        write_atomic(&path, b"first").expect("write");
        write_atomic(&path, b"second").expect("write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "second");
        let leftovers = std::fs::read_dir(path.parent().expect("dir"))
            .expect("ls")
            .count();
        assert_eq!(leftovers, 1);
    }

    /// Each document kind as the build before schema v2 wrote it (see testdata/v1/README.md).
    const V1: [(&str, &str); 5] = [
        (
            include_str!("../testdata/v1/list.json"),
            crate::schema::LIST,
        ),
        (
            include_str!("../testdata/v1/record.json"),
            crate::schema::RECORD,
        ),
        (
            include_str!("../testdata/v1/summary.json"),
            crate::schema::SUMMARY,
        ),
        (
            include_str!("../testdata/v1/baseline.json"),
            crate::schema::BASELINE,
        ),
        (
            include_str!("../testdata/v1/history.json"),
            crate::schema::HISTORY,
        ),
    ];

    /// Parses as `T`, writes it back, and checks the copy is v2 and reads back equal.
    fn migrates<T>(text: &str, tag: &'static str) -> T
    where
        T: DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
    {
        let doc: T = parse_versioned(text, tag, "v1 file").unwrap_or_else(|e| panic!("{e}"));
        let again = serde_json::to_string(&doc).expect("serializes");
        assert!(
            again.starts_with(&format!(r#"{{"schema":"{tag}""#)),
            "{again:.80}"
        );
        assert!(!again.contains("/v1\"") && !again.contains("_ns\":null"));
        let back: T = parse_versioned(&again, tag, "v2 copy").expect("reads its own output");
        assert_eq!(back, doc);
        doc
    }

    #[test]
    fn every_v1_document_of_the_previous_build_reads_as_v2() {
        use crate::{baseline::Baseline, history::History, record::TestList, summary::Summary};
        let [list, record, summary, baseline, history] = V1;
        let list: TestList = migrates(list.0, list.1);
        assert_eq!(list.tests[0].spec.thresholds.len(), 2);
        let record: Record = migrates(record.0, record.1);
        assert_eq!(record.queries.as_ref().map(|q| q.max_per_call), Some(1));
        let baseline: Baseline = migrates(baseline.0, baseline.1);
        assert_eq!((baseline.name.as_str(), baseline.records.len()), ("v1", 5));
        assert!(baseline.records.iter().all(|r| r.schema == RECORD_SCHEMA));
        let history: History = migrates(history.0, history.1);
        assert_eq!(history.tests.len(), 5);

        // The verdicts and comparisons got their units, their values unchanged.
        let summary: Summary = migrates(summary.0, summary.1);
        let list_items = &summary.results[0];
        assert_eq!(list_items.record.test.name, "list_items");
        let units: Vec<_> = list_items
            .verdicts
            .iter()
            .map(|v| (v.measured, v.unit))
            .collect();
        assert_eq!(
            units,
            [
                (Some(378_623.0), Unit::Nanoseconds),
                (Some(1.0), Unit::Count)
            ]
        );
        let timing = list_items.comparison.as_ref().expect("compared");
        assert_eq!(
            (timing.base, timing.new, timing.unit),
            (145_636.0, 260_666.0, Unit::Nanoseconds)
        );
        let count = &list_items.counts[0];
        assert_eq!((count.base, count.new, count.unit), (1.0, 1.0, Unit::Count));
    }

    #[test]
    fn a_v1_verdict_takes_the_unit_of_its_threshold() {
        for (metric, unit) in [
            (r#"{"metric":"mean","limit_ns":5}"#, Unit::Nanoseconds),
            (r#"{"metric":"n_plus_one"}"#, Unit::Count),
            (r#"{"metric":"error_rate","max":0.01}"#, Unit::Fraction),
            (
                r#"{"metric":"throughput","min_per_s":50.0}"#,
                Unit::PerSecond,
            ),
            (r#"{"metric":"rss","max_bytes":1048576}"#, Unit::Bytes),
            (r#"{"metric":"cpu","max_percent":80.0}"#, Unit::Percent),
        ] {
            let mut v: Value = serde_json::from_str(&format!(
                r#"{{"threshold":{metric},"measured_ns":0.5,"passed":true}}"#
            ))
            .expect("json");
            migrate_v1(&mut v);
            let verdict: crate::summary::Verdict = serde_json::from_value(v).expect("a v2 verdict");
            assert_eq!(
                (verdict.measured, verdict.unit),
                (Some(0.5), unit),
                "{metric}"
            );
            assert_eq!(verdict.threshold.unit(), unit);
        }
    }
}
