//! The error rate of a load test before and after: Fisher's exact test on the failed and
//! successful iterations of both runs, Newcombe's interval of the difference, and the verdict.
//!
//! A load test's latency is compared on its successful iterations only (see `compare::load`),
//! so a change that makes iterations fail must be judged here: otherwise a commit whose
//! requests fail fast would pass the gate as an improvement.

use crate::compare::{Change, Comparison, Policy, Severity};
use perf_schema::comparison::Method;
use perf_schema::unit::Unit;

/// The metric name of a load test's error rate in comparisons.
pub const ERROR_RATE: &str = "error rate";

/// Rises of the error rate below this (a fraction: 0.001 = 0.1 percentage points) are
/// unchanged, however significant.
pub const MIN_RISE: f64 = 0.001;

/// Failed iterations out of all iterations of one run (or of one build's rounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Failures {
    /// Iterations that failed.
    pub failed: u64,
    /// Iterations that ended (failed or not).
    pub iterations: u64,
}

impl Failures {
    /// The failed fraction (0 without iterations).
    pub fn rate(self) -> f64 {
        if self.iterations == 0 {
            0.0
        } else {
            self.failed as f64 / self.iterations as f64
        }
    }

    /// Both counts summed.
    pub fn plus(self, other: Failures) -> Failures {
        Failures {
            failed: self.failed + other.failed,
            iterations: self.iterations + other.iterations,
        }
    }
}

/// The severity of a change of the error rate, from its size in percentage points: minor from
/// 0.1, major (fails the default gate) from 1, critical from 10.
pub fn severity_of_rise(points: f64) -> Severity {
    let d = points.abs();
    if d >= 0.10 {
        Severity::Critical
    } else if d >= 0.01 {
        Severity::Major
    } else if d >= MIN_RISE {
        Severity::Minor
    } else {
        Severity::Small
    }
}

/// Compares the error rates of two runs. `None` when either ran no iteration.
///
/// Regression (improvement) when the two-sided Fisher test is significant at `policy.alpha`
/// and the rate rose (fell) by at least [`MIN_RISE`]; inconclusive when it moved that much
/// without significance; unchanged otherwise. `change` is the difference `new − base` of the
/// fractions, its interval Newcombe's (the hybrid Wilson score interval).
pub fn compare_error_rates(base: Failures, new: Failures, policy: &Policy) -> Option<Comparison> {
    if base.iterations == 0 || new.iterations == 0 {
        return None;
    }
    let (b, n) = (base.rate(), new.rate());
    let diff = n - b;
    let (more, fewer) = fisher_one_sided(base, new);
    let p = (2.0 * more.min(fewer)).min(1.0);
    let verdict = if diff.abs() < MIN_RISE {
        Change::Unchanged
    } else if p >= policy.alpha {
        Change::Inconclusive
    } else if diff > 0.0 {
        Change::Regression
    } else {
        Change::Improvement
    };
    let interval = newcombe_interval(base, new);
    Some(Comparison {
        method: Method::FisherExact,
        metric: ERROR_RATE.to_string(),
        base: b,
        new: n,
        unit: Unit::Fraction,
        change: diff,
        interval: [interval.0, interval.1],
        p_value: Some(p),
        noise_floor: 0.0,
        run_to_run_floor: None,
        base_n: usize::try_from(base.iterations).unwrap_or(usize::MAX),
        new_n: usize::try_from(new.iterations).unwrap_or(usize::MAX),
        change_verdict: verdict,
        severity: matches!(verdict, Change::Regression | Change::Improvement)
            .then(|| severity_of_rise(diff)),
        note: None,
    })
}

/// Fisher's exact test on the 2×2 table of both runs: the probabilities, with the margins
/// fixed, of the new run having at least (first) and at most (second) as many failures as it
/// had.
pub fn fisher_one_sided(base: Failures, new: Failures) -> (f64, f64) {
    let h = Hypergeometric {
        population: base.iterations + new.iterations,
        marked: base.failed + new.failed,
        drawn: new.iterations,
    };
    let x = new.failed;
    (h.upper_tail(x), h.lower_tail(x))
}

/// The number of marked items among `drawn` taken without replacement from `population`.
struct Hypergeometric {
    population: u64,
    marked: u64,
    drawn: u64,
}

impl Hypergeometric {
    fn lowest(&self) -> u64 {
        (self.drawn + self.marked).saturating_sub(self.population)
    }

    fn highest(&self) -> u64 {
        self.marked.min(self.drawn)
    }

    fn ln_pmf(&self, k: u64) -> f64 {
        let (n, m, d) = (self.population, self.marked, self.drawn);
        ln_choose(m, k) + ln_choose(n - m, d - k) - ln_choose(n, d)
    }

    /// `pmf(k + 1) / pmf(k)`.
    fn ratio_up(&self, k: u64) -> f64 {
        let (n, m, d) = (
            self.population as f64,
            self.marked as f64,
            self.drawn as f64,
        );
        let k = k as f64;
        (m - k) * (d - k) / ((k + 1.0) * (n - m - d + k + 1.0))
    }

    /// P(X ≥ x).
    fn upper_tail(&self, x: u64) -> f64 {
        if x <= self.lowest() {
            return 1.0;
        }
        if x > self.highest() {
            return 0.0;
        }
        // Sum away from the mode, where the terms shrink, and take the complement otherwise.
        if (x as f64) >= self.mode() {
            self.sum_up_from(x)
        } else {
            (1.0 - self.sum_down_from(x - 1)).clamp(0.0, 1.0)
        }
    }

    /// P(X ≤ x).
    fn lower_tail(&self, x: u64) -> f64 {
        if x >= self.highest() {
            return 1.0;
        }
        if x < self.lowest() {
            return 0.0;
        }
        if (x as f64) <= self.mode() {
            self.sum_down_from(x)
        } else {
            (1.0 - self.sum_up_from(x + 1)).clamp(0.0, 1.0)
        }
    }

    fn mode(&self) -> f64 {
        ((self.drawn + 1) as f64 * (self.marked + 1) as f64 / (self.population + 2) as f64).floor()
    }

    /// Σ pmf(k) for k from `x` up to the highest value.
    fn sum_up_from(&self, x: u64) -> f64 {
        let mut term = self.ln_pmf(x).exp();
        let mut sum = term;
        let mut k = x;
        while k < self.highest() && term > sum * 1e-17 {
            term *= self.ratio_up(k);
            sum += term;
            k += 1;
        }
        sum.min(1.0)
    }

    /// Σ pmf(k) for k from `x` down to the lowest value.
    fn sum_down_from(&self, x: u64) -> f64 {
        let mut term = self.ln_pmf(x).exp();
        let mut sum = term;
        let mut k = x;
        while k > self.lowest() && term > sum * 1e-17 {
            term /= self.ratio_up(k - 1);
            sum += term;
            k -= 1;
        }
        sum.min(1.0)
    }
}

/// ln C(n, k).
fn ln_choose(n: u64, k: u64) -> f64 {
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
}

/// ln n!: exact products below 20, Stirling's series with four correction terms above
/// (absolute error below 1e-12).
fn ln_factorial(n: u64) -> f64 {
    if n < 20 {
        return (2..=n).map(|i| i as f64).product::<f64>().ln();
    }
    let x = n as f64;
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    x * x.ln() - x
        + 0.5 * (2.0 * std::f64::consts::PI * x).ln()
        + inv * (1.0 / 12.0 - inv2 * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 / 1680.0)))
}

/// The 95 % Wilson score interval of a proportion.
fn wilson(p: Failures) -> (f64, f64) {
    const Z: f64 = 1.959_963_984_540_054;
    let n = p.iterations as f64;
    let r = p.rate();
    let d = 1.0 + Z * Z / n;
    let centre = (r + Z * Z / (2.0 * n)) / d;
    let half = Z * (r * (1.0 - r) / n + Z * Z / (4.0 * n * n)).sqrt() / d;
    (centre - half, centre + half)
}

/// Newcombe's 95 % interval (his method 10) of `new.rate() − base.rate()`.
fn newcombe_interval(base: Failures, new: Failures) -> (f64, f64) {
    let (pb, pn) = (base.rate(), new.rate());
    let ((lb, ub), (ln, un)) = (wilson(base), wilson(new));
    let d = pn - pb;
    (
        d - ((pn - ln).powi(2) + (ub - pb).powi(2)).sqrt(),
        d + ((un - pn).powi(2) + (pb - lb).powi(2)).sqrt(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(failed: u64, iterations: u64) -> Failures {
        Failures { failed, iterations }
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-300)
    }

    #[test]
    fn log_factorials_are_exact_to_twelve_digits() {
        assert_eq!(ln_factorial(0), 0.0);
        assert_eq!(ln_factorial(1), 0.0);
        assert!(close(ln_factorial(10), 3_628_800f64.ln(), 1e-14));
        // ln 20! and ln 100! (to 17 digits).
        assert!(close(ln_factorial(20), 42.335_616_460_753_485, 1e-13));
        assert!(close(ln_factorial(100), 363.739_375_555_563_47, 1e-13));
    }

    #[test]
    fn fisher_matches_the_exact_sums() {
        // The lady tasting tea: 3 of 4 against 1 of 4, P = 17/70.
        let (more, fewer) = fisher_one_sided(f(1, 4), f(3, 4));
        assert!(close(more, 17.0 / 70.0, 1e-12), "{more}");
        assert!(close(fewer, 69.0 / 70.0, 1e-12), "{fewer}");
        // Exact sums of binomial coefficients (Python's fractions), far from the mode and
        // near it.
        assert!(close(
            fisher_one_sided(f(2, 1000), f(12, 1000)).0,
            0.006_320_515_298_409_756,
            1e-9
        ));
        assert!(close(
            fisher_one_sided(f(2, 1000), f(12, 1000)).1,
            0.999_114_715_672_939,
            1e-9
        ));
        assert!(close(
            fisher_one_sided(f(0, 5000), f(10, 5000)).0,
            0.000_972_173_680_979_932_8,
            1e-9
        ));
        // Nothing failed on either side: both tails are certain.
        assert_eq!(fisher_one_sided(f(0, 100), f(0, 100)), (1.0, 1.0));
        let (more, fewer) = fisher_one_sided(f(940, 1000), f(0, 1000));
        assert_eq!(more, 1.0);
        assert!(fewer < 1e-300, "{fewer}");
    }

    #[test]
    fn newcombes_interval_matches_his_published_examples() {
        // Newcombe (1998), Statistics in Medicine 17, table II, method 10: 56/70 − 48/80 is
        // 0.0524 to 0.3339, 9/10 − 3/10 is 0.1705 to 0.8090.
        let (lo, hi) = newcombe_interval(f(48, 80), f(56, 70));
        assert!(
            (lo - 0.0524).abs() < 5e-5 && (hi - 0.3339).abs() < 5e-5,
            "{lo} {hi}"
        );
        let (lo, hi) = newcombe_interval(f(3, 10), f(9, 10));
        assert!(
            (lo - 0.1705).abs() < 5e-5 && (hi - 0.8090).abs() < 5e-5,
            "{lo} {hi}"
        );
    }

    #[test]
    fn a_rise_of_the_error_rate_is_a_regression_and_a_fall_an_improvement() {
        let policy = Policy::default();
        // Most iterations now fail: critical, whatever the latency of the rest did.
        let c = compare_error_rates(f(0, 2000), f(1880, 2000), &policy).expect("compared");
        assert_eq!(c.change_verdict, Change::Regression);
        assert_eq!(c.severity, Some(Severity::Critical));
        assert_eq!((c.base, c.new), (0.0, 0.94));
        assert!(c.p_value.expect("p") < 1e-300);
        // A broken baseline, then a healthy run: an improvement.
        let c = compare_error_rates(f(1880, 2000), f(0, 2000), &policy).expect("compared");
        assert_eq!(c.change_verdict, Change::Improvement);
        // 2 % of 5000 iterations newly failing: major, fails the default gate.
        let c = compare_error_rates(f(0, 5000), f(100, 5000), &policy).expect("compared");
        assert_eq!(
            (c.change_verdict, c.severity),
            (Change::Regression, Some(Severity::Major))
        );
        // 0.2 % newly failing (10 of 5000, p = 0.0019): minor.
        let c = compare_error_rates(f(0, 5000), f(10, 5000), &policy).expect("compared");
        assert_eq!(
            (c.change_verdict, c.severity),
            (Change::Regression, Some(Severity::Minor))
        );
        // One failure in 20 iterations is not evidence of anything.
        let c = compare_error_rates(f(0, 20), f(1, 20), &policy).expect("compared");
        assert_eq!((c.change_verdict, c.severity), (Change::Inconclusive, None));
        // Below 0.1 points: unchanged, however many iterations made it significant.
        let c = compare_error_rates(f(0, 10_000_000), f(5_000, 10_000_000), &policy).expect("c");
        assert_eq!(c.change_verdict, Change::Unchanged);
        // No iterations on one side: nothing to compare.
        assert_eq!(compare_error_rates(f(0, 0), f(0, 10), &policy), None);
    }

    #[test]
    fn severity_grows_with_the_points() {
        assert_eq!(severity_of_rise(0.0009), Severity::Small);
        assert_eq!(severity_of_rise(0.001), Severity::Minor);
        assert_eq!(severity_of_rise(-0.01), Severity::Major);
        assert_eq!(severity_of_rise(0.10), Severity::Critical);
    }
}
