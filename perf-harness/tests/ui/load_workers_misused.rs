use perf_harness::{perf_test, User};

struct Pool;

fn pool() -> Pool {
    Pool
}

// The users of a `User<S>` test share one `S` on one thread.
#[perf_test(users = 4, duration = "1s", workers = 2, setup = pool)]
async fn shared(user: &mut User<Pool>) {
    let _ = user.state();
}

#[perf_test(users = 4, duration = "1s", workers = 0)]
async fn no_thread(user: &mut User) {
    let _ = user.get("/").send().await;
}

#[perf_test(samples = 10, workers = 2)]
fn not_a_load_test() {}

fn main() {}
