// A load test in a crate that depends on perf-harness with `default-features = false`.
use perf_harness::perf_test;

#[perf_test(users = 2, duration = "1s")]
async fn browse(user: &mut perf_harness::User) {
    user.get("/").send().await;
}

#[perf_test]
fn micro_still_works() {
    std::hint::black_box(1 + 1);
}

fn main() {}
