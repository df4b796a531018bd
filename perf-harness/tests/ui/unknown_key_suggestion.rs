use perf_harness::perf_test;

#[perf_test(p59 = "50ms", samples = 100)]
fn x() {}

fn main() {}
