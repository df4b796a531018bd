//! The rules of a micro-benchmark: no argument or a `&mut Bencher`, `mean`/`median` bounds,
//! warm-up and measurement given as times, no fixture, not async.

use syn::spanned::Spanned;
use syn::{Signature, Type};

use super::argument::{self, Argument};
use super::database;
use crate::attr::{Args, Errors};
use crate::spec::{Central, Micro, MicroBody};

/// Checks a test without `samples` or load keys and builds its spec.
pub fn check(args: Args, sig: &Signature, mut errors: Errors) -> syn::Result<Micro> {
    argument::no_load_keys(&args, &mut errors);
    let arg = argument::of(sig, &mut errors);
    body(&arg, sig, &mut errors);
    argument::teardown_needs_setup(&args, &mut errors);
    database::n_plus_one_needs_setup(&args, &mut errors);
    database::counts_need_samples(&args, &mut errors);
    keys(&args, sig, &mut errors);
    errors.finish()?;
    Ok(spec(args, &arg))
}

/// Reports a parameter that is not a `Bencher`, and a `Bencher` body that returns a value.
fn body(arg: &Argument<'_>, sig: &Signature, errors: &mut Errors) {
    let Argument::Mut { param, referent } = arg else {
        return;
    };
    if !argument::names_bencher(referent) {
        errors.push_spanned(
            &param.ty,
            "a micro-benchmark takes no argument or `b: &mut perf_harness::Bencher`; \
             to pass a fixture, add `samples = N` and `setup = make_it`",
        );
    } else if let syn::ReturnType::Type(_, ty) = &sig.output {
        if !matches!(&**ty, Type::Tuple(t) if t.elems.is_empty()) {
            errors.push_spanned(
                ty,
                "a micro-benchmark that takes a `Bencher` returns nothing: \
                 return the value from the closure, `b.iter(|| ...)`",
            );
        }
    }
}

/// Reports the keys that need one timed call per sample, and `async`.
fn keys(args: &Args, sig: &Signature, errors: &mut Errors) {
    for t in &args.thresholds {
        if t.key != "mean" && t.key != "median" {
            errors.push(
                t.span,
                format!(
                    "`{}` needs one timed call per sample: add `samples = N`; a \
                     micro-benchmark is checked with `mean` or `median`",
                    t.key
                ),
            );
        }
    }
    if let Some((_, span)) = args.warmup_calls {
        errors.push(
            span,
            "for a micro-benchmark `warmup` is a time, e.g. `warmup = \"1s\"`; a number of \
             calls needs `samples = N`",
        );
    }
    if let Some((_, span)) = args.timeout_ns {
        errors.push(span, "`timeout` limits each timed call: add `samples = N`");
    }
    if let Some(setup) = &args.setup {
        errors.push(
            setup.span(),
            "`setup` needs `samples = N`; a micro-benchmark prepares inputs with \
             `b.iter_batched(setup, routine, BatchSize::SmallInput)`",
        );
    }
    if let Some(a) = &sig.asyncness {
        errors.push(
            a.span(),
            "an async perf test is timed one call at a time: add `samples = N`",
        );
    }
}

/// The spec of a micro-benchmark that passed its checks.
fn spec(args: Args, arg: &Argument<'_>) -> Micro {
    let thresholds = args
        .thresholds
        .iter()
        .filter_map(|t| match t.key.as_str() {
            "mean" => Some((Central::Mean, t.limit_ns)),
            "median" => Some((Central::Median, t.limit_ns)),
            _ => None,
        })
        .collect();
    Micro {
        thresholds,
        warmup_ns: args.warmup_ns.map(|(ns, _)| ns),
        duration_ns: args.duration_ns.map(|(ns, _)| ns),
        body: match arg {
            Argument::Mut { .. } => MicroBody::Bencher,
            _ => MicroBody::Routine,
        },
    }
}
