use perf_harness::{perf_test, User};

#[perf_test(users = 20, rate = "100/s", duration = "10s")]
async fn browse(user: &mut User) {
    let _ = user.get("/").send().await;
}

fn main() {}
