//! Parsing and validating `#[perf_test(key = value, ...)]` into a checked description.

use proc_macro2::Span;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, Meta, Token};

use crate::duration::parse_ns;
use crate::keys::{self, ALL_KEYS, LOAD_KEYS};
use crate::load::{parse_bytes, parse_growth, parse_rate, parse_stages, StageValue};

/// A threshold as written: metric key, limit, and the token to blame.
pub struct ThresholdArg {
    pub key: String,
    pub limit_ns: u64,
    pub span: Span,
}

/// The attribute after validation of each value on its own (combinations are checked later).
#[derive(Default)]
pub struct Args {
    pub thresholds: Vec<ThresholdArg>,
    /// `max_error_rate`, `min_throughput`, `max_rss`, `max_cpu`, and unnamed `thresholds`.
    pub load_thresholds: Vec<(Threshold, Span)>,
    pub samples: Option<(u64, Span)>,
    pub warmup_calls: Option<(u64, Span)>,
    pub warmup_ns: Option<(u64, Span)>,
    pub duration_ns: Option<(u64, Span)>,
    pub timeout_ns: Option<(u64, Span)>,
    pub setup: Option<syn::Path>,
    pub teardown: Option<syn::Path>,
    pub max_queries: Option<(u64, Span)>,
    /// `n_plus_one = "deny"`: the span of the key.
    pub n_plus_one: Option<Span>,
    /// Load keys, each with the span of its key.
    pub users: Option<(u64, Span)>,
    pub rate: Option<(f64, Span)>,
    pub max_users: Option<(u64, Span)>,
    /// `workers = N`: generator threads.
    pub workers: Option<(u64, Span)>,
    pub iterations: Option<(u64, Span)>,
    pub iterations_per_user: Option<(u64, Span)>,
    pub stages: Option<(Vec<StageValue>, bool, Span)>,
    pub think_ns: Option<(u64, Span)>,
    /// `recovery`: the longest time the per-second p95 may stay over `p95` after a spike.
    pub recovery_ns: Option<(u64, Span)>,
    /// Every load key given, for "belongs to a load test" errors.
    pub load_keys: Vec<(String, Span)>,
    /// Per-name thresholds from `thresholds = [...]`.
    pub named: Vec<(String, Threshold)>,
}

/// A load-test threshold that is not a time bound, or a time bound for a request name.
#[derive(Clone, Debug, PartialEq)]
pub enum Threshold {
    Time { key: String, limit_ns: u64 },
    ErrorRate(f64),
    Throughput(f64),
    Rss(u64),
    Cpu(f64),
    Recovery(u64),
    RssGrowth(f64),
}

/// Collects errors so one compile shows every mistake in the attribute.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.add(syn::Error::new(span, message));
    }

    /// Blames all of `tokens` (e.g. `&mut self`, `#[test]`), not just their first token.
    pub fn push_spanned(&mut self, tokens: impl quote::ToTokens, message: impl std::fmt::Display) {
        self.add(syn::Error::new_spanned(tokens, message));
    }

    fn add(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

const THRESHOLD_KEYS: &str = "mean, median, p50, p75, p90, p95, p99, p999, max";
const OTHER_KEYS: &str =
    "samples, warmup, duration, timeout, setup, teardown, max_queries, n_plus_one";

/// Parses the attribute's tokens, reporting every bad key or value at its token.
pub fn parse(tokens: proc_macro2::TokenStream) -> syn::Result<Args> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens)?;
    let mut args = Args::default();
    let mut errors = Errors::default();
    let mut seen: Vec<String> = Vec::new();
    for meta in metas {
        let Meta::NameValue(nv) = meta else {
            errors.push(
                meta.span(),
                "expected `key = value`, e.g. `p95 = \"50ms\"` or `samples = 200`",
            );
            continue;
        };
        let Some(ident) = nv.path.get_ident() else {
            errors.push(
                nv.path.span(),
                "expected a plain key such as `p95` or `samples`",
            );
            continue;
        };
        let key = ident.to_string();
        let key_span = ident.span();
        if seen.contains(&key) {
            errors.push(
                key_span,
                format!("duplicate key `{key}`: give each key once"),
            );
            continue;
        }
        seen.push(key.clone());
        if !ALL_KEYS.contains(&key.as_str()) {
            let hint = keys::nearest(&key)
                .map(|k| format!("did you mean `{k}`? "))
                .unwrap_or_default();
            errors.push(
                key_span,
                format!(
                    "unknown key `{key}`; {hint}valid keys: {THRESHOLD_KEYS}, {OTHER_KEYS}; \
                     for load tests: {}",
                    LOAD_KEYS.join(", ")
                ),
            );
            continue;
        }
        // A `$value:expr` or `$setup:path` from a `macro_rules!` arrives in an invisible group.
        let mut value = &nv.value;
        while let Expr::Group(g) = value {
            value = &g.expr;
        }
        if LOAD_KEYS.contains(&key.as_str()) {
            args.load_keys.push((key.clone(), key_span));
        }
        match key.as_str() {
            "users" => args.users = count(value, &key, 1, &mut errors).map(|n| (n, key_span)),
            "workers" => args.workers = count(value, &key, 1, &mut errors).map(|n| (n, key_span)),
            "max_users" => {
                args.max_users = count(value, &key, 1, &mut errors).map(|n| (n, key_span))
            }
            "iterations" => {
                args.iterations = count(value, &key, 1, &mut errors).map(|n| (n, key_span))
            }
            "iterations_per_user" => {
                args.iterations_per_user = count(value, &key, 1, &mut errors).map(|n| (n, key_span))
            }
            "think" => args.think_ns = duration(value, &key, &mut errors).map(|n| (n, key_span)),
            "recovery" => {
                args.recovery_ns = duration(value, &key, &mut errors).map(|n| (n, key_span));
                if let Some((ns, _)) = args.recovery_ns {
                    args.load_thresholds
                        .push((Threshold::Recovery(ns), key_span));
                }
            }
            "rate" => {
                args.rate = string(value, &key, "\"200/s\"", &mut errors)
                    .and_then(|(s, span)| report(parse_rate(&s), &key, span, &mut errors))
                    .map(|r| (r, key_span))
            }
            "min_throughput" => {
                if let Some(r) = string(value, &key, "\"190/s\"", &mut errors)
                    .and_then(|(s, span)| report(parse_rate(&s), &key, span, &mut errors))
                {
                    args.load_thresholds
                        .push((Threshold::Throughput(r), key_span));
                }
            }
            "max_rss" => {
                if let Some(b) = string(value, &key, "\"512MiB\"", &mut errors)
                    .and_then(|(s, span)| report(parse_bytes(&s), &key, span, &mut errors))
                {
                    args.load_thresholds.push((Threshold::Rss(b), key_span));
                }
            }
            "max_rss_growth" => {
                if let Some(g) = string(value, &key, "\"5MiB/h\"", &mut errors)
                    .and_then(|(s, span)| report(parse_growth(&s), &key, span, &mut errors))
                {
                    args.load_thresholds
                        .push((Threshold::RssGrowth(g), key_span));
                }
            }
            "stages" => {
                args.stages = string(value, &key, "\"10s:0..50, 30s:50, 10s:50..0\"", &mut errors)
                    .and_then(|(s, span)| report(parse_stages(&s), &key, span, &mut errors))
                    .map(|(st, rate)| (st, rate, key_span))
            }
            "max_error_rate" => {
                if let Some(r) = fraction(value, &key, 1.0, &mut errors) {
                    args.load_thresholds
                        .push((Threshold::ErrorRate(r), key_span));
                }
            }
            "max_cpu" => {
                if let Some(r) = fraction(value, &key, f64::INFINITY, &mut errors) {
                    args.load_thresholds.push((Threshold::Cpu(r), key_span));
                }
            }
            "thresholds" => thresholds_list(value, &mut args, &mut errors),
            "mean" | "median" | "max" | "p50" | "p75" | "p90" | "p95" | "p99" | "p999" => {
                if let Some(ns) = duration(value, &key, &mut errors) {
                    args.thresholds.push(ThresholdArg {
                        key,
                        limit_ns: ns,
                        span: key_span,
                    });
                }
            }
            "samples" => {
                args.samples = count(value, &key, 1, &mut errors).map(|n| (n, key_span));
            }
            "warmup" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(_), ..
                }) => args.warmup_ns = duration(value, &key, &mut errors).map(|n| (n, key_span)),
                _ => args.warmup_calls = count(value, &key, 0, &mut errors).map(|n| (n, key_span)),
            },
            "duration" => {
                args.duration_ns = duration(value, &key, &mut errors).map(|n| (n, key_span));
            }
            "timeout" => {
                args.timeout_ns = duration(value, &key, &mut errors).map(|n| (n, key_span));
            }
            "max_queries" => {
                args.max_queries = count(value, &key, 1, &mut errors).map(|n| (n, key_span));
            }
            "n_plus_one" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) if s.value() == "deny" => args.n_plus_one = Some(key_span),
                other => errors.push(
                    other.span(),
                    "`n_plus_one` takes `\"deny\"`: fail when statements per call grow with the \
                     fixture's size",
                ),
            },
            "setup" | "teardown" => match value {
                Expr::Path(p) if p.qself.is_none() && key == "teardown" => {
                    args.teardown = Some(p.path.clone())
                }
                Expr::Path(p) if p.qself.is_none() => args.setup = Some(p.path.clone()),
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) if s.parse::<syn::Path>().is_ok() => errors.push(
                    s.span(),
                    format!(
                        "`{key}` takes the function itself, not a string: write `{key} = {}`",
                        s.value()
                    ),
                ),
                Expr::Call(c) if c.args.is_empty() && matches!(&*c.func, Expr::Path(_)) => {
                    let func = &c.func;
                    errors.push_spanned(
                        c,
                        format!(
                            "`{key}` takes the function itself and calls it once {} the \
                             samples: write `{key} = {}`, without `()`",
                            if key == "setup" { "before" } else { "after" },
                            crate::tokens::show(func)
                        ),
                    );
                }
                other => errors.push(
                    other.span(),
                    format!(
                        "`{key}` takes the name of a function, e.g. `{key} = seed_db` (no quotes, \
                         no call)"
                    ),
                ),
            },
            other => errors.push(
                key_span,
                format!("`{other}` is not supported by this version of perf-harness yet"),
            ),
        }
    }
    errors.finish()?;
    Ok(args)
}

fn string(value: &Expr, key: &str, example: &str, errors: &mut Errors) -> Option<(String, Span)> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some((s.value(), s.span())),
        other => {
            errors.push(
                other.span(),
                format!("`{key}` takes a string, e.g. `{key} = {example}`"),
            );
            None
        }
    }
}

fn report<T>(r: Result<T, String>, key: &str, span: Span, errors: &mut Errors) -> Option<T> {
    r.map_err(|m| errors.push(span, format!("`{key}`: {m}")))
        .ok()
}

/// A number literal (integer or float) from 0 to `max`; `max_cpu` also takes `"80%"`.
fn fraction(value: &Expr, key: &str, max: f64, errors: &mut Errors) -> Option<f64> {
    let (n, span) = match value {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => (f.base10_parse::<f64>().ok(), f.span()),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => (i.base10_parse::<f64>().ok(), i.span()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) if key == "max_cpu" => (
            s.value().trim().trim_end_matches('%').trim().parse().ok(),
            s.span(),
        ),
        other => (None, other.span()),
    };
    match n {
        Some(n) if (0.0..=max).contains(&n) => Some(n),
        _ if key == "max_error_rate" => {
            errors.push(
                span,
                "`max_error_rate` is a fraction from 0 to 1, e.g. `max_error_rate = 0.01` (1 %)",
            );
            None
        }
        _ => {
            errors.push(
                span,
                format!(
                    "`{key}` is a percentage of one core, e.g. `{key} = 80` or `{key} = \"150%\"`"
                ),
            );
            None
        }
    }
}

/// `thresholds = ["p(95) < 300ms", "http_req_duration{name:login}: p(99) < 1s"]`.
fn thresholds_list(value: &Expr, args: &mut Args, errors: &mut Errors) {
    let Expr::Array(array) = value else {
        errors.push(
            value.span(),
            "`thresholds` takes a list of k6 expressions, e.g.              `thresholds = [\"p(95) < 300ms\", \"http_req_duration{name:login}: p(99) < 1s\"]`",
        );
        return;
    };
    for item in &array.elems {
        let Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) = item
        else {
            errors.push(
                item.span(),
                "each threshold is a string such as \"p(95) < 300ms\"",
            );
            continue;
        };
        let parsed = match crate::k6::parse(&s.value()) {
            Ok(p) => p,
            Err(m) => {
                errors.push(s.span(), format!("threshold: {m}"));
                continue;
            }
        };
        use crate::k6::Condition as C;
        let t = match parsed.condition {
            C::Mean(ns) => Threshold::Time {
                key: "mean".into(),
                limit_ns: ns,
            },
            C::Median(ns) => Threshold::Time {
                key: "median".into(),
                limit_ns: ns,
            },
            C::Max(ns) => Threshold::Time {
                key: "max".into(),
                limit_ns: ns,
            },
            C::Percentile(p, ns) => Threshold::Time {
                key: format!("p:{p}"),
                limit_ns: ns,
            },
            C::ErrorRate(r) => Threshold::ErrorRate(r),
        };
        match parsed.name {
            Some(name) => args.named.push((name, t)),
            None => args.load_thresholds.push((t, s.span())),
        }
    }
}

fn duration(value: &Expr, key: &str, errors: &mut Errors) -> Option<u64> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => match parse_ns(&s.value()) {
            Ok(ns) => Some(ns),
            Err(message) => {
                errors.push(s.span(), format!("`{key}`: {message}"));
                None
            }
        },
        other => {
            errors.push(
                other.span(),
                format!("`{key}` takes a duration string with a unit, e.g. `{key} = \"50ms\"`"),
            );
            None
        }
    }
}

fn count(value: &Expr, key: &str, min: u64, errors: &mut Errors) -> Option<u64> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => match i.base10_parse::<u64>() {
            Ok(n) if n >= min => Some(n),
            Ok(_) => {
                errors.push(i.span(), format!("`{key}` must be at least {min}"));
                None
            }
            Err(_) => {
                errors.push(i.span(), format!("`{key}` must be a whole number"));
                None
            }
        },
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) if s.value().trim().parse::<u64>().is_ok() => {
            errors.push(
                s.span(),
                format!(
                    "`{key}` takes a number, not a string: write `{key} = {}`",
                    s.value().trim()
                ),
            );
            None
        }
        other => {
            errors.push(
                other.span(),
                format!("`{key}` takes a whole number, e.g. `{key} = 100`"),
            );
            None
        }
    }
}
