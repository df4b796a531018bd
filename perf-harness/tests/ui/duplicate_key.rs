use perf_harness::perf_test;

#[perf_test(p95 = "50ms", samples = 100, p95 = "80ms")]
fn x() {}

fn main() {}
