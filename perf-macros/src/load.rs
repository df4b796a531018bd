//! The values of load-test keys: rates (`"200/s"`), stages (`"10s:0..50, 30s:50"`), memory
//! sizes (`"512MiB"`) and CPU percentages.

use crate::duration::parse_ns;

pub use perf_schema::grammar::quantity::{parse_bytes, parse_growth, parse_rate};

/// One parsed stage: (duration ns, from, to).
pub type StageValue = (u64, f64, f64);

/// `"10s:0..50, 30s:50, 10s:50..0"` (users) or `"10s:0..100/s, 30s:100/s"` (rate).
/// Returns the stages and whether they are rates.
pub fn parse_stages(text: &str) -> Result<(Vec<StageValue>, bool), String> {
    let hint = "stages are `DURATION:FROM..TO` or `DURATION:N`, comma separated, e.g. \
                \"10s:0..50, 30s:50, 10s:50..0\" (users) or \"10s:0..100/s, 30s:100/s\" (rate)";
    let mut stages = Vec::new();
    let mut rate: Option<bool> = None;
    for part in text.split(',') {
        let part = part.trim();
        let (d, spec) = part
            .split_once(':')
            .ok_or_else(|| format!("`{part}`: {hint}"))?;
        let d = parse_ns(d).map_err(|e| format!("`{part}`: {e}"))?;
        let spec = spec.trim();
        let (spec, is_rate) = match spec.strip_suffix("/s") {
            Some(s) => (s, true),
            None => (spec, false),
        };
        if rate.is_some_and(|r| r != is_rate) {
            return Err(format!(
                "`{part}`: every stage is a number of users, or every stage a rate ending in `/s`"
            ));
        }
        rate = Some(is_rate);
        let number = |v: &str| -> Result<f64, String> {
            let n: f64 = v.trim().parse().map_err(|_| format!("`{part}`: {hint}"))?;
            if n < 0.0 || !n.is_finite() || (!is_rate && n.fract() != 0.0) {
                return Err(format!(
                    "`{part}`: users are whole numbers and rates are not negative"
                ));
            }
            Ok(n)
        };
        let (from, to) = match spec.split_once("..") {
            Some((a, b)) => (number(a)?, number(b)?),
            None => {
                let n = number(spec)?;
                (n, n)
            }
        };
        stages.push((d, from, to));
    }
    if stages.iter().all(|s| s.1 == 0.0 && s.2 == 0.0) {
        return Err(format!(
            "`{text}`: the stages never start a user or an iteration: give a value above 0"
        ));
    }
    Ok((stages, rate.unwrap_or(false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_per_second() {
        assert_eq!(parse_rate("200/s"), Ok(200.0));
        assert_eq!(parse_rate("90/m"), Ok(1.5));
        assert!(parse_rate("200").is_err());
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("5/d").expect_err("unit").contains("s, m or h"));
    }

    #[test]
    fn stages_parse_users_and_rates() {
        assert_eq!(
            parse_stages("10s:0..50, 30s:50, 10s:50..0"),
            Ok((
                vec![
                    (10_000_000_000, 0.0, 50.0),
                    (30_000_000_000, 50.0, 50.0),
                    (10_000_000_000, 50.0, 0.0)
                ],
                false
            ))
        );
        assert_eq!(
            parse_stages("1m:0..100/s, 30s:100/s"),
            Ok((
                vec![(60_000_000_000, 0.0, 100.0), (30_000_000_000, 100.0, 100.0)],
                true
            ))
        );
        assert!(parse_stages("10s:5, 10s:5/s")
            .expect_err("mixed")
            .contains("every stage"));
        assert!(parse_stages("10s:2.5").is_err());
        assert!(parse_stages("10s").is_err());
        assert!(parse_stages("10s:0").is_err());
    }

    #[test]
    fn sizes_use_decimal_and_binary_units() {
        assert_eq!(parse_bytes("512MiB"), Ok(536_870_912));
        assert_eq!(parse_bytes("2GB"), Ok(2_000_000_000));
        assert!(parse_bytes("2 lots").is_err());
    }
}

#[cfg(test)]
mod proptests {
    use super::{parse_bytes, parse_rate, parse_stages};
    use proptest::prelude::*;

    /// The error quotes the input or, for stages, the offending stage.
    fn names_input(error: &str, text: &str) -> bool {
        error.contains(&format!("`{text}`"))
            || text
                .split(',')
                .any(|part| error.contains(&format!("`{}`", part.trim())))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn rates_are_read_or_refused_by_name(text in "[0-9.e -]{0,8}/?[smhx ]{0,2}|\\PC{0,12}") {
            match parse_rate(&text) {
                Ok(r) => prop_assert!(r > 0.0 && r.is_finite()),
                Err(e) => prop_assert!(names_input(&e, &text), "{e}"),
            }
        }

        #[test]
        fn stages_are_read_or_refused_by_name(
            text in "([0-9]{0,3}(ms|s|m|x)?:[0-9.]{0,3}(\\.\\.[0-9.]{0,3})?(/s)?, ?){0,3}|\\PC{0,16}",
        ) {
            match parse_stages(&text) {
                Ok((stages, _)) => prop_assert!(!stages.is_empty()),
                Err(e) => prop_assert!(names_input(&e, &text), "{e}"),
            }
        }

        #[test]
        fn stages_that_start_nothing_are_refused_by_name(n in 1u32..1000, rate in any::<bool>()) {
            let unit = if rate { "/s" } else { "" };
            let text = format!("{n}s:0{unit}, {n}ms:0..0{unit}");
            let e = parse_stages(&text).expect_err("no user ever starts");
            prop_assert!(names_input(&e, &text), "{e}");
        }

        #[test]
        fn bytes_are_read_or_refused_by_name(text in "[0-9.]{0,6} ?(B|KB|MB|GB|KiB|MiB|GiB|x)?|\\PC{0,10}") {
            if let Err(e) = parse_bytes(&text) {
                prop_assert!(names_input(&e, &text), "{e}");
            }
        }
    }
}
