//! The expansion of a checked test, in four phases: the body as an inner function, its
//! routine, its `Spec`, and the items around them (registry entry, pre-main hook, `#[test]`
//! shim).

mod routine;
mod spec;

use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote, quote_spanned};
use syn::{Attribute, Ident, ItemFn, Visibility};

use crate::spec::Test;

/// Expands a checked test into its registry entry, pre-main hook and `#[test]` shim.
pub fn emit(test: &Test, f: ItemFn) -> Tokens {
    let p = quote!(::perf_harness::__private);
    let item = Item::split(f);
    let routine = routine::tokens(test, &item.body, &p);
    let spec = spec::tokens(test, &p);
    let entry = registry_entry(&item, spec, routine, is_async(test), &p);
    let premain = premain_hook(&item, &p);
    let shim = test_shim(&item, &p);
    quote!(#entry #premain #shim)
}

/// The user's function taken apart: what goes on the emitted items, and the body.
struct Item {
    /// The test's name, which the shim keeps.
    name: Ident,
    /// The function's visibility, which the shim keeps.
    vis: Visibility,
    /// `#[cfg]`s, which apply to everything emitted.
    cfgs: Vec<Attribute>,
    /// `#[ignore]`s, which apply to the shim.
    ignores: Vec<Attribute>,
    /// The function renamed `__perf_body`, private, with the other attributes.
    body: ItemFn,
}

impl Item {
    /// Moves `#[cfg]` and `#[ignore]` off the function and renames it `__perf_body`.
    fn split(mut f: ItemFn) -> Item {
        let name = f.sig.ident.clone();
        let vis = f.vis.clone();
        let cfgs = attributes(&f, "cfg");
        let ignores = attributes(&f, "ignore");
        f.attrs
            .retain(|a| !a.path().is_ident("cfg") && !a.path().is_ident("ignore"));
        f.sig.ident = format_ident!("__perf_body", span = name.span());
        f.vis = Visibility::Inherited;
        // The argument's type is dictated by `setup`'s return type (`&mut String` for a `String`
        // fixture), so clippy's advice to take `&mut str` is not the user's to follow.
        f.attrs.push(syn::parse_quote!(#[allow(clippy::ptr_arg)]));
        Item {
            name,
            vis,
            cfgs,
            ignores,
            body: f,
        }
    }

    /// The span of the test's name, which the emitted items carry.
    fn span(&self) -> Span {
        self.name.span()
    }

    /// The registry entry's static: `__PERF_TEST_<NAME>`.
    fn entry(&self) -> Ident {
        format_ident!("__PERF_TEST_{}", self.name.to_string().to_uppercase())
    }
}

/// The function's attributes at `path`, in order.
fn attributes(f: &ItemFn, path: &str) -> Vec<Attribute> {
    f.attrs
        .iter()
        .filter(|a| a.path().is_ident(path))
        .cloned()
        .collect()
}

/// Whether the harness runs the body on its runtime.
fn is_async(test: &Test) -> bool {
    match test {
        Test::Micro(_) => false,
        Test::Latency(latency) => latency.is_async,
        Test::Load(_) => true,
    }
}

/// The `PerfTest` in the harness's registry.
fn registry_entry(
    item: &Item,
    spec: Tokens,
    routine: Tokens,
    is_async: bool,
    p: &Tokens,
) -> Tokens {
    let Item { name, cfgs, .. } = item;
    let name_str = name.to_string();
    let entry = item.entry();
    quote_spanned! {item.span()=>
        #(#cfgs)*
        #[#p::linkme::distributed_slice(#p::PERF_TESTS)]
        #[linkme(crate = #p::linkme)]
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        static #entry: #p::PerfTest = #p::PerfTest {
            name: #name_str,
            module_path: ::core::module_path!(),
            file: ::core::file!(),
            line: ::core::line!(),
            spec: #spec,
            is_async: #is_async,
            routine: #routine,
        };
    }
}

/// The hook that answers `cargo perf` before libtest's main sees the request.
fn premain_hook(item: &Item, p: &Tokens) -> Tokens {
    let cfgs = &item.cfgs;
    quote_spanned! {item.span()=>
        #(#cfgs)*
        const _: () = {
            // Answers `cargo perf` before libtest's main sees the request (see perf_harness::child).
            #[used]
            #[cfg_attr(
                any(target_os = "linux", target_os = "android", target_os = "freebsd",
                    target_os = "netbsd", target_os = "openbsd", target_os = "dragonfly",
                    target_os = "illumos", target_os = "solaris"),
                unsafe(link_section = ".init_array")
            )]
            #[cfg_attr(target_vendor = "apple", unsafe(link_section = "__DATA,__mod_init_func"))]
            #[cfg_attr(windows, unsafe(link_section = ".CRT$XCU"))]
            static __PERF_PREMAIN: extern "C" fn() = {
                extern "C" fn __perf_premain() {
                    #p::premain()
                }
                __perf_premain
            };
        };
    }
}

/// The `#[test]` that runs the body as a smoke test under `cargo test`.
fn test_shim(item: &Item, p: &Tokens) -> Tokens {
    let Item {
        name,
        vis,
        cfgs,
        ignores,
        ..
    } = item;
    let entry = item.entry();
    quote_spanned! {item.span()=>
        #(#cfgs)*
        #(#ignores)*
        #[test]
        #vis fn #name() {
            #p::smoke_test(&#entry)
        }
    }
}
