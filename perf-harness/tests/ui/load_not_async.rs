use perf_harness::{perf_test, User};

#[perf_test(users = 20, duration = "10s")]
fn browse(user: &mut User) {
    let _ = user.index();
}

fn main() {}
