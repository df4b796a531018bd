//! Deterministic test data: a seeded xorshift generator and skewed synthetic catalogues.
//!
//! Real catalogues are lopsided: a few words, tags and recent years are everywhere, most are
//! rare. The generator reproduces that with Zipf-like picks, so search benchmarks see both long
//! and short posting lists. The same `(n, seed)` always gives the same data.

use crate::catalogue::Catalogue;
use crate::media::{Media, MediaKind};
use crate::requests::{Priority, Target};

/// A xorshift64* pseudo-random generator: tiny, fast and reproducible from its seed.
#[derive(Debug, Clone)]
pub struct XorShift64 {
    state: u64,
}

impl XorShift64 {
    /// A generator seeded from `seed` (scrambled with splitmix64, so nearby seeds diverge).
    pub fn new(seed: u64) -> XorShift64 {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // xorshift never leaves the all-zero state.
        XorShift64 {
            state: if z == 0 { 0x2545_f491_4f6c_dd1d } else { z },
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A uniform integer in `0..n`; `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "below(0) has no values to pick");
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An index in `0..n` skewed toward 0: index `i` has probability about `1 / ((i + 1) ln n)`.
    pub fn skewed(&mut self, n: usize) -> usize {
        assert!(n > 0, "skewed(0) has no values to pick");
        let x = ((n as f64 + 1.0).powf(self.unit()) - 1.0) as usize;
        x.min(n - 1)
    }

    /// An element of `items` picked with `skewed`: earlier elements are much more likely.
    pub fn pick_skewed<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.skewed(items.len())]
    }

    /// An element of `items` picked uniformly.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Title adjectives, most common first.
pub const ADJECTIVES: &[&str] = &[
    "Last",
    "Dark",
    "Silent",
    "Lost",
    "Golden",
    "Broken",
    "Hidden",
    "Midnight",
    "Wild",
    "Little",
    "Iron",
    "Secret",
    "Crimson",
    "Endless",
    "Electric",
    "Quiet",
    "Frozen",
    "Burning",
    "Distant",
    "Hollow",
    "Northern",
    "Paper",
    "Glass",
    "Savage",
    "Gentle",
    "Velvet",
    "Neon",
    "Ancient",
    "Bitter",
    "Brave",
    "Falling",
    "Lonely",
    "Restless",
    "Scarlet",
    "Shattered",
    "Sleeping",
    "Strange",
    "Sudden",
    "Twisted",
    "Wandering",
];

/// Title nouns, most common first.
pub const NOUNS: &[&str] = &[
    "Night",
    "City",
    "Road",
    "Heart",
    "Storm",
    "River",
    "Kingdom",
    "Garden",
    "Empire",
    "Signal",
    "Harbor",
    "Machine",
    "Winter",
    "Summer",
    "Shadow",
    "Mirror",
    "Island",
    "Station",
    "Frontier",
    "Orchard",
    "Lantern",
    "Circuit",
    "Horizon",
    "Citadel",
    "Forest",
    "Ocean",
    "Desert",
    "Voyage",
    "Dream",
    "Fire",
    "Song",
    "Story",
    "Letter",
    "Crown",
    "Wolf",
    "Raven",
    "Bridge",
    "Tower",
    "Engine",
    "Compass",
    "Archive",
    "Carnival",
    "Monsoon",
    "Meridian",
    "Labyrinth",
    "Aurora",
    "Requiem",
    "Sanctuary",
    "Tide",
    "Echo",
];

/// Places used in titles, most common first.
pub const PLACES: &[&str] = &[
    "Paris",
    "Babylon",
    "Mars",
    "Memphis",
    "Kyoto",
    "Lisbon",
    "Vienna",
    "Oslo",
    "Avalon",
    "Tangier",
    "Zanzibar",
    "Patagonia",
    "Reykjavik",
    "Samarkand",
    "Valparaíso",
];

/// Tags, most common first.
pub const TAGS: &[&str] = &[
    "drama",
    "comedy",
    "thriller",
    "documentary",
    "science-fiction",
    "crime",
    "romance",
    "adventure",
    "family",
    "horror",
    "fantasy",
    "animation",
    "mystery",
    "history",
    "biography",
    "war",
    "music",
    "jazz",
    "electronic",
    "indie",
    "folk",
    "noir",
    "western",
    "musical",
    "sport",
    "classical",
    "hip-hop",
    "poetry",
    "travel",
    "nature",
];

const NUMERALS: &[&str] = &["II", "III", "IV", "V"];

fn title(rng: &mut XorShift64) -> String {
    let adj = *rng.pick_skewed(ADJECTIVES);
    let noun = *rng.pick_skewed(NOUNS);
    match rng.below(100) {
        0..=34 => format!("{adj} {noun}"),
        35..=54 => format!("The {adj} {noun}"),
        55..=69 => format!("{noun} of {}", rng.pick_skewed(PLACES)),
        70..=79 => format!("The {noun} of the {adj} {}", rng.pick_skewed(NOUNS)),
        80..=89 => format!("{adj} {noun} {}", rng.pick_skewed(NUMERALS)),
        90..=95 => format!("{}: {adj} {noun}", rng.pick_skewed(PLACES)),
        _ => format!("{noun}'s {}", rng.pick(NOUNS)),
    }
}

fn kind(rng: &mut XorShift64) -> MediaKind {
    match rng.below(100) {
        0..=44 => MediaKind::Movie,
        45..=69 => MediaKind::Series,
        70..=79 => MediaKind::Documentary,
        80..=91 => MediaKind::Album,
        _ => MediaKind::Book,
    }
}

/// `n` synthetic media items with ids `1..=n`: skewed words, tags, kinds and recent years.
pub fn media(n: usize, seed: u64) -> Vec<Media> {
    let mut rng = XorShift64::new(seed);
    (1..=n)
        .map(|id| {
            let tag_count = 1 + rng.skewed(4);
            let mut tags: Vec<String> = Vec::with_capacity(tag_count);
            for _ in 0..tag_count {
                let tag = *rng.pick_skewed(TAGS);
                if !tags.iter().any(|t| t == tag) {
                    tags.push(tag.to_owned());
                }
            }
            Media {
                id: u32::try_from(id).expect("fewer than 2^32 items"),
                title: title(&mut rng),
                // Most items are recent: 2025 back to 1926, skewed toward 2025.
                year: 2025 - rng.skewed(100) as u16,
                kind: kind(&mut rng),
                tags,
            }
        })
        .collect()
}

/// A catalogue of `n` synthetic items (see `media`).
pub fn catalogue(n: usize, seed: u64) -> Catalogue {
    Catalogue::from_items(media(n, seed)).expect("generated items have unique ids and titles")
}

/// The JSON array `Catalogue::from_json` reads, for `n` synthetic items.
pub fn catalogue_json(n: usize, seed: u64) -> String {
    serde_json::to_string(&media(n, seed)).expect("media items always serialize")
}

/// `n` search-box inputs over the generated vocabulary: words, pairs, half-typed words and
/// filters, with popular words most frequent.
pub fn queries(n: usize, seed: u64) -> Vec<String> {
    let mut rng = XorShift64::new(seed ^ 0x5eed_0f9e_41e5);
    (0..n)
        .map(|_| {
            let noun = rng.pick_skewed(NOUNS).to_lowercase();
            let adj = rng.pick_skewed(ADJECTIVES).to_lowercase();
            match rng.below(10) {
                0..=2 => noun,
                3..=4 => format!("{adj} {noun}"),
                5 => {
                    let cut = 2 + rng.below(noun.len() as u64 - 1) as usize;
                    noun[..cut.min(noun.len())].to_owned()
                }
                6 => format!("{noun} kind:{}", kind(&mut rng)),
                7 => format!("{noun} #{}", rng.pick_skewed(TAGS)),
                8 => {
                    let from = 1960 + 5 * rng.below(12) as u16;
                    format!("{adj} year:{from}..{}", from + 9)
                }
                _ => format!("{noun} of {}", rng.pick_skewed(PLACES).to_lowercase()),
            }
        })
        .collect()
}

/// One user asking for one thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEvent {
    /// Who asked.
    pub user: String,
    /// What they asked for.
    pub target: Target,
    /// How urgently.
    pub priority: Priority,
}

/// `n` requests from `users` users for items of a catalogue of `catalogue_size` (and some
/// titles outside it); popular targets are asked for many times, so many requests merge.
pub fn request_events(
    n: usize,
    users: usize,
    catalogue_size: usize,
    seed: u64,
) -> Vec<RequestEvent> {
    let mut rng = XorShift64::new(seed ^ 0x0e0e_57ed);
    (0..n)
        .map(|_| {
            let user = format!("user{}", rng.skewed(users.max(1)));
            let target = if rng.below(5) == 0 {
                Target::title(&title(&mut rng))
            } else {
                let id = 1 + rng.skewed(catalogue_size.max(1));
                Target::Media(u32::try_from(id).expect("fewer than 2^32 items"))
            };
            let priority = match rng.below(20) {
                0 => Priority::Urgent,
                1..=3 => Priority::High,
                4..=14 => Priority::Normal,
                _ => Priority::Low,
            };
            RequestEvent {
                user,
                target,
                priority,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_data() {
        assert_eq!(media(200, 42), media(200, 42));
        assert_ne!(media(200, 42), media(200, 43));
        assert_eq!(queries(50, 1), queries(50, 1));
        assert_eq!(
            request_events(50, 10, 100, 1),
            request_events(50, 10, 100, 1)
        );
    }

    #[test]
    fn below_and_skewed_stay_in_range() {
        let mut rng = XorShift64::new(0);
        for n in [1usize, 2, 7, 30] {
            for _ in 0..2_000 {
                assert!(rng.below(n as u64) < n as u64);
                assert!(rng.skewed(n) < n);
                let u = rng.unit();
                assert!((0.0..1.0).contains(&u));
            }
        }
    }

    #[test]
    fn skewed_favours_the_front() {
        let mut rng = XorShift64::new(9);
        let mut counts = [0u32; 30];
        for _ in 0..30_000 {
            counts[rng.skewed(30)] += 1;
        }
        // Expected shares: ~20% for index 0, ~1% for index 29.
        assert!(counts[0] > 4_500, "{counts:?}");
        assert!(counts[29] < 600, "{counts:?}");
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
    }

    #[test]
    fn generated_items_are_plausible() {
        let items = media(2_000, 7);
        assert!(items.iter().all(|m| (1926..=2025).contains(&m.year)));
        assert!(items
            .iter()
            .all(|m| !m.tags.is_empty() && m.tags.len() <= 4));
        let recent = items.iter().filter(|m| m.year >= 2000).count();
        assert!(recent > items.len() / 2, "years skew recent: {recent}");
        let movies = items.iter().filter(|m| m.kind == MediaKind::Movie).count();
        assert!((700..1100).contains(&movies), "{movies} movies");
        let c = Catalogue::from_items(items).expect("valid");
        assert_eq!(c.len(), 2_000);
    }

    #[test]
    fn queries_find_things() {
        let c = catalogue(3_000, 1);
        let found = queries(100, 2)
            .iter()
            .filter(|q| !c.search(q).is_empty())
            .count();
        assert!(found > 80, "only {found} of 100 queries match anything");
    }

    #[test]
    fn popular_requests_repeat() {
        let events = request_events(1_000, 50, 500, 3);
        let mut queue = crate::requests::RequestQueue::new();
        for e in &events {
            queue.submit(&e.user, e.target.clone(), e.priority);
        }
        assert!(queue.len() < 700, "{} distinct requests", queue.len());
        assert!(queue.peek().is_some_and(|r| r.requesters.len() > 1));
    }
}
