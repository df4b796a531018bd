use perf_harness::perf_test;

#[perf_test(median = "2us")]
fn x()
where
    u32: Copy,
{
}

fn main() {}
