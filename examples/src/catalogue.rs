//! The catalogue: media items, an inverted index over titles and tags, ranked search and paging.
//!
//! Scoring is BM25-flavoured: each matching term adds `idf × field weight`, where a title match
//! weighs `3 / √(title tokens)` (short titles that match win) and a tag match weighs 1. Half
//! of the query's terms (rounded up) must match, and the score is scaled by the square of the
//! share of terms that did. The last term also matches as a prefix while it is being typed,
//! at half weight.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Bound;

use crate::cursor::{rank_order, Cursor, CursorError};
use crate::media::Media;
use crate::query::Query;
use crate::text;

/// Most index terms a prefix may expand to, so `s` does not touch the whole index.
const MAX_PREFIX_EXPANSIONS: usize = 64;
/// Weight of a title match before length normalization.
const TITLE_WEIGHT: f32 = 3.0;
/// Weight of a tag match.
const TAG_WEIGHT: f32 = 1.0;
/// Factor applied to terms matched only as a prefix.
const PREFIX_FACTOR: f64 = 0.5;

/// Media items with an inverted index for ranked full-text search.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    items: Vec<Media>,
    positions: HashMap<u32, u32>,
    index: BTreeMap<String, Vec<Posting>>,
}

/// One item containing a term, with the term's weight in that item.
#[derive(Debug, Clone, Copy)]
struct Posting {
    item: u32,
    weight: f32,
}

/// Why items could not be added to a catalogue.
#[derive(Debug)]
pub enum CatalogueError {
    /// The JSON was not an array of media items.
    Json(serde_json::Error),
    /// Two items share this id.
    DuplicateId(u32),
    /// The item with this id has an empty title.
    EmptyTitle(u32),
}

impl fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CatalogueError::Json(e) => write!(f, "invalid catalogue JSON: {e}"),
            CatalogueError::DuplicateId(id) => write!(f, "two media items have id {id}"),
            CatalogueError::EmptyTitle(id) => write!(f, "media item {id} has an empty title"),
        }
    }
}

impl std::error::Error for CatalogueError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CatalogueError::Json(e) => Some(e),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for CatalogueError {
    fn from(e: serde_json::Error) -> Self {
        CatalogueError::Json(e)
    }
}

/// A search result: the item and its relevance score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit<'a> {
    /// The matching item.
    pub media: &'a Media,
    /// Relevance; browsing without search terms ranks by year instead.
    pub score: f64,
}

impl Hit<'_> {
    fn rank(&self, other: &Self) -> std::cmp::Ordering {
        rank_order(self.score, self.media.id, other.score, other.media.id)
    }
}

/// One page of ranked results.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    /// The hits on this page, best first.
    pub hits: Vec<Hit<'a>>,
    /// How many items match the query in all.
    pub total: usize,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// Per-item score while a query is evaluated.
struct Accumulator {
    score: f64,
    matched: u32,
    last_term: u32,
}

impl Catalogue {
    /// An empty catalogue.
    pub fn new() -> Catalogue {
        Catalogue::default()
    }

    /// A catalogue of `items`; fails on a duplicate id or an empty title.
    pub fn from_items(items: impl IntoIterator<Item = Media>) -> Result<Catalogue, CatalogueError> {
        let mut catalogue = Catalogue::new();
        for media in items {
            catalogue.insert(media)?;
        }
        Ok(catalogue)
    }

    /// A catalogue from a JSON array of media items.
    pub fn from_json(json: &str) -> Result<Catalogue, CatalogueError> {
        let items: Vec<Media> = serde_json::from_str(json)?;
        Catalogue::from_items(items)
    }

    /// The items as a JSON array, in insertion order; `from_json` reads it back.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.items).expect("media items always serialize")
    }

    /// Adds `media` (tags trimmed and lower-cased) and indexes its title and tags.
    pub fn insert(&mut self, mut media: Media) -> Result<(), CatalogueError> {
        if media.title.trim().is_empty() {
            return Err(CatalogueError::EmptyTitle(media.id));
        }
        if self.positions.contains_key(&media.id) {
            return Err(CatalogueError::DuplicateId(media.id));
        }
        for tag in &mut media.tags {
            *tag = tag.trim().to_lowercase();
        }
        media.tags.retain(|t| !t.is_empty());
        let position = u32::try_from(self.items.len()).expect("fewer than 2^32 items");
        self.positions.insert(media.id, position);

        // Weights per distinct term of this item; items are few-worded, so a Vec beats a map.
        let mut weights: Vec<(String, f32)> = Vec::new();
        let mut add = |term: String, weight: f32| match weights.iter_mut().find(|(t, _)| *t == term)
        {
            Some((_, w)) => *w += weight,
            None => weights.push((term, weight)),
        };
        let title = text::tokenize(&media.title);
        let title_weight = TITLE_WEIGHT / (title.len().max(1) as f32).sqrt();
        for term in title {
            add(term, title_weight);
        }
        for tag in &media.tags {
            for term in text::tokenize(tag) {
                add(term, TAG_WEIGHT);
            }
        }
        // Items only ever append, so every posting list stays sorted by position.
        for (term, weight) in weights {
            self.index.entry(term).or_default().push(Posting {
                item: position,
                weight,
            });
        }
        self.items.push(media);
        Ok(())
    }

    /// The item with this id.
    pub fn get(&self, id: u32) -> Option<&Media> {
        self.positions.get(&id).map(|&p| &self.items[p as usize])
    }

    /// How many items the catalogue holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the catalogue holds no items.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &Media> {
        self.items.iter()
    }

    /// How many distinct terms the index holds.
    pub fn term_count(&self) -> usize {
        self.index.len()
    }

    /// Every item matching `input` (see `Query::parse`), best first.
    pub fn search(&self, input: &str) -> Vec<&Media> {
        let mut hits = self.hits(&Query::parse(input));
        hits.sort_unstable_by(Hit::rank);
        hits.into_iter().map(|h| h.media).collect()
    }

    /// Up to `limit` (at least 1) hits for `input`, starting after `after` (a cursor's text).
    pub fn search_page(
        &self,
        input: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<'_>, CursorError> {
        let query = Query::parse(input);
        let fingerprint = query.fingerprint();
        let after = after.map(Cursor::parse).transpose()?;
        if after.is_some_and(|c| c.query() != fingerprint) {
            return Err(CursorError::WrongQuery);
        }
        let limit = limit.max(1);
        let mut hits = self.hits(&query);
        let total = hits.len();
        if let Some(cursor) = after {
            hits.retain(|h| cursor.precedes(h.score, h.media.id));
        }
        let more = hits.len() > limit;
        if more {
            // Only the page's hits need sorting: partition the best `limit` to the front.
            hits.select_nth_unstable_by(limit, Hit::rank);
            hits.truncate(limit);
        }
        hits.sort_unstable_by(Hit::rank);
        let next = more
            .then(|| {
                hits.last()
                    .map(|h| Cursor::after(fingerprint, h.score, h.media.id))
            })
            .flatten();
        Ok(Page { hits, total, next })
    }

    /// Every hit of `query`, unordered.
    pub fn hits(&self, query: &Query) -> Vec<Hit<'_>> {
        if query.terms.is_empty() {
            // Browsing: everything the filters admit, newest first.
            return self
                .items
                .iter()
                .filter(|m| query.admits(m))
                .map(|m| Hit {
                    media: m,
                    score: f64::from(m.year),
                })
                .collect();
        }
        // Posting lists of every term, with the factor their matches count for.
        let last = query.terms.len() - 1;
        let mut lists: Vec<(u32, &[Posting], f64)> = Vec::new();
        for (i, term) in query.terms.iter().enumerate() {
            let term_no = i as u32;
            if let Some(postings) = self.index.get(term) {
                lists.push((term_no, postings, 1.0));
            }
            if query.prefix && i == last && term.chars().nth(1).is_some() {
                let longer = self
                    .index
                    .range::<str, _>((Bound::Excluded(term.as_str()), Bound::Unbounded))
                    .take_while(|(t, _)| t.starts_with(term.as_str()))
                    .take(MAX_PREFIX_EXPANSIONS);
                lists.extend(longer.map(|(_, p)| (term_no, p.as_slice(), PREFIX_FACTOR)));
            }
        }
        let postings_total: usize = lists.iter().map(|(_, p, _)| p.len()).sum();
        let mut scores: HashMap<u32, Accumulator> =
            HashMap::with_capacity(postings_total.min(self.items.len()));
        for (term_no, postings, factor) in lists {
            let weight = factor * self.idf(postings.len());
            for p in postings {
                let acc = scores.entry(p.item).or_insert(Accumulator {
                    score: 0.0,
                    matched: 0,
                    last_term: u32::MAX,
                });
                acc.score += weight * f64::from(p.weight);
                if acc.last_term != term_no {
                    acc.last_term = term_no;
                    acc.matched += 1;
                }
            }
        }
        let terms = query.terms.len() as u32;
        let needed = terms.div_ceil(2);
        scores
            .into_iter()
            .filter(|(_, acc)| acc.matched >= needed)
            .filter_map(|(position, acc)| {
                let media = &self.items[position as usize];
                let coverage = f64::from(acc.matched) / f64::from(terms);
                query.admits(media).then_some(Hit {
                    media,
                    score: acc.score * coverage * coverage,
                })
            })
            .collect()
    }

    /// Inverse document frequency of a term found in `df` items (always positive).
    fn idf(&self, df: usize) -> f64 {
        let n = self.items.len() as f64;
        let df = df as f64;
        ((n - df + 0.5) / (df + 0.5) + 1.0).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::MediaKind;

    fn item(id: u32, title: &str, year: u16, kind: MediaKind, tags: &[&str]) -> Media {
        Media {
            id,
            title: title.into(),
            year,
            kind,
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn sample() -> Catalogue {
        Catalogue::from_items([
            item(
                1,
                "Midnight Harbor",
                1999,
                MediaKind::Movie,
                &["noir", "crime"],
            ),
            item(2, "The Harbor Master", 2012, MediaKind::Series, &["drama"]),
            item(
                3,
                "Songs of the Night",
                1971,
                MediaKind::Album,
                &["jazz", "midnight"],
            ),
            item(4, "Harbinger", 2020, MediaKind::Book, &["horror"]),
            item(
                5,
                "A Very Long Title About Midnight Trains And Other Things",
                2001,
                MediaKind::Documentary,
                &[],
            ),
            item(6, "Quiet Harbour", 2015, MediaKind::Movie, &["Drama ", ""]),
        ])
        .expect("valid sample")
    }

    fn ids(found: &[&Media]) -> Vec<u32> {
        found.iter().map(|m| m.id).collect()
    }

    #[test]
    fn rejects_duplicate_ids_and_empty_titles() {
        let mut c = sample();
        assert!(matches!(
            c.insert(item(1, "Again", 2000, MediaKind::Movie, &[])),
            Err(CatalogueError::DuplicateId(1))
        ));
        assert!(matches!(
            c.insert(item(99, "  ", 2000, MediaKind::Movie, &[])),
            Err(CatalogueError::EmptyTitle(99))
        ));
        assert_eq!(c.len(), 6);
    }

    #[test]
    fn tags_are_trimmed_and_lower_cased() {
        assert_eq!(sample().get(6).expect("present").tags, ["drama"]);
    }

    #[test]
    fn short_title_matches_outrank_long_titles_and_tags() {
        assert_eq!(ids(&sample().search("midnight")), [1, 5, 3]);
    }

    #[test]
    fn more_matching_terms_rank_higher() {
        let found = ids(&sample().search("midnight harbor "));
        assert_eq!(found[0], 1, "{found:?}");
        // "Harbor Master" matches only one of two terms, which is enough.
        assert!(found.contains(&2));
    }

    #[test]
    fn half_the_terms_must_match() {
        assert!(sample().search("harbor zebra giraffe ").is_empty());
        assert_eq!(ids(&sample().search("harbor zebra ")), [1, 2]);
    }

    #[test]
    fn the_last_term_matches_as_a_prefix_while_typing() {
        let c = sample();
        assert_eq!(ids(&c.search("harb ")), Vec::<u32>::new());
        let typing = ids(&c.search("harb"));
        // Harbinger: one-token title. Harbour: rarer than harbor, so a higher idf.
        assert_eq!(typing, [4, 6, 1, 2]);
        assert!(c.search("h").is_empty(), "one letter does not expand");
    }

    #[test]
    fn filters_narrow_results() {
        let c = sample();
        assert_eq!(ids(&c.search("harbor kind:series")), [2]);
        assert_eq!(ids(&c.search("midnight year:..2000")), [1, 3]);
        assert_eq!(
            ids(&c.search("#drama")),
            [6, 2],
            "browsing ranks newest first"
        );
    }

    #[test]
    fn empty_query_browses_everything() {
        assert_eq!(ids(&sample().search("")), [4, 6, 2, 5, 1, 3]);
    }

    #[test]
    fn pages_cover_every_hit_once_in_order() {
        let c = sample();
        let all = ids(&c.search(""));
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = c
                .search_page("", after.as_deref(), 4)
                .expect("valid cursor");
            assert_eq!(page.total, 6);
            assert!(page.hits.len() <= 4);
            seen.extend(page.hits.iter().map(|h| h.media.id));
            match page.next {
                Some(next) => after = Some(next.to_string()),
                None => break,
            }
        }
        assert_eq!(seen, all);
    }

    #[test]
    fn a_cursor_only_pages_its_own_query() {
        let c = sample();
        let first = c.search_page("", None, 2).expect("first page");
        let next = first.next.expect("more pages").to_string();
        assert_eq!(
            c.search_page("harbor", Some(&next), 2).err(),
            Some(CursorError::WrongQuery)
        );
        assert_eq!(
            c.search_page("", Some("nonsense"), 2).err(),
            Some(CursorError::Malformed)
        );
    }

    #[test]
    fn json_round_trip_keeps_items_and_search() {
        let c = sample();
        let back = Catalogue::from_json(&c.to_json()).expect("own JSON reads back");
        assert_eq!(
            back.iter().collect::<Vec<_>>(),
            c.iter().collect::<Vec<_>>()
        );
        assert_eq!(ids(&back.search("harbor")), ids(&c.search("harbor")));
        assert!(matches!(
            Catalogue::from_json("{\"id\": 1}"),
            Err(CatalogueError::Json(_))
        ));
    }
}
