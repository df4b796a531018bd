//! The attribute's keys: which exist, which make a test a load test, and the names of
//! percentiles (`p95` ↔ 95.0), shared by the macro and the records' threshold keys.

/// Keys that make a test a load test, or belong only to one.
pub const LOAD_KEYS: [&str; 15] = [
    "users",
    "rate",
    "stages",
    "max_users",
    "workers",
    "think",
    "iterations",
    "iterations_per_user",
    "max_error_rate",
    "min_throughput",
    "max_rss",
    "max_rss_growth",
    "max_cpu",
    "recovery",
    "thresholds",
];

/// Every key of the attribute contract, supported or not.
pub const ALL_KEYS: [&str; 32] = [
    "mean",
    "median",
    "p50",
    "p75",
    "p90",
    "p95",
    "p99",
    "p999",
    "max",
    "max_error_rate",
    "min_throughput",
    "samples",
    "iterations",
    "iterations_per_user",
    "warmup",
    "users",
    "rate",
    "duration",
    "stages",
    "think",
    "timeout",
    "setup",
    "teardown",
    "max_users",
    "workers",
    "max_rss",
    "max_rss_growth",
    "max_cpu",
    "recovery",
    "thresholds",
    "max_queries",
    "n_plus_one",
];

/// The percentile behind a key like `p95` or `p999`.
pub fn percentile_of(key: &str) -> Option<f64> {
    Some(match key {
        "p50" => 50.0,
        "p75" => 75.0,
        "p90" => 90.0,
        "p95" => 95.0,
        "p99" => 99.0,
        "p999" => 99.9,
        _ => return None,
    })
}

/// `95.0` → `p95`, `99.9` → `p999`, `50.0` → `p50`: the inverse of [`percentile_of`].
pub fn percentile_key(percentile: f64) -> String {
    let digits = format!("{percentile}").replace('.', "");
    format!("p{digits}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_keys_map_to_their_values() {
        assert_eq!(percentile_of("p999"), Some(99.9));
        assert_eq!(percentile_of("p95"), Some(95.0));
        assert_eq!(percentile_of("p42"), None);
    }

    #[test]
    fn percentile_keys_round_trip_the_attribute_names() {
        assert_eq!(percentile_key(95.0), "p95");
        assert_eq!(percentile_key(99.9), "p999");
        assert_eq!(percentile_key(50.0), "p50");
    }
}

#[cfg(test)]
mod proptests {
    use super::{percentile_key, percentile_of};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn a_percentile_key_round_trips(key in "p(50|75|90|95|99|999)|p[0-9]{0,4}|\\PC{0,6}") {
            if let Some(p) = percentile_of(&key) {
                prop_assert_eq!(percentile_key(p), key);
            }
        }
    }
}
