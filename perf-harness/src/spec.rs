//! What a `#[perf_test]` asks for: its kind, its shape (samples, warm-up) and its thresholds.
//!
//! The macro validates the attribute at compile time and emits a `Spec` as a constant; records
//! carry the same type back to `cargo perf`, so the schema is defined once.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How a perf test is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Repeated batches on criterion's engine; statistics are criterion's estimates.
    Micro,
    /// One timed call per sample into an HDR histogram (latency and database timing).
    Latency,
}

impl Kind {
    /// Short lower-case name used in tables and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Micro => "micro",
            Kind::Latency => "latency",
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
        }
    }

    /// The bound in nanoseconds (a count for `MaxQueries`, 0 for `NPlusOne`).
    pub fn limit_ns(&self) -> u64 {
        match *self {
            Threshold::Mean { limit_ns }
            | Threshold::Median { limit_ns }
            | Threshold::Max { limit_ns }
            | Threshold::Percentile { limit_ns, .. } => limit_ns,
            Threshold::MaxQueries { limit } => limit,
            Threshold::NPlusOne => 0,
        }
    }

    /// Whether this bounds a count of statements rather than a time.
    pub fn is_count(&self) -> bool {
        matches!(self, Threshold::MaxQueries { .. } | Threshold::NPlusOne)
    }

    /// A measured value of this threshold's metric, for reports: a time or a count.
    pub fn format_measured(&self, measured: f64) -> String {
        match self {
            Threshold::MaxQueries { .. } => format!("{measured:.0} in the busiest call"),
            Threshold::NPlusOne => format!("{measured:+.0} per call at double the rows"),
            _ => format_ns(measured),
        }
    }

    /// The limit as the attribute writes it: `50ms`, `2`, `"deny"`.
    fn limit_text(&self) -> String {
        match self {
            Threshold::MaxQueries { limit } => limit.to_string(),
            Threshold::NPlusOne => "\"deny\"".into(),
            _ => format_exact_ns(self.limit_ns()),
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::NPlusOne => f.write_str("n_plus_one = \"deny\" (no growth with the data)"),
            _ => write!(f, "{} <= {}", self.key(), self.limit_text()),
        }
    }
}

/// `95.0` → `p95`, `99.9` → `p999`, `50.0` → `p50`.
pub fn percentile_key(percentile: f64) -> String {
    let digits = format!("{percentile}").replace('.', "");
    format!("p{digits}")
}

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
        for t in self.thresholds.iter() {
            parts.push(format!("{} = {}", t.key(), t.limit_text()));
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
        if ns >= size && ns % size == 0 {
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
    fn percentile_keys_round_trip_the_attribute_names() {
        assert_eq!(percentile_key(95.0), "p95");
        assert_eq!(percentile_key(99.9), "p999");
        assert_eq!(percentile_key(50.0), "p50");
    }

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
        assert_eq!(Q[0].format_measured(3.0), "3 in the busiest call");
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
