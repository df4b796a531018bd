use perf_harness::perf_test;

struct Db;

fn seed_cache() -> Vec<u8> {
    Vec::new()
}

#[perf_test(p95 = "50ms", samples = 100, setup = seed_cache)]
fn x(_db: &mut Db) {}

fn main() {}
