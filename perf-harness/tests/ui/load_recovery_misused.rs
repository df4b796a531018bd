use perf_harness::{perf_test, User};

// No spike: the stages never reach twice the stage before.
#[perf_test(stages = "10s:100/s, 10s:150/s", p95 = "100ms", recovery = "30s")]
async fn no_spike(user: &mut User) {
    let _ = user.get("/").send().await;
}

// A spike that never falls back: nothing to recover in.
#[perf_test(stages = "10s:100/s, 10s:1000/s", p95 = "100ms", recovery = "30s")]
async fn spike_at_the_end(user: &mut User) {
    let _ = user.get("/").send().await;
}

// No `p95` to recover under.
#[perf_test(stages = "10s:100/s, 5s:1000/s, 30s:100/s", recovery = "30s")]
async fn no_p95(user: &mut User) {
    let _ = user.get("/").send().await;
}

fn main() {}
