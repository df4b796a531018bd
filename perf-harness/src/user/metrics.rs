//! What one worker's virtual users measure: histograms per request name and for iterations,
//! counters by error kind and status. Users of a worker share it through a `RefCell` on one
//! thread (no lock, no channel per request); workers' metrics are merged with `add()` at the end.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use hdrhistogram::Histogram;

use crate::record::load::{CheckReport, Latency, NameReport};
use crate::spec::{NamedThreshold, Threshold};
use crate::stats::new_histogram;

/// Why a request or an iteration failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// The TCP connection could not be made (refused, unreachable).
    Connect,
    /// The request timed out in the HTTP client.
    Timeout,
    /// TLS handshake or certificate problem.
    Tls,
    /// The server answered 400..=499.
    Status4xx,
    /// The server answered 500..=599.
    Status5xx,
    /// The server reset or closed the connection before a whole response head arrived.
    Closed,
    /// The response body could not be read whole (connection reset or closed in the middle).
    Body,
    /// Any other transport failure (bad URL, redirect loop, protocol error).
    Request,
    /// The body panicked.
    Panic,
    /// The body returned `Err`.
    Error,
    /// The iteration ran over the test's `timeout` and was cancelled.
    IterationTimeout,
    /// A `user.check(..)` failed.
    Check,
    /// A WebSocket server answered the upgrade request with something other than 101.
    WsUpgrade,
    /// A WebSocket closed (or was reset) while the test still sent or waited on it.
    WsClosed,
    /// A WebSocket message, pong or close the test waited for did not come in time.
    WsTimeout,
}

impl ErrorKind {
    /// The name used in records and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Tls => "tls",
            ErrorKind::Status4xx => "4xx",
            ErrorKind::Status5xx => "5xx",
            ErrorKind::Closed => "closed",
            ErrorKind::Body => "body",
            ErrorKind::Request => "request",
            ErrorKind::Panic => "panic",
            ErrorKind::Error => "error",
            ErrorKind::IterationTimeout => "iteration_timeout",
            ErrorKind::Check => "check",
            ErrorKind::WsUpgrade => "ws_upgrade",
            ErrorKind::WsClosed => "ws_closed",
            ErrorKind::WsTimeout => "ws_timeout",
        }
    }

    /// The kind of an HTTP status, if it is a failure.
    pub fn of_status(status: u16) -> Option<ErrorKind> {
        match status {
            400..=499 => Some(ErrorKind::Status4xx),
            500..=599 => Some(ErrorKind::Status5xx),
            _ => None,
        }
    }
}

/// Requests of one name on one worker.
pub struct NameMetrics {
    /// Service time of each request.
    pub service: Histogram<u64>,
    /// Service time plus the iteration's delay behind schedule.
    pub corrected: Histogram<u64>,
    /// Requests sent.
    pub requests: u64,
    /// Requests failed.
    pub failed: u64,
}

impl NameMetrics {
    fn new() -> NameMetrics {
        NameMetrics {
            service: new_histogram(),
            corrected: new_histogram(),
            requests: 0,
            failed: 0,
        }
    }
}

/// Everything one worker measured.
pub struct Metrics {
    /// Per request name.
    pub names: HashMap<Cow<'static, str>, NameMetrics>,
    /// Iteration time from the scheduled start.
    pub iteration: Histogram<u64>,
    /// Iteration time from the scheduled start, of the iterations that succeeded.
    pub iteration_ok: Histogram<u64>,
    /// Iteration time from the actual start.
    pub iteration_service: Histogram<u64>,
    /// How late each iteration started behind its schedule (the generator's lag).
    pub schedule_lag: Histogram<u64>,
    /// Iteration time from the scheduled start since the timeline's last point (the live p50
    /// and p95; emptied at each point, never merged or reported).
    pub since_tick: Histogram<u64>,
    /// Completed iterations.
    pub iterations: u64,
    /// Failed iterations.
    pub failed_iterations: u64,
    /// Requests sent.
    pub requests: u64,
    /// Requests failed.
    pub failed_requests: u64,
    /// Failures by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// Responses by status.
    pub statuses: BTreeMap<u16, u64>,
    /// Check name → (passes, fails).
    pub checks: BTreeMap<String, (u64, u64)>,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Bytes received.
    pub bytes_received: u64,
    /// Up to `MAX_MESSAGES` distinct error messages.
    pub messages: Vec<String>,
    /// Iterations that panicked.
    pub panics: u64,
    /// Per-name thresholds declared by `.threshold(..)` on requests, each once.
    pub request_thresholds: Vec<NamedThreshold>,
    /// `.threshold(..)` texts already seen, with the request name: parsed once, not per call.
    seen_thresholds: Vec<(String, String)>,
    /// `.threshold(..)` texts that do not parse, with the reason: they fail the test.
    pub threshold_errors: Vec<String>,
    /// WebSocket counters (k6's `ws_sessions`, `ws_msgs_sent`, `ws_msgs_received`); `None`
    /// until a user opens a socket.
    pub ws: Option<WsCounts>,
}

/// What one worker's WebSockets counted; their times are named rows in `names`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WsCounts {
    /// Connections attempted (`ws.connect()` calls).
    pub connects: u64,
    /// Sessions opened (upgrades that succeeded).
    pub sessions: u64,
    /// Data messages sent.
    pub msgs_sent: u64,
    /// Data messages received.
    pub msgs_received: u64,
}

impl WsCounts {
    fn add(&mut self, other: WsCounts) {
        self.connects += other.connects;
        self.sessions += other.sessions;
        self.msgs_sent += other.msgs_sent;
        self.msgs_received += other.msgs_received;
    }
}

/// Distinct error messages kept for the report.
const MAX_MESSAGES: usize = 5;

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            names: HashMap::new(),
            iteration: new_histogram(),
            iteration_ok: new_histogram(),
            iteration_service: new_histogram(),
            schedule_lag: new_histogram(),
            since_tick: new_histogram(),
            iterations: 0,
            failed_iterations: 0,
            requests: 0,
            failed_requests: 0,
            errors: BTreeMap::new(),
            statuses: BTreeMap::new(),
            checks: BTreeMap::new(),
            bytes_sent: 0,
            bytes_received: 0,
            messages: Vec::new(),
            panics: 0,
            request_thresholds: Vec::new(),
            seen_thresholds: Vec::new(),
            threshold_errors: Vec::new(),
            ws: None,
        }
    }
}

impl Metrics {
    /// Records one request: its name, status (0 without a response), failure and times.
    pub fn record_request(&mut self, name: &str, outcome: RequestOutcome) {
        self.requests += 1;
        self.bytes_sent += outcome.bytes_sent;
        self.bytes_received += outcome.bytes_received;
        if outcome.status != 0 {
            *self.statuses.entry(outcome.status).or_insert(0) += 1;
        }
        if let Some(kind) = outcome.error {
            self.failed_requests += 1;
            *self.errors.entry(kind).or_insert(0) += 1;
        }
        self.record_named(
            name,
            outcome.service_ns,
            outcome.lag_ns,
            outcome.error.is_some(),
        );
    }

    /// Records a timed operation under `name` that is not an HTTP request (a WebSocket message
    /// exchange, ping, session or connect time): its row in `names`, not the request totals.
    pub fn record_named(&mut self, name: &str, service_ns: u64, lag_ns: u64, failed: bool) {
        let entry = match self.names.get_mut(name) {
            Some(e) => e,
            None => self
                .names
                .entry(Cow::Owned(name.to_string()))
                .or_insert_with(NameMetrics::new),
        };
        entry.requests += 1;
        entry.failed += u64::from(failed);
        entry.service.saturating_record(service_ns.max(1));
        entry
            .corrected
            .saturating_record((service_ns + lag_ns).max(1));
    }

    /// Counts a failure of a named operation that is not an HTTP request, with its message.
    pub fn record_error(&mut self, kind: ErrorKind, message: impl FnOnce() -> String) {
        *self.errors.entry(kind).or_insert(0) += 1;
        self.note(message);
    }

    /// The WebSocket counters, created at the first socket.
    pub fn ws_counts(&mut self) -> &mut WsCounts {
        self.ws.get_or_insert_with(WsCounts::default)
    }

    /// Records one finished iteration.
    pub fn record_iteration(&mut self, times: IterationTimes, failed: bool) {
        self.iterations += 1;
        self.failed_iterations += u64::from(failed);
        self.iteration.saturating_record(times.corrected_ns.max(1));
        self.since_tick.saturating_record(times.corrected_ns.max(1));
        if !failed {
            self.iteration_ok
                .saturating_record(times.corrected_ns.max(1));
        }
        self.iteration_service
            .saturating_record(times.service_ns.max(1));
        self.schedule_lag.saturating_record(times.lag_ns);
    }

    /// Counts a failure of the iteration itself (panic, `Err`, timeout) with its message.
    pub fn record_failure(&mut self, kind: ErrorKind, message: impl FnOnce() -> String) {
        *self.errors.entry(kind).or_insert(0) += 1;
        if kind == ErrorKind::Panic {
            self.panics += 1;
        }
        self.note(message);
    }

    /// Keeps a message if fewer than `MAX_MESSAGES` distinct ones are kept.
    pub fn note(&mut self, message: impl FnOnce() -> String) {
        if self.messages.len() < MAX_MESSAGES {
            let m = message();
            if !self.messages.contains(&m) {
                self.messages.push(m);
            }
        }
    }

    /// Declares a per-name threshold in k6's grammar (`"p(95) < 300ms"`, `"rate < 0.01"`) on
    /// the requests named `name`; a text that does not parse is kept as an error that fails
    /// the test. Each (name, text) pair is parsed once, however often the body repeats it.
    pub fn declare_threshold(&mut self, name: &str, text: &str) {
        if self
            .seen_thresholds
            .iter()
            .any(|(n, t)| n == name && t == text)
        {
            return;
        }
        self.seen_thresholds
            .push((name.to_string(), text.to_string()));
        match parse_request_threshold(text) {
            Ok(threshold) => {
                let named = NamedThreshold {
                    name: Cow::Owned(name.to_string()),
                    threshold,
                };
                if !self.request_thresholds.contains(&named) {
                    self.request_thresholds.push(named);
                }
            }
            Err(e) => self
                .threshold_errors
                .push(format!("`.threshold(\"{text}\")` on request `{name}`: {e}")),
        }
    }

    /// Records a check.
    pub fn record_check(&mut self, name: &str, passed: bool) {
        let e = match self.checks.get_mut(name) {
            Some(e) => e,
            None => self.checks.entry(name.to_string()).or_insert((0, 0)),
        };
        if passed {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }

    /// Adds another worker's metrics into these (histograms with `add`, counters summed).
    pub fn merge(&mut self, other: Metrics) {
        for (name, m) in other.names {
            match self.names.get_mut(&name) {
                Some(e) => {
                    add_histogram(&mut e.service, &m.service);
                    add_histogram(&mut e.corrected, &m.corrected);
                    e.requests += m.requests;
                    e.failed += m.failed;
                }
                None => {
                    self.names.insert(name, m);
                }
            }
        }
        add_histogram(&mut self.iteration, &other.iteration);
        add_histogram(&mut self.iteration_ok, &other.iteration_ok);
        add_histogram(&mut self.iteration_service, &other.iteration_service);
        add_histogram(&mut self.schedule_lag, &other.schedule_lag);
        self.iterations += other.iterations;
        self.failed_iterations += other.failed_iterations;
        self.requests += other.requests;
        self.failed_requests += other.failed_requests;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_insert(0) += v;
        }
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_insert(0) += v;
        }
        for (k, (p, f)) in other.checks {
            let e = self.checks.entry(k).or_insert((0, 0));
            e.0 += p;
            e.1 += f;
        }
        self.bytes_sent += other.bytes_sent;
        self.bytes_received += other.bytes_received;
        self.panics += other.panics;
        if let Some(ws) = other.ws {
            self.ws_counts().add(ws);
        }
        for (name, text) in other.seen_thresholds {
            self.declare_threshold(&name, &text);
        }
        for m in other.messages {
            self.note(|| m);
        }
    }

    /// Per-name reports, sorted by name; `open` adds the corrected latency.
    pub fn name_reports(&self, open: bool) -> Vec<NameReport> {
        let mut out: Vec<NameReport> = self
            .names
            .iter()
            .map(|(name, m)| NameReport {
                name: name.to_string(),
                requests: m.requests,
                failed: m.failed,
                latency: Latency::of(&m.service),
                corrected: open.then(|| Latency::of(&m.corrected)),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Check reports, sorted by name.
    pub fn check_reports(&self) -> Vec<CheckReport> {
        self.checks
            .iter()
            .map(|(name, &(passes, fails))| CheckReport {
                name: name.clone(),
                passes,
                fails,
            })
            .collect()
    }
}

/// A request's threshold: k6's `aggregate < value` without a metric (the request it is
/// declared on names it), e.g. `p(95) < 300ms`, `avg < 50ms`, `max <= 1s`, `rate < 0.01`.
pub fn parse_request_threshold(text: &str) -> Result<Threshold, String> {
    use perf_schema::grammar::k6::{self, Condition};
    let parsed = k6::parse(text)?;
    if parsed.name.is_some() || text.contains(':') {
        return Err(
            "a request's threshold applies to that request's name: write only the condition, \
             e.g. `.threshold(\"p(95) < 300ms\")` (no metric, no `{name:..}`)"
                .into(),
        );
    }
    Ok(match parsed.condition {
        Condition::Mean(limit_ns) => Threshold::Mean { limit_ns },
        Condition::Median(limit_ns) => Threshold::Median { limit_ns },
        Condition::Max(limit_ns) => Threshold::Max { limit_ns },
        Condition::Percentile(percentile, limit_ns) => Threshold::Percentile {
            percentile,
            limit_ns,
        },
        Condition::ErrorRate(max) => Threshold::ErrorRate { max },
    })
}

/// The times of one iteration, nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IterationTimes {
    /// From its slot in the schedule to its end (corrected for coordinated omission).
    pub corrected_ns: u64,
    /// From its actual start to its end.
    pub service_ns: u64,
    /// From its slot in the schedule to its actual start: the generator's lag.
    pub lag_ns: u64,
}

/// One request as the user's client saw it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestOutcome {
    /// HTTP status, 0 when no response arrived.
    pub status: u16,
    /// The failure, if any.
    pub error: Option<ErrorKind>,
    /// Send to end of body, nanoseconds.
    pub service_ns: u64,
    /// How late the iteration started behind its schedule, nanoseconds.
    pub lag_ns: u64,
    /// Bytes sent (approximate).
    pub bytes_sent: u64,
    /// Bytes received (approximate).
    pub bytes_received: u64,
}

/// Adds `from` into `into`.
pub(crate) fn add_histogram(into: &mut Histogram<u64>, from: &Histogram<u64>) {
    // Both auto-resize with the same precision, so `add` cannot fail on range; saturate anyway.
    if into.add(from).is_err() {
        for v in from.iter_recorded() {
            into.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(status: u16, ns: u64, lag: u64) -> RequestOutcome {
        RequestOutcome {
            status,
            error: ErrorKind::of_status(status),
            service_ns: ns,
            lag_ns: lag,
            bytes_sent: 10,
            bytes_received: 100,
        }
    }

    #[test]
    fn merging_two_workers_equals_recording_everything_in_one() {
        let mut all = Metrics::default();
        let mut a = Metrics::default();
        let mut b = Metrics::default();
        for i in 1..=1000u64 {
            let r = request(if i % 100 == 0 { 503 } else { 200 }, i * 1000, i);
            all.record_request("list", r);
            if i % 2 == 0 { &mut a } else { &mut b }.record_request("list", r);
            let times = IterationTimes {
                corrected_ns: i * 1000 + i,
                service_ns: i * 1000,
                lag_ns: i,
            };
            all.record_iteration(times, r.error.is_some());
            if i % 2 == 0 { &mut a } else { &mut b }.record_iteration(times, r.error.is_some());
        }
        b.record_request("login", request(401, 5, 0));
        all.record_request("login", request(401, 5, 0));
        a.merge(b);
        assert_eq!(a.requests, 1001);
        assert_eq!(a.failed_requests, 11);
        assert_eq!(a.errors[&ErrorKind::Status5xx], 10);
        assert_eq!(a.errors[&ErrorKind::Status4xx], 1);
        assert_eq!(a.statuses[&200], 990);
        assert_eq!(a.bytes_received, 100_100);
        assert_eq!(a.iterations, 1000);
        assert_eq!(a.failed_iterations, 10);
        let (m, w) = (&a.names["list"], &all.names["list"]);
        assert_eq!(m.service, w.service);
        assert_eq!(m.corrected, w.corrected);
        assert_eq!(a.iteration, all.iteration);
        assert_eq!(a.schedule_lag, all.schedule_lag);
        assert_eq!(a.schedule_lag.len(), 1000);
        assert_eq!(a.schedule_lag.max(), 1000);
        assert_eq!(
            m.service.value_at_quantile(0.95),
            w.service.value_at_quantile(0.95)
        );
        assert_eq!(a.names["login"].failed, 1);
    }

    #[test]
    fn corrected_time_adds_the_schedule_lag() {
        let mut m = Metrics::default();
        m.record_request("x", request(200, 1_000_000, 4_000_000));
        let n = &m.names["x"];
        assert_eq!(n.service.max(), n.service.highest_equivalent(1_000_000));
        assert_eq!(n.corrected.max(), n.corrected.highest_equivalent(5_000_000));
    }

    #[test]
    fn request_thresholds_parse_once_and_bad_ones_are_explained() {
        let mut m = Metrics::default();
        for _ in 0..3 {
            m.declare_threshold("login", "p(95) < 300ms");
        }
        m.declare_threshold("login", "rate < 0.01");
        m.declare_threshold("search", "p(95) < 300ms");
        let t: Vec<(&str, Threshold)> = m
            .request_thresholds
            .iter()
            .map(|n| (n.name.as_ref(), n.threshold))
            .collect();
        assert_eq!(
            t,
            vec![
                (
                    "login",
                    Threshold::Percentile {
                        percentile: 95.0,
                        limit_ns: 300_000_000
                    }
                ),
                ("login", Threshold::ErrorRate { max: 0.01 }),
                (
                    "search",
                    Threshold::Percentile {
                        percentile: 95.0,
                        limit_ns: 300_000_000
                    }
                ),
            ]
        );
        assert!(m.threshold_errors.is_empty());
        m.declare_threshold("login", "p95 < 300ms");
        m.declare_threshold("login", "http_req_duration{name:x}: p(95) < 1s");
        assert_eq!(m.threshold_errors.len(), 2);
        assert!(
            m.threshold_errors[0].contains("`.threshold(\"p95 < 300ms\")` on request `login`")
                && m.threshold_errors[0].contains("valid: avg, med, max, p(N), rate"),
            "{:?}",
            m.threshold_errors
        );
        assert!(m.threshold_errors[1].contains("write only the condition"));
    }

    #[test]
    fn checks_and_messages_are_counted_and_bounded() {
        let mut m = Metrics::default();
        m.record_check("is 200", true);
        m.record_check("is 200", false);
        m.record_check("is 200", true);
        assert_eq!(m.check_reports()[0].passes, 2);
        assert_eq!(m.check_reports()[0].fails, 1);
        for i in 0..10 {
            m.record_failure(ErrorKind::Panic, || format!("boom {}", i % 7));
        }
        assert_eq!(m.messages.len(), MAX_MESSAGES);
        assert_eq!(m.panics, 10);
    }
}
