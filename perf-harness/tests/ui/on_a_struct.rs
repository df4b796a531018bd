use perf_harness::perf_test;

#[perf_test(median = "2us")]
struct Parser;

fn main() {}
