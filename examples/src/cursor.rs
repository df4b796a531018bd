//! Opaque pagination cursors: the ranking key of the last item shown, bound to its query.
//!
//! Keyset pagination: the next page holds the items ranked after the key, so pages neither skip
//! nor repeat items when the client is slow, and no offset has to be counted through.

use std::cmp::Ordering;
use std::fmt;

/// Where the next page starts: after the item with this score and id, for this query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    query: u32,
    score_bits: u64,
    id: u32,
}

/// Why a cursor was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorError {
    /// Not something `Cursor`'s `Display` produced.
    Malformed,
    /// Produced for a different query; paging must restart from the first page.
    WrongQuery,
}

impl fmt::Display for CursorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CursorError::Malformed => "malformed cursor",
            CursorError::WrongQuery => "cursor belongs to another query",
        })
    }
}

impl std::error::Error for CursorError {}

/// Ranking order: higher score first, then lower id.
pub fn rank_order(a_score: f64, a_id: u32, b_score: f64, b_id: u32) -> Ordering {
    b_score.total_cmp(&a_score).then(a_id.cmp(&b_id))
}

impl Cursor {
    /// The cursor after an item ranked with `score` and `id` in results of query `fingerprint`.
    pub fn after(fingerprint: u32, score: f64, id: u32) -> Cursor {
        Cursor {
            query: fingerprint,
            score_bits: score.to_bits(),
            id,
        }
    }

    /// Parses the text form written by `Display` (32 hexadecimal digits).
    pub fn parse(text: &str) -> Result<Cursor, CursorError> {
        if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(CursorError::Malformed);
        }
        let hex32 = |s: &str| u32::from_str_radix(s, 16).map_err(|_| CursorError::Malformed);
        let cursor = Cursor {
            query: hex32(&text[..8])?,
            score_bits: u64::from_str_radix(&text[8..24], 16)
                .map_err(|_| CursorError::Malformed)?,
            id: hex32(&text[24..])?,
        };
        if !cursor.score().is_finite() {
            return Err(CursorError::Malformed);
        }
        Ok(cursor)
    }

    /// Fingerprint of the query this cursor pages through.
    pub fn query(&self) -> u32 {
        self.query
    }

    /// Score of the last item shown.
    pub fn score(&self) -> f64 {
        f64::from_bits(self.score_bits)
    }

    /// Id of the last item shown.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Whether an item ranked with `score` and `id` comes after this cursor.
    pub fn precedes(&self, score: f64, id: u32) -> bool {
        rank_order(self.score(), self.id, score, id) == Ordering::Less
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:08x}{:016x}{:08x}",
            self.query, self.score_bits, self.id
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_through_text() {
        let c = Cursor::after(0xdead_beef, 12.375, 42);
        let text = c.to_string();
        assert_eq!(text.len(), 32);
        assert_eq!(Cursor::parse(&text), Ok(c));
        assert_eq!(Cursor::parse(&text.to_uppercase()), Ok(c));
    }

    #[test]
    fn malformed_cursors_are_refused() {
        for bad in [
            "",
            "xyz",
            &"0".repeat(31),
            &"g".repeat(32),
            &format!("+{}", "0".repeat(31)),
        ] {
            assert_eq!(Cursor::parse(bad), Err(CursorError::Malformed), "{bad:?}");
        }
        let nan = format!("{:08x}{:016x}{:08x}", 1, f64::NAN.to_bits(), 1);
        assert_eq!(Cursor::parse(&nan), Err(CursorError::Malformed));
    }

    #[test]
    fn items_after_the_cursor_rank_lower_or_tie_with_a_higher_id() {
        let c = Cursor::after(0, 5.0, 10);
        assert!(c.precedes(4.9, 1));
        assert!(c.precedes(5.0, 11));
        assert!(!c.precedes(5.0, 10));
        assert!(!c.precedes(5.0, 9));
        assert!(!c.precedes(5.1, 99));
    }
}
