//! The unit a measured value, a threshold's bound or a compared statistic is expressed in, so a
//! field never has to carry its unit in its name while holding something else.

use serde::{Deserialize, Serialize};

/// What a number in a verdict or a comparison counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Unit {
    /// Nanoseconds (a time per call, a percentile of latency).
    #[serde(rename = "ns")]
    Nanoseconds,
    /// A count (database statements per call, their growth, queries per iteration).
    #[serde(rename = "count")]
    Count,
    /// A fraction between 0 and 1 (an error rate).
    #[serde(rename = "fraction")]
    Fraction,
    /// Events per second (completed iterations).
    #[serde(rename = "per_s")]
    PerSecond,
    /// Bytes (resident memory).
    #[serde(rename = "bytes")]
    Bytes,
    /// Percent of one core (CPU use; 200 = two cores).
    #[serde(rename = "percent")]
    Percent,
    /// Bytes per hour (the trend of resident memory).
    #[serde(rename = "bytes_per_h")]
    BytesPerHour,
}

impl Unit {
    /// The spelling used in JSON and tables: `ns`, `count`, `fraction`, `per_s`, `bytes`,
    /// `percent`, `bytes_per_h`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Nanoseconds => "ns",
            Unit::Count => "count",
            Unit::Fraction => "fraction",
            Unit::PerSecond => "per_s",
            Unit::Bytes => "bytes",
            Unit::Percent => "percent",
            Unit::BytesPerHour => "bytes_per_h",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_serialize_as_their_table_spelling() {
        for u in [
            Unit::Nanoseconds,
            Unit::Count,
            Unit::Fraction,
            Unit::PerSecond,
            Unit::Bytes,
            Unit::Percent,
            Unit::BytesPerHour,
        ] {
            let json = serde_json::to_string(&u).expect("serializes");
            assert_eq!(json, format!("\"{}\"", u.as_str()));
            assert_eq!(serde_json::from_str::<Unit>(&json).expect("reads"), u);
        }
    }
}
