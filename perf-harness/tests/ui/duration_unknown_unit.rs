use perf_harness::perf_test;

#[perf_test(median = "5 sec")]
fn x() {}

fn main() {}
