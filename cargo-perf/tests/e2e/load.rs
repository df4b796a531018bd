//! Load tests: verdicts and errors by kind, the open model, a dead server, per-user iterations
//! and thresholds declared in the body.

use serde_json::Value;

use crate::support::{cargo_perf, json, result, stderr, stdout};
#[test]
fn load_tests_pass_fail_and_count_errors_by_kind() {
    let report = tempfile::tempdir().expect("tempdir");
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "passes",
        "fails_on_5xx",
        "times_out",
        "panics_in_perf_mode",
        "--format",
        "json",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = json(&out);

    let pass = result(&summary, "passes");
    assert_eq!(pass["outcome"], "pass", "{pass:#}");
    let load = &pass["record"]["load"];
    assert_eq!(load["model"], "closed");
    assert!(
        load["requests"].as_u64().expect("requests") > 10,
        "{load:#}"
    );
    assert_eq!(load["failed_requests"], 0);
    assert_eq!(load["statuses"]["200"], load["requests"]);
    let ok = &load["requests_by_name"][0];
    assert_eq!(ok["name"], "ok");
    assert!(ok["latency"]["histogram"]
        .as_str()
        .is_some_and(|h| !h.is_empty()));
    assert_eq!(load["checks"][0]["fails"], 0);
    assert_eq!(
        pass["verdicts"].as_array().expect("verdicts").len(),
        3,
        "p95, error rate, and the per-name p(99)"
    );
    assert_eq!(pass["verdicts"][2]["scope"], "ok");

    let fail = result(&summary, "fails_on_5xx");
    assert_eq!(fail["outcome"], "fail", "{fail:#}");
    assert!(
        fail["record"]["load"]["errors"]["5xx"]
            .as_u64()
            .expect("5xx")
            > 0
    );
    assert_eq!(fail["verdicts"][0]["passed"], false);

    let slow = result(&summary, "times_out");
    assert_eq!(slow["outcome"], "fail", "{slow:#}");
    assert!(
        slow["record"]["load"]["errors"]["iteration_timeout"]
            .as_u64()
            .expect("timeouts")
            > 0
    );

    let panicked = result(&summary, "panics_in_perf_mode");
    assert_eq!(panicked["outcome"], "error");
    let message = panicked["record"]["message"].as_str().expect("message");
    assert!(
        message
            .contains("iterations panicked: the body panicked: the load body panicked on purpose"),
        "{message}"
    );
    assert!(
        panicked["record"]["load"]["iterations"]
            .as_u64()
            .expect("n")
            > 3,
        "partial results are kept"
    );
}

#[test]
fn open_model_latency_counts_a_stall_from_the_schedule() {
    let report = tempfile::tempdir().expect("tempdir");
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "open_model_against_a_stall",
        "--format",
        "json",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = json(&out);
    let r = result(&summary, "open_model_against_a_stall");
    let load = &r["record"]["load"];
    assert_eq!(load["model"], "open");
    assert_eq!(load["dropped_iterations"], 0, "{load:#}");
    // A third of the iterations are scheduled into the 1 s stall: from the schedule, they
    // waited up to a second; p99 must show it (a closed-loop tool would report ~1 ms).
    let p99 = load["iteration"]["p99_ns"].as_f64().expect("p99");
    assert!(p99 > 500e6, "p99 from schedule {p99} ns in {load:#}");
    let p50 = load["iteration"]["p50_ns"].as_f64().expect("p50");
    assert!(p50 < p99, "{load:#}");
    assert!(load["iteration_service"]["p99_ns"].as_f64().is_some());
    assert!(load["requests_by_name"][0]["corrected"]["p99_ns"]
        .as_f64()
        .is_some_and(|v| v > 500e6));
}

#[test]
fn a_dead_server_is_an_infrastructure_error_naming_the_cause() {
    let report = tempfile::tempdir().expect("tempdir");
    // Port 1 on 127.0.0.1: nothing listens there.
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "needs_a_base_url",
        "--base-url",
        "http://127.0.0.1:1",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains("error: cannot connect to the service at http://127.0.0.1:1"),
        "{table}"
    );
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(report.path().join("summary.json")).expect("summary written"),
    )
    .expect("json");
    assert_eq!(
        result(&summary, "needs_a_base_url")["record"]["infrastructure"],
        true
    );

    let none = cargo_perf(&[
        "-p",
        "fixture-load",
        "needs_a_base_url",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(none.status.code(), Some(2), "{}", stderr(&none));
    assert!(
        stdout(&none).contains("no service to load"),
        "{}",
        stdout(&none)
    );
}

#[test]
fn per_user_iterations_and_thresholds_declared_in_the_body() {
    let report = tempfile::tempdir().expect("tempdir");
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "four_iterations_each",
        "thresholds_in_the_body",
        "a_threshold_that_does_not_parse",
        "--format",
        "json",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = json(&out);

    let each = result(&summary, "four_iterations_each");
    assert_eq!(each["outcome"], "pass", "{each:#}");
    let load = &each["record"]["load"];
    assert_eq!(load["iterations"], 12, "{load:#}");
    let per_user: Vec<(String, u64)> = load["requests_by_name"]
        .as_array()
        .expect("names")
        .iter()
        .map(|n| {
            (
                n["name"].as_str().expect("name").to_string(),
                n["requests"].as_u64().expect("n"),
            )
        })
        .collect();
    assert_eq!(
        per_user,
        vec![
            ("user 0".into(), 4),
            ("user 1".into(), 4),
            ("user 2".into(), 4)
        ]
    );

    let body = result(&summary, "thresholds_in_the_body");
    assert_eq!(body["outcome"], "fail", "{body:#}");
    let verdicts: Vec<(String, bool)> = body["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .map(|v| {
            (
                v["scope"].as_str().expect("scope").to_string(),
                v["passed"].as_bool().expect("passed"),
            )
        })
        .collect();
    assert_eq!(verdicts, vec![("ok".into(), true), ("fail".into(), false)]);

    let bad = result(&summary, "a_threshold_that_does_not_parse");
    assert_eq!(bad["outcome"], "error", "{bad:#}");
    let message = bad["record"]["message"].as_str().expect("message");
    assert!(
        message.contains("`.threshold(\"p95 < 1s\")` on request `GET /ok`")
            && message.contains("valid: avg, med, max, p(N), rate"),
        "{message}"
    );
}

/// Every iteration failing on a 404: the error names the request, the status and the start of
/// the body, not a bare `-`.
#[test]
fn every_iteration_failing_says_which_request_and_what_came_back() {
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "--exact",
        "every_request_is_a_404",
        "--format",
        "json",
    ]);
    let summary = json(&out);
    let r = result(&summary, "every_request_is_a_404");
    assert_eq!(r["outcome"], "error", "{r:#}");
    let message = r["record"]["message"].as_str().expect("message");
    assert_eq!(
        message,
        "every iteration failed (5); first error: GET /missing: 4xx: status 404, body: \"no such page: /missing\"",
        "{}",
        stderr(&out)
    );
    assert_eq!(r["record"]["load"]["errors"]["4xx"], 5, "{r:#}");
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn a_generator_that_falls_behind_is_blamed_instead_of_the_service() {
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "--exact",
        "the_generator_falls_behind",
        "passes",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = json(&out);
    let behind = result(&summary, "the_generator_falls_behind");
    assert_eq!(behind["outcome"], "fail", "{behind:#}");
    let load = &behind["record"]["load"];
    let lag = &load["schedule_lag"];
    assert_eq!(
        lag["count"], load["iterations"],
        "one lag per iteration: {load:#}"
    );
    // Far behind: 2 ms of blocking per iteration at 1000/s is twice what one thread can do.
    assert!(lag["p99_ns"].as_f64().expect("p99") > 10e6, "{lag:#}");
    let verdict = &behind["verdicts"][0];
    assert_eq!(verdict["passed"], false, "{verdict:#}");
    let blamed = verdict["generator_lag_p99_ns"].as_f64().expect("blamed");
    assert_eq!(Some(blamed), lag["p99_ns"].as_f64(), "{verdict:#}");
    // The same run's healthy test measured its lag too, and nothing blames its generator.
    let healthy = result(&summary, "passes");
    let lag = &healthy["record"]["load"]["schedule_lag"];
    assert_eq!(
        lag["count"], healthy["record"]["load"]["iterations"],
        "{healthy:#}"
    );
    assert!(healthy["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .all(|v| v.get("generator_lag_p99_ns").is_none()));

    let text = cargo_perf(&[
        "-p",
        "fixture-load",
        "--exact",
        "the_generator_falls_behind",
    ]);
    let report = stdout(&text);
    assert!(
        report.contains("the load generator, not the service, was the limit"),
        "{report}"
    );
    assert!(report.contains("generator lag (slot to start)"), "{report}");
    assert!(report.contains("generator behind its schedule"), "{report}");
}

/// A spike beyond a real service's capacity (4 workers × 10 ms, at most 400/s; 800/s for 2 s)
/// leaves a queue that drains after it: the recovery verdict reads the time from the spike's end
/// until the per-second p95 stays under `p95` off the timeline (3 to 4 s, to the second), and a
/// `recovery` of 1 s fails.
#[test]
fn recovery_after_a_spike_is_timed_from_the_timeline() {
    let report = tempfile::tempdir().expect("tempdir");
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "recovers_slowly_after_a_spike",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.contains("FAIL recovery <= 1s (measured "), "{table}");
    let summary = crate::support::read_json(&report.path().join("summary.json"));
    let r = result(&summary, "recovers_slowly_after_a_spike");
    let recovery = r["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .find(|v| v["threshold"]["metric"] == "recovery")
        .unwrap_or_else(|| panic!("a recovery verdict in {r:#}"));
    assert_eq!(recovery["passed"], false, "{recovery:#}");
    assert_eq!(recovery["unit"], "ns");
    let measured_s = recovery["measured"].as_f64().expect("measured") / 1e9;
    assert!(
        (2.0..=6.0).contains(&measured_s),
        "recovery {measured_s} s; the queue drains in 3 to 4 s: {r:#}"
    );
}

/// `--capacity` on a real service of known capacity (4 workers of exactly 10 ms: 400/s): the
/// rate doubles from 50/s until a step fails p99 < 50ms, then is bisected to 2 %; the rate
/// found is within 5 % of 400/s, every step is in the summary, and the table says it.
#[test]
fn capacity_is_found_within_five_percent_of_a_known_service() {
    let report = tempfile::tempdir().expect("tempdir");
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "four_exact_workers_of_10ms",
        "--capacity",
        "50/s..1600/s",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = crate::support::read_json(&report.path().join("summary.json"));
    let r = result(&summary, "four_exact_workers_of_10ms");
    let c = &r["capacity"];
    assert_eq!(c["ended"], "found", "{c:#}");
    let held = c["held_per_s"].as_f64().expect("held");
    let failed = c["failed_per_s"].as_f64().expect("failed");
    assert!(
        (380.0..=420.0).contains(&held),
        "capacity {held}/s, truth 400/s: {c:#}"
    );
    assert!(failed > held && failed / held <= 1.0201, "{c:#}");
    let steps = c["steps"].as_array().expect("steps");
    let rates: Vec<f64> = steps
        .iter()
        .filter_map(|s| s["rate_per_s"].as_f64())
        .collect();
    assert_eq!(&rates[..4], &[50.0, 100.0, 200.0, 400.0], "{c:#}");
    // 800/s is twice the capacity: its queue grows 400 a second, so p99 fails by far.
    let at_800 = steps
        .iter()
        .find(|s| s["rate_per_s"] == 800.0)
        .expect("800/s");
    assert_eq!(at_800["passed"], false, "{at_800:#}");
    assert!(
        at_800["p99_ns"].as_f64().expect("p99") > 500e6,
        "{at_800:#}"
    );
    // The result is the highest step that held, and it passes its thresholds.
    assert_eq!(r["outcome"], "pass", "{r:#}");
    let done = r["record"]["load"]["iterations_per_s"]
        .as_f64()
        .expect("rate");
    assert!((done / held - 1.0).abs() < 0.05, "{done} done at {held}/s");
    let table = stdout(&out);
    assert!(
        table.contains("capacity ") && table.contains(": held there, failed at "),
        "{table}"
    );
    let md = std::fs::read_to_string(report.path().join("summary.md")).expect("summary.md");
    assert!(md.contains("### Capacity"), "{md}");

    // A range whose lowest rate is already beyond the capacity: one step, reported, exit 1.
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "four_exact_workers_of_10ms",
        "--capacity",
        "600/s..1600/s",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains("capacity below 600.0/s: the lowest rate of the range already failed"),
        "{table}"
    );
    let summary = crate::support::read_json(&report.path().join("summary.json"));
    let c = &result(&summary, "four_exact_workers_of_10ms")["capacity"];
    assert_eq!(
        (c["ended"].as_str(), c["steps"].as_array().map(Vec::len)),
        (Some("lowest_failed"), Some(1))
    );
}

/// A concurrency sweep as a user runs one: the same closed-model test at 1 to 32 users
/// (`--users N`, each run its own --report-dir), then `cargo perf model` over the six summaries:
/// every level's users recorded, Little's Law holding (each iteration sleeps 20 ms on the
/// server, so X = N / 20 ms), the USL fitted, and model.html drawing the six levels and the curve.
#[test]
fn a_users_sweep_is_fitted_by_cargo_perf_model_and_drawn() {
    let sweep = tempfile::tempdir().expect("tempdir");
    let mut dirs = Vec::new();
    for n in ["1", "2", "4", "8", "16", "32"] {
        let dir = sweep.path().join(format!("u{n}"));
        let dir = dir.to_str().expect("utf-8").to_string();
        let out = cargo_perf(&[
            "-p",
            "fixture-load",
            "--exact",
            "steady_work",
            "--users",
            n,
            "--no-compare",
            "--report-dir",
            &dir,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let summary = crate::support::read_json(&std::path::Path::new(&dir).join("summary.json"));
        let r = result(&summary, "steady_work");
        assert_eq!(
            r["record"]["spec"]["users"].as_u64(),
            n.parse().ok(),
            "{r:#}"
        );
        assert_eq!(r["record"]["load"]["peak_users"].as_u64(), n.parse().ok());
        dirs.push(dir);
    }
    let html = sweep.path().join("model.html");
    let mut args = vec!["model"];
    args.extend(dirs.iter().map(String::as_str));
    args.extend(["--html", html.to_str().expect("utf-8")]);
    let out = crate::support::cargo_perf_in(&crate::support::fixtures(), &args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("steady_work: 6 runs"), "{text}");
    assert!(text.contains("Little's Law holds at every level"), "{text}");
    assert!(text.contains("USL fit X(N)"), "{text}");
    let page = std::fs::read_to_string(&html).expect("model.html");
    assert_eq!(page.matches("<circle").count(), 6, "{page}");
    assert!(page.contains("throughput against users"), "{page}");

    // --users on an open-model test: a usage error naming it.
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "four_exact_workers_of_10ms",
        "--users",
        "4",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--users sets the virtual users of closed-model load tests"));
}

/// `--capacity` on a closed-model test, or a range the wrong way round: usage errors (exit 2)
/// naming the fix, before anything runs.
#[test]
fn capacity_on_the_wrong_test_or_range_is_a_usage_error() {
    let out = cargo_perf(&["-p", "fixture-load", "passes", "--capacity", "50/s..1600/s"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("--capacity searches the arrival rate of open-model load tests")
            && err.contains("not `passes` (")
            && err.contains("users = 2"),
        "{err}"
    );
    let out = cargo_perf(&["-p", "fixture-load", "--capacity", "500/s..50/s"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the highest rate must be above the lowest"),
        "{}",
        stderr(&out)
    );
}

/// A service in a process of its own (Python's http.server, keeping 256 KiB of every request),
/// started with its address on stdout; with `exit_after`, it exits after answering that many.
fn leaky_python_service(exit_after: Option<u32>) -> (std::process::Child, String) {
    const SERVER: &str = r#"
import http.server, os, sys
exit_after = int(sys.argv[1])
kept = []
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        kept.append(bytearray(b"x" * 262144))
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        self.wfile.flush()
        if len(kept) == exit_after:
            os._exit(0)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", SERVER, &exit_after.unwrap_or(0).to_string()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (.ci/run needs it too)");
    let mut port = String::new();
    let stdout = child.stdout.take().expect("stdout");
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut port).expect("port");
    (child, format!("http://127.0.0.1:{}", port.trim()))
}

/// `--service-pid`: the service's own process is sampled every second beside the test's, and
/// the leak verdict is judged on it (the test process does not leak: without the flag the test
/// passes); a PID that does not run is exit 2 before anything runs; a service that exits during
/// the load is exit 2 with what was measured kept.
#[test]
fn an_external_service_process_is_watched_and_its_leak_caught() {
    let report = tempfile::tempdir().expect("tempdir");
    let dir = report.path().to_str().expect("utf-8");
    let run = |url: &str, pid: &str| {
        cargo_perf(&[
            "-p",
            "fixture-load",
            "an_external_service_under_soak",
            "--base-url",
            url,
            "--service-pid",
            pid,
            "--report-dir",
            dir,
        ])
    };
    let (mut service, url) = leaky_python_service(None);
    let pid = service.id().to_string();
    let out = run(&url, &pid);
    let _ = service.kill();
    let _ = service.wait();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(
        table.contains(&format!("service process {pid}: cpu ")),
        "{table}"
    );
    assert!(
        table.contains("FAIL rss_growth <= 1.0GiB/h (measured "),
        "{table}"
    );
    let summary = crate::support::read_json(&report.path().join("summary.json"));
    let load = &result(&summary, "an_external_service_under_soak")["record"]["load"];
    let watched = &load["service_process"];
    assert_eq!(watched["pid"].as_u64(), pid.parse().ok(), "{watched:#}");
    assert!(watched["exited_after_s"].is_null(), "{watched:#}");
    // Each second's reading of the service: its memory grows by 256 KiB a request.
    let rss = |t: &Value| t["service"]["rss_bytes"].as_f64();
    let ticks = load["timeline"].as_array().expect("timeline");
    let first = rss(&ticks[0]).expect("rss");
    let last = rss(&ticks[ticks.len() - 1]).expect("rss");
    assert!(last > first + 20.0 * 1048576.0, "{first} → {last}");

    // No such process: exit 2 before anything runs.
    let out = run(&url, "999999999");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--service-pid 999999999: no such process is running"),
        "{}",
        stderr(&out)
    );

    // A service that exits after 40 answers (about 2 s in): exit 2, those 40 kept.
    let (mut dying, url) = leaky_python_service(Some(40));
    let pid = dying.id().to_string();
    let out = run(&url, &pid);
    let _ = dying.wait();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "the service process {pid} (--service-pid) was gone "
        )),
        "{}",
        stderr(&out)
    );
    let summary = crate::support::read_json(&report.path().join("summary.json"));
    let load = &result(&summary, "an_external_service_under_soak")["record"]["load"];
    let ok =
        load["iterations"].as_u64().expect("n") - load["failed_iterations"].as_u64().expect("f");
    assert_eq!(ok, 40, "{load:#}");
    let gone = load["service_process"]["exited_after_s"]
        .as_f64()
        .expect("gone");
    assert!((1.0..12.5).contains(&gone), "{gone}");
}

/// Two real services under the same light load for 15 s: one leaks 128 KiB a request, the other
/// takes 4 MiB and gives it back every 3 s. The memory trend (window minima after warm-up)
/// finds the leak at its true rate and no trend in the sawtooth.
#[test]
fn a_leak_is_caught_and_a_sawtooth_passes() {
    let report = tempfile::tempdir().expect("tempdir");
    let out = cargo_perf(&[
        "-p",
        "fixture-load",
        "a_leaking_service",
        "a_sawtooth_service",
        "--no-compare",
        "--format",
        "json",
        "--report-dir",
        report.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = json(&out);
    let growth = |test: &str| {
        let r = result(&summary, test);
        let v = &r["verdicts"][0];
        assert_eq!(v["threshold"]["metric"], "rss_growth", "{r:#}");
        assert_eq!(v["unit"], "bytes_per_h");
        (
            v["passed"].as_bool().expect("passed"),
            v["measured"].as_f64().expect("measured"),
            r["record"]["load"]["iterations_per_s"]
                .as_f64()
                .expect("rate"),
        )
    };
    const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
    let (passed, measured, per_s) = growth("a_leaking_service");
    let truth = per_s * 128.0 * 1024.0 * 3600.0;
    assert!(!passed);
    assert!(
        (measured - truth).abs() < 0.25 * truth,
        "leak measured {:.2} GiB/h, the service leaks {:.2} GiB/h",
        measured / GIB,
        truth / GIB
    );
    let (passed, measured, _) = growth("a_sawtooth_service");
    assert!(passed, "sawtooth measured {:.2} GiB/h", measured / GIB);
    assert!(measured.abs() < 1.0 * GIB, "{measured}");
}
