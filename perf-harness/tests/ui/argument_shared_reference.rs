use perf_harness::perf_test;

struct Db;

fn seed_db() -> Db {
    Db
}

#[perf_test(p95 = "50ms", samples = 100, setup = seed_db)]
fn x(db: &Db) {
    let _ = db;
}

fn main() {}
