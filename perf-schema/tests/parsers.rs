//! Property tests of the JSON readers (issue 14, "every parser fuzzed"): random, truncated and
//! bit-flipped documents never panic, every error names the file it was given, and a document
//! that parses re-serializes and parses equal.

use perf_schema::baseline::Baseline;
use perf_schema::document::parse_versioned;
use perf_schema::history::History;
use perf_schema::record::{Record, TestList};
use perf_schema::schema;
use perf_schema::summary::Summary;
use proptest::prelude::*;
use serde::{de::DeserializeOwned, Serialize};
use std::fmt::Debug;

const WHAT: &str = "fuzzed-input.json";

/// Reads `text` as a `T`; an error must name `WHAT`, a success must round-trip.
fn check<T>(text: &str, tag: &'static str) -> Result<(), TestCaseError>
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    match parse_versioned::<T>(text, tag, WHAT) {
        Err(e) => {
            let message = e.to_string();
            prop_assert!(
                message.contains(WHAT),
                "error does not name the input: {message}"
            );
        }
        Ok(doc) => {
            let again = serde_json::to_string(&doc).expect("serialize");
            let back = parse_versioned::<T>(&again, tag, WHAT);
            prop_assert!(
                back.is_ok(),
                "re-serialized document does not parse: {back:?}"
            );
            prop_assert_eq!(back.ok(), Some(doc));
        }
    }
    Ok(())
}

/// Every reader on one input.
fn check_all(text: &str) -> Result<(), TestCaseError> {
    check::<Record>(text, schema::RECORD)?;
    check::<TestList>(text, schema::LIST)?;
    check::<Summary>(text, schema::SUMMARY)?;
    check::<Baseline>(text, schema::BASELINE)?;
    check::<History>(text, schema::HISTORY)
}

fn fixture(name: &str) -> String {
    let path = format!("{}/testdata/v1/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The v1 fixtures and the v2 documents made from them, with their tags.
fn documents() -> Vec<(String, &'static str)> {
    fn v2<T: DeserializeOwned + Serialize>(text: &str, tag: &'static str) -> String {
        let doc: T = parse_versioned(text, tag, "fixture").expect("fixture reads");
        serde_json::to_string_pretty(&doc).expect("serialize")
    }
    let (r, l, s, b, h) = (
        fixture("record.json"),
        fixture("list.json"),
        fixture("summary.json"),
        fixture("baseline.json"),
        fixture("history.json"),
    );
    vec![
        (v2::<Record>(&r, schema::RECORD), schema::RECORD),
        (v2::<TestList>(&l, schema::LIST), schema::LIST),
        (v2::<Summary>(&s, schema::SUMMARY), schema::SUMMARY),
        (v2::<Baseline>(&b, schema::BASELINE), schema::BASELINE),
        (v2::<History>(&h, schema::HISTORY), schema::HISTORY),
        (r, schema::RECORD),
        (l, schema::LIST),
        (s, schema::SUMMARY),
        (b, schema::BASELINE),
        (h, schema::HISTORY),
    ]
}

fn check_tagged(text: &str, tag: &'static str) -> Result<(), TestCaseError> {
    match tag {
        schema::RECORD => check::<Record>(text, tag),
        schema::LIST => check::<TestList>(text, tag),
        schema::SUMMARY => check::<Summary>(text, tag),
        schema::BASELINE => check::<Baseline>(text, tag),
        _ => check::<History>(text, tag),
    }
}

#[test]
fn truncations_of_every_document_are_refused_by_name() {
    // Every prefix of the first 512 bytes, then about 600 more spread over the rest (reading
    // every prefix of a 20 kB summary is quadratic: minutes in a debug build).
    for (doc, tag) in documents() {
        let stride = (doc.len() / 600).max(1);
        let ends = (0..doc.len().min(512)).chain((512..doc.len()).step_by(stride));
        for end in ends.filter(|&i| doc.is_char_boundary(i)) {
            check_tagged(&doc[..end], tag).unwrap_or_else(|e| panic!("prefix {end} of {tag}: {e}"));
        }
        check_tagged(&doc, tag).unwrap_or_else(|e| panic!("whole {tag}: {e}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_text_never_panics(text in "\\PC{0,64}") {
        check_all(&text)?;
    }

    #[test]
    fn random_json_shaped_text_never_panics(
        text in "[{}\\[\\]\":,0-9a-z/ .eE+-]{0,80}",
    ) {
        check_all(&text)?;
        check_all(&format!("{{\"schema\":\"{}\",{text}", schema::RECORD))?;
    }

    #[test]
    fn a_flipped_bit_is_read_or_refused_by_name(
        which in 0usize..10,
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let (doc, tag) = documents().swap_remove(which);
        let mut bytes = doc.into_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        // A flip that breaks UTF-8 is refused before the reader: the reader takes &str.
        if let Ok(text) = String::from_utf8(bytes) {
            check_tagged(&text, tag)?;
        }
    }
}
