use perf_harness::perf_test;

#[perf_test(p95 = "50ms", samples = 100, teardown = x)]
fn x() {}

fn main() {}
