//! The record of one load test: counts, rates, error breakdown, latency per request name and for
//! iterations, the time series and process resources. Part of the stable `record` schema.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Closed (users loop) or open (iterations start on a schedule) workload model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// A fixed (or staged) number of users, each starting its next iteration when the last ends.
    Closed,
    /// Iterations start at a fixed (or staged) rate whether or not earlier ones finished.
    Open,
}

/// Latency summary of one histogram, with the histogram itself (HdrHistogram V2, base64) so
/// runs and shards can be merged exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Recorded values.
    pub count: u64,
    /// Mean, nanoseconds (from the histogram).
    pub mean_ns: f64,
    /// Fastest value, nanoseconds.
    pub min_ns: f64,
    /// Median, nanoseconds.
    pub p50_ns: f64,
    /// 90th percentile, nanoseconds.
    pub p90_ns: f64,
    /// 95th percentile, nanoseconds.
    pub p95_ns: f64,
    /// 99th percentile, nanoseconds.
    pub p99_ns: f64,
    /// 99.9th percentile, nanoseconds.
    pub p999_ns: f64,
    /// Slowest value, nanoseconds.
    pub max_ns: f64,
    /// The histogram, V2 format, base64.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub histogram: String,
}

/// Requests of one name (`.name("login")`, or method and path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NameReport {
    /// The request name.
    pub name: String,
    /// Requests sent.
    pub requests: u64,
    /// Requests that failed (transport error or status >= 400).
    pub failed: u64,
    /// Time from sending to the end of the body (service time).
    pub latency: Latency,
    /// Open model: the same plus the iteration's delay behind its schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected: Option<Latency>,
}

/// Passes and failures of one `user.check(name, ..)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// The check's name.
    pub name: String,
    /// Times the condition held.
    pub passes: u64,
    /// Times it did not.
    pub fails: u64,
}

/// One point of the per-second time series (cumulative counts since the start).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tick {
    /// Seconds since the load started.
    pub t_s: f64,
    /// Virtual users busy or looping at that moment.
    pub users: u64,
    /// Iterations completed so far.
    pub iterations: u64,
    /// Requests completed so far.
    pub requests: u64,
    /// Failed iterations so far.
    pub failed_iterations: u64,
    /// Dropped iterations so far (open model).
    pub dropped: u64,
    /// CPU use of the test process over the last interval, percent of one core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    /// Resident memory of the test process, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
    /// File descriptors the test process holds open (sockets included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_fds: Option<u64>,
    /// Threads of the test process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u64>,
    /// Median of the iterations completed since the previous point, nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ns: Option<f64>,
    /// 95th percentile of the iterations completed since the previous point, nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_ns: Option<f64>,
    /// The service's own process at that moment (`cargo perf --service-pid`); absent when it
    /// is not watched, or no longer runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ProcessTick>,
}

/// One reading of a process other than the test's; each figure is absent where the platform
/// does not give it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessTick {
    /// CPU use over the last interval, percent of one core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    /// Resident memory, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
    /// Open file descriptors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_fds: Option<u64>,
    /// Threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u64>,
}

/// The service under test as a process of its own, watched during the load (`cargo perf
/// --service-pid PID`). Without it the service ran in the test process (its `setup`) or was not
/// watched, and the test process's figures are the only ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceProcess {
    /// Its process id.
    pub pid: u32,
    /// Mean CPU use during the load, percent of one core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    /// Peak resident memory, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// Seconds into the load when it was found gone (exited, or a zombie); absent while it ran
    /// to the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exited_after_s: Option<f64>,
}

/// Everything a load test measured besides the iteration statistics in `Record::stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Closed or open model.
    pub model: Model,
    /// The service the users talked to.
    pub base_url: String,
    /// Wall time of the load phase, seconds (graceful stop included).
    pub duration_s: f64,
    /// Iterations that ran to the end (successfully or not).
    pub iterations: u64,
    /// Iterations that failed: a panic, an `Err`, the `timeout`, a failed request or check.
    pub failed_iterations: u64,
    /// Open model: scheduled starts with no free user (never silently skipped).
    pub dropped_iterations: u64,
    /// Iterations still running when the graceful stop ended (not counted in `iterations`).
    pub interrupted_iterations: u64,
    /// Requests sent through `User`.
    pub requests: u64,
    /// Requests that failed (transport error or status >= 400).
    pub failed_requests: u64,
    /// Completed iterations per second.
    pub iterations_per_s: f64,
    /// Completed requests per second.
    pub requests_per_s: f64,
    /// `failed_iterations / iterations` (the `max_error_rate` threshold).
    pub error_rate: f64,
    /// `failed_requests / requests`.
    pub request_error_rate: f64,
    /// Failures by kind: connect, timeout, tls, 4xx, 5xx, body, request, panic, error,
    /// iteration_timeout, check.
    pub errors: BTreeMap<String, u64>,
    /// Responses by HTTP status.
    pub statuses: BTreeMap<String, u64>,
    /// `user.check(..)` results.
    #[serde(default)]
    pub checks: Vec<CheckReport>,
    /// Iteration latency: from the scheduled start (open model: corrected for coordinated
    /// omission) to the end of the iteration.
    pub iteration: Latency,
    /// Iteration latency (from the scheduled start, as `iteration`) of the iterations that
    /// succeeded: what change verdicts compare, so iterations that fail fast (a refused
    /// connection) or slow (a timeout) never pass for a change of speed. Absent in records
    /// written before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration_ok: Option<Latency>,
    /// Open model: iteration latency from its actual start (service time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iteration_service: Option<Latency>,
    /// The generator's own lag: how late each iteration started behind its slot in the
    /// schedule (open model: its arrival; closed model: the end of its think time). Absent in
    /// records written before it was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_lag: Option<Latency>,
    /// Requests by name.
    #[serde(default)]
    pub requests_by_name: Vec<NameReport>,
    /// Bytes sent: request line, headers and body (approximate: no TLS or framing overhead).
    pub bytes_sent: u64,
    /// Bytes received: status line, headers and body.
    pub bytes_received: u64,
    /// Most virtual users that existed at once.
    pub peak_users: u64,
    /// Generator threads the users or arrivals were spread over (summed over merged shards);
    /// absent in records made before there could be more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u64>,
    /// Per-second time series.
    #[serde(default)]
    pub timeline: Vec<Tick>,
    /// Mean CPU use of the test process during the load, percent of one core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_percent: Option<f64>,
    /// Peak resident memory of the test process, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_bytes: Option<u64>,
    /// The first few distinct error messages, for the report.
    #[serde(default)]
    pub first_errors: Vec<String>,
    /// Stopped early by Ctrl-C.
    #[serde(default)]
    pub interrupted: bool,
    /// `cargo perf --shard I/N`: which part of the load this record holds (absent for the
    /// whole load, and after `cargo perf merge`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<super::shard::ShardPart>,
    /// Per-name thresholds the body declared with `.threshold(..)` on a request.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_thresholds: Vec<crate::spec::NamedThreshold>,
    /// The service's own process, when `cargo perf --service-pid` watched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_process: Option<ServiceProcess>,
    /// k6's WebSocket counters, when the test's users opened sockets; the times
    /// (`ws_connecting`, `ws_session_duration`, `ws_ping`, each exchange) are by-name rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websocket: Option<WsReport>,
}

/// What a load test's WebSockets counted, under k6's metric names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WsReport {
    /// Upgrades attempted.
    pub ws_connects: u64,
    /// Sessions opened (upgrades that succeeded).
    pub ws_sessions: u64,
    /// Data messages sent.
    pub ws_msgs_sent: u64,
    /// Data messages received.
    pub ws_msgs_received: u64,
    /// Data messages sent per second of the test.
    pub ws_msgs_sent_per_s: f64,
    /// Data messages received per second of the test.
    pub ws_msgs_received_per_s: f64,
}

impl LoadReport {
    /// The requests of one name.
    pub fn by_name(&self, name: &str) -> Option<&NameReport> {
        self.requests_by_name.iter().find(|n| n.name == name)
    }
}
