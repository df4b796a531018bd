//! `#[perf_test]`: parses and validates the attribute, then emits a registry entry, a pre-main
//! hook and a `#[test]` shim. All behaviour lives in perf-harness; this crate only expands.

mod attr;
mod keys;
mod load;

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Type};

use attr::{Args, Errors};
use perf_schema::grammar::{duration, k6};

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

fn expand(attr: Tokens, item: Tokens) -> syn::Result<Tokens> {
    let function: ItemFn = syn::parse2(item.clone()).map_err(|_| {
        let span = item.clone().into_iter().next().map_or(Span::call_site(), |t| t.span());
        syn::Error::new(
            span,
            "#[perf_test] goes on a free function, e.g. `#[perf_test] fn parse_small_json() { ... }`",
        )
    })?;
    let args = attr::parse(attr)?;
    let shape = check(&args, &function)?;
    Ok(emit(&args, function, shape))
}

/// What the signature says about how to call the body.
struct Shape {
    is_async: bool,
    /// The body takes one `&mut` argument (a `Bencher` or the setup's fixture).
    takes_arg: bool,
}

fn check(args: &Args, f: &ItemFn) -> syn::Result<Shape> {
    let mut errors = Errors::default();
    let sig = &f.sig;
    let latency = args.is_latency();

    for attr in &f.attrs {
        // `#[test]`, and test attributes of other crates such as `#[tokio::test]`.
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
    if args.is_load() {
        check_load(args, f, &mut errors);
        errors.finish()?;
        return Ok(Shape {
            is_async: true,
            takes_arg: true,
        });
    }
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
    let mut inputs = sig.inputs.iter();
    let first = inputs.next();
    for extra in inputs {
        errors.push_spanned(
            extra,
            "a perf test takes at most one argument: a `&mut Bencher`, or the `setup` value by `&mut`",
        );
    }
    let mut takes_arg = false;
    match first {
        Some(FnArg::Receiver(r)) => errors.push_spanned(
            r,
            "#[perf_test] cannot go on a method: move the body into a free function",
        ),
        Some(FnArg::Typed(pt)) => {
            takes_arg = true;
            match &*pt.ty {
                Type::Reference(r) if r.mutability.is_some() => {
                    let elem = &r.elem;
                    if latency && names_bencher(elem) {
                        errors.push_spanned(
                            pt,
                            "a test with `samples` times each call itself and takes no `Bencher`: \
                             remove the argument, or remove `samples` to make this a micro-benchmark",
                        );
                    } else if latency && args.setup.is_none() {
                        errors.push_spanned(
                            pt,
                            format!(
                                "this test takes an argument but has no `setup`: add \
                                 `setup = make_it`, naming a function that returns `{}`",
                                show(elem)
                            ),
                        );
                    } else if !latency && !names_bencher(elem) {
                        errors.push_spanned(
                            &pt.ty,
                            "a micro-benchmark takes no argument or `b: &mut perf_harness::Bencher`; \
                             to pass a fixture, add `samples = N` and `setup = make_it`",
                        );
                    } else if !latency {
                        if let syn::ReturnType::Type(_, ty) = &sig.output {
                            if !matches!(&**ty, Type::Tuple(t) if t.elems.is_empty()) {
                                errors.push_spanned(
                                    ty,
                                    "a micro-benchmark that takes a `Bencher` returns nothing: \
                                     return the value from the closure, `b.iter(|| ...)`",
                                );
                            }
                        }
                    }
                }
                ty => {
                    // Suggest the `&mut` form of what was written: `u32` or `&u32` → `&mut u32`.
                    let elem = match ty {
                        Type::Reference(r) => &*r.elem,
                        other => other,
                    };
                    errors.push_spanned(
                        ty,
                        format!(
                            "the argument must be a `&mut` reference: write `{}: &mut {}`; a perf \
                             test gets its `setup` value (or a `Bencher`) by `&mut`",
                            show(&pt.pat),
                            show(elem)
                        ),
                    );
                }
            }
        }
        None => {}
    }
    if let Some(teardown) = &args.teardown {
        if args.setup.is_none() {
            errors.push(
                teardown.span(),
                "`teardown` receives the `setup` value after the last sample: add `setup = make_it`",
            );
        }
    }
    if let Some(span) = args.n_plus_one {
        if args.setup.is_none() {
            errors.push(
                span,
                "`n_plus_one` runs the body on fixtures of two sizes: add `setup = make_it` with \
                 `fn make_it(scale: perf_harness::db::Scale) -> T`, seeding `scale.of(rows)` rows",
            );
        }
    }
    if !latency {
        if let Some((_, span)) = args.max_queries {
            errors.push(
                span,
                "`max_queries` counts the statements of each timed call: add `samples = N`",
            );
        }
        if let Some(span) = args.n_plus_one {
            errors.push(
                span,
                "`n_plus_one` counts the statements of timed calls: add `samples = N`",
            );
        }
    }
    if let Some(setup) = &args.setup {
        if latency && !takes_arg {
            errors.push(
                setup.span(),
                "`setup` passes its value to the test by `&mut`: add a parameter, e.g. \
                 `fn recent_users(db: &mut Db)`",
            );
        }
    }
    if latency {
        if let Some((_, span)) = args.warmup_ns {
            errors.push(
                span,
                "for a test with `samples`, `warmup` is a number of untimed calls, e.g. `warmup = 10`",
            );
        }
        if let Some((_, span)) = args.duration_ns {
            errors.push(
                span,
                "`duration` sets a micro-benchmark's measurement time; a test with `samples` \
                 runs exactly that many calls",
            );
        }
    } else {
        for t in &args.thresholds {
            if t.key != "mean" && t.key != "median" {
                errors.push(
                    t.span,
                    format!(
                        "`{}` needs one timed call per sample: add `samples = N`; a \
                         micro-benchmark is checked with `mean` or `median`",
                        t.key
                    ),
                );
            }
        }
        if let Some((_, span)) = args.warmup_calls {
            errors.push(
                span,
                "for a micro-benchmark `warmup` is a time, e.g. `warmup = \"1s\"`; a number of \
                 calls needs `samples = N`",
            );
        }
        if let Some((_, span)) = args.timeout_ns {
            errors.push(span, "`timeout` limits each timed call: add `samples = N`");
        }
        if let Some(setup) = &args.setup {
            errors.push(
                setup.span(),
                "`setup` needs `samples = N`; a micro-benchmark prepares inputs with \
                 `b.iter_batched(setup, routine, BatchSize::SmallInput)`",
            );
        }
        if let Some(a) = &sig.asyncness {
            errors.push(
                a.span(),
                "an async perf test is timed one call at a time: add `samples = N`",
            );
        }
    }
    errors.finish()?;
    Ok(Shape {
        is_async: sig.asyncness.is_some(),
        takes_arg,
    })
}

/// The rules of a load test: one model, its keys, and `async fn(user: &mut User)`.
fn check_load(args: &Args, f: &ItemFn, errors: &mut Errors) {
    let sig = &f.sig;
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
    let open = args.rate.is_some() || args.stages.as_ref().is_some_and(|s| s.1);
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
    if sig.asyncness.is_none() {
        errors.push(
            sig.fn_token.span(),
            "a load test is an `async fn` taking `user: &mut perf_harness::User`",
        );
    }
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        None => errors.push(
            sig.paren_token.span.join(),
            "a load test takes the virtual user: `user: &mut perf_harness::User`",
        ),
        Some(FnArg::Receiver(r)) => errors.push_spanned(
            r,
            "#[perf_test] cannot go on a method: move the body into a free function",
        ),
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
            Some(_) => {}
        },
    }
    for extra in inputs {
        errors.push_spanned(
            extra,
            "a load test takes one argument: `user: &mut perf_harness::User`",
        );
    }
}

/// Tokens as a reader would write them: `Vec<u8>`, `&mut Db`, not `Vec < u8 >`.
fn show(tokens: impl ToTokens) -> String {
    tokens
        .to_token_stream()
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(" ;", ";")
        .replace("& ", "&")
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

fn names_bencher(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => names_bencher(&r.elem),
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == "Bencher"),
        _ => false,
    }
}

fn emit(args: &Args, mut f: ItemFn, shape: Shape) -> Tokens {
    let name = f.sig.ident.clone();
    let name_str = name.to_string();
    let vis = f.vis.clone();
    let span = name.span();
    let entry = format_ident!("__PERF_TEST_{}", name_str.to_uppercase());
    let p = quote!(::perf_harness::__private);

    // `#[cfg]` applies to everything we emit; `#[ignore]` to the shim; the rest stays on the body.
    let cfgs: Vec<_> = f
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .cloned()
        .collect();
    let ignores: Vec<_> = f
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("ignore"))
        .cloned()
        .collect();
    f.attrs
        .retain(|a| !a.path().is_ident("cfg") && !a.path().is_ident("ignore"));
    f.sig.ident = format_ident!("__perf_body", span = span);
    f.vis = syn::Visibility::Inherited;
    // The argument's type is dictated by `setup`'s return type (`&mut String` for a `String`
    // fixture), so clippy's advice to take `&mut str` is not the user's to follow.
    f.attrs.push(syn::parse_quote!(#[allow(clippy::ptr_arg)]));

    let routine = if args.is_load() {
        let out = match &f.sig.output {
            syn::ReturnType::Type(_, ty) => blame(ty.span()),
            syn::ReturnType::Default => Span::call_site(),
        };
        let result = quote_spanned!(out=> #p::Outcome::into_result(__perf_body(__u).await));
        let state = match f.sig.inputs.first() {
            Some(FnArg::Typed(pt)) => user_state(&pt.ty).flatten().cloned(),
            _ => None,
        };
        let (service, state_fn, state_ty) = match (&args.setup, &state) {
            (Some(setup), Some(ty)) => {
                let setup_name = quote!(#setup).to_string().replace(' ', "");
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
            (Some(setup), None) => {
                let setup_name = quote!(#setup).to_string().replace(' ', "");
                let call = quote_spanned!(blame(setup.span())=> #p::Service::from_setup(#setup_name, #setup));
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
            // `User<S>` without `setup` is reported by `check_load`.
            (None, _) => (
                quote!(::core::option::Option::None),
                quote!(#p::no_state),
                quote!(()),
            ),
        };
        quote! {
            #p::Routine::Load(#p::LoadRoutine {
                run: {
                    fn __perf_load(
                        __u: &mut #p::User<#state_ty>,
                    ) -> #p::BodyFuture<'_, ::core::result::Result<(), #p::String>> {
                        #f
                        #p::Box::pin(async move { #result })
                    }
                    fn __perf_run(
                        __t: &#p::PerfTest,
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
        }
    } else if args.is_latency() {
        // With `n_plus_one`, setup builds the fixture at a given scale.
        let scale = |which: Tokens| match args.n_plus_one {
            Some(_) => quote!(#p::Scale::#which),
            None => quote!(),
        };
        let full = scale(quote!(FULL));
        let ctx = match &args.setup {
            Some(setup) => {
                let setup_name = quote!(#setup).to_string().replace(' ', "");
                quote_spanned!(blame(setup.span())=> __s.setup(#setup_name, || #setup(#full))?)
            }
            None => quote!(()),
        };
        // Type errors the compiler finds in the expansion are blamed on what the user wrote:
        // a setup value of the wrong type on `setup = ...`, a return type that is not an
        // `Outcome` on the return type.
        let arg = match &args.setup {
            Some(setup) => quote_spanned!(blame(setup.span())=> __c),
            None => quote!(__c),
        };
        let out = match &f.sig.output {
            syn::ReturnType::Type(_, ty) => blame(ty.span()),
            syn::ReturnType::Default => Span::call_site(),
        };
        let call = if shape.takes_arg {
            quote!(__perf_body(#arg))
        } else {
            quote!({
                let _ = __c;
                __perf_body()
            })
        };
        let run = if shape.is_async {
            quote_spanned!(out=> __s.run_async(&mut __ctx, |__c| #p::Box::pin(#call)))
        } else {
            quote_spanned!(out=> __s.run_sync(&mut __ctx, |__c| #call))
        };
        let probe = match (&args.setup, args.n_plus_one) {
            (Some(setup), Some(_)) => {
                let half = scale(quote!(HALF));
                let smaller = quote_spanned!(blame(setup.span())=> || #setup(#half));
                if shape.is_async {
                    quote_spanned!(out=> __s.probe_async(&mut __ctx, #smaller, |__c| #p::Box::pin(#call))?;)
                } else {
                    quote_spanned!(out=> __s.probe_sync(&mut __ctx, #smaller, |__c| #call)?;)
                }
            }
            _ => quote!(),
        };
        let teardown = match &args.teardown {
            Some(teardown) => {
                let name = quote!(#teardown).to_string().replace(' ', "");
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
    } else if shape.takes_arg {
        quote! { #p::Routine::Micro({ #f __perf_body }) }
    } else {
        quote! {
            #p::Routine::Micro({
                fn __perf_micro(b: &mut ::perf_harness::Bencher<'_, '_>) {
                    #f
                    b.iter(__perf_body)
                }
                __perf_micro
            })
        }
    };

    let spec = spec_tokens(args, &p);
    let is_async = shape.is_async;
    quote_spanned! {span=>
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

        #(#cfgs)*
        #(#ignores)*
        #[test]
        #vis fn #name() {
            #p::smoke_test(&#entry)
        }
    }
}

/// A span that reports errors at `user` but resolves names like our own tokens, so the
/// expansion's locals (`__s`, `__c`) stay visible when `user` came from a `macro_rules!` caller.
fn blame(user: Span) -> Span {
    Span::call_site().located_at(user)
}

fn spec_tokens(args: &Args, p: &Tokens) -> Tokens {
    let kind = if args.is_load() {
        quote!(#p::Kind::Load)
    } else if args.is_latency() {
        quote!(#p::Kind::Latency)
    } else {
        quote!(#p::Kind::Micro)
    };
    let max_queries = args
        .max_queries
        .map(|(limit, _)| quote!(#p::Threshold::MaxQueries { limit: #limit }));
    let n_plus_one = args.n_plus_one.map(|_| quote!(#p::Threshold::NPlusOne));
    let thresholds = args
        .thresholds
        .iter()
        .map(|t| time_threshold(p, &t.key, t.limit_ns))
        .chain(
            args.load_thresholds
                .iter()
                .map(|(t, _)| load_threshold(p, t)),
        )
        .chain(max_queries)
        .chain(n_plus_one);
    let opt = |v: Option<(u64, Span)>| match v {
        Some((n, _)) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let samples = opt(args.samples);
    let warmup = opt(args.warmup_calls);
    let warmup_ns = opt(args.warmup_ns);
    let duration_ns = opt(args.duration_ns);
    let timeout_ns = opt(args.timeout_ns);
    let setup = match &args.setup {
        Some(path) => {
            let text = quote!(#path).to_string().replace(' ', "");
            quote!(::core::option::Option::Some(#p::Cow::Borrowed(#text)))
        }
        None => quote!(::core::option::Option::None),
    };
    let teardown = match &args.teardown {
        Some(path) => {
            let text = quote!(#path).to_string().replace(' ', "");
            quote!(::core::option::Option::Some(#p::Cow::Borrowed(#text)))
        }
        None => quote!(::core::option::Option::None),
    };
    let load = load_spec_fields(args, p);
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

fn time_threshold(p: &Tokens, key: &str, limit: u64) -> Tokens {
    match key {
        "mean" => quote!(#p::Threshold::Mean { limit_ns: #limit }),
        "median" => quote!(#p::Threshold::Median { limit_ns: #limit }),
        "max" => quote!(#p::Threshold::Max { limit_ns: #limit }),
        key => {
            let percentile = key
                .strip_prefix("p:")
                .and_then(|v| v.parse::<f64>().ok())
                .or_else(|| keys::percentile_of(key))
                .unwrap_or(50.0);
            quote!(#p::Threshold::Percentile { percentile: #percentile, limit_ns: #limit })
        }
    }
}

fn load_threshold(p: &Tokens, t: &attr::Threshold) -> Tokens {
    match t {
        attr::Threshold::Time { key, limit_ns } => time_threshold(p, key, *limit_ns),
        attr::Threshold::ErrorRate(max) => quote!(#p::Threshold::ErrorRate { max: #max }),
        attr::Threshold::Throughput(min) => {
            quote!(#p::Threshold::Throughput { min_per_s: #min })
        }
        attr::Threshold::Rss(b) => quote!(#p::Threshold::Rss { max_bytes: #b }),
        attr::Threshold::Cpu(c) => quote!(#p::Threshold::Cpu { max_percent: #c }),
    }
}

/// The load fields of `Spec` that the attribute sets; the rest come from `Spec::MICRO`.
fn load_spec_fields(args: &Args, p: &Tokens) -> Tokens {
    let mut out = Tokens::new();
    let some = quote!(::core::option::Option::Some);
    if let Some((n, _)) = args.users {
        out.extend(quote!(users: #some(#n),));
    }
    if let Some((r, _)) = args.rate {
        out.extend(quote!(rate: #some(#r),));
    }
    if let Some((n, _)) = args.max_users {
        out.extend(quote!(max_users: #some(#n),));
    }
    if let Some((n, _)) = args.iterations {
        out.extend(quote!(iterations: #some(#n),));
    }
    if let Some((n, _)) = args.iterations_per_user {
        out.extend(quote!(iterations_per_user: #some(#n),));
    }
    if let Some((n, _)) = args.think_ns {
        out.extend(quote!(think_ns: #some(#n),));
    }
    if let Some((steps, rate, _)) = &args.stages {
        let ramp = if *rate {
            quote!(#p::Ramp::Rate)
        } else {
            quote!(#p::Ramp::Users)
        };
        let steps = steps
            .iter()
            .map(|(d, from, to)| quote!(#p::Stage { duration_ns: #d, from: #from, to: #to }));
        out.extend(quote!(stages: #some(#p::Stages {
            ramp: #ramp,
            steps: #p::Cow::Borrowed(&[#(#steps),*]),
        }),));
    }
    if !args.named.is_empty() {
        let named = args.named.iter().map(|(name, t)| {
            let t = load_threshold(p, t);
            quote!(#p::NamedThreshold { name: #p::Cow::Borrowed(#name), threshold: #t })
        });
        out.extend(quote!(request_thresholds: #some(#p::Cow::Borrowed(&[#(#named),*])),));
    }
    out
}
