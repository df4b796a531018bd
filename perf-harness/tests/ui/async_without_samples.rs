use perf_harness::perf_test;

#[perf_test(median = "2us")]
async fn x() {}

fn main() {}
