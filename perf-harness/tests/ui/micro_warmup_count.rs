use perf_harness::perf_test;

#[perf_test(median = "2us", warmup = 10)]
fn x() {}

fn main() {}
