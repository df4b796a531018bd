//! The load-test section of `summary.md`: per test its model, counts and rates, data sent and
//! received, dropped iterations, CPU and memory, and latency per request name.

use std::fmt::Write as _;

use perf_schema::record::load::{Latency, LoadReport, Model};
use perf_schema::spec::{format_bytes, format_ns};
use perf_schema::summary::Summary;

/// `### Load tests` with one breakdown per load test of the run; empty without load tests.
pub fn section(summary: &Summary) -> String {
    let mut out = String::new();
    for r in &summary.results {
        let Some(l) = &r.record.load else { continue };
        if out.is_empty() {
            out.push_str("\n### Load tests\n");
        }
        let _ = write!(
            out,
            "\n`{}::{}`: {}\n\n",
            r.record.test.target,
            r.record.test.name,
            overview(l)
        );
        out.push_str(
            "| Request | Count | Errors | Mean | p50 | p90 | p95 | p99 | Max |\n\
             |---|--:|--:|--:|--:|--:|--:|--:|--:|\n",
        );
        let open = l.model == Model::Open;
        let iteration = if open {
            "*iteration (from schedule)*"
        } else {
            "*iteration*"
        };
        row(
            &mut out,
            iteration,
            l.iterations,
            l.failed_iterations,
            &l.iteration,
        );
        if let Some(s) = &l.iteration_service {
            row(
                &mut out,
                "*iteration (service time)*",
                l.iterations,
                l.failed_iterations,
                s,
            );
        }
        if let Some(lag) = &l.schedule_lag {
            row(
                &mut out,
                "*generator lag (slot to start)*",
                lag.count,
                0,
                lag,
            );
        }
        for n in &l.requests_by_name {
            let name = format!("`{}`", n.name.replace('|', "\\|").replace('`', "'"));
            row(&mut out, &name, n.requests, n.failed, &n.latency);
            if let Some(c) = &n.corrected {
                row(
                    &mut out,
                    &format!("{name} (from schedule)"),
                    n.requests,
                    n.failed,
                    c,
                );
            }
        }
        if let Some(ws) = &l.websocket {
            let _ = writeln!(out, "\nWebSocket: {}.", ws_counts(ws));
        }
        if !l.errors.is_empty() {
            let kinds: Vec<String> = l.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(out, "\nErrors by kind: {}.", kinds.join(", "));
        }
    }
    out
}

/// One line: model and users, duration, iterations (failed, dropped, interrupted), requests,
/// data, CPU and peak memory.
fn overview(l: &LoadReport) -> String {
    let mut s = format!(
        "{} · data sent {}, received {}",
        crate::report::load_overview(l),
        format_bytes(l.bytes_sent as f64),
        format_bytes(l.bytes_received as f64),
    );
    if let Some(cpu) = l.cpu_percent {
        let _ = write!(s, " · process CPU {cpu:.0} %");
    }
    if let Some(rss) = l.peak_rss_bytes {
        let _ = write!(s, " · peak RSS {}", format_bytes(rss as f64));
    }
    s
}

fn row(out: &mut String, name: &str, count: u64, errors: u64, x: &Latency) {
    let _ = writeln!(
        out,
        "| {name} | {count} | {errors} | {} | {} | {} | {} | {} | {} |",
        format_ns(x.mean_ns),
        format_ns(x.p50_ns),
        format_ns(x.p90_ns),
        format_ns(x.p95_ns),
        format_ns(x.p99_ns),
        format_ns(x.max_ns),
    );
}

/// k6's WebSocket counters in one phrase: `ws_sessions 80 of 80 connects, ws_msgs_sent 1600
/// (810/s), ws_msgs_received 1600 (810/s)`.
pub fn ws_counts(ws: &perf_schema::record::load::WsReport) -> String {
    format!(
        "ws_sessions {} of {} connects, ws_msgs_sent {} ({:.0}/s), ws_msgs_received {} ({:.0}/s)",
        ws.ws_sessions,
        ws.ws_connects,
        ws.ws_msgs_sent,
        ws.ws_msgs_sent_per_s,
        ws.ws_msgs_received,
        ws.ws_msgs_received_per_s
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::judge::verdict::Judge;
    use crate::judge::verdict::NewSummary;
    use perf_schema::record::load::{NameReport, Tick};
    use perf_schema::record::{Record, Status, TestId};
    use perf_schema::spec::{Kind, Spec};
    use perf_schema::summary::TestResult;
    use std::collections::BTreeMap;

    fn latency(ms: f64) -> Latency {
        Latency {
            count: 10,
            mean_ns: ms * 1e6,
            min_ns: ms * 0.5e6,
            p50_ns: ms * 1e6,
            p90_ns: ms * 1.5e6,
            p95_ns: ms * 2e6,
            p99_ns: ms * 3e6,
            p999_ns: ms * 4e6,
            max_ns: ms * 5e6,
            histogram: String::new(),
        }
    }

    /// A load test's record: 2 users for 3 s against two request names, with a time series.
    pub(crate) fn load_record() -> Record {
        let load = LoadReport {
            model: Model::Closed,
            base_url: "http://127.0.0.1:1".into(),
            duration_s: 3.0,
            iterations: 300,
            failed_iterations: 3,
            dropped_iterations: 0,
            interrupted_iterations: 1,
            requests: 600,
            failed_requests: 3,
            iterations_per_s: 100.0,
            requests_per_s: 200.0,
            error_rate: 0.01,
            request_error_rate: 0.005,
            errors: BTreeMap::from([("5xx".to_string(), 3)]),
            statuses: BTreeMap::new(),
            checks: Vec::new(),
            iteration: latency(20.0),
            iteration_ok: None,
            iteration_service: None,
            schedule_lag: None,
            requests_by_name: vec![
                NameReport {
                    name: "login".into(),
                    requests: 300,
                    failed: 0,
                    latency: latency(5.0),
                    corrected: None,
                },
                NameReport {
                    name: "browse|all".into(),
                    requests: 300,
                    failed: 3,
                    latency: latency(12.0),
                    corrected: None,
                },
            ],
            bytes_sent: 2048,
            bytes_received: 3 * 1024 * 1024,
            peak_users: 2,
            workers: Some(1),
            timeline: (1..=3)
                .map(|s| Tick {
                    t_s: s as f64,
                    users: 2,
                    iterations: 100 * s,
                    requests: 200 * s,
                    failed_iterations: s,
                    dropped: 0,
                    cpu_percent: Some(40.0),
                    rss_bytes: Some(30 << 20),
                    open_fds: Some(12),
                    threads: Some(4),
                    p50_ns: Some(18e6 + s as f64 * 1e6),
                    p95_ns: Some(30e6 + s as f64 * 2e6),
                    service: None,
                })
                .collect(),
            cpu_percent: Some(41.0),
            peak_rss_bytes: Some(31 << 20),
            first_errors: Vec::new(),
            interrupted: false,
            shard: None,
            request_thresholds: Vec::new(),
            service_process: None,
            websocket: None,
        };
        Record {
            load: Some(load),
            ..Record::new(
                TestId {
                    package: "p".into(),
                    target: "load".into(),
                    name: "browse".into(),
                    file: "tests/load.rs".into(),
                    line: 3,
                },
                Spec {
                    kind: Kind::Load,
                    ..Spec::MICRO
                },
                Status::Measured,
            )
        }
    }

    #[test]
    fn every_load_test_gets_its_breakdown_by_request_name() {
        let summary = Summary::new(
            0,
            1.0,
            "bench".into(),
            vec![TestResult::judge(load_record())],
        );
        let md = section(&summary);
        assert!(md.starts_with("\n### Load tests\n"), "{md}");
        for want in [
            "`load::browse`: closed model, 2 users, 3.0s · 300 iterations (100.0/s), 3 failed \
             (1.00%), 0 dropped, 1 interrupted · 600 requests (200.0/s), 3 failed · data sent \
             2.0KiB, received 3.0MiB · process CPU 41 % · peak RSS 31.0MiB",
            "| Request | Count | Errors | Mean | p50 | p90 | p95 | p99 | Max |",
            "| *iteration* | 300 | 3 | 20.00ms | 20.00ms | 30.00ms | 40.00ms | 60.00ms | 100.0ms |",
            "| `login` | 300 | 0 | 5.000ms | 5.000ms | 7.500ms | 10.00ms | 15.00ms | 25.00ms |",
            "| `browse\\|all` | 300 | 3 |",
            "Errors by kind: 5xx 3.",
        ] {
            assert!(md.contains(want), "missing `{want}` in:\n{md}");
        }
        let none = Summary::new(0, 1.0, "bench".into(), Vec::new());
        assert_eq!(section(&none), "");
    }
}
