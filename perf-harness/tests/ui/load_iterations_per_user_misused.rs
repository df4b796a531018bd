use perf_harness::{perf_test, User};

#[perf_test(users = 4, iterations = 100, iterations_per_user = 25)]
async fn both_counts(user: &mut User) {
    let _ = user.get("/").send().await;
}

#[perf_test(rate = "100/s", iterations_per_user = 25)]
async fn open_model(user: &mut User) {
    let _ = user.get("/").send().await;
}

#[perf_test(stages = "10s:0..10, 10s:10", iterations_per_user = 25)]
async fn staged(user: &mut User) {
    let _ = user.get("/").send().await;
}

fn main() {}
