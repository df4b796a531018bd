use perf_harness::{perf_test, User};

struct Pool;

fn pool() -> String {
    "not a pool".into()
}

#[perf_test(users = 2, duration = "1s", setup = pool)]
async fn contended(user: &mut User<Pool>) {
    let _ = user.state();
}

fn main() {}
