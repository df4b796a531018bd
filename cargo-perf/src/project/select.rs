//! Choosing perf tests by name filters, with a "did you mean" when nothing matches.

use crate::error::PerfError;
use crate::project::discover::Found;
use crate::project::suggest::did_you_mean;

/// Selected tests whose spec `fits` does not accept, named with their spec (`` `checkout` (users
/// = 8, ...)``), for a flag that applies to some kinds of test only; empty when all fit.
pub fn misfits(selected: &[Found], fits: impl Fn(&perf_schema::spec::Spec) -> bool) -> Vec<String> {
    selected
        .iter()
        .filter(|f| !fits(&f.test.spec))
        .map(|f| format!("`{}` ({})", f.test.id.name, f.test.spec))
        .collect()
}

/// Tests whose name contains a filter (or equals it, with `exact`); all tests without filters.
pub fn filter(all: Vec<Found>, filters: &[String], exact: bool) -> Result<Vec<Found>, PerfError> {
    if filters.is_empty() {
        return Ok(all);
    }
    let total = all.len();
    let names: Vec<String> = all.iter().map(|f| f.test.id.name.clone()).collect();
    let chosen: Vec<Found> = all
        .into_iter()
        .filter(|f| matches(&f.test.id.name, filters, exact))
        .collect();
    if chosen.is_empty() {
        let hint = filters
            .iter()
            .find_map(|f| did_you_mean(f, names.iter().map(String::as_str)))
            .map(|name| format!("did you mean `{name}`? "))
            .unwrap_or_default();
        let quoted: Vec<String> = filters.iter().map(|f| format!("`{f}`")).collect();
        return Err(PerfError::NoMatch {
            filters: quoted.join(" or "),
            hint,
            total,
        });
    }
    Ok(chosen)
}

fn matches(name: &str, filters: &[String], exact: bool) -> bool {
    filters.iter().any(|f| {
        if exact {
            name == f
        } else {
            name.contains(f.as_str())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_name_by_its_last_segment() {
        let names = [
            "catalogue::browse_media",
            "catalogue::search",
            "render_page",
        ];
        assert_eq!(
            did_you_mean("brwse", names.iter().copied()),
            Some("catalogue::browse_media")
        );
        assert_eq!(did_you_mean("zzzz", names.iter().copied()), None);
    }

    #[test]
    fn filters_are_substrings_unless_exact() {
        let f = |s: &str| vec![s.to_string()];
        assert!(matches("catalogue::search", &f("search"), false));
        assert!(!matches("catalogue::search", &f("search"), true));
        assert!(matches("catalogue::search", &f("catalogue::search"), true));
    }
}
