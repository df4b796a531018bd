//! WebSocket virtual users (`user.ws(..)`) against a real tokio-tungstenite server: k6's
//! counters and trends in every load model, thresholds on them, shards, and a server that
//! refuses, breaks off or never answers.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{cargo_perf, json, merge_shards, result, run_shard, stderr};

/// The by-name row `name` of a test's load record.
fn row<'a>(load: &'a Value, name: &str) -> &'a Value {
    load["requests_by_name"]
        .as_array()
        .expect("requests_by_name")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row {name}: {load:#}"))
}

fn count(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

/// Every echo session sent 20 messages, got each back, pinged once and closed.
fn assert_whole_sessions(name: &str, load: &Value) -> u64 {
    let ws = &load["websocket"];
    let sessions = count(&ws["ws_sessions"]);
    assert!(sessions > 0, "{name}: {load:#}");
    assert_eq!(ws["ws_connects"], sessions, "{name}: every upgrade held");
    assert_eq!(count(&ws["ws_msgs_sent"]), 20 * sessions, "{name}: {ws:#}");
    assert_eq!(ws["ws_msgs_received"], ws["ws_msgs_sent"], "{name}");
    assert_eq!(
        count(&row(load, "echo")["requests"]),
        20 * sessions,
        "{name}"
    );
    assert_eq!(row(load, "echo")["failed"], 0, "{name}");
    for trend in [
        "ws_connecting",
        "ws_ping",
        "ws_session_duration",
        "WS /echo",
    ] {
        assert_eq!(
            count(&row(load, trend)["requests"]),
            sessions,
            "{name}: {trend}"
        );
    }
    assert_eq!(load["statuses"]["101"], sessions, "{name}");
    assert_eq!(load["failed_iterations"], 0, "{name}");
    sessions
}

#[test]
fn websocket_users_are_timed_and_counted_in_every_load_model() {
    let out = cargo_perf(&[
        "-p",
        "fixture-ws",
        "--exact",
        "echo_closed",
        "echo_open",
        "echo_stages",
        "echo_too_slow_for_its_threshold",
        "--no-compare",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the too-slow threshold fails: {}",
        stderr(&out)
    );
    let summary = json(&out);
    for name in ["echo_closed", "echo_open", "echo_stages"] {
        let r = result(&summary, name);
        assert_eq!(r["outcome"], "pass", "{r:#}");
        assert_whole_sessions(name, &r["record"]["load"]);
    }
    // 40 sessions a second for 2 s: the open model starts them on schedule.
    let open = count(&result(&summary, "echo_open")["record"]["load"]["websocket"]["ws_sessions"]);
    assert!((76..=84).contains(&open), "{open} sessions at 40/s for 2 s");
    // A threshold in k6's grammar on an exchange's latency is judged on its row.
    let slow = result(&summary, "echo_too_slow_for_its_threshold");
    assert_eq!(slow["outcome"], "fail", "{slow:#}");
    assert_eq!(assert_whole_sessions("slow", &slow["record"]["load"]), 2);
    let text = slow.to_string();
    assert!(text.contains("echo") && text.contains("max"), "{slow:#}");
}

#[test]
fn a_websocket_server_that_refuses_breaks_off_or_stays_silent_is_counted_by_kind() {
    let started = Instant::now();
    let out = cargo_perf(&[
        "-p",
        "fixture-ws",
        "--exact",
        "refused_upgrade",
        "closed_mid_message",
        "silent_server",
        "--no-compare",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = json(&out);
    let cases = [
        (
            "refused_upgrade",
            "ws_upgrade",
            3,
            "answered the upgrade with 403 instead of 101",
        ),
        (
            "closed_mid_message",
            "ws_closed",
            3,
            "the server closed the session",
        ),
        (
            "silent_server",
            "ws_timeout",
            4,
            "no reply to `hello` within 200.0ms",
        ),
    ];
    for (name, kind, n, message) in cases {
        let load = &result(&summary, name)["record"]["load"];
        assert_eq!(load["errors"][kind], n, "{name}: {load:#}");
        assert_eq!(
            load["errors"].as_object().expect("errors").len(),
            1,
            "{name}: the `?` that returned the error is not a second failure: {load:#}"
        );
        assert_eq!(load["failed_iterations"], n, "{name}");
        assert_eq!(load["iterations"], n, "{name}: every iteration measured");
        let first = load["first_errors"].to_string();
        assert!(first.contains(message), "{name}: {first}");
    }
    let refused = &result(&summary, "refused_upgrade")["record"]["load"];
    assert_eq!(refused["statuses"]["403"], 3);
    assert!(refused
        .get("websocket")
        .is_some_and(|ws| ws["ws_sessions"] == 0));
    let silent = &result(&summary, "silent_server")["record"]["load"];
    assert_eq!(row(silent, "hello")["failed"], 4);
    // Four 200 ms waits, two at a time: well within the test's 5 s timeout.
    assert!(
        started.elapsed() < Duration::from_secs(300),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn websocket_shards_add_up_to_the_whole_load() {
    let dirs: Vec<tempfile::TempDir> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let mut sent = 0;
    for (i, shard) in ["1/2", "2/2"].iter().enumerate() {
        let out = run_shard("fixture-ws", &["echo_closed"], shard, dirs[i].path());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let summary = json(&out);
        let load = &result(&summary, "echo_closed")["record"]["load"];
        assert_eq!(load["peak_users"], 2, "4 users split in 2");
        assert_whole_sessions(shard, load);
        sent += count(&load["websocket"]["ws_msgs_sent"]);
    }
    let merged = merge_shards(&[dirs[0].path(), dirs[1].path()], dirs[2].path());
    assert_eq!(merged.status.code(), Some(0), "{}", stderr(&merged));
    let summary = json(&merged);
    let load = &result(&summary, "echo_closed")["record"]["load"];
    let sessions = assert_whole_sessions("merged", load);
    assert_eq!(count(&load["websocket"]["ws_msgs_sent"]), sent);
    assert_eq!(20 * sessions, sent);
    let md = std::fs::read_to_string(dirs[2].path().join("summary.md")).expect("summary.md");
    assert!(md.contains("WebSocket: ws_sessions"), "{md}");
}
