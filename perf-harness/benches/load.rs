//! The load generator's own benchmarks (run by `benches/load.sh`, which pins processes to cores
//! and runs wrk against the same server):
//!
//! - `server [--stall] [--stop-after SECS]`: a minimal HTTP/1.1 keep-alive server (one thread);
//!   with `--stall` it stalls every response for the first second of every ten; with
//!   `--stop-after` it stops answering after SECS (connections stay open, requests are read
//!   and never answered: a hung service).
//! - `closed URL SECS`: 32 users, one request per iteration, as fast as possible: requests/s.
//! - `open URL SECS`: 1000 iterations/s (max 3000 users): p95/p99 from the schedule and of the
//!   service time (the coordinated-omission check against `server --stall`).
//! - `rss URL USERS`: peak RSS with USERS idle users (one request each, then thinking).
//! - `overhead`: cost of recording one request into a worker's metrics.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use perf_harness::engine::latency::BodyFuture;
use perf_harness::engine::{LoadRoutine, Mode, Routine, Subject};
use perf_harness::load::Scenario;
use perf_harness::user::metrics::{Metrics, RequestOutcome};
use perf_harness::User;
use perf_schema::spec::{Kind, Spec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let num = |i: usize, d: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    match arg(0).as_str() {
        "server" => {
            let stop_after = args
                .iter()
                .position(|a| a == "--stop-after")
                .map(|i| Duration::from_secs(num(i + 1, 0)));
            let threads = args
                .iter()
                .position(|a| a == "--threads")
                .map_or(1, |i| num(i + 1, 1) as usize);
            server(
                args.iter().any(|a| a == "--stall"),
                stop_after,
                num(1, 8080) as u16,
                threads,
            )
        }
        "closed" => closed(&arg(1), num(2, 10)),
        "open" => open(&arg(1), num(2, 30)),
        "rss" => rss(&arg(1), num(2, 1000)),
        "overhead" => overhead(),
        _ => eprintln!("usage: load (server [PORT] [--stall] [--stop-after SECS] [--threads N] | closed URL SECS | open URL SECS | rss URL USERS | overhead)"),
    }
}

fn one_get(user: &mut User) -> BodyFuture<'_, Result<(), String>> {
    Box::pin(async move {
        let r = user.get("/").send().await;
        if r.ok() {
            Ok(())
        } else {
            Err(format!("status {}", r.status()))
        }
    })
}

fn run_one_get(
    test: &Subject<'_>,
    mode: &Mode,
) -> Result<Option<perf_harness::engine::Measurement>, perf_harness::__private::Failure> {
    Scenario {
        body: one_get,
        service: None,
        state: perf_harness::load::no_state,
    }
    .run(test, mode)
}

fn run(spec: Spec, url: &str) -> perf_schema::record::load::LoadReport {
    std::env::set_var(perf_harness::load::ENV_BASE_URL, url);
    let test = Subject {
        name: "bench".into(),
        spec: &spec,
        is_async: true,
        routine: Routine::Load(LoadRoutine { run: run_one_get }),
    };
    let mode = Mode::Full {
        quick: false,
        round: false,
        criterion_home: "target/criterion".into(),
        package: "perf-harness".into(),
        target: "load".into(),
    };
    match perf_harness::engine::run(&test, &mode) {
        Ok(Some(m)) => m.load.expect("a load report"),
        Ok(None) => panic!("no measurement"),
        Err(e) => panic!("{e}"),
    }
}

fn closed(url: &str, secs: u64) {
    let r = run(
        Spec {
            kind: Kind::Load,
            users: Some(32),
            duration_ns: Some(secs * 1_000_000_000),
            ..Spec::MICRO
        },
        url,
    );
    println!(
        "closed users=32: {:.0} requests/s, {} failed, p50 {:.0}us p99 {:.0}us, cpu {:.0}%",
        r.requests_per_s,
        r.failed_requests,
        r.iteration.p50_ns / 1e3,
        r.iteration.p99_ns / 1e3,
        r.cpu_percent.unwrap_or(0.0)
    );
}

fn open(url: &str, secs: u64) {
    let r = run(
        Spec {
            kind: Kind::Load,
            rate: Some(1000.0),
            max_users: Some(3000),
            duration_ns: Some(secs * 1_000_000_000),
            ..Spec::MICRO
        },
        url,
    );
    let s = r.iteration_service.clone().unwrap_or_default();
    println!(
        "open rate=1000/s: {} iterations, {} dropped; from schedule p50 {:.1}ms p95 {:.1}ms p99 {:.1}ms; service time p50 {:.1}ms p95 {:.1}ms p99 {:.1}ms",
        r.iterations,
        r.dropped_iterations,
        r.iteration.p50_ns / 1e6,
        r.iteration.p95_ns / 1e6,
        r.iteration.p99_ns / 1e6,
        s.p50_ns / 1e6,
        s.p95_ns / 1e6,
        s.p99_ns / 1e6
    );
}

fn rss(url: &str, users: u64) {
    let r = run(
        Spec {
            kind: Kind::Load,
            users: Some(users),
            think_ns: Some(60_000_000_000),
            duration_ns: Some(4_000_000_000),
            ..Spec::MICRO
        },
        url,
    );
    println!(
        "rss users={users}: peak {} bytes, {} iterations, {} failed",
        r.peak_rss_bytes.unwrap_or(0),
        r.iterations,
        r.failed_iterations
    );
}

fn overhead() {
    let mut m = Metrics::default();
    let name: Cow<'static, str> = Cow::Borrowed("media list");
    let n = 5_000_000u64;
    let start = Instant::now();
    for i in 0..n {
        m.record_request(
            &name,
            RequestOutcome {
                status: 200,
                error: None,
                service_ns: 200_000 + (i % 1000) * 1000,
                lag_ns: i % 100,
                bytes_sent: 80,
                bytes_received: 120,
            },
        );
        let times = perf_harness::user::metrics::IterationTimes {
            corrected_ns: 200_000 + (i % 1000) * 1000,
            service_ns: 200_000,
            lag_ns: (i % 1000) * 1000,
        };
        m.record_iteration(times, false);
    }
    let per = start.elapsed().as_nanos() as f64 / n as f64;
    let clock = {
        let start = Instant::now();
        let mut x = start;
        for _ in 0..n {
            x = std::hint::black_box(Instant::now());
        }
        let _ = x;
        start.elapsed().as_nanos() as f64 / n as f64
    };
    println!(
        "overhead: recording a request and its iteration {per:.1} ns; one clock read {clock:.1} ns \
         (a request reads the clock 2 times, an iteration 2 more)"
    );
}

fn server(stall: bool, stop_after: Option<Duration>, port: u16, threads: usize) {
    let rt = match threads {
        0 | 1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    }
    .enable_all()
    .build()
    .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind 127.0.0.1");
        eprintln!(
            "listening on http://127.0.0.1:{port} (stall: {stall}, stop answering after: \
             {stop_after:?})"
        );
        let start = Instant::now();
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                continue;
            };
            let _ = socket.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut filled = 0;
                loop {
                    let Ok(n) = socket.read(&mut buf[filled..]).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    filled += n;
                    let mut answers = 0;
                    while let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.copy_within(end + 4..filled, 0);
                        filled -= end + 4;
                        answers += 1;
                    }
                    if filled == buf.len() {
                        return;
                    }
                    if stop_after.is_some_and(|after| start.elapsed() >= after) {
                        // Hung: the connection stays open and nothing is ever answered.
                        std::future::pending::<()>().await;
                    }
                    if stall {
                        let t = start.elapsed();
                        let into = Duration::from_nanos((t.as_nanos() % 10_000_000_000) as u64);
                        if into < Duration::from_secs(1) {
                            tokio::time::sleep(Duration::from_secs(1) - into).await;
                        }
                    }
                    for _ in 0..answers {
                        if socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            });
        }
    });
}
