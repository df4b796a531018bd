use perf_harness::{perf_test, User};

#[perf_test(rate = "100/s", think = "1s", duration = "10s")]
async fn open(user: &mut User) {
    let _ = user.get("/").send().await;
}

#[perf_test(users = 5, max_users = 50, duration = "10s")]
async fn closed(user: &mut User) {
    let _ = user.get("/").send().await;
}

fn main() {}
