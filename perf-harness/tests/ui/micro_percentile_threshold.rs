use perf_harness::perf_test;

#[perf_test(p95 = "50ms")]
fn x() {}

fn main() {}
