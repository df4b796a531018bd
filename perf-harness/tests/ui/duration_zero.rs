use perf_harness::perf_test;

#[perf_test(median = "0ms")]
fn x() {}

fn main() {}
