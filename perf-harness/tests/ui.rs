//! Compile-fail UI tests: each `ui/*.rs` misuses `#[perf_test]` once, and its `.stderr` pins the
//! error. Without the `load` feature (`cargo test -p perf-harness --no-default-features --test
//! ui`), `ui-no-load/*.rs` pins the errors a load test, an `async fn` test and `main!()` get instead.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    #[cfg(feature = "load")]
    t.compile_fail("tests/ui/*.rs");
    #[cfg(not(feature = "load"))]
    t.compile_fail("tests/ui-no-load/*.rs");
}
