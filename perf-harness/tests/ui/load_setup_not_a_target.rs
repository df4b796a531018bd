use perf_harness::{perf_test, User};

struct Server;

fn start() -> Server {
    Server
}

#[perf_test(users = 2, duration = "1s", setup = start)]
async fn browse(user: &mut User) {
    let _ = user.get("/").send().await;
}

fn main() {}
