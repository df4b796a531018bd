//! The `Routine` of a checked test: how the harness calls the body, one form per kind.
//!
//! Type errors the compiler finds in the expansion are blamed on what the user wrote: a setup
//! value of the wrong type on `setup = ...`, a return type that is not an `Outcome` on the
//! return type.

use proc_macro2::{Span, TokenStream as Tokens};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::ItemFn;

use crate::spec::{Latency, Load, LoadSetup, Micro, MicroBody, Test};

/// The routine of a test whose body is `f` (already renamed `__perf_body`).
pub fn tokens(test: &Test, f: &ItemFn, p: &Tokens) -> Tokens {
    match test {
        Test::Micro(micro) => micro_routine(micro, f, p),
        Test::Latency(latency) => latency_routine(latency, f, p),
        Test::Load(load) => load_routine(load, f, p),
    }
}

/// A span that reports errors at `user` but resolves names like our own tokens, so the
/// expansion's locals (`__s`, `__c`) stay visible when `user` came from a `macro_rules!` caller.
fn blame(user: Span) -> Span {
    Span::call_site().located_at(user)
}

/// Where a wrong return type is reported: the return type, or the call site.
fn output_span(f: &ItemFn) -> Span {
    match &f.sig.output {
        syn::ReturnType::Type(_, ty) => blame(ty.span()),
        syn::ReturnType::Default => Span::call_site(),
    }
}

/// A function's path as text, for messages that name it.
fn name(path: &syn::Path) -> String {
    quote!(#path).to_string().replace(' ', "")
}

/// Criterion's routine: the body itself when it takes the `Bencher`, else `b.iter(body)`.
fn micro_routine(micro: &Micro, f: &ItemFn, p: &Tokens) -> Tokens {
    match micro.body {
        MicroBody::Bencher => quote! { #p::Routine::Micro({ #f __perf_body }) },
        MicroBody::Routine => quote! {
            #p::Routine::Micro({
                fn __perf_micro(b: &mut ::perf_harness::Bencher<'_, '_>) {
                    #f
                    b.iter(__perf_body)
                }
                __perf_micro
            })
        },
    }
}

/// The timed routine: make the fixture, time the calls, probe the half-size fixture
/// (`n_plus_one`), hand the fixture to `teardown`.
fn latency_routine(latency: &Latency, f: &ItemFn, p: &Tokens) -> Tokens {
    let fixture = latency.fixture.as_ref();
    // With `n_plus_one`, setup builds the fixture at a given scale.
    let scale = |which: Tokens| match fixture.is_some_and(|x| x.n_plus_one) {
        true => quote!(#p::Scale::#which),
        false => quote!(),
    };
    let full = scale(quote!(FULL));
    let ctx = match fixture {
        Some(x) => {
            let setup = &x.setup;
            let setup_name = name(setup);
            quote_spanned!(blame(setup.span())=> __s.setup(#setup_name, || #setup(#full))?)
        }
        None => quote!(()),
    };
    let out = output_span(f);
    let call = match fixture {
        Some(x) => {
            let arg = quote_spanned!(blame(x.setup.span())=> __c);
            quote!(__perf_body(#arg))
        }
        None => quote!({
            let _ = __c;
            __perf_body()
        }),
    };
    let run = if latency.is_async {
        quote_spanned!(out=> __s.run_async(&mut __ctx, |__c| #p::Box::pin(#call)))
    } else {
        quote_spanned!(out=> __s.run_sync(&mut __ctx, |__c| #call))
    };
    let probe = match fixture {
        Some(x) if x.n_plus_one => {
            let setup = &x.setup;
            let half = scale(quote!(HALF));
            let smaller = quote_spanned!(blame(setup.span())=> || #setup(#half));
            if latency.is_async {
                quote_spanned!(out=> __s.probe_async(&mut __ctx, #smaller, |__c| #p::Box::pin(#call))?;)
            } else {
                quote_spanned!(out=> __s.probe_sync(&mut __ctx, #smaller, |__c| #call)?;)
            }
        }
        _ => quote!(),
    };
    let teardown = match fixture.and_then(|x| x.teardown.as_ref()) {
        Some(teardown) => {
            let name = name(teardown);
            quote_spanned!(blame(teardown.span())=> __s.teardown(#name, __ctx, #teardown)?;)
        }
        None => quote!(),
    };
    quote! {
        #p::Routine::Timed({
            fn __perf_timed(__s: &mut #p::Sampler) -> ::core::result::Result<(), #p::Failure> {
                #f
                #[allow(clippy::let_unit_value)]
                let mut __ctx = #ctx;
                #run?;
                #probe
                #teardown
                ::core::result::Result::Ok(())
            }
            __perf_timed
        })
    }
}

/// The load routine: a `Scenario` of the body, the service `setup` starts, or the state the
/// users share.
fn load_routine(load: &Load, f: &ItemFn, p: &Tokens) -> Tokens {
    let result = quote_spanned!(output_span(f)=> #p::Outcome::into_result(__perf_body(__u).await));
    let (service, state_fn, state_ty) = match &load.setup {
        LoadSetup::State { setup, state: ty } => {
            let setup_name = name(setup);
            let call = quote_spanned!(blame(setup.span())=> #p::state_from_setup::<#ty, _>(#setup_name, #setup));
            (
                quote!(::core::option::Option::None),
                quote!({
                    fn __perf_state() -> ::core::result::Result<#ty, #p::Failure> {
                        #call
                    }
                    __perf_state
                }),
                quote!(#ty),
            )
        }
        LoadSetup::Service(setup) => {
            let setup_name = name(setup);
            let call =
                quote_spanned!(blame(setup.span())=> #p::Service::from_setup(#setup_name, #setup));
            (
                quote!(::core::option::Option::Some({
                    fn __perf_setup() -> ::core::result::Result<#p::Service, #p::Failure> {
                        #call
                    }
                    __perf_setup as fn() -> ::core::result::Result<#p::Service, #p::Failure>
                })),
                quote!(#p::no_state),
                quote!(()),
            )
        }
        LoadSetup::None => (
            quote!(::core::option::Option::None),
            quote!(#p::no_state),
            quote!(()),
        ),
    };
    // Without perf-harness's `load` feature, `load_routine!` is a compile error naming it.
    quote! { #p::load_routine! {
        #p::Routine::Load(#p::LoadRoutine {
            run: {
                fn __perf_load(
                    __u: &mut #p::User<#state_ty>,
                ) -> #p::BodyFuture<'_, ::core::result::Result<(), #p::String>> {
                    #f
                    #p::Box::pin(async move { #result })
                }
                fn __perf_run(
                    __t: &#p::Subject<'_>,
                    __m: &#p::Mode,
                ) -> ::core::result::Result<::core::option::Option<#p::Measurement>, #p::Failure> {
                    #p::Scenario::<#state_ty> {
                        body: __perf_load,
                        service: #service,
                        state: #state_fn,
                    }
                    .run(__t, __m)
                }
                __perf_run
            },
        })
    } }
}
