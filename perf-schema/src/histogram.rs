//! HDR histograms as records carry them (V2, base64) and the statistics derived from them: the
//! harness computes a record's figures with these, `cargo perf` recomputes them when it merges
//! shards or reads a histogram back. Behind the `histogram` feature (hdrhistogram, base64).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hdrhistogram::Histogram;

mod v2;

use crate::record::load::Latency;
use crate::record::Stats;

/// Significant digits kept by every latency histogram: relative error at most 0.1 %.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// An empty auto-resizing nanosecond histogram with the project's precision.
pub fn new_histogram() -> Histogram<u64> {
    // 1ns..1h with auto-resize: construction with these bounds cannot fail.
    let mut h = Histogram::new_with_bounds(1, 3_600_000_000_000, SIGNIFICANT_DIGITS)
        .unwrap_or_else(|_| unreachable!("static histogram bounds are valid"));
    h.auto(true);
    h
}

impl Stats {
    /// Statistics of `samples_ns` and the histogram they were recorded into.
    ///
    /// Percentiles come from the histogram (HdrHistogram's definition: the highest value
    /// equivalent to the sample at that rank); mean, deviation, min and max are exact.
    pub fn from_samples(samples_ns: &[u64], histogram: &Histogram<u64>) -> Option<Stats> {
        let n = samples_ns.len();
        if n == 0 {
            return None;
        }
        let sum: f64 = samples_ns.iter().map(|&v| v as f64).sum();
        let mean = sum / n as f64;
        let var = if n > 1 {
            samples_ns
                .iter()
                .map(|&v| (v as f64 - mean).powi(2))
                .sum::<f64>()
                / (n - 1) as f64
        } else {
            0.0
        };
        let min = samples_ns.iter().copied().min().unwrap_or(0) as f64;
        let max = samples_ns.iter().copied().max().unwrap_or(0) as f64;
        // HDR reports the highest value equivalent to a bucket, which can lie just above the
        // exact maximum; a percentile never exceeds the samples' range.
        let q = |p: f64| (histogram.value_at_quantile(p) as f64).clamp(min, max);
        Some(Stats {
            samples: n as u64,
            mean_ns: mean,
            std_dev_ns: var.sqrt(),
            min_ns: min,
            p50_ns: q(0.50),
            p75_ns: q(0.75),
            p90_ns: q(0.90),
            p95_ns: q(0.95),
            p99_ns: q(0.99),
            p999_ns: q(0.999),
            max_ns: max,
            throughput_per_s: None,
        })
    }
}

/// Records every sample into a fresh histogram.
pub fn histogram_of(samples_ns: &[u64]) -> Histogram<u64> {
    let mut h = new_histogram();
    for &v in samples_ns {
        // auto-resize is on, so only a zero could be out of range: clamp to the 1ns floor.
        h.saturating_record(v.max(1));
    }
    h
}

/// At most `max` values standing for a histogram's distribution, in ascending order: the values
/// at ranks `⌊(i + ½)·n / k⌋` of its `n` recorded values for `i < k = min(n, max)`, so a small
/// histogram gives back every recorded value (to its 3 significant digits).
pub fn quantile_sample(h: &Histogram<u64>, max: usize) -> Vec<u64> {
    let n = h.len();
    let k = (n as usize).min(max) as u64;
    let mut out = Vec::with_capacity(k as usize);
    let mut below = 0u64; // recorded values in the buckets already passed
    let mut buckets = h.iter_recorded();
    let mut bucket = buckets.next();
    for i in 0..k {
        // 2i+1 over 2k avoids the half in (i + ½)·n / k.
        let rank = ((2 * i + 1) as u128 * n as u128 / (2 * k) as u128) as u64;
        while let Some(b) = &bucket {
            if rank < below + b.count_at_value() {
                break;
            }
            below += b.count_at_value();
            bucket = buckets.next();
        }
        let Some(b) = &bucket else { break };
        out.push(b.value_iterated_to().clamp(h.min(), h.max()));
    }
    out
}

/// Serializes a histogram in HdrHistogram's V2 format, base64-encoded for JSON.
pub fn encode_histogram(h: &Histogram<u64>) -> Result<String, String> {
    let bytes = v2::encode(h).map_err(|e| format!("cannot serialize histogram: {e}"))?;
    Ok(BASE64.encode(&bytes))
}

/// Reads a histogram written by `encode_histogram`.
pub fn decode_histogram(text: &str) -> Result<Histogram<u64>, String> {
    let bytes = BASE64
        .decode(text.trim())
        .map_err(|e| format!("histogram is not valid base64: {e}"))?;
    v2::decode(&bytes).map_err(|e| format!("not an HdrHistogram V2 blob: {e}"))
}

impl Latency {
    /// Summarizes a histogram (empty histograms give zeros).
    pub fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let q = |p: f64| h.value_at_quantile(p).min(h.max()) as f64;
        Latency {
            count: h.len(),
            mean_ns: h.mean(),
            min_ns: h.min() as f64,
            p50_ns: q(0.50),
            p90_ns: q(0.90),
            p95_ns: q(0.95),
            p99_ns: q(0.99),
            p999_ns: q(0.999),
            max_ns: h.max() as f64,
            histogram: encode_histogram(h).unwrap_or_default(),
        }
    }

    /// The value for a threshold percentile (50, 90, 95, 99, 99.9), or any other percentile
    /// from the stored histogram.
    pub fn percentile(&self, percentile: f64) -> Option<f64> {
        let table = [
            (50.0, self.p50_ns),
            (90.0, self.p90_ns),
            (95.0, self.p95_ns),
            (99.0, self.p99_ns),
            (99.9, self.p999_ns),
        ];
        if let Some((_, v)) = table.iter().find(|(p, _)| (p - percentile).abs() < 1e-9) {
            return Some(*v);
        }
        let h = decode_histogram(&self.histogram).ok()?;
        Some(h.value_at_quantile(percentile / 100.0).min(h.max()) as f64)
    }
}

/// `Record::stats` of a load test: iteration latency (corrected in the open model).
pub fn iteration_stats(h: &Histogram<u64>, per_s: f64) -> Stats {
    let l = Latency::of(h);
    let q = |p: f64| {
        if h.is_empty() {
            0.0
        } else {
            h.value_at_quantile(p).min(h.max()) as f64
        }
    };
    Stats {
        samples: l.count,
        mean_ns: l.mean_ns,
        std_dev_ns: if h.is_empty() { 0.0 } else { h.stdev() },
        min_ns: l.min_ns,
        p50_ns: l.p50_ns,
        p75_ns: q(0.75),
        p90_ns: l.p90_ns,
        p95_ns: l.p95_ns,
        p99_ns: l.p99_ns,
        p999_ns: l.p999_ns,
        max_ns: l.max_ns,
        throughput_per_s: Some(per_s),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_quantile_sample_gives_back_a_small_histogram_and_thins_a_large_one() {
        let small: Vec<u64> = (1..=10).collect();
        assert_eq!(quantile_sample(&histogram_of(&small), 1000), small);
        let large: Vec<u64> = (1..=1000).collect();
        // Ranks 50, 150, …, 950 (0-based) of 1..=1000: the values 51, 151, …, 951.
        let want: Vec<u64> = (0..10).map(|i| 100 * i + 51).collect();
        assert_eq!(quantile_sample(&histogram_of(&large), 10), want);
        let mut skewed = vec![7u64; 99];
        skewed.push(1_000);
        assert_eq!(quantile_sample(&histogram_of(&skewed), 4), vec![7, 7, 7, 7]);
        assert_eq!(
            quantile_sample(&histogram_of(&skewed), 200).last(),
            Some(&1_000)
        );
        assert!(quantile_sample(&new_histogram(), 10).is_empty());
    }

    use super::*;

    fn within_hdr_precision(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= expected * 10f64.powi(-(SIGNIFICANT_DIGITS as i32))
    }

    #[test]
    fn percentiles_of_one_to_ten_thousand_are_exact_within_precision() {
        let samples: Vec<u64> = (1..=10_000).map(|v| v * 1_000).collect();
        let h = histogram_of(&samples);
        let s = Stats::from_samples(&samples, &h).expect("non-empty");
        assert_eq!(s.samples, 10_000);
        assert_eq!(s.mean_ns, 5_000_500.0);
        assert_eq!(s.min_ns, 1_000.0);
        assert_eq!(s.max_ns, 10_000_000.0);
        for (got, want) in [
            (s.p50_ns, 5_000_000.0),
            (s.p75_ns, 7_500_000.0),
            (s.p90_ns, 9_000_000.0),
            (s.p95_ns, 9_500_000.0),
            (s.p99_ns, 9_900_000.0),
            (s.p999_ns, 9_990_000.0),
        ] {
            assert!(within_hdr_precision(got, want), "{got} vs {want}");
        }
    }

    #[test]
    fn a_single_slow_outlier_shows_in_p999_and_max_only() {
        let mut samples = vec![100_000u64; 999];
        samples.push(50_000_000);
        let h = histogram_of(&samples);
        let s = Stats::from_samples(&samples, &h).expect("non-empty");
        assert!(within_hdr_precision(s.p99_ns, 100_000.0));
        assert!(within_hdr_precision(s.p999_ns, 100_000.0));
        assert_eq!(s.max_ns, 50_000_000.0);
        assert_eq!(s.mean_ns, (999.0 * 100_000.0 + 50_000_000.0) / 1000.0);
    }

    #[test]
    fn percentiles_never_exceed_the_exact_maximum() {
        // 4_966_000 falls in a bucket whose highest equivalent value is above it.
        let samples = [1_000_000u64, 2_000_000, 4_966_000];
        let h = histogram_of(&samples);
        assert!(h.value_at_quantile(1.0) > 4_966_000);
        let s = Stats::from_samples(&samples, &h).expect("non-empty");
        assert_eq!(s.p99_ns, 4_966_000.0);
        assert_eq!(s.p999_ns, s.max_ns);
    }

    #[test]
    fn std_dev_is_the_sample_deviation() {
        let samples = [2u64, 4, 4, 4, 5, 5, 7, 9];
        let s = Stats::from_samples(&samples, &histogram_of(&samples)).expect("non-empty");
        assert_eq!(s.mean_ns, 5.0);
        assert!((s.std_dev_ns - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(Stats::from_samples(&[], &new_histogram()), None);
    }

    #[test]
    fn histograms_round_trip_through_v2_base64() {
        let samples: Vec<u64> = (1..=5_000).map(|v| v * 37).collect();
        let h = histogram_of(&samples);
        let text = encode_histogram(&h).expect("serializes");
        let back = decode_histogram(&text).expect("deserializes");
        assert_eq!(back.len(), h.len());
        assert_eq!(back.value_at_quantile(0.95), h.value_at_quantile(0.95));
        assert_eq!(back.max(), h.max());
        assert!(decode_histogram("not base64 !").is_err());
    }

    #[test]
    fn percentile_lookup_covers_every_attribute_key() {
        let samples = [10u64, 20, 30];
        let s = Stats::from_samples(&samples, &histogram_of(&samples)).expect("non-empty");
        for p in [50.0, 75.0, 90.0, 95.0, 99.0, 99.9] {
            assert!(s.percentile(p).is_some());
        }
        assert_eq!(s.percentile(42.0), None);
    }
}
