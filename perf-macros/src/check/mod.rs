//! The rules of `#[perf_test]`: first the signature every test shares, then the rules of the
//! test's kind, which turn the parsed attribute into that kind's spec.

mod argument;
mod database;
mod latency;
mod load;
mod micro;
mod signature;

use syn::ItemFn;

use crate::attr::{Args, Errors};
use crate::spec::Test;

/// Checks the attribute against the function; every mistake is reported, each at its token.
pub fn check(args: Args, f: &ItemFn) -> syn::Result<Test> {
    let mut errors = Errors::default();
    signature::check(f, &mut errors);
    if let Some(model) = load::model(&args) {
        load::check(model, args, &f.sig, errors).map(|load| Test::Load(Box::new(load)))
    } else if let Some((samples, _)) = args.samples {
        latency::check(samples, args, &f.sig, errors).map(Test::Latency)
    } else {
        micro::check(args, &f.sig, errors).map(Test::Micro)
    }
}
