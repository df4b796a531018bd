use perf_harness::perf_test;

#[perf_test(p95 = "50ms", samples = 100, users = 20)]
fn x() {}

fn main() {}
