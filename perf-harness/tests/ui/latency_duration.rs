use perf_harness::perf_test;

#[perf_test(p95 = "50ms", samples = 100, duration = "5s")]
fn x() {}

fn main() {}
