//! Shards: each shard runs its part, and merging the shards gives the whole load.

use serde_json::Value;

use crate::support::{cargo_perf, cargo_perf_in, fixtures, json, result, stderr};
#[test]
fn shards_run_their_part_and_merge_into_the_whole_load() {
    let dirs: Vec<tempfile::TempDir> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let path = |i: usize| dirs[i].path().to_str().expect("utf-8").to_string();
    let mut shards = Vec::new();
    for (i, shard) in ["1/2", "2/2"].iter().enumerate() {
        let out = cargo_perf(&[
            "-p",
            "fixture-load",
            "--exact",
            "passes",
            "fails_on_5xx",
            "--shard",
            shard,
            "--format",
            "json",
            "--report-dir",
            &path(i),
        ]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "fails_on_5xx fails: {}",
            stderr(&out)
        );
        let summary = json(&out);
        assert_eq!(summary["shard"]["index"], i + 1, "{summary:#}");
        let load = &result(&summary, "passes")["record"]["load"];
        assert_eq!(load["peak_users"], 1, "2 users split in 2: {load:#}");
        assert_eq!(load["shard"]["share"], 0.5);
        shards.push(summary);
    }
    let requests = |s: &Value, name: &str| {
        result(s, name)["record"]["load"]["requests"]
            .as_u64()
            .expect("requests")
    };

    let merged = cargo_perf_in(
        &fixtures(),
        &[
            "merge",
            &path(0),
            &path(1),
            "--format",
            "json",
            "--report-dir",
            &path(2),
        ],
    );
    assert_eq!(
        merged.status.code(),
        Some(1),
        "a failed threshold fails the merge: {}",
        stderr(&merged)
    );
    let m = json(&merged);
    assert_eq!(m["merged_shards"], 2);
    for name in ["passes", "fails_on_5xx"] {
        assert_eq!(
            requests(&m, name),
            requests(&shards[0], name) + requests(&shards[1], name),
            "{name}"
        );
    }
    let passes = result(&m, "passes");
    assert_eq!(passes["outcome"], "pass", "{passes:#}");
    assert_eq!(passes["record"]["load"]["peak_users"], 2);
    let ok = &passes["record"]["load"]["requests_by_name"][0];
    assert_eq!(ok["latency"]["count"], ok["requests"]);
    assert_eq!(result(&m, "fails_on_5xx")["outcome"], "fail");
    let md = std::fs::read_to_string(dirs[2].path().join("summary.md")).expect("summary.md");
    assert!(md.contains("merged from 2 shards"), "{md}");
    assert!(md.contains("### Load tests\n"), "{md}");
    assert!(md.contains("| `ok` | "), "{md}");

    // Shards that do not make a whole are refused, naming the problem.
    let missing = cargo_perf_in(&fixtures(), &["merge", &path(0), "--report-dir", &path(2)]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("shard 2/2 missing"),
        "{}",
        stderr(&missing)
    );
    let twice = cargo_perf_in(
        &fixtures(),
        &[
            "merge",
            &path(0),
            &path(0),
            &path(1),
            "--report-dir",
            &path(2),
        ],
    );
    assert_eq!(twice.status.code(), Some(2));
    assert!(
        stderr(&twice).contains("shard 1/2 is given twice"),
        "{}",
        stderr(&twice)
    );
    let bad = cargo_perf(&["-p", "fixture-load", "--shard", "3/2", "--list"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--shard I/N"), "{}", stderr(&bad));
}
