//! Compile-fail UI tests: each `ui/*.rs` misuses `#[perf_test]` once, and its `.stderr` pins the error.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
