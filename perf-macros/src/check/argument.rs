//! What micro-benchmarks and latency tests share: the body's one parameter, the `teardown`
//! that needs the `setup` value, and the refusal of load keys.

use syn::{FnArg, PatType, Signature, Type};

use crate::attr::{Args, Errors};
use crate::tokens::show;

/// The parameter of the body, after the rules every non-load test shares.
pub enum Argument<'a> {
    /// `fn f()`.
    None,
    /// `&self` or `self`: reported.
    Method,
    /// A parameter that is not a `&mut` reference: reported.
    NotMut,
    /// `name: &mut T`.
    Mut {
        /// The whole parameter, `name: &mut T`.
        param: &'a PatType,
        /// `T`.
        referent: &'a Type,
    },
}

impl Argument<'_> {
    /// Whether the body declares a (typed) parameter, valid or not.
    pub fn is_typed(&self) -> bool {
        matches!(self, Argument::NotMut | Argument::Mut { .. })
    }
}

/// Reads the body's parameter; reports a second one, a receiver, and a parameter not by `&mut`.
pub fn of<'a>(sig: &'a Signature, errors: &mut Errors) -> Argument<'a> {
    let mut inputs = sig.inputs.iter();
    let first = inputs.next();
    for extra in inputs {
        errors.push_spanned(
            extra,
            "a perf test takes at most one argument: a `&mut Bencher`, or the `setup` value by `&mut`",
        );
    }
    match first {
        None => Argument::None,
        Some(FnArg::Receiver(r)) => {
            method(r, errors);
            Argument::Method
        }
        Some(FnArg::Typed(param)) => match &*param.ty {
            Type::Reference(r) if r.mutability.is_some() => Argument::Mut {
                param,
                referent: &r.elem,
            },
            ty => {
                // Suggest the `&mut` form of what was written: `u32` or `&u32` → `&mut u32`.
                let referent = match ty {
                    Type::Reference(r) => &*r.elem,
                    other => other,
                };
                errors.push_spanned(
                    ty,
                    format!(
                        "the argument must be a `&mut` reference: write `{}: &mut {}`; a perf \
                         test gets its `setup` value (or a `Bencher`) by `&mut`",
                        show(&param.pat),
                        show(referent)
                    ),
                );
                Argument::NotMut
            }
        },
    }
}

/// Reports `self` as a parameter.
pub fn method(receiver: &syn::Receiver, errors: &mut Errors) {
    errors.push_spanned(
        receiver,
        "#[perf_test] cannot go on a method: move the body into a free function",
    );
}

/// Reports each load key on a test that is not a load test.
pub fn no_load_keys(args: &Args, errors: &mut Errors) {
    for (key, span) in &args.load_keys {
        errors.push(
            *span,
            format!(
                "`{key}` belongs to a load test: add `users = N` (virtual users) or \
                 `rate = \"N/s\"` (arrivals), and make the body \
                 `async fn name(user: &mut perf_harness::User)`"
            ),
        );
    }
}

/// Whether a type names criterion's `Bencher` (behind any number of references).
pub fn names_bencher(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => names_bencher(&r.elem),
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Bencher"),
        _ => false,
    }
}

/// Reports `teardown` without the `setup` whose value it receives.
pub fn teardown_needs_setup(args: &Args, errors: &mut Errors) {
    if let Some(teardown) = &args.teardown {
        if args.setup.is_none() {
            errors.push(
                syn::spanned::Spanned::span(teardown),
                "`teardown` receives the `setup` value after the last sample: add `setup = make_it`",
            );
        }
    }
}
