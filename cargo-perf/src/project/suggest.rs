//! "Did you mean ...?": the closest of some names to what the user typed.

/// The candidate closest to `typed` (by whole name or last `::` segment), if any is close.
pub fn did_you_mean<'a>(typed: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| {
            let last = c.rsplit("::").next().unwrap_or(c);
            let score = strsim::jaro_winkler(typed, c).max(strsim::jaro_winkler(typed, last));
            (score, c)
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
