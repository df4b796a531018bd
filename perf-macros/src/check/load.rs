//! The rules of a load test: one model (`users`, `rate` or `stages`) and the keys that fit it,
//! and a body `async fn(user: &mut User)` or `&mut User<S>` with a `setup` that returns `S`.

use syn::spanned::Spanned;
use syn::{FnArg, Signature, Type};

use super::argument;
use crate::attr::{Args, Errors};
use crate::load::StageValue;
use crate::spec::{Arrivals, Iterations, Load, LoadSetup, TimeLimit};
use crate::tokens::show;

/// The key that makes a test a load test (when several are given, the checks report it).
pub enum Model {
    /// `users = N`.
    Users(u64),
    /// `rate = "N/s"`, per second.
    Rate(f64),
    /// `stages = "..."`: the steps, and whether they are rates.
    Stages(Vec<StageValue>, bool),
}

/// The load model the attribute gives, if any: whether this is a load test.
pub fn model(args: &Args) -> Option<Model> {
    if let Some((steps, rate, _)) = &args.stages {
        Some(Model::Stages(steps.clone(), *rate))
    } else if let Some((rate, _)) = args.rate {
        Some(Model::Rate(rate))
    } else {
        args.users.map(|(users, _)| Model::Users(users))
    }
}

/// Checks a load test and builds its spec.
pub fn check(model: Model, args: Args, sig: &Signature, mut errors: Errors) -> syn::Result<Load> {
    one_model(&args, &mut errors);
    model_keys(&args, &mut errors);
    recovery(&args, &mut errors);
    latency_keys(&args, &mut errors);
    let state = body(&args, sig, &mut errors);
    if let (Some(state), Some((n @ 2.., span))) = (&state, args.workers) {
        errors.push(
            span,
            format!(
                "`workers = {n}` spreads the users over {n} threads, but the users of a \
                 `User<{}>` test share one value on one thread: remove `workers` (such a test \
                 runs on one generator thread)",
                show(state)
            ),
        );
    }
    errors.finish()?;
    let setup = match (args.setup.clone(), state) {
        (Some(setup), Some(state)) => LoadSetup::State {
            setup,
            state: Box::new(state),
        },
        (Some(setup), None) => LoadSetup::Service(setup),
        (None, _) => LoadSetup::None,
    };
    Ok(spec(model, args, setup))
}

/// Reports `users` with `rate`, and `stages` with either or with `duration`.
fn one_model(args: &Args, errors: &mut Errors) {
    if let (Some((_, u)), Some(_)) = (args.users, args.rate) {
        errors.push(
            u,
            "`users` (closed model: each user loops) and `rate` (open model: iterations start on \
             a schedule) exclude each other: keep one",
        );
    }
    if let Some((_, rate_stages, span)) = &args.stages {
        if args.users.is_some() || args.rate.is_some() {
            errors.push(
                *span,
                "`stages` give the users (or, ending in `/s`, the rate) over time: remove `users` \
                 and `rate`",
            );
        }
        if let Some((_, d)) = args.duration_ns {
            errors.push(d, "`stages` set the duration: remove `duration`");
        }
        if !rate_stages {
            if let Some((_, m)) = args.max_users {
                errors.push(
                    m,
                    "`max_users` caps an open-model test; these stages give users: use rate \
                     stages (`\"10s:0..100/s\"`) or remove `max_users`",
                );
            }
        }
    }
}

/// Reports `recovery` without a spike to recover from (stages rising to at least twice the
/// stage before, then falling back) or without the `p95` it is judged against.
fn recovery(args: &Args, errors: &mut Errors) {
    let Some((_, span)) = args.recovery_ns else {
        return;
    };
    let steps: Vec<(u64, f64)> = args
        .stages
        .iter()
        .flat_map(|(steps, _, _)| steps.iter().map(|&(d, _, to)| (d, to)))
        .collect();
    let recovers = perf_schema::grammar::profile::spikes(&steps)
        .iter()
        .any(|s| s.end_ns.is_some());
    if !recovers {
        errors.push(
            span,
            "`recovery` times the return after a spike: give `stages` with a stage at least twice \
             the one before it, followed by a lower one, e.g. \
             \"10s:100/s, 5s:1000/s, 30s:100/s\"",
        );
    }
    if !args.thresholds.iter().any(|t| t.key == "p95") {
        errors.push(
            span,
            "`recovery` is the time until the per-second p95 is back under its threshold: add \
             `p95 = \"...\"`",
        );
    }
}

/// Whether iterations start on a schedule (`rate`, or stages of rates).
fn is_open(args: &Args) -> bool {
    args.rate.is_some() || args.stages.as_ref().is_some_and(|s| s.1)
}

/// Reports `max_users`, `iterations_per_user` and `think` where the model gives them no meaning.
fn model_keys(args: &Args, errors: &mut Errors) {
    let open = is_open(args);
    if !open && args.stages.is_none() {
        if let Some((_, m)) = args.max_users {
            errors.push(
                m,
                "`max_users` caps the users an open-model test (`rate = \"N/s\"`) may start; with \
                 `users = N` the number is fixed",
            );
        }
    }
    if let Some((_, span)) = args.iterations_per_user {
        if args.iterations.is_some() {
            errors.push(
                span,
                "give `iterations` (shared by all users) or `iterations_per_user` (each user \
                 runs that many), not both",
            );
        } else if open {
            errors.push(
                span,
                "`iterations_per_user` counts each user's loop (closed model, `users = N`); an \
                 open-model test starts iterations on a schedule: use `iterations` (shared)",
            );
        } else if args.stages.is_some() {
            errors.push(
                span,
                "`iterations_per_user` needs a fixed number of users: use `users = N` instead of \
                 `stages`, or a shared `iterations`",
            );
        }
    }
    if open {
        if let Some((_, t)) = args.think_ns {
            errors.push(
                t,
                "`think` pauses a user between iterations (closed model); with a rate, \
                 iterations start on schedule: sleep inside the body instead",
            );
        }
    }
}

/// Reports the keys of latency tests.
fn latency_keys(args: &Args, errors: &mut Errors) {
    if let Some((_, s)) = args.samples {
        errors.push(
            s,
            "`samples` belongs to latency tests; a load test stops after `duration` or \
             `iterations`",
        );
    }
    if let Some((_, w)) = args.warmup_calls.or(args.warmup_ns) {
        errors.push(
            w,
            "load tests have no `warmup` yet: ramp up with `stages` instead",
        );
    }
}

/// Reports a body that is not `async fn(user: &mut User)` or `&mut User<S>` with a `setup`;
/// returns `S` when the users share one.
fn body(args: &Args, sig: &Signature, errors: &mut Errors) -> Option<Type> {
    if sig.asyncness.is_none() {
        errors.push(
            sig.fn_token.span(),
            "a load test is an `async fn` taking `user: &mut perf_harness::User`",
        );
    }
    let mut inputs = sig.inputs.iter();
    let mut shared = None;
    match inputs.next() {
        None => errors.push(
            sig.paren_token.span.join(),
            "a load test takes the virtual user: `user: &mut perf_harness::User`",
        ),
        Some(FnArg::Receiver(r)) => argument::method(r, errors),
        Some(FnArg::Typed(pt)) => match user_state(&pt.ty) {
            None => errors.push_spanned(
                &pt.ty,
                "a load test takes `user: &mut perf_harness::User` (setup starts the service \
                 and gives its URL), or `user: &mut perf_harness::User<S>` whose users share \
                 the `S` that `setup` returns",
            ),
            Some(Some(state)) if args.setup.is_none() => errors.push_spanned(
                state,
                format!(
                    "`User<{}>` shares the value `setup` returns between the users: add \
                     `setup = make_it`, naming a function that returns `{}` (or \
                     `Result<{}, E>`)",
                    show(state),
                    show(state),
                    show(state)
                ),
            ),
            Some(state) => shared = state.cloned(),
        },
    }
    for extra in inputs {
        errors.push_spanned(
            extra,
            "a load test takes one argument: `user: &mut perf_harness::User`",
        );
    }
    shared
}

/// A load test's parameter: `Some(None)` for `&mut User`, `Some(Some(S))` for `&mut User<S>`,
/// `None` for anything else.
fn user_state(ty: &Type) -> Option<Option<&Type>> {
    let Type::Reference(r) = ty else {
        return None;
    };
    r.mutability?;
    let Type::Path(p) = &*r.elem else {
        return None;
    };
    let last = p.path.segments.last().filter(|s| s.ident == "User")?;
    match &last.arguments {
        syn::PathArguments::None => Some(None),
        syn::PathArguments::AngleBracketed(a) => match a.args.first() {
            Some(syn::GenericArgument::Type(t)) if a.args.len() == 1 => Some(Some(t)),
            _ => None,
        },
        syn::PathArguments::Parenthesized(_) => None,
    }
}

/// The spec of a load test that passed its checks.
fn spec(model: Model, args: Args, setup: LoadSetup) -> Load {
    let iterations = args.iterations.map(|(n, _)| n);
    let think_ns = args.think_ns.map(|(ns, _)| ns);
    let duration_ns = args.duration_ns.map(|(ns, _)| ns);
    let max_users = args.max_users.map(|(n, _)| n);
    let arrivals = match model {
        Model::Users(users) => Arrivals::Closed {
            users,
            iterations: match args.iterations_per_user {
                Some((n, _)) => Some(Iterations::PerUser(n)),
                None => iterations.map(Iterations::Shared),
            },
            think_ns,
            duration_ns,
        },
        Model::Rate(rate_per_s) => Arrivals::Open {
            rate_per_s,
            max_users,
            iterations,
            duration_ns,
        },
        Model::Stages(steps, false) => Arrivals::UserStages {
            steps,
            iterations,
            think_ns,
        },
        Model::Stages(steps, true) => Arrivals::RateStages {
            steps,
            max_users,
            iterations,
        },
    };
    Load {
        arrivals,
        timeout_ns: args.timeout_ns.map(|(ns, _)| ns),
        thresholds: TimeLimit::all(&args.thresholds),
        load_thresholds: args.load_thresholds.into_iter().map(|(t, _)| t).collect(),
        named: args.named,
        max_queries: args.max_queries.map(|(n, _)| n),
        workers: args.workers.map(|(n, _)| n),
        n_plus_one: args.n_plus_one.is_some(),
        setup,
        teardown: args.teardown,
    }
}
