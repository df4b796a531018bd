use perf_harness::perf_test;

#[perf_test(p95 = "50ms", samples = 100)]
fn x(b: &mut perf_harness::Bencher) {
    b.iter(|| 1 + 1);
}

fn main() {}
