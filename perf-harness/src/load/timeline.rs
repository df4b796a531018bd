//! The run's timeline: each generator worker's once-a-second beat merged into one point per
//! second (counts summed, the second's iteration histograms added), the process's CPU and
//! memory sampled beside it on this thread, and the live progress line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::report::Tick;
use super::resources::Resources;
use crate::spec::format_ns;
use crate::stats::new_histogram;
use crate::user::metrics::add_histogram;

/// Where every generator worker (and the timeline) waits until all are ready, then takes the
/// same start instant: the workers' stages and interleaved schedules share one clock.
pub(crate) struct StartLine {
    barrier: Barrier,
    t0: OnceLock<Instant>,
}

impl StartLine {
    /// A start line for `threads` threads.
    pub(crate) fn new(threads: usize) -> StartLine {
        StartLine {
            barrier: Barrier::new(threads),
            t0: OnceLock::new(),
        }
    }

    /// Blocks until every thread is here; the first through sets the start for all.
    pub(crate) fn wait(&self) -> Instant {
        self.barrier.wait();
        *self.t0.get_or_init(Instant::now)
    }
}

/// What one worker counted by the end of a second (cumulative), and the iterations it
/// finished during that second.
pub(crate) struct Beat {
    /// The worker's number, from 0.
    pub(crate) worker: usize,
    /// The worker's load is over: this is its final beat.
    pub(crate) last: bool,
    /// Closed model: users wanted; open model: iterations running.
    pub(crate) users: u64,
    /// Iterations completed.
    pub(crate) iterations: u64,
    /// Requests sent.
    pub(crate) requests: u64,
    /// Iterations failed.
    pub(crate) failed_iterations: u64,
    /// Scheduled iterations that found no free user.
    pub(crate) dropped: u64,
    /// Iteration times (from the schedule) of the iterations finished since its last beat.
    pub(crate) since: Histogram<u64>,
}

/// The latest counts of one worker.
#[derive(Clone, Copy, Default)]
struct Counts {
    users: u64,
    iterations: u64,
    requests: u64,
    failed_iterations: u64,
    dropped: u64,
}

/// Merges the workers' beats into the timeline until every worker has sent its last one (and
/// dropped its sender); a point is made once every worker still running has sent that second.
/// Gives the timeline and the CPU and memory samples.
pub(crate) fn collect(
    beats: Receiver<Beat>,
    workers: usize,
    t0: Instant,
    total: Duration,
    mut resources: Resources,
) -> (Vec<Tick>, Resources) {
    let live = Live::from_env();
    let mut latest = vec![Counts::default(); workers];
    let mut beats_of = vec![0u64; workers];
    let mut done = vec![false; workers];
    let mut second = new_histogram();
    let mut all = new_histogram();
    let mut timeline = reserved(total);
    while let Ok(beat) = beats.recv() {
        let w = beat.worker;
        latest[w] = Counts {
            users: beat.users,
            iterations: beat.iterations,
            requests: beat.requests,
            failed_iterations: beat.failed_iterations,
            dropped: beat.dropped,
        };
        add_histogram(&mut second, &beat.since);
        add_histogram(&mut all, &beat.since);
        if beat.last {
            done[w] = true;
            continue;
        }
        beats_of[w] += 1;
        let made = timeline.len() as u64;
        if (0..workers).all(|v| done[v] || beats_of[v] > made) {
            timeline.push(point(t0, &latest, &mut second, &mut resources));
            live.show(timeline.last(), total, &all);
        }
    }
    timeline.push(point(t0, &latest, &mut second, &mut resources));
    live.clear();
    (timeline, resources)
}

/// Most points whose memory is taken before the start: an hour's (about 0.8 MiB).
const RESERVED_POINTS: usize = 3_602;

/// An empty timeline with room for a run of `total` (up to [`RESERVED_POINTS`]) already in
/// resident memory, written once before the start: the points then fill memory the process
/// already holds, so a soak's RSS trend is the service's and the test's, not the timeline's.
fn reserved(total: Duration) -> Vec<Tick> {
    let points = (total.as_secs() as usize + 2).min(RESERVED_POINTS);
    let mut timeline = vec![Tick::default(); points];
    timeline.clear();
    timeline
}

/// One point: the workers' counts summed, the second's p50 and p95, CPU and memory now.
fn point(
    t0: Instant,
    latest: &[Counts],
    second: &mut Histogram<u64>,
    resources: &mut Resources,
) -> Tick {
    let sum = |f: fn(&Counts) -> u64| latest.iter().map(f).sum::<u64>();
    let fresh = !second.is_empty();
    let q = |p: f64| fresh.then(|| second.value_at_quantile(p) as f64);
    let (p50_ns, p95_ns) = (q(0.50), q(0.95));
    second.reset();
    let sample = resources.sample();
    let service = resources.sample_service();
    Tick {
        t_s: t0.elapsed().as_secs_f64(),
        users: sum(|c| c.users),
        iterations: sum(|c| c.iterations),
        requests: sum(|c| c.requests),
        failed_iterations: sum(|c| c.failed_iterations),
        dropped: sum(|c| c.dropped),
        cpu_percent: sample.cpu_percent,
        rss_bytes: sample.rss_bytes,
        open_fds: sample.open_fds,
        threads: sample.threads,
        p50_ns,
        p95_ns,
        service: service.flatten(),
    }
}

/// Where the live line goes: `cargo perf` shows it in its own progress bar (the test's stderr
/// is a pipe there, the line a file); a test binary run by hand on a terminal draws it.
struct Live {
    file: Option<PathBuf>,
    terminal: bool,
}

impl Live {
    fn from_env() -> Live {
        let file = std::env::var_os(perf_schema::protocol::ENV_PROGRESS).map(PathBuf::from);
        let terminal = file.is_none() && std::io::stderr().is_terminal();
        Live { file, terminal }
    }

    /// Shows `tick`; best effort (a reader needs the rename's atomicity, not durability).
    fn show(&self, tick: Option<&Tick>, total: Duration, all: &Histogram<u64>) {
        let Some(tick) = tick else { return };
        if let Some(path) = &self.file {
            let line = progress_line(tick, total, all);
            let _ = perf_schema::document::replace(path, line.as_bytes());
        } else if self.terminal {
            eprint!("\r\x1b[2K  {}", progress_line(tick, total, all));
        }
    }

    fn clear(&self) {
        if self.terminal {
            eprint!("\r\x1b[2K");
        }
    }
}

/// k6-style live line: `load 12s/30s  users 20  iterations 1234 (98/s)  requests 2468
/// (196/s)  failed 0  dropped 0  p95 3.200ms`; `iterations` holds every iteration so far.
pub(crate) fn progress_line(t: &Tick, total: Duration, iterations: &Histogram<u64>) -> String {
    let secs = t.t_s.max(1e-9);
    let p95 = if iterations.is_empty() {
        "-".to_string()
    } else {
        format_ns(iterations.value_at_quantile(0.95) as f64)
    };
    format!(
        "load {:.0}s/{}  users {}  iterations {} ({:.0}/s)  requests {} ({:.0}/s)  failed {}  \
         dropped {}  p95 {p95}",
        t.t_s,
        if total >= super::MAX_DURATION {
            "-".to_string()
        } else {
            format!("{:.0}s", total.as_secs_f64())
        },
        t.users,
        t.iterations,
        t.iterations as f64 / secs,
        t.requests,
        t.requests as f64 / secs,
        t.failed_iterations,
        t.dropped,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    fn beat(worker: usize, last: bool, iterations: u64, times_ms: &[u64]) -> Beat {
        let mut since = new_histogram();
        for ms in times_ms {
            since.saturating_record(ms * 1_000_000);
        }
        Beat {
            worker,
            last,
            users: 1,
            iterations,
            requests: 2 * iterations,
            failed_iterations: 0,
            dropped: worker as u64,
            since,
        }
    }

    /// A point waits for every running worker's second, sums their counts and takes the
    /// quantiles of their iterations together; a finished worker's counts stay in the sums.
    #[test]
    fn the_workers_beats_make_one_point_per_second() {
        let (tx, rx) = channel();
        tx.send(beat(0, false, 10, &[1, 1, 1])).expect("sent");
        tx.send(beat(1, false, 20, &[3, 3, 3, 3])).expect("sent");
        tx.send(beat(1, true, 25, &[5])).expect("sent");
        tx.send(beat(0, false, 30, &[2])).expect("sent");
        tx.send(beat(0, true, 31, &[])).expect("sent");
        drop(tx);
        let (ticks, _) = collect(
            rx,
            2,
            Instant::now(),
            Duration::from_secs(3),
            Resources::new(),
        );
        let rows: Vec<(u64, u64, u64, u64)> = ticks
            .iter()
            .map(|t| (t.users, t.iterations, t.requests, t.dropped))
            .collect();
        assert_eq!(rows, [(2, 30, 60, 1), (2, 55, 110, 1), (2, 56, 112, 1)]);
        let ms = |ns: Option<f64>| ns.map(|n| (n / 1e6).round() as u64);
        assert_eq!(
            (ms(ticks[0].p50_ns), ms(ticks[0].p95_ns)),
            (Some(3), Some(3))
        );
        // Second 2: worker 1's last 5 ms and worker 0's 2 ms.
        assert_eq!(
            (ms(ticks[1].p50_ns), ms(ticks[1].p95_ns)),
            (Some(2), Some(5))
        );
        assert_eq!(
            ticks[2].p50_ns, None,
            "nothing finished after the last second"
        );
    }

    #[test]
    fn a_run_s_points_fit_the_room_taken_before_it() {
        let ten_seconds = reserved(Duration::from_secs(10));
        assert_eq!(ten_seconds.len(), 0);
        assert!(
            (12..24).contains(&ten_seconds.capacity()),
            "10 s, a point each, and the last"
        );
        let day = reserved(Duration::from_secs(86_400));
        assert!(
            (RESERVED_POINTS..2 * RESERVED_POINTS).contains(&day.capacity()),
            "an hour's, not a day's"
        );
    }

    #[test]
    fn the_live_line_reads_like_k6() {
        let mut iterations = new_histogram();
        for ms in 1..=100u64 {
            iterations.saturating_record(ms * 1_000_000);
        }
        let t = Tick {
            t_s: 2.0,
            users: 20,
            iterations: 100,
            requests: 300,
            failed_iterations: 1,
            ..Tick::default()
        };
        assert_eq!(
            progress_line(&t, Duration::from_secs(30), &iterations),
            "load 2s/30s  users 20  iterations 100 (50/s)  requests 300 (150/s)  failed 1  \
             dropped 0  p95 95.03ms" // HDR, 3 digits: the bucket of 95ms
        );
        assert!(
            progress_line(&t, super::super::MAX_DURATION, &new_histogram())
                .starts_with("load 2s/-  users 20")
        );
    }
}
