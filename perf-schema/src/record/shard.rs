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

impl Shard {
    /// This shard's part of `total` whole things (users, iterations): `total / count`, and one
    /// more for the first `total % count` shards, so the parts add up to `total` exactly.
    pub fn split_count(&self, total: u64) -> u64 {
        let (count, index) = (u64::from(self.count), u64::from(self.index));
        total / count + u64::from(index <= total % count)
    }

    /// This shard's part of a rate (or any divisible amount).
    pub fn split_rate(&self, total: f64) -> f64 {
        total / f64::from(self.count)
    }

    /// Whether this shard runs the `position`-th (0-based) test that is not a load test: they
    /// are dealt round-robin, like `cargo nextest --partition count:I/N`.
    pub fn runs_unsplit(&self, position: usize) -> bool {
        position % self.count as usize == (self.index - 1) as usize
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_explain_mistakes() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            let e = bad.parse::<Shard>().expect_err(bad);
            assert!(e.contains("--shard I/N"), "{e}");
        }
    }

    #[test]
    fn counts_split_into_parts_that_add_up() {
        for total in [0u64, 1, 2, 7, 20, 101] {
            for count in 1..=5u32 {
                let parts: Vec<u64> = (1..=count)
                    .map(|index| Shard { index, count }.split_count(total))
                    .collect();
                assert_eq!(parts.iter().sum::<u64>(), total, "{total} in {count}");
                assert!(parts.iter().max().unwrap_or(&0) - parts.iter().min().unwrap_or(&0) <= 1);
            }
        }
        assert_eq!(Shard { index: 1, count: 3 }.split_count(7), 3);
        assert_eq!(Shard { index: 3, count: 3 }.split_count(7), 2);
        // Non-load tests are dealt round-robin: each runs on exactly one shard.
        for position in 0..10 {
            let runs = (1..=3)
                .filter(|&index| Shard { index, count: 3 }.runs_unsplit(position))
                .count();
            assert_eq!(runs, 1);
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::Shard;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn display_round_trips(count in 1u32.., index in 1u32..) {
            let shard = Shard { index: index.min(count), count };
            prop_assert_eq!(shard.to_string().parse::<Shard>(), Ok(shard));
        }

        #[test]
        fn any_text_is_read_or_refused_by_name(text in "\\PC{0,16}|[0-9 /]{0,12}") {
            match text.parse::<Shard>() {
                Ok(s) => prop_assert!(s.index >= 1 && s.index <= s.count),
                Err(e) => prop_assert!(e.contains(&format!("`{text}`")), "{e}"),
            }
        }
    }
}
