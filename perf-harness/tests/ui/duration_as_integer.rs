use perf_harness::perf_test;

#[perf_test(median = 50)]
fn x() {}

fn main() {}
