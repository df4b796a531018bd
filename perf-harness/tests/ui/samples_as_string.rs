use perf_harness::perf_test;

#[perf_test(p95 = "50ms", samples = "100")]
fn x() {}

fn main() {}
