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
    Ok((n * factor).round() as u64)
}
