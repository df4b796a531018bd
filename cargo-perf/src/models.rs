//! Models of a concurrency sweep (the same load test run at several user counts): the
//! Universal Scalability Law fitted to its throughput, and Little's Law checked at each level.

pub mod little;
pub mod table;
pub mod usl;

use little::Level;
use usl::{ModelError, Point, UslFit};

/// A sweep analysed: Little's check of each level and the USL fit of its throughput.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// Little's Law at each level.
    pub little: little::Check,
    /// The USL fit, or why there is none.
    pub fit: Result<UslFit, ModelError>,
}

/// Checks each level against Little's Law and fits the USL to (users, throughput).
pub fn analyse(levels: &[Level]) -> Sweep {
    let points: Vec<Point> = levels
        .iter()
        .map(|l| Point {
            n: l.users,
            x: l.throughput,
        })
        .collect();
    Sweep {
        little: little::check(levels),
        fit: usl::fit(&points),
    }
}
