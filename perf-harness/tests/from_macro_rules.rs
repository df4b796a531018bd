//! `#[perf_test]` written by a `macro_rules!` expands: values arrive as fragments (`$setup:path`,
//! `$n:expr`), and spans taken from them must not hide the expansion's own locals.

use perf_harness::perf_test;

struct Db;

fn seed_db() -> Db {
    Db
}

macro_rules! latency_test {
    ($name:ident, $setup:path, $ret:ty, $samples:expr, $p95:expr) => {
        #[perf_test(p95 = $p95, samples = $samples, setup = $setup)]
        fn $name(_db: &mut Db) -> $ret {
            Ok(())
        }
    };
}

latency_test!(sync_from_macro, seed_db, Result<(), String>, 3, "1s");

macro_rules! async_latency_test {
    ($name:ident, $setup:ident, $ret:ty) => {
        #[perf_test(p95 = "1s", samples = 3, setup = $setup)]
        async fn $name(_db: &mut Db) -> $ret {
            Ok(())
        }
    };
}

async_latency_test!(async_from_macro, seed_db, Result<(), String>);

#[test]
fn both_generated_tests_are_registered() {
    let names: Vec<String> = perf_harness::registry::all()
        .iter()
        .map(|t| t.full_name())
        .collect();
    assert_eq!(names, ["async_from_macro", "sync_from_macro"]);
}
