//! The catalogue service end to end: ordinary tests and perf tests side by side in one suite.
//!
//! `cargo test` runs everything here (each perf test as a quick smoke run); `cargo perf`
//! measures only the `#[perf_test]`s.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use mediashelf::fixtures::{self, RequestEvent};
use mediashelf::{render, Catalogue, CursorError, Priority, RequestQueue, Target};
use perf_harness::{perf_test, BatchSize, Bencher};

/// Items in the big catalogue the benchmarks search.
const BIG: usize = 20_000;

/// One 20 000-item catalogue per process, built on first use (the micro-benchmarks share it).
fn big() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| fixtures::catalogue(BIG, 2024))
}

// ---------------------------------------------------------------------------------------------
// Ordinary tests.

#[test]
fn generated_catalogue_survives_a_json_round_trip() {
    let json = fixtures::catalogue_json(500, 5);
    let catalogue = Catalogue::from_json(&json).expect("generated JSON is valid");
    assert_eq!(catalogue.len(), 500);
    assert_eq!(catalogue.to_json(), json);
}

#[test]
fn every_hit_contains_a_query_term_or_matching_prefix() {
    let catalogue = fixtures::catalogue(3_000, 9);
    for hit in catalogue.search("storm ").iter().take(50) {
        let text = format!("{} {}", hit.title, hit.tags.join(" ")).to_lowercase();
        assert!(text.contains("storm"), "{hit:?}");
    }
    for hit in catalogue.search("harb") {
        let text = format!("{} {}", hit.title, hit.tags.join(" ")).to_lowercase();
        assert!(text.contains("harb"), "{hit:?}");
    }
}

#[test]
fn paging_through_a_popular_query_visits_each_hit_once() {
    let catalogue = fixtures::catalogue(5_000, 3);
    let input = "night";
    let all: Vec<u32> = catalogue.search(input).iter().map(|m| m.id).collect();
    assert!(all.len() > 200, "a popular word: {} hits", all.len());
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = catalogue
            .search_page(input, after.as_deref(), 25)
            .expect("cursors from the previous page are valid");
        assert_eq!(page.total, all.len());
        seen.extend(page.hits.iter().map(|h| h.media.id));
        match page.next {
            Some(next) => after = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, all);
}

#[test]
fn a_cursor_is_refused_by_another_query() {
    let catalogue = fixtures::catalogue(2_000, 3);
    let next = catalogue
        .search_page("city", None, 5)
        .expect("first page")
        .next
        .expect("more than five hits")
        .to_string();
    assert_eq!(
        catalogue.search_page("road", Some(&next), 5).err(),
        Some(CursorError::WrongQuery)
    );
    assert!(catalogue.search_page("city", Some(&next), 5).is_ok());
}

#[test]
fn filters_hold_for_every_hit() {
    let catalogue = fixtures::catalogue(5_000, 4);
    let hits = catalogue.search("river kind:series year:2000-2015 #drama");
    assert!(!hits.is_empty());
    for m in hits {
        assert_eq!(m.kind, mediashelf::MediaKind::Series);
        assert!((2000..=2015).contains(&m.year));
        assert!(m.has_tag("drama"));
    }
}

#[test]
fn the_request_queue_serves_the_most_wanted_first() {
    let events = fixtures::request_events(2_000, 100, 1_000, 8);
    let mut queue = RequestQueue::new();
    for e in &events {
        queue.submit(&e.user, e.target.clone(), e.priority);
    }
    let distinct: HashSet<&Target> = events.iter().map(|e| &e.target).collect();
    assert_eq!(queue.len(), distinct.len());
    let served: Vec<_> = std::iter::from_fn(|| queue.pop()).collect();
    assert_eq!(served.len(), distinct.len());
    for pair in served.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            (a.priority, a.requesters.len()) >= (b.priority, b.requesters.len()),
            "{a:?} before {b:?}"
        );
    }
}

#[test]
fn the_results_page_escapes_what_users_typed() {
    let catalogue = fixtures::catalogue(1_000, 1);
    let input = "night <img src=x onerror=alert(1)>";
    let page = catalogue.search_page(input, None, 10).expect("first page");
    let html = render::results_page(input, &page);
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert_eq!(html.matches("<li data-id=").count(), page.hits.len());
}

// ---------------------------------------------------------------------------------------------
// Micro-benchmarks (criterion).

/// Tokenizing one title: the inner loop of indexing.
#[perf_test]
fn tokenize_title() -> usize {
    mediashelf::text::tokenize(std::hint::black_box(
        "The Shattered Lantern of the Northern Meridian: Schindler's Requiem II",
    ))
    .len()
}

/// One ranked search for a popular word in 20 000 items.
#[perf_test(median = "3ms")]
fn search_popular_word(b: &mut Bencher) {
    let catalogue = big();
    b.iter(|| catalogue.search(std::hint::black_box("night")).len())
}

/// Serving 1 000 queued requests, merged from 3 000 submissions, in priority order.
#[perf_test(median = "8ms", mean = "8ms")]
fn drain_request_queue(b: &mut perf_harness::Bencher) {
    let events = fixtures::request_events(3_000, 200, BIG, 17);
    b.iter_batched(
        || {
            let mut queue = RequestQueue::new();
            for e in &events {
                queue.submit(&e.user, e.target.clone(), e.priority);
            }
            queue
        },
        |mut queue| std::iter::from_fn(|| queue.pop()).count(),
        BatchSize::SmallInput,
    )
}

// ---------------------------------------------------------------------------------------------
// Latency tests (one timed call per sample).

/// The big catalogue and a rotating list of realistic search-box inputs.
struct Searches {
    catalogue: Catalogue,
    queries: Vec<String>,
    next: usize,
}

impl Searches {
    fn next_query(&mut self) -> &str {
        let i = self.next % self.queries.len();
        self.next += 1;
        &self.queries[i]
    }
}

fn searches() -> Searches {
    Searches {
        catalogue: fixtures::catalogue(BIG, 2024),
        queries: fixtures::queries(256, 99),
        next: 0,
    }
}

/// The first page of results for a mix of queries over 20 000 items.
#[perf_test(samples = 300, warmup = 30, setup = searches, p50 = "1ms", p95 = "3ms", p99 = "20ms")]
fn first_page_of_mixed_queries(s: &mut Searches) -> Result<(), CursorError> {
    let input = s.next_query().to_owned();
    let page = s.catalogue.search_page(&input, None, 20)?;
    std::hint::black_box(page.hits.len());
    Ok(())
}

/// Search plus HTML for a page of 50 results: the full cost of a results page.
#[perf_test(samples = 200, setup = searches, p95 = "5ms", max = "20ms")]
fn render_results_page(s: &mut Searches) -> Result<(), CursorError> {
    let input = s.next_query().to_owned();
    let page = s.catalogue.search_page(&input, None, 50)?;
    std::hint::black_box(render::results_page(&input, &page));
    Ok(())
}

/// A burst of requests from four tokio tasks sharing one queue, then serving them all.
#[perf_test(samples = 40, warmup = 5, timeout = "2s", setup = request_burst, p95 = "60ms")]
async fn concurrent_request_burst(events: &mut Arc<Vec<RequestEvent>>) -> Result<(), String> {
    let queue = Arc::new(Mutex::new(RequestQueue::new()));
    let tasks: Vec<_> = (0..4)
        .map(|task| {
            let queue = Arc::clone(&queue);
            let events = Arc::clone(events);
            tokio::spawn(async move {
                for chunk in events[task..]
                    .iter()
                    .step_by(4)
                    .collect::<Vec<_>>()
                    .chunks(50)
                {
                    {
                        let mut queue = queue.lock().map_err(|e| e.to_string())?;
                        for e in chunk {
                            queue.submit(&e.user, e.target.clone(), e.priority);
                        }
                    }
                    tokio::task::yield_now().await;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    let mut queue = queue.lock().map_err(|e| e.to_string())?;
    let pending = queue.len();
    let served = std::iter::from_fn(|| queue.pop()).count();
    if served != pending || pending == 0 {
        return Err(format!("served {served} of {pending} requests"));
    }
    Ok(())
}

fn request_burst() -> Arc<Vec<RequestEvent>> {
    Arc::new(fixtures::request_events(4_000, 300, BIG, 5))
}

mod paging {
    //! Perf tests about pagination, in a module of their own.

    use super::*;

    /// Walking every page of a popular query with cursors, 100 hits per page.
    #[perf_test(samples = 30, setup = searches, p95 = "30ms")]
    fn walk_every_page_of_a_popular_word(s: &mut Searches) -> Result<(), CursorError> {
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            let page = s.catalogue.search_page("city", after.as_deref(), 100)?;
            pages += 1;
            match page.next {
                Some(next) => after = Some(next.to_string()),
                None => break,
            }
        }
        std::hint::black_box(pages);
        Ok(())
    }

    #[test]
    fn priorities_are_ordered() {
        assert!(Priority::Urgent > Priority::High && Priority::Normal > Priority::Low);
    }
}
