use perf_harness::perf_test;

#[perf_test(bogus_key = "50ms")]
fn x() {}

fn main() {}
