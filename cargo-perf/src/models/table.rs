//! The terminal rendering of a sweep: one row per level (N, X, R, Z, Little's implied N and its
//! deviation), then the USL fit with its intervals, peak and R².

use std::fmt::Write as _;

use perf_schema::spec::format_ns;

use super::little::Row;
use super::usl::{Interval, UslFit};
use super::Sweep;

/// The sweep as text lines, ready for the terminal report.
pub fn render(sweep: &Sweep) -> Vec<String> {
    let mut out = level_lines(&sweep.little.rows);
    out.extend(
        sweep
            .little
            .rows
            .iter()
            .filter_map(Row::reason)
            .map(|why| format!("suspect: {why}")),
    );
    if sweep.little.consistent() {
        out.push(format!(
            "Little's Law holds at every level (X·(R+Z) within {:.0}% of N)",
            super::little::TOLERANCE * 100.0
        ));
    }
    match &sweep.fit {
        Ok(fit) => out.extend(fit_lines(fit)),
        Err(e) => out.push(format!("USL fit: {e}")),
    }
    out
}

fn level_lines(rows: &[Row]) -> Vec<String> {
    let mut cells = vec![[
        "USERS",
        "THROUGHPUT",
        "RESPONSE",
        "THINK",
        "LITTLE N",
        "DEVIATION",
    ]
    .map(String::from)];
    cells.extend(rows.iter().map(|r| {
        [
            users(r.level.users),
            format!("{}/s", sig(r.level.throughput)),
            format_ns(r.level.response_s * 1e9),
            format_ns(r.level.think_s * 1e9),
            sig(r.implied),
            format!(
                "{:+.1}%{}",
                percent(r.deviation),
                if r.suspect { " !" } else { "" }
            ),
        ]
    }));
    aligned(&cells)
}

fn fit_lines(fit: &UslFit) -> Vec<String> {
    let (m, i) = (&fit.model, &fit.intervals);
    let mut out = vec![format!(
        "USL fit X(N) = λN/(1 + σ(N−1) + κN(N−1)) over {} levels ({} points); 95% intervals \
         from {} resamples",
        fit.levels, fit.points, i.resamples
    )];
    let per_s = |v: f64| format!("{}/s", sig(v));
    let cells = [
        row("σ contention", sig(m.sigma), i.sigma, sig),
        row("κ coherency", sig(m.kappa), i.kappa, sig),
        row("λ one user", per_s(m.lambda), i.lambda, per_s),
        row("N_max users", sig(m.peak_users()), i.peak_users, sig),
        row(
            "X_max",
            per_s(m.peak_throughput()),
            i.peak_throughput,
            per_s,
        ),
        [
            "R²".into(),
            if fit.r_squared.is_nan() {
                "n/a".into()
            } else {
                format!("{:.4}", fit.r_squared)
            },
            String::new(),
        ],
    ];
    out.extend(aligned(&cells).into_iter().map(|l| format!("  {l}")));
    out
}

fn row(name: &str, value: String, (lo, hi): Interval, f: impl Fn(f64) -> String) -> [String; 3] {
    [name.into(), value, format!("[{}, {}]", f(lo), f(hi))]
}

/// Columns padded to their widest cell (counted in characters), two spaces apart.
fn aligned<const N: usize>(rows: &[[String; N]]) -> Vec<String> {
    let widths: [usize; N] =
        std::array::from_fn(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0));
    rows.iter()
        .map(|r| {
            let mut line = String::new();
            for (cell, width) in r.iter().zip(widths) {
                let _ = write!(
                    line,
                    "{cell}{:pad$}  ",
                    "",
                    pad = width - cell.chars().count()
                );
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// A user count: whole numbers as such.
fn users(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        sig(n)
    }
}

/// A ratio in percent, with no "−0.0".
fn percent(ratio: f64) -> f64 {
    let p = ratio * 100.0;
    if p.abs() < 0.05 {
        0.0
    } else {
        p
    }
}

/// Four significant digits; ∞ for infinity, scientific notation for the very small or large.
pub fn sig(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 {
            "∞".into()
        } else {
            "−∞".into()
        };
    }
    if v == 0.0 || v.is_nan() {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor();
    if !(-3.0..6.0).contains(&magnitude) {
        return format!("{v:.3e}");
    }
    format!("{v:.*}", (3.0 - magnitude).max(0.0) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::analyse;
    use crate::models::little::Level;
    use crate::models::usl::tests::CISCO;

    #[test]
    fn four_significant_digits() {
        assert_eq!(sig(0.026715945), "0.02672");
        assert_eq!(sig(995.6488), "995.6");
        assert_eq!(sig(12342.85), "12343");
        assert_eq!(sig(7.690939e-4), "7.691e-4");
        assert_eq!(sig(0.001234), "0.001234");
        assert_eq!(sig(2.5e-5), "2.500e-5");
        assert_eq!(sig(f64::INFINITY), "∞");
        assert_eq!(sig(0.0), "0");
    }

    #[test]
    fn the_cisco_sweep_renders_its_levels_and_fit() {
        // The data set gives N and X; R = N/X (no think time) satisfies Little's Law exactly.
        let levels: Vec<Level> = CISCO
            .iter()
            .map(|&(users, throughput)| Level {
                users,
                throughput,
                response_s: users / throughput,
                think_s: 0.0,
            })
            .collect();
        let lines = render(&analyse(&levels));
        let text = lines.join("\n");
        println!("{text}");
        assert_eq!(
            lines[0],
            "USERS  THROUGHPUT  RESPONSE  THINK  LITTLE N  DEVIATION"
        );
        assert_eq!(
            lines[1],
            "1      955.2/s     1.047ms   0ns    1.000     +0.0%"
        );
        assert_eq!(
            lines[32],
            "32     12074/s     2.650ms   0ns    32.00     +0.0%"
        );
        assert_eq!(lines.len(), 1 + 32 + 1 + 7);
        assert_eq!(
            lines[33],
            "Little's Law holds at every level (X·(R+Z) within 10% of N)"
        );
        assert!(!text.contains("suspect"), "{text}");
        assert_eq!(
            lines[34],
            "USL fit X(N) = λN/(1 + σ(N−1) + κN(N−1)) over 32 levels (32 points); 95% intervals \
             from 1000 resamples"
        );
        assert!(
            lines[35].starts_with("  σ contention  0.02672 "),
            "{}",
            lines[35]
        );
        assert!(
            lines[36].starts_with("  κ coherency   7.691e-4"),
            "{}",
            lines[36]
        );
        assert!(
            lines[37].starts_with("  λ one user    995.6/s"),
            "{}",
            lines[37]
        );
        assert!(
            lines[38].starts_with("  N_max users   35.57"),
            "{}",
            lines[38]
        );
        assert!(
            lines[39].starts_with("  X_max         12343/s"),
            "{}",
            lines[39]
        );
        assert_eq!(lines[40], "  R²            0.9972");
    }

    #[test]
    fn a_suspect_level_and_a_refused_fit_are_said() {
        let levels = [
            Level {
                users: 4.0,
                throughput: 10.0,
                response_s: 0.2,
                think_s: 0.0,
            },
            Level {
                users: 8.0,
                throughput: 20.0,
                response_s: 0.4,
                think_s: 0.0,
            },
        ];
        let lines = render(&analyse(&levels));
        assert!(lines[1].ends_with("-50.0% !"), "{}", lines[1]);
        assert!(
            lines[3].starts_with("suspect: users = 4: only 2.0 users"),
            "{}",
            lines[3]
        );
        assert!(
            lines[4].starts_with("USL fit: 2 different user counts; a USL fit needs at least 6")
        );
    }
}
