// A `harness = false` target in a crate that depends on perf-harness with
// `default-features = false` and without the `main` feature.
use perf_harness::perf_test;

#[perf_test]
fn render() {
    std::hint::black_box(1 + 1);
}

perf_harness::main!();
