//! HdrHistogram's V2 encoding (uncompressed), written and read through hdrhistogram's public
//! API: the same bytes its `V2Serializer` writes, without the `serialization` feature's
//! compression and parser crates in every user's test build.
//!
//! Layout (big-endian): cookie `0x1c849313`, payload length, normalizing index offset (0),
//! significant digits, lowest discernible value, highest trackable value, integer-to-double
//! ratio (1.0), then the counts array up to the maximum's bucket, each count zig-zag encoded as
//! a varint (at most 9 bytes, the 9th holding 8 bits) and every run of two or more empty buckets
//! written as one negative count.

use hdrhistogram::Histogram;

/// The cookie that opens an uncompressed V2 histogram (base `0x1c849303`, word-size bits `0x10`).
const COOKIE: u32 = 0x1c84_9313;
/// The cookie of a DEFLATE-compressed V2 histogram, which this reader does not take.
const COMPRESSED_COOKIE: u32 = 0x1c84_9314;
/// Bytes before the counts.
const HEADER_LEN: usize = 40;

/// Encodes `h` in V2 format; fails only for a count above `i64::MAX`.
pub fn encode(h: &Histogram<u64>) -> Result<Vec<u8>, String> {
    let counts = encode_counts(h)?;
    let payload_len = u32::try_from(counts.len())
        .map_err(|_| format!("{} bytes of counts do not fit V2's length", counts.len()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + counts.len());
    out.extend_from_slice(&COOKIE.to_be_bytes());
    out.extend_from_slice(&payload_len.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&u32::from(h.sigfig()).to_be_bytes());
    out.extend_from_slice(&h.low().to_be_bytes());
    out.extend_from_slice(&h.high().to_be_bytes());
    out.extend_from_slice(&1.0f64.to_be_bytes());
    out.extend_from_slice(&counts);
    Ok(out)
}

/// Decodes a V2 histogram; an error says what is wrong with the bytes.
pub fn decode(bytes: &[u8]) -> Result<Histogram<u64>, String> {
    let header = Header::read(bytes)?;
    let mut h = Histogram::new_with_bounds(header.low, header.high, header.digits)
        .map_err(|e| format!("invalid histogram bounds in the header: {e:?}"))?;
    let payload = bytes
        .get(HEADER_LEN..HEADER_LEN + header.payload_len)
        .ok_or_else(|| {
            format!(
                "truncated: the header announces {} bytes of counts, {} follow",
                header.payload_len,
                bytes.len().saturating_sub(HEADER_LEN)
            )
        })?;
    decode_counts(payload, &mut h)?;
    Ok(h)
}

/// The fixed fields in front of the counts.
struct Header {
    payload_len: usize,
    digits: u8,
    low: u64,
    high: u64,
}

impl Header {
    fn read(bytes: &[u8]) -> Result<Header, String> {
        if bytes.len() < HEADER_LEN {
            return Err(format!(
                "truncated: {} bytes, a V2 header has {HEADER_LEN}",
                bytes.len()
            ));
        }
        let u32_at = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_be_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        match u32_at(0) {
            COOKIE => {}
            COMPRESSED_COOKIE => {
                return Err(
                    "a compressed V2 histogram; cargo-perf writes and reads uncompressed ones"
                        .into(),
                )
            }
            other => return Err(format!("cookie {other:#010x} is not a V2 histogram's")),
        }
        if u32_at(8) != 0 {
            return Err("a normalizing index offset is not supported".into());
        }
        if f64::from_bits(u64_at(32)) != 1.0 {
            return Err("an integer-to-double ratio other than 1 is not supported".into());
        }
        Ok(Header {
            payload_len: u32_at(4) as usize,
            digits: u8::try_from(u32_at(12))
                .map_err(|_| format!("{} significant digits", u32_at(12)))?,
            low: u64_at(16),
            high: u64_at(24),
        })
    }
}

/// The counts of every bucket from 0 to the maximum's, in bucket order.
fn encode_counts(h: &Histogram<u64>) -> Result<Vec<u8>, String> {
    let counts = bucket_counts(h);
    let mut out = Vec::new();
    let mut i = 0;
    while i < counts.len() {
        let zeros = counts[i..].iter().take_while(|&&c| c == 0).count();
        let value = if zeros > 1 {
            i += zeros;
            -(zeros as i64)
        } else {
            let count = counts[i];
            i += 1;
            i64::try_from(count).map_err(|_| format!("count {count} exceeds V2's i64"))?
        };
        write_varint(zig_zag(value), &mut out);
    }
    Ok(out)
}

/// Each bucket's count, from the bucket of 0 to the bucket of the highest recorded value.
fn bucket_counts(h: &Histogram<u64>) -> Vec<u64> {
    let last = h.max();
    let mut counts = Vec::new();
    let mut value = 0u64;
    loop {
        counts.push(h.count_at(value));
        let next = h.next_non_equivalent(value);
        if next > last || next == value {
            return counts;
        }
        value = next;
    }
}

/// Records the decoded counts into `h`, bucket after bucket.
fn decode_counts(mut payload: &[u8], h: &mut Histogram<u64>) -> Result<(), String> {
    let mut value = 0u64;
    while !payload.is_empty() {
        let (zz, used) = read_varint(payload)?;
        payload = &payload[used..];
        let count = un_zig_zag(zz);
        let buckets = if count < 0 {
            count.unsigned_abs()
        } else {
            if count > 0 {
                h.record_n(value, count as u64).map_err(|e| {
                    format!("a count at {value}, past the histogram's range: {e:?}")
                })?;
            }
            1
        };
        for _ in 0..buckets {
            if value > h.high() {
                return Err(format!(
                    "more buckets than the histogram's range (up to {}) holds",
                    h.high()
                ));
            }
            value = h.next_non_equivalent(value);
        }
    }
    Ok(())
}

fn zig_zag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn un_zig_zag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// LEB128 with at most 9 bytes: eight of 7 bits with a continuation bit, then one of 8 bits.
fn write_varint(mut v: u64, out: &mut Vec<u8>) {
    for _ in 0..8 {
        if v < 0x80 {
            out.push(v as u8);
            return;
        }
        out.push(0x80 | (v & 0x7f) as u8);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads one varint written by [`write_varint`]; returns it and the bytes it took.
fn read_varint(bytes: &[u8]) -> Result<(u64, usize), String> {
    let mut v = 0u64;
    for (i, &b) in bytes.iter().enumerate() {
        if i == 8 {
            return Ok((v | (u64::from(b) << 56), 9));
        }
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((v, i + 1));
        }
    }
    Err("truncated: the counts end inside a number".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
    use proptest::prelude::*;

    fn theirs(h: &Histogram<u64>) -> Vec<u8> {
        let mut buf = Vec::new();
        V2Serializer::new()
            .serialize(h, &mut buf)
            .expect("serializes");
        buf
    }

    fn histogram(values: &[(u64, u64)]) -> Histogram<u64> {
        let mut h = crate::histogram::new_histogram();
        for &(v, n) in values {
            h.record_n(v, n).expect("in range");
        }
        h
    }

    #[test]
    fn known_histograms_encode_as_hdrhistogram_does() {
        for values in [
            &[][..],
            &[(1, 1)],
            &[(0, 3)],
            &[(1, 1), (2, 1), (2047, 4), (2048, 1), (1_000_000, 7)],
            &[(55_000, 1), (464_000, 2), (3_600_000_000_000, 1)],
        ] {
            let h = histogram(values);
            assert_eq!(encode(&h).expect("encodes"), theirs(&h), "{values:?}");
            assert_eq!(decode(&theirs(&h)).expect("decodes"), h, "{values:?}");
        }
    }

    #[test]
    fn varints_and_zig_zag_match_the_format() {
        let mut out = Vec::new();
        write_varint(300, &mut out);
        assert_eq!(out, [0xac, 0x02]);
        assert_eq!(read_varint(&out), Ok((300, 2)));
        out.clear();
        write_varint(u64::MAX, &mut out);
        assert_eq!(out.len(), 9);
        assert_eq!(read_varint(&out), Ok((u64::MAX, 9)));
        assert_eq!(
            (zig_zag(0), zig_zag(-1), zig_zag(1), zig_zag(-2)),
            (0, 1, 2, 3)
        );
        assert_eq!(un_zig_zag(zig_zag(i64::MIN)), i64::MIN);
    }

    #[test]
    fn bad_bytes_are_errors_that_say_what_is_wrong() {
        let h = histogram(&[(5, 1), (1_000, 2)]);
        let good = encode(&h).expect("encodes");
        assert!(decode(&good[..10])
            .expect_err("refused")
            .contains("truncated: 10 bytes"));
        assert!(decode(&good[..good.len() - 1])
            .expect_err("refused")
            .contains("truncated: the header announces"));
        let mut compressed = good.clone();
        compressed[3] = 0x14;
        assert!(decode(&compressed)
            .expect_err("refused")
            .contains("compressed"));
        // A run of empty buckets longer than the range: refused, not looped over.
        let mut runaway = good[..HEADER_LEN].to_vec();
        let mut counts = Vec::new();
        write_varint(zig_zag(-(1 << 40)), &mut counts);
        runaway[4..8].copy_from_slice(&(counts.len() as u32).to_be_bytes());
        runaway.extend_from_slice(&counts);
        assert!(decode(&runaway)
            .expect_err("refused")
            .contains("more buckets than"));
    }

    proptest! {
        #[test]
        fn any_histogram_encodes_as_hdrhistogram_does_and_reads_back(
            values in proptest::collection::vec((0u64..10_000_000_000, 1u64..1_000), 0..200)
        ) {
            let h = histogram(&values);
            let ours = encode(&h).expect("encodes");
            prop_assert_eq!(&ours, &theirs(&h));
            prop_assert_eq!(decode(&ours).expect("decodes"), h.clone());
            let back: Histogram<u64> = Deserializer::new()
                .deserialize(&mut ours.as_slice())
                .expect("hdrhistogram reads ours");
            prop_assert_eq!(back, h);
        }

        #[test]
        fn flipped_or_cut_bytes_decode_to_a_histogram_or_an_error(
            values in proptest::collection::vec((0u64..10_000_000, 1u64..1_000), 1..50),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = encode(&histogram(&values)).expect("encodes");
            // Keep the bounds sane so the test measures the decoder, not a giant allocation.
            for (at, bit) in flips {
                let i = at.index(bytes.len());
                if !(16..32).contains(&i) {
                    bytes[i] ^= 1 << bit;
                }
            }
            let _ = decode(&bytes);
            let _ = decode(&bytes[..cut.index(bytes.len())]);
        }
    }
}
