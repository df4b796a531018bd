use perf_harness::perf_test;

#[perf_test(p95 = "50ms", samples = 0)]
fn x() {}

fn main() {}
