//! Media items: what the catalogue holds and how they look in JSON.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What sort of thing a media item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// A feature film.
    Movie,
    /// A television series.
    Series,
    /// A documentary film or series.
    Documentary,
    /// A music album.
    Album,
    /// A book or audiobook.
    Book,
}

impl MediaKind {
    /// Every kind, in declaration order.
    pub const ALL: [MediaKind; 5] = [
        MediaKind::Movie,
        MediaKind::Series,
        MediaKind::Documentary,
        MediaKind::Album,
        MediaKind::Book,
    ];

    /// The lower-case name used in JSON, queries and pages.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Movie => "movie",
            MediaKind::Series => "series",
            MediaKind::Documentary => "documentary",
            MediaKind::Album => "album",
            MediaKind::Book => "book",
        }
    }

    /// Parses a kind name in any case, singular or plural (`Movies`, `tv` and `film` too).
    pub fn parse(text: &str) -> Option<MediaKind> {
        let lower = text.trim().to_ascii_lowercase();
        let name = match lower.as_str() {
            "film" | "films" => "movie",
            "tv" | "show" | "shows" => "series",
            "documentaries" => "documentary",
            other => other,
        };
        MediaKind::ALL.into_iter().find(|k| {
            let k = k.as_str();
            name == k || name.strip_suffix('s') == Some(k)
        })
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One item of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    /// Stable identifier, unique within a catalogue.
    pub id: u32,
    /// Display title.
    pub title: String,
    /// Release year.
    pub year: u16,
    /// What sort of media this is.
    pub kind: MediaKind,
    /// Genres and moods; the catalogue stores them trimmed and lower-case.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Media {
    /// Whether the item carries `tag` (compared as stored: lower-case).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t == tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_from_names_plurals_and_aliases() {
        for kind in MediaKind::ALL {
            assert_eq!(MediaKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(MediaKind::parse("Movies"), Some(MediaKind::Movie));
        assert_eq!(MediaKind::parse("film"), Some(MediaKind::Movie));
        assert_eq!(MediaKind::parse("TV"), Some(MediaKind::Series));
        assert_eq!(MediaKind::parse("books"), Some(MediaKind::Book));
        assert_eq!(
            MediaKind::parse("documentaries"),
            Some(MediaKind::Documentary)
        );
        assert_eq!(MediaKind::parse("podcast"), None);
    }

    #[test]
    fn media_reads_json_with_and_without_tags() {
        let m: Media = serde_json::from_str(
            r#"{"id": 7, "title": "Heat", "year": 1995, "kind": "movie", "tags": ["crime"]}"#,
        )
        .expect("valid media JSON");
        assert_eq!(m.kind, MediaKind::Movie);
        assert!(m.has_tag("crime"));
        let bare: Media =
            serde_json::from_str(r#"{"id": 8, "title": "Blue", "year": 1971, "kind": "album"}"#)
                .expect("tags are optional");
        assert!(bare.tags.is_empty());
        assert!(serde_json::from_str::<Media>(
            r#"{"id": 9, "title": "X", "year": 2000, "kind": "podcast"}"#
        )
        .is_err());
    }
}
