//! Perf tests in a `harness = false` target: `perf_harness::main!()` supplies `main`, so
//! `cargo test` still runs them (as smoke tests, with libtest's filters) and `cargo perf`
//! measures them.

use mediashelf::{fixtures, render, Catalogue, CatalogueError, Cursor, Query};
use perf_harness::perf_test;

/// Items in the JSON the load test parses.
const ITEMS: usize = 20_000;

fn catalogue_json() -> String {
    fixtures::catalogue_json(ITEMS, 77)
}

/// Loading the catalogue at start-up: parse 20 000 items of JSON and build the index.
///
/// `setup` returns a `String`; the body may take it as `&mut str` (deref coercion applies).
#[perf_test(samples = 15, warmup = 2, setup = catalogue_json, p95 = "500ms", max = "800ms")]
fn load_catalogue_from_json(json: &mut str) -> Result<(), CatalogueError> {
    let catalogue = Catalogue::from_json(json)?;
    std::hint::black_box(catalogue.term_count());
    Ok(())
}

/// Generating a 1 000-item fixture: the PRNG, skewed picks and title formatting.
#[perf_test(warmup = "1s", duration = "2s", mean = "5ms")]
fn generate_fixture_items() -> usize {
    fixtures::media(std::hint::black_box(1_000), 3).len()
}

/// Parsing a search-box input with filters, and fingerprinting it for cursors.
#[perf_test(median = "15us")]
fn parse_query_with_filters() -> u32 {
    Query::parse(std::hint::black_box(
        "Midnight Harbor kind:movies year:1990..1999 #noir tag:Crime schindler's li",
    ))
    .fingerprint()
}

/// Escaping a hostile, entity-heavy title, plus a cursor's text round trip.
#[perf_test(median = "10us")]
fn escape_title_and_parse_cursor(b: &mut perf_harness::Bencher) {
    let title = "<Tom & Jerry's \"Greatest\" Chases> ".repeat(8);
    let cursor = Cursor::after(0xfeed_beef, 12.5, 4242).to_string();
    b.iter(|| {
        let escaped = render::escape(std::hint::black_box(&title));
        let parsed = Cursor::parse(std::hint::black_box(&cursor)).map(|c| c.id());
        (escaped.len(), parsed)
    })
}

perf_harness::main!();
