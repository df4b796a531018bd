//! A latency test that fails part-way keeps what it measured before the failure.

use perf_harness::engine::{self, Mode};
use perf_harness::perf_test;

fn calls() -> u32 {
    0
}

/// Works for four calls, then "the database goes away". Smoke runs make three calls: it passes.
#[perf_test(samples = 10, warmup = 0, setup = calls)]
fn fails_on_the_fifth_call(n: &mut u32) -> Result<(), String> {
    *n += 1;
    if *n == 5 {
        return Err("connection closed".into());
    }
    Ok(())
}

#[test]
fn samples_before_a_failure_are_kept() {
    let test = perf_harness::registry::find("fails_on_the_fifth_call").expect("registered");
    let mode = Mode::Full {
        quick: false,
        round: false,
        criterion_home: std::env::temp_dir(),
        package: "perf-harness".into(),
        target: "partial".into(),
    };
    let (measurement, failure) = engine::run_keeping_partial(&test.subject(), &mode);
    let failure = failure.expect("the fifth call failed");
    assert_eq!(
        failure.to_string(),
        "call 5 returned an error: \"connection closed\""
    );
    let m = measurement.expect("four samples were measured before it");
    assert_eq!(m.samples_ns.len(), 4);
    assert_eq!(m.stats.samples, 4);
    assert!(
        engine::run(&test.subject(), &mode).is_err(),
        "run still reports the failure"
    );
}
