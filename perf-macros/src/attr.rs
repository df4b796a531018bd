//! Parsing and validating `#[perf_test(key = value, ...)]` into a checked description.

use proc_macro2::Span;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, Meta, Token};

use crate::duration::parse_ns;
use crate::keys::{self, ALL_KEYS, NOT_YET};

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
}

impl Args {
    /// Whether the attribute makes this a latency test (one timed call per sample).
    pub fn is_latency(&self) -> bool {
        self.samples.is_some()
    }
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
        if let Some((_, what)) = NOT_YET.iter().find(|(k, _)| *k == key) {
            errors.push(
                key_span,
                format!(
                    "`{key}` ({what}) is not supported by this version of perf-harness yet; \
                     supported keys: {THRESHOLD_KEYS}, {OTHER_KEYS}"
                ),
            );
            continue;
        }
        if !ALL_KEYS.contains(&key.as_str()) {
            let hint = keys::nearest(&key)
                .map(|k| format!("did you mean `{k}`? "))
                .unwrap_or_default();
            errors.push(
                key_span,
                format!("unknown key `{key}`; {hint}valid keys: {THRESHOLD_KEYS}, {OTHER_KEYS}"),
            );
            continue;
        }
        // A `$value:expr` or `$setup:path` from a `macro_rules!` arrives in an invisible group.
        let mut value = &nv.value;
        while let Expr::Group(g) = value {
            value = &g.expr;
        }
        match key.as_str() {
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
                            crate::show(func)
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
