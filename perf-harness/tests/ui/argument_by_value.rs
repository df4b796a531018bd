use perf_harness::perf_test;

fn make_n() -> u32 {
    7
}

#[perf_test(p95 = "50ms", samples = 100, setup = make_n)]
fn x(_n: u32) {}

fn main() {}
