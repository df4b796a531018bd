//! The harness's own cost, measured against references in the same run.
//!
//! 1. Per-sample overhead of the latency engine (two clock reads, outcome check, push) against
//!    the bare cost of two `Instant::now()` calls.
//! 2. Agreement with criterion: one routine measured by plain criterion and by the micro engine
//!    `cargo perf` runs in its child process, alternated A/B/A/B; the ratio of the two mean
//!    estimates should be 1 within the noise.
//!
//! Run: `cargo bench -p perf-harness --bench overhead` (about a minute).

use std::time::{Duration, Instant};

use criterion::Criterion;
use perf_harness::engine::{self, Mode};
use perf_harness::perf_test;

/// The routine both engines measure: FNV-1a over a 64-byte key.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

const KEY: [u8; 64] = [7; 64];

#[perf_test(warmup = "1s", duration = "3s")]
fn fnv_through_perf_harness(b: &mut perf_harness::Bencher) {
    b.iter(|| fnv1a(std::hint::black_box(&KEY)))
}

#[perf_test(samples = 1_000_000, warmup = 10_000)]
fn empty_latency_body() {}

fn main() {
    let home = std::env::temp_dir().join(format!("perf-harness-overhead-{}", std::process::id()));

    // 1. Latency engine overhead per sample.
    let test = perf_harness::registry::find("empty_latency_body").expect("registered");
    let full = Mode::Full {
        quick: false,
        round: false,
        criterion_home: home.clone(),
        package: "bench".into(),
        target: "overhead".into(),
    };
    let subject = test.subject();
    let mut per_sample = Vec::new();
    let mut bare = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        engine::run(&subject, &full).expect("engine runs");
        let calls = test.spec.effective_samples(false) + test.spec.effective_warmup(false);
        per_sample.push(start.elapsed().as_nanos() as f64 / calls as f64);

        let n = 1_000_000u32;
        let start = Instant::now();
        for _ in 0..n {
            let t = Instant::now();
            std::hint::black_box(t.elapsed());
        }
        bare.push(start.elapsed().as_nanos() as f64 / f64::from(n));
    }
    let engine_ns = median(&mut per_sample);
    let bare_ns = median(&mut bare);
    println!(
        "latency engine: {engine_ns:.1} ns per sample (timer + record); two bare clock reads: \
         {bare_ns:.1} ns; engine/bare = {:.2}",
        engine_ns / bare_ns
    );

    // 2. Same routine, criterion vs perf-harness's micro engine, alternated.
    let micro = perf_harness::registry::find("fnv_through_perf_harness").expect("registered");
    let mut plain = Vec::new();
    let mut ours = Vec::new();
    for round in 0..2 {
        let mut c = Criterion::default()
            .output_directory(&home)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3))
            .without_plots();
        c.bench_function(&format!("plain_criterion_{round}"), |b| {
            b.iter(|| fnv1a(std::hint::black_box(&KEY)))
        });
        let est =
            perf_schema::criterion::read_estimates(&home.join(format!("plain_criterion_{round}")))
                .expect("criterion estimates");
        plain.push(est.mean.point_estimate);

        let m = engine::run(&micro.subject(), &full)
            .expect("engine runs")
            .expect("measured");
        ours.push(m.stats.mean_ns);
    }
    let plain_ns = plain.iter().sum::<f64>() / plain.len() as f64;
    let ours_ns = ours.iter().sum::<f64>() / ours.len() as f64;
    println!(
        "criterion agreement: plain criterion mean {plain_ns:.3} ns, via perf-harness {ours_ns:.3} ns, \
         ratio {:.3} (rounds: plain {plain:.3?}, perf-harness {ours:.3?})",
        ours_ns / plain_ns
    );
    let _ = std::fs::remove_dir_all(&home);
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
