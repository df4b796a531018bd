use perf_harness::perf_test;

struct Db;

#[perf_test(p95 = "50ms", samples = 100)]
fn x(_db: &mut Db) {}

fn main() {}
