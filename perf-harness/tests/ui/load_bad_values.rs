use perf_harness::{perf_test, User};

#[perf_test(
    stages = "10s:0..50, 30s:50/s",
    max_error_rate = 5,
    thresholds = ["p(95) > 300ms", "http_req_duration: p(99) < 1s"],
    max_rss = "2 lots"
)]
async fn spike(user: &mut User) {
    let _ = user.get("/").send().await;
}

#[perf_test(rate = "200", duration = "5s")]
async fn arrivals(user: &mut User) {
    let _ = user.get("/").send().await;
}

fn main() {}
