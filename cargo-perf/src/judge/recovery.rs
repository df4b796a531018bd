//! Recovery after a spike: from the spike's end, the time until the per-second p95 of the load's
//! timeline is back under the `p95` threshold and stays there until the next spike or the end.

use perf_schema::grammar::profile::Spike;
use perf_schema::record::load::Tick;

/// How one spike's recovery went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recovery {
    /// The spike.
    pub spike: Spike,
    /// From the spike's end to the start of the first second from which p95 stayed under its
    /// threshold, ns; `None` when it never did before the next spike or the end.
    pub after_ns: Option<u64>,
}

/// The recovery after each spike that falls back (`end_ns` set), against `p95_limit_ns`. A
/// second of the timeline covers the iterations completed since the point before it; a second
/// without one does not count as recovered.
pub fn recoveries(spikes: &[Spike], timeline: &[Tick], p95_limit_ns: f64) -> Vec<Recovery> {
    spikes
        .iter()
        .filter_map(|spike| {
            let end_ns = spike.end_ns?;
            Some(Recovery {
                spike: *spike,
                after_ns: recovered_after(end_ns, spike.until_ns, timeline, p95_limit_ns),
            })
        })
        .collect()
}

/// The worst recovery: the longest, or `None` when a spike never recovered (or there was no
/// spike that fell back).
pub fn worst(recoveries: &[Recovery]) -> Option<u64> {
    if recoveries.is_empty() {
        return None;
    }
    recoveries
        .iter()
        .map(|r| r.after_ns)
        .try_fold(0u64, |worst, after| after.map(|a| worst.max(a)))
}

fn recovered_after(end_ns: u64, until_ns: u64, timeline: &[Tick], limit_ns: f64) -> Option<u64> {
    // Each second as (start ns, end ns, p95): its window runs from the point before it.
    let seconds: Vec<(u64, u64, Option<f64>)> = timeline
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let start_s = if i == 0 { 0.0 } else { timeline[i - 1].t_s };
            ((start_s * 1e9) as u64, (t.t_s * 1e9) as u64, t.p95_ns)
        })
        .filter(|&(start, stop, _)| stop > end_ns && start < until_ns)
        .collect();
    let under = |p95: Option<f64>| p95.is_some_and(|v| v <= limit_ns);
    // The first second from which every second up to the next spike (or the end) is under.
    let first = seconds
        .iter()
        .rposition(|&(_, _, p95)| !under(p95))
        .map_or(0, |last_over| last_over + 1);
    let &(start, _, _) = seconds.get(first)?;
    Some(start.saturating_sub(end_ns))
}

#[cfg(test)]
mod tests {
    use super::{recoveries, worst, Recovery};
    use perf_schema::grammar::profile::Spike;
    use perf_schema::record::load::Tick;

    const S: u64 = 1_000_000_000;
    const MS: f64 = 1e6;

    fn timeline(p95_ms: &[Option<f64>]) -> Vec<Tick> {
        p95_ms
            .iter()
            .enumerate()
            .map(|(i, p)| Tick {
                t_s: (i + 1) as f64,
                p95_ns: p.map(|v| v * MS),
                ..Tick::default()
            })
            .collect()
    }

    /// 3 s at base load, a 2 s spike, 8 s back at base.
    const SPIKE: Spike = Spike {
        start_ns: 3 * S,
        end_ns: Some(5 * S),
        until_ns: 13 * S,
    };

    #[test]
    fn recovery_is_timed_from_the_spikes_end_to_the_first_second_that_stays_under() {
        // Seconds 1..=13: over 100ms from the 4th to the 7th, and once more in the 9th.
        let p95 = [
            10.0, 10.0, 10.0, 300.0, 900.0, 700.0, 200.0, 50.0, 150.0, 40.0, 30.0, 20.0, 20.0,
        ];
        let t = timeline(&p95.map(Some));
        let r = recoveries(&[SPIKE], &t, 100.0 * MS);
        // The 10th second (9 s..10 s) starts the run under 100ms: 4 s after the spike's end.
        assert_eq!(
            r,
            vec![Recovery {
                spike: SPIKE,
                after_ns: Some(4 * S)
            }]
        );
        assert_eq!(worst(&r), Some(4 * S));
    }

    #[test]
    fn a_spike_that_never_hurt_recovers_at_once_and_one_that_never_heals_fails() {
        let calm = timeline(&[Some(10.0); 13]);
        assert_eq!(worst(&recoveries(&[SPIKE], &calm, 100.0 * MS)), Some(0));
        let mut stuck = [Some(10.0); 13];
        stuck[12] = Some(500.0);
        let r = recoveries(&[SPIKE], &timeline(&stuck), 100.0 * MS);
        assert_eq!(r[0].after_ns, None);
        assert_eq!(worst(&r), None);
        // A second with no completed iteration is not a recovered one.
        let mut silent = [Some(10.0); 13];
        silent[12] = None;
        assert_eq!(
            worst(&recoveries(&[SPIKE], &timeline(&silent), 100.0 * MS)),
            None
        );
    }

    #[test]
    fn the_worst_of_several_spikes_counts_and_a_spike_without_a_fall_is_skipped() {
        let first = Spike {
            start_ns: S,
            end_ns: Some(2 * S),
            until_ns: 6 * S,
        };
        let second = Spike {
            start_ns: 6 * S,
            end_ns: Some(7 * S),
            until_ns: 10 * S,
        };
        let unended = Spike {
            start_ns: 10 * S,
            end_ns: None,
            until_ns: 10 * S,
        };
        let p95 = [
            10.0, 500.0, 500.0, 10.0, 10.0, 10.0, 500.0, 10.0, 10.0, 10.0,
        ];
        let r = recoveries(
            &[first, second, unended],
            &timeline(&p95.map(Some)),
            100.0 * MS,
        );
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0].after_ns, r[1].after_ns),
            (Some(S), Some(0)),
            "first: under from the 4th second (3 s), 1 s after its end at 2 s"
        );
        assert_eq!(worst(&r), Some(S));
        assert_eq!(worst(&[]), None);
    }
}
