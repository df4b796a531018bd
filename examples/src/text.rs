//! Tokenization shared by the search index, queries and request de-duplication.
//!
//! A token is a run of letters and digits, lower-cased; an apostrophe inside a word is dropped
//! (`Schindler's` gives `schindlers`) and every other character separates tokens.

/// Words too common to index or search on their own, sorted for binary search.
pub const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "at", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with",
];

/// Whether `token` (already lower-case) is a stop word.
pub fn is_stop_word(token: &str) -> bool {
    STOP_WORDS.binary_search(&token).is_ok()
}

/// Calls `each` with every lower-case token of `text`, stop words included, in order.
pub fn for_each_token(text: &str, mut each: impl FnMut(&str)) {
    let mut token = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() {
            if c.is_ascii() {
                token.push(c.to_ascii_lowercase());
            } else {
                token.extend(c.to_lowercase());
            }
        } else if is_apostrophe(c)
            && !token.is_empty()
            && chars.peek().is_some_and(|next| next.is_alphanumeric())
        {
            // "don't" is one token, "dont".
        } else if !token.is_empty() {
            each(&token);
            token.clear();
        }
    }
    if !token.is_empty() {
        each(&token);
    }
}

fn is_apostrophe(c: char) -> bool {
    c == '\'' || c == '\u{2019}'
}

/// The searchable tokens of `text`: lower-case, stop words removed, in order.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(text, |t| {
        if !is_stop_word(t) {
            out.push(t.to_owned());
        }
    });
    out
}

/// `text` as its lower-case tokens joined by single spaces (stop words kept), so that
/// `"The  Matrix!"` and `"the matrix"` compare equal.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for_each_token(text, |t| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(t);
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_stop_word("the"));
        assert!(!is_stop_word("theory"));
    }

    #[test]
    fn tokens_are_lower_case_runs_of_letters_and_digits() {
        assert_eq!(
            tokenize("The Lord of the Rings: Return-of-the-King (2003)"),
            ["lord", "rings", "return", "king", "2003"]
        );
    }

    #[test]
    fn apostrophes_inside_words_join_them() {
        assert_eq!(tokenize("Schindler's List"), ["schindlers", "list"]);
        assert_eq!(tokenize("Don\u{2019}t Look Up"), ["dont", "look", "up"]);
        assert_eq!(tokenize("'quoted'"), ["quoted"]);
    }

    #[test]
    fn non_ascii_letters_are_lower_cased() {
        assert_eq!(tokenize("AMÉLIE Straße"), ["amélie", "straße"]);
        assert_eq!(tokenize("ΣΟΦΙΑ"), ["σοφια"]);
    }

    #[test]
    fn normalize_keeps_stop_words_and_collapses_separators() {
        assert_eq!(normalize("  The   Matrix!! "), "the matrix");
        assert_eq!(normalize("the matrix"), normalize("THE MATRIX"));
        assert_eq!(normalize("?!"), "");
    }
}
