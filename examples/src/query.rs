//! Search queries: free-text terms plus `kind:`, `year:` and `tag:` (or `#tag`) filters.
//!
//! `storm kind:movie year:1990-1999 #noir` searches for "storm" among movies of the nineties
//! tagged `noir`. A `key:value` word that is not a valid filter is searched as text.

use crate::media::{Media, MediaKind};
use crate::text;

/// A parsed search query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    /// Free-text tokens, lower-case, stop words and repeats removed, in order.
    pub terms: Vec<String>,
    /// Whether the last term may also match as a prefix (the user is still typing it).
    pub prefix: bool,
    /// Only items of this kind.
    pub kind: Option<MediaKind>,
    /// Only items released in this inclusive range of years.
    pub years: Option<(u16, u16)>,
    /// Only items carrying every one of these tags (lower-case, sorted, no repeats).
    pub tags: Vec<String>,
}

impl Query {
    /// Parses what a user typed into the search box.
    pub fn parse(input: &str) -> Query {
        let mut query = Query::default();
        let mut last_free_word = None;
        for word in input.split_whitespace() {
            if query.apply_filter(word) {
                last_free_word = None;
                continue;
            }
            last_free_word = Some(word);
            for token in text::tokenize(word) {
                if !query.terms.contains(&token) {
                    query.terms.push(token);
                }
            }
        }
        query.tags.sort_unstable();
        query.tags.dedup();
        // Prefix matching only while the last word typed is text and is still being typed.
        let still_typing = !input.ends_with(char::is_whitespace);
        query.prefix = still_typing
            && last_free_word.is_some_and(|w| {
                text::tokenize(w)
                    .last()
                    .is_some_and(|t| query.terms.last() == Some(t))
            });
        query
    }

    /// Applies `word` if it is a valid filter; `false` leaves it to be searched as text.
    fn apply_filter(&mut self, word: &str) -> bool {
        if let Some(tag) = word.strip_prefix('#') {
            return self.add_tag(tag);
        }
        let Some((key, value)) = word.split_once(':') else {
            return false;
        };
        match key.to_ascii_lowercase().as_str() {
            "kind" | "type" => match MediaKind::parse(value) {
                Some(kind) => {
                    self.kind = Some(kind);
                    true
                }
                None => false,
            },
            "year" | "years" => match parse_years(value) {
                Some(range) => {
                    self.years = Some(range);
                    true
                }
                None => false,
            },
            "tag" => self.add_tag(value),
            _ => false,
        }
    }

    fn add_tag(&mut self, tag: &str) -> bool {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() {
            return false;
        }
        self.tags.push(tag);
        true
    }

    /// Whether `media` passes the kind, year and tag filters (terms are not checked here).
    pub fn admits(&self, media: &Media) -> bool {
        self.kind.is_none_or(|k| media.kind == k)
            && self
                .years
                .is_none_or(|(from, to)| (from..=to).contains(&media.year))
            && self.tags.iter().all(|t| media.has_tag(t))
    }

    /// Whether the query has neither terms nor filters (it then browses everything).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.kind.is_none() && self.years.is_none() && self.tags.is_empty()
    }

    /// A 32-bit FNV-1a hash of the parsed query; queries that mean the same hash the same.
    pub fn fingerprint(&self) -> u32 {
        let mut h = Fnv1a::default();
        for term in &self.terms {
            h.write(term.as_bytes());
            h.write(&[0]);
        }
        h.write(&[u8::from(self.prefix), 0xff]);
        if let Some(kind) = self.kind {
            h.write(kind.as_str().as_bytes());
        }
        h.write(&[0xff]);
        if let Some((from, to)) = self.years {
            h.write(&from.to_le_bytes());
            h.write(&to.to_le_bytes());
        }
        h.write(&[0xff]);
        for tag in &self.tags {
            h.write(tag.as_bytes());
            h.write(&[0]);
        }
        h.0
    }
}

/// `1999`, `1990-1999`, `1990..1999`, `2010..` or `..1979`, as an inclusive range.
fn parse_years(value: &str) -> Option<(u16, u16)> {
    let bound = |text: &str, open: u16| -> Option<u16> {
        if text.is_empty() {
            Some(open)
        } else if text.bytes().all(|b| b.is_ascii_digit()) {
            text.parse().ok()
        } else {
            None
        }
    };
    let (from, to) = match value.split_once("..").or_else(|| value.split_once('-')) {
        Some((a, b)) if !(a.is_empty() && b.is_empty()) => (bound(a, 0)?, bound(b, u16::MAX)?),
        Some(_) => return None,
        None => {
            let year = bound(value, 0).filter(|_| !value.is_empty())?;
            (year, year)
        }
    };
    (from <= to).then_some((from, to))
}

struct Fnv1a(u32);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0x811c_9dc5)
    }
}

impl Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u32::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0193);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(kind: MediaKind, year: u16, tags: &[&str]) -> Media {
        Media {
            id: 1,
            title: "Anything".into(),
            year,
            kind,
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn filters_are_taken_out_of_the_text() {
        let q = Query::parse("Storm kind:Movies year:1990-1999 #Noir tag:crime");
        assert_eq!(q.terms, ["storm"]);
        assert_eq!(q.kind, Some(MediaKind::Movie));
        assert_eq!(q.years, Some((1990, 1999)));
        assert_eq!(q.tags, ["crime", "noir"]);
        assert!(!q.prefix, "the last word typed was a filter");
    }

    #[test]
    fn invalid_filters_are_searched_as_text() {
        let q = Query::parse("kind:podcast year:soon");
        assert_eq!(q.terms, ["kind", "podcast", "year", "soon"]);
        assert_eq!(q.kind, None);
        assert_eq!(q.years, None);
    }

    #[test]
    fn year_ranges_take_several_forms() {
        assert_eq!(parse_years("1999"), Some((1999, 1999)));
        assert_eq!(parse_years("1990..1995"), Some((1990, 1995)));
        assert_eq!(parse_years("2010.."), Some((2010, u16::MAX)));
        assert_eq!(parse_years("-1979"), Some((0, 1979)));
        assert_eq!(parse_years("1999-1990"), None);
        assert_eq!(parse_years(".."), None);
        assert_eq!(parse_years(""), None);
        assert_eq!(parse_years("+1999"), None);
    }

    #[test]
    fn the_last_word_is_a_prefix_while_being_typed() {
        assert!(Query::parse("midnight harb").prefix);
        assert!(!Query::parse("midnight harb ").prefix);
        assert!(
            !Query::parse("lord of the").prefix,
            "a stop word is not a prefix"
        );
        assert!(!Query::parse("").prefix);
    }

    #[test]
    fn repeated_terms_count_once() {
        assert_eq!(Query::parse("night NIGHT night-night").terms, ["night"]);
    }

    #[test]
    fn admits_checks_every_filter() {
        let q = Query::parse("kind:series year:2000..2010 #drama");
        assert!(q.admits(&media(MediaKind::Series, 2005, &["drama", "crime"])));
        assert!(!q.admits(&media(MediaKind::Movie, 2005, &["drama"])));
        assert!(!q.admits(&media(MediaKind::Series, 2011, &["drama"])));
        assert!(!q.admits(&media(MediaKind::Series, 2005, &["crime"])));
        assert!(Query::parse("").admits(&media(MediaKind::Book, 1850, &[])));
    }

    #[test]
    fn fingerprints_follow_meaning_not_spelling() {
        let a = Query::parse("Storm #noir kind:movie ");
        let b = Query::parse("kind:film tag:NOIR   storm ");
        assert_eq!(a, b);
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), Query::parse("storm ").fingerprint());
        assert_ne!(
            Query::parse("storm").fingerprint(),
            Query::parse("storm ").fingerprint(),
            "prefix matching changes the results"
        );
    }
}
