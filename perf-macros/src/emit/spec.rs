//! The `Spec` literal of a checked test: its kind, thresholds and shape, as the harness and
//! `cargo perf --list` read them.

use proc_macro2::TokenStream as Tokens;
use quote::quote;

use crate::attr::Threshold;
use crate::spec::{Arrivals, Iterations, Latency, Load, Micro, Stat, Test};

/// The fields of `Spec` that every kind sets (each to `None` where it has no such key).
#[derive(Default)]
struct Fields<'a> {
    thresholds: Vec<Tokens>,
    samples: Option<u64>,
    warmup_calls: Option<u64>,
    warmup_ns: Option<u64>,
    duration_ns: Option<u64>,
    timeout_ns: Option<u64>,
    setup: Option<&'a syn::Path>,
    teardown: Option<&'a syn::Path>,
    /// The load fields the attribute sets; the rest come from `Spec::MICRO`.
    load: Tokens,
}

/// The `Spec` of a test.
pub fn tokens(test: &Test, p: &Tokens) -> Tokens {
    let (kind, fields) = match test {
        Test::Micro(micro) => (quote!(#p::Kind::Micro), micro_fields(micro, p)),
        Test::Latency(latency) => (quote!(#p::Kind::Latency), latency_fields(latency, p)),
        Test::Load(load) => (quote!(#p::Kind::Load), load_fields(load, p)),
    };
    let Fields {
        thresholds,
        samples,
        warmup_calls,
        warmup_ns,
        duration_ns,
        timeout_ns,
        setup,
        teardown,
        load,
    } = fields;
    let (samples, warmup, warmup_ns, duration_ns, timeout_ns) = (
        option(samples),
        option(warmup_calls),
        option(warmup_ns),
        option(duration_ns),
        option(timeout_ns),
    );
    let (setup, teardown) = (name(setup, p), name(teardown, p));
    quote! {
        #p::Spec {
            kind: #kind,
            thresholds: #p::Cow::Borrowed(&[#(#thresholds),*]),
            samples: #samples,
            warmup: #warmup,
            warmup_ns: #warmup_ns,
            duration_ns: #duration_ns,
            timeout_ns: #timeout_ns,
            setup: #setup,
            teardown: #teardown,
            #load
            ..#p::Spec::MICRO
        }
    }
}

/// A micro-benchmark: `mean`/`median` bounds and criterion's times.
fn micro_fields<'a>(micro: &Micro, p: &Tokens) -> Fields<'a> {
    Fields {
        thresholds: micro
            .thresholds
            .iter()
            .map(|(central, limit_ns)| time_threshold(p, central.stat(), *limit_ns))
            .collect(),
        warmup_ns: micro.warmup_ns,
        duration_ns: micro.duration_ns,
        ..Fields::default()
    }
}

/// A latency test: time bounds, then the statement counts; the fixture's functions by name.
fn latency_fields<'a>(latency: &'a Latency, p: &Tokens) -> Fields<'a> {
    let n_plus_one = latency.fixture.as_ref().is_some_and(|f| f.n_plus_one);
    let thresholds = latency
        .thresholds
        .iter()
        .map(|t| time_threshold(p, t.stat, t.limit_ns))
        .chain(count_thresholds(latency.max_queries, n_plus_one, p))
        .collect();
    Fields {
        thresholds,
        samples: Some(latency.samples),
        warmup_calls: latency.warmup_calls,
        timeout_ns: latency.timeout_ns,
        setup: latency.fixture.as_ref().map(|f| &f.setup),
        teardown: latency.fixture.as_ref().and_then(|f| f.teardown.as_ref()),
        ..Fields::default()
    }
}

/// A load test: time bounds, load bounds, statement counts, and the model's fields.
fn load_fields<'a>(load: &'a Load, p: &Tokens) -> Fields<'a> {
    let thresholds = load
        .thresholds
        .iter()
        .map(|t| time_threshold(p, t.stat, t.limit_ns))
        .chain(load.load_thresholds.iter().map(|t| load_threshold(p, t)))
        .chain(count_thresholds(load.max_queries, load.n_plus_one, p))
        .collect();
    let duration_ns = match load.arrivals {
        Arrivals::Closed { duration_ns, .. } | Arrivals::Open { duration_ns, .. } => duration_ns,
        Arrivals::UserStages { .. } | Arrivals::RateStages { .. } => None,
    };
    let setup = match &load.setup {
        crate::spec::LoadSetup::None => None,
        crate::spec::LoadSetup::Service(setup) | crate::spec::LoadSetup::State { setup, .. } => {
            Some(setup)
        }
    };
    Fields {
        thresholds,
        duration_ns,
        timeout_ns: load.timeout_ns,
        setup,
        teardown: load.teardown.as_ref(),
        load: model_fields(load, p),
        ..Fields::default()
    }
}

/// `max_queries` and `n_plus_one`, after the other thresholds.
fn count_thresholds(max_queries: Option<u64>, n_plus_one: bool, p: &Tokens) -> Vec<Tokens> {
    let max_queries = max_queries.map(|limit| quote!(#p::Threshold::MaxQueries { limit: #limit }));
    let n_plus_one = n_plus_one.then(|| quote!(#p::Threshold::NPlusOne));
    max_queries.into_iter().chain(n_plus_one).collect()
}

/// `Some(n)` or `None`.
fn option(value: Option<u64>) -> Tokens {
    match value {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    }
}

/// A function's path as text, as `--list` shows it.
fn name(path: Option<&syn::Path>, p: &Tokens) -> Tokens {
    match path {
        Some(path) => {
            let text = quote!(#path).to_string().replace(' ', "");
            quote!(::core::option::Option::Some(#p::Cow::Borrowed(#text)))
        }
        None => quote!(::core::option::Option::None),
    }
}

/// A bound on a latency statistic.
fn time_threshold(p: &Tokens, stat: Stat, limit: u64) -> Tokens {
    match stat {
        Stat::Mean => quote!(#p::Threshold::Mean { limit_ns: #limit }),
        Stat::Median => quote!(#p::Threshold::Median { limit_ns: #limit }),
        Stat::Max => quote!(#p::Threshold::Max { limit_ns: #limit }),
        Stat::Percentile(percentile) => {
            quote!(#p::Threshold::Percentile { percentile: #percentile, limit_ns: #limit })
        }
    }
}

/// A load test's bound: time, error rate, throughput, memory or CPU.
fn load_threshold(p: &Tokens, t: &Threshold) -> Tokens {
    match t {
        Threshold::Time { key, limit_ns } => time_threshold(p, Stat::of_key(key), *limit_ns),
        Threshold::ErrorRate(max) => quote!(#p::Threshold::ErrorRate { max: #max }),
        Threshold::Throughput(min) => {
            quote!(#p::Threshold::Throughput { min_per_s: #min })
        }
        Threshold::Rss(b) => quote!(#p::Threshold::Rss { max_bytes: #b }),
        Threshold::Cpu(c) => quote!(#p::Threshold::Cpu { max_percent: #c }),
        Threshold::Recovery(ns) => quote!(#p::Threshold::Recovery { limit_ns: #ns }),
        Threshold::RssGrowth(g) => quote!(#p::Threshold::RssGrowth { max_bytes_per_h: #g }),
    }
}

/// The load fields of `Spec` that the model sets, and the per-request thresholds.
fn model_fields(load: &Load, p: &Tokens) -> Tokens {
    let some = quote!(::core::option::Option::Some);
    let field = |name: &str, value: Option<Tokens>| match value {
        Some(v) => {
            let name = quote::format_ident!("{}", name);
            quote!(#name: #some(#v),)
        }
        None => quote!(),
    };
    let count = |n: Option<u64>| n.map(|n| quote!(#n));
    let mut out = Tokens::new();
    match &load.arrivals {
        Arrivals::Closed {
            users,
            iterations,
            think_ns,
            ..
        } => {
            out.extend(field("users", Some(quote!(#users))));
            match iterations {
                Some(Iterations::Shared(n)) => out.extend(field("iterations", count(Some(*n)))),
                Some(Iterations::PerUser(n)) => {
                    out.extend(field("iterations_per_user", count(Some(*n))))
                }
                None => {}
            }
            out.extend(field("think_ns", count(*think_ns)));
        }
        Arrivals::Open {
            rate_per_s,
            max_users,
            iterations,
            ..
        } => {
            out.extend(field("rate", Some(quote!(#rate_per_s))));
            out.extend(field("max_users", count(*max_users)));
            out.extend(field("iterations", count(*iterations)));
        }
        Arrivals::UserStages {
            steps,
            iterations,
            think_ns,
        } => {
            out.extend(field("iterations", count(*iterations)));
            out.extend(field("think_ns", count(*think_ns)));
            out.extend(field(
                "stages",
                Some(stages(steps, quote!(#p::Ramp::Users), p)),
            ));
        }
        Arrivals::RateStages {
            steps,
            max_users,
            iterations,
        } => {
            out.extend(field("max_users", count(*max_users)));
            out.extend(field("iterations", count(*iterations)));
            out.extend(field(
                "stages",
                Some(stages(steps, quote!(#p::Ramp::Rate), p)),
            ));
        }
    }
    out.extend(field("workers", count(load.workers)));
    if !load.named.is_empty() {
        let named = load.named.iter().map(|(name, t)| {
            let t = load_threshold(p, t);
            quote!(#p::NamedThreshold { name: #p::Cow::Borrowed(#name), threshold: #t })
        });
        out.extend(field(
            "request_thresholds",
            Some(quote!(#p::Cow::Borrowed(&[#(#named),*]))),
        ));
    }
    out
}

/// A `Stages` value: the ramp and its steps.
fn stages(steps: &[crate::load::StageValue], ramp: Tokens, p: &Tokens) -> Tokens {
    let steps = steps
        .iter()
        .map(|(d, from, to)| quote!(#p::Stage { duration_ns: #d, from: #from, to: #to }));
    quote!(#p::Stages {
        ramp: #ramp,
        steps: #p::Cow::Borrowed(&[#(#steps),*]),
    })
}
