use perf_harness::perf_test;

#[perf_test(median = "2us")]
fn x<T: Default>() {
    let _ = T::default();
}

fn main() {}
