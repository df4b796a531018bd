//! The rules of a latency test (`samples = N`), database tests included: a `&mut` parameter
//! exactly when there is a `setup`, no `Bencher`, and `warmup` counted in calls.

use syn::spanned::Spanned;
use syn::Signature;

use super::argument::{self, Argument};
use super::database;
use crate::attr::{Args, Errors};
use crate::spec::{Fixture, Latency, TimeLimit};
use crate::tokens::show;

/// Checks a test with `samples` and no load keys, and builds its spec.
pub fn check(
    samples: u64,
    args: Args,
    sig: &Signature,
    mut errors: Errors,
) -> syn::Result<Latency> {
    argument::no_load_keys(&args, &mut errors);
    let arg = argument::of(sig, &mut errors);
    parameter(&arg, &args, &mut errors);
    argument::teardown_needs_setup(&args, &mut errors);
    database::n_plus_one_needs_setup(&args, &mut errors);
    setup_needs_parameter(&arg, &args, &mut errors);
    keys(&args, &mut errors);
    errors.finish()?;
    Ok(spec(samples, args, sig))
}

/// Reports a `Bencher` parameter, and a parameter that no `setup` fills.
fn parameter(arg: &Argument<'_>, args: &Args, errors: &mut Errors) {
    let Argument::Mut { param, referent } = arg else {
        return;
    };
    if argument::names_bencher(referent) {
        errors.push_spanned(
            param,
            "a test with `samples` times each call itself and takes no `Bencher`: \
             remove the argument, or remove `samples` to make this a micro-benchmark",
        );
    } else if args.setup.is_none() {
        errors.push_spanned(
            param,
            format!(
                "this test takes an argument but has no `setup`: add \
                 `setup = make_it`, naming a function that returns `{}`",
                show(referent)
            ),
        );
    }
}

/// Reports a `setup` whose value the body has no parameter to receive.
fn setup_needs_parameter(arg: &Argument<'_>, args: &Args, errors: &mut Errors) {
    if let Some(setup) = &args.setup {
        if !arg.is_typed() {
            errors.push(
                setup.span(),
                "`setup` passes its value to the test by `&mut`: add a parameter, e.g. \
                 `fn recent_users(db: &mut Db)`",
            );
        }
    }
}

/// Reports the micro-benchmark forms of `warmup` and `duration`.
fn keys(args: &Args, errors: &mut Errors) {
    if let Some((_, span)) = args.warmup_ns {
        errors.push(
            span,
            "for a test with `samples`, `warmup` is a number of untimed calls, e.g. `warmup = 10`",
        );
    }
    if let Some((_, span)) = args.duration_ns {
        errors.push(
            span,
            "`duration` sets a micro-benchmark's measurement time; a test with `samples` \
             runs exactly that many calls",
        );
    }
}

/// The spec of a latency test that passed its checks: the body takes the fixture exactly when
/// there is a `setup`.
fn spec(samples: u64, args: Args, sig: &Signature) -> Latency {
    let n_plus_one = args.n_plus_one.is_some();
    let teardown = args.teardown;
    Latency {
        samples,
        thresholds: TimeLimit::all(&args.thresholds),
        warmup_calls: args.warmup_calls.map(|(n, _)| n),
        timeout_ns: args.timeout_ns.map(|(ns, _)| ns),
        max_queries: args.max_queries.map(|(n, _)| n),
        fixture: args.setup.map(|setup| Fixture {
            setup,
            teardown,
            n_plus_one,
        }),
        is_async: sig.asyncness.is_some(),
    }
}
