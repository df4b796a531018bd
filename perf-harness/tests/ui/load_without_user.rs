use perf_harness::perf_test;

#[perf_test(users = 2, duration = "1s")]
async fn browse() {}

fn main() {}
