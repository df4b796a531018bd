//! The statement-count keys of database tests: `max_queries` and `n_plus_one` count the
//! statements of timed calls, and `n_plus_one` runs them on fixtures of two sizes.

use crate::attr::{Args, Errors};

/// Reports `n_plus_one` without the `setup` that builds fixtures at a given scale.
pub fn n_plus_one_needs_setup(args: &Args, errors: &mut Errors) {
    if let Some(span) = args.n_plus_one {
        if args.setup.is_none() {
            errors.push(
                span,
                "`n_plus_one` runs the body on fixtures of two sizes: add `setup = make_it` with \
                 `fn make_it(scale: perf_harness::db::Scale) -> T`, seeding `scale.of(rows)` rows",
            );
        }
    }
}

/// Reports the count keys on a micro-benchmark, which has no timed calls to count.
pub fn counts_need_samples(args: &Args, errors: &mut Errors) {
    if let Some((_, span)) = args.max_queries {
        errors.push(
            span,
            "`max_queries` counts the statements of each timed call: add `samples = N`",
        );
    }
    if let Some(span) = args.n_plus_one {
        errors.push(
            span,
            "`n_plus_one` counts the statements of timed calls: add `samples = N`",
        );
    }
}
