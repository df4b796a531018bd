//! What a `#[perf_test]` asks for: its kind, its shape (samples, warm-up) and its thresholds.
//!
//! The macro validates the attribute at compile time and emits a `Spec` as a constant; records
//! carry the same type back to `cargo perf`, so the schema is defined once.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::unit::Unit;

/// How a perf test is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Repeated batches on criterion's engine; statistics are criterion's estimates.
    Micro,
    /// One timed call per sample into an HDR histogram (latency and database timing).
    Latency,
    /// Virtual users or an arrival rate driving an async body against an HTTP service.
    Load,
}

impl Kind {
    /// Short lower-case name used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Micro => "micro",
            Kind::Latency => "latency",
            Kind::Load => "load",
        }
    }
}

/// One condition a measurement must meet; all thresholds of a test must hold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "metric", rename_all = "snake_case")]
pub enum Threshold {
    /// Mean time per call at most `limit_ns`.
    Mean {
        /// Upper bound in nanoseconds.
        limit_ns: u64,
    },
    /// Median time per call at most `limit_ns`.
    Median {
        /// Upper bound in nanoseconds.
        limit_ns: u64,
    },
    /// A percentile (50, 75, 90, 95, 99, 99.9) of call times at most `limit_ns`.
    Percentile {
        /// The percentile, 0..=100.
        percentile: f64,
        /// Upper bound in nanoseconds.
        limit_ns: u64,
    },
    /// Slowest recorded call at most `limit_ns`.
    Max {
        /// Upper bound in nanoseconds.
        limit_ns: u64,
    },
    /// No timed call issues more than `limit` database statements (`max_queries`).
    MaxQueries {
        /// Upper bound on statements per call.
        limit: u64,
    },
    /// Statements per call must not grow with the fixture's size (`n_plus_one = "deny"`).
    NPlusOne,
    /// Load tests: share of failed iterations at most `max` (0..=1).
    ErrorRate {
        /// Upper bound, a fraction.
        max: f64,
    },
    /// Load tests: completed iterations per second at least `min_per_s`.
    Throughput {
        /// Lower bound, iterations per second.
        min_per_s: f64,
    },
    /// Load tests: peak resident memory of the test process at most `max_bytes`.
    Rss {
        /// Upper bound in bytes.
        max_bytes: u64,
    },
    /// Load tests: mean CPU use of the test process at most `max_percent` (100 = one core).
    Cpu {
        /// Upper bound in percent of one core.
        max_percent: f64,
    },
    /// Load tests: the trend of the test process's RSS after warm-up, fitted through the
    /// minima of successive windows (so a sawtooth of allocations and frees is no trend), at
    /// most `max_bytes_per_h`.
    RssGrowth {
        /// Upper bound in bytes per hour.
        max_bytes_per_h: f64,
    },
    /// Load tests with a spike stage: from the end of the spike, the time until the per-second
    /// p95 is back under the `p95` threshold (and stays there) at most `limit_ns`.
    Recovery {
        /// Upper bound in nanoseconds.
        limit_ns: u64,
    },
}

impl Threshold {
    /// The attribute key that declares this threshold (`p95`, `median`, ...).
    pub fn key(&self) -> String {
        match self {
            Threshold::Mean { .. } => "mean".into(),
            Threshold::Median { .. } => "median".into(),
            Threshold::Max { .. } => "max".into(),
            Threshold::Percentile { percentile, .. } => percentile_key(*percentile),
            Threshold::MaxQueries { .. } => "max_queries".into(),
            Threshold::NPlusOne => "n_plus_one".into(),
            Threshold::ErrorRate { .. } => "error_rate".into(),
            Threshold::Throughput { .. } => "throughput".into(),
            Threshold::Rss { .. } => "rss".into(),
            Threshold::Cpu { .. } => "cpu".into(),
            Threshold::Recovery { .. } => "recovery".into(),
            Threshold::RssGrowth { .. } => "rss_growth".into(),
        }
    }

    /// The bound in [`Threshold::unit`]: nanoseconds for times, a count for `MaxQueries`, 0 for
    /// `NPlusOne` (no growth), the fraction, rate, bytes or percent of the others.
    pub fn limit(&self) -> f64 {
        match *self {
            Threshold::Mean { limit_ns }
            | Threshold::Median { limit_ns }
            | Threshold::Max { limit_ns }
            | Threshold::Percentile { limit_ns, .. }
            | Threshold::Recovery { limit_ns } => limit_ns as f64,
            Threshold::MaxQueries { limit } => limit as f64,
            Threshold::NPlusOne => 0.0,
            Threshold::ErrorRate { max } => max,
            Threshold::Throughput { min_per_s } => min_per_s,
            Threshold::Rss { max_bytes } => max_bytes as f64,
            Threshold::Cpu { max_percent } => max_percent,
            Threshold::RssGrowth { max_bytes_per_h } => max_bytes_per_h,
        }
    }

    /// The unit of the bound and of the value measured against it.
    pub fn unit(&self) -> Unit {
        match self {
            Threshold::Mean { .. }
            | Threshold::Median { .. }
            | Threshold::Max { .. }
            | Threshold::Percentile { .. }
            | Threshold::Recovery { .. } => Unit::Nanoseconds,
            Threshold::MaxQueries { .. } | Threshold::NPlusOne => Unit::Count,
            Threshold::ErrorRate { .. } => Unit::Fraction,
            Threshold::Throughput { .. } => Unit::PerSecond,
            Threshold::Rss { .. } => Unit::Bytes,
            Threshold::Cpu { .. } => Unit::Percent,
            Threshold::RssGrowth { .. } => Unit::BytesPerHour,
        }
    }

    /// Whether this bounds a time per call (mean, median, a percentile, the maximum).
    pub fn is_time(&self) -> bool {
        matches!(
            self,
            Threshold::Mean { .. }
                | Threshold::Median { .. }
                | Threshold::Max { .. }
                | Threshold::Percentile { .. }
        )
    }

    /// Whether this bounds a count of statements rather than a time.
    pub fn is_count(&self) -> bool {
        matches!(self, Threshold::MaxQueries { .. } | Threshold::NPlusOne)
    }

    /// Whether `measured` (in this threshold's unit) meets it; bounds are inclusive, and only
    /// throughput is a lower bound.
    pub fn holds(&self, measured: f64) -> bool {
        match self {
            Threshold::Throughput { .. } => measured >= self.limit(),
            _ => measured <= self.limit(),
        }
    }

    /// A measured value in this threshold's unit, for people: `45.30ms`, `1.20%`, `812.0/s`,
    /// `3 in the busiest call`.
    pub fn format_value(&self, value: f64) -> String {
        match self {
            Threshold::MaxQueries { .. } => format!("{value:.0} in the busiest call"),
            Threshold::NPlusOne => format!("{value:+.0} per call at double the rows"),
            Threshold::ErrorRate { .. } => format!("{:.2}%", value * 100.0),
            Threshold::Throughput { .. } => format!("{value:.1}/s"),
            Threshold::Rss { .. } => format_bytes(value),
            Threshold::Cpu { .. } => format!("{value:.0}%"),
            Threshold::RssGrowth { .. } => format!("{}/h", format_signed_bytes(value)),
            _ => format_ns(value),
        }
    }

    /// The limit as the attribute writes it: `50ms`, `2`, `"deny"`.
    fn limit_text(&self) -> String {
        match self {
            Threshold::MaxQueries { limit } => limit.to_string(),
            Threshold::NPlusOne => "\"deny\"".into(),
            Threshold::Mean { limit_ns }
            | Threshold::Median { limit_ns }
            | Threshold::Max { limit_ns }
            | Threshold::Percentile { limit_ns, .. }
            | Threshold::Recovery { limit_ns } => format_exact_ns(*limit_ns),
            _ => trim_float(self.limit()),
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Threshold::NPlusOne => f.write_str("n_plus_one = \"deny\" (no growth with the data)"),
            Threshold::ErrorRate { max } => write!(f, "error_rate <= {}", trim_float(max)),
            Threshold::Throughput { min_per_s } => {
                write!(f, "throughput >= {}/s", trim_float(min_per_s))
            }
            Threshold::Rss { max_bytes } => {
                write!(f, "rss <= {}", format_bytes(max_bytes as f64))
            }
            Threshold::Cpu { max_percent } => write!(f, "cpu <= {}%", trim_float(max_percent)),
            Threshold::RssGrowth { max_bytes_per_h } => {
                write!(f, "rss_growth <= {}/h", format_bytes(max_bytes_per_h))
            }
            _ => write!(f, "{} <= {}", self.key(), self.limit_text()),
        }
    }
}

/// `0.01` → `0.01`, `200.0` → `200`: the number as a user would type it.
fn trim_float(v: f64) -> String {
    format!("{v}")
}

/// Bytes with a binary unit and a sign when negative: `-1.5MiB`, `230.4MiB`.
fn format_signed_bytes(bytes: f64) -> String {
    if bytes < 0.0 {
        format!("-{}", format_bytes(-bytes))
    } else {
        format_bytes(bytes)
    }
}

/// Bytes with a binary unit: `812B`, `1.5KiB`, `230.4MiB`.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = bytes;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{v:.0}B")
    } else {
        format!("{v:.1}{}", UNITS[unit])
    }
}

/// Whether a load test's stages ramp virtual users (closed model) or the arrival rate (open).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ramp {
    /// Stages give numbers of virtual users: `"10s:0..50, 30s:50"`.
    Users,
    /// Stages give iterations per second: `"10s:0..100/s, 30s:100/s"`.
    Rate,
}

/// One stage of a load profile: over `duration_ns`, go linearly from `from` to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// Length of the stage in nanoseconds.
    pub duration_ns: u64,
    /// Users or rate (per second) at the start of the stage.
    pub from: f64,
    /// Users or rate (per second) at the end of the stage.
    pub to: f64,
}

/// A load profile in stages (`stages = "10s:0..50, 30s:50, 10s:50..0"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stages {
    /// What the numbers count.
    pub ramp: Ramp,
    /// The stages in order.
    pub steps: Cow<'static, [Stage]>,
}

impl Stages {
    /// The spikes of this profile ([`spikes`]).
    pub fn spikes(&self) -> Vec<crate::grammar::profile::Spike> {
        let steps: Vec<(u64, f64)> = self.steps.iter().map(|s| (s.duration_ns, s.to)).collect();
        crate::grammar::profile::spikes(&steps)
    }

    /// Total length of the profile in nanoseconds.
    pub fn duration_ns(&self) -> u64 {
        self.steps.iter().map(|s| s.duration_ns).sum()
    }

    /// The highest users or rate the profile reaches.
    pub fn peak(&self) -> f64 {
        self.steps.iter().fold(0.0, |m, s| m.max(s.from).max(s.to))
    }
}

impl fmt::Display for Stages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = if self.ramp == Ramp::Rate { "/s" } else { "" };
        let parts: Vec<String> = self
            .steps
            .iter()
            .map(|s| {
                let d = format_exact_ns(s.duration_ns);
                if s.from == s.to {
                    format!("{d}:{}{unit}", s.to)
                } else {
                    format!("{d}:{}..{}{unit}", s.from, s.to)
                }
            })
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// A threshold on the requests of one name (`thresholds = ["name:login p(95) < 300ms"]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedThreshold {
    /// The request name (`.name("login")`, or method and path such as `GET /api/v1/media`).
    pub name: Cow<'static, str>,
    /// The condition on that name's requests (latency percentiles, mean, max, error rate).
    pub threshold: Threshold,
}

pub use crate::grammar::keys::percentile_key;

/// The shape and thresholds of one perf test, as written in its attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// How the test is measured.
    pub kind: Kind,
    /// Every threshold that must hold.
    pub thresholds: Cow<'static, [Threshold]>,
    /// Timed samples (latency tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    /// Untimed warm-up calls (latency tests) before the first sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<u64>,
    /// Criterion warm-up time in nanoseconds (micro-benchmarks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_ns: Option<u64>,
    /// Criterion measurement time in nanoseconds (micro-benchmarks, `duration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ns: Option<u64>,
    /// Per-call timeout in nanoseconds: a slower call fails the test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ns: Option<u64>,
    /// Name of the setup function whose value is passed to the test by `&mut`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<Cow<'static, str>>,
    /// Name of the function that receives the fixture by value after the last sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teardown: Option<Cow<'static, str>>,
    /// Load tests, closed model: number of virtual users looping over the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u64>,
    /// Load tests, open model: iterations started per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Load tests, open model: most virtual users available to start scheduled iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_users: Option<u64>,
    /// Load tests: stop after this many iterations in total (shared by all users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
    /// Load tests, closed model: each user stops after this many iterations of its own
    /// (`iterations_per_user`, k6's per-VU iterations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations_per_user: Option<u64>,
    /// Load tests: a ramping profile of users or rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stages: Option<Stages>,
    /// Load tests, closed model: pause of each user between two iterations, nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub think_ns: Option<u64>,
    /// Load tests: thresholds on the requests of one name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_thresholds: Option<Cow<'static, [NamedThreshold]>>,
    /// Load tests: generator threads the users or arrivals are spread over (`workers = N`;
    /// default: the machine's cores, less the half that a service started in-process runs on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u64>,
}

impl Spec {
    /// A micro-benchmark with no threshold: the base the macro fills in.
    pub const MICRO: Spec = Spec {
        kind: Kind::Micro,
        thresholds: Cow::Borrowed(&[]),
        samples: None,
        warmup: None,
        warmup_ns: None,
        duration_ns: None,
        timeout_ns: None,
        setup: None,
        teardown: None,
        users: None,
        rate: None,
        max_users: None,
        iterations: None,
        iterations_per_user: None,
        stages: None,
        think_ns: None,
        request_thresholds: None,
        workers: None,
    };

    /// Samples a latency test takes when run in full.
    pub fn effective_samples(&self, quick: bool) -> u64 {
        let n = self.samples.unwrap_or(100).max(1);
        if quick {
            n.min(20)
        } else {
            n
        }
    }

    /// Warm-up calls before sampling: the attribute's `warmup`, else a tenth of the samples
    /// (at least one, at most 50) so caches and connection pools are hot.
    pub fn effective_warmup(&self, quick: bool) -> u64 {
        let w = self
            .warmup
            .unwrap_or_else(|| (self.effective_samples(false) / 10).clamp(1, 50));
        if quick {
            w.min(2)
        } else {
            w
        }
    }
}

impl fmt::Display for Spec {
    /// The attribute as a user would write it, e.g. `samples = 200, p95 = 50ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(n) = self.samples {
            parts.push(format!("samples = {n}"));
        }
        if let Some(n) = self.warmup {
            parts.push(format!("warmup = {n}"));
        }
        if let Some(ns) = self.warmup_ns {
            parts.push(format!("warmup = {}", format_exact_ns(ns)));
        }
        if let Some(ns) = self.duration_ns {
            parts.push(format!("duration = {}", format_exact_ns(ns)));
        }
        if let Some(ns) = self.timeout_ns {
            parts.push(format!("timeout = {}", format_exact_ns(ns)));
        }
        if let Some(s) = &self.setup {
            parts.push(format!("setup = {s}"));
        }
        if let Some(s) = &self.teardown {
            parts.push(format!("teardown = {s}"));
        }
        if let Some(n) = self.users {
            parts.push(format!("users = {n}"));
        }
        if let Some(r) = self.rate {
            parts.push(format!("rate = {r}/s"));
        }
        if let Some(n) = self.max_users {
            parts.push(format!("max_users = {n}"));
        }
        if let Some(n) = self.workers {
            parts.push(format!("workers = {n}"));
        }
        if let Some(n) = self.iterations {
            parts.push(format!("iterations = {n}"));
        }
        if let Some(n) = self.iterations_per_user {
            parts.push(format!("iterations_per_user = {n}"));
        }
        if let Some(s) = &self.stages {
            parts.push(format!("stages = {s}"));
        }
        if let Some(ns) = self.think_ns {
            parts.push(format!("think = {}", format_exact_ns(ns)));
        }
        for t in self.thresholds.iter() {
            match t {
                Threshold::Mean { .. }
                | Threshold::Median { .. }
                | Threshold::Max { .. }
                | Threshold::Percentile { .. }
                | Threshold::MaxQueries { .. }
                | Threshold::NPlusOne => parts.push(format!("{} = {}", t.key(), t.limit_text())),
                other => parts.push(other.to_string()),
            }
        }
        for t in self.request_thresholds.iter().flat_map(|t| t.iter()) {
            parts.push(format!("[name:{}] {}", t.name, t.threshold));
        }
        if parts.is_empty() {
            f.write_str("-")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// Formats a limit in the largest unit that divides it exactly: `50ms`, `1500us`, `2s`.
pub fn format_exact_ns(ns: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
        (1_000_000, "ms"),
        (1_000, "us"),
        (1, "ns"),
    ];
    for (size, unit) in UNITS {
        if ns >= size && ns.is_multiple_of(size) {
            return format!("{}{unit}", ns / size);
        }
    }
    "0ns".into()
}

/// Formats nanoseconds with a unit that keeps 3-4 significant digits: `812ns`, `1.27us`, `45.3ms`.
pub fn format_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "-".into();
    }
    let (value, unit) = if ns < 1_000.0 {
        (ns, "ns")
    } else if ns < 1_000_000.0 {
        (ns / 1e3, "us")
    } else if ns < 1_000_000_000.0 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if unit == "ns" && value.fract() == 0.0 {
        format!("{value:.0}{unit}")
    } else if value >= 100.0 {
        format!("{value:.1}{unit}")
    } else if value >= 10.0 {
        format!("{value:.2}{unit}")
    } else {
        format!("{value:.3}{unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_ns_picks_a_readable_unit() {
        assert_eq!(format_ns(812.0), "812ns");
        assert_eq!(format_ns(1_270.0), "1.270us");
        assert_eq!(format_ns(45_300_000.0), "45.30ms");
        assert_eq!(format_ns(2_000_000_000.0), "2.000s");
        assert_eq!(format_ns(f64::NAN), "-");
    }

    #[test]
    fn spec_displays_like_the_attribute() {
        const T: &[Threshold] = &[Threshold::Percentile {
            percentile: 95.0,
            limit_ns: 50_000_000,
        }];
        let spec = Spec {
            kind: Kind::Latency,
            thresholds: Cow::Borrowed(T),
            samples: Some(200),
            ..Spec::MICRO
        };
        assert_eq!(spec.to_string(), "samples = 200, p95 = 50ms");
        const Q: &[Threshold] = &[Threshold::MaxQueries { limit: 2 }, Threshold::NPlusOne];
        let db = Spec {
            thresholds: Cow::Borrowed(Q),
            ..spec.clone()
        };
        assert_eq!(
            db.to_string(),
            "samples = 200, max_queries = 2, n_plus_one = \"deny\""
        );
        assert_eq!(Q[0].to_string(), "max_queries <= 2");
        assert_eq!(Q[0].format_value(3.0), "3 in the busiest call");
        assert_eq!(format_exact_ns(1_500_000), "1500us");
        assert_eq!(format_exact_ns(120_000_000_000), "2m");
    }

    #[test]
    fn warmup_defaults_to_a_tenth_of_samples_within_bounds() {
        let mut spec = Spec {
            kind: Kind::Latency,
            samples: Some(200),
            ..Spec::MICRO
        };
        assert_eq!(spec.effective_warmup(false), 20);
        spec.samples = Some(5);
        assert_eq!(spec.effective_warmup(false), 1);
        spec.samples = Some(100_000);
        assert_eq!(spec.effective_warmup(false), 50);
        spec.warmup = Some(0);
        assert_eq!(spec.effective_warmup(false), 0);
        assert_eq!(spec.effective_samples(true), 20);
    }
}
