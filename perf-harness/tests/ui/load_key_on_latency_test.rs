use perf_harness::perf_test;

#[perf_test(samples = 10, think = "100ms", max_error_rate = 0.01)]
fn render() {}

fn main() {}
