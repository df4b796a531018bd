use perf_harness::{perf_test, User};

struct Pool;

#[perf_test(users = 2, duration = "1s")]
async fn contended(user: &mut User<Pool>) {
    let _ = user.state();
}

fn main() {}
