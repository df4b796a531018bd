//! Tick marks with labels on a chart's axes: round values (1, 2 or 5 × 10^k apart) on linear
//! scales, powers of ten on logarithmic ones.

use std::fmt::Write as _;

use super::{H, PAD, W};

/// Round values from `lo` to `hi` (both included when round), about `count` intervals apart:
/// steps of 1, 2 or 5 × 10^k.
pub fn linear(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !(hi > lo && lo.is_finite() && hi.is_finite()) {
        return vec![lo];
    }
    let raw = (hi - lo) / count.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step - 1e-9).ceil();
    (0..)
        .map(|k| (first + f64::from(k)) * step)
        .take_while(|t| *t <= hi + step * 1e-9)
        .take(count * 3 + 2)
        .collect()
}

/// Powers of ten from the one at or below `lo` to the one at or above `hi`; with fewer than
/// three of them, 2 and 5 times each too.
pub fn logarithmic(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return vec![lo];
    }
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let decades: Vec<f64> = (first..=last).map(|e| 10f64.powi(e)).collect();
    if decades.len() >= 4 {
        return decades;
    }
    decades
        .iter()
        .flat_map(|d| [*d, 2.0 * d, 5.0 * d])
        .filter(|v| *v <= 10f64.powi(last) * (1.0 + 1e-9))
        .collect()
}

/// Draws tick marks and labels: `x` as (pixel x, label) under the x axis, `y` as (pixel y,
/// label) left of the y axis; ticks outside the plot are left out.
pub fn draw(out: &mut String, x: &[(f64, String)], y: &[(f64, String)]) {
    let bottom = H - PAD;
    for (px, label) in x
        .iter()
        .filter(|(px, _)| (PAD - 0.5..=W - 7.5).contains(px))
    {
        let _ = write!(
            out,
            "<line x1=\"{px:.1}\" y1=\"{bottom}\" x2=\"{px:.1}\" y2=\"{}\" stroke=\"#999\"/>\
             <text class=\"tick\" x=\"{px:.1}\" y=\"{}\" text-anchor=\"middle\">{label}</text>",
            bottom + 3.0,
            bottom + 12.0
        );
    }
    for (py, label) in y
        .iter()
        .filter(|(py, _)| (17.5..=bottom + 0.5).contains(py))
    {
        let _ = write!(
            out,
            "<line x1=\"{}\" y1=\"{py:.1}\" x2=\"{PAD}\" y2=\"{py:.1}\" stroke=\"#999\"/>\
             <text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>",
            PAD - 3.0,
            PAD - 4.0,
            py + 3.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_round_and_cover_the_range() {
        assert_eq!(linear(0.0, 930.0, 5), vec![0.0, 200.0, 400.0, 600.0, 800.0]);
        assert_eq!(linear(0.0, 1.0, 4), vec![0.0, 0.5, 1.0]);
        assert_eq!(linear(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(linear(13.0, 47.0, 3), vec![20.0, 40.0]);
        assert_eq!(linear(5.0, 5.0, 4), vec![5.0]);
    }

    #[test]
    fn log_ticks_are_powers_of_ten_or_their_halves_and_fifths() {
        assert_eq!(logarithmic(2e6, 3e9), vec![1e6, 1e7, 1e8, 1e9, 1e10]);
        assert_eq!(
            logarithmic(11e6, 900e6),
            vec![1e7, 2e7, 5e7, 1e8, 2e8, 5e8, 1e9]
        );
        assert_eq!(logarithmic(0.0, 1.0), vec![0.0]);
    }
}
