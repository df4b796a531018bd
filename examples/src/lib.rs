//! mediashelf: the core of a media-request service: catalogue, search, request queue, pages.
//!
//! ```
//! use mediashelf::{fixtures, render, Catalogue};
//!
//! let catalogue: Catalogue = fixtures::catalogue(1_000, 7);
//! let page = catalogue.search_page("night kind:movie", None, 20).expect("no cursor given");
//! let html = render::results_page("night kind:movie", &page);
//! assert!(html.contains("results</p>"));
//! ```
//!
//! This crate is also cargo-perf's worked example: its perf tests live in this module's unit
//! tests, in `tests/catalogue.rs` next to ordinary tests, and in `tests/perf_main.rs`, a
//! `harness = false` target.

pub mod api;
pub mod catalogue;
pub mod cursor;
pub mod fixtures;
pub mod media;
#[cfg(feature = "postgres")]
pub mod pg_api;
pub mod query;
pub mod render;
pub mod requests;
pub mod store;
pub mod text;

pub use catalogue::{Catalogue, CatalogueError, Hit, Page};
pub use cursor::{Cursor, CursorError};
pub use media::{Media, MediaKind};
pub use query::Query;
pub use requests::{MediaRequest, Priority, RequestId, RequestQueue, Submitted, Target};

/// A perf test in the library's own unit-test module: `cargo perf` finds it in the lib target.
#[cfg(test)]
mod perf {
    use perf_harness::perf_test;

    use crate::{fixtures, render, Catalogue, CursorError};

    struct Browsing {
        catalogue: Catalogue,
        queries: Vec<String>,
        next: usize,
    }

    fn browsing() -> Browsing {
        Browsing {
            catalogue: fixtures::catalogue(5_000, 11),
            queries: fixtures::queries(64, 12),
            next: 0,
        }
    }

    /// First two pages of a search, each rendered: what one visitor's click costs.
    #[perf_test(samples = 50, p95 = "1ms", setup = browsing)]
    fn search_and_render_two_pages(b: &mut Browsing) -> Result<(), CursorError> {
        let input = &b.queries[b.next % b.queries.len()];
        b.next += 1;
        let first = b.catalogue.search_page(input, None, 20)?;
        let mut bytes = render::results_page(input, &first).len();
        if let Some(next) = first.next {
            let second = b
                .catalogue
                .search_page(input, Some(&next.to_string()), 20)?;
            bytes += render::results_page(input, &second).len();
        }
        std::hint::black_box(bytes);
        Ok(())
    }
}
