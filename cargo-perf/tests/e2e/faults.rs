//! Faults of a running service, each from a real server on 127.0.0.1 (the `fixture-faults`
//! crate): resets before and in the middle of a response, headers that never come, a trickling
//! body, a 5xx storm, a 429 with Retry-After, a 64 MiB body, a half-closed socket and a server
//! that dies. One `cargo perf` run holds them all, as a user's suite would.

use serde_json::Value;

use crate::support::{cargo_perf, fixtures, json, result, stderr};

/// The load of one test in `summary`.
fn load<'a>(summary: &'a Value, test: &str) -> &'a Value {
    &result(summary, test)["record"]["load"]
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

/// Requests of `name` in `load`.
fn requests_named(load: &Value, name: &str) -> u64 {
    load["requests_by_name"]
        .as_array()
        .expect("requests_by_name")
        .iter()
        .find(|r| r["name"] == name)
        .map_or(0, |r| count(&r["requests"]))
}

/// Asserts a test failed on its thresholds (not as an error), every request of name `fault`
/// failed with `kind` and nothing else, and every `ok` request before, between and after the
/// faults is in the summary with its 200.
fn failed_with(summary: &Value, test: &str, kind: &str) {
    let r = result(summary, test);
    assert_eq!(r["outcome"], "fail", "{test}: {r:#}");
    assert_eq!(r["verdicts"][0]["passed"], false, "{test}");
    let load = &r["record"]["load"];
    let faults = requests_named(load, "fault");
    assert!(faults > 0, "{test}: {load:#}");
    assert_eq!(count(&load["errors"][kind]), faults, "{test}: {load:#}");
    assert_eq!(
        load["errors"].as_object().expect("errors").len(),
        1,
        "{test}: only `{kind}` errors: {load:#}"
    );
    let ok = requests_named(load, "ok");
    assert!(ok > 0, "{test}: the successes around the faults are kept");
    assert!(count(&load["statuses"]["200"]) >= ok, "{test}: {load:#}");
    assert_eq!(count(&load["failed_iterations"]), faults, "{test}");
    // A one-second test whose faults are all immediate: the graceful stop has nothing to wait
    // for.
    ended_within(summary, test, 1.0 + 0.1 + 0.9);
}

/// Asserts `test`'s load phase ended within `seconds` (its duration plus its timeout and the
/// graceful stop's margin): a fault never makes a run hang.
fn ended_within(summary: &Value, test: &str, seconds: f64) {
    let took = load(summary, test)["duration_s"]
        .as_f64()
        .expect("duration_s");
    assert!(took <= seconds, "{test} took {took} s, over {seconds} s");
}

#[test]
fn every_fault_of_a_running_service_is_counted_judged_and_bounded() {
    let report = tempfile::tempdir().expect("tempdir");
    let out = cargo_perf(&[
        "-p",
        "fixture-faults",
        "--format",
        "json",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    // The service was up when each test started: what it did afterwards is its fault, judged
    // by the thresholds (exit 1), never an infrastructure error (exit 2).
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = json(&out);

    failed_with(&summary, "reset_before_the_response", "closed");
    failed_with(&summary, "reset_in_the_middle_of_the_body", "body");
    failed_with(&summary, "a_half_closed_socket", "closed");
    failed_with(&summary, "a_storm_of_5xx", "5xx");
    assert!(count(&load(&summary, "a_storm_of_5xx")["statuses"]["503"]) > 0);
    failed_with(&summary, "rate_limited_with_retry_after", "4xx");
    let limited = load(&summary, "rate_limited_with_retry_after");
    assert!(count(&limited["statuses"]["429"]) > 0);
    assert!(
        limited["first_errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("status 429 (Retry-After: 1)")),
        "the first error names the status and when to come back: {limited:#}"
    );

    // Headers that never come: each fault iteration is cut off by the 300 ms timeout; the run
    // ends at 1 s + the timeout + the graceful stop's 100 ms.
    let hang = result(&summary, "headers_never_come");
    assert_eq!(hang["outcome"], "fail", "{hang:#}");
    let hang = &hang["record"]["load"];
    assert!(count(&hang["errors"]["iteration_timeout"]) > 0, "{hang:#}");
    assert_eq!(
        count(&hang["errors"]["iteration_timeout"]),
        count(&hang["failed_iterations"])
    );
    assert!(requests_named(hang, "ok") > 0);
    ended_within(&summary, "headers_never_come", 1.0 + 0.3 + 0.1 + 0.5);

    // A trickling body (10 bytes over a second) succeeds but is slow: latency runs to the body's
    // last byte, so p95 = 500ms fails with a measured second.
    let trickle = result(&summary, "a_body_that_trickles");
    assert_eq!(trickle["outcome"], "fail", "{trickle:#}");
    let p95_ns = trickle["verdicts"][0]["measured"].as_f64().expect("p95");
    assert!(p95_ns >= 1.0e9, "p95 {p95_ns} ns is the whole body's time");
    assert_eq!(count(&trickle["record"]["load"]["failed_requests"]), 0);
    // The graceful stop waits for the body under way (a second at most), not its 10 s grace.
    ended_within(&summary, "a_body_that_trickles", 1.0 + 1.0 + 0.5);

    // 64 MiB bodies are read whole and timed, but only their first MiB is kept: the process
    // stays under twice the memory of the same test on small bodies.
    let huge = result(&summary, "a_64_mib_body");
    assert_eq!(huge["outcome"], "pass", "{huge:#}");
    let huge = &huge["record"]["load"];
    for check in huge["checks"].as_array().expect("checks") {
        assert_eq!(check["fails"], 0, "{check:#}");
    }
    assert!(count(&huge["bytes_received"]) >= count(&huge["iterations"]) * (64 << 20));
    ended_within(&summary, "a_64_mib_body", 2.0 + 1.0);
    let rss = |l: &Value| count(&l["peak_rss_bytes"]);
    let healthy = load(&summary, "a_healthy_small_body");
    assert!(
        rss(huge) < 2 * rss(healthy),
        "peak RSS {} bytes on 64 MiB bodies against {} on small ones",
        rss(huge),
        rss(healthy)
    );

    // The server dies a second into the test: the iterations before are kept, the ones after
    // fail to connect (or on the connection it closed), and the test fails on its error rate.
    let dies = result(&summary, "the_server_dies");
    assert_eq!(dies["outcome"], "fail", "{dies:#}");
    let dies = &dies["record"]["load"];
    assert!(count(&dies["statuses"]["200"]) > 0, "{dies:#}");
    assert!(count(&dies["errors"]["connect"]) > 0, "{dies:#}");
    let failed = count(&dies["errors"]["connect"]) + count(&dies["errors"]["closed"]);
    assert_eq!(failed, count(&dies["failed_iterations"]), "{dies:#}");
    ended_within(&summary, "the_server_dies", 2.0 + 0.5 + 0.1 + 0.5);

    // A thousand users hold a thousand connections, the in-process server as many more: the
    // per-second samples count the descriptors and threads of the test process.
    let thousand = load(&summary, "a_thousand_users");
    let peak = |key: &str| {
        thousand["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .filter_map(|t| t[key].as_u64())
            .max()
    };
    assert!(peak("open_fds").is_some_and(|n| n >= 1000), "{thousand:#}");
    assert!(peak("threads").is_some_and(|n| n >= 2), "{thousand:#}");

    // A record's size is bounded: statistics of every sample, at most 10 000 raw ones.
    let samples = &result(&summary, "twenty_thousand_samples")["record"];
    assert_eq!(samples["stats"]["samples"], 20_000);
    assert_eq!(samples["samples_ns"].as_array().map(Vec::len), Some(10_000));
}

/// `ulimit -n 256` against a thousand users: the connections that could not be opened are
/// `connect` errors whose message names the limit and the fix, the test fails on its error rate,
/// the summary and the baseline are written whole, and no process outlives cargo perf.
#[cfg(unix)]
#[test]
fn running_out_of_file_descriptors_is_named_and_nothing_is_lost() {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let run = format!("{}-{nanos}", std::process::id());
    let baseline = format!("fd-limit-{run}");
    let marker = format!("CARGO_PERF_E2E_FD_LIMIT_RUN={run}");
    let manifest = fixtures().join("Cargo.toml");
    let report = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new("bash")
        .args(["-c", "ulimit -n 256 && exec \"$@\"", "bash"])
        .arg(env!("CARGO_BIN_EXE_cargo-perf"))
        .args(["perf", "--manifest-path"])
        .arg(&manifest)
        .args(["-p", "fixture-faults", "--exact", "a_thousand_users"])
        .args([
            "--save-baseline",
            &baseline,
            "--format",
            "json",
            "--report-dir",
        ])
        .arg(report.path())
        .current_dir(fixtures())
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env(marker.split_once('=').expect("var").0, &run)
        .output()
        .expect("cargo perf runs");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = json(&out);
    let r = result(&summary, "a_thousand_users");
    assert_eq!(r["outcome"], "fail", "{r:#}");
    let load = &r["record"]["load"];
    assert!(
        count(&load["statuses"]["200"]) > 0,
        "the users that connected are measured"
    );
    assert!(count(&load["errors"]["connect"]) > 0, "{load:#}");
    let first = load["first_errors"][0].as_str().expect("a first error");
    assert!(
        first.contains("Too many open files")
            && first.contains("ran out of file descriptors (256, `ulimit -n`)")
            && first.contains("raise the limit"),
        "{first}"
    );

    let path = fixtures().join(format!(
        "target/criterion/cargo-perf/baselines/{baseline}.json"
    ));
    let saved = crate::support::read_json(&path);
    let _ = std::fs::remove_file(&path);
    assert!(
        saved.to_string().contains("a_thousand_users"),
        "the baseline holds the test: {saved:#}"
    );
    assert!(
        crate::support::processes_running(&marker).is_empty(),
        "no process outlives cargo perf"
    );
}
