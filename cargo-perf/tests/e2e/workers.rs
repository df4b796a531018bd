//! Generator workers: one `cargo perf` process spreads a load test over N threads, splitting
//! users, shared iterations and arrivals exactly and merging what they measured.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use crate::support::{cargo_perf, json, result, stderr, SharedService};

/// `cargo perf -p fixture-load --exact TESTS... --base-url SERVICE`, JSON, reports in `report`.
fn run_at(service: &SharedService, tests: &[&str], report: &Path) -> Output {
    let mut args = vec!["-p", "fixture-load", "--exact"];
    args.extend_from_slice(tests);
    let report = report.to_str().expect("utf-8");
    args.extend([
        "--base-url",
        &service.url,
        "--no-compare",
        "--format",
        "json",
        "--report-dir",
        report,
    ]);
    cargo_perf(&args)
}

#[test]
fn workers_split_users_iterations_and_arrivals_exactly() {
    let service = SharedService::start();
    let report = tempfile::tempdir().expect("tempdir");
    let out = run_at(
        &service,
        &[
            "numbered_users_share_iterations",
            "arrivals_at_base_url",
            "--workers",
            "2",
        ],
        report.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = json(&out);

    // 5 users over 2 threads (3 + 2) share 1001 iterations (501 + 500): exactly 1001 run, every
    // request reached the service, and the users are numbered 0..5 across the threads.
    let shared = &result(&summary, "numbered_users_share_iterations")["record"]["load"];
    assert_eq!(shared["workers"], 2, "{shared:#}");
    assert_eq!(
        (
            &shared["iterations"],
            &shared["requests"],
            &shared["peak_users"]
        ),
        (&1001.into(), &1001.into(), &5.into()),
        "{shared:#}"
    );
    assert_eq!(shared["checks"][0]["passes"], 1001);
    assert_eq!(shared["iteration"]["count"], 1001, "the histograms merged");
    let timeline = shared["timeline"].as_array().expect("timeline");
    assert_eq!(timeline.last().expect("a point")["iterations"], 1001);
    let users: BTreeSet<String> = service
        .paths()
        .into_iter()
        .filter(|p| p.starts_with("/user/"))
        .collect();
    let expected: BTreeSet<String> = (0..5).map(|i| format!("/user/{i}")).collect();
    assert_eq!(users, expected, "users are numbered across threads");

    // 400/s for 2 s over 2 threads: each starts every 5 ms, the second 2.5 ms after the first;
    // together they make the whole schedule.
    let open = &result(&summary, "arrivals_at_base_url")["record"]["load"];
    assert_eq!(open["workers"], 2, "{open:#}");
    let iterations = open["iterations"].as_u64().expect("iterations");
    assert!((799..=801).contains(&iterations), "{open:#}");
    assert_eq!(open["dropped_iterations"], 0);
    assert_eq!(
        service.answered(),
        1001 + open["requests"].as_u64().expect("requests"),
        "the service answered every request the threads counted"
    );
    let md = std::fs::read_to_string(report.path().join("summary.md")).expect("summary.md");
    assert!(md.contains("on 2 generator threads"), "{md}");
}

#[test]
fn more_workers_than_cores_is_refused_with_the_fix() {
    let flag = cargo_perf(&["-p", "fixture-load", "--workers", "65536", "--list"]);
    assert_eq!(flag.status.code(), Some(2), "{}", stderr(&flag));
    assert!(
        stderr(&flag).contains("65536 generator threads on a machine with"),
        "{}",
        stderr(&flag)
    );

    let service = SharedService::start();
    let report = tempfile::tempdir().expect("tempdir");
    let out = run_at(&service, &["more_workers_than_cores"], report.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let message = result(&json(&out), "more_workers_than_cores")["record"]["message"]
        .as_str()
        .expect("message")
        .to_string();
    assert!(
        message.contains("`workers = 65536` asks for 65536 generator threads")
            && message.contains("cargo perf --workers"),
        "{message}"
    );
    assert_eq!(service.answered(), 0, "nothing ran");
}
