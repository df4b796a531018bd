//! The attribute expands for every supported signature, and the expansions are registered.

use perf_harness::perf_test;

#[perf_test]
fn micro_plain() -> u64 {
    (1..100u64).sum()
}

#[perf_test(median = "1s")]
fn micro_bencher(b: &mut perf_harness::Bencher) {
    b.iter(|| std::hint::black_box(21u64) * 2)
}

#[perf_test(p95 = "1s", samples = 10)]
fn latency_plain() {
    std::hint::black_box(vec![0u8; 64]);
}

struct Fixture {
    calls: u32,
}

fn make_fixture() -> Fixture {
    Fixture { calls: 0 }
}

#[perf_test(p99 = "1s", samples = 5, warmup = 1, setup = make_fixture)]
fn latency_with_setup(f: &mut Fixture) -> Result<(), String> {
    f.calls += 1;
    if f.calls > 1000 {
        return Err("too many calls".into());
    }
    Ok(())
}

#[perf_test(p95 = "1s", samples = 5)]
async fn async_plain() {
    tokio::task::yield_now().await;
}

#[perf_test(max = "5s", samples = 3, setup = make_fixture, timeout = "5s")]
async fn async_with_setup(f: &mut Fixture) {
    f.calls += 1;
    tokio::time::sleep(std::time::Duration::from_micros(10)).await;
}

mod nested {
    use perf_harness::perf_test;

    #[perf_test(mean = "1s")]
    fn in_a_module() {}
}

#[test]
fn every_perf_test_in_this_file_is_registered_with_its_location() {
    let names: Vec<String> = perf_harness::registry::all()
        .iter()
        .map(|t| t.full_name())
        .collect();
    assert_eq!(
        names,
        [
            "async_plain",
            "async_with_setup",
            "latency_plain",
            "latency_with_setup",
            "micro_bencher",
            "micro_plain",
            "nested::in_a_module",
        ]
    );
    let t = perf_harness::registry::find("latency_with_setup").expect("registered");
    assert!(t.file.ends_with("expansion.rs"));
    assert_eq!(t.line, 29);
    assert_eq!(
        t.spec.to_string(),
        "samples = 5, warmup = 1, setup = make_fixture, p99 = 1s"
    );
}
