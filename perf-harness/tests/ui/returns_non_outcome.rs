use perf_harness::perf_test;

#[perf_test(p95 = "50ms", samples = 5)]
fn x() -> u32 {
    42
}

fn main() {}
