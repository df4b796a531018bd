// An `async fn` latency test in a crate that depends on perf-harness with
// `default-features = false` and without the `async` feature.
use perf_harness::perf_test;

#[perf_test(samples = 50, p95 = "10ms")]
async fn fetch_profile() {
    std::hint::black_box(1 + 1);
}

fn main() {}
