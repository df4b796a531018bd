//! Signals and crashes. SIGINT or SIGTERM sent to cargo perf alone (what a CI runner's cancel
//! does) reaches the running test, which stops gracefully; the summary keeps what it measured,
//! the exit code is 1, and no test process outlives cargo perf (found by an environment variable
//! only this run's processes carry, so another run of the suite on the machine does not count).
//! A test process killed by SIGKILL (the OOM killer) or aborting fails its test with the signal
//! named, and the run goes on to the next test.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::support::{fixtures, processes_running, result};

/// Starts the one-minute load test, waits until it has run a few seconds, sends `signal` to
/// cargo perf's own pid, and checks what a cancelled CI job must see.
fn interrupted_by(signal: &str) {
    // One at a time: both look for the same test's process.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (child, marker, rx, reader) = start_marked(
        &format!("SIGNAL_{}", signal.trim_start_matches('-')),
        &["runs_for_a_minute"],
        "[1/1] runs_for_a_minute",
    );
    // The build may take minutes on a cold cache; the measurement starts after it.
    rx.recv_timeout(Duration::from_secs(900))
        .expect("the load test starts");
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !processes_running(&marker).is_empty(),
        "the test process runs"
    );
    let sent = Instant::now();
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("cargo perf ends");
    let took = sent.elapsed();
    let err = reader.join().expect("stderr reader");

    // Well before the minute is over: the test got the signal, not just cargo perf.
    assert!(
        took < Duration::from_secs(30),
        "{took:?} after {signal}\n{err}"
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("interrupted (Ctrl-C, SIGTERM or SIGHUP) after 1 of 1 perf tests"),
        "{err}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("a JSON summary");
    let r = result(&summary, "runs_for_a_minute");
    let load = &r["record"]["load"];
    assert!(
        load["iterations"].as_u64().is_some_and(|n| n > 10),
        "what ran before the signal is kept: {r:#}"
    );
    assert!(
        load["duration_s"].as_f64().is_some_and(|d| d < 30.0),
        "{load:#}"
    );
    assert!(
        processes_running(&marker).is_empty(),
        "no test process outlives cargo perf"
    );
}

#[test]
fn sigint_to_cargo_perf_alone_stops_the_running_load_test_and_keeps_its_results() {
    interrupted_by("-INT");
}

#[test]
fn sigterm_to_cargo_perf_stops_the_running_load_test_and_keeps_its_results() {
    interrupted_by("-TERM");
}

/// Starts `cargo perf` on `tests` of fixture-load, in its own process group as a CI step is,
/// with a marker variable only this run's processes carry (`kind` names the test); returns the
/// child, the marker, and its stderr's reader, which signals when a line holds `when`.
fn start_marked(
    kind: &str,
    tests: &[&str],
    when: &'static str,
) -> (
    std::process::Child,
    String,
    std::sync::mpsc::Receiver<()>,
    std::thread::JoinHandle<String>,
) {
    let manifest = fixtures().join("Cargo.toml");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let marker = format!("CARGO_PERF_E2E_{kind}_RUN={}-{nanos}", std::process::id());
    let (key, value) = marker.split_once('=').expect("a variable");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-perf"))
        .args(["perf", "--manifest-path"])
        .arg(&manifest)
        .args(["-p", "fixture-load", "--exact"])
        .args(tests)
        .args(["--no-compare", "--format", "json"])
        .current_dir(fixtures())
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CI")
        .env_remove("GITHUB_ACTIONS")
        .env(key, value)
        // Its own process group, as a CI step's: a signal to the group would also reach the
        // test directly, and the signal tests are about cargo perf passing it on.
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo perf starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(when) {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    (child, marker, rx, reader)
}

#[test]
fn a_test_process_killed_by_sigkill_fails_its_test_and_the_run_goes_on() {
    let (mut child, marker, started, reader) = start_marked(
        "KILL",
        &["runs_for_a_minute", "passes"],
        "runs_for_a_minute ...",
    );
    started
        .recv_timeout(Duration::from_secs(900))
        .expect("the minute-long test starts");
    std::thread::sleep(Duration::from_secs(3));
    // The test process, not cargo perf: what the OOM killer picks.
    let tests: Vec<u32> = processes_running(&marker)
        .into_iter()
        .filter(|&pid| pid != child.id())
        .collect();
    assert!(!tests.is_empty(), "the test process runs");
    let sent = Instant::now();
    for pid in &tests {
        let kill = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(kill.success());
    }
    let stdout = child.stdout.take().expect("stdout");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stdout), &mut text);
        text
    });
    let status = child.wait().expect("cargo perf ends");
    let took = sent.elapsed();
    let err = reader.join().expect("stderr reader");
    let out = out.join().expect("stdout reader");

    assert!(took < Duration::from_secs(40), "{took:?}\n{err}");
    assert_eq!(status.code(), Some(1), "{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).expect("a JSON summary");
    let killed = result(&summary, "runs_for_a_minute");
    assert_eq!(killed["outcome"], "error", "{killed:#}");
    assert!(
        killed
            .to_string()
            .contains("was killed by signal 9 (SIGKILL: killed, e.g. out of memory)"),
        "{killed:#}"
    );
    let next = result(&summary, "passes");
    assert_eq!(next["outcome"], "pass", "the run went on: {next:#}");
    assert!(
        processes_running(&marker).is_empty(),
        "no test process outlives cargo perf"
    );
}

#[test]
fn a_test_process_that_aborts_fails_its_test_and_the_others_are_kept() {
    let (mut child, marker, _started, reader) =
        start_marked("ABORT", &["aborts_in_perf_mode", "passes"], "never printed");
    let stdout = child.stdout.take().expect("stdout");
    let mut out = String::new();
    std::io::Read::read_to_string(&mut BufReader::new(stdout), &mut out).expect("stdout");
    let status = child.wait().expect("cargo perf ends");
    let err = reader.join().expect("stderr reader");
    assert_eq!(status.code(), Some(1), "{err}");
    let summary: serde_json::Value = serde_json::from_str(&out).expect("a JSON summary");
    let aborted = result(&summary, "aborts_in_perf_mode");
    assert_eq!(aborted["outcome"], "error", "{aborted:#}");
    assert!(
        aborted
            .to_string()
            .contains("was killed by signal 6 (SIGABRT"),
        "{aborted:#}"
    );
    assert_eq!(result(&summary, "passes")["outcome"], "pass");
    assert!(processes_running(&marker).is_empty());
}
