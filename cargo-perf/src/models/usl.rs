//! The Universal Scalability Law (Gunther): X(N) = λN / (1 + σ(N−1) + κN(N−1)), fitted to a
//! concurrency sweep by bounded nonlinear least squares, with cases-bootstrap intervals.
//!
//! The fit is hand-written: three parameters make 3 × 3 normal equations, which a damped
//! Gauss–Newton (Levenberg–Marquardt) step solves in a few lines. The `levenberg-marquardt`
//! crate would bring nalgebra and its numeric tower for this, and the `usl` crate (archived)
//! is unconstrained and panics when its fit fails; neither earns its place.
//!
//! Phases: [`check`] the points, [`linear_start`] from the linearized form N/X = (1 + σ(N−1) +
//! κN(N−1))/λ, [`refine`] by least squares on X with σ, κ ≥ 0 and λ > 0, then
//! [`bootstrap`] intervals by refitting resampled points.

use crate::compare::{nearest_rank, SplitMix64};

/// The fewest distinct user counts a sweep needs for a fit.
pub const MIN_LEVELS: usize = 6;

/// Bootstrap resamples drawn for the intervals.
pub const RESAMPLES: usize = 1000;

/// The seed of the bootstrap's generator: intervals are reproducible.
const SEED: u64 = 0x05c4_1ab1_e5ee_d000;

/// The fewest distinct user counts a bootstrap resample needs to be refitted (three
/// parameters).
const MIN_RESAMPLE_LEVELS: usize = 3;

/// The most damped steps one fit takes.
const MAX_ITERATIONS: usize = 500;

/// One measured level of a sweep: `n` concurrent users delivered `x` iterations per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Concurrent users (N).
    pub n: f64,
    /// Throughput (X), per second.
    pub x: f64,
}

/// The three coefficients of the law.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usl {
    /// Contention σ: the serial fraction (queueing for a shared resource).
    pub sigma: f64,
    /// Coherency κ: the cost of keeping N users' views consistent (pairwise crosstalk).
    pub kappa: f64,
    /// λ: the throughput of one user, per second.
    pub lambda: f64,
}

impl Usl {
    /// The modelled throughput X(N).
    pub fn throughput(&self, n: f64) -> f64 {
        self.lambda * n / self.denominator(n)
    }

    fn denominator(&self, n: f64) -> f64 {
        1.0 + self.sigma * (n - 1.0) + self.kappa * n * (n - 1.0)
    }

    /// N_max = √((1 − σ)/κ), where throughput peaks: ∞ when κ = 0 (and σ < 1), at least 1.
    pub fn peak_users(&self) -> f64 {
        if self.sigma >= 1.0 {
            // X(N) never rises above X(1).
            1.0
        } else if self.kappa <= 0.0 {
            f64::INFINITY
        } else {
            ((1.0 - self.sigma) / self.kappa).sqrt().max(1.0)
        }
    }

    /// X_max = X(N_max); λ/σ (Amdahl's ceiling, ∞ when σ = 0 too) when κ = 0.
    pub fn peak_throughput(&self) -> f64 {
        let n = self.peak_users();
        if n.is_infinite() {
            self.lambda / self.sigma
        } else {
            self.throughput(n)
        }
    }
}

/// A 95 % percentile-bootstrap interval.
pub type Interval = (f64, f64);

/// Bootstrap intervals of the coefficients and of the peak.
#[derive(Debug, Clone, PartialEq)]
pub struct Intervals {
    /// σ.
    pub sigma: Interval,
    /// κ.
    pub kappa: Interval,
    /// λ.
    pub lambda: Interval,
    /// N_max (an end may be ∞).
    pub peak_users: Interval,
    /// X_max (an end may be ∞).
    pub peak_throughput: Interval,
    /// Resamples refitted (those with fewer than three distinct user counts are skipped).
    pub resamples: usize,
}

/// A fitted model with its quality and intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct UslFit {
    /// The least-squares coefficients.
    pub model: Usl,
    /// The coefficient of determination of X.
    pub r_squared: f64,
    /// Points fitted.
    pub points: usize,
    /// Distinct user counts among them.
    pub levels: usize,
    /// Bootstrap 95 % intervals.
    pub intervals: Intervals,
}

/// Why a sweep cannot be fitted, with what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A point's user count is not a number ≥ 1.
    #[error(
        "level {index}: users = {n} is not a count of at least 1; give each level's number of \
         concurrent users"
    )]
    BadUsers {
        /// The point's position, from 1.
        index: usize,
        /// Its user count.
        n: f64,
    },
    /// A point's throughput is zero, negative or not a number.
    #[error(
        "level {index} (users = {n}): throughput {x}/s is not positive; that run completed no \
         iterations: rerun it or leave it out"
    )]
    BadThroughput {
        /// The point's position, from 1.
        index: usize,
        /// Its user count.
        n: f64,
        /// Its throughput.
        x: f64,
    },
    /// Every point has the same user count.
    #[error(
        "every level has users = {n}; a USL fit needs a sweep over at least {MIN_LEVELS} \
         different user counts (e.g. users = 1, 2, 4, 8, 16, 32)"
    )]
    OneLevel {
        /// The only user count.
        n: f64,
    },
    /// Too few distinct user counts.
    #[error(
        "{levels} different user counts; a USL fit needs at least {MIN_LEVELS}: run the sweep \
         at more levels (e.g. users = 1, 2, 4, 8, 16, 32)"
    )]
    TooFewLevels {
        /// Distinct user counts given.
        levels: usize,
    },
    /// The least-squares iteration left the numbers.
    #[error(
        "the USL fit did not converge; look for a level far off the curve (a failed or \
         saturated run) and rerun or remove it"
    )]
    NoFit,
}

/// Fits the law to a sweep: checks the points, fits σ, κ, λ, and bootstraps their intervals.
pub fn fit(points: &[Point]) -> Result<UslFit, ModelError> {
    let levels = check(points)?;
    let model = refine(points, linear_start(points)).ok_or(ModelError::NoFit)?;
    Ok(UslFit {
        model,
        r_squared: r_squared(points, &model),
        points: points.len(),
        levels,
        intervals: bootstrap(points, &model, RESAMPLES, SEED),
    })
}

/// Checks that every point is usable and that the sweep has enough levels; returns the
/// number of distinct user counts.
pub fn check(points: &[Point]) -> Result<usize, ModelError> {
    for (i, p) in points.iter().enumerate() {
        if !(p.n.is_finite() && p.n >= 1.0) {
            return Err(ModelError::BadUsers {
                index: i + 1,
                n: p.n,
            });
        }
        if !(p.x.is_finite() && p.x > 0.0) {
            return Err(ModelError::BadThroughput {
                index: i + 1,
                n: p.n,
                x: p.x,
            });
        }
    }
    match distinct_levels(points) {
        1 if points.len() > 1 => Err(ModelError::OneLevel { n: points[0].n }),
        levels if levels < MIN_LEVELS => Err(ModelError::TooFewLevels { levels }),
        levels => Ok(levels),
    }
}

fn distinct_levels(points: &[Point]) -> usize {
    let mut n: Vec<f64> = points.iter().map(|p| p.n).collect();
    n.sort_by(f64::total_cmp);
    n.dedup();
    n.len()
}

/// Starting values from the linearized law N/X = 1/λ + (σ/λ)(N−1) + (κ/λ)N(N−1), an ordinary
/// least-squares problem; σ and κ are clipped at 0 and λ is then the best for them.
pub fn linear_start(points: &[Point]) -> Usl {
    let mut a = [[0.0; 3]; 3];
    let mut b = [0.0; 3];
    for p in points {
        let row = [1.0, p.n - 1.0, p.n * (p.n - 1.0)];
        accumulate(&mut a, &mut b, &row, p.n / p.x);
    }
    let free = [true; 3];
    let (sigma, kappa) = match solve_scaled(&a, &b, 0.0, free) {
        Some([c0, c1, c2]) if c0 > 0.0 => ((c1 / c0).max(0.0), (c2 / c0).max(0.0)),
        _ => (0.0, 0.0),
    };
    best_lambda(points, sigma, kappa)
}

/// The λ that minimizes the squared error for fixed σ and κ (X is linear in λ).
fn best_lambda(points: &[Point], sigma: f64, kappa: f64) -> Usl {
    let unit = Usl {
        sigma,
        kappa,
        lambda: 1.0,
    };
    let (xg, gg) = points.iter().fold((0.0, 0.0), |(xg, gg), p| {
        let g = unit.throughput(p.n);
        (xg + p.x * g, gg + g * g)
    });
    Usl {
        lambda: xg / gg,
        ..unit
    }
}

/// Least squares of X by Levenberg–Marquardt from `start`, keeping σ, κ ≥ 0 and λ > 0 (a
/// coefficient at its bound whose gradient points outward stays there); `None` if the numbers
/// stop being finite.
pub fn refine(points: &[Point], start: Usl) -> Option<Usl> {
    let mut model = start;
    let mut cost = sse(points, &model);
    let mut damping = 1e-3;
    for _ in 0..MAX_ITERATIONS {
        let (a, g) = normal_equations(points, &model);
        let free = [
            model.sigma > 0.0 || g[0] > 0.0,
            model.kappa > 0.0 || g[1] > 0.0,
            true,
        ];
        let mut improved = false;
        while damping < 1e16 {
            let Some(step) = solve_scaled(&a, &g, damping, free) else {
                damping *= 10.0;
                continue;
            };
            let trial = Usl {
                sigma: (model.sigma + step[0]).max(0.0),
                kappa: (model.kappa + step[1]).max(0.0),
                lambda: (model.lambda + step[2]).max(f64::MIN_POSITIVE),
            };
            let trial_cost = sse(points, &trial);
            if trial_cost < cost {
                let gain = cost - trial_cost;
                model = trial;
                damping = (damping / 10.0).max(1e-12);
                improved = gain > 1e-14 * cost;
                cost = trial_cost;
                break;
            }
            damping *= 10.0;
        }
        if !improved {
            break;
        }
    }
    [model.sigma, model.kappa, model.lambda, cost]
        .iter()
        .all(|v| v.is_finite())
        .then_some(model)
}

/// Sum of squared residuals of X.
fn sse(points: &[Point], model: &Usl) -> f64 {
    points
        .iter()
        .map(|p| (p.x - model.throughput(p.n)).powi(2))
        .sum()
}

/// JᵀJ and Jᵀr at `model`, J the derivatives of X(N) by (σ, κ, λ), r the residuals.
fn normal_equations(points: &[Point], model: &Usl) -> ([[f64; 3]; 3], [f64; 3]) {
    let mut a = [[0.0; 3]; 3];
    let mut g = [0.0; 3];
    for p in points {
        let d = model.denominator(p.n);
        let x = model.lambda * p.n / d;
        let row = [-x * (p.n - 1.0) / d, -x * p.n * (p.n - 1.0) / d, p.n / d];
        accumulate(&mut a, &mut g, &row, p.x - x);
    }
    (a, g)
}

/// Adds one observation `row · c ≈ y` to the normal equations `a c = b`.
fn accumulate(a: &mut [[f64; 3]; 3], b: &mut [f64; 3], row: &[f64; 3], y: f64) {
    for (i, ri) in row.iter().enumerate() {
        b[i] += ri * y;
        for (k, rk) in row.iter().enumerate() {
            a[i][k] += ri * rk;
        }
    }
}

/// Solves `(A + damping·diag(A)) c = b` over the `free` coordinates (the others stay 0),
/// scaling A to a unit diagonal first so that σ ~ 0.01, κ ~ 0.001 and λ ~ 1000 are solved
/// with the same precision.
fn solve_scaled(
    a: &[[f64; 3]; 3],
    b: &[f64; 3],
    damping: f64,
    free: [bool; 3],
) -> Option<[f64; 3]> {
    let scale: [f64; 3] = std::array::from_fn(|i| a[i][i].sqrt());
    let used: [bool; 3] = std::array::from_fn(|i| free[i] && scale[i] > 0.0);
    let mut m = [[0.0; 3]; 3];
    let mut v = [0.0; 3];
    for i in 0..3 {
        if !used[i] {
            m[i][i] = 1.0;
            continue;
        }
        v[i] = b[i] / scale[i];
        for k in 0..3 {
            if used[k] {
                m[i][k] = a[i][k] / (scale[i] * scale[k]);
            }
        }
        m[i][i] += damping;
    }
    let c = solve3(m, v)?;
    Some(std::array::from_fn(|i| {
        if used[i] {
            c[i] / scale[i]
        } else {
            0.0
        }
    }))
}

/// Gaussian elimination with partial pivoting; `None` for a singular matrix.
fn solve3(mut m: [[f64; 3]; 3], mut v: [f64; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let pivot = (col..3).max_by(|&i, &k| m[i][col].abs().total_cmp(&m[k][col].abs()))?;
        if m[pivot][col].abs() < 1e-300 {
            return None;
        }
        m.swap(col, pivot);
        v.swap(col, pivot);
        for row in col + 1..3 {
            let f = m[row][col] / m[col][col];
            let pivot_row = m[col];
            for (x, p) in m[row].iter_mut().zip(pivot_row).skip(col) {
                *x -= f * p;
            }
            v[row] -= f * v[col];
        }
    }
    let mut c = [0.0; 3];
    for row in (0..3).rev() {
        let tail: f64 = (row + 1..3).map(|k| m[row][k] * c[k]).sum();
        c[row] = (v[row] - tail) / m[row][row];
    }
    c.iter().all(|x| x.is_finite()).then_some(c)
}

/// 1 − SSE/SST of X; NaN when every X is equal (nothing to explain).
pub fn r_squared(points: &[Point], model: &Usl) -> f64 {
    let mean = points.iter().map(|p| p.x).sum::<f64>() / points.len() as f64;
    let sst: f64 = points.iter().map(|p| (p.x - mean).powi(2)).sum();
    if sst > 0.0 {
        1.0 - sse(points, model) / sst
    } else {
        f64::NAN
    }
}

/// Cases bootstrap: refits `resamples` resamples of the points (drawn with replacement by a
/// generator seeded with `seed`, each refit started from `model`) and takes the 2.5 % and
/// 97.5 % quantiles of each coefficient and of the peak.
pub fn bootstrap(points: &[Point], model: &Usl, resamples: usize, seed: u64) -> Intervals {
    let mut rng = SplitMix64::new(seed);
    let mut draws: [Vec<f64>; 5] = Default::default();
    let mut sample = Vec::with_capacity(points.len());
    for _ in 0..resamples {
        sample.clear();
        sample.extend((0..points.len()).map(|_| points[rng.below(points.len())]));
        if distinct_levels(&sample) < MIN_RESAMPLE_LEVELS {
            continue;
        }
        let Some(m) = refine(&sample, *model) else {
            continue;
        };
        let values = [
            m.sigma,
            m.kappa,
            m.lambda,
            m.peak_users(),
            m.peak_throughput(),
        ];
        for (draw, value) in draws.iter_mut().zip(values) {
            draw.push(value);
        }
    }
    let used = draws[0].len();
    let [sigma, kappa, lambda, peak_users, peak_throughput] = draws.map(|mut d| {
        d.sort_by(f64::total_cmp);
        (nearest_rank(&d, 0.025), nearest_rank(&d, 0.975))
    });
    Intervals {
        resamples: used,
        sigma,
        kappa,
        lambda,
        peak_users,
        peak_throughput,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Gunther's Cisco benchmark (throughput by concurrency, 32 levels), as used in Baron
    /// Schwartz's *Practical Scalability Analysis with the Universal Scalability Law* and shipped
    /// in the tests of codahale's `usl` crate: github.com/codahale/usl-rs, `src/lib.rs`
    /// (commit 1fd22533ed66655d6a23cd06029b1135fd7ade8b, `const MEASUREMENTS`), and of usl4j
    /// (`src/test/java/com/codahale/usl4j/tests/ModelTest.java`, `CISCO`).
    pub(crate) const CISCO: [(f64, f64); 32] = [
        (1.0, 955.16),
        (2.0, 1878.91),
        (3.0, 2688.01),
        (4.0, 3548.68),
        (5.0, 4315.54),
        (6.0, 5130.43),
        (7.0, 5931.37),
        (8.0, 6531.08),
        (9.0, 7219.8),
        (10.0, 7867.61),
        (11.0, 8278.71),
        (12.0, 8646.7),
        (13.0, 9047.84),
        (14.0, 9426.55),
        (15.0, 9645.37),
        (16.0, 9897.24),
        (17.0, 10097.6),
        (18.0, 10240.5),
        (19.0, 10532.39),
        (20.0, 10798.52),
        (21.0, 11151.43),
        (22.0, 11518.63),
        (23.0, 11806.0),
        (24.0, 12089.37),
        (25.0, 12075.41),
        (26.0, 12177.29),
        (27.0, 12211.41),
        (28.0, 12158.93),
        (29.0, 12155.27),
        (30.0, 12118.04),
        (31.0, 12140.4),
        (32.0, 12074.39),
    ];

    /// The published coefficients of the Cisco fit (same sources): σ, κ, λ, N_max (floored),
    /// and X(35).
    const PUBLISHED: (f64, f64, f64, f64, f64) =
        (0.02671591, 7.690945e-4, 995.6486, 35.0, 12341.7454);

    fn points(data: &[(f64, f64)]) -> Vec<Point> {
        data.iter().map(|&(n, x)| Point { n, x }).collect()
    }

    fn exact(model: Usl, levels: &[f64]) -> Vec<Point> {
        levels
            .iter()
            .map(|&n| Point {
                n,
                x: model.throughput(n),
            })
            .collect()
    }

    fn relative(got: f64, want: f64) -> f64 {
        ((got - want) / want).abs()
    }

    #[test]
    fn the_cisco_fit_matches_the_published_coefficients() {
        let fit = fit(&points(&CISCO)).expect("fit");
        let (sigma, kappa, lambda, n_max, x_35) = PUBLISHED;
        let m = fit.model;
        assert!(relative(m.sigma, sigma) < 0.01, "σ {} vs {sigma}", m.sigma);
        assert!(relative(m.kappa, kappa) < 0.01, "κ {} vs {kappa}", m.kappa);
        assert!(
            relative(m.lambda, lambda) < 0.01,
            "λ {} vs {lambda}",
            m.lambda
        );
        assert_eq!(m.peak_users().floor(), n_max);
        assert!(relative(m.throughput(35.0), x_35) < 0.01);
        assert!(relative(m.peak_throughput(), x_35) < 0.01);
        // The same least-squares problem: in fact far closer than 1 %.
        assert!(relative(m.sigma, sigma) < 1e-5, "σ {}", m.sigma);
        assert!(relative(m.kappa, kappa) < 1e-5, "κ {}", m.kappa);
        assert!(relative(m.lambda, lambda) < 1e-5, "λ {}", m.lambda);
        assert!(
            fit.r_squared > 0.99 && fit.r_squared < 1.0,
            "{}",
            fit.r_squared
        );
        assert_eq!((fit.points, fit.levels), (32, 32));
    }

    #[test]
    fn the_cisco_intervals_hold_the_estimates() {
        let fit = fit(&points(&CISCO)).expect("fit");
        let (m, i) = (fit.model, &fit.intervals);
        let inside = |(lo, hi): Interval, v: f64| lo < v && v < hi;
        assert!(inside(i.sigma, m.sigma), "{:?}", i.sigma);
        assert!(inside(i.kappa, m.kappa), "{:?}", i.kappa);
        assert!(inside(i.lambda, m.lambda), "{:?}", i.lambda);
        assert!(inside(i.peak_users, m.peak_users()), "{:?}", i.peak_users);
        assert!(inside(i.peak_throughput, m.peak_throughput()));
        assert_eq!(i.resamples, RESAMPLES);
        // Reproducible: the generator is seeded.
        assert_eq!(
            bootstrap(&points(&CISCO), &m, 200, 7),
            bootstrap(&points(&CISCO), &m, 200, 7)
        );
    }

    #[test]
    fn exact_points_give_back_their_coefficients_and_zero_width_intervals() {
        let truth = Usl {
            sigma: 0.05,
            kappa: 0.002,
            lambda: 120.0,
        };
        let fit = fit(&exact(truth, &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0])).expect("fit");
        let m = fit.model;
        assert!(relative(m.sigma, truth.sigma) < 1e-6, "{m:?}");
        assert!(relative(m.kappa, truth.kappa) < 1e-6, "{m:?}");
        assert!(relative(m.lambda, truth.lambda) < 1e-6, "{m:?}");
        assert!((fit.r_squared - 1.0).abs() < 1e-12);
        // N_max = √(0.95/0.002) = √475.
        assert!(relative(m.peak_users(), 475f64.sqrt()) < 1e-6);
        let i = &fit.intervals;
        for ((lo, hi), v) in [
            (i.sigma, truth.sigma),
            (i.kappa, truth.kappa),
            (i.lambda, truth.lambda),
        ] {
            assert!(
                relative(lo, v) < 1e-6 && relative(hi, v) < 1e-6,
                "{lo} {hi} {v}"
            );
        }
    }

    #[test]
    fn amdahl_points_fit_with_no_coherency_and_an_unbounded_peak() {
        let truth = Usl {
            sigma: 0.1,
            kappa: 0.0,
            lambda: 50.0,
        };
        assert_eq!(truth.peak_users(), f64::INFINITY);
        // λ/σ = 500.
        assert!(relative(truth.peak_throughput(), 500.0) < 1e-12);
        let fit = fit(&exact(truth, &[1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0])).expect("fit");
        assert!(relative(fit.model.sigma, 0.1) < 1e-6, "{:?}", fit.model);
        assert!(fit.model.kappa < 1e-9, "{:?}", fit.model);
        assert!(relative(fit.model.lambda, 50.0) < 1e-6, "{:?}", fit.model);
        // Linear scaling: no ceiling at all.
        let linear = Usl {
            sigma: 0.0,
            ..truth
        };
        assert_eq!(linear.peak_throughput(), f64::INFINITY);
    }

    #[test]
    fn superlinear_points_hold_the_coefficients_at_their_bounds() {
        // X grows faster than N: unconstrained least squares would make σ and κ negative.
        let data: Vec<Point> = [1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
            .iter()
            .map(|&n| Point {
                n,
                x: 10.0 * n * (1.0 + 0.05 * n),
            })
            .collect();
        let m = fit(&data).expect("fit").model;
        assert_eq!((m.sigma, m.kappa), (0.0, 0.0), "{m:?}");
        assert!(m.lambda > 0.0);
    }

    #[test]
    fn a_throughput_that_never_rises_peaks_at_one_user() {
        let flat = Usl {
            sigma: 1.2,
            kappa: 0.01,
            lambda: 10.0,
        };
        assert_eq!(flat.peak_users(), 1.0);
        assert_eq!(flat.peak_throughput(), 10.0);
    }

    #[test]
    fn unusable_sweeps_are_refused_with_the_fix() {
        let five = exact(
            Usl {
                sigma: 0.1,
                kappa: 0.01,
                lambda: 5.0,
            },
            &[1.0, 2.0, 3.0, 4.0, 5.0],
        );
        let e = fit(&five).expect_err("five levels");
        assert_eq!(e, ModelError::TooFewLevels { levels: 5 });
        assert!(e.to_string().contains("at least 6"), "{e}");
        assert!(e.to_string().contains("users = 1, 2, 4"), "{e}");
        assert_eq!(fit(&[]), Err(ModelError::TooFewLevels { levels: 0 }));

        let same = vec![Point { n: 4.0, x: 100.0 }; 8];
        let e = fit(&same).expect_err("one level");
        assert_eq!(e, ModelError::OneLevel { n: 4.0 });
        assert!(e.to_string().contains("every level has users = 4"), "{e}");

        let mut zero = points(&CISCO);
        zero[6].x = 0.0;
        let e = fit(&zero).expect_err("zero throughput");
        assert_eq!(
            e,
            ModelError::BadThroughput {
                index: 7,
                n: 7.0,
                x: 0.0
            }
        );
        assert!(e.to_string().contains("rerun it or leave it out"), "{e}");
        zero[6].x = f64::NAN;
        assert!(matches!(
            fit(&zero),
            Err(ModelError::BadThroughput { index: 7, .. })
        ));

        let mut no_users = points(&CISCO);
        no_users[0].n = 0.0;
        let e = fit(&no_users).expect_err("zero users");
        assert_eq!(e, ModelError::BadUsers { index: 1, n: 0.0 });
        assert!(e.to_string().contains("at least 1"), "{e}");
    }

    #[test]
    fn repeated_levels_count_once() {
        // Two runs per level are fine: six distinct user counts are what matters.
        let truth = Usl {
            sigma: 0.02,
            kappa: 0.001,
            lambda: 300.0,
        };
        let levels = [
            1.0, 1.0, 2.0, 2.0, 4.0, 4.0, 8.0, 8.0, 16.0, 16.0, 32.0, 32.0,
        ];
        let fit = fit(&exact(truth, &levels)).expect("fit");
        assert_eq!((fit.points, fit.levels), (12, 6));
        assert!(relative(fit.model.kappa, truth.kappa) < 1e-6);
    }
}
