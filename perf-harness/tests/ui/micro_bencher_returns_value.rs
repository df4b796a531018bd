use perf_harness::perf_test;

#[perf_test(median = "2us")]
fn x(b: &mut perf_harness::Bencher) -> u64 {
    b.iter(|| 1 + 1);
    0
}

fn main() {}
