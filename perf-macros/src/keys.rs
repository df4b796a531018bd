//! The attribute's keys (tables in perf-schema's grammar) and the nearest-key hint.

pub use perf_schema::grammar::keys::{percentile_of, ALL_KEYS, LOAD_KEYS};

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
}
