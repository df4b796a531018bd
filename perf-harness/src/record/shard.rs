//! Which share of the load a record holds: `--shard I/N`, as written and parsed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Shard `index` of `count` (1-based), as in `--shard 2/3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    /// This shard, 1..=count.
    pub index: u32,
    /// How many shards share the load.
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;

    /// `"2/3"`; anything else is an error that shows the form.
    fn from_str(text: &str) -> Result<Shard, String> {
        let hint = "write `--shard I/N` with 1 <= I <= N, e.g. `--shard 1/4` on the first of four \
                    machines";
        let (i, n) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a shard: {hint}"))?;
        let parse = |v: &str| v.trim().parse::<u32>().ok();
        match (parse(i), parse(n)) {
            (Some(index), Some(count)) if index >= 1 && index <= count => {
                Ok(Shard { index, count })
            }
            _ => Err(format!("`{text}` is not a shard: {hint}")),
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Which part of a load test a record holds: the shard and the fraction of the full load it
/// generated (its users over all users, or 1/N of a rate). `min_throughput` is judged on that
/// fraction of its bound.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ShardPart {
    /// The shard.
    #[serde(flatten)]
    pub shard: Shard,
    /// Fraction of the full load, 0..=1.
    pub share: f64,
}
