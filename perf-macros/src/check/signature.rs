//! What no perf test may be, whatever its kind: a `#[test]` too, `const`, `unsafe`, `extern`,
//! generic or variadic.

use syn::spanned::Spanned;
use syn::ItemFn;

use crate::attr::Errors;
use crate::tokens::show;

/// Reports what the function's attributes and signature may not have.
pub fn check(f: &ItemFn, errors: &mut Errors) {
    test_attributes(f, errors);
    let sig = &f.sig;
    if let Some(c) = &sig.constness {
        errors.push(c.span(), "a perf test cannot be a `const fn`");
    }
    if let Some(u) = &sig.unsafety {
        errors.push(
            u.span(),
            "a perf test cannot be `unsafe`; call unsafe code inside the body",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.push_spanned(abi, "a perf test cannot declare an ABI");
    }
    let generic = "a perf test cannot be generic: write one #[perf_test] per concrete type";
    if !sig.generics.params.is_empty() {
        errors.push_spanned(&sig.generics, generic);
    } else if let Some(w) = &sig.generics.where_clause {
        errors.push_spanned(w, generic);
    }
    if let Some(v) = &sig.variadic {
        errors.push(v.span(), "a perf test cannot be variadic");
    }
}

/// `#[test]`, and test attributes of other crates such as `#[tokio::test]`.
fn test_attributes(f: &ItemFn, errors: &mut Errors) {
    for attr in &f.attrs {
        if attr
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "test")
        {
            errors.push_spanned(
                attr,
                format!(
                    "remove `#[{}]`: #[perf_test] adds its own test so the body runs under `cargo test`",
                    show(attr.path())
                ),
            );
        }
    }
}
