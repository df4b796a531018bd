//! Shards: each shard runs its part, and merging the shards gives the whole load.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::{
    cargo_perf, cargo_perf_command, cargo_perf_env, cargo_perf_in, fixtures, json, merge_shards,
    read_json, result, run_shard, stderr, SharedService,
};
#[test]
fn shards_run_their_part_and_merge_into_the_whole_load() {
    let dirs: Vec<tempfile::TempDir> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let path = |i: usize| dirs[i].path().to_str().expect("utf-8").to_string();
    let mut shards = Vec::new();
    for (i, shard) in ["1/2", "2/2"].iter().enumerate() {
        let out = run_shard(
            "fixture-load",
            &["passes", "fails_on_5xx"],
            shard,
            dirs[i].path(),
        );
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

    let merged = merge_shards(&[dirs[0].path(), dirs[1].path()], dirs[2].path());
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

/// docs/shards.md, whose recipes the tests below run.
fn recipe() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/shards.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// The one line of the recipe that contains `marker`, without what comes before `from`.
fn recipe_line(doc: &str, marker: &str, from: &str) -> String {
    let lines: Vec<&str> = doc.lines().filter(|l| l.contains(marker)).collect();
    assert_eq!(lines.len(), 1, "one line with {marker:?} in docs/shards.md");
    let at = lines[0].find(from).expect("prefix");
    lines[0][at..].to_string()
}

/// The arguments after `cargo perf` of a Kubernetes `command: [...]` line.
fn k8s_args(line: &str) -> Vec<String> {
    let array = line.trim_start_matches("command:").trim();
    let words: Vec<String> = serde_json::from_str(array).expect("command is a JSON-style array");
    assert_eq!(words[..2], ["cargo", "perf"], "{words:?}");
    words[2..].to_vec()
}

/// The fixture tests the recipes run: one that passes and one whose error rate fails it on
/// every shard and on the whole load.
const SELECTION: [&str; 6] = [
    "--manifest-path",
    "", // filled with the fixtures' manifest
    "-p",
    "fixture-load",
    "--exact",
    "passes",
];

fn with_selection(mut args: Vec<String>) -> Vec<String> {
    let manifest = fixtures().join("Cargo.toml");
    let mut selection: Vec<String> = SELECTION.iter().map(|s| s.to_string()).collect();
    selection[1] = manifest.to_str().expect("utf-8").to_string();
    selection.push("fails_on_5xx".into());
    args.extend(selection);
    args
}

/// One shard's command: its arguments after `cargo perf` and its environment.
type ShardCommand = (Vec<String>, Vec<(String, String)>);

/// Runs the shards' commands at the same time (as the matrix or the Job does) and returns
/// their outputs in order.
fn run_together(dir: &Path, shards: Vec<ShardCommand>) -> Vec<Output> {
    let children: Vec<_> = shards
        .iter()
        .map(|(args, env)| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let env: Vec<(&str, &str)> =
                env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            cargo_perf_command(dir, &args, &env)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("cargo-perf starts")
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("cargo-perf ends"))
        .collect()
}

/// What every recipe must give: shards that do not gate, and a merge that judges the whole load
/// (the 5xx test fails it) with every shard's requests in it, all of them answered by the one
/// shared service.
fn check_recipe(
    shards: &[Output],
    shard_dirs: &[&Path],
    merged: &Output,
    merged_dir: &Path,
    service: &SharedService,
) {
    let mut requests = 0;
    for (i, (out, dir)) in shards.iter().zip(shard_dirs).enumerate() {
        assert_eq!(
            out.status.code(),
            Some(0),
            "shard {}: --fail-on none: {}",
            i + 1,
            stderr(out)
        );
        let summary = read_json(&dir.join("summary.json"));
        assert_eq!(summary["shard"]["index"], i + 1, "{summary:#}");
        assert_eq!(summary["shard"]["count"], shards.len());
        assert_eq!(result(&summary, "fails_on_5xx")["outcome"], "fail");
        for name in ["passes", "fails_on_5xx"] {
            let load = &result(&summary, name)["record"]["load"];
            assert_eq!(
                load["peak_users"], 1,
                "{name}: 2 users split in 2: {load:#}"
            );
            requests += load["requests"].as_u64().expect("requests");
        }
    }
    assert_eq!(
        merged.status.code(),
        Some(1),
        "the merge gates: {}",
        stderr(merged)
    );
    let m = read_json(&merged_dir.join("summary.json"));
    assert_eq!(m["merged_shards"], shards.len());
    assert_eq!(result(&m, "passes")["outcome"], "pass", "{m:#}");
    assert_eq!(result(&m, "fails_on_5xx")["outcome"], "fail");
    let merged_requests: u64 = ["passes", "fails_on_5xx"]
        .iter()
        .map(|n| {
            result(&m, n)["record"]["load"]["requests"]
                .as_u64()
                .expect("requests")
        })
        .sum();
    assert_eq!(
        merged_requests, requests,
        "the merge adds every shard's requests"
    );
    let answered = service.answered();
    assert!(
        requests > 0 && answered >= requests,
        "the shared service answered {answered} requests, the shards counted {requests}"
    );
}

#[test]
fn the_github_actions_recipe_runs_shards_together_and_its_merge_gates() {
    let doc = recipe();
    assert!(doc.contains("shard: [1, 2]"), "the matrix has two shards");
    let shard = recipe_line(&doc, "run: cargo perf --shard", "--shard");
    let merge = recipe_line(&doc, "run: cargo perf merge", "merge");
    let service = SharedService::start();
    let work = tempfile::tempdir().expect("tempdir");
    let shards = (1..=2)
        .map(|i| {
            let line = shard
                .replace("${{ matrix.shard }}", &i.to_string())
                .replace("\"$SERVICE_URL\"", &service.url);
            let args = line.split_whitespace().map(String::from).collect();
            (with_selection(args), Vec::new())
        })
        .collect();
    let outs = run_together(work.path(), shards);
    // The merge job downloads each artifact into a directory named like it.
    let merge_args: Vec<&str> = merge.split_whitespace().collect();
    let merged = crate::support::cargo_perf_env_in(work.path(), &merge_args, &[]);
    let dirs = [work.path().join("shard-1"), work.path().join("shard-2")];
    check_recipe(
        &outs,
        &[&dirs[0], &dirs[1]],
        &merged,
        &work.path().join("merged"),
        &service,
    );
}

#[test]
fn the_kubernetes_recipe_takes_each_pods_shard_from_its_job_index() {
    let doc = recipe();
    assert!(doc.contains("completions: 2") && doc.contains("value: \"2\"        # = completions"));
    let shard = k8s_args(&recipe_line(
        &doc,
        "command: [\"cargo\", \"perf\", \"--shard\"",
        "command:",
    ));
    let merge = k8s_args(&recipe_line(
        &doc,
        "command: [\"cargo\", \"perf\", \"merge\"",
        "command:",
    ));
    let service = SharedService::start();
    let volume = tempfile::tempdir().expect("tempdir");
    let results = volume.path().to_str().expect("utf-8");
    let pods = (0..2)
        .map(|index| {
            let args = shard
                .iter()
                .map(|a| {
                    a.replace("$(SERVICE_URL)", &service.url)
                        .replace("$(JOB_COMPLETION_INDEX)", &index.to_string())
                        .replace("/results", results)
                })
                .collect();
            let env = vec![
                ("JOB_COMPLETION_INDEX".to_string(), index.to_string()),
                ("CARGO_PERF_SHARDS".to_string(), "2".to_string()),
            ];
            (with_selection(args), env)
        })
        .collect();
    let outs = run_together(volume.path(), pods);
    let merge: Vec<String> = merge
        .iter()
        .map(|a| a.replace("/results", results))
        .collect();
    let merge: Vec<&str> = merge.iter().map(String::as_str).collect();
    let merged = crate::support::cargo_perf_env_in(volume.path(), &merge, &[]);
    let dirs = [volume.path().join("shard-0"), volume.path().join("shard-1")];
    check_recipe(
        &outs,
        &[&dirs[0], &dirs[1]],
        &merged,
        &volume.path().join("merged"),
        &service,
    );
}

#[test]
fn shard_auto_without_the_jobs_variables_is_a_usage_error_naming_them() {
    let out = cargo_perf_env(
        &["-p", "fixture-load", "--shard", "auto"],
        &[("CARGO_PERF_SHARDS", "2")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--shard auto needs JOB_COMPLETION_INDEX") && err.contains("--shard I/N"),
        "{err}"
    );
    let beyond = cargo_perf_env(
        &["-p", "fixture-load", "--shard", "auto"],
        &[("JOB_COMPLETION_INDEX", "2"), ("CARGO_PERF_SHARDS", "2")],
    );
    assert_eq!(beyond.status.code(), Some(2), "{}", stderr(&beyond));
    assert!(
        stderr(&beyond).contains("JOB_COMPLETION_INDEX=2 is not an index of CARGO_PERF_SHARDS=2")
    );
}

#[test]
fn a_shard_variable_inherited_from_the_environment_does_not_split_a_run() {
    let out = cargo_perf_env(
        &[
            "-p",
            "fixture-load",
            "--exact",
            "passes",
            "--format",
            "json",
        ],
        &[("CARGO_PERF_SHARD", "1/2")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = json(&out);
    assert!(summary["shard"].is_null(), "{summary:#}");
    let load = &result(&summary, "passes")["record"]["load"];
    assert_eq!(load["peak_users"], 2, "the whole load: {load:#}");
    assert!(load["shard"].is_null(), "{load:#}");
}
