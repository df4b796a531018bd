//! The attribute's keys: which exist, which this version supports, and the nearest-key hint.

/// Keys that make a test a load test, or belong only to one.
pub const LOAD_KEYS: [&str; 12] = [
    "users",
    "rate",
    "stages",
    "max_users",
    "think",
    "iterations",
    "iterations_per_user",
    "max_error_rate",
    "min_throughput",
    "max_rss",
    "max_cpu",
    "thresholds",
];

/// Every key of the attribute contract, supported or not.
pub const ALL_KEYS: [&str; 29] = [
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
    "max_rss",
    "max_cpu",
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

/// The valid key closest to a misspelt one: fewest edits (a swap counts as one), and among
/// equals the one made of the same characters (`p59` → `p95`, not `p50`).
pub fn nearest(key: &str) -> Option<&'static str> {
    let sorted = |s: &str| {
        let mut c: Vec<char> = s.chars().collect();
        c.sort_unstable();
        c
    };
    let key_chars = sorted(key);
    ALL_KEYS
        .iter()
        .map(|k| {
            let distance = strsim::damerau_levenshtein(key, k);
            let anagram = sorted(k) == key_chars;
            (distance, !anagram, *k)
        })
        .filter(|(d, _, k)| *d <= (k.len() / 2).max(1))
        .min()
        .map(|(_, _, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_transposed_percentile() {
        assert_eq!(nearest("p59"), Some("p95"));
        assert_eq!(nearest("medain"), Some("median"));
        assert_eq!(nearest("sample"), Some("samples"));
        assert_eq!(nearest("max_query"), Some("max_queries"));
        assert_eq!(nearest("bogus_key"), None);
    }

    #[test]
    fn percentile_keys_map_to_their_values() {
        assert_eq!(percentile_of("p999"), Some(99.9));
        assert_eq!(percentile_of("p95"), Some(95.0));
        assert_eq!(percentile_of("p42"), None);
    }
}
