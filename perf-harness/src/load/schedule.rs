//! Load profiles over time: how many users should be active at `t` (closed model), and when the
//! k-th iteration is scheduled to start (open model), for constant loads and linear stages.

use crate::spec::Stage;

/// A piecewise-linear profile of users or rate (per second) over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    steps: Vec<Stage>,
}

impl Profile {
    /// A constant `value` for `duration_ns`.
    pub fn constant(value: f64, duration_ns: u64) -> Profile {
        Profile {
            steps: vec![Stage {
                duration_ns,
                from: value,
                to: value,
            }],
        }
    }

    /// The profile given by stages.
    pub fn stages(steps: &[Stage]) -> Profile {
        Profile {
            steps: steps.to_vec(),
        }
    }

    /// The same shape in `length_ns` (every stage's length scaled alike), when it is longer.
    pub fn compressed(&self, length_ns: u64) -> Profile {
        let total: u64 = self.steps.iter().map(|s| s.duration_ns).sum();
        if total <= length_ns || total == 0 {
            return self.clone();
        }
        let factor = length_ns as f64 / total as f64;
        Profile {
            steps: self
                .steps
                .iter()
                .map(|s| Stage {
                    duration_ns: ((s.duration_ns as f64 * factor).round() as u64).max(1),
                    ..*s
                })
                .collect(),
        }
    }

    /// The same profile with every value multiplied by `factor` (a shard's part of a rate).
    pub fn scaled(&self, factor: f64) -> Profile {
        Profile {
            steps: self
                .steps
                .iter()
                .map(|s| Stage {
                    from: s.from * factor,
                    to: s.to * factor,
                    ..*s
                })
                .collect(),
        }
    }

    /// Whether the profile is one constant value.
    pub fn is_constant(&self) -> bool {
        self.steps
            .iter()
            .all(|s| s.from == s.to && s.to == self.steps[0].to)
    }

    /// Total length, nanoseconds.
    pub fn duration_ns(&self) -> u64 {
        self.steps.iter().map(|s| s.duration_ns).sum()
    }

    /// The highest value reached.
    pub fn peak(&self) -> f64 {
        self.steps.iter().fold(0.0, |m, s| m.max(s.from).max(s.to))
    }

    /// The value at `t_ns` (linear within a stage; the last value after the end).
    pub fn at(&self, t_ns: u64) -> f64 {
        let mut start = 0u64;
        for s in &self.steps {
            if t_ns < start + s.duration_ns {
                let f = (t_ns - start) as f64 / s.duration_ns as f64;
                return s.from + (s.to - s.from) * f;
            }
            start += s.duration_ns;
        }
        self.steps.last().map_or(0.0, |s| s.to)
    }

    /// Users wanted at `t_ns` (closed model): the profile rounded to the nearest whole user.
    pub fn users_at(&self, t_ns: u64) -> u64 {
        self.at(t_ns).round().max(0.0) as u64
    }

    /// The start times of iterations under this rate profile (open model).
    pub fn arrivals(&self) -> Arrivals<'_> {
        Arrivals {
            profile: self,
            k: 0,
            segment: 0,
            segment_start_ns: 0,
            before_segment: 0.0,
        }
    }
}

/// Iterator over scheduled start offsets (nanoseconds from the start) of an open-model load.
///
/// The k-th iteration (k = 0, 1, ...) starts at the time `t` where the integral of the rate
/// from 0 to `t` equals `k`; for a constant rate `r` that is `k / r`. Within a linear stage
/// from `r0` to `r1` over `D` seconds the integral is `r0·τ + (r1 − r0)·τ² / (2D)`, solved for τ.
pub struct Arrivals<'a> {
    profile: &'a Profile,
    k: u64,
    segment: usize,
    segment_start_ns: u64,
    /// Iterations the rate integrates to over the segments before the current one.
    before_segment: f64,
}

impl Iterator for Arrivals<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        loop {
            let s = self.profile.steps.get(self.segment)?;
            let d = s.duration_ns as f64 / 1e9;
            let n = self.k as f64 - self.before_segment;
            let total = (s.from + s.to) / 2.0 * d;
            if n < total {
                let tau = solve(s.from, s.to, d, n);
                if let Some(tau) = tau.filter(|t| *t <= d) {
                    self.k += 1;
                    return Some(self.segment_start_ns + (tau * 1e9).round() as u64);
                }
            }
            self.before_segment += total;
            self.segment_start_ns += s.duration_ns;
            self.segment += 1;
        }
    }
}

/// τ in [0, d] with `r0·τ + (r1 − r0)·τ²/(2d) = n`, if any.
fn solve(r0: f64, r1: f64, d: f64, n: f64) -> Option<f64> {
    if n <= 0.0 {
        return (r0 > 0.0 || r1 > 0.0).then_some(0.0);
    }
    let a = (r1 - r0) / (2.0 * d);
    if a.abs() < 1e-12 {
        return (r0 > 0.0).then(|| n / r0);
    }
    let disc = r0 * r0 + 4.0 * a * n;
    if disc < 0.0 {
        return None;
    }
    Some((-r0 + disc.sqrt()) / (2.0 * a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_rate_starts_every_1_over_r() {
        let p = Profile::constant(1000.0, 1_000_000_000);
        let starts: Vec<u64> = p.arrivals().collect();
        assert_eq!(starts.len(), 1000);
        assert_eq!(&starts[..3], &[0, 1_000_000, 2_000_000]);
        assert_eq!(starts[999], 999_000_000);
    }

    #[test]
    fn a_linear_ramp_follows_the_integral_of_the_rate() {
        // 0 → 10/s over 10 s: N(t) = t²/2, so iteration k starts at sqrt(2k) seconds.
        let p = Profile::stages(&[Stage {
            duration_ns: 10_000_000_000,
            from: 0.0,
            to: 10.0,
        }]);
        let starts: Vec<u64> = p.arrivals().collect();
        assert_eq!(starts.len(), 50);
        assert_eq!(starts[0], 0);
        assert_eq!(starts[2], 2_000_000_000);
        assert_eq!(starts[8], 4_000_000_000);
        assert_eq!(starts[32], 8_000_000_000);
    }

    #[test]
    fn stages_chain_and_a_zero_rate_stage_starts_nothing() {
        // 2 s at 5/s (10 starts), 2 s at 0, then 1 s at 2/s (2 starts).
        let p = Profile::stages(&[
            Stage {
                duration_ns: 2_000_000_000,
                from: 5.0,
                to: 5.0,
            },
            Stage {
                duration_ns: 2_000_000_000,
                from: 0.0,
                to: 0.0,
            },
            Stage {
                duration_ns: 1_000_000_000,
                from: 2.0,
                to: 2.0,
            },
        ]);
        let starts: Vec<u64> = p.arrivals().collect();
        assert_eq!(starts.len(), 12);
        assert_eq!(starts[9], 1_800_000_000);
        assert_eq!(starts[10], 4_000_000_000);
        assert_eq!(starts[11], 4_500_000_000);
    }

    #[test]
    fn a_ramp_down_ends_where_the_integral_is_used_up() {
        // 10 → 0 over 2 s: 10 iterations; N(τ) = 10τ − 2.5τ², so k = 7.5 at τ = 1 s.
        let p = Profile::stages(&[Stage {
            duration_ns: 2_000_000_000,
            from: 10.0,
            to: 0.0,
        }]);
        let starts: Vec<u64> = p.arrivals().collect();
        assert_eq!(starts.len(), 10);
        assert_eq!(starts[5], 585_786_438); // 2 − sqrt(2): 10τ − 2.5τ² = 5
    }

    #[test]
    fn users_follow_stages_and_round_to_whole_users() {
        let p = Profile::stages(&[
            Stage {
                duration_ns: 10_000_000_000,
                from: 0.0,
                to: 50.0,
            },
            Stage {
                duration_ns: 30_000_000_000,
                from: 50.0,
                to: 50.0,
            },
            Stage {
                duration_ns: 10_000_000_000,
                from: 50.0,
                to: 0.0,
            },
        ]);
        assert_eq!(p.users_at(0), 0);
        assert_eq!(p.users_at(5_000_000_000), 25);
        assert_eq!(p.users_at(5_010_000_000), 25);
        assert_eq!(p.users_at(20_000_000_000), 50);
        assert_eq!(p.users_at(45_000_000_000), 25);
        assert_eq!(p.users_at(60_000_000_000), 0);
        assert_eq!(p.duration_ns(), 50_000_000_000);
        assert_eq!(p.peak(), 50.0);
    }
}
