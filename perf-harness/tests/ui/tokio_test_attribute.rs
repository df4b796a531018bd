use perf_harness::perf_test;

#[perf_test(p95 = "50ms", samples = 100)]
#[tokio::test]
async fn x() {}

fn main() {}
