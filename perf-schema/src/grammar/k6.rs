//! k6's threshold grammar for load tests, checked at compile time (the attribute's
//! `thresholds = [...]`) and at run time (`.threshold(..)` on a request):
//! `"p(95) < 300ms"`, `"http_req_duration{name:login}: p(99) <= 1s"`,
//! `"http_req_failed{name:login}: rate < 0.01"`, `"iteration_duration: avg < 200"` (a bare
//! number is milliseconds, as in k6). WebSocket trends take k6's names:
//! `"ws_msg_latency{name:notify}: p(95) < 200ms"` (an exchange of that name),
//! `"ws_connecting: p(95) < 50ms"` (every upgrade; `{name:..}` for one), `"ws_ping: ..."` and
//! `"ws_session_duration: ..."`.

/// The by-name row of every WebSocket upgrade's time (k6's `ws_connecting`).
pub const WS_CONNECTING: &str = "ws_connecting";
/// The by-name row of every WebSocket session's time, upgrade to close (k6's
/// `ws_session_duration`).
pub const WS_SESSION_DURATION: &str = "ws_session_duration";
/// The by-name row of every ping's round trip (k6's `ws_ping`).
pub const WS_PING: &str = "ws_ping";

use super::duration::parse_ns;

/// What one threshold string says.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// `Some(name)` for a `{name:...}` filter: applies to the requests of that name.
    pub name: Option<String>,
    /// The condition.
    pub condition: Condition,
}

/// The aggregate and its bound.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `avg`
    Mean(u64),
    /// `med`
    Median(u64),
    /// `max`
    Max(u64),
    /// `p(N)`
    Percentile(f64, u64),
    /// `rate` of failed requests (or iterations).
    ErrorRate(f64),
}

/// Parses one threshold string; the error names what is wrong and what is valid.
pub fn parse(text: &str) -> Result<Parsed, String> {
    let text = text.trim();
    let (metric, expr) = split_metric(text);
    let (metric_name, name) = match metric {
        None => (None, None),
        Some(m) => {
            let m = m.trim();
            match m.find('{') {
                Some(open) => {
                    let close = m.rfind('}').filter(|c| *c > open).ok_or_else(|| {
                        format!("`{m}`: a tag filter is written `{{name:login}}`")
                    })?;
                    let filter = m[open + 1..close].trim();
                    let name = filter.strip_prefix("name:").ok_or_else(|| {
                        format!("`{filter}`: only the `name` tag can be filtered, e.g. `{{name:login}}`")
                    })?;
                    (
                        Some(m[..open].trim().to_string()),
                        Some(name.trim().to_string()),
                    )
                }
                None => (Some(m.to_string()), None),
            }
        }
    };
    let expr = expr.trim();
    let op_at = expr
        .find('<')
        .ok_or_else(|| format!("`{expr}`: expected `aggregate < value`, e.g. `p(95) < 300ms`"))?;
    let agg = expr[..op_at].trim();
    let value = expr[op_at + 1..].trim_start_matches('=').trim();
    let duration = |v: &str| -> Result<u64, String> {
        match v.parse::<f64>() {
            Ok(ms) if ms > 0.0 => Ok((ms * 1e6).round() as u64),
            Ok(_) => Err(format!("`{v}`: a duration bound must be positive")),
            Err(_) => parse_ns(v).map_err(|e| format!("`{v}`: {e}")),
        }
    };
    let condition = match agg {
        "avg" => Condition::Mean(duration(value)?),
        "med" => Condition::Median(duration(value)?),
        "max" => Condition::Max(duration(value)?),
        "rate" => {
            let r: f64 = value
                .parse()
                .map_err(|_| format!("`{value}`: `rate` takes a fraction, e.g. `rate < 0.01`"))?;
            if !(0.0..=1.0).contains(&r) {
                return Err(format!("`{value}`: a rate is between 0 and 1"));
            }
            Condition::ErrorRate(r)
        }
        p if p.starts_with("p(") && p.ends_with(')') => {
            let n: f64 = p[2..p.len() - 1]
                .trim()
                .parse()
                .map_err(|_| format!("`{p}`: expected a percentile such as `p(95)`"))?;
            if !(n > 0.0 && n < 100.0) {
                return Err(format!("`{p}`: a percentile is between 0 and 100"));
            }
            Condition::Percentile(n, duration(value)?)
        }
        other => {
            return Err(format!(
                "unknown aggregate `{other}`; valid: avg, med, max, p(N), rate"
            ))
        }
    };
    let ws_trend = matches!(
        metric_name.as_deref(),
        Some(WS_CONNECTING | WS_SESSION_DURATION | WS_PING | "ws_msg_latency")
    );
    if ws_trend {
        return ws_threshold(
            metric_name.as_deref().unwrap_or_default(),
            name,
            condition,
            agg,
        );
    }
    match (metric_name.as_deref(), &condition) {
        (None, _) => {}
        (Some("http_req_failed" | "iterations_failed"), Condition::ErrorRate(_)) => {}
        (Some("http_req_duration" | "iteration_duration"), c)
            if !matches!(c, Condition::ErrorRate(_)) => {}
        (Some(m @ ("http_req_failed" | "http_req_duration" | "iteration_duration")), _) => {
            return Err(format!("`{m}` does not take `{agg}`"))
        }
        (Some(m), _) => {
            return Err(format!(
            "unknown metric `{m}`; valid: http_req_duration, http_req_failed, iteration_duration, \
             ws_msg_latency, ws_connecting, ws_session_duration, ws_ping"
        ))
        }
    }
    if name.is_none()
        && metric_name
            .as_deref()
            .is_some_and(|m| m.starts_with("http_req"))
    {
        return Err(format!(
            "`{}` needs a request name, e.g. `{}{{name:login}}: ...`; without one the \
             threshold applies to whole iterations: drop the metric name",
            metric_name.as_deref().unwrap_or_default(),
            metric_name.as_deref().unwrap_or_default()
        ));
    }
    Ok(Parsed { name, condition })
}

/// A WebSocket trend's threshold, as a threshold on its by-name row: `ws_msg_latency{name:X}`
/// and `ws_connecting{name:X}` on row X, the bare trends on their own rows.
fn ws_threshold(
    metric: &str,
    name: Option<String>,
    condition: Condition,
    agg: &str,
) -> Result<Parsed, String> {
    if matches!(condition, Condition::ErrorRate(_)) {
        return Err(format!(
            "`{metric}` does not take `{agg}`: it is a time (avg, med, max, p(N)); failed \
             exchanges are counted in the errors and fail their iterations"
        ));
    }
    let row = match (metric, name) {
        ("ws_msg_latency", None) => {
            return Err("`ws_msg_latency` needs the exchange's name, e.g. \
                 `ws_msg_latency{name:notify}: p(95) < 200ms` for `ws.request(\"notify\", ..)`"
                .into())
        }
        ("ws_msg_latency" | WS_CONNECTING, Some(n)) => n,
        (m, Some(_)) => {
            return Err(format!(
                "`{m}` has no per-name rows: write `{m}: p(95) < ...` without `{{name:..}}`"
            ))
        }
        (m, None) => m.to_string(),
    };
    Ok(Parsed {
        name: Some(row),
        condition,
    })
}

/// `"metric{...}: expr"` → (Some(metric), expr); a colon inside `{...}` does not split.
fn split_metric(text: &str) -> (Option<&str>, &str) {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ':' if depth == 0 => return (Some(&text[..i]), &text[i + 1..]),
            _ => {}
        }
    }
    (None, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_trends_are_thresholds_on_their_rows() {
        let row = |t: &str| parse(t).map(|p| (p.name, p.condition));
        assert_eq!(
            row("ws_msg_latency{name:notify}: p(95) < 200ms"),
            Ok((
                Some("notify".into()),
                Condition::Percentile(95.0, 200_000_000)
            ))
        );
        assert_eq!(
            row("ws_connecting: p(99) < 50ms"),
            Ok((
                Some("ws_connecting".into()),
                Condition::Percentile(99.0, 50_000_000)
            ))
        );
        assert_eq!(
            row("ws_connecting{name:WS /chat}: max < 1s"),
            Ok((Some("WS /chat".into()), Condition::Max(1_000_000_000)))
        );
        assert_eq!(
            row("ws_ping: avg < 5ms"),
            Ok((Some("ws_ping".into()), Condition::Mean(5_000_000)))
        );
        assert_eq!(
            row("ws_session_duration: med < 10s"),
            Ok((
                Some("ws_session_duration".into()),
                Condition::Median(10_000_000_000)
            ))
        );
        let err = |t: &str| parse(t).expect_err(t);
        assert!(err("ws_msg_latency: p(95) < 1s").contains("needs the exchange's name"));
        assert!(err("ws_ping{name:x}: p(95) < 1s").contains("no per-name rows"));
        assert!(err("ws_msg_latency{name:x}: rate < 0.1").contains("does not take `rate`"));
        assert!(err("ws_msgs{name:x}: p(95) < 1s").contains("ws_msg_latency, ws_connecting"));
    }

    #[test]
    fn k6_expressions_parse_to_exact_bounds() {
        assert_eq!(
            parse("p(95) < 300ms"),
            Ok(Parsed {
                name: None,
                condition: Condition::Percentile(95.0, 300_000_000)
            })
        );
        assert_eq!(
            parse("http_req_duration{name:login}: p(99.9)<=1.5s"),
            Ok(Parsed {
                name: Some("login".into()),
                condition: Condition::Percentile(99.9, 1_500_000_000)
            })
        );
        assert_eq!(
            parse("http_req_failed{name:GET /api/v1/media}: rate<0.01"),
            Ok(Parsed {
                name: Some("GET /api/v1/media".into()),
                condition: Condition::ErrorRate(0.01)
            })
        );
        assert_eq!(
            parse("iteration_duration: avg < 200"),
            Ok(Parsed {
                name: None,
                condition: Condition::Mean(200_000_000)
            })
        );
        assert_eq!(
            parse("med<2us").map(|p| p.condition),
            Ok(Condition::Median(2_000))
        );
    }

    #[test]
    fn mistakes_are_explained() {
        assert!(parse("p(95) > 300ms")
            .expect_err("op")
            .contains("aggregate < value"));
        assert!(parse("p95 < 300ms")
            .expect_err("agg")
            .contains("valid: avg, med"));
        assert!(parse("p(120) < 1s")
            .expect_err("pct")
            .contains("between 0 and 100"));
        assert!(parse("rate < 2")
            .expect_err("rate")
            .contains("between 0 and 1"));
        assert!(parse("http_req_duration: p(95) < 1s")
            .expect_err("scope")
            .contains("needs a request name"));
        assert!(parse("http_reqs{name:x}: p(95) < 1s")
            .expect_err("metric")
            .contains("unknown metric"));
        assert!(parse("http_req_duration{url:x}: p(95) < 1s")
            .expect_err("tag")
            .contains("only the `name` tag"));
    }
}

#[cfg(test)]
mod proptests {
    use super::parse;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_text_is_read_or_refused(text in "\\PC{0,32}") {
            if let Err(e) = parse(&text) {
                prop_assert!(!e.is_empty());
            }
        }

        #[test]
        fn threshold_shaped_text_is_read_or_refused(
            text in "(http_req_duration|http_req_failed|iteration_duration|x)?(\\{name:[a-z]{0,4}\\}?)?:? ?(p\\([0-9.]{0,4}\\)?|avg|med|max|rate|min) ?(<|<=|>|==)? ?[0-9.]{0,6}(ms|s|us|x)?",
        ) {
            if let Err(e) = parse(&text) {
                prop_assert!(!e.is_empty());
            }
        }
    }
}
