use perf_harness::perf_test;

#[perf_test(median = "2us", timeout = "1s")]
fn x() {}

fn main() {}
