//! The memory trend of a load test (the leak verdict of `max_rss_growth`): after warm-up, the
//! per-second RSS of the timeline is cut into windows, each window's minimum is kept, and a
//! least-squares line through those minima gives the growth in bytes per hour. Fitting the
//! minima, not the raw series, makes a sawtooth (memory taken and given back in cycles shorter
//! than a window) no trend, while a leak raises every minimum.

use perf_schema::record::load::Tick;

/// The share of the timeline skipped as warm-up (caches filling, pools growing).
pub const WARMUP_SHARE: f64 = 0.2;

/// Fewest windows a trend is fitted through.
pub const MIN_WINDOWS: usize = 3;

/// Most windows: long runs get windows of several seconds, which hold a whole sawtooth cycle.
pub const MAX_WINDOWS: usize = 12;

/// Samples per window at least: with one sample a second, a window then spans a whole cycle of
/// a sawtooth of up to 3 s, whatever its phase against the sampling.
const MIN_SAMPLES_PER_WINDOW: usize = 3;

/// The fitted trend.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    /// Growth of the windows' minima, bytes per hour (negative: shrinking).
    pub bytes_per_h: f64,
    /// The minima fitted: (seconds since the start, bytes).
    pub minima: Vec<(f64, f64)>,
}

/// The RSS trend of `timeline` after warm-up, or `None` when the run is too short to cut into
/// [`MIN_WINDOWS`] windows of three samples (a soak needs at least 11 s). The service's own
/// process when it was watched (`--service-pid`), else the test process (the generator, and the
/// service when `setup` started it in-process).
pub fn rss_trend(timeline: &[Tick]) -> Option<Trend> {
    let watched = timeline.iter().any(|t| t.service.is_some());
    let rss = |t: &Tick| match watched {
        true => t.service.and_then(|s| s.rss_bytes),
        false => t.rss_bytes,
    };
    let samples: Vec<(f64, f64)> = timeline
        .iter()
        .filter_map(|t| Some((t.t_s, rss(t)? as f64)))
        .collect();
    let end_s = samples.last()?.0;
    let kept: Vec<(f64, f64)> = samples
        .into_iter()
        .filter(|&(t, _)| t > end_s * WARMUP_SHARE)
        .collect();
    let windows = (kept.len() / MIN_SAMPLES_PER_WINDOW).min(MAX_WINDOWS);
    if windows < MIN_WINDOWS {
        return None;
    }
    let minima: Vec<(f64, f64)> = (0..windows)
        .filter_map(|w| {
            let (from, to) = (w * kept.len() / windows, (w + 1) * kept.len() / windows);
            kept[from..to]
                .iter()
                .copied()
                .min_by(|a, b| a.1.total_cmp(&b.1))
        })
        .collect();
    Some(Trend {
        bytes_per_h: slope(&minima) * 3600.0,
        minima,
    })
}

/// The least-squares slope of `points` (y per x).
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx == 0.0 {
        0.0
    } else {
        sxy / sxx
    }
}

#[cfg(test)]
mod tests {
    use super::{rss_trend, slope};
    use perf_schema::record::load::Tick;

    const MIB: f64 = 1024.0 * 1024.0;

    fn timeline(rss: impl Iterator<Item = f64>) -> Vec<Tick> {
        rss.enumerate()
            .map(|(i, bytes)| Tick {
                t_s: (i + 1) as f64,
                rss_bytes: Some(bytes as u64),
                ..Tick::default()
            })
            .collect()
    }

    #[test]
    fn the_slope_is_exact_on_a_line() {
        assert_eq!(slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]), 2.0);
        assert_eq!(slope(&[(1.0, 4.0), (1.0, 9.0)]), 0.0);
    }

    #[test]
    fn a_steady_leak_is_its_rate_per_hour() {
        // 100 MiB plus 1 MiB a second for 60 s: 3600 MiB/h.
        let t = timeline((0..60).map(|s| 100.0 * MIB + s as f64 * MIB));
        let trend = rss_trend(&t).expect("long enough");
        assert!((trend.bytes_per_h - 3600.0 * MIB).abs() < 1.0, "{trend:?}");
        assert_eq!(trend.minima.len(), 12);
        // Warm-up: the 12 first seconds (20 % of 60) are not fitted.
        assert_eq!(trend.minima[0].0, 13.0);
    }

    #[test]
    fn a_sawtooth_is_no_trend_and_a_leaking_one_is() {
        // 0..8 MiB over a 4-second cycle on top of 100 MiB, for a minute.
        let saw = |s: usize| 100.0 * MIB + (s % 4) as f64 * 2.0 * MIB;
        let flat = rss_trend(&timeline((0..60).map(saw))).expect("trend");
        assert_eq!(flat.bytes_per_h, 0.0, "{flat:?}");
        // The raw series' own slope would depend on where the minute cut the last cycle; the
        // minima's does not.
        let leaking = rss_trend(&timeline((0..60).map(|s| saw(s) + s as f64 * 0.1 * MIB)));
        let per_h = leaking.expect("trend").bytes_per_h;
        assert!((per_h - 360.0 * MIB).abs() < 0.01 * 360.0 * MIB, "{per_h}");
    }

    #[test]
    fn a_watched_service_process_is_judged_not_the_test_process() {
        // The test process flat at 10 MiB, the service's own process leaking 1 MiB a second.
        let mut t = timeline((0..60).map(|_| 10.0 * MIB));
        for (s, tick) in t.iter_mut().enumerate() {
            tick.service = Some(perf_schema::record::load::ProcessTick {
                rss_bytes: Some((50.0 * MIB + s as f64 * MIB) as u64),
                ..Default::default()
            });
        }
        let trend = rss_trend(&t).expect("trend");
        assert!((trend.bytes_per_h - 3600.0 * MIB).abs() < 1.0, "{trend:?}");
        // Gone for the last 20 s: the trend is fitted on what was read of it, not on the
        // test process's figures in between.
        for tick in &mut t[40..] {
            tick.service = None;
        }
        let trend = rss_trend(&t).expect("trend");
        assert!((trend.bytes_per_h - 3600.0 * MIB).abs() < 1.0, "{trend:?}");
    }

    #[test]
    fn too_short_a_run_has_no_trend() {
        // 10 s: 8 samples after warm-up, 2 windows.
        assert_eq!(rss_trend(&timeline((0..10).map(|_| MIB))), None);
        assert!(rss_trend(&timeline((0..11).map(|_| MIB))).is_some());
        assert_eq!(rss_trend(&[]), None);
    }
}
