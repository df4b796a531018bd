//! `#[perf_test]`: parses the attribute (`attr`), checks it by kind of test into a typed spec
//! (`check`, `spec`), then emits a registry entry, a pre-main hook and a `#[test]` shim (`emit`).
//! All behaviour lives in perf-harness; this crate only expands.

mod attr;
mod check;
mod emit;
// The grammars live in perf-schema (perf-harness parses the same text at run time).
use perf_schema::grammar;
mod keys;
mod load;
mod spec;
mod tokens;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use syn::ItemFn;

use grammar::{duration, k6};

/// Marks a function as a performance test; see the perf-harness documentation for the keys.
///
/// `#[perf_test]` alone is a criterion micro-benchmark; `samples = N` times each call into an
/// HDR histogram; thresholds (`p95 = "50ms"`, `median = "2us"`, ...) become verdicts under
/// `cargo perf`. Under `cargo test` the body runs a few times as a smoke test.
#[proc_macro_attribute]
pub fn perf_test(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

/// Parses the function and the attribute, checks them, and emits the expansion.
fn expand(attr: Tokens, item: Tokens) -> syn::Result<Tokens> {
    let function: ItemFn = syn::parse2(item.clone()).map_err(|_| {
        let span = item.clone().into_iter().next().map_or(Span::call_site(), |t| t.span());
        syn::Error::new(
            span,
            "#[perf_test] goes on a free function, e.g. `#[perf_test] fn parse_small_json() { ... }`",
        )
    })?;
    let args = attr::parse(attr)?;
    let test = check::check(args, &function)?;
    Ok(emit::emit(&test, function))
}
