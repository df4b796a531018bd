//! Parsing the duration strings of the attribute: `"50ms"`, `"1.5s"`, `"1m30s"`.

/// Units the attribute accepts, longest spelling first so `ms` is not read as `m`.
const UNITS: [(&str, u64); 7] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Nanoseconds in `text`, or a message saying what is wrong and what would be right.
pub fn parse_ns(text: &str) -> Result<u64, String> {
    let hint =
        "expected a number and a unit (ns, us, ms, s, m), e.g. \"50ms\", \"1.5s\", \"1m30s\"";
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("empty duration: {hint}"));
    }
    let mut rest = trimmed;
    // Whole numbers add up exactly (an f64 loses nanoseconds above 2^53, so `9007199254740993ns`
    // would not read back as printed); fractions add up in f64.
    let mut whole: u128 = 0;
    let mut fraction = 0.0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        if number.is_empty() {
            return Err(format!("invalid duration `{text}`: {hint}"));
        }
        let value: f64 = number
            .parse()
            .map_err(|_| format!("invalid number `{number}` in duration `{text}`: {hint}"))?;
        let tail = tail.trim_start();
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .unwrap_or(tail.len());
        let (unit, after) = tail.split_at(unit_len);
        let factor = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                if unit.is_empty() {
                    format!("duration `{text}` has no unit: {hint}")
                } else {
                    format!("unknown unit `{unit}` in duration `{text}`: {hint}")
                }
            })?;
        match number.parse::<u64>() {
            Ok(n) => whole += u128::from(n) * u128::from(factor),
            Err(_) => fraction += value * factor as f64,
        }
        rest = after.trim_start();
    }
    let total = whole as f64 + fraction;
    if total < 1.0 {
        return Err(format!("duration `{text}` must be at least 1ns"));
    }
    if total > u64::MAX as f64 || whole > u128::from(u64::MAX) {
        return Err(format!("duration `{text}` is too long"));
    }
    if fraction == 0.0 {
        return Ok(whole as u64);
    }
    Ok(total.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_ns;

    #[test]
    fn accepts_every_unit_and_compound_forms() {
        assert_eq!(parse_ns("2us"), Ok(2_000));
        assert_eq!(parse_ns("2µs"), Ok(2_000));
        assert_eq!(parse_ns("50ms"), Ok(50_000_000));
        assert_eq!(parse_ns("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_ns("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_ns("250 ns"), Ok(250));
        assert_eq!(parse_ns("1h"), Ok(3_600_000_000_000));
    }

    #[test]
    fn rejects_what_is_not_a_duration_with_the_reason() {
        assert!(parse_ns("50").expect_err("no unit").contains("has no unit"));
        assert!(parse_ns("5 sec")
            .expect_err("bad unit")
            .contains("unknown unit `sec`"));
        assert!(parse_ns("ms")
            .expect_err("no number")
            .contains("invalid duration"));
        assert!(parse_ns("1..2s")
            .expect_err("bad number")
            .contains("invalid number"));
        assert!(parse_ns("0ms").expect_err("zero").contains("at least 1ns"));
        assert!(parse_ns("").expect_err("empty").contains("empty"));
    }
}

#[cfg(all(test, feature = "documents"))]
mod proptests {
    use super::parse_ns;
    use crate::spec::format_exact_ns;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_exact_printer_round_trips(ns in 1u64..) {
            prop_assert_eq!(parse_ns(&format_exact_ns(ns)), Ok(ns));
        }

        #[test]
        fn small_and_round_limits_round_trip(n in 1u64..100_000, unit in 0u32..5) {
            let ns = n * [1, 1_000, 1_000_000, 1_000_000_000, 60_000_000_000][unit as usize];
            prop_assert_eq!(parse_ns(&format_exact_ns(ns)), Ok(ns));
        }

        #[test]
        fn any_text_is_read_or_refused_by_name(text in "\\PC{0,24}") {
            if let Err(e) = parse_ns(&text) {
                prop_assert!(text.trim().is_empty() || e.contains(&text), "{e} does not name `{text}`");
            }
        }

        #[test]
        fn duration_shaped_text_is_read_or_refused_by_name(
            text in "[0-9.]{0,25}( ?(ns|us|µs|ms|s|m|h|x)){0,3}",
        ) {
            if let Err(e) = parse_ns(&text) {
                prop_assert!(text.trim().is_empty() || e.contains(&text), "{e} does not name `{text}`");
            }
        }
    }
}
