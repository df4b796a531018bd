//! Little's Law at each level of a closed-model sweep: N users thinking Z between iterations
//! that take R keep X·(R + Z) users busy, so a level whose implied concurrency strays from N
//! was not measured at the load it claims (the generator could not keep N users busy, or R
//! or X was measured over a different window).

/// The relative deviation beyond which a level is suspect.
pub const TOLERANCE: f64 = 0.10;

/// One level of a sweep as measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    /// Concurrent users (N).
    pub users: f64,
    /// Throughput (X), iterations per second.
    pub throughput: f64,
    /// Mean response time of an iteration (R), seconds.
    pub response_s: f64,
    /// Think time between iterations (Z), seconds.
    pub think_s: f64,
}

/// Little's check of one level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    /// The level checked.
    pub level: Level,
    /// X·(R + Z): the users the measurements imply were busy.
    pub implied: f64,
    /// (implied − N)/N.
    pub deviation: f64,
    /// |deviation| > [`TOLERANCE`] (or not a number).
    pub suspect: bool,
}

/// Little's check of a whole sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// One row per level, in the order given.
    pub rows: Vec<Row>,
}

impl Check {
    /// Whether every level satisfies Little's Law within [`TOLERANCE`].
    pub fn consistent(&self) -> bool {
        self.rows.iter().all(|r| !r.suspect)
    }
}

/// Checks each level.
pub fn check(levels: &[Level]) -> Check {
    Check {
        rows: levels.iter().map(|&l| row(l)).collect(),
    }
}

/// Checks one level.
pub fn row(level: Level) -> Row {
    let implied = level.throughput * (level.response_s + level.think_s);
    let deviation = (implied - level.users) / level.users;
    Row {
        level,
        implied,
        deviation,
        suspect: deviation.is_nan() || deviation.abs() > TOLERANCE,
    }
}

impl Row {
    /// Why the level is suspect, in words; `None` when it is not.
    pub fn reason(&self) -> Option<String> {
        if !self.suspect {
            return None;
        }
        let (n, busy) = (self.level.users, self.implied);
        Some(if !self.deviation.is_finite() {
            format!("users = {n}: Little's Law cannot be checked (no throughput or no users)")
        } else if busy < n {
            format!(
                "users = {n}: only {busy:.1} users were busy by Little's Law; the load \
                 generator could not keep {n} users running (CPU, connections, or a ramp \
                 inside the window)"
            )
        } else {
            format!(
                "users = {n}: {busy:.1} users busy by Little's Law, more than ran; throughput \
                 or response time was measured over a different window (warm-up, or think \
                 time not as configured)"
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(users: f64, throughput: f64, response_s: f64, think_s: f64) -> Level {
        Level {
            users,
            throughput,
            response_s,
            think_s,
        }
    }

    #[test]
    fn a_level_that_obeys_the_law_deviates_by_nothing() {
        // 40/s × (0.2 s + 0.05 s) = 10 users.
        let r = row(level(10.0, 40.0, 0.2, 0.05));
        assert_eq!(r.implied, 10.0);
        assert_eq!(r.deviation, 0.0);
        assert!(!r.suspect);
        assert_eq!(r.reason(), None);
    }

    #[test]
    fn too_few_busy_users_are_suspect() {
        // 30/s × 0.25 s = 7.5 of 10 users: −25 %.
        let r = row(level(10.0, 30.0, 0.25, 0.0));
        assert_eq!(r.implied, 7.5);
        assert_eq!(r.deviation, -0.25);
        assert!(r.suspect);
        let why = r.reason().expect("suspect");
        assert!(why.contains("only 7.5 users were busy"), "{why}");
        assert!(why.contains("could not keep 10 users"), "{why}");
    }

    #[test]
    fn too_many_busy_users_are_suspect() {
        // 50/s × (0.2 + 0.1) s = 15 of 10 users: +50 %.
        let r = row(level(10.0, 50.0, 0.2, 0.1));
        assert!((r.implied - 15.0).abs() < 1e-12);
        assert!((r.deviation - 0.5).abs() < 1e-12);
        assert!(r.reason().expect("suspect").contains("more than ran"));
    }

    #[test]
    fn ten_percent_is_the_edge() {
        // 11/s × 1 s = 11 of 10 users: exactly +10 %, not beyond.
        assert!(!row(level(10.0, 11.0, 1.0, 0.0)).suspect);
        assert!(row(level(10.0, 11.1, 1.0, 0.0)).suspect);
        assert!(row(level(10.0, 0.0, f64::NAN, 0.0)).suspect);
    }

    #[test]
    fn a_sweep_is_consistent_when_every_level_is() {
        let good = [level(1.0, 10.0, 0.1, 0.0), level(2.0, 10.0, 0.2, 0.0)];
        assert!(check(&good).consistent());
        let bad = [good[0], level(2.0, 5.0, 0.2, 0.0)];
        let c = check(&bad);
        assert!(!c.consistent());
        assert_eq!(c.rows.iter().filter(|r| r.suspect).count(), 1);
        assert_eq!(c.rows[1].deviation, -0.5);
    }
}
