use perf_harness::perf_test;

struct Db;

#[perf_test(median = "2us")]
fn x(_db: &mut Db) {}

fn main() {}
