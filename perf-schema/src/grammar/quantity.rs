//! Quantities of load-test thresholds: rates (`"200/s"`) and memory sizes (`"512MiB"`), shared by
//! the attribute and `perf.toml` budgets so both accept exactly the same text.

/// Iterations per second in `"200/s"`, `"90/m"` or `"5/h"`.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let hint = "expected a count per unit time, e.g. \"200/s\" or \"600/m\"";
    let (count, unit) = text
        .trim()
        .split_once('/')
        .ok_or_else(|| format!("`{text}`: {hint}"))?;
    let count: f64 = count
        .trim()
        .parse()
        .map_err(|_| format!("`{text}`: {hint}"))?;
    let per = match unit.trim() {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("`{text}`: the unit is s, m or h; {hint}")),
    };
    if !(count > 0.0 && count.is_finite()) {
        return Err(format!("`{text}`: the rate must be above zero"));
    }
    Ok(count / per)
}

/// Bytes per hour in a growth such as `"5MiB/h"`, `"100KiB/m"` or `"1KB/s"`: a size as
/// [`parse_bytes`] reads it, per second, minute or hour.
pub fn parse_growth(text: &str) -> Result<f64, String> {
    let hint = "expected a size per unit time, e.g. \"5MiB/h\" or \"100KiB/m\"";
    let (size, unit) = text
        .trim()
        .split_once('/')
        .ok_or_else(|| format!("`{text}`: {hint}"))?;
    let bytes = parse_bytes(size).map_err(|e| format!("{e}; {hint}"))?;
    let per_hour = match unit.trim() {
        "s" => 3600.0,
        "m" => 60.0,
        "h" => 1.0,
        _ => return Err(format!("`{text}`: the unit is s, m or h; {hint}")),
    };
    Ok(bytes as f64 * per_hour)
}

/// Bytes in `"512MiB"`, `"1.5GB"`, `"800KB"` (KB/MB/GB are decimal, KiB/MiB/GiB binary).
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: f64 = n
        .parse()
        .map_err(|_| format!("`{text}`: expected a size such as \"512MiB\" or \"2GB\""))?;
    let factor = match unit.trim() {
        "B" => 1.0,
        "KB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "`{text}`: the unit is B, KB, MB, GB, KiB, MiB or GiB, e.g. \"512MiB\""
            ))
        }
    };
    let bytes = (n * factor).round();
    // `as u64` would quietly cap a size beyond u64 at 16 EiB.
    if bytes >= u64::MAX as f64 {
        return Err(format!(
            "`{text}`: too large; a size is at most 16 EiB (e.g. \"512MiB\" or \"2GB\")"
        ));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {

    #[test]
    fn growth_is_bytes_per_hour() {
        assert_eq!(parse_growth("5MiB/h"), Ok(5.0 * 1024.0 * 1024.0));
        assert_eq!(parse_growth("1KB/s"), Ok(3_600_000.0));
        assert_eq!(parse_growth(" 2KiB / m "), Ok(2048.0 * 60.0));
        assert!(parse_growth("5MiB").is_err_and(|e| e.contains("5MiB/h")));
        assert!(parse_growth("5MiB/d").is_err_and(|e| e.contains("the unit is s, m or h")));
        assert!(parse_growth("lots/h").is_err_and(|e| e.contains("512MiB")));
    }

    use super::*;

    #[test]
    fn sizes_are_exact_in_both_unit_systems() {
        assert_eq!(parse_bytes("512MiB"), Ok(536_870_912));
        assert_eq!(parse_bytes(" 1.5GB "), Ok(1_500_000_000));
        assert_eq!(parse_bytes("800KB"), Ok(800_000));
        assert_eq!(parse_bytes("3B"), Ok(3));
    }

    #[test]
    fn a_size_beyond_u64_is_refused_instead_of_capped() {
        let e = parse_bytes("99999999999GiB").expect_err("too large");
        assert!(
            e.contains("`99999999999GiB`") && e.contains("too large"),
            "{e}"
        );
        assert_eq!(parse_bytes("16000000000GB"), Ok(16_000_000_000_000_000_000));
    }

    #[test]
    fn rates_are_per_second() {
        assert_eq!(parse_rate("200/s"), Ok(200.0));
        assert_eq!(parse_rate("90/m"), Ok(1.5));
        assert!(parse_rate("0/s").is_err());
    }
}
