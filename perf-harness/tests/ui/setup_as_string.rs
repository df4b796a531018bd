use perf_harness::perf_test;

struct Db;

fn open_db() -> Db {
    Db
}

#[perf_test(p95 = "50ms", samples = 100, setup = "open_db")]
fn x(_db: &mut Db) {}

fn main() {}
