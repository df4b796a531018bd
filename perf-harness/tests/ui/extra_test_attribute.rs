use perf_harness::perf_test;

#[perf_test(median = "2us")]
#[test]
fn x() {}

fn main() {}
